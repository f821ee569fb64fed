//! The `harness` command line as users meet it: exit codes, diagnostics, every report format,
//! against small canned servers on loopback.

mod common;

use assert_cmd::Command;
use predicates::prelude::*;

use common::{case_dir, closed_port, Canned};

const OK_CASE: &str = "title: the page is there\npoints: 2\ntags: basic\n\nsend\n| GET / HTTP/1.1\n| Host: {host}\n|\n\nresponse within 2s\nstatus 200\nbody contains \"hello\"\n";
const NOT_FOUND_CASE: &str = "title: a missing page is 404\npoints: 3\ntags: errors\n\nsend\n| GET /nope HTTP/1.1\n| Host: {host}\n|\n\nresponse within 2s\nstatus 404\n";
const OK_RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";
const LF_RESPONSE: &[u8] = b"HTTP/1.1 200 OK\nContent-Type: text/html\nContent-Length: 5\n\nhello";

fn harness() -> Command {
    let mut c = Command::cargo_bin("harness").unwrap();
    // A hang fails the test (the child is killed) instead of holding CI up.
    c.timeout(std::time::Duration::from_secs(120));
    c.env("NO_COLOR", "1");
    c
}

#[test]
fn check_accepts_valid_cases_and_counts_points() {
    let dir = case_dir(&[("a/ok.case", OK_CASE), ("b.case", NOT_FOUND_CASE)]);
    harness()
        .args(["check"])
        .arg(dir.path())
        .assert()
        .success()
        .stdout(predicate::str::contains("2 cases valid, worth 5 points"));
}

#[test]
fn check_reports_a_bad_case_at_file_line_col_and_exits_2() {
    let dir = case_dir(&[("bad.case", "title: x\n\nsned\n| GET / HTTP/1.1\n")]);
    harness()
        .args(["check"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad.case:3:1"))
        .stderr(predicate::str::contains("sned"))
        .stderr(predicate::str::contains("send"));
}

#[test]
fn list_shows_ids_points_and_tags() {
    let dir = case_dir(&[
        ("errors/missing.case", NOT_FOUND_CASE),
        ("ok.case", OK_CASE),
    ]);
    harness()
        .args(["list"])
        .arg(dir.path())
        .assert()
        .success()
        .stdout(predicate::str::contains("errors/missing"))
        .stdout(predicate::str::contains("a missing page is 404"))
        .stdout(predicate::str::contains("2 cases, 5 points"));
}

#[test]
fn run_without_a_server_is_a_usage_error() {
    let dir = case_dir(&[("ok.case", OK_CASE)]);
    harness()
        .args(["run"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--target"));
}

#[test]
fn run_exits_0_when_every_case_passes() {
    let srv = Canned::new(OK_RESPONSE);
    let dir = case_dir(&[("ok.case", OK_CASE)]);
    harness()
        .args(["run", "--target", &srv.target()])
        .arg(dir.path())
        .assert()
        .success()
        .stdout(predicate::str::contains("pass"))
        .stdout(predicate::str::contains("summary: 1 passed, 0 failed"));
}

#[test]
fn run_exits_1_and_explains_a_failure() {
    let srv = Canned::new(OK_RESPONSE);
    let dir = case_dir(&[("missing.case", NOT_FOUND_CASE)]);
    harness()
        .args(["run", "--target", &srv.target()])
        .arg(dir.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("404"))
        .stdout(predicate::str::contains("200"))
        .stdout(predicate::str::contains("printf"));
}

#[test]
fn json_report_has_score_and_verdicts() {
    let srv = Canned::new(OK_RESPONSE);
    let dir = case_dir(&[("ok.case", OK_CASE), ("missing.case", NOT_FOUND_CASE)]);
    let out = harness()
        .args(["run", "--format", "json", "--target", &srv.target()])
        .arg(dir.path())
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).expect("valid json");
    assert_eq!(v["score"], 2.0);
    assert_eq!(v["max_score"], 5.0);
    let verdicts: Vec<&str> = v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(
        verdicts,
        ["fail", "pass"],
        "cases come in id order: missing, ok"
    );
    assert!(v["cases"][0]["transcript"].is_object() || v["cases"][0]["transcript"].is_array());
}

#[test]
fn a_bare_lf_response_is_non_strict_and_earns_points_unless_strict_form() {
    let srv = Canned::new(LF_RESPONSE);
    let dir = case_dir(&[("ok.case", OK_CASE)]);
    let run = |extra: &[&str]| {
        let out = harness()
            .args(["run", "--format", "json", "--target", &srv.target()])
            .args(extra)
            .arg(dir.path())
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code(), v)
    };
    // The rule held, the form did not: the points are earned, and nothing failed.
    let (code, v) = run(&[]);
    assert_eq!(v["cases"][0]["verdict"], "non-strict");
    assert_eq!(v["score"], 2.0);
    assert_eq!(code, Some(0));
    let msgs = v["cases"][0]["messages"].to_string();
    assert!(msgs.contains("LF"), "the reason names the bare LF: {msgs}");
    assert!(msgs.contains("(form: line-ends)"), "and its rule: {msgs}");

    // --strict-form: non-strict earns nothing and counts as failed.
    let (code, v) = run(&["--strict-form"]);
    assert_eq!(v["score"], 0.0);
    assert_eq!(code, Some(1));

    // A case that grades the rule fails, whatever the mode.
    let graded = format!("{OK_CASE}form line-ends\n");
    let dir = case_dir(&[("ok.case", graded.as_str())]);
    let out = harness()
        .args(["run", "--format", "json", "--target", &srv.target()])
        .arg(dir.path())
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["cases"][0]["verdict"], "fail");
    assert_eq!(out.status.code(), Some(1));
    let msgs = v["cases"][0]["messages"].to_string();
    assert!(
        msgs.contains("(form: line-ends, the rule this case grades)"),
        "{msgs}"
    );
}

#[test]
fn tap_and_junit_reports_are_written_to_a_file() {
    let srv = Canned::new(OK_RESPONSE);
    let dir = case_dir(&[("ok.case", OK_CASE), ("missing.case", NOT_FOUND_CASE)]);
    let out = tempfile::tempdir().unwrap();
    let tap = out.path().join("r.tap");
    harness()
        .args([
            "run",
            "--format",
            "tap",
            "--target",
            &srv.target(),
            "--output",
        ])
        .arg(&tap)
        .arg(dir.path())
        .assert()
        .code(1);
    let text = std::fs::read_to_string(&tap).unwrap();
    assert!(text.starts_with("TAP version 14\n1..2\n"), "{text}");
    assert!(text.contains("not ok 1"), "{text}");
    assert!(text.contains("ok 2"), "{text}");

    let junit = out.path().join("r.xml");
    harness()
        .args([
            "run",
            "--format",
            "junit",
            "--target",
            &srv.target(),
            "--output",
        ])
        .arg(&junit)
        .arg(dir.path())
        .assert()
        .code(1);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("<failure"), "{xml}");
    assert!(xml.contains("tests=\"2\""), "{xml}");
}

