//! The real binary on port 0, spoken to with reqwest and with raw TCP: every rule of the
//! assignment, keep-alive, timeouts, limits, concurrency, broken configs, shutdown.

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::*;
use rstest::rstest;

fn site(keepalive: u64, methods: &str) -> (Conf, Running) {
    let conf = Conf::new(&www(), keepalive, methods);
    let run = Running::start(&conf.path(), &[]);
    (conf, run)
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

#[rstest]
#[case("/", "index.html", "text/html")]
#[case("/index.html", "index.html", "text/html")]
#[case("/css/style.css", "css/style.css", "text/css")]
#[case("/js/app.js", "js/app.js", "application/javascript")]
#[case("/images/logo.png", "images/logo.png", "image/png")]
#[case("/images/anim.gif", "images/anim.gif", "image/gif")]
#[case("/images/photo.jpg", "images/photo.jpg", "image/jpeg")]
#[case("/favicon.ico", "favicon.ico", "image/x-icon")]
#[case("/files/notes.txt", "files/notes.txt", "text/plain")]
#[case("/data/info.json", "data/info.json", "application/json")]
#[case("/docs/", "docs/index.html", "text/html")]
#[case("/files/big.bin", "files/big.bin", "application/octet-stream")]
fn serves_every_file_with_its_type(#[case] path: &str, #[case] file: &str, #[case] ty: &str) {
    let (_c, run) = site(10, "GET HEAD");
    let resp = client().get(run.url(path)).send().unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["content-type"], ty);
    let expected = std::fs::read(www().join(file)).unwrap();
    assert_eq!(
        resp.headers()["content-length"],
        expected.len().to_string().as_str()
    );
    assert!(resp.headers().contains_key("date") && resp.headers().contains_key("server"));
    assert_eq!(resp.bytes().unwrap().as_ref(), expected.as_slice());
}

#[test]
fn assignment_request_with_bare_lf_gets_200_and_close() {
    let (_c, run) = site(10, "GET HEAD");
    let r = one(&run.exchange(b"GET /index.html HTTP/1.1\r\nHost: localhost\r\n\n"));
    assert_well_formed(&r);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Connection"), Some("close"));
    assert_eq!(r.body, std::fs::read(www().join("index.html")).unwrap());
}

