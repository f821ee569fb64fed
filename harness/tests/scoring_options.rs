//! The options that change how a run is scored, read or shown, each tested both ways through
//! the `harness` binary: `--score rules|cases`, `--ws-conf FILE` (the ws.conf a `--target`
//! server runs with), `--color always|never`, and grade's `--case-jobs N` and
//! `--build-timeout SECS`. (`--strict`, `--strict-form`, `--jobs`, `--build` and `--rubric`
//! are in `run_options.rs` and `cli.rs`.)

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::{case_dir, flawed_py, harness_marked as harness, leftovers, Canned, MARKER};

fn marker(name: &str) -> String {
    format!("scoring-options-{name}-{}", std::process::id())
}

fn json(stdout: &[u8]) -> Value {
    serde_json::from_slice(stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(stdout)))
}

/// The case `id` of a `--format json` report.
fn case<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["cases"]
        .as_array()
        .expect("a cases array")
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no case {id} in {report}"))
}

const HTML: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\
                      Connection: close\r\n\r\nok";

/// A case of `rule`, worth `points`, that expects `status` for `GET /`.
fn ruled(rule: &str, points: u32, status: u16) -> String {
    format!(
        "title: GET / gives {status}\nrule: {rule}\npoints: {points}\ntimeout: 5s\n\nsend\n\
         | GET / HTTP/1.1\n| Host: {{host}}\n| Connection: close\n|\n\n\
         response within 2s\nstatus {status}\n"
    )
}

#[test]
fn score_rules_loses_a_rule_whole_and_score_cases_counts_each_case() {
    let m = marker("score");
    let server = Canned::new(HTML);
    let dir = case_dir(&[
        ("get-a.case", &ruled("get", 3, 200)),
        ("get-b.case", &ruled("get", 2, 404)),
        ("other.case", &ruled("other", 5, 200)),
    ]);
    let run = |score: Option<&str>| {
        let mut c = harness(&m);
        c.arg("run")
            .arg(dir.path())
            .args(["--target", &server.target(), "--format", "json"]);
        if let Some(s) = score {
            c.args(["--score", s]);
        }
        let out = c.output().unwrap();
        assert_eq!(out.status.code(), Some(1), "a case fails either way");
        let v = json(&out.stdout);
        (
            v["score"].as_f64().unwrap(),
            v["max_score"].as_f64().unwrap(),
        )
    };
    // By rules (the default): `get` (3 + 2) is lost whole; `other` is held.
    assert_eq!(run(None), (5.0, 10.0));
    assert_eq!(run(Some("rules")), (5.0, 10.0));
    // By cases: get-a keeps its own 3 points.
    assert_eq!(run(Some("cases")), (8.0, 10.0));
}

/// A case that applies only where ws.conf allows DELETE, and one that expects the type
/// ws.conf declares for `.html`.
const NEEDS_DELETE: &str = "title: DELETE is declared\nrequires: method DELETE\ntimeout: 5s\n\n\
    send\n| GET / HTTP/1.1\n| Host: {host}\n| Connection: close\n|\n\n\
    response within 2s\nstatus 200\n";
const DECLARED_TYPE: &str = "title: the declared type\ntimeout: 5s\n\n\
    send\n| GET /index.html HTTP/1.1\n| Host: {host}\n| Connection: close\n|\n\n\
    response within 2s\nstatus 200\ncontent-type .html\n";

#[test]
fn ws_conf_decides_what_applies_and_which_type_is_right() {
    let m = marker("ws-conf");
    let server = Canned::new(HTML);
    let dir = case_dir(&[
        ("needs-delete.case", NEEDS_DELETE),
        ("declared-type.case", DECLARED_TYPE),
    ]);
    let confs = tempfile::tempdir().unwrap();
    let plain = confs.path().join("plain.conf");
    std::fs::write(
        &plain,
        ".html text/plain\nKeepaliveTime 3\nRequestMethodSupport GET HEAD DELETE\n",
    )
    .unwrap();
    let html = confs.path().join("html.conf");
    std::fs::write(
        &html,
        ".html text/html\nKeepaliveTime 3\nRequestMethodSupport GET HEAD\n",
    )
    .unwrap();
    let run = |conf: &Path| {
        let out = harness(&m)
            .arg("run")
            .arg(dir.path())
            .args(["--target", &server.target(), "--format", "json"])
            .arg("--ws-conf")
            .arg(conf)
            .output()
            .unwrap();
        json(&out.stdout)
    };

    let v = run(&plain);
    assert_eq!(case(&v, "needs-delete")["verdict"], "pass", "{v}");
    assert_eq!(case(&v, "declared-type")["verdict"], "pass", "{v}");

    let v = run(&html);
    let skipped = case(&v, "needs-delete");
    assert_eq!(skipped["verdict"], "skip", "{v}");
    assert_eq!(
        skipped["messages"][0].as_str().unwrap(),
        format!(
            "requires: {} does not list DELETE in RequestMethodSupport (GET HEAD)",
            html.display()
        )
    );
    let typed = case(&v, "declared-type");
    assert_eq!(typed["verdict"], "fail", "{v}");
    assert!(
        typed["messages"].to_string().contains("text/html"),
        "the message names the declared type: {typed}"
    );

    // A ws.conf that is not there is an error that names it, not a silent default.
    let missing = confs.path().join("missing.conf");
    let out = harness(&m)
        .arg("run")
        .arg(dir.path())
        .args(["--target", &server.target()])
        .arg("--ws-conf")
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&missing.display().to_string()),
        "the error names the file: {err}"
    );
}

