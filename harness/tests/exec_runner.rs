//! The runner against small scripted servers on 127.0.0.1: each test starts a fake server in a
//! thread (answer, close, stall, reset, trickle, flood, never answer), builds a `Case` from the
//! model types directly, runs it, and checks the verdict and the key message. Every wait in the
//! fake servers is bounded, and every server thread is joined.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use harness::case::{
    Case, Check, CheckKind, DurationExpr, HeaderTest, Level, Step, StepKind, Template, Vars,
};
use harness::exec::{run_case, run_cases, RunOptions, Target};
use harness::outcome::{CaseResult, EventKind, Verdict};

const OK_HELLO: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
const GET: &str = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn dur(n: u64) -> DurationExpr {
    DurationExpr::from_duration(ms(n))
}

/// A fake server: accepts one connection (waiting at most 10s) and runs `script` on it.
fn fake(script: impl FnOnce(TcpStream) + Send + 'static) -> (u16, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        listener.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match listener.accept() {
                Ok((s, _)) => {
                    s.set_nonblocking(false).unwrap();
                    script(s);
                    return;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock && Instant::now() < deadline => {
                    thread::sleep(ms(5))
                }
                Err(_) => return,
            }
        }
    });
    (port, handle)
}

/// Reads one request head (up to the blank line), waiting at most 5s. Empty on close.
fn read_request(s: &mut TcpStream) -> Vec<u8> {
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut got = Vec::new();
    let mut b = [0u8; 4096];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut b) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&b[..n]),
        }
    }
    got
}

/// Keeps the connection until the client closes it, or `max` passes.
fn hold(s: &mut TcpStream, max: Duration) {
    let deadline = Instant::now() + max;
    let mut b = [0u8; 4096];
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        if left.is_zero() {
            break;
        }
        s.set_read_timeout(Some(left)).unwrap();
        match s.read(&mut b) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
            Err(_) => break,
        }
    }
}

/// Closes with a reset (SO_LINGER 0).
fn reset(s: TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    let rc = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            &linger as *const libc::linger as *const libc::c_void,
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0);
    drop(s);
}

fn case(timeout: Duration, steps: Vec<StepKind>) -> Case {
    Case {
        id: "test/case".into(),
        path: PathBuf::from("cases/test/case.case"),
        title: "a test case".into(),
        points: 2.0,
        tags: vec![],
        spec: None,
        timeout: DurationExpr::from_duration(timeout),
        level: Level::Must,
        config: "default".into(),
        requires: vec![],
        rule: None,
        hint: None,
        steps: steps
            .into_iter()
            .enumerate()
            .map(|(i, kind)| Step {
                line: i + 1,
                conn: "main".into(),
                kind,
            })
            .collect(),
    }
}

fn send(data: &str) -> StepKind {
    StepKind::Send {
        data: Template::literal(data.as_bytes()),
        split: None,
        delay: dur(100),
    }
}

fn response(within: Option<u64>, checks: Vec<CheckKind>) -> StepKind {
    StepKind::Response {
        within: within.map(dur),
        checks: checks
            .into_iter()
            .enumerate()
            .map(|(i, kind)| Check {
                line: 100 + i,
                non_strict: false,
                kind,
            })
            .collect(),
    }
}

fn opts(port: u16) -> RunOptions {
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
        strict: false,
        lenient: false,
        declared: Default::default(),
        jobs: 1,
        max_response_bytes: 8 << 20,
        connect_timeout: Duration::from_secs(3),
    }
}

fn run(c: &Case, port: u16, server: JoinHandle<()>) -> CaseResult {
    let r = run_case(c, &opts(port));
    server.join().unwrap();
    r
}

fn has(r: &CaseResult, needle: &str) -> bool {
    r.messages.iter().any(|m| m.contains(needle))
}

