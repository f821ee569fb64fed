//! `harness record`: a case recorded from a server is valid (`harness check`), passes at that
//! server (and at another instance of it, on another port), and fails at a server that answers
//! with another Content-Type or leaves the connection otherwise; typed input is sent with CRLF
//! or LF line ends as asked, and the recorded case sends exactly the same bytes again; a body
//! that is a file of the site is `body file`.
//!
//! Servers here are the reference server in-process (`server` crate) and [`TestServer`], a
//! tiny loopback server with one canned answer that keeps every request it reads. Both stop
//! when dropped.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use common::{closed_port, harness_marked, repo_root};

/// The reference server's KeepaliveTime: 3 s clear of the recorder's 2 s watch.
const KEEPALIVE: u32 = 5;

/// The reference server, serving the repository's `www/`, on an ephemeral loopback port.
struct Reference {
    server: server::Server,
    _dir: tempfile::TempDir,
}

impl Reference {
    fn start() -> Reference {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("ws.conf");
        let conf = format!(
            "Listen 8888\nDocumentRoot \"{}\"\nDirectoryIndex index.html\n.html text/html\n\
             .css text/css\n.txt text/plain\nKeepaliveTime {KEEPALIVE}\nRequestMethodSupport GET HEAD\n",
            www().display()
        );
        std::fs::write(&config, conf).unwrap();
        let server = server::Server::start(server::ServerOptions {
            config,
            listen: Some("127.0.0.1:0".into()),
            max_connections: 64,
            access_log: false,
        })
        .expect("the reference server starts");
        Reference { server, _dir: dir }
    }

    fn target(&self) -> String {
        format!("127.0.0.1:{}", self.server.local_addr().port())
    }
}

fn www() -> PathBuf {
    repo_root().join("www")
}

/// A loopback server that answers every request head it reads with `answer`, then closes the
/// connection, or keeps it for the next request (`keep_open`). It keeps each request's bytes.
/// Dropping it closes its connections and joins its threads.
struct TestServer {
    port: u16,
    seen: Arc<Mutex<Vec<Vec<u8>>>>,
    stop: Arc<AtomicBool>,
    streams: Arc<Mutex<Vec<TcpStream>>>,
    threads: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: Option<JoinHandle<()>>,
}

impl TestServer {
    fn new(answer: Vec<u8>, keep_open: bool) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let streams = Arc::new(Mutex::new(Vec::new()));
        let threads = Arc::new(Mutex::new(Vec::new()));
        let (s, st, sm, th) = (seen.clone(), stop.clone(), streams.clone(), threads.clone());
        let accept = std::thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                let Ok((stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                stream.set_nonblocking(false).unwrap();
                sm.lock().unwrap().push(stream.try_clone().unwrap());
                let (seen, answer) = (s.clone(), answer.clone());
                let t = std::thread::spawn(move || {
                    serve(&stream, &answer, keep_open, &seen);
                    // Its clone in `streams` keeps the socket: close it here.
                    let _ = stream.shutdown(Shutdown::Both);
                });
                th.lock().unwrap().push(t);
            }
        });
        TestServer {
            port,
            seen,
            stop,
            streams,
            threads,
            accept: Some(accept),
        }
    }

    fn target(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The requests read so far, in order.
    fn requests(&self) -> Vec<Vec<u8>> {
        self.seen.lock().unwrap().clone()
    }
}