#[rstest]
#[case::bad_method(
    b"GRT /index.html HTTP/1.1\r\nHost: localhost\r\n\n",
    400,
    "Reason: Invalid Method: GRT"
)]
#[case::relative_url(
    b"GET index.html HTTP/1.1\r\nHost: localhost\r\n\r\n",
    400,
    "Reason: Invalid URL: index.html"
)]
#[case::bad_version(
    b"GET /index.html HTTP/2.1\r\nHost: localhost\r\n\r\n",
    400,
    "Reason: Invalid HTTP-Version: HTTP/2.1"
)]
#[case::method_before_url(b"FOO bar HTTP/7\r\n\r\n", 400, "Invalid Method: FOO")]
#[case::url_before_version(b"GET bar HTTP/7\r\n\r\n", 400, "Invalid URL: bar")]
#[case::post_not_supported(
    b"POST /index.html HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc",
    501,
    "Method Not Implemented: POST"
)]
#[case::delete_not_supported(
    b"DELETE /index.html HTTP/1.1\r\nHost: t\r\n\r\n",
    501,
    "Not Implemented"
)]
#[case::options_not_supported(b"OPTIONS / HTTP/1.1\r\nHost: t\r\n\r\n", 501, "Not Implemented")]
#[case::missing(
    b"GET /nope.html HTTP/1.1\r\nHost: t\r\n\r\n",
    404,
    "Reason: URL does not exist: /nope.html"
)]
#[case::unmapped_extension(
    b"GET /files/archive.xyz HTTP/1.1\r\nHost: t\r\n\r\n",
    501,
    "File type not supported: /files/archive.xyz"
)]
#[case::missing_unmapped(
    b"GET /nope.xyz HTTP/1.1\r\nHost: t\r\n\r\n",
    404,
    "URL does not exist"
)]
#[case::folder_without_slash(b"GET /docs HTTP/1.1\r\nHost: t\r\n\r\n", 301, "/docs/")]
#[case::garbage(b"\x00\x01\x02\xff\xfe binary junk\r\n\r\n", 400, "Invalid Method")]
#[case::bad_header(
    b"GET / HTTP/1.1\r\nHost: t\r\nno colon here\r\n\r\n",
    400,
    "Malformed header line"
)]
#[case::head_bad_version(b"HEAD / HTTP/3\r\n\r\n", 400, "")]
#[case::unknown_coding(
    b"GET / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    501,
    "Transfer coding not supported: gzip"
)]
#[case::no_host(b"GET / HTTP/1.1\r\n\r\n", 400, "needs a Host")]
#[case::two_hosts(
    b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    400,
    "more than one Host"
)]
#[case::nul_in_value(b"GET / HTTP/1.1\r\nHost: t\r\nX: a\x00b\r\n\r\n", 400, "control")]
#[case::bare_cr_in_value(b"GET / HTTP/1.1\r\nHost: t\r\nX: a\rb\r\n\r\n", 400, "control")]
#[case::obs_fold(b"GET / HTTP/1.1\r\nHost: t\r\nX: a\r\n b\r\n\r\n", 400, "Malformed")]
#[case::space_before_colon(b"GET / HTTP/1.1\r\nHost : t\r\n\r\n", 400, "Malformed")]
#[case::plus_length(
    b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: +3\r\n\r\nabc",
    400,
    "Invalid Content-Length"
)]
#[case::differing_lengths(
    b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3, 4\r\n\r\nabc",
    400,
    "Conflicting"
)]
#[case::te_and_cl(
    b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
    400,
    "both Transfer-Encoding and Content-Length"
)]
#[case::bad_chunk_size(
    b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
    400,
    "invalid chunk size"
)]
#[case::chunk_longer_than_its_size(
    b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
    400,
    "longer than its size"
)]
#[case::chunked_too_big(
    b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n200000\r\n",
    413,
    "larger than 1 MiB"
)]
#[case::body_too_big(
    b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999\r\n\r\n",
    413,
    "larger than 1 MiB"
)]
fn classification(#[case] req: &[u8], #[case] status: u16, #[case] text: &str) {
    let (_c, run) = site(10, "GET HEAD");
    let raw = run.exchange(req);
    let (r, used) = parse_response(&raw, req.starts_with(b"HEAD ")).expect("one response");
    assert_eq!(used, raw.len(), "bytes after the response");
    assert_well_formed(&r);
    assert_eq!(r.status, status, "{}", r.text());
    assert!(r.text().contains(text), "{:?} lacks {text:?}", r.text());
    assert_eq!(r.header("Content-Type"), Some("text/html; charset=utf-8"));
    assert_eq!(r.header("Connection"), Some("close"));
}

#[rstest]
#[case::dotdot("/../ws.conf")]
#[case::dotdot_deep("/docs/../../ws.conf")]
#[case::encoded("/%2e%2e/ws.conf")]
#[case::encoded_upper("/%2E%2E/ws.conf")]
#[case::mixed("/.%2e/ws.conf")]
#[case::encoded_slash("/..%2fws.conf")]
#[case::all_encoded("/%2e%2e%2fws.conf")]
#[case::backslash("/..%5cws.conf")]
#[case::nul("/index.html%00.txt")]
#[case::symlink_out("/link/ws.conf")]
#[case::symlink_file_out("/conf.txt")]
fn traversal_is_refused(#[case] target: &str) {
    let conf = Conf::new(Path::new("www"), 10, "GET HEAD");
    let root = conf.dir.path().join("www");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("index.html"), "<p>inside</p>").unwrap();
    std::os::unix::fs::symlink(conf.dir.path(), root.join("link")).unwrap();
    std::os::unix::fs::symlink(conf.path(), root.join("conf.txt")).unwrap();
    let run = Running::start(&conf.path(), &[]);
    let raw = run.exchange(format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
    let r = one(&raw);
    assert_eq!(r.status, 403, "{target}: {}", r.text());
    assert!(!r.text().contains("DocumentRoot"), "the config file leaked");
}

use std::path::Path;