#[test]
fn an_unreachable_target_is_an_error_verdict_not_a_hang() {
    let dir = case_dir(&[("ok.case", OK_CASE)]);
    let t = std::time::Instant::now();
    let out = harness()
        .args([
            "run",
            "--format",
            "json",
            "--target",
            &format!("127.0.0.1:{}", closed_port()),
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["cases"][0]["verdict"], "error");
    assert!(v["cases"][0]["messages"]
        .to_string()
        .contains("could not connect"));
    assert!(t.elapsed() < std::time::Duration::from_secs(20));
}

#[test]
fn filter_and_tag_select_cases() {
    let srv = Canned::new(OK_RESPONSE);
    let dir = case_dir(&[("ok.case", OK_CASE), ("missing.case", NOT_FOUND_CASE)]);
    harness()
        .args(["run", "--tag", "basic", "--target", &srv.target()])
        .arg(dir.path())
        .assert()
        .success();
    harness()
        .args(["run", "--filter", "404", "--target", &srv.target()])
        .arg(dir.path())
        .assert()
        .code(1);
    harness()
        .args([
            "run",
            "--filter",
            "no such thing",
            "--target",
            &srv.target(),
        ])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no case matches"));
}

#[test]
fn a_case_needing_a_config_is_skipped_with_target() {
    let srv = Canned::new(OK_RESPONSE);
    let broken = "title: broken config gives 500\nconfig: broken\n\nsend\n| GET / HTTP/1.1\n|\n\nresponse\nstatus 500\n";
    let dir = case_dir(&[("broken.case", broken)]);
    let out = harness()
        .args(["run", "--format", "json", "--target", &srv.target()])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["cases"][0]["verdict"], "skip");
    assert!(v["cases"][0]["messages"].to_string().contains("--start"));
    assert_eq!(v["max_score"], 0.0);
}

#[test]
fn bad_var_and_target_values_are_usage_errors() {
    let dir = case_dir(&[("ok.case", OK_CASE)]);
    harness()
        .args(["run", "--target", "localhost", "--var", "keepalive=2"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("HOST:PORT"));
    harness()
        .args(["run", "--target", "127.0.0.1:1", "--var", "2x=3"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("variable name"));
}

#[test]
fn diff_names_where_two_servers_part_and_exits_0_when_they_agree() {
    const NOT_FOUND: &[u8] =
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found";
    let a = Canned::new(OK_RESPONSE);
    let b = Canned::new(NOT_FOUND);
    let same = Canned::new(OK_RESPONSE);
    let dir = case_dir(&[("ok.case", OK_CASE)]);
    harness()
        .args(["diff", "--target", &a.target(), "--target", &b.target()])
        .arg(dir.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("differs  ok"))
        .stdout(predicate::str::contains("status A 200 B 404"))
        .stdout(predicate::str::contains("1 case: 1 differ, 0 agree"));
    harness()
        .args(["diff", "--target", &a.target(), "--target", &same.target()])
        .arg(dir.path())
        .assert()
        .success()
        .stdout(predicate::str::contains("0 differ"));
    harness()
        .args(["diff", "--target", &a.target()])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("exactly two servers"));
}
