//! Closing without losing the response ("lingering close"): when the server closes a
//! connection whose client is still sending, a plain close makes the kernel answer the unread
//! input with a reset, and a reset throws away whatever of the response the server's socket
//! had not delivered yet. The client here reads through a small receive buffer, so most of a
//! 1 MiB response is still queued on the server's side when it closes: without the lingering
//! close, the response arrives cut short.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::io::FromRawFd;
use std::time::{Duration, Instant};

use common::{parse_response, read_to_close, www, Conf, Running};

/// A client socket with a 4 KiB receive buffer (set before connecting, so the window is
/// small from the start), connected to `addr`.
fn narrow_client(addr: SocketAddr) -> TcpStream {
    let SocketAddr::V4(v4) = addr else {
        panic!("the server listens on 127.0.0.1")
    };
    // SAFETY: plain socket calls on a descriptor this function owns until it is handed to
    // `TcpStream`, which closes it.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let stream = TcpStream::from_raw_fd(fd);
        let size: libc::c_int = 4096;
        let r = libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            &size as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
        assert_eq!(r, 0, "SO_RCVBUF: {}", std::io::Error::last_os_error());
        let sa = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: v4.port().to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(*v4.ip()).to_be(),
            },
            sin_zero: [0; 8],
        };
        let r = libc::connect(
            fd,
            &sa as *const libc::sockaddr_in as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        );
        assert_eq!(r, 0, "connect: {}", std::io::Error::last_os_error());
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream
            .set_write_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream
    }
}

/// Sends `request`, waits for the response's first byte (the server has read the request
/// and is writing), then sends `more` (which the server never reads as a request), and
/// reads everything until the close. Returns all bytes, the first one included.
fn request_then_keep_sending(addr: SocketAddr, request: &[u8], more: &[u8]) -> Vec<u8> {
    let mut s = narrow_client(addr);
    s.write_all(request).unwrap();
    let mut first = [0u8; 1];
    assert_eq!(s.read(&mut first).unwrap(), 1, "the response begins");
    s.write_all(more).unwrap();
    let mut all = first.to_vec();
    all.extend(read_to_close(&mut s, Duration::from_secs(20)));
    all
}

/// Parses the responses in `bytes` (GET responses, with Content-Length).
fn responses(mut bytes: &[u8]) -> Vec<(u16, usize)> {
    let mut out = Vec::new();
    while let Some((r, used)) = parse_response(bytes, false) {
        out.push((r.status, r.body.len()));
        bytes = &bytes[used..];
    }
    assert!(
        bytes.is_empty(),
        "{} bytes after the last whole response: a response was cut short",
        bytes.len()
    );
    out
}

const BIG: usize = 1 << 20;

#[test]
fn a_closing_response_is_whole_though_the_client_keeps_sending() {
    let conf = Conf::new(&www(), 5, "GET HEAD");
    let run = Running::start(&conf.path(), &["--no-access-log"]);
    let all = request_then_keep_sending(
        run.addr,
        b"GET /files/big.bin HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        &[b'x'; 2000],
    );
    assert_eq!(responses(&all), vec![(200, BIG)]);
    no_thread_panicked(&run);
}

/// The server's stderr names no panicked connection thread (the thread that drained the
/// client's input wrote its line before we could read the close; one more exchange and
/// 100 ms give the pipe's reader time to see it).
fn no_thread_panicked(run: &Running) {
    let r = run.exchange(b"GET /index.html HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    assert_eq!(responses(&r).len(), 1);
    std::thread::sleep(std::time::Duration::from_millis(100));
    let err = run.stderr.lock().unwrap().clone();
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn an_error_after_a_big_response_arrives_whole_though_the_client_keeps_sending() {
    let conf = Conf::new(&www(), 5, "GET HEAD");
    let run = Running::start(&conf.path(), &["--no-access-log"]);
    // A pipelined bad request after a big file: the 400 ends the connection while most of
    // the file is still on its way, and the client goes on sending.
    let all = request_then_keep_sending(
        run.addr,
        b"GET /files/big.bin HTTP/1.1\r\nHost: t\r\nConnection: keep-alive\r\n\r\nGRT / HTTP/1.1\r\nHost: t\r\n\r\n",
        &[b'x'; 2000],
    );
    let got = responses(&all);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0], (200, BIG));
    assert_eq!(got[1].0, 400);
    no_thread_panicked(&run);
}

#[test]
fn the_lingering_close_ends_after_2_s_when_the_client_neither_closes_nor_sends() {
    // One slot, and KeepaliveTime 10: a linger that outlived its 2 s (LINGER), e.g. by
    // keeping the connection's 10 s read timeout, would still hold the slot 3.5 s later.
    let conf = Conf::new(&www(), 10, "GET HEAD");
    let run = Running::start(&conf.path(), &["--no-access-log", "--max-connections", "1"]);
    let mut s = narrow_client(run.addr);
    s.write_all(b"GET /index.html HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let raw = read_to_close(&mut s, Duration::from_secs(5));
    assert_eq!(responses(&raw).len(), 1);
    // We keep our side open and silent; the server lingers 2 s, then lets the slot go.
    std::thread::sleep(Duration::from_millis(3500));
    let next = run.exchange(b"GET /index.html HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    assert_eq!(
        responses(&next),
        vec![(
            200,
            std::fs::metadata(www().join("index.html")).unwrap().len() as usize
        )],
        "{}",
        String::from_utf8_lossy(&next)
    );
    // And what we send now is refused with a reset: the server has closed.
    let until = Instant::now() + Duration::from_secs(3);
    let refused = loop {
        match s.write_all(b"more") {
            Err(e) => break Some(e.kind()),
            Ok(()) if Instant::now() < until => std::thread::sleep(Duration::from_millis(50)),
            Ok(()) => break None,
        }
    };
    assert!(
        matches!(
            refused,
            Some(std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset)
        ),
        "the server still read what we sent 3.5 s after its answer: {refused:?}"
    );
}
