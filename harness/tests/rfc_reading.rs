//! Reading responses as RFC 9110/9112 say, and the levels of the RFC corpus, against scripted
//! servers on 127.0.0.1: 1xx interim responses skipped before the final one, the `interim`
//! step, an empty reason phrase, defects naming their RFC section, `level: should` as a
//! warning and `level: may` as information. Each rule is shown both met and missed. Cases are
//! written as `.case` text and parsed, as a user would write them.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use harness::case::{parse_case, Case, Vars};
use harness::exec::{run_case, RunOptions, Target};
use harness::outcome::{CaseResult, Verdict};

/// A server that accepts one connection (within 10s), reads one request head (within 5s),
/// writes `answer`, then waits for the client to close (at most 5s); an empty `answer` closes
/// at once instead.
fn answering(answer: &'static [u8]) -> (u16, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        listener.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut s = loop {
            match listener.accept() {
                Ok((s, _)) => break s,
                Err(e) if e.kind() == ErrorKind::WouldBlock && Instant::now() < deadline => {
                    thread::sleep(Duration::from_millis(5))
                }
                Err(_) => return,
            }
        };
        s.set_nonblocking(false).unwrap();
        read_head(&mut s);
        if answer.is_empty() {
            return;
        }
        let _ = s.write_all(answer);
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut b = [0u8; 1024];
        while matches!(s.read(&mut b), Ok(n) if n > 0) {}
    });
    (port, handle)
}

fn read_head(s: &mut TcpStream) {
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut got = Vec::new();
    let mut b = [0u8; 1024];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut b) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&b[..n]),
        }
    }
}

fn opts(port: u16, strict: bool) -> RunOptions {
    let mut vars = Vars::new();
    vars.insert("host".into(), "127.0.0.1".into());
    vars.insert("port".into(), port.to_string());
    vars.insert("keepalive".into(), "1".into());
    RunOptions {
        target: Target {
            host: "127.0.0.1".into(),
            port,
        },
        vars,
        www: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests"),
        strict,
        lenient: false,
        declared: Default::default(),
        jobs: 1,
        max_response_bytes: 1 << 20,
        connect_timeout: Duration::from_secs(3),
    }
}

fn parse(src: &str) -> Case {
    parse_case(src, Path::new("t.case"), "t").unwrap_or_else(|d| panic!("{d:?}"))
}

/// Runs `body` (the steps of a case, after a title and `level`) at a server answering `answer`.
fn run(level: &str, steps: &str, answer: &'static [u8], strict: bool) -> CaseResult {
    let c = parse(&format!("title: t\nlevel: {level}\ntimeout: 5s\n\n{steps}"));
    let (port, server) = answering(answer);
    let r = run_case(&c, &opts(port, strict));
    server.join().unwrap();
    r
}

#[track_caller]
fn expect(r: &CaseResult, verdict: Verdict, needle: &str) {
    assert_eq!(
        r.verdict,
        verdict,
        "{:#?}\n{}",
        r.messages,
        r.transcript.to_text()
    );
    assert!(
        r.messages.iter().any(|m| m.contains(needle)) || needle.is_empty(),
        "no message contains {needle:?}: {:#?}",
        r.messages
    );
}

const GET: &str = "send\n| GET / HTTP/1.1\n| Host: {host}\n|\n\n";
const CONTINUE_THEN_OK: &[u8] =
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";

#[test]
fn interim_responses_are_skipped_before_the_final_one_and_kept_in_the_transcript() {
    let r = run(
        "must",
        &format!("{GET}response within 2s\nstatus 200\nbody is raw\n| hi\n"),
        CONTINUE_THEN_OK,
        false,
    );
    expect(&r, Verdict::Pass, "");
    let t = r.transcript.to_text();
    assert!(
        t.contains("interim response \"HTTP/1.1 100 Continue\" skipped"),
        "{t}"
    );
    assert!(
        t.contains("interim response \"HTTP/1.1 103 Early Hints\" skipped"),
        "{t}"
    );
}

#[test]
fn a_status_check_listing_a_1xx_code_sees_the_interim_response() {
    let r = run(
        "must",
        &format!("{GET}response within 2s\nstatus 100\n"),
        CONTINUE_THEN_OK,
        false,
    );
    expect(&r, Verdict::Pass, "");
    let r = run(
        "must",
        &format!("{GET}response within 2s\nstatus 101\n"),
        CONTINUE_THEN_OK,
        false,
    );
    expect(&r, Verdict::Fail, "expected status 101, got 100");
}

