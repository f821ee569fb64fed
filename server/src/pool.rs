//! The worker threads, the connection slots, and the timer.
//!
//! A thread pool: every worker waits in the same epoll instance ([`crate::poll`]) for ready
//! things, either the listening socket (it then accepts what is waiting) or parked
//! connections whose clients have sent something (it then serves each until it would wait
//! again, see [`crate::connection`]). A worker serves one connection at a time and blocks
//! while it writes a response the client is slow to take or reads a body; idle keep-alive
//! connections and heads still arriving hold no thread. One `epoll_wait` gives a worker
//! several ready connections; before it blocks on one, it hands the rest back to the others.
//! So under load a few threads serve many connections with few system calls and context
//! switches.
//!
//! Threads: one per CPU the server may run on ([`first_workers`]), started at once; a
//! new one whenever a worker is about to block ([`crate::blocking`]) and none is left
//! waiting, so that one always waits while others block (up to the cap). A worker above the
//! first ones that waits [`THREAD_IDLE`] for nothing exits, unless it is the last one waiting.
//!
//! Slots: at most `max_connections` connections are open. When all are taken, the one that
//! has waited longest for its client is evicted to make room (see [`crate::live`]); only when
//! every one is still being served half a second later ([`ROOM_WAIT`]) is the new one
//! answered `503 Service Unavailable` and closed.
//!
//! The timer wakes parked connections whose time is up ([`crate::live::Live::expire_due`])
//! every [`TICK`].

use std::cell::RefCell;
use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::io::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::connection::{Conn, Next, WRITE_TIMEOUT};
use crate::context::Context;
use crate::poll::{Batch, Epoll, Held, Ready};
use crate::response::{error_page, Persist, Status};

/// A worker with nothing to do for this long exits (unless it is the last one waiting).
const THREAD_IDLE: Duration = Duration::from_secs(30);
/// How long a new connection may wait for an evicted one to leave.
const ROOM_WAIT: Duration = Duration::from_millis(500);
/// How often a full server looks again for a connection it can evict.
const RETRY_EVICT: Duration = Duration::from_millis(20);
/// How often the timer looks for parked connections whose time is up.
const TICK: Duration = Duration::from_millis(100);
/// Workers need little stack (buffers live on the heap or are 8 KiB), and small stacks
/// keep thousands of blocked workers cheap.
const THREAD_STACK: usize = 128 * 1024;
/// Unsent bytes a socket may hold before a write waits. Without a bound, a large file is
/// queued in the socket far ahead of what the client's window lets out, and the rest is sent
/// from the client's side, as its acknowledgements arrive: on loopback, the client's CPU did
/// that work (see server/README.md, Speed).
const NOTSENT_LOWAT: libc::c_int = 16 * 1024;

thread_local! {
    /// The events this worker took and has not handled yet.
    static BATCH: RefCell<Batch> = RefCell::new(Batch::new());
}

/// The workers and the slots of one server.
pub(crate) struct Pool {
    epoll: Epoll<Conn>,
    listener: TcpListener,
    ctx: Arc<Context>,
    cap: usize,
    slots: Mutex<Slots>,
    /// Signalled when a slot frees while someone waits for one (or for all).
    room: Condvar,
    /// How many worker threads run.
    workers: Mutex<usize>,
    /// Signalled when a worker exits.
    gone: Condvar,
    /// How many workers wait in epoll.
    waiting: AtomicUsize,
    /// Workers kept however idle: one per CPU.
    min_workers: usize,
    timer: Mutex<Option<Timer>>,
}

#[derive(Default)]
struct Slots {
    open: usize,
    /// The accepting worker waits for a connection to end (see [`Pool::make_room`]).
    room_wanted: bool,
    closing: bool,
}

