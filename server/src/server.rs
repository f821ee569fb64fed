//! The listener, the connection cap, and shutdown.
//!
//! One thread per connection: an accepted connection is handed to an idle connection thread,
//! or to a new one; threads that stay idle for [`THREAD_IDLE`] exit, so the pool shrinks back
//! after a burst. At most `max_connections` connections are served at once. When all are
//! taken, the one that has waited longest for its client is evicted to make room (see
//! [`crate::live`]); only when every one is still being served half a second later
//! ([`ROOM_WAIT`]) is the new one answered `503 Service Unavailable` and closed by the
//! accepting thread.
//!
//! Shutdown: stop accepting, wake every connection blocked in a read (they close), let
//! responses being written finish (for at most [`SHUTDOWN_GRACE`]), then return.

use std::collections::VecDeque;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::io::AsRawFd;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::config;
use crate::connection::{prepare_listener, serve, Context};
use crate::response::{error_page, Persist, Status};

/// A connection thread with nothing to do for this long exits.
const THREAD_IDLE: Duration = Duration::from_secs(30);
/// How long a new connection may wait for an evicted one to leave.
const ROOM_WAIT: Duration = Duration::from_millis(500);
/// How often a full server looks again for a connection it can evict.
const RETRY_EVICT: Duration = Duration::from_millis(20);
/// How long shutdown waits for responses in flight.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// Connection threads need little stack (buffers live on the heap or are 8 KiB), and small
/// stacks keep thousands of connections cheap.
const THREAD_STACK: usize = 128 * 1024;

/// How to run the server.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Path of ws.conf; a relative `DocumentRoot` in it is taken from this file's folder.
    pub config: PathBuf,
    /// `ADDR:PORT` overriding the file's `Listen` (e.g. `127.0.0.1:0`).
    pub listen: Option<String>,
    /// Most connections served at once; past it, 503 and close.
    pub max_connections: usize,
    /// Write one Common Log Format line per request to stdout.
    pub access_log: bool,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            config: PathBuf::from("ws.conf"),
            listen: None,
            max_connections: 512,
            access_log: true,
        }
    }
}

/// Why the server could not start at all.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(
        "cannot read the config file `{}` (looked for {}): {source}\n  \
         hint: run the server from the folder that holds ws.conf, or pass --config PATH",
        .path.display(),
        absolute(.path)
    )]
    ConfigUnreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "cannot listen on {addr}: {source}\n  \
         hint: another program may be using that port; change Listen in ws.conf or pass --listen ADDR:PORT"
    )]
    Bind {
        addr: String,
        source: std::io::Error,
    },
}

