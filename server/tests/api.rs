//! The library API the harness uses to run the reference server in-process.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use server::{Server, ServerOptions};

fn get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut s = connect(addr);
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// A connection whose every read and write gives up after 5 s.
fn connect(addr: std::net::SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

#[test]
fn defaults() {
    let o = ServerOptions::default();
    assert_eq!(o.config, std::path::PathBuf::from("ws.conf"));
    assert_eq!(o.listen, None);
    assert!(o.max_connections >= 64);
    assert!(o.access_log);
}

#[test]
fn start_serve_shutdown() {
    let conf = common::Conf::new(&common::www(), 10, "GET HEAD");
    let opts = ServerOptions {
        config: conf.path(),
        listen: Some("127.0.0.1:0".into()),
        max_connections: 8,
        access_log: false,
    };
    let server = Server::start(opts).unwrap();
    let addr = server.local_addr();
    assert!(get(addr, "/files/notes.txt").starts_with("HTTP/1.1 200 OK\r\n"));
    // An idle keep-alive connection (KeepaliveTime 10) must not hold shutdown up: once its
    // response is read, its thread waits for the next request.
    let mut idle = connect(addr);
    idle.write_all(b"GET /files/notes.txt HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n")
        .unwrap();
    let want = std::fs::read(common::www().join("files/notes.txt")).unwrap();
    let mut pending = Vec::new();
    let r = common::read_one(&mut idle, &mut pending, false);
    assert_eq!(
        (r.status, r.header("Connection")),
        (200, Some("keep-alive"))
    );
    assert_eq!(r.body, want);
    let t = Instant::now();
    server.shutdown();
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "shutdown took {:?}",
        t.elapsed()
    );
    common::assert_closes_silently(&mut idle, Duration::from_secs(2));
    assert!(
        TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(),
        "still accepting"
    );
}

#[test]
fn drop_stops_the_server() {
    let conf = common::Conf::new(&common::www(), 10, "GET HEAD");
    let opts = ServerOptions {
        config: conf.path(),
        listen: Some("127.0.0.1:0".into()),
        access_log: false,
        ..Default::default()
    };
    let addr = {
        let server = Server::start(opts).unwrap();
        server.local_addr()
    };
    assert!(
        TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(),
        "still accepting after drop"
    );
}

#[test]
fn missing_config_is_an_error_and_broken_config_still_starts() {
    let dir = tempfile::tempdir().unwrap();
    let opts = ServerOptions {
        config: dir.path().join("nope.conf"),
        listen: Some("127.0.0.1:0".into()),
        ..Default::default()
    };
    let err = Server::start(opts).err().expect("missing config must fail");
    assert!(err.to_string().contains("nope.conf"), "{err}");

    let conf = common::Conf::with_text("Listen 8888\nDocumentRoot \"www\"\n");
    let opts = ServerOptions {
        config: conf.path(),
        listen: Some("127.0.0.1:0".into()),
        access_log: false,
        ..Default::default()
    };
    let server = Server::start(opts).unwrap();
    assert!(get(server.local_addr(), "/").starts_with("HTTP/1.1 500 Internal Server Error\r\n"));
}