/// Serves one connection: each request head is kept and answered, until the client closes
/// (or 5 s pass without a request).
fn serve(mut s: &TcpStream, answer: &[u8], keep_open: bool, seen: &Mutex<Vec<Vec<u8>>>) {
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    loop {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let ends = |b: &[u8]| {
            b.windows(4).any(|w| w == b"\r\n\r\n")
                || b.windows(2).any(|w| w == b"\n\n")
                || b.windows(3).any(|w| w == b"\n\r\n")
        };
        while !ends(&buf) {
            match s.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        seen.lock().unwrap().push(buf);
        if s.write_all(answer).is_err() || !keep_open {
            return;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
        for s in self.streams.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
        for t in self.threads.lock().unwrap().drain(..) {
            let _ = t.join();
        }
    }
}

/// `harness record --target TARGET ARGS` with `input` on stdin, from the repository's root.
fn record(target: &str, input: &[u8], args: &[&str]) -> Output {
    harness_marked("record")
        .args(["record", "--target", target])
        .args(args)
        .write_stdin(input.to_vec())
        .output()
        .unwrap()
}

/// The recorded case's text; the recording must have succeeded.
fn recorded(target: &str, input: &[u8], args: &[&str]) -> String {
    let out = record(target, input, args);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "harness record failed: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// A case file holding `text`, in a fresh folder.
fn case_file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("recorded.case");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

/// `harness check FILE`.
fn check(path: &Path) -> Output {
    harness_marked("record")
        .args(["check", path.to_str().unwrap()])
        .output()
        .unwrap()
}

/// `harness run FILE --target TARGET`: (exit code, stdout).
fn run_at(path: &Path, target: &str) -> (i32, String) {
    let out = harness_marked("record")
        .args([
            "run",
            path.to_str().unwrap(),
            "--target",
            target,
            "--color",
            "never",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.code().unwrap_or(-1), text)
}

fn assert_passes(path: &Path, target: &str) {
    let (code, out) = run_at(path, target);
    assert_eq!(code, 0, "the case should pass at {target}:\n{out}");
    assert!(out.contains("PASS"), "{out}");
}

fn assert_fails(path: &Path, target: &str, because: &str) -> String {
    let (code, out) = run_at(path, target);
    assert_eq!(code, 1, "the case should fail at {target}:\n{out}");
    assert!(out.contains("FAIL"), "{out}");
    assert!(
        out.contains(because),
        "the failure should mention {because:?}:\n{out}"
    );
    out
}

fn index_len() -> usize {
    std::fs::read(www().join("index.html")).unwrap().len()
}

/// A GET of /index.html that asks to close, typed with LF line ends.
fn get_index(target: &str) -> Vec<u8> {
    format!("GET /index.html HTTP/1.1\nHost: {target}\nConnection: close\n\n").into_bytes()
}

#[test]
fn a_recorded_case_is_valid_and_passes_at_its_server_on_any_port() {
    let reference = Reference::start();
    let text = recorded(&reference.target(), &get_index(&reference.target()), &[]);
    for line in [
        "send\n| GET /index.html HTTP/1.1\n| Host: {host}:{port}\n| Connection: close\n|\n",
        "response within 2s\nstatus 200\n",
        "header Content-Type: text/html\n",
        &format!("header Content-Length: {}\n", index_len()),
        "header Connection: close\n",
        "body file index.html\n",
        "closed within 2s\n",
        "tags: recorded\n",
        &format!("spec: recorded from {} on ", reference.target()),
    ] {
        assert!(text.contains(line), "no {line:?} in:\n{text}");
    }
    for varying in ["Date", "Server"] {
        assert!(!text.contains(varying), "{varying} is checked:\n{text}");
    }
    let (_dir, path) = case_file(&text);
    let out = check(&path);
    assert!(
        out.status.success(),
        "harness check refuses it: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_passes(&path, &reference.target());
    // `{host}:{port}` in Host: the same case at another instance, on another port.
    let other = Reference::start();
    assert_passes(&path, &other.target());
}

#[test]
fn a_recorded_case_fails_at_a_server_that_sends_another_content_type() {
    let reference = Reference::start();
    let text = recorded(&reference.target(), &get_index(&reference.target()), &[]);
    let (_dir, path) = case_file(&text);
    let body = std::fs::read(www().join("index.html")).unwrap();
    let answer = |ty: &str| {
        let mut a = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: {ty}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        a.extend_from_slice(&body);
        a
    };
    // The same answer with the same type passes: only the type differs below.
    let same = TestServer::new(answer("text/html"), false);
    assert_passes(&path, &same.target());
    let other = TestServer::new(answer("text/plain"), false);
    let out = assert_fails(
        &path,
        &other.target(),
        "expected header Content-Type: text/html",
    );
    assert!(out.contains("text/plain"), "{out}");
}

const ANSWER: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";

/// Records `input` at a fresh [`TestServer`] and returns the case and the bytes the server
/// read; then replays the case there and checks it passes and sends those bytes again.
fn sent_and_replayed(input: &[u8], ends: &str) -> (String, Vec<u8>) {
    let server = TestServer::new(ANSWER.to_vec(), false);
    let text = recorded(&server.target(), input, &["--line-ends", ends]);
    let sent = server.requests();
    assert_eq!(sent.len(), 1, "one request recorded: {sent:?}");
    let (_dir, path) = case_file(&text);
    assert!(
        check(&path).status.success(),
        "harness check refuses:\n{text}"
    );
    assert_passes(&path, &server.target());
    let again = server.requests();
    assert_eq!(
        again.get(1),
        Some(&sent[0]),
        "the case sends other bytes than were recorded:\n{text}"
    );
    (text, sent[0].clone())
}

#[test]
fn typed_input_is_sent_with_crlf_or_lf_as_asked_and_replayed_byte_for_byte() {
    let typed_lf = b"GET /a HTTP/1.1\nHost: x\n\n";
    let typed_crlf = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
    let crlf = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n".to_vec();
    let lf = b"GET /a HTTP/1.1\nHost: x\n\n".to_vec();

    let (text, sent) = sent_and_replayed(typed_lf, "crlf");
    assert_eq!(sent, crlf, "LF typed, sent with CRLF");
    assert!(
        text.contains("send\n| GET /a HTTP/1.1\n| Host: x\n|\n"),
        "{text}"
    );
    let (_, sent) = sent_and_replayed(typed_crlf, "crlf");
    assert_eq!(sent, crlf, "CRLF typed is not doubled");

    let (text, sent) = sent_and_replayed(typed_crlf, "lf");
    assert_eq!(sent, lf, "CRLF typed, sent with bare LF");
    assert!(
        text.contains("send raw\n| GET /a HTTP/1.1\\n\n| Host: x\\n\n| \\n\n"),
        "{text}"
    );
}

#[test]
fn raw_input_is_sent_and_replayed_as_it_is() {
    // A tab, a bare CR, a NUL, a byte above 0x7f, braces, a trailing space, a mixed line end.
    let input = b"GET /a?{b} HTTP/1.1\r\nX-A: a\tb\rc\0\xff \nHost: y \r\n\r\n";
    let (text, sent) = sent_and_replayed(input, "raw");
    assert_eq!(sent, input);
    assert!(text.contains("send raw\n"), "{text}");
    assert!(
        text.contains("| X-A: a\\tb\\rc\\0\\xff \\n\n"),
        "escapes for the bytes:\n{text}"
    );
    // A typed line that ends in a space keeps it (a case file has no trailing spaces).
    let (text, sent) = sent_and_replayed(b"GET /a HTTP/1.1\nX-B: b \n\n", "crlf");
    assert_eq!(sent, b"GET /a HTTP/1.1\r\nX-B: b \r\n\r\n");
    assert!(text.contains("| X-B: b\\x20\n"), "{text}");
}

#[test]
fn a_body_equal_to_a_file_of_the_site_is_body_file() {
    let reference = Reference::start();
    let t = reference.target();
    let get = |path: &str| format!("GET {path} HTTP/1.0\n\n").into_bytes();
    let text = recorded(&t, &get("/css/style.css"), &[]);
    assert!(text.contains("\nbody file css/style.css\n"), "{text}");
    let text = recorded(&t, &get("/"), &[]);
    assert!(text.contains("\nbody file index.html\n"), "{text}");
    // An error page is no file of the site: its bytes are written out.
    let text = recorded(&t, &get("/nope.html"), &[]);
    assert!(!text.contains("body file"), "{text}");
    assert!(
        text.contains("\nbody is raw\n| <!DOCTYPE html>\\n\n"),
        "{text}"
    );
    let (_dir, path) = case_file(&text);
    assert_passes(&path, &t);
    // Another site, without that file: the body is written out.
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(elsewhere.path().join("other.css"), "p {}\n").unwrap();
    let www = elsewhere.path().to_str().unwrap();
    let text = recorded(&t, &get("/css/style.css"), &["--www", www]);
    assert!(!text.contains("body file"), "{text}");
    assert!(text.contains("\nbody is raw\n"), "{text}");
}

#[test]
fn a_closing_server_gives_closed_and_a_keep_alive_one_gives_open() {
    let reference = Reference::start();
    let t = reference.target();
    let keep = format!("GET /index.html HTTP/1.1\nHost: {t}\nConnection: keep-alive\n\n");
    let open_text = recorded(&t, keep.as_bytes(), &[]);
    assert!(open_text.contains("\nopen for 1s\n"), "{open_text}");
    assert!(!open_text.contains("closed within"), "{open_text}");
    let close_text = recorded(&t, &get_index(&t), &[]);
    assert!(close_text.contains("\nclosed within 2s\n"), "{close_text}");
    assert!(!close_text.contains("open for"), "{close_text}");

    let (_d1, open_case) = case_file(&open_text);
    let (_d2, close_case) = case_file(&close_text);
    assert_passes(&open_case, &t);
    assert_passes(&close_case, &t);

    // The same answers with the other fate fail on it.
    let body = std::fs::read(www().join("index.html")).unwrap();
    let answer = |conn: &str| {
        let mut a = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: {conn}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        a.extend_from_slice(&body);
        a
    };
    let closes = TestServer::new(answer("keep-alive"), false);
    assert_fails(&open_case, &closes.target(), "expected open for 1s");
    let stays = TestServer::new(answer("close"), true);
    assert_fails(&close_case, &stays.target(), "expected closed within 2s");
}

#[test]
fn a_response_to_head_has_no_body_to_check() {
    let reference = Reference::start();
    let t = reference.target();
    let text = recorded(&t, b"HEAD /css/style.css HTTP/1.0\n\n", &["--wait", "4"]);
    let len = std::fs::metadata(www().join("css/style.css"))
        .unwrap()
        .len();
    assert!(
        text.contains(&format!("header Content-Length: {len}\n")),
        "{text}"
    );
    assert!(!text.contains("body"), "{text}");
    assert!(text.contains("\nclosed within 2s\n"), "{text}");
    let (_dir, path) = case_file(&text);
    assert_passes(&path, &t);
}

#[test]
fn a_server_that_closes_without_answering_is_recorded_as_closed() {
    let server = TestServer::new(Vec::new(), false);
    let text = recorded(&server.target(), b"BREW /pot HTTP/1.1\n\n", &[]);
    assert!(!text.contains("response within"), "{text}");
    assert!(
        text.contains("title: BREW /pot HTTP/1.1: closed without a response\n"),
        "{text}"
    );
    assert!(text.contains("\nclosed within 2s\n"), "{text}");
    let (_dir, path) = case_file(&text);
    assert!(check(&path).status.success());
    assert_passes(&path, &server.target());
    let answers = TestServer::new(ANSWER.to_vec(), false);
    assert_fails(&path, &answers.target(), "expected the connection closed");
}

#[test]
fn mistakes_are_explained() {
    let out = record(
        &format!("127.0.0.1:{}", closed_port()),
        b"GET / HTTP/1.0\n\n",
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot connect to 127.0.0.1:"), "{err}");
    assert!(err.contains("is the server running there?"), "{err}");
    assert!(out.stdout.is_empty(), "no case without a response");

    let server = TestServer::new(ANSWER.to_vec(), false);
    let out = record(&server.target(), b"", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no request: the input is empty"));

    let out = record(
        &server.target(),
        b"GET / HTTP/1.0\n\n",
        &["--tags", "two words"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not one word"));
}