#[test]
fn echoed_text_is_escaped() {
    let (_c, run) = site(10, "GET HEAD");
    let r = one(&run.exchange(b"GET /<script>alert(1)</script> HTTP/1.1\r\nHost: t\r\n\r\n"));
    assert_eq!(r.status, 404);
    assert!(
        r.text().contains("/&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{}",
        r.text()
    );
    assert!(!r.text().contains("<script>"));
    let r = one(&run.exchange(b"<img/src=x> / HTTP/1.1\r\nHost: t\r\n\r\n"));
    assert_eq!(r.status, 400);
    assert!(
        r.text().contains("Invalid Method: &lt;img/src=x&gt;"),
        "{}",
        r.text()
    );
}

#[test]
fn head_has_the_same_head_and_no_body() {
    let (_c, run) = site(10, "GET HEAD");
    let get = one(&run.exchange(b"GET /images/logo.png HTTP/1.1\r\nHost: t\r\n\r\n"));
    let raw = run.exchange(b"HEAD /images/logo.png HTTP/1.1\r\nHost: t\r\n\r\n");
    let (head, used) = parse_response(&raw, true).unwrap();
    assert_eq!(used, raw.len(), "HEAD response carried a body");
    assert_eq!(head.status, 200);
    assert_eq!(head.header("Content-Length"), get.header("Content-Length"));
    assert_eq!(head.header("Content-Type"), Some("image/png"));
    // HEAD of an error: its Content-Length, no body.
    let raw = run.exchange(b"HEAD /nope HTTP/1.1\r\nHost: t\r\n\r\n");
    let (r, used) = parse_response(&raw, true).unwrap();
    assert_eq!((r.status, used), (404, raw.len()));
}

#[test]
fn post_when_supported_shows_the_data_escaped() {
    let (_c, run) = site(10, "GET HEAD POST OPTIONS");
    let r = one(&run.exchange(
        b"POST /index.html HTTP/1.1\r\nHost: t\r\nContent-Length: 13\r\n\r\nname=<b>x</b>",
    ));
    assert_eq!(r.status, 200);
    assert!(
        r.text()
            .contains("<pre><h1>name=&lt;b&gt;x&lt;/b&gt;</h1></pre>"),
        "{}",
        r.text()
    );
    assert!(r.text().contains("It works"));
    let r = one(&run.exchange(b"OPTIONS /index.html HTTP/1.1\r\nHost: t\r\n\r\n"));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Allow"), Some("GET, HEAD, POST, OPTIONS"));
    assert_eq!(r.header("Content-Length"), Some("0"));
    let r =
        one(&run.exchange(b"POST /nope.html HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nx"));
    assert_eq!(r.status, 404);
}

#[test]
fn keep_alive_reuses_the_connection_then_closes_when_idle() {
    // KeepaliveTime 2: the close must come 1 s or more after the last response (1 s clear of
    // a close at once) and before 6 s (4 s clear of the timer).
    let (_c, run) = site(2, "GET HEAD");
    let mut s = run.connect();
    let mut pending = Vec::new();
    for path in ["/index.html", "/css/style.css", "/files/notes.txt"] {
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: Keep-Alive\r\n\r\n").as_bytes(),
        )
        .unwrap();
        let r = read_one(&mut s, &mut pending, false);
        assert_well_formed(&r);
        assert_eq!(r.status, 200);
        assert_eq!(r.header("Connection"), Some("keep-alive"));
        assert_eq!(r.body, std::fs::read(www().join(&path[1..])).unwrap());
    }
    let idle = assert_closes_silently(&mut s, Duration::from_secs(8));
    assert!(
        idle >= Duration::from_secs(1) && idle < Duration::from_secs(6),
        "closed after {idle:?} (KeepaliveTime 2)"
    );
}

