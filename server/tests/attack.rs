//! The server under attack, each for a bounded time on loopback: a folder of the root swapped
//! for a symlink out of it while requests run (no byte from outside may come back), and slow
//! clients trickling heads (a new client must still be served).

mod common;

use std::ffi::CString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;

/// Atomically exchanges two names (`renameat2(RENAME_EXCHANGE)`).
fn exchange(a: &Path, b: &Path) {
    let a = CString::new(a.as_os_str().as_bytes()).unwrap();
    let b = CString::new(b.as_os_str().as_bytes()).unwrap();
    // SAFETY: valid path strings.
    let r = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    assert_eq!(r, 0, "renameat2: {}", std::io::Error::last_os_error());
}

#[derive(Default)]
struct Tally {
    ok: AtomicUsize,
    refused: AtomicUsize,
    leaked: AtomicUsize,
    other: AtomicUsize,
}

#[test]
fn a_folder_swapped_for_a_symlink_out_of_the_root_never_leaks() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().canonicalize().unwrap();
    let (www, outside) = (d.join("www"), d.join("outside"));
    std::fs::create_dir_all(www.join("d")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(www.join("d/f.txt"), "inside").unwrap();
    std::fs::write(outside.join("f.txt"), "OUTSIDE-SECRET").unwrap();
    std::os::unix::fs::symlink(&outside, www.join("dl")).unwrap();
    let conf = Conf::new(&www, 5, "GET HEAD");
    let run = Running::start(&conf.path(), &["--no-access-log"]);

    let stop = Arc::new(AtomicBool::new(false));
    let swaps = {
        let (stop, a, b) = (stop.clone(), www.join("d"), www.join("dl"));
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) && n < 10_000_000 {
                exchange(&a, &b);
                n += 1;
            }
            n
        })
    };
    let tally = Arc::new(Tally::default());
    // At least 3 s of requests, and on until both outcomes were seen (at most 20 s: a loaded
    // machine may run the swapper rarely).
    let (least, most) = (
        Instant::now() + Duration::from_secs(3),
        Instant::now() + Duration::from_secs(20),
    );
    let clients: Vec<_> = (0..3)
        .map(|_| {
            let (tally, addr) = (tally.clone(), run.addr);
            std::thread::spawn(move || {
                let both = |t: &Tally| {
                    t.ok.load(Ordering::Relaxed) > 0 && t.refused.load(Ordering::Relaxed) > 0
                };
                while Instant::now() < least || (!both(&tally) && Instant::now() < most) {
                    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5))
                        .unwrap();
                    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                    s.write_all(b"GET /d/f.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                        .unwrap();
                    let raw = read_to_close(&mut s, Duration::from_secs(5));
                    let counter = match parse_response(&raw, false) {
                        _ if raw.windows(7).any(|w| w == b"OUTSIDE") => &tally.leaked,
                        Some((r, n)) if n == raw.len() && r.status == 200 => &tally.ok,
                        Some((r, n)) if n == raw.len() && matches!(r.status, 403 | 404) => {
                            &tally.refused
                        }
                        _ => &tally.other,
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    let swaps = swaps.join().unwrap();
    let count = |c: &AtomicUsize| c.load(Ordering::Relaxed);
    let (ok, refused, leaked, other) = (
        count(&tally.ok),
        count(&tally.refused),
        count(&tally.leaked),
        count(&tally.other),
    );
    eprintln!("{swaps} swaps; 200: {ok}, 403/404: {refused}, leaked: {leaked}, other: {other}");
    assert_eq!(leaked, 0, "bodies from outside the root");
    assert_eq!(other, 0, "responses that were not a clean 200, 403 or 404");
    assert!(
        ok > 0 && refused > 0,
        "the race did not run both ways: {ok} served, {refused} refused"
    );
}

/// One slow client: sends a request line and a Host line, then one more header line at
/// every `pace`, never ending its head; reconnects whenever the server drops it, until `stop`
/// (or `until`, a bound).
fn trickle(
    addr: std::net::SocketAddr,
    pace: Duration,
    stop: &AtomicBool,
    until: Instant,
    connects: &AtomicUsize,
) {
    let go = || !stop.load(Ordering::Relaxed) && Instant::now() < until;
    while go() {
        let Ok(mut s) = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5)) else {
            continue;
        };
        connects.fetch_add(1, Ordering::Relaxed);
        s.set_read_timeout(Some(pace)).unwrap();
        let mut line: &[u8] = b"GET / HTTP/1.1\r\nHost: t\r\n";
        while go() && s.write_all(line).is_ok() {
            line = b"X-Slow: 1\r\n";
            // Wait for the server to drop us, or for the next byte's turn.
            match std::io::Read::read(&mut s, &mut [0u8; 512]) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                _ => break,
            }
        }
    }
}

#[test]
fn slow_clients_holding_every_slot_do_not_keep_a_new_client_out() {
    // KeepaliveTime 5: a slow client keeps its slot 5 s unless evicted, and the slow clients
    // run until every probe is done, so a server that does not evict them serves no probe in
    // its 3 s (2 s clear of that timer).
    let conf = Conf::new(&www(), 5, "GET HEAD");
    let run = Running::start(&conf.path(), &["--no-access-log", "--max-connections", "8"]);
    let stop = Arc::new(AtomicBool::new(false));
    // The slow clients stop when the test ends, even by a failed assertion.
    struct StopOnDrop(Arc<AtomicBool>);
    impl Drop for StopOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    let _stop_guard = StopOnDrop(stop.clone());
    let until = Instant::now() + Duration::from_secs(120);
    let connects = Arc::new(AtomicUsize::new(0));
    let attackers: Vec<_> = (0..24)
        .map(|_| {
            let (addr, stop, connects) = (run.addr, stop.clone(), connects.clone());
            std::thread::spawn(move || {
                trickle(addr, Duration::from_millis(200), &stop, until, &connects)
            })
        })
        .collect();
    let warm = Instant::now() + Duration::from_secs(5);
    while connects.load(Ordering::Relaxed) < 24 && Instant::now() < warm {
        std::thread::yield_now();
    }
    // Every probe is served at its first try: when no slow client can be evicted at once (on
    // a loaded machine their input may wait for their threads), the server looks again for up
    // to half a second rather than answering 503.
    let (mut slow, mut most) = (Vec::new(), Duration::ZERO);
    for i in 0..20 {
        let t = Instant::now();
        let r =
            one(&run.exchange(b"GET /index.html HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
        let took = t.elapsed();
        assert_eq!(r.status, 200, "probe {i} after {took:?}: {}", r.text());
        assert!(took < Duration::from_secs(3), "probe {i} took {took:?}");
        most = most.max(took);
        if took > Duration::from_secs(1) {
            slow.push(took);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, Ordering::Relaxed);
    for a in attackers {
        a.join().unwrap();
    }
    let opened = connects.load(Ordering::Relaxed);
    eprintln!(
        "20 probes, {} slower than 1 s {slow:?}, the slowest {most:?}; the 24 slow clients \
         opened {opened} connections",
        slow.len()
    );
    assert!(
        opened > 24,
        "the slow clients were never evicted ({opened} connections)"
    );
}
