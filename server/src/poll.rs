//! The `epoll(7)` instance where connections wait for their clients, and who holds each one.
//!
//! Every connection has a slot in a fixed table, and its socket is registered once,
//! edge-triggered: epoll reports input as it arrives, with no system call to arm it again.
//! A slot's state says who holds the connection: nobody (*parked*: it waits for its client)
//! or one worker (*running*; *notified* when input arrived meanwhile). A worker that gets an
//! event for a parked connection takes it ([`Held`]); an event for a running one only marks
//! it notified, and the worker running it then goes on instead of parking it
//! ([`Epoll::release`]). So one worker at a time runs a connection, and no input is missed,
//! provided that a connection is parked only after it has seen its socket empty since it was
//! taken (see [`crate::input`]).
//!
//! An event carries the slot's number and generation: an event for a connection that has
//! closed since (its slot maybe holding a newer one) is recognised and dropped.
//!
//! A worker takes up to [`BATCH`] events with one `epoll_wait` ([`Batch`]); before it blocks
//! on one of them, it hands the others back ([`Epoll::hand_back`]): they go to a shared list
//! that the next worker to wait takes first, and a waiting worker is woken for them. The
//! listening socket is watched one-shot (one worker accepts at a time), and a stop event,
//! level-triggered, reaches every worker at shutdown.

use std::cell::UnsafeCell;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

/// Most events one worker takes at once.
pub(crate) const BATCH: usize = 32;

/// Event data of the listening socket, the stop event and the hand-back wake-up (slot
/// events carry a generation ≥ 1 in their high half, so never these).
const LISTENER: u64 = 1;
const STOP: u64 = 2;
const HANDED_BACK: u64 = 3;

/// Slot states (the low 2 bits of a slot's word; the generation is above).
const FREE: u64 = 0;
const PARKED: u64 = 1;
const RUNNING: u64 = 2;
const NOTIFIED: u64 = 3;

/// What a worker took from its [`Batch`].
pub(crate) enum Ready {
    /// The listening socket has connections to accept (it is disarmed until
    /// [`Epoll::rearm_listener`]).
    Listener,
    /// The server is stopping: the worker should exit.
    Stop,
    /// A connection whose client has sent something (or closed, or whose reads were shut
    /// down), now held by this worker.
    Conn(Held),
}

/// A connection held by one worker: the right to use it, until [`Epoll::release`] or
/// [`Epoll::remove`].
#[derive(Debug)]
pub(crate) struct Held {
    index: u32,
    generation: u32,
}

struct Slot<T> {
    /// `generation << 2 | state`.
    word: AtomicU64,
    /// The socket registered for this slot's connection.
    fd: AtomicI32,
    /// Registered for room in the socket too (`EPOLLOUT`), not only for input. Used by the
    /// holder only.
    room: AtomicBool,
    /// Used only by the worker holding the connection (or, while free, by the one
    /// inserting it).
    item: UnsafeCell<Option<T>>,
}

/// One epoll instance and the connections registered in it.
pub(crate) struct Epoll<T> {
    epoll: OwnedFd,
    /// Signalled at shutdown (level-triggered).
    stop: OwnedFd,
    /// Signalled when events are handed back.
    wake: OwnedFd,
    /// The listening socket watched, or -1.
    listener: AtomicI32,
    slots: Box<[Slot<T>]>,
    free: Mutex<Vec<u32>>,
    /// Events handed back by workers about to block, for the next worker to take.
    handed_back: Mutex<Vec<u64>>,
    handed_back_len: AtomicUsize,
}

// SAFETY: a slot's item is reached only through a `Held` (one at a time, by the state
// protocol) or by the one inserting it while it is free; items move between threads whole.
unsafe impl<T: Send> Send for Epoll<T> {}
unsafe impl<T: Send> Sync for Epoll<T> {}

/// Events taken by one `epoll_wait` (or from the handed-back list), not handled yet.
pub(crate) struct Batch {
    events: [u64; BATCH],
    len: usize,
    next: usize,
}

impl Batch {
    pub(crate) fn new() -> Batch {
        Batch {
            events: [0; BATCH],
            len: 0,
            next: 0,
        }
    }
}