#[test]
fn the_interim_step_passes_on_a_1xx_and_fails_on_a_final_response() {
    let steps =
        format!("{GET}interim 100 within 2s\ninterim within 2s\nresponse within 2s\nstatus 200\n");
    expect(
        &run("must", &steps, CONTINUE_THEN_OK, false),
        Verdict::Pass,
        "",
    );
    let r = run("must", &format!("{GET}interim 100 within 2s\n"), OK, false);
    expect(
        &r,
        Verdict::Fail,
        "line 10: expected interim 100, got the final response 200 (\"HTTP/1.1 200 OK\")",
    );
    let r = run(
        "must",
        &format!("{GET}interim 103 within 2s\n"),
        CONTINUE_THEN_OK,
        false,
    );
    expect(
        &r,
        Verdict::Fail,
        "expected interim 103, got the interim response 100",
    );
}

#[test]
fn the_interim_step_fails_when_nothing_arrives_in_time() {
    let r = run(
        "must",
        "send\n| GET / HTTP/1.1\\\ninterim 100 within 300ms\n",
        OK,
        false,
    );
    expect(
        &r,
        Verdict::Fail,
        "expected interim 100 within 300ms: nothing arrived",
    );
}

#[test]
fn an_empty_reason_phrase_is_valid_but_a_missing_space_is_a_defect_naming_rfc_9112_4() {
    let steps = format!("{GET}response within 2s\nstatus 200\n");
    // Valid by RFC 9112 §4, so no defect where the RFCs alone judge (`rfc` cases)...
    expect(
        &run_tagged("rfc", &steps, b"HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n"),
        Verdict::Pass,
        "",
    );
    // ...but the assignment asks for a reason phrase: elsewhere a `reason` form defect.
    expect(
        &run(
            "must",
            &steps,
            b"HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n",
            false,
        ),
        Verdict::NonStrict,
        "no reason phrase (form: reason)",
    );
    let r = run(
        "must",
        &steps,
        b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
        false,
    );
    expect(
        &r,
        Verdict::NonStrict,
        "no space after the status code (RFC 9112 §4",
    );
}

#[test]
fn form_defects_of_interim_responses_count_too() {
    let r = run(
        "must",
        &format!("{GET}response within 2s\nstatus 200\n"),
        b"HTTP/1.1 100 Continue\n\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        false,
    );
    expect(&r, Verdict::NonStrict, "bare LF line ends (RFC 9112 §2.2");
}

#[test]
fn a_missed_should_is_a_warning_and_fails_under_strict() {
    let steps = format!("{GET}response within 2s\nstatus 404\n");
    let r = run("should", &steps, OK, false);
    expect(
        &r,
        Verdict::NonStrict,
        "level should: a missed SHOULD is a warning",
    );
    assert!(r
        .messages
        .iter()
        .any(|m| m.contains("expected status 404, got 200")));
    assert_eq!(r.points, 0.0);
    let r = run("should", &steps, OK, true);
    expect(&r, Verdict::Fail, "expected status 404, got 200");
    let met = run(
        "should",
        &format!("{GET}response within 2s\nstatus 200\n"),
        OK,
        false,
    );
    expect(&met, Verdict::Pass, "");
}

#[test]
fn a_may_case_is_informational_never_a_failure() {
    let r = run(
        "may",
        &format!("{GET}response within 2s\nstatus 404\n"),
        OK,
        true,
    );
    expect(&r, Verdict::Skip, "level may: informational");
    assert!(r
        .messages
        .iter()
        .any(|m| m.contains("expected status 404, got 200")));
    let met = run(
        "may",
        &format!("{GET}response within 2s\nstatus 200\n"),
        OK,
        false,
    );
    expect(&met, Verdict::Pass, "");
    assert_eq!(met.points, 1.0);
}

