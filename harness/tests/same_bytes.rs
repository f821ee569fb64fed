//! Same bytes, same verdict: a case run at a server that sends the very same response bytes
//! cut into other reads (with short pauses between them), and closes the connection at once or
//! only later, gets the same verdict and the same messages, whatever follows the response
//! (padding, a response nobody asked for, more bytes than its Content-Length).
//!
//! The pauses add up to at most 180 ms, half the time a response is given to settle
//! (`exec::response::trailing::SETTLE`): bytes later than that are another matter (and the
//! reason the window exists). The pure reader is proved the same way, over many more cuts, in
//! `exec/response/tests.rs`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::thread::JoinHandle;
use std::time::Duration;

use proptest::prelude::*;

use harness::case::{parse_case, Vars};
use harness::declared::Declared;
use harness::exec::{run_case, RunOptions, Target};
use harness::outcome::Verdict;

/// When the server closes after its last byte.
#[derive(Debug, Clone, Copy)]
enum Close {
    AtOnce,
    /// After the response has settled (`SETTLE` is 300 ms).
    Later,
}

/// A server for one connection: reads the request head, writes `pieces` with `pause` between
/// them, then closes as `close` says.
fn serve_once(pieces: Vec<Vec<u8>>, pause: Duration, close: Close) -> (u16, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let thread = std::thread::spawn(move || {
        listener.set_nonblocking(false).unwrap();
        let (mut s, _) = listener.accept().unwrap();
        s.set_nodelay(true).unwrap();
        read_head(&mut s);
        for (i, p) in pieces.iter().enumerate() {
            if i > 0 {
                std::thread::sleep(pause);
            }
            let _ = s.write_all(p);
        }
        if let Close::Later = close {
            std::thread::sleep(Duration::from_millis(600));
        }
    });
    (port, thread)
}

fn read_head(s: &mut TcpStream) {
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

const CASE: &str =
    "title: same bytes\ntimeout: 6s\n\nsend\n| GET / HTTP/1.1\n| Host: {host}\n|\n\n\
                    response within 2s\nstatus 200\nbody file hello.txt\n";

/// The verdict and messages of the case at a server sending `bytes` cut at `cuts`.
fn verdict(bytes: &[u8], cuts: &[usize], pause_ms: u64, close: Close) -> (Verdict, Vec<String>) {
    let mut ends: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    ends.extend([0, bytes.len()]);
    ends.sort_unstable();
    ends.dedup();
    let pieces: Vec<Vec<u8>> = ends
        .windows(2)
        .map(|w| bytes[w[0]..w[1]].to_vec())
        .collect();
    let (port, server) = serve_once(pieces, Duration::from_millis(pause_ms), close);
    let case = parse_case(CASE, Path::new("same.case"), "same").unwrap();
    let mut vars = Vars::new();
    vars.insert("keepalive".into(), "5".into());
    vars.insert("host".into(), "127.0.0.1".into());
    vars.insert("port".into(), port.to_string());
    let opts = RunOptions {
        target: Target {
            host: "127.0.0.1".into(),
            port,
        },
        vars,
        www: std::env::temp_dir(),
        strict: false,
        lenient: true,
        declared: Declared::default(),
        jobs: 1,
        max_response_bytes: 1 << 20,
        connect_timeout: Duration::from_secs(2),
    };
    let www = tempfile::tempdir().unwrap();
    std::fs::write(www.path().join("hello.txt"), "hello").unwrap();
    let opts = RunOptions {
        www: www.path().to_path_buf(),
        ..opts
    };
    let r = run_case(&case, &opts);
    server.join().unwrap();
    let site = www.path().display().to_string();
    let messages = r
        .messages
        .iter()
        .map(|m| m.replace(&site, "{www}"))
        .collect();
    (r.verdict, messages)
}

/// Responses as student servers send them, and what may follow them.
/// The bytes, and where the response ends and what follows it begins.
fn responses() -> impl Strategy<Value = (Vec<u8>, usize)> {
    let response = prop_oneof![
        Just(&b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"[..]),
        Just(&b"HTTP/1.1 200 OK\nContent-Length: 5\n\nhello"[..]),
        Just(&b"HTTP/1.1 200\r\nContent-Length: 5\r\n\r\nhello"[..]),
        Just(&b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n"[..]),
        Just(&b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello"[..]),
        Just(&b"HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nnop"[..]),
        Just(&b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nhello"[..]),
    ];
    let after = prop_oneof![
        Just(&b""[..]),
        Just(&b"\0\0\0\0\0\0"[..]),
        Just(&b"\r\n"[..]),
        Just(&b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"[..]),
    ];
    (response, after).prop_map(|(r, a)| ([r, a].concat(), r.len()))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn cutting_the_bytes_or_moving_the_close_never_changes_the_verdict(
        (bytes, end) in responses(),
        mut cuts in proptest::collection::vec(any::<usize>(), 0..5),
        pause_ms in 5u64..30,
        later: bool,
    ) {
        let whole = verdict(&bytes, &[], 0, Close::AtOnce);
        let close = if later { Close::Later } else { Close::AtOnce };
        // What follows the response always comes in a later read.
        cuts.push(end);
        let cut = verdict(&bytes, &cuts, pause_ms, close);
        prop_assert_eq!(cut, whole, "{:?}", String::from_utf8_lossy(&bytes));
    }
}
