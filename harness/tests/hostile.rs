//! The harness against hostile servers (`tests/hostile/hostile.py`, one misbehaviour per mode):
//! each run must end in bounded wall time and memory, and leave no process behind, whatever the
//! server does (never listen, stay silent, trickle, flood, reset, lie, fork away, ignore TERM,
//! flood stdout). A small case set with short timeouts keeps each run to seconds.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{leftovers, repo_root, OutputWithin};

/// The environment variable that marks every process one test started (inherited by the
/// harness and every server it starts, whatever they exec).
const MARK: &str = "HOSTILE_TEST_MARK";

/// What one harness run cost.
struct Run {
    code: i32,
    wall: Duration,
    max_rss_kb: i64,
    report: serde_json::Value,
    stderr: String,
}

fn hostile_dir() -> PathBuf {
    repo_root().join("harness/tests/hostile")
}

/// Runs `harness run` on the hostile cases against `hostile.py MODE`, in a folder of its own,
/// waiting at most `limit` (then killing it), and returns what it cost.
// The child is reaped by `wait_bounded` (wait4, for its peak memory), not by `Child::wait`.
#[allow(clippy::zombie_processes)]
fn run_mode(mode: &str, limit: Duration) -> Run {
    let sub = tempfile::tempdir().unwrap();
    std::fs::copy(
        hostile_dir().join("hostile.py"),
        sub.path().join("hostile.py"),
    )
    .unwrap();
    let out = sub.path().join("report.json");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_harness"));
    cmd.args(["run"])
        .arg(hostile_dir().join("cases"))
        .arg("--start")
        .arg(format!("python3 hostile.py {mode} {{port}}"))
        .arg("--dir")
        .arg(sub.path())
        .arg("--site")
        .arg(repo_root().join("www"))
        .arg("--www")
        .arg(repo_root().join("www"))
        // short for the server that never listens; room for a loaded machine for the others
        .arg("--ready-timeout")
        .arg(if mode == "never-listen" { "2" } else { "10" })
        .args(["--jobs", "4", "--format", "json", "--output"])
        .arg(&out)
        .env(MARK, mode)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        use std::io::Read;
        let mut s = String::new();
        let _ = std::io::BufReader::new(stderr)
            .take(1 << 20)
            .read_to_string(&mut s);
        s
    });
    let pid = child.id() as i32;
    let (code, rss) = wait_bounded(pid, limit);
    let wall = started.elapsed();
    let report = std::fs::read_to_string(&out)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(serde_json::Value::Null);
    Run {
        code,
        wall,
        max_rss_kb: rss,
        report,
        stderr: err_reader.join().unwrap_or_default(),
    }
}

