//! The live connections, and what each is doing: shutdown wakes them all; when every slot is
//! taken, the connection that has waited longest for its client (a head or body that is not
//! arriving, an idle keep-alive, a lingering close) is evicted to make room for the new one;
//! and a parked connection whose time is up (idle too long, a head too slow, a lingering
//! close over) is woken to close ([`Live::expire_due`], run by a timer).
//!
//! Eviction is what keeps slow clients ("slowloris") from denying service: refusing the
//! newest connection, as a plain cap does, hands the server to whoever holds the slots;
//! evicting the stalest one hands it back to clients that send their requests at once (nginx
//! reuses idle keep-alive connections the same way when it runs out of them).
//!
//! Both eviction and expiry shut the connection's reads down: a parked connection turns
//! readable and a worker takes it, a blocked read returns end-of-file; the connection then
//! sees why in its [`Track`] and answers (`503`, `408`) or closes.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// `Track::since` while the server, not the client, has the next move; `Track::deadline`
/// when there is none.
const NEVER: u64 = u64::MAX;

/// What one connection is doing, updated by its own thread without locking.
#[derive(Debug)]
pub struct Track {
    /// Milliseconds (since the registry was made) from when the connection started waiting
    /// for its client, or [`NEVER`] while it is being served.
    since: AtomicU64,
    /// While parked: when its time is up (milliseconds, as `since`), or [`NEVER`].
    deadline: AtomicU64,
    /// Set once by the evictor: the connection's reads were shut down to make room.
    evicted: AtomicBool,
    /// Set once by the timer: the connection's reads were shut down because its time was up.
    expired: AtomicBool,
}

impl Track {
    /// Whether this connection was evicted (its reads now see end-of-file).
    pub fn evicted(&self) -> bool {
        self.evicted.load(Ordering::SeqCst)
    }

    /// Whether this connection's time ran out while parked (its reads now see end-of-file).
    pub fn expired(&self) -> bool {
        self.expired.load(Ordering::SeqCst)
    }
}

/// Every live connection's socket and [`Track`].
pub struct Live {
    start: Instant,
    /// Indexed by socket descriptor (they are small numbers, reused lowest first).
    by_fd: Mutex<Vec<Option<Arc<Track>>>>,
}

impl Default for Live {
    fn default() -> Self {
        Live {
            start: Instant::now(),
            by_fd: Mutex::new(Vec::new()),
        }
    }
}

impl Live {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Option<Arc<Track>>>> {
        self.by_fd.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every listed connection: its socket and track.
    fn each(list: &[Option<Arc<Track>>]) -> impl Iterator<Item = (i32, &Arc<Track>)> {
        list.iter()
            .enumerate()
            .filter_map(|(fd, t)| Some((fd as i32, t.as_ref()?)))
    }

    /// Registers the socket `fd` (being served until it first waits for its client).
    pub fn register(&self, fd: i32) -> Arc<Track> {
        let track = Arc::new(Track {
            since: AtomicU64::new(NEVER),
            deadline: AtomicU64::new(NEVER),
            evicted: AtomicBool::new(false),
            expired: AtomicBool::new(false),
        });
        let mut list = self.lock();
        let at = fd as usize;
        if list.len() <= at {
            list.resize(at + 1, None);
        }
        list[at] = Some(track.clone());
        track
    }

    /// Forgets `fd`; call before its socket closes, so that the number is never reused while
    /// still listed.
    pub fn deregister(&self, fd: i32) {
        if let Some(slot) = self.lock().get_mut(fd as usize) {
            *slot = None;
        }
    }

