//! The `--build` step of grading: a shell command run once in a submission's private copy, bounded
//! in time and in the output it keeps, and killed with its whole process group when it overruns.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
    let mut child = crate::start::process::spawn_noted(
        Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .current_dir(dir)
            .env(
                crate::start::process::OWNER_ENV,
                std::process::id().to_string(),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0),
    )
    .map_err(|source| BuildError::Spawn {
        cmd: cmd.to_string(),
        source,
    })?;
    let tail = Arc::new(Mutex::new(Vec::<u8>::new()));
    let readers: Vec<_> = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|mut pipe| {
        let tail = Arc::clone(&tail);
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let mut t = tail.lock().unwrap();
                t.extend_from_slice(&buf[..n]);
                if t.len() > 2 * TAIL {
                    let cut = t.len() - TAIL;
                    t.drain(..cut);
                }
            }
        })
    })
    .collect();

    let started = Instant::now();
    let pgid = child.id() as i32;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() >= limit => break None,
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(_) => break None,
        }
    };
    // Whatever happened, nothing of the build may live on (a build that starts a daemon included).
    // SAFETY: killpg only sends a signal to the process group we created.
    unsafe {
        libc::killpg(pgid, libc::SIGKILL);
    }
    if status.is_none() {
        let _ = child.wait();
    }
    crate::start::process::forget_spawned(pgid);
    for r in readers {
        let _ = r.join();
    }
    let tail = {
        let t = tail.lock().unwrap();
        let start = t.len().saturating_sub(TAIL);
        String::from_utf8_lossy(&t[start..]).into_owned()
    };
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
