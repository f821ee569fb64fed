//! The keep-alive path allocates nothing: after a warm-up, 200 requests for a cached small
//! file on one kept-alive connection make no heap allocation at all in the server (the
//! client side here allocates nothing either: fixed buffers, raw socket calls).

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Counts every allocation in this test process.
struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded as is.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn a_kept_alive_request_for_a_cached_file_allocates_nothing() {
    let www = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../www")
        .canonicalize()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("ws.conf");
    std::fs::write(
        &conf,
        format!(
            "DocumentRoot \"{}\"\nDirectoryIndex index.html\n.html text/html\nKeepaliveTime 5\n",
            www.display()
        ),
    )
    .unwrap();
    let server = server::Server::start(server::ServerOptions {
        config: conf,
        listen: Some("127.0.0.1:0".into()),
        max_connections: 8,
        access_log: false,
    })
    .unwrap();
    let mut s =
        std::net::TcpStream::connect_timeout(&server.local_addr(), Duration::from_secs(5)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    let request = b"GET /files/1k.html HTTP/1.1\r\nHost: t\r\nConnection: keep-alive\r\n\r\n";
    let body = std::fs::read(www.join("files/1k.html")).unwrap();
    let mut buf = vec![0u8; 4096];
    // One response is the head (up to its blank line) and the 1 KiB body.
    let mut exchange = |s: &mut std::net::TcpStream| {
        s.write_all(request).unwrap();
        let mut got = 0;
        loop {
            let n = s.read(&mut buf[got..]).unwrap();
            assert!(n > 0, "closed");
            got += n;
            if let Some(end) = buf[..got].windows(4).position(|w| w == b"\r\n\r\n") {
                if got >= end + 4 + body.len() {
                    assert!(buf.starts_with(b"HTTP/1.1 200 "));
                    assert_eq!(got, end + 4 + body.len(), "one response at a time");
                    return;
                }
            }
        }
    };
    for _ in 0..20 {
        exchange(&mut s);
    }
    let before = ALLOCS.load(Ordering::Relaxed);
    for _ in 0..200 {
        exchange(&mut s);
    }
    let made = ALLOCS.load(Ordering::Relaxed) - before;
    drop(s);
    server.shutdown();
    assert_eq!(made, 0, "{made} allocations in 200 kept-alive requests");
}