/// The thread that wakes connections whose time is up.
struct Timer {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl Pool {
    /// Prepares `listener` (see [`prepare_listener`]) and starts the first worker and the
    /// timer, serving at most `cap` connections at once.
    pub(crate) fn start(
        listener: TcpListener,
        ctx: Arc<Context>,
        cap: usize,
    ) -> io::Result<Arc<Pool>> {
        prepare_listener(&listener)?;
        let epoll = Epoll::new(cap.max(1))?;
        epoll.watch_listener(listener.as_raw_fd())?;
        let pool = Arc::new(Pool {
            epoll,
            listener,
            ctx,
            cap: cap.max(1),
            slots: Mutex::new(Slots::default()),
            room: Condvar::new(),
            workers: Mutex::new(0),
            gone: Condvar::new(),
            waiting: AtomicUsize::new(0),
            min_workers: first_workers(),
            timer: Mutex::new(None),
        });
        *lock(&pool.timer) = Some(Timer::start(pool.ctx.clone())?);
        // Started before the first connection is served, so that none starts (and
        // allocates) while requests are being served.
        let ready = Arc::new(Barrier::new(pool.min_workers + 1));
        for _ in 0..pool.min_workers {
            pool.spawn(Some(ready.clone()))?;
        }
        ready.wait();
        Ok(pool)
    }

    /// Stops taking connections: the listening socket is no longer watched, and refuses
    /// new ones.
    pub(crate) fn stop_accepting(&self) {
        self.epoll.forget_listener();
        // SAFETY: the listener is open while the pool lives.
        unsafe { libc::shutdown(self.listener.as_raw_fd(), libc::SHUT_RDWR) };
    }

    /// After [`Pool::stop_accepting`] and waking the connections: waits (at most `grace`)
    /// for every connection to end, then for the workers to exit, and stops the timer.
    pub(crate) fn close(&self, grace: Duration) {
        let deadline = Instant::now() + grace;
        let mut slots = lock(&self.slots);
        slots.closing = true;
        while slots.open > 0 && !left(deadline).is_zero() {
            slots = wait(&self.room, slots, left(deadline));
        }
        if slots.open > 0 {
            eprintln!(
                "warning: {} connection(s) still busy after {grace:?}; leaving them",
                slots.open
            );
        }
        drop(slots);
        self.epoll.stop();
        let mut workers = lock(&self.workers);
        while *workers > 0 && !left(deadline).is_zero() {
            workers = wait(&self.gone, workers, left(deadline));
        }
        drop(workers);
        if let Some(timer) = lock(&self.timer).take() {
            timer.stop();
        }
    }

    /// Starts a worker, unless the pool has as many as it may have: every open connection
    /// may hold one, plus one accepting and one waiting.
    /// `ready`: a barrier the new worker waits at once it is set up.
    fn spawn(self: &Arc<Self>, ready: Option<Arc<Barrier>>) -> io::Result<()> {
        let mut workers = lock(&self.workers);
        if *workers >= (self.cap + 2).max(self.min_workers) {
            return Ok(());
        }
        *workers += 1;
        drop(workers);
        let me = self.clone();
        let spawned = std::thread::Builder::new()
            .name("worker".into())
            .stack_size(THREAD_STACK)
            .spawn(move || me.work(ready));
        if let Err(e) = spawned {
            *lock(&self.workers) -= 1;
            return Err(io::Error::new(
                e.kind(),
                format!("cannot start a worker thread: {e}"),
            ));
        }
        Ok(())
    }

    /// Called by a worker about to block: hands the rest of its batch back, and starts a
    /// worker if none waits.
    fn before_blocking(self: &Arc<Self>) {
        BATCH.with(|b| self.epoll.hand_back(&mut b.borrow_mut()));
        if self.waiting.load(Ordering::SeqCst) == 0 {
            if let Err(e) = self.spawn(None) {
                eprintln!("error: {e}");
            }
        }
    }

