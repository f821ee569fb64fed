//! A student fixes their server from the report alone: the report names the failed check
//! before any note on form, gives the case's hint, replays it with nothing but bash at the
//! real port, names the ws.conf its expectations follow, shows each case's points once, and
//! sums up a target where nothing listens in one line.

mod common;

use std::time::Duration;

use common::{closed_port, flawed_py, harness_marked, leftovers, repo_root, Canned, MARKER};

fn marker(name: &str) -> String {
    format!("student-report-{name}-{}", std::process::id())
}

/// The `hint:` line of an assignment case.
fn hint_of(case: &str) -> String {
    let text = std::fs::read_to_string(repo_root().join(case)).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("hint: "))
        .unwrap_or_else(|| panic!("{case} has no hint"))
        .to_string()
}

/// `harness run --filter errors/assignment-post` at flawed.py answering every method like GET.
fn post_answered_200(format: &str, m: &str) -> (String, String) {
    let out = harness_marked(m)
        .args([
            "run",
            "--filter",
            "errors/assignment-post",
            "--var",
            "keepalive=3",
        ])
        .args(["--format", format, "--start"])
        .arg(format!(
            "python3 {} --flaw any-method-200 --root {{root}} --conf {{config}} --port {{port}}",
            flawed_py().display()
        ))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn a_server_that_answers_post_with_200_gets_the_hint_and_the_expected_501() {
    let m = marker("post");
    let hint = hint_of("cases/assignment/errors/assignment-post.case");
    let (pretty, err) = post_answered_200("pretty", &m);
    assert!(
        pretty.contains(&format!("hint:   {hint}")),
        "{pretty}\n{err}"
    );
    assert!(pretty.contains("expected status 501, got 200"), "{pretty}");
    assert!(pretty.contains("LOST not-implemented  −10"), "{pretty}");
    assert!(
        pretty.contains("the handout asks: 501 Not Implemented for a method"),
        "{pretty}"
    );
    // Replayed with bash alone, at the port the submission's own ws.conf (the repo's) listens on.
    assert!(
        pretty.contains("replay: bash -c 'exec 3<>/dev/tcp/127.0.0.1/8888 && printf"),
        "{pretty}"
    );
    assert!(!pretty.contains("| nc "), "{pretty}");
    assert!(
        pretty.contains("expectations follow the submission's own ws.conf (./ws.conf)"),
        "{pretty}"
    );
    // The setup notes come after the results, one line each.
    let lost = pretty.find("Points lost").unwrap();
    let setup = pretty.find("\nSetup\n").expect("a setup section");
    assert!(lost < setup, "{pretty}");

    let (tap, _) = post_answered_200("tap", &m);
    let message = tap
        .lines()
        .find_map(|l| l.trim().strip_prefix("message: "))
        .unwrap_or_else(|| panic!("no message: {tap}"));
    assert!(message.contains("expected status 501, got 200"), "{tap}");
    assert!(tap.contains(&format!("  hint: \"{hint}\"")), "{tap}");
    assert_eq!(leftovers(MARKER, &m), vec![]);
}

/// A response with bare LF line ends to a POST: the form note is on the response's line, above
/// the status check's, but the failure is the status.
const POST_200_BARE_LF: &[u8] =
    b"HTTP/1.1 200 OK\nContent-Type: text/html\nContent-Length: 5\nConnection: close\n\nhello";

#[test]
fn the_failed_check_comes_before_the_notes_on_form_in_every_format() {
    let server = Canned::new(POST_200_BARE_LF);
    let m = marker("order");
    let run = |format: &str| {
        let out = harness_marked(&m)
            .args([
                "run",
                "--filter",
                "errors/assignment-post",
                "--var",
                "keepalive=3",
            ])
            .args(["--ws-conf", "ws.conf", "--format", format, "--target"])
            .arg(server.target())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let tap = run("tap");
    let message = tap
        .lines()
        .find_map(|l| l.trim().strip_prefix("message: "))
        .unwrap();
    assert!(message.contains("expected status 501, got 200"), "{tap}");
    assert!(tap.contains("bare LF"), "the note is still there: {tap}");

    let junit = run("junit");
    let doc = roxmltree::Document::parse(&junit).unwrap();
    let failure = doc
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    assert!(
        failure
            .attribute("message")
            .unwrap()
            .contains("expected status 501, got 200"),
        "{junit}"
    );

    let pretty = run("pretty");
    let status = pretty.find("expected status 501, got 200").unwrap();
    let note = pretty.find("bare LF").unwrap();
    assert!(status < note, "{pretty}");
    assert!(
        pretty.contains("expectations follow ws.conf (--ws-conf)"),
        "{pretty}"
    );

    let html = run("html");
    let status = html.find("expected status 501, got 200").unwrap();
    let note = html.find("bare LF").unwrap();
    assert!(status < note);
    assert!(html
        .contains(&hint_of("cases/assignment/errors/assignment-post.case").replace('"', "&quot;")));
}

#[test]
fn a_target_where_nothing_listens_is_one_line_then_the_summary() {
    let m = marker("unreachable");
    let out = harness_marked(&m)
        .args(["run", "--target", &format!("127.0.0.1:{}", closed_port())])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines = stdout.lines().count() + stderr.lines().count();
    assert!(lines <= 40, "{lines} lines:\n{stdout}\n{stderr}");
    assert_eq!(
        stdout.matches("nothing is listening at 127.0.0.1:").count(),
        1,
        "{stdout}"
    );
    assert!(stdout
        .lines()
        .last()
        .unwrap()
        .starts_with("summary: 0 passed"));
    // --target without --ws-conf says which ws.conf it took, and how to give another.
    assert!(stderr.contains("--target without --ws-conf"), "{stderr}");
    assert!(stderr.contains("--ws-conf PATH/ws.conf"), "{stderr}");
}

#[test]
fn check_reports_a_graded_case_without_a_hint() {
    let rules = "get handout 10 GET serves a file\n";
    let case = |hint: &str| {
        format!(
            "title: GET /\nrule: get\n{hint}\nsend\n| GET / HTTP/1.1\n|\n\nresponse within 2s\nstatus 200\n"
        )
    };
    let with = common::case_dir(&[
        ("rules.txt", rules),
        ("a.case", &case("hint: Serve the file.\n")),
    ]);
    let out = harness_marked(&marker("hint-ok"))
        .arg("check")
        .arg(with.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let without = common::case_dir(&[("rules.txt", rules), ("a.case", &case(""))]);
    let out = harness_marked(&marker("hint-missing"))
        .arg("check")
        .arg(without.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("error: ") && err.contains("a.case: no `hint:`"),
        "{err}"
    );
    // Cases no rules.txt grades may go without.
    let loose = common::case_dir(&[("a.case", &case(""))]);
    let out = harness_marked(&marker("hint-loose"))
        .arg("check")
        .arg(loose.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

#[test]
fn the_command_line_says_what_it_takes() {
    let help = |args: &[&str]| {
        let out = harness_marked(&marker("help")).args(args).output().unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let run = help(&["run", "--help"]);
    assert!(run.contains("harness run [PATHS]... --start CMD"), "{run}");
    assert!(run.contains("--target HOST:PORT"), "{run}");
    let grade = help(&["grade", "--help"]);
    assert!(
        !grade.contains("--ws-conf"),
        "grade reads each submission's own: {grade}"
    );
    let out = harness_marked(&marker("missing"))
        .args(["run", "no/such/cases", "--target", "127.0.0.1:1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("error: no/such/cases does not exist"),
        "{err}"
    );
}
