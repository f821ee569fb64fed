//! A reader that goes away: `harness list | head -0` and friends end quietly (no panic, no
//! "Broken pipe" error) when their standard output is closed.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::repo_root;

/// Runs the harness with `args`, its stdout a pipe whose reading end is closed at once; returns
/// (exit code, stderr).
fn with_closed_stdout(args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(args)
        .current_dir(repo_root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    // Bounded: a harness that hangs on the closed pipe fails the test (and is killed).
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });
    let end = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            panic!("harness {args:?} still running after 60 s with its stdout closed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (status.code(), reader.join().unwrap())
}

#[test]
fn list_ends_quietly_on_a_closed_pipe() {
    let (code, err) = with_closed_stdout(&["list"]);
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{err}"
    );
    assert!(matches!(code, Some(0) | Some(141)), "{code:?} {err}");
}

#[test]
fn grade_plan_ends_quietly_on_a_closed_pipe() {
    let (code, err) = with_closed_stdout(&["grade", "--plan", "harness/tests/detect/class"]);
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{err}"
    );
    assert!(matches!(code, Some(0) | Some(141)), "{code:?} {err}");
}

#[test]
fn run_ends_quietly_on_a_closed_pipe() {
    let (code, err) = with_closed_stdout(&[
        "run",
        "harness/tests/hostile/cases/get.case",
        "--target",
        "127.0.0.1:1",
        "--connect-timeout",
        "0.2",
    ]);
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{err}"
    );
    assert_eq!(code, Some(141), "{err}");
}
