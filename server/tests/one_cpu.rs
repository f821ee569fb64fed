//! The server sends a large file as its socket has room, by whichever worker is free, and
//! no worker blocks on a download. On one CPU there is a single worker, so every download and
//! every other client share it. This test pins itself, and so the server it starts
//! in-process, to one CPU, and checks that such files arrive whole, one after another on a
//! kept-alive connection, pipelined, read slowly, and beside other clients.
//! (Its own file: the pinning holds for the whole test process.)

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{parse_response, read_one, www, Conf};
use server::{Server, ServerOptions};

/// Pins the calling thread (and the threads it starts from now on) to the first CPU it may
/// use.
fn pin_to_one_cpu() {
    // SAFETY: plain calls on a cpu_set_t on the stack.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        assert_eq!(
            libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set),
            0
        );
        let first = (0..libc::CPU_SETSIZE as usize)
            .find(|&c| libc::CPU_ISSET(c, &set))
            .expect("a CPU");
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(first, &mut set);
        assert_eq!(
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set),
            0
        );
    }
    assert_eq!(std::thread::available_parallelism().unwrap().get(), 1);
}

fn connect(server: &Server) -> TcpStream {
    let s = TcpStream::connect_timeout(&server.local_addr(), Duration::from_secs(5)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

const BIG: &[u8] = b"GET /files/big.bin HTTP/1.1\r\nHost: t\r\nConnection: keep-alive\r\n\r\n";

#[test]
fn large_files_arrive_whole_when_sent_as_the_socket_has_room() {
    pin_to_one_cpu();
    let conf = Conf::new(&www(), 5, "GET HEAD");
    let server = Server::start(ServerOptions {
        config: conf.path(),
        listen: Some("127.0.0.1:0".into()),
        max_connections: 16,
        access_log: false,
    })
    .unwrap();
    let big = std::fs::read(www().join("files/big.bin")).unwrap();
    assert!(big.len() > 256 * 1024, "larger than a socket takes at once");

    // Two in a row on one kept-alive connection, then a small one: each whole.
    let mut s = connect(&server);
    let mut pending = Vec::new();
    for _ in 0..2 {
        s.write_all(BIG).unwrap();
        let r = read_one(&mut s, &mut pending, false);
        assert_eq!(r.status, 200);
        assert!(r.body == big, "the body differs from big.bin");
    }
    s.write_all(b"GET /files/notes.txt HTTP/1.1\r\nHost: t\r\nConnection: keep-alive\r\n\r\n")
        .unwrap();
    assert_eq!(read_one(&mut s, &mut pending, false).status, 200);

    // Three pipelined, read slowly (the socket fills, and the server waits for room), while
    // another client is served meanwhile.
    let mut slow = connect(&server);
    slow.write_all(&BIG.repeat(3)).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let t = Instant::now();
    s.write_all(b"GET /index.html HTTP/1.1\r\nHost: t\r\nConnection: keep-alive\r\n\r\n")
        .unwrap();
    assert_eq!(read_one(&mut s, &mut pending, false).status, 200);
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "another client waited {:?} behind a full socket",
        t.elapsed()
    );
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = Instant::now() + Duration::from_secs(20);
    let mut answers = Vec::new();
    while answers.len() < 3 && Instant::now() < end {
        let n = slow.read(&mut chunk).unwrap();
        assert!(n > 0, "closed after {} answers", answers.len());
        got.extend_from_slice(&chunk[..n]);
        std::thread::sleep(Duration::from_micros(200));
        while let Some((r, used)) = parse_response(&got, false) {
            got.drain(..used);
            answers.push(r);
        }
    }
    assert_eq!(answers.len(), 3, "three answers within 20 s");
    for (i, r) in answers.iter().enumerate() {
        assert_eq!(r.status, 200, "answer {}", i + 1);
        assert!(r.body == big, "answer {}: the body differs", i + 1);
    }
    server.shutdown();
}
