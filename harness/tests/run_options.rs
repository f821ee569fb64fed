//! Run-level guarantees, through the `harness` binary as a user runs it: every case of the
//! corpus is run and only the documented ones skip; `--strict` turns a missed `level: should`
//! case from a warning into a failure; `--jobs N` really runs cases at once; `grade --build` and `--rubric` work
//! end to end; a case that fails beside others and passes alone says so, and a case during which
//! the server crashed says in how many of its runs.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::{
    case_dir, flawed_py, harness_marked as harness, leftovers, repo_root, server_bin, Canned,
    MARKER,
};

fn marker(name: &str) -> String {
    format!("run-options-{name}-{}", std::process::id())
}

/// (id, verdict) of every case of a `--format json` report, in order.
fn verdicts(stdout: &[u8]) -> Vec<(String, String)> {
    let v: Value = serde_json::from_slice(stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(stdout)));
    v["cases"]
        .as_array()
        .expect("a cases array")
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";

fn get_case(level: &str, status: u16, sleep: &str) -> String {
    format!(
        "title: GET / gives {status}\nlevel: {level}\ntimeout: 10s\n\n{sleep}send\n\
         | GET / HTTP/1.1\n| Host: {{host}}\n| Connection: close\n|\n\n\
         response within 2s\nstatus {status}\n"
    )
}

