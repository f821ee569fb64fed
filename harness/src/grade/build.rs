//! The `--build` step of grading: a shell command run once in a submission's private copy, bounded
//! in time and in the output it keeps, and killed with its whole process group when it overruns.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::start::process;

/// What a build printed, at most this much from the end.
const TAIL: usize = 16 * 1024;

/// Why a build did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("the build `{cmd}` could not be run: {source}")]
    Spawn { cmd: String, source: std::io::Error },
    #[error("the build `{cmd}` failed ({status}); its last output:\n{tail}")]
    Failed {
        cmd: String,
        status: String,
        tail: String,
    },
    #[error(
        "the build `{cmd}` did not finish within {secs}s and was killed; its last output:\n{tail}"
    )]
    TimedOut {
        cmd: String,
        secs: u64,
        tail: String,
    },
}

/// Runs `cmd` through `sh -c` in `dir`; Ok with the output tail when it exits 0.
pub fn build(cmd: &str, dir: &Path, limit: Duration) -> Result<String, BuildError> {
    let mut child = spawn_in_own_group(cmd, dir).map_err(|source| BuildError::Spawn {
        cmd: cmd.to_string(),
        source,
    })?;
    let tail = Tail::follow(&mut child);
    let status = wait_within(&mut child, limit);
    // Whatever happened, nothing of the build may live on (a build that starts a daemon included).
    kill_group(&mut child, status.is_none());
    let tail = tail.finish();
    match status {
        Some(s) if s.success() => Ok(tail),
        Some(s) => Err(BuildError::Failed {
            cmd: cmd.to_string(),
            status: s.to_string(),
            tail,
        }),
        None => Err(BuildError::TimedOut {
            cmd: cmd.to_string(),
            secs: limit.as_secs(),
            tail,
        }),
    }
}

/// Starts `sh -c cmd` in `dir`, in a process group of its own (so that all it starts can be
/// killed at once), marked as the harness's, with no stdin and its output piped.
fn spawn_in_own_group(cmd: &str, dir: &Path) -> std::io::Result<Child> {
    process::spawn_noted(
        Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .current_dir(dir)
            .env(process::OWNER_ENV, std::process::id().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0),
    )
}

/// The end of what a build prints on stdout and stderr, read as it comes by one thread per
/// pipe, so that a build printing much neither blocks nor fills memory.
struct Tail {
    bytes: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<()>>,
}

impl Tail {
    fn follow(child: &mut Child) -> Tail {
        let bytes = Arc::new(Mutex::new(Vec::new()));
        let pipes = [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        ];
        let readers = pipes
            .into_iter()
            .flatten()
            .map(|pipe| {
                let bytes = Arc::clone(&bytes);
                std::thread::spawn(move || keep_last(pipe, &bytes))
            })
            .collect();
        Tail { bytes, readers }
    }

    /// The last [`TAIL`] bytes, once both pipes are closed.
    fn finish(self) -> String {
        for r in self.readers {
            let _ = r.join();
        }
        let t = self.bytes.lock().unwrap_or_else(|e| e.into_inner());
        let start = t.len().saturating_sub(TAIL);
        String::from_utf8_lossy(&t[start..]).into_owned()
    }
}

/// Reads `pipe` to its end into `tail`, dropping all but the last [`TAIL`] bytes whenever it
/// holds twice that.
fn keep_last(mut pipe: Box<dyn Read + Send>, tail: &Mutex<Vec<u8>>) {
    let mut buf = [0u8; 8192];
    while let Ok(n) = pipe.read(&mut buf) {
        if n == 0 {
            break;
        }
        let mut t = tail.lock().unwrap_or_else(|e| e.into_inner());
        t.extend_from_slice(&buf[..n]);
        if t.len() > 2 * TAIL {
            let cut = t.len() - TAIL;
            t.drain(..cut);
        }
    }
}

/// The build's exit status, or `None` when it is still running after `limit` (or cannot be
/// waited for).
fn wait_within(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if started.elapsed() >= limit => return None,
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(_) => return None,
        }
    }
}

/// Kills the build's whole process group, reaps the shell when it is still running, and
/// takes the group off the harness's list of processes to clean up.
fn kill_group(child: &mut Child, still_running: bool) {
    let pgid = child.id() as i32;
    // SAFETY: killpg only sends a signal to the process group we created.
    unsafe {
        libc::killpg(pgid, libc::SIGKILL);
    }
    if still_running {
        let _ = child.wait();
    }
    process::forget_spawned(pgid);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_build_reports_its_status_and_output() {
        let dir = tempfile::tempdir().unwrap();
        let e = build(
            "echo compiling; echo 'main.c:3: error' >&2; exit 3",
            dir.path(),
            Duration::from_secs(10),
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("exit status: 3"), "{msg}");
        assert!(msg.contains("main.c:3: error"), "{msg}");
    }

    #[test]
    fn a_hanging_build_is_killed_at_its_limit() {
        let dir = tempfile::tempdir().unwrap();
        let t = Instant::now();
        let e = build("sleep 30", dir.path(), Duration::from_millis(300)).unwrap_err();
        assert!(matches!(e, BuildError::TimedOut { .. }), "{e}");
        assert!(t.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn a_flooding_build_keeps_only_its_tail() {
        let dir = tempfile::tempdir().unwrap();
        let out = build(
            "head -c 5000000 /dev/zero | tr '\\0' x; echo END",
            dir.path(),
            Duration::from_secs(30),
        )
        .unwrap();
        assert!(out.len() <= TAIL, "kept {} bytes", out.len());
        assert!(out.ends_with("END\n"));
    }

    #[test]
    fn the_build_runs_in_the_given_folder() {
        let dir = tempfile::tempdir().unwrap();
        build("echo built > artifact", dir.path(), Duration::from_secs(10)).unwrap();
        assert!(dir.path().join("artifact").exists());
    }
}