#[track_caller]
fn expect(r: &CaseResult, verdict: Verdict, needle: &str) {
    if std::env::var_os("SHOW").is_some() {
        eprintln!("{:#?}\n{}", r.messages, r.transcript.to_text());
    }
    assert_eq!(
        r.verdict,
        verdict,
        "messages: {:#?}\n{}",
        r.messages,
        r.transcript.to_text()
    );
    assert!(
        has(r, needle),
        "no message contains {needle:?}: {:#?}\n{}",
        r.messages,
        r.transcript.to_text()
    );
}

#[test]
fn a_good_response_passes_with_a_transcript() {
    let (port, server) = fake(|mut s| {
        read_request(&mut s);
        s.write_all(OK_HELLO).unwrap();
        hold(&mut s, ms(3000));
    });
    let c = case(
        Duration::from_secs(5),
        vec![
            send(GET),
            response(
                Some(2000),
                vec![
                    CheckKind::Status(vec![200]),
                    CheckKind::BodyIs(Template::literal(&b"hello"[..])),
                    CheckKind::Header {
                        name: "content-length".into(),
                        test: HeaderTest::Equals("5".into()),
                    },
                    CheckKind::ContentLength,
                ],
            ),
        ],
    );
    let r = run(&c, port, server);
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r.messages);
    assert!(r.messages.is_empty());
    assert_eq!(r.points, 2.0);
    assert!(r.reproducer.is_none());
    let kinds: Vec<&EventKind> = r.transcript.events.iter().map(|e| &e.kind).collect();
    assert!(matches!(kinds[0], EventKind::Connect));
    assert!(matches!(kinds[1], EventKind::Sent { data } if data == GET.as_bytes()));
    let received: Vec<u8> = r
        .transcript
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Received { data } => Some(data.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(received, OK_HELLO);
}

#[test]
fn a_form_defect_is_non_strict_with_a_reproducer() {
    let (port, server) = fake(|mut s| {
        read_request(&mut s);
        s.write_all(b"HTTP/1.1 200 OK\nContent-Length: 5\n\nhello")
            .unwrap();
        hold(&mut s, ms(3000));
    });
    let c = case(
        Duration::from_secs(5),
        vec![
            send(GET),
            response(Some(2000), vec![CheckKind::Status(vec![200])]),
        ],
    );
    let r = run(&c, port, server);
    expect(
        &r,
        Verdict::NonStrict,
        "line 2: head uses bare LF line ends",
    );
    assert_eq!(r.points, 0.0);
    let repro = r.reproducer.as_deref().unwrap();
    assert_eq!(
        repro,
        format!("printf 'GET / HTTP/1.1\\r\\nHost: localhost\\r\\n\\r\\n' | nc 127.0.0.1 {port}")
    );
}

#[test]
fn lenient_runs_give_points_for_non_strict() {
    let (port, server) = fake(|mut s| {
        read_request(&mut s);
        s.write_all(b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
        hold(&mut s, ms(3000));
    });
    let c = case(
        Duration::from_secs(5),
        vec![send(GET), response(Some(2000), vec![])],
    );
    let mut o = opts(port);
    o.lenient = true;
    let r = run_case(&c, &o);
    server.join().unwrap();
    expect(&r, Verdict::NonStrict, "no space after the status code");
    assert_eq!(r.points, 2.0);
}

#[test]
fn a_wrong_status_fails_naming_line_and_status_line() {
    let (port, server) = fake(|mut s| {
        read_request(&mut s);
        s.write_all(OK_HELLO).unwrap();
        hold(&mut s, ms(3000));
    });
    let c = case(
        Duration::from_secs(5),
        vec![
            send(GET),
            response(Some(2000), vec![CheckKind::Status(vec![404])]),
        ],
    );
    let r = run(&c, port, server);
    expect(
        &r,
        Verdict::Fail,
        "line 100: expected status 404, got 200 (\"HTTP/1.1 200 OK\")",
    );
    assert!(r.reproducer.is_some());
}

#[test]
fn a_non_strict_check_miss_is_non_strict() {
    let (port, server) = fake(|mut s| {
        read_request(&mut s);
        s.write_all(OK_HELLO).unwrap();
        hold(&mut s, ms(3000));
    });
    let mut c = case(
        Duration::from_secs(5),
        vec![
            send(GET),
            response(
                Some(2000),
                vec![
                    CheckKind::Status(vec![200]),
                    CheckKind::BodyContains("bye".into()),
                ],
            ),
        ],
    );
    if let StepKind::Response { checks, .. } = &mut c.steps[1].kind {
        checks[1].non_strict = true;
    }
    let r = run(&c, port, server);
    expect(
        &r,
        Verdict::NonStrict,
        "line 101: expected the body to contain \"bye\"",
    );
}

#[test]
fn a_response_read_slowly_byte_by_byte_passes() {
    let (port, server) = fake(|mut s| {
        read_request(&mut s);
        for b in OK_HELLO {
            if s.write_all(&[*b]).is_err() {
                return;
            }
            thread::sleep(ms(5));
        }
        hold(&mut s, ms(3000));
    });
    let c = case(
        Duration::from_secs(10),
        vec![
            send(GET),
            response(Some(5000), vec![CheckKind::Status(vec![200])]),
        ],
    );
    let r = run(&c, port, server);
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r.messages);
}