impl<T: AsRawFd> Epoll<T> {
    /// A new instance with room for `capacity` connections.
    pub(crate) fn new(capacity: usize) -> io::Result<Epoll<T>> {
        // SAFETY: plain syscalls; each new descriptor is owned at once.
        let epoll = unsafe { owned(libc::epoll_create1(libc::EPOLL_CLOEXEC))? };
        let eventfd = || unsafe { owned(libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK)) };
        let slots = (0..capacity)
            .map(|_| Slot {
                word: AtomicU64::new(FREE),
                fd: AtomicI32::new(-1),
                room: AtomicBool::new(false),
                item: UnsafeCell::new(None),
            })
            .collect();
        let ep = Epoll {
            epoll,
            stop: eventfd()?,
            wake: eventfd()?,
            listener: AtomicI32::new(-1),
            slots,
            free: Mutex::new((0..capacity as u32).rev().collect()),
            handed_back: Mutex::new(Vec::new()),
            handed_back_len: AtomicUsize::new(0),
        };
        // The stop event is level-triggered: once signalled, every worker that waits sees
        // it. A hand-back wakes one worker per signal (edge-triggered).
        let level = libc::EPOLLIN as u32;
        let edge = (libc::EPOLLIN | libc::EPOLLET) as u32;
        ep.ctl(libc::EPOLL_CTL_ADD, ep.stop.as_raw_fd(), level, STOP)?;
        ep.ctl(libc::EPOLL_CTL_ADD, ep.wake.as_raw_fd(), edge, HANDED_BACK)?;
        Ok(ep)
    }

    /// Watches the listening socket `fd` (one delivery per arming).
    pub(crate) fn watch_listener(&self, fd: RawFd) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd, oneshot_in(), LISTENER)?;
        self.listener.store(fd, Ordering::SeqCst);
        Ok(())
    }

    /// Arms the listening socket again after its connections were accepted.
    pub(crate) fn rearm_listener(&self) -> io::Result<()> {
        let fd = self.listener.load(Ordering::SeqCst);
        self.ctl(libc::EPOLL_CTL_MOD, fd, oneshot_in(), LISTENER)
    }

    /// Stops watching the listening socket.
    pub(crate) fn forget_listener(&self) {
        let fd = self.listener.swap(-1, Ordering::SeqCst);
        // SAFETY: removing a registration; a null event is allowed for DEL.
        unsafe {
            libc::epoll_ctl(
                self.epoll.as_raw_fd(),
                libc::EPOLL_CTL_DEL,
                fd,
                std::ptr::null_mut(),
            )
        };
    }

    /// Registers a new connection, parked: the next input on its socket (or input already
    /// there) goes to a worker. Gives the item back when the table is full or epoll fails.
    pub(crate) fn insert(&self, item: T) -> Result<(), (T, io::Error)> {
        let Some(index) = self.free.lock().unwrap_or_else(|e| e.into_inner()).pop() else {
            return Err((item, io::Error::other("no free connection slot")));
        };
        let slot = &self.slots[index as usize];
        let fd = item.as_raw_fd();
        // SAFETY: a free slot is used by nobody else (its index was just taken).
        unsafe { *slot.item.get() = Some(item) };
        let generation = next_generation(slot.word.load(Ordering::SeqCst));
        slot.fd.store(fd, Ordering::SeqCst);
        slot.room.store(false, Ordering::SeqCst);
        slot.word.store(word(generation, PARKED), Ordering::SeqCst);
        let events = interest(false);
        match self.ctl(libc::EPOLL_CTL_ADD, fd, events, data(index, generation)) {
            Ok(()) => Ok(()),
            Err(e) => {
                // Registration failed, so no event names it: it is still ours.
                let held = Held { index, generation };
                slot.word.store(word(generation, RUNNING), Ordering::SeqCst);
                Err((self.remove(held), e))
            }
        }
    }

    /// The held connection.
    pub(crate) fn item<'a>(&'a self, held: &'a mut Held) -> &'a mut T {
        let slot = &self.slots[held.index as usize];
        // SAFETY: only the holder reaches the item, and `held` is borrowed mutably.
        unsafe { (*slot.item.get()).as_mut() }.expect("a held slot has its connection")
    }

    /// Parks a held connection, until input arrives or, with `room`, until its socket also
    /// has room for more output. `Err(held)`: something arrived while it was held, so the
    /// caller still holds it and must run it again.
    pub(crate) fn release(&self, held: Held, room: bool) -> Result<(), Held> {
        let slot = &self.slots[held.index as usize];
        if slot.room.load(Ordering::SeqCst) != room {
            let fd = slot.fd.load(Ordering::SeqCst);
            let id = data(held.index, held.generation);
            // Re-registering reports at once a socket that is ready already.
            if self
                .ctl(libc::EPOLL_CTL_MOD, fd, interest(room), id)
                .is_ok()
            {
                slot.room.store(room, Ordering::SeqCst);
            }
        }
        let running = word(held.generation, RUNNING);
        match slot.word.compare_exchange(
            running,
            word(held.generation, PARKED),
            Ordering::SeqCst,
            Ordering::SeqCst,
        ) {
            Ok(_) => Ok(()),
            Err(_) => {
                // Notified: only the holder changes a held slot's state, so this is safe.
                slot.word.store(running, Ordering::SeqCst);
                Err(held)
            }
        }
    }

    /// Takes a held connection out of the table (the caller closes it, which ends its
    /// registration).
    pub(crate) fn remove(&self, held: Held) -> T {
        let slot = &self.slots[held.index as usize];
        // SAFETY: held, so used by nobody else.
        let item = unsafe { (*slot.item.get()).take() }.expect("a held slot has its connection");
        slot.fd.store(-1, Ordering::SeqCst);
        slot.word
            .store(word(held.generation, FREE), Ordering::SeqCst);
        self.free
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(held.index);
        item
    }

    /// Fills `batch` (which must be handled) with events handed back by other workers, or
    /// else waits (at most `timeout_ms`, -1 for ever) for events. Returns how many (0: timed
    /// out).
    pub(crate) fn wait(&self, batch: &mut Batch, timeout_ms: i32) -> io::Result<usize> {
        batch.len = 0;
        batch.next = 0;
        if self.handed_back_len.load(Ordering::SeqCst) > 0 {
            batch.len = self.take_handed_back(&mut batch.events);
            if batch.len > 0 {
                return Ok(batch.len);
            }
        }
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; BATCH];
        // SAFETY: room for `BATCH` events is passed.
        let n = unsafe {
            libc::epoll_wait(
                self.epoll.as_raw_fd(),
                events.as_mut_ptr(),
                BATCH as i32,
                timeout_ms,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        for (to, from) in batch.events.iter_mut().zip(&events[..n as usize]) {
            *to = from.u64;
        }
        batch.len = n as usize;
        Ok(batch.len)
    }

    /// The next event of `batch` for this worker: a connection is taken only if parked (an
    /// event for one that is running marks it notified, one for a closed one is dropped).
    pub(crate) fn next(&self, batch: &mut Batch) -> Option<Ready> {
        while batch.next < batch.len {
            let data = batch.events[batch.next];
            batch.next += 1;
            match data {
                LISTENER => return Some(Ready::Listener),
                STOP => return Some(Ready::Stop),
                HANDED_BACK => self.clear_wake(),
                _ => {
                    if let Some(held) = self.take(data) {
                        return Some(Ready::Conn(held));
                    }
                }
            }
        }
        None
    }

    /// Gives the events of `batch` not taken yet to the other workers (and wakes one).
    pub(crate) fn hand_back(&self, batch: &mut Batch) {
        let rest = &batch.events[batch.next..batch.len];
        batch.next = batch.len;
        // The stop event stays signalled for everyone; a hand-back wake-up is this one.
        let rest = rest
            .iter()
            .copied()
            .filter(|&d| d != STOP && d != HANDED_BACK);
        let mut list = self.handed_back.lock().unwrap_or_else(|e| e.into_inner());
        let before = list.len();
        list.extend(rest);
        if list.len() == before {
            return;
        }
        self.handed_back_len.store(list.len(), Ordering::SeqCst);
        drop(list);
        let one: u64 = 1;
        // SAFETY: an eventfd takes 8-byte writes.
        unsafe { libc::write(self.wake.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    /// Signals the stop event: every worker's next [`Epoll::wait`] returns [`Ready::Stop`].
    pub(crate) fn stop(&self) {
        let one: u64 = 1;
        // SAFETY: an eventfd takes 8-byte writes.
        unsafe { libc::write(self.stop.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    /// Takes the connection an event names, if it is parked; marks it notified if it is held.
    fn take(&self, data: u64) -> Option<Held> {
        let (index, generation) = ((data & 0xffff_ffff) as u32, (data >> 32) as u32);
        let slot = self.slots.get(index as usize)?;
        let mut current = slot.word.load(Ordering::SeqCst);
        loop {
            if current >> 2 != generation as u64 {
                return None;
            }
            let next = match current & 3 {
                PARKED => RUNNING,
                RUNNING => NOTIFIED,
                _ => return None,
            };
            match slot.word.compare_exchange(
                current,
                word(generation, next),
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) if next == RUNNING => return Some(Held { index, generation }),
                Ok(_) => return None,
                Err(now) => current = now,
            }
        }
    }

    fn take_handed_back(&self, into: &mut [u64; BATCH]) -> usize {
        let mut list = self.handed_back.lock().unwrap_or_else(|e| e.into_inner());
        let n = list.len().min(BATCH);
        let from = list.len() - n;
        into[..n].copy_from_slice(&list[from..]);
        list.truncate(from);
        self.handed_back_len.store(list.len(), Ordering::SeqCst);
        n
    }

    /// Resets the hand-back wake-up's counter (each signal is an edge of its own; the
    /// events handed back are taken by this worker's next [`Epoll::wait`]).
    fn clear_wake(&self) {
        let mut sink: u64 = 0;
        // SAFETY: an eventfd gives 8-byte reads; non-blocking.
        unsafe { libc::read(self.wake.as_raw_fd(), (&mut sink as *mut u64).cast(), 8) };
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, events: u32, data: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event { events, u64: data };
        // SAFETY: `ev` lives across the call.
        let r = unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), op, fd, &mut ev) };
        if r == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

fn word(generation: u32, state: u64) -> u64 {
    (generation as u64) << 2 | state
}

/// A slot's next generation: never 0, so that no event data is 1, 2 or 3.
fn next_generation(word: u64) -> u32 {
    match ((word >> 2) as u32).wrapping_add(1) {
        0 => 1,
        g => g,
    }
}

fn data(index: u32, generation: u32) -> u64 {
    (generation as u64) << 32 | index as u64
}

/// What a connection's socket is registered for: input (and its end), and room for output.
fn interest(room: bool) -> u32 {
    let out = if room { libc::EPOLLOUT } else { 0 };
    (libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLET | out) as u32
}

fn oneshot_in() -> u32 {
    (libc::EPOLLIN | libc::EPOLLONESHOT) as u32
}

/// Owns a descriptor a syscall returned, or its error.
unsafe fn owned(fd: RawFd) -> io::Result<OwnedFd> {
    if fd < 0 {
        Err(io::Error::last_os_error())
    } else {
        // SAFETY: a fresh descriptor nobody else owns.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};
    use std::time::{Duration, Instant};

    /// A served socket, under a name.
    struct Item(&'static str, TcpStream);

    impl AsRawFd for Item {
        fn as_raw_fd(&self) -> RawFd {
            self.1.as_raw_fd()
        }
    }

    fn pair(listener: &TcpListener) -> (TcpStream, TcpStream) {
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        (client, listener.accept().unwrap().0)
    }

    /// The next thing a worker gets within `ms` (events it may not take are skipped).
    fn next(ep: &Epoll<Item>, ms: i32) -> Option<Ready> {
        let until = Instant::now() + Duration::from_millis(ms as u64);
        let mut batch = Batch::new();
        loop {
            let left = until.saturating_duration_since(Instant::now()).as_millis() as i32;
            if ep.wait(&mut batch, left).unwrap() == 0 {
                return None;
            }
            if let Some(ready) = ep.next(&mut batch) {
                assert!(ep.next(&mut batch).is_none(), "one thing at a time here");
                return Some(ready);
            }
        }
    }

    fn conn(ep: &Epoll<Item>, ms: i32) -> Option<Held> {
        match next(ep, ms)? {
            Ready::Conn(held) => Some(held),
            _ => panic!("expected a connection"),
        }
    }

    #[test]
    fn a_parked_connection_is_taken_once_per_input_and_never_by_two_workers() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let (mut client, served) = pair(&listener);
        let ep: Epoll<Item> = Epoll::new(4).unwrap();
        ep.insert(Item("conn", served)).map_err(|(_, e)| e).unwrap();
        assert!(next(&ep, 50).is_none(), "nothing to read yet");
        client.write_all(b"x").unwrap();
        let mut held = conn(&ep, 5000).expect("the connection, once input came");
        assert_eq!(ep.item(&mut held).0, "conn");
        // Input while held: nobody else takes it, and its holder is told to go on.
        client.write_all(b"y").unwrap();
        assert!(next(&ep, 200).is_none(), "held: marked, not taken");
        let held = ep
            .release(held, false)
            .expect_err("input came while it was held");
        ep.release(held, false).expect("parked now");
        assert!(next(&ep, 50).is_none(), "edge-triggered: nothing new");
        client.write_all(b"z").unwrap();
        let held = conn(&ep, 5000).expect("new input: taken again");
        ep.release(held, false).unwrap();
    }

    #[test]
    fn an_event_for_a_closed_connection_is_dropped_even_when_its_slot_is_reused() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let ep: Epoll<Item> = Epoll::new(1).unwrap();
        let (mut c1, s1) = pair(&listener);
        ep.insert(Item("first", s1)).map_err(|(_, e)| e).unwrap();
        c1.write_all(b"x").unwrap();
        let mut batch = Batch::new();
        let until = Instant::now() + Duration::from_secs(5);
        while ep.wait(&mut batch, 100).unwrap() == 0 {
            assert!(Instant::now() < until);
        }
        // Meanwhile another worker took it, closed it, and the slot went to a newcomer.
        let stale = batch.events[0];
        let mut other = Batch::new();
        other.events[0] = stale;
        other.len = 1;
        let Some(Ready::Conn(held)) = ep.next(&mut other) else {
            panic!("taken by the other worker")
        };
        drop(ep.remove(held));
        let (_c2, s2) = pair(&listener);
        assert!(ep.insert(Item("second", s2)).is_ok(), "the freed slot");
        assert!(
            ep.next(&mut batch).is_none(),
            "the old event names the old one"
        );
        assert!(
            ep.insert(Item("third", pair(&listener).1)).is_err(),
            "one slot"
        );
    }

    #[test]
    fn what_a_worker_hands_back_goes_to_the_next_one() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let ep: Epoll<Item> = Epoll::new(4).unwrap();
        let mut clients = Vec::new();
        for name in ["a", "b", "c"] {
            let (mut client, served) = pair(&listener);
            client.write_all(b"x").unwrap();
            ep.insert(Item(name, served)).map_err(|(_, e)| e).unwrap();
            clients.push(client);
        }
        let mut batch = Batch::new();
        let mut seen = 0;
        let until = Instant::now() + Duration::from_secs(5);
        while seen < 3 {
            assert!(Instant::now() < until, "3 ready sockets");
            seen += ep.wait(&mut batch, 100).unwrap();
        }
        let Some(Ready::Conn(mut first)) = ep.next(&mut batch) else {
            panic!("a connection")
        };
        ep.hand_back(&mut batch);
        assert!(ep.next(&mut batch).is_none(), "handed back");
        let mut names = vec![ep.item(&mut first).0];
        let mut again = Batch::new();
        assert_eq!(
            ep.wait(&mut again, 0).unwrap(),
            2,
            "taken first, without waiting"
        );
        while let Some(Ready::Conn(mut held)) = ep.next(&mut again) {
            names.push(ep.item(&mut held).0);
        }
        names.sort();
        assert_eq!(names, ["a", "b", "c"]);
    }

    #[test]
    fn stop_reaches_every_waiter_and_the_listener_is_one_shot() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let ep: Epoll<Item> = Epoll::new(1).unwrap();
        ep.watch_listener(listener.as_raw_fd()).unwrap();
        let _c = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        assert!(matches!(next(&ep, 5000), Some(Ready::Listener)));
        assert!(next(&ep, 50).is_none(), "disarmed until re-armed");
        ep.rearm_listener().unwrap();
        assert!(matches!(next(&ep, 5000), Some(Ready::Listener)));
        ep.forget_listener();
        ep.stop();
        for _ in 0..3 {
            assert!(matches!(next(&ep, 5000), Some(Ready::Stop)));
        }
    }
}
