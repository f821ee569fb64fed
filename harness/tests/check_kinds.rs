//! Every check and step directive of `cases/README.md`, both ways: a case that meets it and one
//! that misses it, run at a tiny canned server on 127.0.0.1, with the verdict and the exact
//! message asserted. A check that always passed, or failed with a vaguer message, fails here.
//! Also each form rule (non-strict, or failed under `form RULE`), interim (1xx) responses,
//! `or closed`, the levels `must` / `should` / `may` with and without `--strict`, and every
//! kind of `requires:`.
//!
//! The cases are written as `.case` text and parsed, so the parser and the runner are tested
//! together, as a user meets them.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use harness::case::parse_case;
use harness::declared::Declared;
use harness::exec::{run_case, RunOptions, Target};
use harness::outcome::Verdict::{self, Fail, NonStrict, Pass, Skip};

/// What the canned server does after it answers a request.
#[derive(Clone, Copy)]
enum Then {
    /// Waits for the next request on the connection (answering it the same way).
    Hold,
    /// Closes the connection at once.
    Close,
    /// Closes it after this long.
    CloseAfter(Duration),
}

/// A server that answers every request head on every connection with the same bytes. Stops and
/// joins its threads when dropped; every wait in it is bounded.
struct Canned {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Canned {
    fn new(answer: &[u8], then: Then) -> Canned {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let answer = answer.to_vec();
        let thread = thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(20);
            let mut conns = Vec::new();
            while !flag.load(Ordering::Relaxed) && Instant::now() < deadline {
                match listener.accept() {
                    Ok((s, _)) => {
                        let answer = answer.clone();
                        let flag = Arc::clone(&flag);
                        conns.push(thread::spawn(move || serve(s, &answer, then, &flag)));
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        thread::sleep(Duration::from_millis(5))
                    }
                    Err(_) => break,
                }
            }
            for c in conns {
                let _ = c.join();
            }
        });
        Canned {
            port,
            stop,
            thread: Some(thread),
        }
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

/// Answers each request head on `s` with `answer` (a head ends at a blank line, CRLF or LF, or
/// when the client half-closes), then does `then`.
fn serve(mut s: TcpStream, answer: &[u8], then: Then, stop: &AtomicBool) {
    s.set_nonblocking(false).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
        let (eof, n) = match s.read(&mut chunk) {
            Ok(0) => (true, 0),
            Ok(n) => (false, n),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(_) => return,
        };
        buf.extend_from_slice(&chunk[..n]);
        let end = find(&buf, b"\r\n\r\n")
            .map(|i| i + 4)
            .or_else(|| find(&buf, b"\n\n").map(|i| i + 2));
        let end = match (end, eof) {
            (Some(e), _) => e,
            (None, true) if !buf.is_empty() => buf.len(),
            (None, true) => return,
            (None, false) => continue,
        };
        buf.drain(..end);
        if s.write_all(answer).is_err() {
            return;
        }
        match then {
            Then::Hold if !eof => {}
            Then::Hold | Then::Close => return,
            Then::CloseAfter(d) => {
                thread::sleep(d);
                return;
            }
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The site `body file` reads: `f.txt` is "hello", `g.txt` is "other".
fn www() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f.txt"), "hello").unwrap();
    std::fs::write(dir.path().join("g.txt"), "other").unwrap();
    dir
}

const WS_CONF: &str = "DocumentRoot /www\nDirectoryIndex index.html\n.html text/html\n\
                       .txt text/plain\n.jpg image/jpg\nRequestMethodSupport GET\n";

fn options(port: u16, www: &Path, strict: bool) -> RunOptions {
    let mut vars = std::collections::BTreeMap::new();
    vars.insert("host".to_string(), "127.0.0.1".to_string());
    vars.insert("port".to_string(), port.to_string());
    vars.insert("keepalive".to_string(), "3".to_string());
    RunOptions {
        target: Target {
            host: "127.0.0.1".into(),
            port,
        },
        vars,
        www: www.to_path_buf(),
        strict,
        lenient: true,
        declared: Declared::parse(WS_CONF, "the test ws.conf"),
        jobs: 1,
        max_response_bytes: 1 << 20,
        connect_timeout: Duration::from_secs(2),
    }
}

/// A GET of `/` on `@main`, its response read within 2s, and `checks` on it.
fn get_then(checks: &str) -> String {
    format!("send\n| GET / HTTP/1.1\n| Host: {{host}}\n|\n\nresponse within 2s\n{checks}\n")
}

/// What a run gave: the verdict, the messages (one a line, the site's path written `{www}`),
/// and how long the case took.
struct Ran {
    verdict: Verdict,
    messages: String,
    took: Duration,
}

/// Runs a case (`meta` lines, then `steps`) at a server answering `answer`; `timeout: 8s`
/// unless `meta` says otherwise.
fn run_full(answer: &[u8], then: Then, meta: &str, steps: &str, strict: bool) -> Ran {
    let server = Canned::new(answer, then);
    let www = www();
    let timeout = if meta.contains("timeout:") {
        ""
    } else {
        "timeout: 8s\n"
    };
    let src = format!("title: a check, both ways\n{timeout}{meta}\n{steps}");
    let case = parse_case(&src, Path::new("kinds.case"), "kinds")
        .unwrap_or_else(|e| panic!("the case does not parse: {e:?}\n{src}"));
    let r = run_case(&case, &options(server.port, www.path(), strict));
    drop(server);
    let messages = r
        .messages
        .join("\n")
        .replace(&www.path().display().to_string(), "{www}");
    Ran {
        verdict: r.verdict,
        messages,
        took: r.duration,
    }
}

fn run_at(answer: &[u8], then: Then, meta: &str, steps: &str) -> (Verdict, String) {
    let r = run_full(answer, then, meta, steps, false);
    (r.verdict, r.messages)
}

/// Asserts a run's verdict and messages, exactly.
#[track_caller]
fn assert_ran(got: (Verdict, String), verdict: Verdict, messages: &str) {
    let (text, want) = (elapsed_free(&got.1), elapsed_free(messages));
    assert_eq!((got.0, text.as_str()), (verdict, want.as_str()));
}

/// A message with its measured times (`closed (FIN) after 3ms`) written `after T`, so that it
/// can be compared exactly on a loaded machine.
fn elapsed_free(m: &str) -> String {
    let re = regex::Regex::new(r"after [0-9.]+m?s").unwrap();
    re.replace_all(m, "after T").into_owned()
}

/// Runs `get_then(checks)` at `answer` (the connection then held) and asserts the verdict and
/// the messages, exactly.
#[track_caller]
fn expect(answer: &[u8], checks: &str, verdict: Verdict, messages: &str) {
    let (v, m) = run_at(answer, Then::Hold, "", &get_then(checks));
    assert_eq!(
        (v, m.as_str()),
        (verdict, messages),
        "checks:\n{checks}\nanswer: {:?}",
        String::from_utf8_lossy(answer)
    );
}

const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n\
Content-Length: 5\r\nConnection: keep-alive\r\n\r\nhello";
const FINE: &[u8] = b"HTTP/1.1 200 Fine\r\nContent-Length: 5\r\n\r\nhello";
const NOT_FOUND: &[u8] = b"HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nnop";

#[test]
fn status() {
    expect(OK, "status 200", Pass, "");
    expect(OK, "status 404 200", Pass, "");
    expect(
        NOT_FOUND,
        "status 200",
        Fail,
        "line 10: expected status 200, got 404 (\"HTTP/1.1 404 Not Found\")",
    );
    expect(
        NOT_FOUND,
        "status 200 301",
        Fail,
        "line 10: expected status 200 or 301, got 404 (\"HTTP/1.1 404 Not Found\")",
    );
}

#[test]
fn status_line() {
    expect(OK, "status-line \"HTTP/1.1 200 OK\"", Pass, "");
    expect(
        FINE,
        "status-line \"HTTP/1.1 200 OK\"",
        Fail,
        "line 10: expected status line \"HTTP/1.1 200 OK\", got \"HTTP/1.1 200 Fine\"",
    );
}

#[test]
fn reason() {
    expect(OK, "reason \"ok\"", Pass, "");
    expect(
        FINE,
        "reason \"OK\"",
        Fail,
        "line 10: expected reason \"OK\", got \"Fine\" (\"HTTP/1.1 200 Fine\")",
    );
}

#[test]
fn header_present() {
    expect(OK, "header content-type", Pass, "");
    expect(
        OK,
        "header X-Nope",
        Fail,
        "line 10: expected header X-Nope, but there is none",
    );
}

#[test]
fn header_value() {
    expect(OK, "header Connection: keep-alive", Pass, "");
    expect(
        OK,
        "header Connection: close",
        Fail,
        "line 10: expected header Connection: close, got \"keep-alive\"",
    );
    expect(
        FINE,
        "header Connection: close",
        Fail,
        "line 10: expected header Connection: close, there is none",
    );
}

#[test]
fn header_contains() {
    expect(OK, "header Content-Type contains \"TEXT/plain\"", Pass, "");
    expect(OK, "header Content-Type contains \"html\"", Fail, "line 10: expected header Content-Type to contain \"html\" (case-insensitive), got \"text/plain; charset=utf-8\"");
}

#[test]
fn header_matches() {
    expect(
        OK,
        "header Content-Type matches \"^text/\\\\w+;\"",
        Pass,
        "",
    );
    expect(OK, "header Content-Type matches \"^image/\"", Fail, "line 10: expected header Content-Type to match /^image//, got \"text/plain; charset=utf-8\"");
    expect(
        FINE,
        "header Content-Type matches \"^image/\"",
        Fail,
        "line 10: expected header Content-Type to match /^image//, there is none",
    );
}

#[test]
fn no_header() {
    expect(OK, "no header X-Nope", Pass, "");
    expect(
        OK,
        "no header content-type",
        Fail,
        "line 10: expected no header content-type, got content-type: \"text/plain; charset=utf-8\"",
    );
}

#[test]
fn body_is() {
    expect(OK, "body is raw\n| hello", Pass, "");
    expect(OK, "body is raw\n| hellO", Fail, "line 10: body differs from the expected body (5 bytes expected, 5 bytes got); first difference at offset 4: expected \"hellO\", got \"hello\"");
    expect(OK, "body is\n| hello\\", Pass, "");
    expect(OK, "body is\n| hello", Fail, "line 10: body differs from the expected body (7 bytes expected, 5 bytes got); first difference at offset 5: expected \"hello\\r\\n\", got \"hello\"");
}

#[test]
fn body_is_empty() {
    let empty = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    expect(empty, "body is empty", Pass, "");
    expect(
        OK,
        "body is empty",
        Fail,
        "line 10: expected an empty body, got 5 bytes: \"hello\"",
    );
}

#[test]
fn body_contains() {
    expect(OK, "body contains \"ELL\"", Pass, "");
    expect(OK, "body contains \"bye\"", Fail, "line 10: expected the body to contain \"bye\" (case-insensitive); it does not (5 bytes: \"hello\")");
}

#[test]
fn body_matches() {
    expect(OK, "body matches \"^hel+o$\"", Pass, "");
    expect(
        OK,
        "body matches \"^HELLO\"",
        Fail,
        "line 10: expected the body to match /^HELLO/; it does not (5 bytes: \"hello\")",
    );
    expect(OK, "body matches \"(?i)^HELLO\"", Pass, "");
}

#[test]
fn body_file() {
    expect(OK, "body file f.txt", Pass, "");
    expect(OK, "body file g.txt", Fail, "line 10: body differs from {www}/g.txt (5 bytes expected, 5 bytes got); first difference at offset 0: expected \"other\", got \"hello\"");
}

#[test]
fn content_length() {
    expect(OK, "content-length", Pass, "");
    let closed = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello";
    let (v, m) = run_at(closed, Then::Close, "", &get_then("content-length"));
    assert_eq!(
        (v, m.as_str()),
        (
            Fail,
            "line 10: expected a Content-Length header, but there is none"
        )
    );
    // Fewer bytes than it says, then the close: judged on what arrived. The failed check
    // comes first, the note of form after it.
    let short = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello";
    let (v, m) = run_at(short, Then::Close, "", &get_then("content-length"));
    assert_ran(
        (v, m),
        Fail,
        "line 10: Content-Length says 10 but the body has 5 bytes\n\
         line 9: Content-Length 10 but only 5 bytes arrived before close (RFC 9112 §6.3: fewer \
         bytes than Content-Length is an incomplete message) (form: content-length)",
    );
    // A response to HEAD has no body: the number is all that is checked.
    let head = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
    let steps = format!("{HEAD_REQ}content-length\n");
    assert_ran(run_at(head, Then::Hold, "", &steps), Pass, "");
}

#[test]
fn content_type() {
    expect(OK, "content-type .txt", Pass, "");
    expect(OK, "content-type .jpg", Fail, "line 10: expected Content-Type image/jpg (what ws.conf maps .jpg to), got \"text/plain; charset=utf-8\"");
    let jpg = b"HTTP/1.1 200 OK\r\nContent-Type: image/jpg\r\nContent-Length: 0\r\n\r\n";
    expect(jpg, "content-type .jpg", Pass, "");
}

#[test]
fn no_body_contains() {
    expect(OK, "no body contains \"bye\"", Pass, "");
    expect(OK, "no body contains \"ELL\"", Fail, "line 10: expected the body not to contain \"ELL\" (case-insensitive), but it does (5 bytes: \"hello\")");
}

#[test]
fn non_strict_prefix() {
    expect(OK, "non-strict body contains \"ell\"", Pass, "");
    expect(OK, "non-strict body contains \"bye\"", NonStrict, "line 10: expected the body to contain \"bye\" (case-insensitive); it does not (5 bytes: \"hello\")");
    expect(
        OK,
        "non-strict status 404\nstatus 200",
        NonStrict,
        "line 10: expected status 404, got 200 (\"HTTP/1.1 200 OK\")",
    );
}

// The form of a response: each rule's defect makes a case non-strict, fails it under
// `form RULE`, and a clean response passes `form RULE`.

const HEAD_REQ: &str = "send\n| HEAD / HTTP/1.1\n| Host: {host}\n|\n\nresponse within 2s\n";

/// (rule, a response with a defect of that rule, the request's method).
const DEFECTS: &[(&str, &[u8], &str)] = &[
    ("line-ends", b"HTTP/1.1 200 OK\nContent-Length: 5\n\nhello", "GET"),
    ("reason", b"HTTP/1.1 200 \r\nContent-Length: 5\r\n\r\nhello", "GET"),
    ("status-line", b"HTTP/1.1 200\r\nContent-Length: 5\r\n\r\nhello", "GET"),
    ("content-length", b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nhello", "GET"),
    ("extra-bytes", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello\0\0\0\0", "GET"),
    ("version", b"HTTP/2.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", "GET"),
    ("fields", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nno colon here\r\n\r\nhello", "GET"),
    (
        "framing",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "GET",
    ),
    ("no-body", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", "HEAD"),
];

fn form_run(answer: &[u8], method: &str, checks: &str) -> (Verdict, String) {
    let steps = if method == "HEAD" {
        format!("{HEAD_REQ}{checks}\nno response for 300ms\n")
    } else {
        format!("{}no response for 300ms\n", get_then(checks))
    };
    run_at(answer, Then::Hold, "", &steps)
}

#[test]
fn form_rules_both_ways() {
    // What each defect says, before `(form: RULE)`: the fault, and the RFC words it breaks.
    let expected: &[(&str, &str)] = &[
        (
            "line-ends",
            "head uses bare LF line ends (RFC 9112 §2.2: a sender generates CRLF line ends)",
        ),
        ("reason", "no reason phrase"),
        (
            "status-line",
            "no space after the status code (RFC 9112 §4: status-line = \
             HTTP-version SP status-code SP [ reason-phrase ])",
        ),
        (
            "content-length",
            "Content-Length 3 but 2 more bytes (text: \"lo\") followed the body (RFC 9110 §8.6: \
             Content-Length is the length of the content)",
        ),
        (
            "extra-bytes",
            "4 extra bytes (NUL) after the body (RFC 9112 §6.3: the body ends where its framing \
             says)",
        ),
        (
            "version",
            "version HTTP/2.1 is not HTTP/1.0 or HTTP/1.1 (RFC 9110 §2.5: a server sends HTTP/1.x \
             with the major version it was asked in)",
        ),
        (
            "fields",
            "header line without a colon: \"no colon here\" (RFC 9112 §5: field-line = \
             field-name \":\" OWS field-value OWS)",
        ),
        (
            "framing",
            "both Transfer-Encoding: chunked and Content-Length (RFC 9112 §6.2: a sender MUST NOT \
             send Content-Length in a message with Transfer-Encoding)",
        ),
        (
            "no-body",
            "5 bytes (text: \"hello\") after a response that has no body (RFC 9110 §9.3.2 and \
             §15: HEAD, 1xx, 204 and 304 responses have no content)",
        ),
    ];
    assert_eq!(expected.len(), DEFECTS.len());
    for ((rule, answer, method), (rule2, message)) in DEFECTS.iter().zip(expected) {
        assert_eq!(rule, rule2);
        // Not graded here: the rule held, the form did not.
        let plain = format!("line 9: {message} (form: {rule})");
        assert_ran(form_run(answer, method, "status 200"), NonStrict, &plain);
        // Graded here: the same defect fails the case, and the message says why.
        let graded = format!("line 9: {message} (form: {rule}, the rule this case grades)");
        let checks = format!("status 200\nform {rule}");
        assert_ran(form_run(answer, method, &checks), Fail, &graded);
        // A clean response meets the rule.
        let clean: &[u8] = if *method == "HEAD" {
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
        } else {
            OK
        };
        assert_ran(
            form_run(clean, method, &format!("status 200\nform {rule}")),
            Pass,
            "",
        );
    }
}

#[test]
fn form_grades_only_the_rules_it_names() {
    let (_, no_space, _) = DEFECTS[2];
    assert_ran(
        form_run(
            no_space,
            "GET",
            "status 200\nform line-ends content-length reason",
        ),
        NonStrict,
        "line 9: no space after the status code (RFC 9112 §4: \
         status-line = HTTP-version SP status-code SP [ reason-phrase ]) (form: status-line)",
    );
    assert_ran(
        form_run(no_space, "GET", "status 200\nform line-ends status-line"),
        Fail,
        "line 9: no space after the status code (RFC 9112 §4: \
         status-line = HTTP-version SP status-code SP [ reason-phrase ]) (form: status-line, \
         the rule this case grades)",
    );
}

// Steps.

#[test]
fn no_response_for() {
    let steps = format!("{}no response for 300ms\n", get_then("status 200"));
    assert_ran(run_at(OK, Then::Hold, "", &steps), Pass, "");
    let twice = [OK, OK].concat();
    assert_ran(run_at(&twice, Then::Hold, "", &steps), Fail, "line 11: expected no response for 300ms, but 108 bytes arrived before this step: \"HTTP/1.1 200 OK\\r\\nContent-Type: text/plain; charset=utf-8\\r\\nContent-Length: 5\\r\\nConnection: keep-alive\\r\\n\\r\\nhello\"");
}

#[test]
fn closed_within() {
    let steps = format!("{}closed within 1s\n", get_then("status 200"));
    assert_ran(run_at(OK, Then::Close, "", &steps), Pass, "");
    assert_ran(
        run_at(OK, Then::Hold, "", &steps),
        Fail,
        "line 11: still open after 1s, expected closed within 1s",
    );
}

#[test]
fn closed_after_within() {
    // A close 2 s after the answer is 1 s clear of each end of the window; a close at once is
    // 1 s clear of its start.
    let steps = format!("{}closed after 1s within 4s\n", get_then("status 200"));
    let later = Then::CloseAfter(Duration::from_secs(2));
    assert_ran(run_at(OK, later, "", &steps), Pass, "");
    assert_ran(
        run_at(OK, Then::Close, "", &steps),
        Fail,
        "line 11: closed (FIN) after 0ms, expected no sooner than 1s",
    );
}

#[test]
fn open_for() {
    // 1 s: a close at once is 1 s clear of it.
    let steps = format!("{}open for 1s\n", get_then("status 200"));
    assert_ran(run_at(OK, Then::Hold, "", &steps), Pass, "");
    assert_ran(
        run_at(OK, Then::Close, "", &steps),
        Fail,
        "line 11: closed by server (FIN) after 0ms, expected open for 1s",
    );
    let own = format!(
        "{}open for 300ms\n| GET /own-probe HTTP/1.1\n| Host: {{host}}\n|\n",
        get_then("status 200")
    );
    assert_ran(run_at(OK, Then::Hold, "", &own), Pass, "");
}

#[test]
fn response_within() {
    // The answer comes at once: 1 s clear of the window's end.
    let steps = get_then("status 200").replace("within 2s", "within 1s");
    assert_ran(run_at(OK, Then::Hold, "", &steps), Pass, "");
    assert_ran(
        run_at(b"", Then::Hold, "", &steps),
        Fail,
        "line 9: no complete response within 1s: nothing arrived",
    );
}

#[test]
fn case_timeout() {
    let steps = "send\n| GET / HTTP/1.1\n| Host: {host}\n|\n\nresponse\nstatus 200\n";
    // A 2 s timeout: 2 s clear of an answer at once; the failing run must end before 5 s (a
    // runner ignoring the timeout would wait for the canned server to give up, at 10 s).
    assert_ran(run_at(OK, Then::Hold, "timeout: 2s", steps), Pass, "");
    let r = run_full(b"", Then::Hold, "timeout: 2s", steps, false);
    assert!(
        r.took < Duration::from_secs(5),
        "the case's timeout bounds it: {:?}",
        r.took
    );
    assert_ran(
        (r.verdict, r.messages),
        Fail,
        "case timed out after 2s during `response` at line 8: nothing arrived",
    );
}

#[test]
fn send_split_and_delay() {
    // 38 bytes in pieces of 8, 150ms apart: 4 pauses, so at least 600ms.
    let steps = "send split=8 delay=150ms\n| GET / HTTP/1.1\n| Host: {host}\n|\n\nresponse within 3s\nstatus 200\n";
    let r = run_full(OK, Then::Hold, "", steps, false);
    assert_eq!((r.verdict, r.messages.as_str()), (Pass, ""));
    assert!(
        r.took >= Duration::from_millis(600),
        "split sends pause: {:?}",
        r.took
    );
}

#[test]
fn sleep_waits() {
    let steps = format!("sleep 700ms\n\n{}", get_then("status 200"));
    let r = run_full(OK, Then::Hold, "", &steps, false);
    assert_eq!((r.verdict, r.messages.as_str()), (Pass, ""));
    assert!(r.took >= Duration::from_millis(700), "{:?}", r.took);
}

#[test]
fn shutdown_half_closes() {
    // Half a head: the canned server answers only when it reads the end of the stream.
    let half = "send\n| GET / HTTP/1.1\\\n\n";
    let with = format!("{half}shutdown\n\nresponse within 2s\nstatus 200\n");
    assert_ran(run_at(OK, Then::Hold, "", &with), Pass, "");
    let without = format!("{half}response within 1s\nstatus 200\n");
    assert_ran(
        run_at(OK, Then::Hold, "", &without),
        Fail,
        "line 7: no complete response within 1s: nothing arrived",
    );
}

#[test]
fn connect_fails_when_nothing_listens() {
    let steps = "connect @a\n";
    assert_ran(run_at(OK, Then::Hold, "", steps), Pass, "");
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let www = www();
    let case = parse_case(
        "title: t\ntimeout: 5s\n\nconnect @a\n",
        Path::new("kinds.case"),
        "kinds",
    )
    .unwrap();
    let r = run_case(&case, &options(port, www.path(), false));
    let m = r.messages.join("\n").replace(&port.to_string(), "PORT");
    assert_ran(
        (r.verdict, m),
        Verdict::Error,
        "could not connect to 127.0.0.1:PORT: connection refused",
    );
}

// Metadata that decides whether a case runs.

#[test]
fn levels_decide_what_a_miss_costs() {
    let steps = get_then("status 200");
    let level = |level: &str, answer: &[u8], strict: bool| {
        let r = run_full(
            answer,
            Then::Hold,
            &format!("level: {level}"),
            &steps,
            strict,
        );
        (r.verdict, r.messages)
    };
    let missed = "line 10: expected status 200, got 404 (\"HTTP/1.1 404 Not Found\")";
    // must: a miss fails, with or without --strict.
    assert_ran(level("must", OK, false), Pass, "");
    assert_ran(level("must", NOT_FOUND, false), Fail, missed);
    // should: a miss is a warning (non-strict), a failure with --strict.
    assert_ran(level("should", OK, false), Pass, "");
    assert_ran(level("should", OK, true), Pass, "");
    assert_ran(level("should", NOT_FOUND, false), NonStrict, "level should: a missed SHOULD is a warning (non-strict); --strict makes it a failure\nline 10: expected status 200, got 404 (\"HTTP/1.1 404 Not Found\")");
    assert_ran(
        level("should", NOT_FOUND, true),
        Fail,
        "line 10: expected status 200, got 404 (\"HTTP/1.1 404 Not Found\")",
    );
    // may: a miss is informational (skip), never a failure.
    assert_ran(level("may", OK, false), Pass, "");
    assert_ran(level("may", NOT_FOUND, false), Skip, "level may: informational, never a failure; the server did something else the RFC allows:\nline 10: expected status 200, got 404 (\"HTTP/1.1 404 Not Found\")");
    assert_ran(level("may", NOT_FOUND, true), Skip, "level may: informational, never a failure; the server did something else the RFC allows:\nline 10: expected status 200, got 404 (\"HTTP/1.1 404 Not Found\")");
}

#[test]
fn version_check() {
    expect(OK, "version \"HTTP/1.1\"", Pass, "");
    let ten = b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello";
    let (v, m) = run_at(ten, Then::Hold, "", &get_then("version \"HTTP/1.1\""));
    assert_ran(
        (v, m),
        Fail,
        "line 10: expected version \"HTTP/1.1\", got \"HTTP/1.0\" (\"HTTP/1.0 200 OK\")",
    );
}

#[test]
fn empty_reason_is_a_reason_defect() {
    let empty = b"HTTP/1.1 200 \r\nContent-Length: 5\r\n\r\nhello";
    let (v, m) = run_at(empty, Then::Hold, "", &get_then("status 200"));
    assert_ran((v, m), NonStrict, "line 9: no reason phrase (form: reason)");
}

const CONTINUE_THEN_OK: &[u8] =
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

#[test]
fn interim_step() {
    let steps = "send\n| GET / HTTP/1.1\n| Host: {host}\n|\n\ninterim 100 within 2s\n\nresponse within 2s\nstatus 200\n";
    assert_ran(run_at(CONTINUE_THEN_OK, Then::Hold, "", steps), Pass, "");
    assert_ran(
        run_at(OK, Then::Hold, "", steps),
        Fail,
        "line 9: expected interim 100, got the final response 200 (\"HTTP/1.1 200 OK\")",
    );
    let other = steps.replace("interim 100", "interim 103");
    assert_ran(
        run_at(CONTINUE_THEN_OK, Then::Hold, "", &other),
        Fail,
        "line 9: expected interim 103, got the interim response 100 (\"HTTP/1.1 100 Continue\")",
    );
}

#[test]
fn response_skips_interim_unless_its_status_lists_one() {
    // The final response is read past the 100; a status that lists 1xx reads the 100 itself.
    assert_ran(
        run_at(CONTINUE_THEN_OK, Then::Hold, "", &get_then("status 200")),
        Pass,
        "",
    );
    assert_ran(
        run_at(
            CONTINUE_THEN_OK,
            Then::Hold,
            "",
            &get_then("status 100 417"),
        ),
        Pass,
        "",
    );
    assert_ran(
        run_at(OK, Then::Hold, "", &get_then("status 100 417")),
        Fail,
        "line 10: expected status 100 or 417, got 200 (\"HTTP/1.1 200 OK\")",
    );
}

#[test]
fn or_closed_accepts_a_close_instead_of_an_answer() {
    let steps = get_then("status 400\nor closed");
    // A close before any byte meets the step.
    assert_ran(run_at(b"", Then::Close, "", &steps), Pass, "");
    // A response that arrives must still meet the checks.
    assert_ran(
        run_at(NOT_FOUND, Then::Close, "", &steps),
        Fail,
        "line 10: expected status 400, got 404 (\"HTTP/1.1 404 Not Found\")",
    );
    // Silence still fails.
    assert_ran(
        run_at(b"", Then::Hold, "", &steps),
        Fail,
        "line 9: no complete response within 2s: nothing arrived",
    );
    // Without `or closed`, a close is a failure.
    assert_ran(
        run_at(b"", Then::Close, "", &get_then("status 400")),
        Fail,
        "line 9: no response: the server closed the connection (FIN) before any response",
    );
}

#[test]
fn requires_follows_the_ws_conf() {
    let steps = get_then("status 200");
    let skips = [
        (
            "type .png",
            "requires: the test ws.conf maps no content type to .png",
        ),
        (
            "method HEAD",
            "requires: the test ws.conf does not list HEAD in RequestMethodSupport (GET)",
        ),
        (
            "no method GET",
            "requires: the test ws.conf lists GET in RequestMethodSupport",
        ),
        (
            "index index.htm",
            "requires: the test ws.conf does not name index.htm in DirectoryIndex (index.html)",
        ),
        (
            "planted",
            "requires: no secret.html was planted beside DocumentRoot (--start plants one; with \
             --target plant it yourself holding \"httpcheck-planted-secret-4f1d\" and pass \
             --var planted=yes)",
        ),
    ];
    for req in [
        "type .txt",
        "method GET",
        "no method HEAD",
        "index index.html",
    ] {
        let (v, m) = run_at(OK, Then::Hold, &format!("requires: {req}"), &steps);
        assert_eq!((v, m.as_str()), (Pass, ""), "requires: {req}");
    }
    for (req, why) in skips {
        let got = run_at(OK, Then::Hold, &format!("requires: {req}"), &steps);
        assert_ran(got, Skip, why);
    }
}

#[test]
fn nul_padding_after_a_close_delimited_body_is_a_defect_not_a_wrong_body() {
    // A fixed buffer sent whole, the body delimited by the close: the padding is cut off.
    let padded = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello\0\0\0\0\0";
    let steps = get_then("body is raw\n| hello");
    assert_ran(
        run_at(padded, Then::Close, "", &steps),
        NonStrict,
        "line 9: 5 NUL bytes of padding after the body (form: extra-bytes)",
    );
    // No padding, nothing cut, no defect.
    let exact = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello";
    let steps = get_then("body is raw\n| hello");
    assert_ran(run_at(exact, Then::Close, "", &steps), Pass, "");
    // A body that differs before the padding is still a wrong body.
    let steps = get_then("body is raw\n| hellO");
    assert_ran(run_at(padded, Then::Close, "", &steps), Fail, "line 10: body differs from the expected body (5 bytes expected, 10 bytes got); first difference at offset 4: expected \"hellO\", got \"hello\\0\\0\\0\\0\\0\"");
}

// How a response is read: the exact cause of a framing failure (anchors.md, lesson 6).

#[test]
fn a_head_cut_by_the_close_names_bare_cr_line_ends() {
    let cr = b"HTTP/1.1 200 OK\rContent-Length: 5\r\r";
    assert_ran(
        run_at(cr, Then::Close, "", &get_then("status 200")),
        Fail,
        "line 9: unreadable response: connection closed (FIN) in the middle of the head (its lines end in a bare CR), after 35 bytes: \"HTTP/1.1 200 OK\\rContent-Length: 5\\r\\r\"",
    );
    let cut = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n";
    assert_ran(
        run_at(cut, Then::Close, "", &get_then("status 200")),
        Fail,
        "line 9: unreadable response: connection closed (FIN) in the middle of the head, after 36 bytes: \"HTTP/1.1 200 OK\\r\\nContent-Length: 5\\r\\n\"",
    );
}

#[test]
fn nul_bytes_after_a_response_that_has_no_body() {
    let head = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n\0\0\0";
    let steps = format!("{HEAD_REQ}status 200\n");
    assert_ran(run_at(head, Then::Close, "", &steps), NonStrict, "line 9: 3 bytes (NUL) after a response that has no body (RFC 9110 §9.3.2 and §15: HEAD, 1xx, 204 and 304 responses have no content) (form: extra-bytes)");
}

#[test]
fn chunked_bodies() {
    let whole = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    let steps = get_then("body is raw\n| hello");
    assert_ran(run_at(whole, Then::Hold, "", &steps), Pass, "");
    // A bare LF after a chunk's data is a line-ends defect; the body is still read.
    let bare = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n";
    assert_ran(run_at(bare, Then::Hold, "", &steps), NonStrict, "line 9: chunked body uses bare LF line ends (RFC 9112 §2.2: a sender generates CRLF line ends) (form: line-ends)");
    // Cut by the close right after a chunk: the next size line never came.
    let cut = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n";
    assert_ran(run_at(cut, Then::Close, "", &steps), Fail, "line 9: unreadable response: connection closed (FIN) in the middle of the chunked body (in a chunk size line, after 10 bytes of it)");
}

#[test]
fn a_big_head_is_read_and_an_endless_one_is_named() {
    // A 4 KiB header is a head like any other.
    let mut big = b"HTTP/1.1 200 OK\r\nX-Big: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', 4096));
    big.extend_from_slice(b"\r\nContent-Length: 5\r\n\r\nhello");
    assert_ran(
        run_at(&big, Then::Hold, "", &get_then("status 200")),
        Pass,
        "",
    );
    // A head that never ends is called malformed once it passes 64 KiB, not at the timeout.
    let mut endless = b"HTTP/1.1 200 OK\r\nX-Endless: ".to_vec();
    endless.extend(std::iter::repeat_n(b'a', 70 * 1024));
    // Read within 5 s: judged at once, it takes under 3 s (2 s clear of that timer).
    let steps = get_then("status 200").replace("within 2s", "within 5s");
    let r = run_full(&endless, Then::Hold, "", &steps, false);
    assert!(r.took < Duration::from_secs(3), "{:?}", r.took);
    assert_ran((r.verdict, r.messages), Fail, "line 9: unreadable response: no end of the head within 65536 bytes: \"HTTP/1.1 200 OK\\r\\nX-Endless: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\"");
}

#[test]
fn folded_headers_and_blank_padding_are_named() {
    let folded = b"HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 5\r\n\r\nhello";
    assert_ran(
        run_at(folded, Then::Hold, "", &get_then("status 200")),
        NonStrict,
        "line 9: obsolete line folding in the head (RFC 9112 §5.2: a sender MUST NOT generate obs-fold) (form: fields)",
    );
    let blanks = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello  \r\n";
    let steps = format!("{}no response for 300ms\n", get_then("status 200"));
    assert_ran(run_at(blanks, Then::Hold, "", &steps), NonStrict, "line 9: 4 extra bytes (whitespace) after the body (RFC 9112 §6.3: the body ends where its framing says) (form: extra-bytes)");
}