#[test]
fn a_split_send_arrives_in_several_pieces() {
    let (port, server) = fake(|mut s| {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut got = Vec::new();
        let mut reads = 0;
        let mut b = [0u8; 4096];
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            match s.read(&mut b) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    reads += 1;
                    got.extend_from_slice(&b[..n]);
                }
            }
        }
        let answer: &[u8] = if reads > 1 && got == GET.as_bytes() {
            OK_HELLO
        } else {
            b"HTTP/1.1 500 One Piece\r\nContent-Length: 0\r\n\r\n"
        };
        s.write_all(answer).unwrap();
        hold(&mut s, ms(3000));
    });
    let c = case(
        Duration::from_secs(10),
        vec![
            // 350 ms apart: the fake server reads more than once unless it is late by 1 s.
            StepKind::Send {
                data: Template::literal(GET.as_bytes()),
                split: Some(10),
                delay: dur(350),
            },
            response(Some(3000), vec![CheckKind::Status(vec![200])]),
        ],
    );
    let r = run(&c, port, server);
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r.messages);
    let sends = r
        .transcript
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Sent { .. }))
        .count();
    assert_eq!(sends, GET.len().div_ceil(10));
}

#[test]
fn a_head_response_has_no_body_even_with_content_length() {
    let (port, server) = fake(|mut s| {
        read_request(&mut s);
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
            .unwrap();
        hold(&mut s, ms(3000));
    });
    let c = case(
        Duration::from_secs(5),
        vec![
            send("HEAD / HTTP/1.1\r\nHost: localhost\r\n\r\n"),
            response(
                Some(2000),
                vec![
                    CheckKind::Status(vec![200]),
                    CheckKind::BodyEmpty,
                    CheckKind::ContentLength,
                ],
            ),
        ],
    );
    let r = run(&c, port, server);
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r.messages);
}

#[test]
fn closed_within_passes_when_the_server_closes() {
    let (port, server) = fake(|mut s| {
        read_request(&mut s);
        s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .unwrap();
    });
    let c = case(
        Duration::from_secs(5),
        vec![
            send("GRT / HTTP/1.1\r\n\r\n"),
            response(Some(2000), vec![CheckKind::Status(vec![400])]),
            StepKind::Closed {
                after: None,
                within: dur(2000),
            },
        ],
    );
    let r = run(&c, port, server);
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r.messages);
    assert!(r
        .transcript
        .events
        .iter()
        .any(|e| matches!(e.kind, EventKind::Fin)));
}

