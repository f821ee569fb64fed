//! Shared helpers for the integration tests: a temp config, the real binary started on port 0
//! (killed on drop), and raw-TCP exchanges with every read bounded in time.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const TYPES: &str = ".html text/html\n.htm text/html\n.txt text/plain\n.css text/css\n\
.js application/javascript\n.png image/png\n.gif image/gif\n.jpg image/jpeg\n.jpeg image/jpeg\n\
.ico image/x-icon\n.json application/json\n.pdf application/pdf\n.bin application/octet-stream\n";

/// The repository's `www/`.
pub fn www() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../www")
        .canonicalize()
        .unwrap()
}

/// A temp folder holding `ws.conf` (and whatever else a test puts there).
pub struct Conf {
    pub dir: tempfile::TempDir,
}

impl Conf {
    /// A config serving `root` with the shipped content types.
    pub fn new(root: &Path, keepalive: u64, methods: &str) -> Conf {
        Conf::with_text(&format!(
            "# test config\nListen 8888\nDocumentRoot \"{}\"\nDirectoryIndex index.html index.htm\n{TYPES}KeepaliveTime {keepalive}\nRequestMethodSupport {methods}\n",
            root.display()
        ))
    }

    pub fn with_text(text: &str) -> Conf {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ws.conf"), text).unwrap();
        Conf { dir }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("ws.conf")
    }
}

/// The server binary, running; killed (and reaped) on drop.
pub struct Running {
    pub child: Child,
    pub addr: SocketAddr,
    pub stdout: Arc<Mutex<Vec<String>>>,
    pub stderr: Arc<Mutex<String>>,
}

impl Running {
    /// Starts the binary with `--config conf --listen 127.0.0.1:0` plus `extra` args.
    pub fn start(conf: &Path, extra: &[&str]) -> Running {
        let mut args = vec![
            "--config",
            conf.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ];
        args.extend_from_slice(extra);
        Running::start_args(&args)
    }