#[test]
fn the_whole_corpus_runs_and_only_the_documented_cases_skip() {
    let m = marker("corpus");
    let listed = harness(&m)
        .args(["list", "cases/assignment", "--format", "json"])
        .output()
        .unwrap();
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    let listed = listed.as_array().expect("a JSON array of cases").len();
    assert_eq!(
        listed, 52,
        "the corpus has 52 cases (cases/assignment/README.md)"
    );
    let out = harness(&m)
        .args([
            "run",
            "cases/assignment",
            "--format",
            "json",
            "--var",
            "keepalive=3",
        ])
        .args(["--config", "generate", "--start"])
        .arg(format!("{} --config {{config}}", server_bin().display()))
        .output()
        .unwrap();
    let got = verdicts(&out.stdout);
    assert_eq!(got.len(), listed, "every case is run or reported");
    let skipped: Vec<&str> = got
        .iter()
        .filter(|(_, v)| v == "skip")
        .map(|(id, _)| id.as_str())
        .collect();
    // The generated ws.conf lists HEAD, so its complement is the only case that does not apply.
    assert_eq!(skipped, ["errors/head-not-supported"]);
    let not_passed: Vec<&(String, String)> = got
        .iter()
        .filter(|(_, v)| v != "pass" && v != "skip")
        .collect();
    assert!(not_passed.is_empty(), "{not_passed:?}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (report["score"].as_f64(), report["max_score"].as_f64()),
        (Some(100.0), Some(100.0)),
        "the handout's ten rules, held"
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(leftovers(MARKER, &m), vec![]);
}

#[test]
fn strict_makes_a_missed_should_case_fail() {
    let m = marker("strict");
    let server = Canned::new(OK);
    let dir = case_dir(&[
        ("must-pass.case", &get_case("must", 200, "")),
        ("should-pass.case", &get_case("should", 200, "")),
        ("should-fail.case", &get_case("should", 404, "")),
    ]);
    let run = |strict: bool| {
        let mut c = harness(&m);
        c.arg("run")
            .arg(dir.path())
            .args(["--target", &server.target(), "--format", "json"]);
        if strict {
            c.arg("--strict");
        }
        c.output().unwrap()
    };
    let lax = run(false);
    assert_eq!(
        verdicts(&lax.stdout),
        [
            ("must-pass".into(), "pass".into()),
            ("should-fail".into(), "non-strict".into()),
            ("should-pass".into(), "pass".into()),
        ]
    );
    assert_eq!(
        lax.status.code(),
        Some(0),
        "a missed should case is a warning"
    );
    let strict = run(true);
    assert_eq!(
        verdicts(&strict.stdout),
        [
            ("must-pass".into(), "pass".into()),
            ("should-fail".into(), "fail".into()),
            ("should-pass".into(), "pass".into()),
        ]
    );
    assert_eq!(
        strict.status.code(),
        Some(1),
        "a failed should case fails the run"
    );
}

#[test]
fn jobs_run_cases_at_once() {
    let m = marker("jobs");
    let server = Canned::new(OK);
    // Four cases that each wait 1.5s before their request: 6s one after another.
    let text = get_case("must", 200, "sleep 1500ms\n\n");
    let dir = case_dir(&[
        ("a.case", &text),
        ("b.case", &text),
        ("c.case", &text),
        ("d.case", &text),
    ]);
    let wall = |jobs: &str| {
        let started = Instant::now();
        harness(&m)
            .arg("run")
            .arg(dir.path())
            .args(["--target", &server.target(), "--jobs", jobs])
            .assert()
            .success();
        started.elapsed()
    };
    let serial = wall("1");
    assert!(
        serial >= Duration::from_secs(6),
        "--jobs 1 runs one case at a time: {serial:?}"
    );
    let parallel = wall("4");
    // At once: about 1.5s; a wide margin for a loaded machine, still well under the 6s sum.
    assert!(
        parallel < Duration::from_millis(4500),
        "--jobs 4 overlaps the cases: {parallel:?} (serial {serial:?})"
    );
}

/// A submission: its files, and a START line.
fn submission(class: &Path, name: &str, files: &[(&str, &str)], start: &str) {
    let dir = class.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for (f, text) in files {
        std::fs::write(dir.join(f), text).unwrap();
    }
    std::fs::write(dir.join("START"), format!("{start}\n")).unwrap();
}

#[test]
fn grade_builds_each_submission_and_applies_the_rubric() {
    let m = marker("grade");
    let class = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let source = std::fs::read_to_string(flawed_py()).unwrap();
    // The server exists only once built: `--build` must run, in the submission's copy.
    let start = "python3 server.py --flaw none --root {root} --keepalive 3 --port {port}";
    submission(class.path(), "builds", &[("server.src", &source)], start);
    submission(class.path(), "no-source", &[], start);
    let cases = case_dir(&[
        (
            "index-html.case",
            &std::fs::read_to_string(repo_root().join("cases/assignment/get/index-html.case"))
                .unwrap(),
        ),
        (
            "response-header.case",
            &std::fs::read_to_string(
                repo_root().join("cases/assignment/keepalive/response-header.case"),
            )
            .unwrap(),
        ),
    ]);
    let rubric = cases.path().join("rubric.txt");
    std::fs::write(
        &rubric,
        "# a rubric\npoints index-html 7\nhidden response-header\n",
    )
    .unwrap();
    let assert = harness(&m)
        .arg("grade")
        .arg(class.path())
        .arg(cases.path().join("index-html.case"))
        .arg(cases.path().join("response-header.case"))
        .args(["--build", "cp server.src server.py", "--var", "keepalive=3"])
        .arg("--rubric")
        .arg(&rubric)
        .arg("--out")
        .arg(out.path())
        .assert();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    let csv = std::fs::read_to_string(out.path().join("gradebook.csv")).unwrap();
    let row = |name: &str| -> Vec<String> {
        csv.lines()
            .find(|l| l.starts_with(&format!("{name},")))
            .unwrap_or_else(|| panic!("{name} in\n{csv}\n{stdout}"))
            .split(',')
            .map(str::to_string)
            .collect()
    };
    // 7 points by the rubric, plus response-header's own 1.
    assert_eq!(row("builds")[1..3], ["8", "8"], "{csv}\n{stdout}");
    assert_eq!(row("no-source")[1..3], ["0", "8"], "{csv}\n{stdout}");
    assert!(
        stdout.contains("build failed (exit status: 1): cp: cannot stat 'server.src'"),
        "the failed build is named in the table, with its own error:\n{stdout}"
    );
    let results: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("builds/results.json")).unwrap())
            .unwrap();
    let tests = results["tests"].as_array().unwrap();
    let test = |id: &str| {
        tests
            .iter()
            .find(|t| t["number"] == id)
            .unwrap_or_else(|| panic!("{id} in {results}"))
    };
    assert_eq!(test("index-html")["max_score"], 7.0);
    assert_eq!(test("response-header")["visibility"], "hidden");
    assert_eq!(leftovers(MARKER, &m), vec![]);
}