#[test]
fn closed_within_fails_when_the_server_keeps_the_connection() {
    let (port, server) = fake(|mut s| {
        read_request(&mut s);
        s.write_all(OK_HELLO).unwrap();
        // Held 5 s: a runner that waited for the server's close would take that long.
        hold(&mut s, ms(5000));
    });
    let c = case(
        Duration::from_secs(8),
        vec![
            send(GET),
            response(Some(2000), vec![]),
            StepKind::Closed {
                after: None,
                within: dur(300),
            },
        ],
    );
    let started = Instant::now();
    let r = run(&c, port, server);
    expect(
        &r,
        Verdict::Fail,
        "line 3: still open after 300ms, expected closed within 300ms",
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn closed_after_fails_when_the_server_closes_too_soon() {
    let (port, server) = fake(|mut s| {
        read_request(&mut s);
        s.write_all(OK_HELLO).unwrap();
        thread::sleep(ms(50));
    });
    let c = case(
        Duration::from_secs(5),
        vec![
            send(GET),
            response(Some(2000), vec![]),
            // The close comes about 50 ms after the answer: 1.45 s clear of the window.
            StepKind::Closed {
                after: Some(dur(1500)),
                within: dur(3000),
            },
        ],
    );
    let r = run(&c, port, server);
    expect(&r, Verdict::Fail, "expected no sooner than 1.5s");
    assert!(has(&r, "line 3: closed (FIN)"), "{:#?}", r.messages);
}

#[test]
fn closed_reports_bytes_that_arrive_first() {
    let (port, server) = fake(|mut s| {
        read_request(&mut s);
        s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
    });
    let c = case(
        Duration::from_secs(5),
        vec![
            send("GRT / HTTP/1.1\r\n\r\n"),
            StepKind::Closed {
                after: None,
                within: dur(2000),
            },
        ],
    );
    let r = run(&c, port, server);
    expect(
        &r,
        Verdict::Fail,
        "expected the connection closed, but 47 bytes arrived first",
    );
    assert!(has(&r, "then it was closed (FIN)"), "{:#?}", r.messages);
}

#[test]
fn a_reset_is_reported_apart_from_a_close() {
    let (port, server) = fake(|mut s| {
        read_request(&mut s);
        reset(s);
    });
    let c = case(
        Duration::from_secs(5),
        vec![send(GET), response(Some(2000), vec![])],
    );
    let r = run(&c, port, server);
    expect(
        &r,
        Verdict::Fail,
        "line 2: no response: the server reset the connection (RST) before any response",
    );
    assert!(r
        .transcript
        .events
        .iter()
        .any(|e| matches!(e.kind, EventKind::Reset)));

    let (port, server) = fake(|mut s| {
        read_request(&mut s);
        reset(s);
    });
    let c = case(
        Duration::from_secs(5),
        vec![
            send(GET),
            StepKind::Closed {
                after: None,
                within: dur(2000),
            },
        ],
    );
    let r = run(&c, port, server);
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r.messages);
}

fn keepalive_server(idle_close: Option<Duration>) -> (u16, JoinHandle<()>) {
    fake(move |mut s| loop {
        let timeout = idle_close.unwrap_or(Duration::from_secs(5));
        s.set_read_timeout(Some(timeout)).unwrap();
        let mut got = Vec::new();
        let mut b = [0u8; 4096];
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            match s.read(&mut b) {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&b[..n]),
            }
        }
        if s.write_all(OK_HELLO).is_err() {
            return;
        }
    })
}

#[test]
fn open_for_is_proven_by_a_probe() {
    let (port, server) = keepalive_server(None);
    let c = case(
        Duration::from_secs(5),
        vec![
            send(GET),
            response(Some(2000), vec![]),
            StepKind::Open {
                for_: dur(300),
                probe: None,
            },
        ],
    );
    let r = run(&c, port, server);
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r.messages);
    let sent: Vec<&Vec<u8>> = r
        .transcript
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Sent { data } => Some(data),
            _ => None,
        })
        .collect();
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[1].as_slice(),
        b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n"
    );
}