    /// A worker's life: wait for ready things, handle them, again.
    fn work(self: Arc<Self>, ready: Option<Arc<Barrier>>) {
        let me = self.clone();
        crate::blocking::set_hook(Arc::new(move || me.before_blocking()));
        // The thread's clock strings are made here, not in its first response.
        crate::log::with_http_date(|_| ());
        if let Some(ready) = ready {
            ready.wait();
        }
        loop {
            self.waiting.fetch_add(1, Ordering::SeqCst);
            let timeout = THREAD_IDLE.as_millis() as i32;
            let got = BATCH.with(|b| self.epoll.wait(&mut b.borrow_mut(), timeout));
            let others_waiting = self.waiting.fetch_sub(1, Ordering::SeqCst) - 1;
            match got {
                Ok(0) if others_waiting > 0 && self.retire(self.min_workers) => return,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    eprintln!("error: waiting for connections: {e}");
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
            if !self.handle_batch() {
                return;
            }
        }
    }

    /// Handles the events of this worker's batch, one by one. `false`: the worker must exit
    /// (the rest was handed back).
    fn handle_batch(&self) -> bool {
        while let Some(ready) = BATCH.with(|b| self.epoll.next(&mut b.borrow_mut())) {
            match ready {
                Ready::Stop => {
                    BATCH.with(|b| self.epoll.hand_back(&mut b.borrow_mut()));
                    self.retire(0);
                    return false;
                }
                Ready::Listener => self.accept_all(),
                Ready::Conn(held) => self.serve(held),
            }
        }
        true
    }

    /// Counts a worker out if more than `keep` would be left. Whether it was.
    fn retire(&self, keep: usize) -> bool {
        let mut workers = lock(&self.workers);
        if *workers <= keep {
            return false;
        }
        *workers -= 1;
        self.gone.notify_all();
        true
    }

    /// Accepts every connection waiting on the listener, then watches it again.
    fn accept_all(&self) {
        loop {
            if self.ctx.stopping.load(Ordering::SeqCst) {
                return;
            }
            match self.listener.accept() {
                Ok((stream, peer)) => self.admit(stream, peer),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => {}
                Err(e) => {
                    // Out of file descriptors or memory: say so and give the system a moment.
                    eprintln!("error: accepting a connection: {e}");
                    std::thread::sleep(Duration::from_millis(50));
                    break;
                }
            }
        }
        if let Err(e) = self.epoll.rearm_listener() {
            if !self.ctx.stopping.load(Ordering::SeqCst) {
                eprintln!("error: watching the listening socket: {e}");
            }
        }
    }

    /// Gives a new connection a slot and parks it until its request arrives; `503` when no
    /// slot can be had.
    fn admit(&self, stream: TcpStream, peer: SocketAddr) {
        if !self.take_slot() {
            reject_busy(stream);
            return;
        }
        let mut conn = Conn::new(stream, peer.ip(), self.ctx.clone());
        conn.wait_for_client();
        if let Err((conn, e)) = self.epoll.insert(conn) {
            eprintln!("error: watching a connection: {e}");
            self.close_conn(conn);
        }
    }

    /// Runs a connection whose client has sent something until it waits for its client
    /// again (it is then parked, unless more came meanwhile) or is done (closed).
    fn serve(&self, mut held: Held) {
        loop {
            let conn = self.epoll.item(&mut held);
            let next = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| conn.resume()))
                .unwrap_or_else(|_| {
                    eprintln!("error: a connection panicked; it was closed");
                    Next::Close
                });
            if next == Next::Close {
                return self.close_conn(self.epoll.remove(held));
            }
            let room = self.epoll.item(&mut held).wants_room();
            match self.epoll.release(held, room) {
                Ok(()) => return,
                Err(still) => held = still,
            }
        }
    }

    /// Closes a connection and frees its slot.
    fn close_conn(&self, conn: Conn) {
        drop(conn);
        let mut slots = lock(&self.slots);
        slots.open -= 1;
        if slots.room_wanted || slots.closing {
            self.room.notify_all();
        }
    }

    /// Takes a slot for a new connection, making room if all are taken. Whether it got one.
    fn take_slot(&self) -> bool {
        let mut slots = lock(&self.slots);
        if slots.open >= self.cap && !slots.closing {
            // Another worker must serve the connection evicted while this one waits (and
            // what this worker hands back may close connections: not under the lock).
            drop(slots);
            crate::blocking::before();
            slots = self.make_room(lock(&self.slots));
        }
        if slots.closing || slots.open >= self.cap {
            return false;
        }
        slots.open += 1;
        true
    }