    pub fn start_args(args: &[&str]) -> Running {
        let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the server binary");
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let out = BufReader::new(child.stdout.take().unwrap());
        let lines = stdout.clone();
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                let _ = tx.send(line.clone());
                lines.lock().unwrap().push(line);
            }
        });
        let mut err = child.stderr.take().unwrap();
        let errs = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 1024];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                errs.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let mut running = Running {
            child,
            addr: "127.0.0.1:1".parse().unwrap(),
            stdout,
            stderr,
        };
        let first = rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| {
                panic!(
                    "no `listening on` line; stderr: {}",
                    running.stderr.lock().unwrap()
                )
            });
        let addr = first
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("first line: {first:?}"));
        running.addr = addr.parse().unwrap();
        running
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn connect(&self) -> TcpStream {
        let s = TcpStream::connect_timeout(&self.addr, Duration::from_secs(5)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
        s
    }

    /// Sends `bytes` on a fresh connection and reads until the server closes (max 5 s).
    pub fn exchange(&self, bytes: &[u8]) -> Vec<u8> {
        let mut s = self.connect();
        s.write_all(bytes).unwrap();
        read_to_close(&mut s, Duration::from_secs(5))
    }

    /// Waits (bounded, polling) until the server has printed at least `n` lines on stdout
    /// (the `listening on` line included) and returns them all.
    pub fn wait_stdout_lines(&self, n: usize, within: Duration) -> Vec<String> {
        let end = Instant::now() + within;
        loop {
            let lines = self.stdout.lock().unwrap().clone();
            if lines.len() >= n {
                return lines;
            }
            assert!(
                Instant::now() < end,
                "only {} of {n} stdout lines within {within:?}: {lines:?}",
                lines.len()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits (bounded) for the process to exit and returns its exit code.
    pub fn wait_exit(&mut self, within: Duration) -> Option<i32> {
        let end = Instant::now() + within;
        while Instant::now() < end {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads until end-of-file or `limit` passes (the bytes either way).
pub fn read_to_close(s: &mut TcpStream, limit: Duration) -> Vec<u8> {
    read_until_closed(s, limit).bytes
}

/// How a connection ended within a time limit.
#[derive(Debug)]
pub struct Ending {
    /// Everything received.
    pub bytes: Vec<u8>,
    /// When the peer closed (end-of-file or reset), counted from the call; `None`: still
    /// open when the limit passed.
    pub closed_after: Option<Duration>,
}

/// Reads until the peer closes or `limit` passes: every read is bounded by the time left, so
/// the call never takes much longer than `limit`. The socket's read timeout is restored.
pub fn read_until_closed(s: &mut TcpStream, limit: Duration) -> Ending {
    let start = Instant::now();
    let end = start + limit;
    let old = s.read_timeout().unwrap();
    let mut bytes = Vec::new();
    let mut buf = [0u8; 16384];
    let mut closed_after = None;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        s.set_read_timeout(Some(left)).unwrap();
        match s.read(&mut buf) {
            Ok(0) => {
                closed_after = Some(start.elapsed());
                break;
            }
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            Err(e) if is_timeout(&e) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => {
                closed_after = Some(start.elapsed());
                break;
            }
        }
    }
    s.set_read_timeout(old).unwrap();
    Ending {
        bytes,
        closed_after,
    }
}

/// Whether `e` is a read timing out.
pub fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// Asserts that the peer closes `s` within `limit` without sending anything more, and returns
/// when it closed.
pub fn assert_closes_silently(s: &mut TcpStream, limit: Duration) -> Duration {
    let end = read_until_closed(s, limit);
    assert!(
        end.bytes.is_empty(),
        "unexpected bytes before the close: {:?}",
        String::from_utf8_lossy(&end.bytes)
    );
    end.closed_after
        .unwrap_or_else(|| panic!("still open after {limit:?}"))
}

/// One parsed response.
#[derive(Debug)]
pub struct Resp {
    pub status_line: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub head_raw: Vec<u8>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Parses one response at the start of `buf` (framed by Content-Length, or no body for HEAD);
/// returns it and the number of bytes it used.
pub fn parse_response(buf: &[u8], head_request: bool) -> Option<(Resp, usize)> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&buf[..end - 4]).ok()?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?.to_string();
    let status = status_line.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (n, v) = l.split_once(':').expect("header line with a colon");
            (n.to_string(), v.trim().to_string())
        })
        .collect();
    let len: usize = if head_request {
        0
    } else {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))?
            .1
            .parse()
            .ok()?
    };
    if buf.len() < end + len {
        return None;
    }
    let resp = Resp {
        status_line,
        status,
        headers,
        head_raw: buf[..end].to_vec(),
        body: buf[end..end + len].to_vec(),
    };
    Some((resp, end + len))
}

/// Parses a whole buffer that must hold exactly one response.
pub fn one(buf: &[u8]) -> Resp {
    let (r, used) = parse_response(buf, false)
        .unwrap_or_else(|| panic!("no full response in {:?}", String::from_utf8_lossy(buf)));
    assert_eq!(
        used,
        buf.len(),
        "bytes after the response: {:?}",
        String::from_utf8_lossy(&buf[used..])
    );
    r
}

/// Reads one response from a kept-alive connection (bounded in time), keeping extra bytes in `pending`.
pub fn read_one(s: &mut TcpStream, pending: &mut Vec<u8>, head_request: bool) -> Resp {
    let end = Instant::now() + Duration::from_secs(5);
    let mut buf = [0u8; 16384];
    loop {
        if let Some((r, used)) = parse_response(pending, head_request) {
            pending.drain(..used);
            return r;
        }
        assert!(
            Instant::now() < end,
            "no response within 5 s; got {:?}",
            String::from_utf8_lossy(pending)
        );
        match s.read(&mut buf) {
            Ok(0) => panic!(
                "closed before a full response; got {:?}",
                String::from_utf8_lossy(pending)
            ),
            Ok(n) => pending.extend_from_slice(&buf[..n]),
            Err(e) => panic!("read error {e}; got {:?}", String::from_utf8_lossy(pending)),
        }
    }
}

/// Every response must have this form, whatever its status.
pub fn assert_well_formed(r: &Resp) {
    assert!(r.status_line.starts_with("HTTP/1.1 "), "{}", r.status_line);
    let head = std::str::from_utf8(&r.head_raw).unwrap();
    assert!(
        !head.replace("\r\n", "").contains('\n'),
        "bare LF in head: {head:?}"
    );
    for h in ["Date", "Server", "Content-Length", "Connection"] {
        assert!(r.header(h).is_some(), "missing {h} in {head}");
    }
}