#[rstest]
#[case::http11_no_header(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "close")]
#[case::http10_no_header(b"GET / HTTP/1.0\r\n\r\n", "close")]
#[case::explicit_close(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", "close")]
#[case::close_wins(
    b"GET / HTTP/1.1\r\nHost: t\r\nConnection: keep-alive, close\r\n\r\n",
    "close"
)]
#[case::http10_keep_alive(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", "keep-alive")]
#[case::token_list(
    b"GET / HTTP/1.1\r\nHost: t\r\nConnection: Upgrade, KEEP-ALIVE\r\n\r\n",
    "keep-alive"
)]
fn connection_header_decides(#[case] req: &[u8], #[case] expected: &str) {
    // KeepaliveTime 2. "close": closed within 1 s (1 s clear of the timer); "keep-alive":
    // still open 1 s after the response (1 s clear of a close at once), closed by the timer
    // before 6 s.
    let (_c, run) = site(2, "GET HEAD");
    let mut s = run.connect();
    s.write_all(req).unwrap();
    let mut pending = Vec::new();
    let r = read_one(&mut s, &mut pending, false);
    assert_eq!(r.header("Connection"), Some(expected));
    assert!(pending.is_empty(), "bytes after the response: {pending:?}");
    let closed = assert_closes_silently(&mut s, Duration::from_secs(8));
    let (from, to) = match expected {
        "close" => (Duration::ZERO, Duration::from_secs(1)),
        _ => (Duration::from_secs(1), Duration::from_secs(6)),
    };
    assert!(
        closed >= from && closed < to,
        "Connection: {expected}, yet closed {closed:?} after the response (want [{from:?}, {to:?}))"
    );
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let (_c, run) = site(5, "GET HEAD");
    let mut s = run.connect();
    s.write_all(
        b"GET /files/notes.txt HTTP/1.1\r\nHost: t\r\nConnection: keep-alive\r\n\r\n\
          HEAD /index.html HTTP/1.1\r\nHost: t\r\nConnection: keep-alive\r\n\r\n\
          GET /nope HTTP/1.1\r\nHost: t\r\nConnection: keep-alive\r\n\r\n\
          GET /data/info.json HTTP/1.1\r\nHost: t\r\n\r\n",
    )
    .unwrap();
    let all = read_to_close(&mut s, Duration::from_secs(5));
    let file = |f: &str| Some(std::fs::read(www().join(f)).unwrap());
    // (HEAD?, status, Connection, the exact body when it is a file's)
    let want = [
        (false, 200, "keep-alive", file("files/notes.txt")),
        (true, 200, "keep-alive", Some(Vec::new())),
        (false, 404, "keep-alive", None),
        (false, 200, "close", file("data/info.json")),
    ];
    let mut at = 0;
    for (i, (head, status, connection, body)) in want.into_iter().enumerate() {
        let (r, used) = parse_response(&all[at..], head)
            .unwrap_or_else(|| panic!("response {} missing", i + 1));
        at += used;
        assert_eq!(
            (r.status, r.header("Connection")),
            (status, Some(connection)),
            "response {}",
            i + 1
        );
        if let Some(body) = body {
            assert_eq!(r.body, body, "body of response {}", i + 1);
        }
    }
    assert_eq!(at, all.len(), "bytes after the fourth response");
}

#[test]
fn a_stalled_half_request_does_not_block_others_and_times_out() {
    // KeepaliveTime 4: a started request must complete within 4 s.
    // The other client must be served before 3 s (1 s clear of the timer); the 408 must come
    // at 3 s or later (the timer starts after `t`: 1 s of margin) and before 9 s (1 s clear of
    // the 10 s cap a server ignoring KeepaliveTime would use).
    let (_c, run) = site(4, "GET HEAD");
    let mut slow = run.connect();
    let t = Instant::now();
    slow.write_all(b"GET /index.html HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let r = one(&run.exchange(b"GET /files/notes.txt HTTP/1.1\r\nHost: t\r\n\r\n"));
    assert_eq!(r.status, 200);
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "second client waited {:?}",
        t.elapsed()
    );
    let end = read_until_closed(&mut slow, Duration::from_secs(12));
    let closed = t.elapsed();
    assert!(end.closed_after.is_some(), "not closed after {closed:?}");
    let r = one(&end.bytes);
    assert_eq!(r.status, 408);
    assert_eq!(r.header("Connection"), Some("close"));
    assert!(
        closed >= Duration::from_secs(3) && closed < Duration::from_secs(9),
        "408 and close after {closed:?} (KeepaliveTime 4)"
    );
}