#[test]
fn open_for_fails_when_the_server_closes_while_idle() {
    let (port, server) = keepalive_server(Some(ms(200)));
    let c = case(
        Duration::from_secs(5),
        vec![
            send(GET),
            response(Some(2000), vec![]),
            // The server closes 200 ms after its answer: 1.8 s clear of the 2 s asked for.
            StepKind::Open {
                for_: dur(2000),
                probe: None,
            },
        ],
    );
    let r = run(&c, port, server);
    expect(&r, Verdict::Fail, "line 3: closed by server (FIN) after 0.");
    assert!(has(&r, "expected open for 2s"), "{:#?}", r.messages);
}

#[test]
fn no_response_passes_on_silence_and_fails_on_bytes() {
    let (port, server) = fake(|mut s| {
        read_request(&mut s);
        hold(&mut s, ms(3000));
    });
    let c = case(
        Duration::from_secs(5),
        vec![
            send("GET / HTTP/1.1\r\n"),
            StepKind::NoResponse { for_: dur(300) },
        ],
    );
    let r = run(&c, port, server);
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r.messages);

    let (port, server) = fake(|mut s| {
        read_request(&mut s);
        s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").unwrap();
        hold(&mut s, ms(3000));
    });
    // The answer comes at once: 1 s clear of the window's end.
    let c = case(
        Duration::from_secs(5),
        vec![send(GET), StepKind::NoResponse { for_: dur(1000) }],
    );
    let r = run(&c, port, server);
    expect(
        &r,
        Verdict::Fail,
        "line 2: expected no response for 1s, but 28 bytes arrived",
    );
}

#[test]
fn a_silent_server_times_the_case_out_without_hanging() {
    let (port, server) = fake(|mut s| {
        read_request(&mut s);
        hold(&mut s, ms(4000));
    });
    let c = case(
        ms(500),
        vec![
            send(GET),
            response(None, vec![CheckKind::Status(vec![200])]),
        ],
    );
    let started = Instant::now();
    let r = run(&c, port, server);
    expect(
        &r,
        Verdict::Fail,
        "case timed out after 500ms during `response` at line 2: nothing arrived",
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    assert!(r.duration >= ms(450), "{:?}", r.duration);
}

#[test]
fn response_within_names_what_arrived() {
    let (port, server) = fake(|mut s| {
        read_request(&mut s);
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1024\r\n\r\nabc")
            .unwrap();
        hold(&mut s, ms(5000));
    });
    // The status is judged on what arrived; the body that never came is one defect. (The
    // window is 1 s clear of the answer at once, and of the server's close at 5 s.)
    let c = case(
        Duration::from_secs(5),
        vec![
            send(GET),
            response(Some(1000), vec![CheckKind::Status(vec![200])]),
        ],
    );
    let r = run(&c, port, server);
    expect(&r, Verdict::NonStrict, "line 2: the body never ended: the head arrived (\"HTTP/1.1 200 OK\") but only 3 of the 1024 body bytes (form: content-length)");
}

#[test]
fn a_body_that_never_ends_fails_only_the_checks_that_need_it() {
    // NUL padding from a fixed buffer, no Content-Length, and the connection held open: the
    // 400 arrived, the body's end never does. (Each window is 1 s clear of the answer at once,
    // and of the server's close at 5 s.)
    let serve = |mut s: TcpStream| {
        read_request(&mut s);
        let mut out =
            b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/html\r\n\r\nInvalid Method".to_vec();
        out.resize(4096, 0);
        s.write_all(&out).unwrap();
        hold(&mut s, ms(5000));
    };
    let runs: [(Vec<CheckKind>, Verdict, &str); 3] = [
        (
            vec![
                CheckKind::Status(vec![400]),
                CheckKind::BodyContains("invalid method".into()),
            ],
            Verdict::NonStrict,
            "the body never ended",
        ),
        // The expected body, then only padding: it arrived whole.
        (
            vec![CheckKind::BodyIs(Template::literal("Invalid Method"))],
            Verdict::NonStrict,
            "4029 NUL bytes of padding after the body (form: extra-bytes)",
        ),
        // Another body cannot be judged on a part.
        (
            vec![CheckKind::BodyIs(Template::literal("Invalid"))],
            Verdict::Fail,
            "the body cannot be checked: it never ended (the head arrived",
        ),
    ];
    // The three run at once: each waits out its window.
    thread::scope(|scope| {
        let runs: Vec<_> = runs
            .into_iter()
            .map(|(checks, verdict, needle)| {
                scope.spawn(move || {
                    let (port, server) = fake(serve);
                    let c = case(
                        Duration::from_secs(5),
                        vec![send(GET), response(Some(1000), checks)],
                    );
                    (run(&c, port, server), verdict, needle)
                })
            })
            .collect();
        for h in runs {
            let (r, verdict, needle) = h.join().unwrap();
            expect(&r, verdict, needle);
        }
    });
}

#[test]
fn connection_refused_is_an_error() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = case(
        Duration::from_secs(5),
        vec![send(GET), response(Some(1000), vec![])],
    );
    let r = run_case(&c, &opts(port));
    expect(
        &r,
        Verdict::Error,
        &format!("could not connect to 127.0.0.1:{port}: connection refused"),
    );
    assert_eq!(r.points, 0.0);
}

