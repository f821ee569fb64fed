//! `harness diff` with a ws.conf per server: `--ws-conf A --ws-conf B` judges each side by its
//! own file (its types for `content-type .EXT`, its methods for `requires:`), in the order of
//! the sides; one `--ws-conf` applies to both; a count that fits no side is a usage error.

mod common;

use std::path::{Path, PathBuf};

use predicates::prelude::*;

use common::{case_dir, harness_marked as harness, Canned};

/// Both servers answer the same bytes, so every difference comes from the ws.conf.
const PLAIN_PAGE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\
    Connection: close\r\n\r\nhello";
const DECLARED_TYPE: &str = "title: the declared type\ntimeout: 5s\n\n\
    send\n| GET /index.html HTTP/1.1\n| Host: {host}\n| Connection: close\n|\n\n\
    response within 2s\nstatus 200\ncontent-type .html\n";
const NEEDS_DELETE: &str = "title: DELETE is declared\nrequires: method DELETE\ntimeout: 5s\n\n\
    send\n| GET / HTTP/1.1\n| Host: {host}\n| Connection: close\n|\n\n\
    response within 2s\nstatus 200\n";

/// `plain.conf` maps .html to text/plain and supports DELETE; `html.conf` maps it to text/html
/// and does not.
fn confs() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.conf");
    std::fs::write(
        &plain,
        ".html text/plain\nKeepaliveTime 3\nRequestMethodSupport GET HEAD DELETE\n",
    )
    .unwrap();
    let html = dir.path().join("html.conf");
    std::fs::write(
        &html,
        ".html text/html\nKeepaliveTime 3\nRequestMethodSupport GET HEAD\n",
    )
    .unwrap();
    (dir, plain, html)
}

fn diff(cases: &Path, a: &Canned, b: &Canned, confs: &[&Path]) -> assert_cmd::Command {
    let mut c = harness("diff-ws-conf");
    c.arg("diff")
        .arg(cases)
        .args(["--target", &a.target(), "--target", &b.target()]);
    for conf in confs {
        c.arg("--ws-conf").arg(conf);
    }
    c
}

#[test]
fn each_side_is_judged_by_its_own_ws_conf_in_the_order_given() {
    let (a, b) = (Canned::new(PLAIN_PAGE), Canned::new(PLAIN_PAGE));
    let cases = case_dir(&[
        ("declared-type.case", DECLARED_TYPE),
        ("needs-delete.case", NEEDS_DELETE),
    ]);
    let (_keep, plain, html) = confs();

    diff(cases.path(), &a, &b, &[&plain, &html])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(format!(
            "A: {}, ws.conf: {}",
            a.target(),
            plain.display()
        )))
        .stdout(predicate::str::contains(format!(
            "B: {}, ws.conf: {}",
            b.target(),
            html.display()
        )))
        .stdout(predicate::str::contains("differs  declared-type"))
        .stdout(predicate::str::contains("verdict A pass B fail"))
        .stdout(predicate::str::contains("differs  needs-delete"))
        .stdout(predicate::str::contains("verdict A pass B skip"))
        .stdout(predicate::str::contains(format!(
            "B: requires: {} does not list DELETE",
            html.display()
        )))
        .stdout(predicate::str::contains("2 cases: 2 differ, 0 agree"));

    // The same servers, the files swapped: the verdicts swap with them.
    diff(cases.path(), &a, &b, &[&html, &plain])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("verdict A fail B pass"))
        .stdout(predicate::str::contains("verdict A skip B pass"));
}

#[test]
fn one_ws_conf_applies_to_both_sides() {
    let (a, b) = (Canned::new(PLAIN_PAGE), Canned::new(PLAIN_PAGE));
    let cases = case_dir(&[
        ("declared-type.case", DECLARED_TYPE),
        ("needs-delete.case", NEEDS_DELETE),
    ]);
    let (_keep, plain, _html) = confs();
    diff(cases.path(), &a, &b, &[&plain])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "A: {}, ws.conf: {}",
            a.target(),
            plain.display()
        )))
        .stdout(predicate::str::contains(format!(
            "B: {}, ws.conf: {}",
            b.target(),
            plain.display()
        )))
        .stdout(predicate::str::contains("2 cases: 0 differ, 2 agree"));
}

#[test]
fn a_ws_conf_count_that_fits_no_side_is_a_usage_error() {
    let (a, b) = (Canned::new(PLAIN_PAGE), Canned::new(PLAIN_PAGE));
    let cases = case_dir(&[("declared-type.case", DECLARED_TYPE)]);
    let (_keep, plain, html) = confs();

    diff(cases.path(), &a, &b, &[&plain, &html, &plain])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--ws-conf given 3 times"));

    // A --start runs with the ws.conf of its own --dir: a --ws-conf for it is refused before
    // anything is started.
    harness("diff-ws-conf")
        .arg("diff")
        .arg(cases.path())
        .args(["--target", &a.target(), "--start", "sleep 60"])
        .arg("--ws-conf")
        .arg(&plain)
        .arg("--ws-conf")
        .arg(&html)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("side B is a --start"));

    // `run` tests one server: one ws.conf.
    harness("diff-ws-conf")
        .arg("run")
        .arg(cases.path())
        .args(["--target", &a.target()])
        .arg("--ws-conf")
        .arg(&plain)
        .arg("--ws-conf")
        .arg(&html)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("only `diff` takes one per server"));
}