    /// The registry's clock: milliseconds since it was made.
    pub fn now(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// Marks the connection as waiting for its client since `since` (see [`Live::now`]):
    /// from then on it may be evicted. With a `deadline`, it is parked, and woken to close
    /// when the deadline passes.
    pub fn waiting(&self, track: &Track, since: u64, deadline: Option<Instant>) {
        let deadline = deadline.map_or(NEVER, |d| {
            d.saturating_duration_since(self.start).as_millis() as u64
        });
        track.deadline.store(deadline, Ordering::SeqCst);
        track.since.store(since, Ordering::SeqCst);
    }

    /// Marks the connection as writing an answer its client is slow to take: it cannot be
    /// evicted, and is woken to close at `deadline`.
    pub fn writing(&self, track: &Track, deadline: Instant) {
        self.waiting(track, NEVER, Some(deadline));
    }

    /// Marks the connection as being served: it cannot be evicted, and has no deadline.
    pub fn busy(&self, track: &Track) {
        track.since.store(NEVER, Ordering::SeqCst);
        track.deadline.store(NEVER, Ordering::SeqCst);
    }

    /// Wakes every connection blocked in a read or parked: they see end-of-file and close,
    /// while responses being written continue.
    pub fn wake_all(&self) {
        for (fd, _) in Self::each(&self.lock()) {
            // SAFETY: fds are removed (under this lock) before their socket closes.
            unsafe { libc::shutdown(fd, libc::SHUT_RD) };
        }
    }

    /// Wakes every parked connection whose deadline has passed (marked expired). Returns how
    /// many. Allocates nothing.
    pub fn expire_due(&self) -> usize {
        let now = self.now();
        let mut woken = 0;
        for (fd, t) in Self::each(&self.lock()) {
            if t.deadline.load(Ordering::SeqCst) <= now && !t.expired() {
                t.expired.store(true, Ordering::SeqCst);
                // SAFETY: the fd is listed, so still open (see `deregister`).
                unsafe { libc::shutdown(fd, libc::SHUT_RD) };
                woken += 1;
            }
        }
        woken
    }

    /// Shuts down the reads of the connection that has waited longest for its client, if
    /// any is waiting; it answers 503 (if a request had begun) and closes. A connection whose
    /// input is already in the kernel is not waiting for its client but for a worker to run
    /// (a busy machine), so it is passed over.
    pub fn evict_stalest(&self) -> bool {
        let list = self.lock();
        let mut waiting: Vec<(u64, i32, &Arc<Track>)> = Self::each(&list)
            .map(|(fd, t)| (t.since.load(Ordering::SeqCst), fd, t))
            .filter(|&(since, _, t)| since != NEVER && !t.evicted())
            .collect();
        waiting.sort_unstable_by_key(|&(since, fd, _)| (since, fd));
        let Some(&(_, fd, track)) = waiting.iter().find(|&&(_, fd, _)| unread(fd) == 0) else {
            return false;
        };
        track.evicted.store(true, Ordering::SeqCst);
        // SAFETY: the fd is listed, so still open (see `deregister`).
        unsafe { libc::shutdown(fd, libc::SHUT_RD) };
        true
    }
}

/// Bytes received on the socket `fd` and not read yet.
fn unread(fd: i32) -> libc::c_int {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int.
    let r = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n) };
    if r == 0 {
        n
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};
    use std::os::unix::io::AsRawFd;
    use std::time::Duration;

    /// A registry that has run for 10 s (so that waits can start before "now").
    fn live() -> Live {
        Live {
            start: Instant::now() - Duration::from_secs(10),
            ..Live::default()
        }
    }

    fn pairs(listener: &TcpListener, n: usize) -> (Vec<TcpStream>, Vec<TcpStream>) {
        let addr = listener.local_addr().unwrap();
        let clients = (0..n).map(|_| TcpStream::connect(addr).unwrap()).collect();
        let served = (0..n).map(|_| listener.accept().unwrap().0).collect();
        (clients, served)
    }

    #[test]
    fn evicts_the_one_waiting_longest_and_never_a_busy_one() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let (_clients, served) = pairs(&listener, 3);
        let live = live();
        let tracks: Vec<_> = served
            .iter()
            .map(|s| live.register(s.as_raw_fd()))
            .collect();
        // 0 is served (busy), 1 waits since long ago, 2 since now.
        live.busy(&tracks[0]);
        live.waiting(&tracks[1], 0, None);
        live.waiting(&tracks[2], live.now(), None);
        assert!(live.evict_stalest());
        assert!(!tracks[0].evicted() && tracks[1].evicted() && !tracks[2].evicted());
        assert!(live.evict_stalest());
        assert!(tracks[2].evicted());
        assert!(!live.evict_stalest(), "only a busy connection is left");
        assert!(!tracks[0].evicted());
    }

    #[test]
    fn passes_over_a_connection_whose_input_is_waiting_for_its_thread() {
        use std::io::Write;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let (mut clients, served) = pairs(&listener, 2);
        let live = live();
        let tracks: Vec<_> = served
            .iter()
            .map(|s| live.register(s.as_raw_fd()))
            .collect();
        live.waiting(&tracks[0], 0, None);
        live.waiting(&tracks[1], 1_000, None);
        // The oldest one has a whole request queued, unread.
        clients[0].write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
        let until = Instant::now() + Duration::from_secs(5);
        while unread(served[0].as_raw_fd()) == 0 && Instant::now() < until {
            std::thread::yield_now();
        }
        assert!(live.evict_stalest());
        assert!(!tracks[0].evicted() && tracks[1].evicted());
    }

    #[test]
    fn a_parked_connection_past_its_deadline_is_woken_once_and_marked() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let (_clients, served) = pairs(&listener, 3);
        let live = live();
        let tracks: Vec<_> = served
            .iter()
            .map(|s| live.register(s.as_raw_fd()))
            .collect();
        let now = Instant::now();
        live.waiting(&tracks[0], 0, Some(now - Duration::from_millis(1)));
        live.waiting(&tracks[1], 0, Some(now + Duration::from_secs(60)));
        live.busy(&tracks[2]);
        assert_eq!(live.expire_due(), 1);
        assert!(tracks[0].expired() && !tracks[1].expired() && !tracks[2].expired());
        assert_eq!(live.expire_due(), 0, "once");
        // Its reads were shut down: a read sees end-of-file at once.
        let mut buf = [0u8; 8];
        assert_eq!(std::io::Read::read(&mut &served[0], &mut buf).unwrap(), 0);
    }
}