#[test]
fn an_unknown_variable_is_an_error_naming_file_and_line() {
    let c = case(
        Duration::from_secs(5),
        vec![StepKind::Send {
            data: Template {
                pieces: vec![harness::case::Piece::Var("nope".into())],
            },
            split: None,
            delay: dur(100),
        }],
    );
    let r = run_case(&c, &opts(1));
    expect(
        &r,
        Verdict::Error,
        "cases/test/case.case:1: unknown variable {nope}: define it with --var nope=VALUE",
    );
    assert!(r.transcript.events.is_empty(), "nothing is sent");
}

#[test]
fn a_missing_body_file_is_an_error() {
    let c = case(
        Duration::from_secs(5),
        vec![
            send(GET),
            response(
                Some(1000),
                vec![CheckKind::BodyFile("no/such/file.html".into())],
            ),
        ],
    );
    let r = run_case(&c, &opts(1));
    expect(&r, Verdict::Error, "body file no/such/file.html");
}

#[test]
fn nul_padding_after_the_body_is_a_defect_of_that_response() {
    let (port, server) = fake(|mut s| {
        read_request(&mut s);
        let mut out = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello".to_vec();
        out.resize(4096, 0);
        s.write_all(&out).unwrap();
        thread::sleep(ms(100));
    });
    let c = case(
        Duration::from_secs(5),
        vec![
            send(GET),
            response(Some(2000), vec![CheckKind::Status(vec![200])]),
            StepKind::Closed {
                after: None,
                within: dur(2000),
            },
        ],
    );
    let r = run(&c, port, server);
    assert_eq!(r.verdict, Verdict::NonStrict, "{:#?}", r.messages);
    let extra = 4096 - 43;
    assert!(
        has(
            &r,
            &format!("line 2: {extra} extra bytes (NUL) after the body")
        ) || has(
            &r,
            "line 2: Content-Length 5 but 4058 bytes arrived before close"
        ),
        "{:#?}",
        r.messages
    );
}

#[test]
fn junk_between_keepalive_responses_is_not_read_as_the_next_response() {
    let (port, server) = fake(|mut s| {
        for _ in 0..2 {
            if read_request(&mut s).is_empty() {
                return;
            }
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi\r\n")
                .unwrap();
        }
        hold(&mut s, ms(3000));
    });
    let c = case(
        Duration::from_secs(5),
        vec![
            send(GET),
            response(
                Some(2000),
                vec![CheckKind::BodyIs(Template::literal(&b"hi"[..]))],
            ),
            send(GET),
            response(
                Some(2000),
                vec![CheckKind::BodyIs(Template::literal(&b"hi"[..]))],
            ),
        ],
    );
    let r = run(&c, port, server);
    expect(
        &r,
        Verdict::NonStrict,
        "line 2: 2 extra bytes (whitespace) after the body",
    );
    assert!(!has(&r, "before the status line"), "{:#?}", r.messages);
}

