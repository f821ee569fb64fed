//! Shared by the harness's integration tests: paths of the repo and of the built server binary,
//! a fake server that answers every connection with one canned response, and a child process
//! run to its end within a time limit.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

/// The environment variable that marks the processes a test's `harness` run starts, so that
/// [`leftovers`] finds any it left behind.
pub const MARKER: &str = "HARNESS_TEST_MARKER";

/// The `harness` binary as a user runs it: from the repository's root, colour off, its
/// processes marked with `marker`, stopped after 120 s.
pub fn harness_marked(marker: &str) -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("harness").unwrap();
    c.env("NO_COLOR", "1")
        .env(MARKER, marker)
        .current_dir(repo_root())
        .timeout(Duration::from_secs(120));
    c
}

/// The repository's root folder.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The reference server's binary (`target/debug/server`), built if `cargo test -p harness` ran
/// without it.
pub fn server_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        let dir = exe.parent().unwrap().parent().unwrap(); // target/debug/deps -> target/debug
        let bin = dir.join("server");
        if !bin.exists() {
            let status = Command::new(env!("CARGO"))
                .args(["build", "-p", "server", "--bin", "server"])
                .current_dir(repo_root())
                .status()
                .unwrap();
            assert!(status.success(), "could not build the server binary");
        }
        bin
    })
    .clone()
}

/// A server on 127.0.0.1 that reads a request head and answers it with `response`, then closes.
/// Stops (and joins its thread) when dropped.
pub struct Canned {
    pub port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Canned {
    pub fn new(response: &'static [u8]) -> Canned {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut s, _)) => {
                        s.set_nonblocking(false).unwrap();
                        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                        let mut buf = Vec::new();
                        let mut chunk = [0u8; 4096];
                        while !buf.windows(4).any(|w| w == b"\r\n\r\n")
                            && !buf.windows(2).any(|w| w == b"\n\n")
                        {
                            match s.read(&mut chunk) {
                                Ok(0) | Err(_) => break,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        }
                        let _ = s.write_all(response);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Canned {
            port,
            stop,
            thread: Some(thread),
        }
    }

    pub fn target(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Canned {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Writes a case folder with the given (relative path, text) files.
pub fn case_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

/// Every process whose environment holds `NAME=VALUE` (descendants inherit it, whatever they
/// exec), as (pid, cmdline).
pub fn processes_with_env(name: &str, value: &str) -> Vec<(u32, String)> {
    let needle = format!("{name}={value}");
    let me = std::process::id();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(env) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        if env.split(|&b| b == 0).any(|kv| kv == needle.as_bytes()) {
            let cmd = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            // A zombie has no command line and holds nothing; it is reaped by its parent soon.
            if !cmd.is_empty() {
                found.push((pid, String::from_utf8_lossy(&cmd).replace('\0', " ")));
            }
        }
    }
    found
}

/// Waits (bounded) until no process carries the marker; returns those still there.
pub fn leftovers(name: &str, value: &str) -> Vec<(u32, String)> {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let left = processes_with_env(name, value);
        if left.is_empty() || std::time::Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The deliberately broken student server.
pub fn flawed_py() -> PathBuf {
    repo_root().join("harness/tests/flawed/flawed.py")
}

/// The running processes (zombies left out) whose command line contains `marker`.
pub fn processes_with(marker: &str) -> Vec<i32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if pid == std::process::id() as i32 {
            continue;
        }
        let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let zombie = stat
            .rsplit_once(')')
            .is_some_and(|(_, r)| r.trim_start().starts_with('Z'));
        if !zombie && String::from_utf8_lossy(&cmd).contains(marker) {
            out.push(pid);
        }
    }
    out
}

/// `Command::output` with a time limit: see [`output_within`].
pub trait OutputWithin {
    fn output_within(&mut self, limit: Duration) -> std::process::Output;
}

impl OutputWithin for Command {
    fn output_within(&mut self, limit: Duration) -> std::process::Output {
        output_within(self, limit)
    }
}

/// Runs `cmd` to its end with stdout and stderr captured, like `Command::output`, but for at
/// most `limit`: past it the child gets SIGTERM (so that it can stop what it started), then
/// SIGKILL 5 s later, and the test fails with what it printed so far. Output still held open
/// by a process the child left behind is waited for 5 s at most.
pub fn output_within(cmd: &mut Command, limit: Duration) -> std::process::Output {
    use std::process::Stdio;
    use std::sync::Mutex;
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (done_tx, done) = std::sync::mpsc::channel();
    let drain = |r: Box<dyn Read + Send>| {
        let got = Arc::new(Mutex::new(Vec::new()));
        let (into, done_tx) = (Arc::clone(&got), done_tx.clone());
        std::thread::spawn(move || {
            let mut r = r;
            let mut buf = [0u8; 8192];
            while let Ok(n) = r.read(&mut buf) {
                if n == 0 {
                    break;
                }
                into.lock().unwrap().extend_from_slice(&buf[..n]);
            }
            let _ = done_tx.send(());
        });
        got
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let start = std::time::Instant::now();
    let mut termed = false;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit + Duration::from_secs(5) {
            let _ = child.kill();
        } else if start.elapsed() > limit && !termed {
            // SAFETY: signalling our own child, not reaped yet.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            termed = true;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let end = std::time::Instant::now() + Duration::from_secs(5);
    for _ in 0..2 {
        let left = end.saturating_duration_since(std::time::Instant::now());
        if done.recv_timeout(left).is_err() {
            break;
        }
    }
    let take = |got: &Arc<Mutex<Vec<u8>>>| got.lock().unwrap().clone();
    let (stdout, stderr) = (take(&out), take(&err));
    assert!(
        !termed,
        "still running after {limit:?}: {cmd:?}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&stdout),
        String::from_utf8_lossy(&stderr)
    );
    std::process::Output {
        status,
        stdout,
        stderr,
    }
}