/// `path` made absolute, for messages.
fn absolute(path: &std::path::Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

/// A running server. Dropping it stops it too.
pub struct Server {
    addr: SocketAddr,
    ctx: Arc<Context>,
    pool: Arc<Pool>,
    listener_fd: i32,
    accept: Option<JoinHandle<()>>,
}

impl Server {
    /// Reads the config (a broken one still starts, serving 500s; a missing file is an Err),
    /// binds, starts accepting on a background thread.
    pub fn start(opts: ServerOptions) -> anyhow::Result<Server> {
        Self::start_with(opts, |_| {})
    }

    /// [`Server::start`], calling `on_bound` with the bound address before the first
    /// connection is accepted (the binary prints its `listening on` line there).
    pub fn start_with(
        opts: ServerOptions,
        on_bound: impl FnOnce(SocketAddr),
    ) -> anyhow::Result<Server> {
        let loaded = config::load(&opts.config).map_err(|source| StartError::ConfigUnreadable {
            path: opts.config.clone(),
            source,
        })?;
        for w in &loaded.warnings {
            eprintln!("warning: {w}");
        }
        let config = match loaded.config {
            Ok(c) => Some(c),
            Err(errors) => {
                for e in &errors {
                    eprintln!("error: {e}");
                }
                eprintln!(
                    "error: {} problem(s) in {}: every request will be answered 500 Internal Server Error \
                     until the file is fixed and the server restarted",
                    errors.len(),
                    opts.config.display()
                );
                None
            }
        };
        let addr = opts
            .listen
            .clone()
            .or(loaded.listen)
            .unwrap_or_else(|| format!("0.0.0.0:{}", config::DEFAULT_PORT));
        let listener = TcpListener::bind(&addr).map_err(|source| StartError::Bind {
            addr: addr.clone(),
            source,
        })?;
        // A deep accept queue: under a flood of connections (slow clients reconnecting as
        // they are evicted) a full queue drops SYNs, and a dropped SYN costs its client a
        // 1 s retransmission. The kernel caps this at net.core.somaxconn.
        // SAFETY: a listening socket; listen() again only changes its backlog.
        unsafe { libc::listen(listener.as_raw_fd(), 4096) };
        let local = listener.local_addr()?;
        let ctx = Arc::new(Context::new(config, opts.access_log));
        prepare_listener(&listener, &ctx)?;
        let pool = Arc::new(Pool::new(opts.max_connections.max(1), ctx.clone()));
        on_bound(local);
        let listener_fd = listener.as_raw_fd();
        let (c, p) = (ctx.clone(), pool.clone());
        let accept = std::thread::Builder::new()
            .name("accept".into())
            .spawn(move || accept_loop(listener, &c, &p))?;
        Ok(Server {
            addr: local,
            ctx,
            pool,
            listener_fd,
            accept: Some(accept),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stop accepting, let in-flight responses finish (bounded), join threads.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let Some(accept) = self.accept.take() else {
            return;
        };
        self.ctx.stopping.store(true, Ordering::SeqCst);
        // Wakes the blocked accept() on Linux; the connection below covers other systems.
        unsafe { libc::shutdown(self.listener_fd, libc::SHUT_RDWR) };
        if !accept.is_finished() {
            let mut wake = self.addr;
            if wake.ip().is_unspecified() {
                wake.set_ip(if wake.is_ipv4() {
                    [127, 0, 0, 1].into()
                } else {
                    std::net::Ipv6Addr::LOCALHOST.into()
                });
            }
            let _ = TcpStream::connect_timeout(&wake, Duration::from_millis(200));
        }
        let _ = accept.join();
        self.ctx.live.wake_all();
        self.pool.close(SHUTDOWN_GRACE);
        crate::log::flush();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn accept_loop(listener: TcpListener, ctx: &Context, pool: &Arc<Pool>) {
    loop {
        let accepted = listener.accept();
        if ctx.stopping.load(Ordering::SeqCst) {
            return;
        }
        match accepted {
            Ok((stream, peer)) => {
                if let Err((stream, _)) = pool.submit(stream, peer) {
                    reject_busy(stream);
                }
            }
            Err(e) => {
                // The listener's SO_RCVTIMEO (set for accepted sockets to inherit) also makes
                // accept() return EAGAIN when idle that long: simply accept again.
                // Out of file descriptors or memory: say so and give the system a moment.
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
                ) {
                    eprintln!("error: accepting a connection: {e}");
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
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

/// Connection threads: reused when idle, created on demand, capped by connection count.
struct Pool {
    state: Mutex<PoolState>,
    work: Condvar,
    done: Condvar,
    cap: usize,
    ctx: Arc<Context>,
}

struct PoolState {
    queue: VecDeque<(TcpStream, SocketAddr)>,
    idle: usize,
    busy: usize,
    threads: usize,
    closing: bool,
    /// The accept thread waits for a connection to end (see [`Pool::make_room`]).
    room_wanted: bool,
}

impl Pool {
    fn new(cap: usize, ctx: Arc<Context>) -> Pool {
        let state = PoolState {
            queue: VecDeque::new(),
            idle: 0,
            busy: 0,
            threads: 0,
            closing: false,
            room_wanted: false,
        };
        Pool {
            state: Mutex::new(state),
            work: Condvar::new(),
            done: Condvar::new(),
            cap,
            ctx,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hands a connection to a thread; gives it back if the cap is reached.
    fn submit(
        self: &Arc<Self>,
        stream: TcpStream,
        peer: SocketAddr,
    ) -> Result<(), (TcpStream, SocketAddr)> {
        let mut st = self.lock();
        if st.busy >= self.cap && !st.closing {
            st = self.make_room(st);
        }
        if st.closing || st.busy >= self.cap {
            return Err((stream, peer));
        }
        st.busy += 1;
        st.queue.push_back((stream, peer));
        if st.queue.len() <= st.idle {
            self.work.notify_one();
            return Ok(());
        }
        st.threads += 1;
        drop(st);
        let me = self.clone();
        let spawned = std::thread::Builder::new()
            .name("conn".into())
            .stack_size(THREAD_STACK)
            .spawn(move || me.worker());
        if let Err(e) = spawned {
            eprintln!("error: cannot start a connection thread: {e}");
            let mut st = self.lock();
            st.threads -= 1;
            st.busy -= 1;
            return st.queue.pop_back().map_or(Ok(()), Err);
        }
        Ok(())
    }

    /// Full: evicts the connection that has waited longest for its client, rather than
    /// refusing the new one, and waits (at most [`ROOM_WAIT`]) for its thread to leave. The
    /// accept queue holds the next connections meanwhile. When no connection can be evicted
    /// yet (each is being served, or its client's bytes are in the kernel while its thread
    /// waits for a core on a busy machine), it looks again every [`RETRY_EVICT`] until the
    /// same deadline; the caller answers 503 only if the server is still full then.
    fn make_room<'a>(
        &'a self,
        mut st: std::sync::MutexGuard<'a, PoolState>,
    ) -> std::sync::MutexGuard<'a, PoolState> {
        let deadline = Instant::now() + ROOM_WAIT;
        let mut evicted = false;
        while st.busy >= self.cap && !st.closing {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            evicted = evicted || self.ctx.live.evict_stalest();
            let wait = if evicted { left } else { left.min(RETRY_EVICT) };
            st.room_wanted = true;
            st = self
                .done
                .wait_timeout(st, wait)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        st.room_wanted = false;
        st
    }

    fn worker(self: Arc<Self>) {
        let mut st = self.lock();
        loop {
            if let Some((stream, peer)) = st.queue.pop_front() {
                drop(st);
                serve(stream, peer, &self.ctx);
                st = self.lock();
                st.busy -= 1;
                if st.room_wanted {
                    self.done.notify_all();
                }
                continue;
            }
            if st.closing {
                break;
            }
            st.idle += 1;
            let (guard, timeout) = self
                .work
                .wait_timeout(st, THREAD_IDLE)
                .unwrap_or_else(|e| e.into_inner());
            st = guard;
            st.idle -= 1;
            if timeout.timed_out() && st.queue.is_empty() {
                break;
            }
        }
        st.threads -= 1;
        self.done.notify_all();
    }

    /// Stops taking connections and waits (at most `grace`) for every thread to finish.
    fn close(&self, grace: Duration) {
        let deadline = Instant::now() + grace;
        let mut st = self.lock();
        st.closing = true;
        self.work.notify_all();
        while st.threads > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                eprintln!(
                    "warning: {} connection(s) still busy after {grace:?}; leaving them",
                    st.busy
                );
                return;
            }
            st = self
                .done
                .wait_timeout(st, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}