#[test]
fn a_case_that_fails_beside_others_and_passes_alone_says_so() {
    let m = marker("alone");
    // `keeps` holds a kept-alive connection for 3s (the server's KeepaliveTime); a server that
    // serves one connection at a time makes `blocked` wait behind it, and only `blocked` is run
    // again alone. `blocked` gives up 1.3 s after it starts: 1.7 s before the connection is let
    // go, and 1 s after an answer at once when run alone.
    let keeps = "title: a kept-alive connection, held\ntimeout: 10s\n\nsend\n\
                 | GET /index.html HTTP/1.1\n| Host: {host}\n| Connection: keep-alive\n|\n\n\
                 response within 2s\nstatus 200\n\nsleep 3s\n";
    let blocked = "title: a request while the other case holds its connection\ntimeout: 10s\n\n\
                   sleep 300ms\n\nsend\n| GET /index.html HTTP/1.1\n| Host: {host}\n\
                   | Connection: close\n|\n\nresponse within 1s\nstatus 200\n";
    let dir = case_dir(&[("blocked.case", blocked), ("keeps.case", keeps)]);
    let out = harness(&m)
        .arg("run")
        .arg(dir.path())
        .args(["--format", "json", "--jobs", "2", "--var", "keepalive=3"])
        .arg("--start")
        .arg(format!(
            "python3 {} --flaw single-threaded --root {{root}} --keepalive 3 --port {{port}}",
            flawed_py().display()
        ))
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let cases = v["cases"].as_array().unwrap();
    let blocked = cases.iter().find(|c| c["id"] == "blocked").unwrap();
    assert_eq!(blocked["verdict"], "pass", "{blocked}");
    let messages = blocked["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "{blocked}");
    let note = messages[0].as_str().unwrap();
    assert_eq!(
        note,
        "this case failed while other cases ran beside it (line 12: no complete response within \
         1s: nothing arrived) and passed run alone: does the server serve one connection at a \
         time?"
    );
    let keeps = cases.iter().find(|c| c["id"] == "keeps").unwrap();
    assert_eq!(keeps["verdict"], "pass", "{keeps}");
    assert_eq!(keeps["messages"].as_array().unwrap().len(), 0, "{keeps}");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(leftovers(MARKER, &m), vec![]);
}

#[test]
fn a_crash_in_one_run_of_a_case_is_said_whatever_the_verdict() {
    let m = marker("crash-once");
    let flag = tempfile::tempdir().unwrap();
    let once = flag.path().join("crashed");
    let get = |path: &str| {
        format!(
            "title: GET {path}\ntimeout: 10s\n\nsend\n| GET {path} HTTP/1.1\n| Host: {{host}}\n\
             | Connection: close\n|\n\nresponse within 2s\nstatus 200\n"
        )
    };
    let (racy, calm) = (get("/index.html?racy"), get("/index.html"));
    let dir = case_dir(&[("racy.case", &racy), ("calm.case", &calm)]);
    let mini = repo_root().join("harness/tests/fixtures/start/mini_server.py");
    let out = harness(&m)
        .arg("run")
        .arg(dir.path())
        .args(["--format", "json", "--jobs", "2"])
        .arg("--start")
        .arg(format!(
            "python3 {} --crash-path /index.html?racy --crash-once {}",
            mini.display(),
            once.display()
        ))
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let racy = v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "racy")
        .unwrap()
        .clone();
    assert_eq!(racy["verdict"], "pass", "the run alone stands: {racy}");
    let messages: Vec<&str> = racy["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert!(
        messages[0].starts_with(
            "the server crashed in 1 of 2 runs of this case (\"server died during this case \
             (exit status 3)"
        ),
        "{messages:?}"
    );
    assert_eq!(leftovers(MARKER, &m), vec![]);
}