/// Waits for `pid` at most `limit` (SIGKILL past it), with `wait4`, for its exit code and peak
/// resident memory in KiB.
fn wait_bounded(pid: i32, limit: Duration) -> (i32, i64) {
    let start = Instant::now();
    loop {
        let mut status = 0;
        // SAFETY: plain wait4 on our own child, with out-pointers to locals.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            let code = if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else {
                -1
            };
            return (code, usage.ru_maxrss);
        }
        if start.elapsed() > limit {
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn verdicts(r: &Run) -> Vec<(String, String)> {
    r.report["cases"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    (
                        c["id"].as_str().unwrap_or("").to_string(),
                        c["verdict"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The bounds every hostile run must keep: it ended by itself within `secs`, under 100 MB,
/// with a report of every case, and no process of its own left.
fn assert_bounded(mode: &str, r: &Run, secs: u64) {
    assert!(
        r.wall < Duration::from_secs(secs),
        "{mode}: took {:?} (limit {secs}s); stderr:\n{}",
        r.wall,
        r.stderr
    );
    assert!(
        r.code == 1 || r.code == 0,
        "{mode}: exit code {} (killed or harness error); stderr:\n{}",
        r.code,
        r.stderr
    );
    assert!(
        r.max_rss_kb < 100 * 1024,
        "{mode}: peak memory {} KiB",
        r.max_rss_kb
    );
    assert_eq!(verdicts(r).len(), 4, "{mode}: a result per case");
    let left = leftovers(MARK, mode);
    assert!(left.is_empty(), "{mode}: processes left running: {left:?}");
}

#[test]
fn never_listens() {
    let r = run_mode("never-listen", Duration::from_secs(60));
    assert_bounded("never-listen", &r, 30);
    assert!(
        verdicts(&r).iter().all(|(_, v)| v == "error"),
        "{:?}",
        verdicts(&r)
    );
    // One start attempt per configuration at most twice, never once per case.
    assert!(
        r.stderr.matches("could not be started").count() <= 2,
        "{}",
        r.stderr
    );
}

#[test]
fn accepts_and_stays_silent() {
    let r = run_mode("silent", Duration::from_secs(60));
    assert_bounded("silent", &r, 20);
    assert!(verdicts(&r).iter().all(|(_, v)| v == "fail"));
}

#[test]
fn trickles_one_byte_a_second() {
    let r = run_mode("trickle", Duration::from_secs(90));
    assert_bounded("trickle", &r, 45);
}

#[test]
fn floods_bytes() {
    let r = run_mode("flood", Duration::from_secs(60));
    assert_bounded("flood", &r, 30);
}

#[test]
fn sends_endless_headers() {
    let r = run_mode("endless-headers", Duration::from_secs(60));
    assert_bounded("endless-headers", &r, 30);
}

#[test]
fn resets_every_connection() {
    let r = run_mode("reset", Duration::from_secs(60));
    assert_bounded("reset", &r, 30);
}

#[test]
fn lies_in_content_length() {
    let r = run_mode("lie-length", Duration::from_secs(90));
    assert_bounded("lie-length", &r, 45);
}

#[test]
fn sends_an_endless_chunked_body() {
    let r = run_mode("endless-chunked", Duration::from_secs(60));
    assert_bounded("endless-chunked", &r, 30);
}

#[test]
fn forks_with_setsid_and_is_still_graded_then_stopped() {
    let r = run_mode("setsid-fork", Duration::from_secs(60));
    assert_bounded("setsid-fork", &r, 30);
    // The daemonized server answers 404 to everything: the harness talks to it, not to nothing.
    let reuse = verdicts(&r);
    assert!(
        reuse.iter().all(|(_, v)| v == "fail"),
        "{reuse:?}\n{}",
        r.stderr
    );
    assert!(!r.stderr.contains("died"), "{}", r.stderr);
}

#[test]
fn ignores_sigterm() {
    let r = run_mode("ignore-term", Duration::from_secs(60));
    assert_bounded("ignore-term", &r, 30);
}

#[test]
fn writes_100_mb_to_stdout() {
    let r = run_mode("stdout-flood", Duration::from_secs(90));
    assert_bounded("stdout-flood", &r, 45);
}

#[test]
fn a_body_after_head_fails_the_head_case() {
    let r = run_mode("head-body", Duration::from_secs(60));
    assert_bounded("head-body", &r, 30);
    let head = verdicts(&r)
        .into_iter()
        .find(|(id, _)| id == "head")
        .unwrap();
    assert_eq!(head.1, "fail");
}

/// Runs `harness run` on the hostile GET case with `start` as the start command and `extra`
/// options; returns (exit code, stderr).
fn run_start(mark: &str, start: &str, extra: &[&str]) -> (i32, String) {
    let sub = tempfile::tempdir().unwrap();
    std::fs::copy(
        hostile_dir().join("hostile.py"),
        sub.path().join("hostile.py"),
    )
    .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_harness"));
    cmd.arg("run")
        .arg(hostile_dir().join("cases/get.case"))
        .args(["--start", start, "--dir"])
        .arg(sub.path())
        .arg("--site")
        .arg(repo_root().join("www"))
        .args(["--ready-timeout", "5"])
        .args(extra)
        .env(MARK, mark)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let out = cmd.output_within(Duration::from_secs(120));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn servers_start_within_the_ports_range() {
    let mark = "ports-range";
    let lo = 20000 + (std::process::id() % 20000) as u16;
    let range = format!("{lo}-{}", lo + 50);
    let (code, err) = run_start(
        mark,
        "python3 hostile.py ignore-term {port}",
        &["--ports", &range],
    );
    assert_eq!(code, 1, "{err}");
    let port: u16 = err
        .split("on port ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("{err}"));
    assert!((lo..=lo + 50).contains(&port), "{port} not in {range}");
    assert!(leftovers(MARK, mark).is_empty());
}

#[test]
fn a_port_held_by_another_process_is_refused() {
    // The command starts a listener that does not carry the harness's marker (env -i): it is
    // not the server the harness started, so the harness refuses it, retries, and gives up.
    let mark = "foreign-port";
    let (code, err) = run_start(mark, "env -i python3 hostile.py ignore-term {port}", &[]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("another process already listens on port"),
        "{err}"
    );
    // the foreign listener was in the started group: stopped with it
    let left = common::processes_with("hostile.py ignore-term");
    assert!(
        left.iter().all(|&p| {
            let env = std::fs::read(format!("/proc/{p}/environ")).unwrap_or_default();
            !env.is_empty()
        }),
        "{left:?}"
    );
}

#[test]
fn a_document_root_through_a_link_never_touches_what_the_link_points_to() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir(outside.path().join("www")).unwrap();
    std::fs::write(outside.path().join("www/keep.txt"), "precious").unwrap();
    let sub = tempfile::tempdir().unwrap();
    std::fs::copy(
        hostile_dir().join("hostile.py"),
        sub.path().join("hostile.py"),
    )
    .unwrap();
    std::os::unix::fs::symlink(outside.path(), sub.path().join("link")).unwrap();
    std::fs::write(
        sub.path().join("ws.conf"),
        "Listen 8080\nDocumentRoot link/www\n.html text/html\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_harness"))
        .arg("run")
        .arg(hostile_dir().join("cases/get.case"))
        .args(["--start", "python3 hostile.py ignore-term {port}", "--dir"])
        .arg(sub.path())
        .arg("--site")
        .arg(repo_root().join("www"))
        .env(MARK, "root-link")
        .output_within(Duration::from_secs(120));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("points outside the copy"), "{err}");
    assert_eq!(
        std::fs::read_to_string(outside.path().join("www/keep.txt")).unwrap(),
        "precious"
    );
    assert_eq!(
        std::fs::read_dir(outside.path().join("www"))
            .unwrap()
            .count(),
        1
    );
    assert!(leftovers(MARK, "root-link").is_empty());
}
