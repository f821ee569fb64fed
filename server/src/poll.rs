//! The `epoll(7)` instance where connections wait for their clients, and the safe way to put
//! a connection in and take it out.
//!
//! A connection that waits for its client (no next request yet, or a head not complete) is
//! *parked*: its state is handed to epoll with `EPOLLONESHOT`, so that exactly one worker
//! thread gets it back when its socket turns readable, and nobody else touches it meanwhile.
//! The listening socket is watched the same way (one worker accepts at a time), and a stop
//! event, level-triggered, reaches every worker at shutdown.
//!
//! A worker takes up to [`BATCH`] ready events with one `epoll_wait` ([`Batch`]); before it
//! blocks on one of them, it hands the others back ([`Epoll::hand_back`]) for other workers.
//!
//! Ownership: a parked `Box<T>` is leaked into the event's data and rebuilt when the event
//! is taken from its batch. `EPOLLONESHOT` delivers each arming exactly once, and a parked
//! item is armed only by the worker that holds it (or holds its event), so each box is
//! rebuilt exactly once.

use std::io;
use std::marker::PhantomData;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};

/// Most events one worker takes at once.
pub(crate) const BATCH: usize = 32;

/// Event data of the listening socket. Boxes are aligned, so never 1 or 2.
const LISTENER: u64 = 1;
/// Event data of the stop event.
const STOP: u64 = 2;

/// What a worker got from [`Epoll::wait`].
pub(crate) enum Ready<T> {
    /// The listening socket has connections to accept (it is disarmed until
    /// [`Epoll::rearm_listener`]).
    Listener,
    /// The server is stopping: the worker should exit.
    Stop,
    /// A parked item whose socket is readable (or closed, or in error), now the caller's.
    Parked(Box<T>),
}

/// One epoll instance holding parked items of type `T`, plus a stop event.
pub(crate) struct Epoll<T> {
    epoll: OwnedFd,
    stop: OwnedFd,
    /// The listening socket watched, or -1.
    listener: AtomicI32,
    _items: PhantomData<Box<T>>,
}

/// Events taken by one `epoll_wait`, not handled yet. Dropping a batch that still holds
/// parked items leaks them: hand them back first.
pub(crate) struct Batch<T> {
    events: [libc::epoll_event; BATCH],
    len: usize,
    next: usize,
    _items: PhantomData<Box<T>>,
}

impl<T> Batch<T> {
    pub(crate) fn new() -> Batch<T> {
        Batch {
            events: [libc::epoll_event { events: 0, u64: 0 }; BATCH],
            len: 0,
            next: 0,
            _items: PhantomData,
        }
    }

    /// The next event, now the caller's.
    pub(crate) fn pop(&mut self) -> Option<Ready<T>> {
        let ev = self.events[..self.len].get(self.next)?;
        self.next += 1;
        Some(match ev.u64 {
            LISTENER => Ready::Listener,
            STOP => Ready::Stop,
            // SAFETY: every other datum is a box leaked by `park`, delivered once (one-shot),
            // and popped once.
            ptr => Ready::Parked(unsafe { Box::from_raw(ptr as *mut T) }),
        })
    }
}

// SAFETY: the epoll instance only moves boxes of `T` between threads, whole.
unsafe impl<T: Send> Send for Epoll<T> {}
unsafe impl<T: Send> Sync for Epoll<T> {}

impl<T: AsRawFd> Epoll<T> {
    /// A new instance with its stop event (an `eventfd`) registered.
    pub(crate) fn new() -> io::Result<Epoll<T>> {
        // SAFETY: plain syscalls; each new descriptor is owned at once.
        let epoll = unsafe { owned(libc::epoll_create1(libc::EPOLL_CLOEXEC))? };
        let stop = unsafe { owned(libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK))? };
        let ep = Epoll {
            epoll,
            stop,
            listener: AtomicI32::new(-1),
            _items: PhantomData,
        };
        // Level-triggered: once signalled, every worker that waits sees it.
        ep.ctl(
            libc::EPOLL_CTL_ADD,
            ep.stop.as_raw_fd(),
            libc::EPOLLIN as u32,
            STOP,
        )?;
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

    /// Parks `item` until its socket is readable. `first`: the socket is not registered
    /// yet (else it is, disarmed since its last delivery). On failure the item comes back.
    ///
    /// After `Ok`, another worker may already hold the item: the caller must not keep any
    /// reference into it.
    pub(crate) fn park(&self, item: Box<T>, first: bool) -> Result<(), (Box<T>, io::Error)> {
        let fd = item.as_raw_fd();
        let op = if first {
            libc::EPOLL_CTL_ADD
        } else {
            libc::EPOLL_CTL_MOD
        };
        let ptr = Box::into_raw(item);
        match self.ctl(op, fd, parked_events(), ptr as u64) {
            Ok(()) => Ok(()),
            // SAFETY: not registered, so the box was not handed out: it is still ours.
            Err(e) => Err((unsafe { Box::from_raw(ptr) }, e)),
        }
    }