#[test]
fn interim_and_may_are_checked_at_file_line_col() {
    let bad = parse_case(
        "title: t\nlevel: maybe\n\nsend\n| x\ninterim 200\ninterim within\n",
        Path::new("x.case"),
        "x",
    )
    .unwrap_err();
    let text: Vec<String> = bad.iter().map(|d| d.to_string()).collect();
    let all = text.join("\n");
    assert!(all.contains("x.case:2:8"), "{all}");
    assert!(
        all.contains("expected `must`, `should` or `may`, found `maybe`"),
        "{all}"
    );
    assert!(all.contains("x.case:6:9"), "{all}");
    assert!(
        all.contains("expected an interim (1xx) status code or `within`, found `200`"),
        "{all}"
    );
    assert!(all.contains("x.case:7:"), "{all}");
    let ok = parse("title: t\nlevel: may\n\nsend\n| x\ninterim @b 100 103 within 1s\n");
    assert_eq!(ok.level.as_str(), "may");
}

#[test]
fn or_closed_accepts_a_close_instead_of_an_answer_and_nothing_else() {
    let steps = format!("{GET}response within 2s\nstatus 400\nor closed\n");
    let r = run("must", &steps, b"", false);
    expect(&r, Verdict::Pass, "");
    assert!(r
        .transcript
        .to_text()
        .contains("closed without a response, which line 10 allows"));
    // An answer must still meet the checks.
    expect(
        &run("must", &steps, OK, false),
        Verdict::Fail,
        "expected status 400, got 200",
    );
    // Without `or closed`, a close is a failure.
    let r = run(
        "must",
        &format!("{GET}response within 2s\nstatus 400\n"),
        b"",
        false,
    );
    expect(
        &r,
        Verdict::Fail,
        "no response: the server closed the connection",
    );
    // Silence is not a close.
    let r = run(
        "must",
        "send\n| GET / HTTP/1.1\\\nresponse within 300ms\nor closed\n",
        OK,
        false,
    );
    expect(&r, Verdict::Fail, "no complete response within 300ms");
}

#[test]
fn the_version_check_compares_the_status_line_version() {
    let steps = format!("{GET}response within 2s\nversion \"HTTP/1.1\"\n");
    expect(&run("must", &steps, OK, false), Verdict::Pass, "");
    let r = run(
        "must",
        &steps,
        b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
        false,
    );
    expect(
        &r,
        Verdict::Fail,
        "expected version \"HTTP/1.1\", got \"HTTP/1.0\"",
    );
}

/// Like `run`, with `tags:` in the case.
fn run_tagged(tags: &str, steps: &str, answer: &'static [u8]) -> CaseResult {
    let c = parse(&format!("title: t\ntags: {tags}\ntimeout: 5s\n\n{steps}"));
    let (port, server) = answering(answer);
    let r = run_case(&c, &opts(port, false));
    server.join().unwrap();
    r
}

#[test]
fn rfc_cases_are_judged_by_the_rfcs_alone() {
    // A close-delimited body: valid HTTP/1.1, a defect only for the assignment. The scripted
    // server closes once the client does, so the case half-closes first.
    const CLOSE_DELIMITED: &[u8] = b"HTTP/1.1 200 OK\r\n\r\nhi";
    let steps = format!("{GET}shutdown\n\nresponse within 2s\nstatus 200\n");
    expect(
        &run_tagged("rfc", &steps, CLOSE_DELIMITED),
        Verdict::Pass,
        "",
    );
    let r = run_tagged("keepalive", &steps, CLOSE_DELIMITED);
    expect(
        &r,
        Verdict::NonStrict,
        "no Content-Length (and no Connection: close): body read until close",
    );
    // Announced with `Connection: close`, the close-delimited body is no defect anywhere.
    const ANNOUNCED: &[u8] = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhi";
    expect(
        &run_tagged("keepalive", &steps, ANNOUNCED),
        Verdict::Pass,
        "",
    );
    // Content after a HEAD response breaks a MUST NOT: a failure in an rfc case.
    const HEAD_WITH_BODY: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
    let head = "send\n| HEAD / HTTP/1.1\n| Host: {host}\n|\n\nresponse within 2s\nstatus 200\n\nsleep 300ms\n";
    let r = run_tagged("rfc", head, HEAD_WITH_BODY);
    expect(
        &r,
        Verdict::Fail,
        "after a response that has no body (RFC 9110 §9.3.2",
    );
    let r = run_tagged("head", head, HEAD_WITH_BODY);
    expect(&r, Verdict::NonStrict, "after a response that has no body");
}