#[test]
fn color_always_paints_the_pretty_report_and_never_does_not() {
    let m = marker("color");
    let server = Canned::new(HTML);
    let dir = case_dir(&[("ok.case", &ruled("get", 1, 200))]);
    let run = |color: &str| {
        let out = harness(&m)
            .arg("run")
            .arg(dir.path())
            .args(["--target", &server.target(), "--color", color])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8(out.stdout).unwrap()
    };
    let painted = run("always");
    assert!(
        painted.contains("\x1b["),
        "--color always paints even with NO_COLOR set and no terminal:\n{painted}"
    );
    let plain = run("never");
    assert!(!plain.contains('\x1b'), "--color never: {plain:?}");
    assert!(plain.contains("ok"), "{plain}");
    let auto = run("auto");
    assert!(
        !auto.contains('\x1b'),
        "--color auto, not a terminal: {auto:?}"
    );
}

/// A class of one submission: `flawed.py --flaw none` started by a START line.
fn class_of_one(class: &Path, build: bool) {
    let dir = class.join("one");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(flawed_py(), dir.join("server.py")).unwrap();
    std::fs::write(
        dir.join("START"),
        "python3 server.py --flaw none --root {root} --keepalive 3 --port {port}\n",
    )
    .unwrap();
    if build {
        std::fs::write(dir.join("BUILD"), "sleep 30\n").unwrap();
    }
}

/// What one `harness grade` of a class gave: how long it took, its gradebook and its table.
struct Graded {
    ok: bool,
    took: Duration,
    csv: String,
    stdout: String,
}

/// Grades `class` on `cases` with `args` (and `--var keepalive=3`).
fn grade(m: &str, class: &Path, cases: &Path, args: &[&str]) -> Graded {
    let out = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let output = harness(m)
        .arg("grade")
        .arg(class)
        .arg(cases)
        .args(args)
        .args(["--var", "keepalive=3", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    Graded {
        ok: output.status.success(),
        took: started.elapsed(),
        csv: std::fs::read_to_string(out.path().join("gradebook.csv")).unwrap_or_default(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
    }
}

#[test]
fn case_jobs_runs_one_submissions_cases_at_once() {
    let m = marker("case-jobs");
    let class = tempfile::tempdir().unwrap();
    class_of_one(class.path(), false);
    // Four cases that each wait 1.5s before their request: 6s one after another.
    let waits = "title: waits, then GET /index.html\ntimeout: 10s\n\nsleep 1500ms\n\nsend\n\
                 | GET /index.html HTTP/1.1\n| Host: {host}\n| Connection: close\n|\n\n\
                 response within 2s\nstatus 200\n";
    let cases = case_dir(&[
        ("a.case", waits),
        ("b.case", waits),
        ("c.case", waits),
        ("d.case", waits),
    ]);
    let grade = |case_jobs: &str| {
        let g = grade(&m, class.path(), cases.path(), &["--case-jobs", case_jobs]);
        assert!(g.ok, "grade exits 0: {}", g.stdout);
        assert!(
            g.csv.lines().any(|l| l.starts_with("one,4,4")),
            "every case passes: {}\n{}",
            g.csv,
            g.stdout
        );
        g.took
    };
    let serial = grade("1");
    let parallel = grade("4");
    assert!(
        serial >= Duration::from_secs(6),
        "--case-jobs 1 runs one case at a time: {serial:?}"
    );
    // The server's start is in both; the cases' 6s become about 1.5s at once.
    assert!(
        parallel + Duration::from_millis(2500) < serial,
        "--case-jobs 4 overlaps the cases: {parallel:?} against {serial:?}"
    );
    assert_eq!(leftovers(MARKER, &m), vec![]);
}

#[test]
fn build_timeout_kills_a_build_that_runs_too_long() {
    let m = marker("build-timeout");
    let class = tempfile::tempdir().unwrap();
    class_of_one(class.path(), true);
    let cases = case_dir(&[("ok.case", &ruled("get", 1, 200))]);
    let g = grade(&m, class.path(), cases.path(), &["--build-timeout", "2"]);
    assert!(
        g.took < Duration::from_secs(25),
        "the 30s build was cut at 2s: {:?}\n{}",
        g.took,
        g.stdout
    );
    assert!(
        g.csv.lines().any(|l| l.starts_with("one,0,1")),
        "a build cut short scores 0: {}\n{}",
        g.csv,
        g.stdout
    );
    assert!(
        g.stdout
            .contains("build did not finish within 2s and was killed"),
        "the table says why: {}",
        g.stdout
    );
    assert_eq!(leftovers(MARKER, &m), vec![]);
}