    /// Full: evicts the connection that has waited longest for its client, rather than
    /// refusing the new one, and waits (at most [`ROOM_WAIT`]) for it to leave. The accept
    /// queue holds the next connections meanwhile. When no connection can be evicted yet
    /// (each is being served, or its client's bytes are in the kernel while it waits for a
    /// worker on a busy machine), it looks again every [`RETRY_EVICT`] until the same
    /// deadline; the caller answers 503 only if the server is still full then.
    fn make_room<'a>(&'a self, mut slots: MutexGuard<'a, Slots>) -> MutexGuard<'a, Slots> {
        let deadline = Instant::now() + ROOM_WAIT;
        let mut evicted = false;
        while slots.open >= self.cap && !slots.closing && !left(deadline).is_zero() {
            evicted = evicted || self.ctx.live.evict_stalest();
            let pause = if evicted {
                left(deadline)
            } else {
                left(deadline).min(RETRY_EVICT)
            };
            slots.room_wanted = true;
            slots = wait(&self.room, slots, pause);
        }
        slots.room_wanted = false;
        slots
    }
}

impl Timer {
    fn start(ctx: Arc<Context>) -> io::Result<Timer> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let ready = Arc::new(Barrier::new(2));
        let started = ready.clone();
        let thread = std::thread::Builder::new()
            .name("timer".into())
            .stack_size(THREAD_STACK)
            .spawn(move || {
                started.wait();
                while !flag.load(Ordering::SeqCst) {
                    ctx.live.expire_due();
                    std::thread::park_timeout(TICK);
                }
            })?;
        ready.wait();
        Ok(Timer { stop, thread })
    }

    fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.thread().unpark();
        let _ = self.thread.join();
    }
}

/// The workers kept however idle: one per CPU the server may run on (`taskset` counts).
/// On the 2-CPU development machine, unpinned, two workers against one (alternating
/// `bench/run.sh` runs): 1 KiB keep-alive 127 k against 75–103 k req/s, 1 MiB 6.3–7.6 k
/// against 5.2–5.5 k; `Connection: close` about the same req/s (28.8–30.4 k against
/// 26.2–30.8 k) at more CPU per connection (30 µs against 18–20: the two wake and sleep for
/// each other's connections). Letting only one worker wait in epoll at a time, the other
/// helping with half of its batches, cost less per connection (22–25 µs) but served fewer
/// requests on every load, and was not kept.
fn first_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().max(1))
}

/// Sets on the listening socket what every connection needs: accepted sockets inherit
/// `TCP_NODELAY`, `SO_SNDTIMEO` and `TCP_NOTSENT_LOWAT` on Linux, so no connection pays a
/// `setsockopt`. The listener itself does not block: workers accept until it is empty.
pub(crate) fn prepare_listener(listener: &TcpListener) -> io::Result<()> {
    let fd = listener.as_raw_fd();
    let timeout = libc::timeval {
        tv_sec: WRITE_TIMEOUT.as_secs() as libc::time_t,
        tv_usec: WRITE_TIMEOUT.subsec_micros() as libc::suseconds_t,
    };
    let one: libc::c_int = 1;
    set_opt(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, &one)?;
    set_opt(fd, libc::SOL_SOCKET, libc::SO_SNDTIMEO, &timeout)?;
    set_opt(
        fd,
        libc::IPPROTO_TCP,
        libc::TCP_NOTSENT_LOWAT,
        &NOTSENT_LOWAT,
    )?;
    listener.set_nonblocking(true)
}

fn set_opt<T>(fd: i32, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: `value` points to a live `T` of the size passed.
    let r = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Answers 503 to a connection over the cap, without reading its request.
fn reject_busy(mut stream: TcpStream) {
    let mut out = Vec::with_capacity(512);
    error_page(
        &mut out,
        Status::ServiceUnavailable,
        "too many connections; try again later",
        Persist::Close,
        true,
    );
    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
    let _ = stream.write_all(&out);
    let _ = stream.shutdown(std::net::Shutdown::Write);
    // Drain what the client already sent, so closing does not reset the connection and
    // destroy the 503 before the client reads it.
    let _ = stream.set_nonblocking(true);
    let mut sink = [0u8; 4096];
    while let Ok(n) = std::io::Read::read(&mut stream, &mut sink) {
        if n == 0 {
            break;
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn wait<'a, T>(cv: &Condvar, guard: MutexGuard<'a, T>, pause: Duration) -> MutexGuard<'a, T> {
    cv.wait_timeout(guard, pause)
        .unwrap_or_else(|e| e.into_inner())
        .0
}

fn left(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}