#[test]
fn a_request_sent_byte_by_byte_is_served() {
    let (_c, run) = site(5, "GET HEAD");
    let mut s = run.connect();
    s.set_nodelay(true).unwrap();
    for b in b"GET /files/notes.txt HTTP/1.1\r\nHost: x\r\n\r\n" {
        s.write_all(&[*b]).unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    let r = one(&read_to_close(&mut s, Duration::from_secs(5)));
    assert_eq!(r.status, 200);
}

#[rstest]
#[case::long_line(format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(9000)), 414)]
#[case::long_line_never_ended(format!("GET /{}", "a".repeat(20000)), 414)]
#[case::big_header(format!("GET / HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n", "b".repeat(40000)), 431)]
#[case::many_headers(format!("GET / HTTP/1.1\r\nHost: t\r\n{}\r\n", "X-A: 1\r\n".repeat(200)), 431)]
fn oversize_heads_get_4xx_and_the_server_survives(#[case] req: String, #[case] status: u16) {
    let (_c, run) = site(5, "GET HEAD");
    let r = one(&run.exchange(req.as_bytes()));
    assert_eq!(r.status, status);
    assert_eq!(r.header("Connection"), Some("close"));
    let r = one(&run.exchange(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"));
    assert_eq!(r.status, 200);
}

#[test]
fn random_garbage_never_kills_the_server() {
    let (_c, run) = site(1, "GET HEAD");
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for i in 0..40 {
        let len = 1 + (i * 37) % 300;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .chain(*b"\r\n\r\n")
            .collect();
        let r = one(&run.exchange(&bytes));
        assert!(
            (400..500).contains(&r.status),
            "garbage {i}: {}",
            r.status_line
        );
    }
    assert_eq!(
        one(&run.exchange(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")).status,
        200
    );
}

#[test]
fn broken_config_answers_500_to_everything_on_its_port() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let good = std::fs::read_to_string(Conf::new(&www(), 10, "GET HEAD").path()).unwrap();
    let text = good
        .replace("Listen 8888", &format!("Listen 127.0.0.1:{port}"))
        .replace(".png image/png\n", ".png\n");
    let conf = Conf::with_text(&text);
    let run = Running::start_args(&["--config", conf.path().to_str().unwrap()]);
    assert_eq!(run.addr.port(), port);
    let long = format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(9000));
    let reqs: [&[u8]; 5] = [
        b"GET /index.html HTTP/1.1\r\nHost: t\r\nConnection: keep-alive\r\n\r\n",
        b"HEAD /nope HTTP/1.0\r\n\r\n",
        b"GRT / HTTP/1.1\r\nHost: t\r\n\r\n",
        b"\x01\x02\r\n\r\n",
        long.as_bytes(),
    ];
    for req in reqs {
        let raw = run.exchange(req);
        let (r, used) = parse_response(&raw, req.starts_with(b"HEAD")).expect("a response");
        assert_eq!(
            used,
            raw.len(),
            "extra bytes after the response to {:?}",
            String::from_utf8_lossy(req)
        );
        assert_well_formed(&r);
        assert_eq!(r.status, 500);
        assert_eq!(r.header("Connection"), Some("close"));
    }
    let err = run.stderr.lock().unwrap().clone();
    assert!(
        err.contains("ws.conf:") && err.contains("content-type line `.png` has no type"),
        "{err}"
    );
}

/// Sends a plain GET on a fresh connection: `Ok` with the response, or `Err` with it when
/// the server refused the connection at once because every slot was busy ("too many
/// connections": the moment was wrong, not the server).
fn get_unless_full(run: &Running) -> Result<Resp, Resp> {
    let r = one(&run.exchange(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"));
    if r.status == 503 && r.text().contains("too many connections") {
        Err(r)
    } else {
        Ok(r)
    }
}

/// Retries `attempt` every 20 ms until it gives `Some`, for at most `within`.
fn retry<T>(within: Duration, what: &str, mut attempt: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + within;
    loop {
        if let Some(t) = attempt() {
            return t;
        }
        assert!(Instant::now() < end, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn when_full_the_stalest_waiting_connection_makes_room() {
    // KeepaliveTime 10: the idle and the stalled connections can only leave by eviction in
    // the 5 s each step is given (a server that does not evict frees its slot 5 s later).
    let conf = Conf::new(&www(), 10, "GET HEAD");
    let run = Running::start(&conf.path(), &["--max-connections", "1"]);
    // An idle connection is closed without a word to make room. (Until the server's thread
    // for it waits for its request, the slot is busy and a newcomer gets 503: try again.)
    let mut idle = run.connect();
    let r = retry(Duration::from_secs(5), "a 200 while idle", || {
        get_unless_full(&run).ok()
    });
    assert_eq!(r.status, 200);
    assert_closes_silently(&mut idle, Duration::from_secs(5));
    // A half-sent head is answered 503 (it may come back later).
    evicted_for_a_newcomer(&run, b"GET / HTTP/1.1\r\nHo", "a stalled head");
}

/// With one slot: a connection that sent `stalled` and stopped is evicted when a newcomer
/// needs the slot; the newcomer gets 200 and the stalled one 503 "slowest". An attempt decides
/// nothing when the stalled connection did not get the slot (refused, "too many
/// connections", while the last exchange's thread still held it).
fn evicted_for_a_newcomer(run: &Running, stalled: &[u8], what: &str) {
    let evicted = retry(Duration::from_secs(5), &format!("evicting {what}"), || {
        let mut slow = run.connect();
        slow.write_all(stalled).unwrap();
        let fresh = get_unless_full(run).ok()?;
        assert_eq!(fresh.status, 200, "{}", fresh.text());
        let r = one(&read_to_close(&mut slow, Duration::from_secs(5)));
        assert_eq!(r.status, 503, "{}", r.text());
        (!r.text().contains("too many connections")).then_some(r)
    });
    assert!(evicted.text().contains("slowest"), "{}", evicted.text());
}

#[test]
fn connections_past_the_cap_get_503_while_every_one_is_served() {
    let conf = Conf::new(&www(), 5, "GET HEAD");
    let run = Running::start(&conf.path(), &["--max-connections", "1"]);
    // A client that asks for 40 MiB and reads none keeps its thread busy writing: once its
    // first bytes arrive, that thread is writing (and stays blocked there).
    let mut hog = run.connect();
    let req = b"GET /files/big.bin HTTP/1.1\r\nHost: t\r\nConnection: keep-alive\r\n\r\n";
    hog.write_all(&req.repeat(40)).unwrap();
    let mut first = [0u8; 9];
    std::io::Read::read_exact(&mut hog, &mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 ");
    let r = one(&run.exchange(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"));
    assert_eq!(r.status, 503);
    assert!(r.text().contains("too many connections"), "{}", r.text());
    // Once the hog leaves, its slot frees (when its thread sees the reset): then served.
    drop(hog);
    let r = retry(Duration::from_secs(10), "a 200 after the hog left", || {
        get_unless_full(&run).ok()
    });
    assert_eq!(r.status, 200);
}

#[test]
fn access_log_lines_are_common_log_format() {
    let (_c, run) = site(5, "GET HEAD");
    one(&run.exchange(b"GET /files/notes.txt HTTP/1.1\r\nHost: t\r\n\r\n"));
    one(&run.exchange(b"GRT /\"x HTTP/1.1\r\nHost: t\r\n\r\n"));
    // A request cut by the client's close, after empty lines: logged by its request line.
    let mut s = run.connect();
    s.write_all(b"\r\n\r\nGET /half HTTP/1.1\r\nHo").unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(
        one(&read_to_close(&mut s, Duration::from_secs(5))).status,
        400
    );
    let lines = run.wait_stdout_lines(4, Duration::from_secs(5));
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert_eq!(lines[0], format!("listening on {}", run.addr));
    let len = std::fs::metadata(www().join("files/notes.txt"))
        .unwrap()
        .len();
    assert!(lines[1].starts_with("127.0.0.1 - - ["), "{}", lines[1]);
    assert!(
        lines[1].ends_with(&format!(
            " +0000] \"GET /files/notes.txt HTTP/1.1\" 200 {len}"
        )),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].contains("\"GRT /\\\"x HTTP/1.1\" 400 "),
        "{}",
        lines[2]
    );
    assert!(
        lines[3].contains("\"GET /half HTTP/1.1\" 400 "),
        "{}",
        lines[3]
    );
}

#[test]
fn sigterm_finishes_and_exits_0() {
    let (_c, mut run) = site(10, "GET HEAD");
    let mut idle = run.connect();
    idle.write_all(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: keep-alive\r\n\r\n")
        .unwrap();
    let mut pending = Vec::new();
    assert_eq!(read_one(&mut idle, &mut pending, false).status, 200);
    let t = Instant::now();
    unsafe { libc::kill(run.child.id() as i32, libc::SIGTERM) };
    assert_eq!(run.wait_exit(Duration::from_secs(8)), Some(0));
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "took {:?}",
        t.elapsed()
    );
    assert_closes_silently(&mut idle, Duration::from_secs(2));
}

#[test]
fn sigint_exits_0() {
    let (_c, mut run) = site(10, "GET HEAD");
    unsafe { libc::kill(run.child.id() as i32, libc::SIGINT) };
    assert_eq!(run.wait_exit(Duration::from_secs(8)), Some(0));
}

#[test]
fn expect_100_continue_is_honoured() {
    let (_c, run) = site(5, "GET HEAD POST");
    let mut s = run.connect();
    s.write_all(b"POST /index.html HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 25];
    std::io::Read::read_exact(&mut s, &mut buf).unwrap();
    assert_eq!(&buf, b"HTTP/1.1 100 Continue\r\n\r\n");
    s.write_all(b"a=1").unwrap();
    let r = one(&read_to_close(&mut s, Duration::from_secs(5)));
    assert_eq!(r.status, 200);
    assert!(r.text().contains("<pre><h1>a=1</h1></pre>"));
}

#[test]
fn a_request_body_is_consumed_and_the_connection_goes_on() {
    let (_c, run) = site(5, "GET HEAD");
    let mut s = run.connect();
    s.write_all(
        b"POST /index.html HTTP/1.1\r\nHost: t\r\nConnection: keep-alive\r\nContent-Length: 15\r\n\r\nGET /x HTTP/1.1\
          GET /files/notes.txt HTTP/1.1\r\nHost: t\r\n\r\n",
    )
    .unwrap();
    let all = read_to_close(&mut s, Duration::from_secs(5));
    let (first, used) = parse_response(&all, false).expect("first response");
    assert_eq!(
        (first.status, first.header("Connection")),
        (501, Some("keep-alive"))
    );
    let second = one(&all[used..]);
    assert_eq!(second.status, 200);
    assert_eq!(
        second.body,
        std::fs::read(www().join("files/notes.txt")).unwrap()
    );
}

#[rstest]
#[case::origin_form(b"GET /files/notes.txt HTTP/1.1\r\nHost: t\r\n\r\n")]
#[case::absolute_form(b"GET http://localhost/files/notes.txt HTTP/1.1\r\nHost: t\r\n\r\n")]
#[case::absolute_form_port(b"GET HTTP://127.0.0.1:9/files/notes.txt HTTP/1.1\r\nHost: x\r\n\r\n")]
#[case::http10_without_host(b"GET /files/notes.txt HTTP/1.0\r\n\r\n")]
#[case::chunked_get_body(
    b"GET /files/notes.txt HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=\"v\"\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n"
)]
fn target_forms_and_bodies_are_served(#[case] req: &[u8]) {
    let (_c, run) = site(5, "GET HEAD");
    let r = one(&run.exchange(req));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.body,
        std::fs::read(www().join("files/notes.txt")).unwrap()
    );
}

#[test]
fn a_chunked_post_body_is_decoded_and_the_next_request_follows() {
    let (_c, run) = site(5, "GET HEAD POST");
    let mut s = run.connect();
    s.write_all(
        b"POST /index.html HTTP/1.1\r\nHost: t\r\nConnection: keep-alive\r\n\
          Transfer-Encoding: chunked\r\n\r\n4\r\nname\r\nA; last\r\n=chunked!!\r\n0\r\n\r\n\
          GET /files/notes.txt HTTP/1.1\r\nHost: t\r\n\r\n",
    )
    .unwrap();
    let all = read_to_close(&mut s, Duration::from_secs(5));
    let (first, used) = parse_response(&all, false).expect("first response");
    assert_eq!(first.status, 200);
    assert!(
        first.text().contains("<pre><h1>name=chunked!!</h1></pre>"),
        "{}",
        first.text()
    );
    assert_eq!(one(&all[used..]).status, 200);
}

#[test]
fn expect_100_continue_comes_before_a_chunked_body() {
    let (_c, run) = site(5, "GET HEAD POST");
    let mut s = run.connect();
    s.write_all(
        b"POST /index.html HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n",
    )
    .unwrap();
    let mut buf = [0u8; 25];
    std::io::Read::read_exact(&mut s, &mut buf).unwrap();
    assert_eq!(&buf, b"HTTP/1.1 100 Continue\r\n\r\n");
    s.write_all(b"3\r\na=1\r\n0\r\n\r\n").unwrap();
    let r = one(&read_to_close(&mut s, Duration::from_secs(5)));
    assert!(r.text().contains("<pre><h1>a=1</h1></pre>"));
}

#[test]
fn a_body_of_1_mib_is_read_and_one_byte_more_is_refused() {
    let (_c, run) = site(10, "GET HEAD");
    let mut req =
        b"GET /index.html HTTP/1.1\r\nHost: t\r\nContent-Length: 1048576\r\n\r\n".to_vec();
    req.extend(std::iter::repeat_n(b'x', 1 << 20));
    let r = one(&run.exchange(&req));
    assert_eq!(r.status, 200, "{}", r.text());
    let r =
        one(&run
            .exchange(b"GET /index.html HTTP/1.1\r\nHost: t\r\nContent-Length: 1048577\r\n\r\n"));
    assert_eq!(r.status, 413, "{}", r.text());
}

#[test]
fn keepalive_time_0_answers_and_closes() {
    let (_c, run) = site(0, "GET HEAD");
    let mut s = run.connect();
    // KeepaliveTime 0 turns keep-alive off; it does not make the first request's wait zero.
    std::thread::sleep(Duration::from_secs(1));
    s.write_all(b"GET /index.html HTTP/1.1\r\nHost: t\r\nConnection: keep-alive\r\n\r\n")
        .unwrap();
    let r = one(&read_to_close(&mut s, Duration::from_secs(5)));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("Connection"), Some("close"));
}

#[test]
fn when_full_a_stalled_body_is_evicted_with_503() {
    // As `when_full_the_stalest_waiting_connection_makes_room`, with the head whole and the
    // body stalled: the server is reading the body when the newcomer needs the slot.
    let conf = Conf::new(&www(), 10, "GET HEAD");
    let run = Running::start(&conf.path(), &["--max-connections", "1"]);
    evicted_for_a_newcomer(
        &run,
        b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc",
        "a stalled body",
    );
}

#[test]
fn a_request_cut_by_the_clients_half_close_gets_400() {
    let (_c, run) = site(10, "GET HEAD");
    let mut s = run.connect();
    s.write_all(b"GET /index.html HTTP/1.1\r\nHo").unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let r = one(&read_to_close(&mut s, Duration::from_secs(5)));
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.text().contains("in the middle of a request"),
        "{}",
        r.text()
    );
}

#[test]
fn a_pipelined_request_cut_in_two_is_completed() {
    let (_c, run) = site(10, "GET HEAD");
    let mut s = run.connect();
    // The first request whole and the start of the second in one write; the rest of the
    // second once the first is answered.
    s.write_all(
        b"GET /index.html HTTP/1.1\r\nHost: t\r\nConnection: keep-alive\r\n\r\nGET /files/notes.txt HT",
    )
    .unwrap();
    let mut pending = Vec::new();
    let first = read_one(&mut s, &mut pending, false);
    assert_eq!(first.status, 200);
    s.write_all(b"TP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let second = read_one(&mut s, &mut pending, false);
    assert_eq!(second.status, 200, "{}", second.text());
    assert_eq!(
        second.body,
        std::fs::read(www().join("files/notes.txt")).unwrap()
    );
}

#[test]
fn a_folder_served_by_its_second_index_name_follows_a_first_one_that_appears() {
    // Only the first DirectoryIndex name may be cached for a folder: a page served by the
    // second name stops being the folder's page as soon as a page with the first name appears.
    let site = tempfile::tempdir().unwrap();
    let root = site.path().join("www");
    std::fs::create_dir_all(root.join("docs")).unwrap();
    std::fs::write(root.join("docs/index.htm"), "second name").unwrap();
    let conf = Conf::new(&root, 10, "GET HEAD");
    let run = Running::start(&conf.path(), &[]);
    let get = || one(&run.exchange(b"GET /docs/ HTTP/1.1\r\nHost: t\r\n\r\n"));
    assert_eq!(get().body, b"second name");
    assert_eq!(get().body, b"second name");
    std::fs::write(root.join("docs/index.html"), "first name").unwrap();
    assert_eq!(get().body, b"first name");
}

#[test]
fn a_head_request_first_does_not_fill_the_cache_with_an_empty_body() {
    let (_c, run) = site(10, "GET HEAD");
    let want = std::fs::read(www().join("files/notes.txt")).unwrap();
    let head = run.exchange(b"HEAD /files/notes.txt HTTP/1.1\r\nHost: t\r\n\r\n");
    let (r, _) = parse_response(&head, true).expect("a HEAD response");
    assert_eq!(r.status, 200);
    for _ in 0..2 {
        let r = one(&run.exchange(b"GET /files/notes.txt HTTP/1.1\r\nHost: t\r\n\r\n"));
        assert_eq!(r.body, want);
    }
}

#[test]
fn a_stalled_head_gets_408_after_10_s_even_with_a_longer_keepalive_time() {
    // KeepaliveTime 20: the idle wait between requests is 20 s, but a started request must
    // be whole within 10 s (REQUEST_TIMEOUT). Windows 1 s clear of 10 s and far from 20 s.
    let (_c, run) = site(20, "GET HEAD");
    let mut s = run.connect();
    let t = Instant::now();
    s.write_all(b"GET /index.html HTTP/1.1\r\nHo").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let raw = read_to_close(&mut s, Duration::from_secs(20));
    let took = t.elapsed();
    assert_eq!(one(&raw).status, 408);
    assert!(
        took >= Duration::from_secs(9) && took < Duration::from_secs(15),
        "408 after {took:?}, expected about 10 s"
    );
}