#[test]
fn a_flood_is_capped_and_the_case_ends() {
    let (port, server) = fake(|mut s| {
        read_request(&mut s);
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 10000000\r\n\r\n");
        let block = vec![b'x'; 64 * 1024];
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut sent = 0;
        while sent < 10_000_000 && Instant::now() < deadline {
            match s.write(&block) {
                Ok(n) => sent += n,
                Err(_) => return,
            }
        }
    });
    let c = case(
        Duration::from_secs(10),
        vec![send(GET), response(Some(5000), vec![])],
    );
    let mut o = opts(port);
    o.max_response_bytes = 1 << 20;
    let r = run_case(&c, &o);
    server.join().unwrap();
    expect(
        &r,
        Verdict::Fail,
        "more than 1048576 bytes arrived (the cap on what is kept)",
    );
    let shown: usize = r
        .transcript
        .events
        .iter()
        .map(|e| match &e.kind {
            EventKind::Received { data } => data.len(),
            _ => 0,
        })
        .sum();
    assert!(shown <= 256 * 1024, "transcript holds {shown} bytes");
}

#[test]
fn should_cases_run_by_default() {
    // Nothing listens on port 1: the case runs (and errors) rather than being skipped.
    let mut c = case(Duration::from_secs(5), vec![send(GET)]);
    c.level = Level::Should;
    let r = run_case(&c, &opts(1));
    assert_eq!(r.verdict, Verdict::Error);
}

#[test]
fn run_cases_keeps_input_order_and_reports_each() {
    // One server, three connections: it answers `GET /N` with status 20N after (3-N)*100ms, so
    // the cases finish in the reverse of their input order.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        let mut conns = Vec::new();
        for _ in 0..3 {
            let Ok((mut s, _)) = listener.accept() else {
                break;
            };
            conns.push(thread::spawn(move || {
                let req = read_request(&mut s);
                let n = req.get(5).map(|b| b - b'0').unwrap_or(9) as u64;
                thread::sleep(ms(100 * (3 - n.min(3))));
                let _ = s.write_all(
                    format!("HTTP/1.1 20{n} OK\r\nContent-Length: 0\r\n\r\n").as_bytes(),
                );
                hold(&mut s, ms(3000));
            }));
        }
        for c in conns {
            c.join().unwrap();
        }
    });
    let cases: Vec<Case> = (0..3u16)
        .map(|i| {
            let mut c = case(
                Duration::from_secs(5),
                vec![
                    send(&format!("GET /{i} HTTP/1.1\r\n\r\n")),
                    response(Some(3000), vec![CheckKind::Status(vec![200 + i])]),
                ],
            );
            c.id = format!("case{i}");
            c
        })
        .collect();
    let mut o = opts(port);
    o.jobs = 3;
    let finished = std::sync::Mutex::new(Vec::new());
    let results = run_cases(&cases, &o, &|idx, r| {
        finished.lock().unwrap().push((idx, r.verdict))
    });
    server.join().unwrap();
    let ids: Vec<&str> = results.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["case0", "case1", "case2"]);
    for r in &results {
        assert_eq!(r.verdict, Verdict::Pass, "{}: {:#?}", r.id, r.messages);
    }
    let mut finished = finished.into_inner().unwrap();
    assert_eq!(finished.len(), 3);
    finished.sort();
    assert_eq!(
        finished,
        vec![(0, Verdict::Pass), (1, Verdict::Pass), (2, Verdict::Pass)]
    );
}