    /// Waits (at most `timeout_ms`, -1 for ever) for ready events, and puts them in `batch`
    /// (which must be empty). Returns how many (0: timed out).
    pub(crate) fn wait(&self, batch: &mut Batch<T>, timeout_ms: i32) -> io::Result<usize> {
        debug_assert!(batch.next >= batch.len, "a batch not handled");
        batch.len = 0;
        batch.next = 0;
        // SAFETY: room for `BATCH` events is passed.
        let n = unsafe {
            libc::epoll_wait(
                self.epoll.as_raw_fd(),
                batch.events.as_mut_ptr(),
                BATCH as i32,
                timeout_ms,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        batch.len = n as usize;
        Ok(batch.len)
    }

    /// Arms again every event of `batch` not taken yet, so that other workers get them. An
    /// item that cannot be parked again goes to `failed`.
    pub(crate) fn hand_back(&self, batch: &mut Batch<T>, mut failed: impl FnMut(Box<T>)) {
        while batch.next < batch.len {
            let data = batch.events[batch.next].u64;
            batch.next += 1;
            match data {
                // Level-triggered: still there for the others.
                STOP => {}
                LISTENER => {
                    let _ = self.rearm_listener();
                }
                ptr => {
                    // SAFETY: a parked box not taken yet: this worker holds its event.
                    let fd = unsafe { &*(ptr as *const T) }.as_raw_fd();
                    if self
                        .ctl(libc::EPOLL_CTL_MOD, fd, parked_events(), ptr)
                        .is_err()
                    {
                        // SAFETY: not armed again, so still only ours.
                        failed(unsafe { Box::from_raw(ptr as *mut T) });
                    }
                }
            }
        }
    }

    /// Signals the stop event: every worker's next [`Epoll::wait`] returns [`Ready::Stop`].
    pub(crate) fn stop(&self) {
        let one: u64 = 1;
        // SAFETY: an eventfd takes 8-byte writes.
        unsafe { libc::write(self.stop.as_raw_fd(), (&one as *const u64).cast(), 8) };
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

fn oneshot_in() -> u32 {
    (libc::EPOLLIN | libc::EPOLLONESHOT) as u32
}

fn parked_events() -> u32 {
    oneshot_in() | libc::EPOLLRDHUP as u32
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
    use std::os::unix::io::AsRawFd;

    /// A served socket, parked under a name.
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

    fn one(ep: &Epoll<Item>, timeout: i32) -> Option<Ready<Item>> {
        let mut batch = Batch::new();
        let n = ep.wait(&mut batch, timeout).unwrap();
        assert!(n <= 1, "{n} events");
        batch.pop()
    }

    fn park(ep: &Epoll<Item>, item: Item, first: bool) {
        ep.park(Box::new(item), first).map_err(|(_, e)| e).unwrap();
    }

    #[test]
    fn a_parked_item_comes_back_once_when_its_socket_is_readable() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let (mut client, served) = pair(&listener);
        let ep: Epoll<Item> = Epoll::new().unwrap();
        park(&ep, Item("conn", served), true);
        assert!(one(&ep, 50).is_none(), "nothing to read yet");
        client.write_all(b"x").unwrap();
        let Some(Ready::Parked(item)) = one(&ep, 5000) else {
            panic!("expected the parked item")
        };
        assert_eq!(item.0, "conn");
        // One-shot: still readable, but not delivered again until parked again.
        assert!(one(&ep, 50).is_none());
        park(&ep, Item("again", item.1), false);
        assert!(matches!(one(&ep, 5000), Some(Ready::Parked(i)) if i.0 == "again"));
    }

    #[test]
    fn what_a_worker_hands_back_goes_to_the_next_one() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let ep: Epoll<Item> = Epoll::new().unwrap();
        let mut clients = Vec::new();
        for name in ["a", "b", "c"] {
            let (mut client, served) = pair(&listener);
            client.write_all(b"x").unwrap();
            park(&ep, Item(name, served), true);
            clients.push(client);
        }
        let mut batch = Batch::new();
        let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while ep.wait(&mut batch, 100).unwrap() < 3 {
            assert!(std::time::Instant::now() < until, "3 ready sockets");
            batch.next = batch.len;
        }
        let Some(Ready::Parked(first)) = batch.pop() else {
            panic!("a parked item")
        };
        ep.hand_back(&mut batch, |_| panic!("re-armed"));
        assert!(batch.pop().is_none(), "handed back");
        let mut again = Batch::new();
        assert_eq!(ep.wait(&mut again, 5000).unwrap(), 2);
        let mut names = vec![first.0];
        while let Some(Ready::Parked(i)) = again.pop() {
            names.push(i.0);
        }
        names.sort();
        assert_eq!(names, ["a", "b", "c"]);
    }

    #[test]
    fn stop_reaches_every_waiter_and_the_listener_is_one_shot() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let ep: Epoll<Item> = Epoll::new().unwrap();
        ep.watch_listener(listener.as_raw_fd()).unwrap();
        let _c = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        assert!(matches!(one(&ep, 5000), Some(Ready::Listener)));
        assert!(one(&ep, 50).is_none(), "disarmed until re-armed");
        ep.rearm_listener().unwrap();
        assert!(matches!(one(&ep, 5000), Some(Ready::Listener)));
        ep.forget_listener();
        ep.stop();
        for _ in 0..3 {
            assert!(matches!(one(&ep, 5000), Some(Ready::Stop)));
        }
    }
}