#[test]
fn a_response_then_a_reset_for_an_unread_body_is_still_read() {
    // The server answers without reading the request's body, then closes: its kernel resets the
    // connection because of the unread bytes. The response that arrived first still counts.
    let (port, server) = fake(|mut s| {
        read_request(&mut s);
        thread::sleep(ms(100));
        s.write_all(
            b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
        thread::sleep(ms(100));
    });
    let body = "x".repeat(200_000);
    let c = case(
        Duration::from_secs(5),
        vec![
            send(&format!(
                "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )),
            response(Some(2000), vec![CheckKind::Status(vec![413])]),
            StepKind::Closed {
                after: None,
                within: dur(2000),
            },
        ],
    );
    let r = run(&c, port, server);
    assert_eq!(
        r.verdict,
        Verdict::Pass,
        "{:#?}\n{}",
        r.messages,
        r.transcript.to_text()
    );
}

#[test]
fn a_reset_while_sending_fails_unless_a_close_is_expected() {
    let big = format!(
        "POST / HTTP/1.1\r\nContent-Length: 16000000\r\n\r\n{}",
        "x".repeat(16_000_000)
    );
    for expect_close in [true, false] {
        let (port, server) = fake(|mut s| {
            read_request(&mut s);
            reset(s);
        });
        let next = if expect_close {
            StepKind::Closed {
                after: None,
                within: dur(2000),
            }
        } else {
            response(Some(2000), vec![])
        };
        let c = case(Duration::from_secs(10), vec![send(&big), next]);
        let r = run(&c, port, server);
        if expect_close {
            assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r.messages);
        } else {
            expect(
                &r,
                Verdict::Fail,
                "closed or reset the connection while we were sending",
            );
        }
        assert!(
            r.transcript.events.iter().any(
                |e| matches!(&e.kind, EventKind::Note { text } if text.starts_with("write failed"))
            ),
            "{}",
            r.transcript.to_text()
        );
    }
}

#[test]
fn closed_after_passes_when_the_close_comes_in_the_window() {
    let (port, server) = fake(|mut s| {
        read_request(&mut s);
        s.write_all(OK_HELLO).unwrap();
        thread::sleep(ms(1500));
    });
    // The close comes 1.5 s after the answer: 1.2 s clear of the window's start, 2.5 s of its end.
    let c = case(
        Duration::from_secs(8),
        vec![
            send(GET),
            response(Some(2000), vec![]),
            StepKind::Closed {
                after: Some(dur(300)),
                within: dur(4000),
            },
        ],
    );
    let r = run(&c, port, server);
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r.messages);
}

#[test]
fn a_half_closed_request_is_answered_and_a_custom_probe_is_used() {
    // Half-close: the server reads to end-of-file, then answers.
    let (port, server) = fake(|mut s| {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut all = Vec::new();
        let _ = s.read_to_end(&mut all);
        if all == GET.as_bytes() {
            let _ = s.write_all(OK_HELLO);
        }
    });
    let c = case(
        Duration::from_secs(5),
        vec![
            send(GET),
            StepKind::Shutdown,
            response(Some(2000), vec![CheckKind::Status(vec![200])]),
            StepKind::Closed {
                after: None,
                within: dur(2000),
            },
        ],
    );
    let r = run(&c, port, server);
    assert_eq!(
        r.verdict,
        Verdict::Pass,
        "{:#?}\n{}",
        r.messages,
        r.transcript.to_text()
    );

    // A HEAD probe: its response has no body, so reading it does not wait for one.
    let (port, server) = fake(|mut s| {
        let head_answer: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
        for answer in [OK_HELLO, head_answer] {
            if read_request(&mut s).is_empty() {
                return;
            }
            s.write_all(answer).unwrap();
        }
        hold(&mut s, ms(3000));
    });
    let probe = Template::literal(&b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"[..]);
    let c = case(
        Duration::from_secs(5),
        vec![
            send(GET),
            response(Some(2000), vec![]),
            StepKind::Open {
                for_: dur(200),
                probe: Some(probe),
            },
        ],
    );
    let r = run(&c, port, server);
    assert_eq!(
        r.verdict,
        Verdict::Pass,
        "{:#?}\n{}",
        r.messages,
        r.transcript.to_text()
    );
}
