//! The per-connection loop: read a head (bounded in size and time), read its body if any,
//! answer, and either read the next request on the same socket (keep-alive, pipelining) or
//! close.
//!
//! Timeouts (all socket read timeouts, no polling):
//! - waiting for the first byte of a request: `KeepaliveTime` (a connection that stays idle
//!   that long is closed without a response);
//! - once a request has started, its head and body must be complete within `KeepaliveTime`
//!   capped at [`REQUEST_TIMEOUT`] (10 s; also 10 s when `KeepaliveTime` is 0), else
//!   `408 Request Timeout` and close;
//! - writes time out after [`WRITE_TIMEOUT`] without progress (the connection is dropped).

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::os::unix::io::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::body::BodyError;
use crate::cache::FileCache;
use crate::config::Config;
use crate::confine::Root;
use crate::live::{Live, Track};
use crate::request::{parse_head_into, scan_head, Framing, Method, Rejection, Request, Scan};
use crate::resolve::{resolve, Miss, Resolved};
use crate::response::{error_page, error_page_with, head, send_file, Persist, Sent, Status};

/// Longest time allowed for a request's head and body once its first byte arrived.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Idle time used when keep-alive is off (`KeepaliveTime 0`) or the config is broken.
pub const IDLE_FALLBACK: Duration = Duration::from_secs(10);
/// A write that makes no progress for this long drops the connection.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest time spent discarding input after an answer that closes the connection.
pub const LINGER: Duration = Duration::from_secs(2);
/// Largest request body accepted (and read, for POST; discarded for other methods).
pub const MAX_BODY: u64 = 1024 * 1024;

const EVICTED: &str = "the server is full and this request was the slowest to arrive; try again";
const BROKEN: &str = "the server configuration (ws.conf) has errors; see the server's log";

/// What every connection shares.
pub struct Context {
    /// `None` when ws.conf is broken: every request gets 500.
    pub config: Option<Config>,
    /// `DocumentRoot`, held open (present whenever `config` is).
    pub root: Option<Root>,
    pub access_log: bool,
    pub stopping: AtomicBool,
    /// Live connections: shutdown wakes them; when full, the stalest is evicted.
    pub live: Live,
    /// Small files recently served, checked against the file system at every hit.
    pub cache: FileCache,
    /// `Allow` header value: the supported methods.
    pub allow: String,
}

impl Context {
    pub fn new(config: Option<Config>, access_log: bool) -> Context {
        let root = config
            .as_ref()
            .and_then(|c| match Root::open(&c.document_root) {
                Ok(r) => Some(r),
                Err(e) => {
                    eprintln!(
                    "error: cannot open DocumentRoot {}: {e}; every request will be answered 500",
                    c.document_root.display()
                );
                    None
                }
            });
        let config = config.filter(|_| root.is_some());
        let allow = config
            .as_ref()
            .map(|c| {
                c.methods
                    .iter()
                    .map(|m| m.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        Context {
            config,
            root,
            access_log,
            stopping: AtomicBool::new(false),
            live: Live::default(),
            cache: FileCache::default(),
            allow,
        }
    }
}

impl Context {
    /// How long a connection may stay idle between requests.
    pub fn idle(&self) -> Duration {
        match &self.config {
            Some(c) if !c.keepalive.is_zero() => c.keepalive,
            _ => IDLE_FALLBACK,
        }
    }
}

/// A timeout as the socket keeps it (whole milliseconds, at least 1).
fn socket_timeout(t: Duration) -> Duration {
    Duration::from_millis(t.as_millis().max(1) as u64)
}

/// Sets on the listening socket what every connection needs: accepted sockets inherit
/// `TCP_NODELAY`, `SO_SNDTIMEO` and `SO_RCVTIMEO` on Linux, so no connection pays three
/// `setsockopt` calls (see [`Conn::new`]).
pub fn prepare_listener(listener: &std::net::TcpListener, ctx: &Context) -> io::Result<()> {
    let fd = listener.as_raw_fd();
    let tv = |d: Duration| libc::timeval {
        tv_sec: d.as_secs() as libc::time_t,
        tv_usec: d.subsec_micros() as libc::suseconds_t,
    };
    let one: libc::c_int = 1;
    set_opt(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, &one)?;
    set_opt(fd, libc::SOL_SOCKET, libc::SO_SNDTIMEO, &tv(WRITE_TIMEOUT))?;
    set_opt(
        fd,
        libc::SOL_SOCKET,
        libc::SO_RCVTIMEO,
        &tv(socket_timeout(ctx.idle())),
    )
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

/// Serves one connection until it closes.
pub fn serve(stream: TcpStream, peer: SocketAddr, ctx: &Context) {
    let fd = stream.as_raw_fd();
    let track = ctx.live.register(fd);
    if ctx.stopping.load(Ordering::SeqCst) {
        // Registered too late to be woken: do not start reading.
        let _ = stream.shutdown(std::net::Shutdown::Read);
    }
    let mut conn = Conn::new(stream, peer.ip(), ctx, track);
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| conn.run())).is_err() {
        eprintln!("error: a connection thread panicked; the connection was closed");
    }
    // Deregister before the socket closes (when `conn` drops), so the fd is never reused
    // while still listed.
    ctx.live.deregister(fd);
    drop(conn);
}

enum Read1 {
    Head {
        start: usize,
        end: usize,
        next: usize,
    },
    /// The peer closed, or stayed idle past the keep-alive time: close quietly.
    Quiet,
    /// Answer with this status and close.
    Fail(Status, &'static str),
}

/// One connection's state, reused across its requests.
pub(crate) struct Conn<'a> {
    pub(crate) stream: TcpStream,
    ctx: &'a Context,
    peer: IpAddr,
    idle: Duration,
    pub(crate) request_timeout: Duration,
    read_timeout: Option<Duration>,
    /// Bytes received and not consumed yet: a head being read, then (once the head is
    /// consumed) the start of its body, or pipelined requests.
    pub(crate) inbuf: Vec<u8>,
    out: Vec<u8>,
    /// What this connection is doing, for eviction.
    track: Arc<Track>,
    /// The current request line and request, kept across requests for their buffers.
    line: Vec<u8>,
    req: Request,
}

impl<'a> Conn<'a> {
    /// A connection accepted from a listener prepared by [`prepare_listener`], so its socket
    /// already has `TCP_NODELAY`, the write timeout and the idle read timeout.
    fn new(stream: TcpStream, peer: IpAddr, ctx: &'a Context, track: Arc<Track>) -> Conn<'a> {
        let idle = ctx.idle();
        Conn {
            stream,
            ctx,
            peer,
            idle,
            request_timeout: idle.min(REQUEST_TIMEOUT),
            read_timeout: Some(socket_timeout(idle)),
            inbuf: Vec::with_capacity(4096),
            out: Vec::with_capacity(4096),
            track,
            line: Vec::new(),
            req: Request::empty(),
        }
    }

    fn run(&mut self) -> io::Result<()> {
        loop {
            let (start, end, next) = match self.read_head() {
                Read1::Head { start, end, next } => (start, end, next),
                Read1::Quiet => return Ok(()),
                Read1::Fail(status, why) => {
                    let line = first_line(&self.inbuf).to_vec();
                    return self.fail(&line, status, why);
                }
            };
            // The request line (for the log) and the request, in buffers the connection keeps:
            // the keep-alive path allocates nothing.
            let mut line = std::mem::take(&mut self.line);
            line.clear();
            line.extend_from_slice(first_line(&self.inbuf[start..end]));
            let mut req = std::mem::replace(&mut self.req, Request::empty());
            let ctx = self.ctx;
            let Some(cfg) = &ctx.config else {
                return self.fail(&line, Status::InternalServerError, BROKEN);
            };
            match parse_head_into(&self.inbuf[start..end], &mut req) {
                Ok(()) => {}
                Err(Rejection::BadRequest(why)) => {
                    return self.fail(&line, Status::BadRequest, &why)
                }
                Err(Rejection::LineTooLong) => {
                    return self.fail(&line, Status::UriTooLong, "request line too long")
                }
                Err(Rejection::HeadTooLarge) => {
                    return self.fail(
                        &line,
                        Status::HeaderFieldsTooLarge,
                        "request head too large",
                    )
                }
                Err(Rejection::NotImplemented(why)) => {
                    return self.fail(&line, Status::NotImplemented, &why)
                }
            }
            self.inbuf.drain(..next);
            if req.framing != Framing::Length(0) {
                self.ctx.live.waiting(&self.track, true);
            }
            let keep_body = req.method == Method::Post && cfg.methods.contains(&Method::Post);
            let body = match self.read_body(req.framing, req.expect_continue, keep_body) {
                Ok(b) => b,
                Err(BodyError::Fail(status, why)) => return self.fail(&line, status, why),
                Err(BodyError::Gone) if self.track.evicted() => {
                    return self.fail(&line, Status::ServiceUnavailable, EVICTED)
                }
                Err(BodyError::Gone) => return Ok(()),
            };
            self.ctx.live.waiting(&self.track, false);
            let keep =
                req.keep_alive && !cfg.keepalive.is_zero() && !ctx.stopping.load(Ordering::SeqCst);
            let persist = if keep {
                Persist::KeepAlive(cfg.keepalive.as_secs())
            } else {
                Persist::Close
            };
            let (status, sent) = self.answer(cfg, &req, &body, persist)?;
            if self.ctx.access_log {
                crate::log::access(self.peer, &line, status.code(), sent);
            }
            if persist == Persist::Close {
                // Always: input the client sends after this check would also be answered
                // with a reset once the socket is closed, cutting the response short.
                self.linger();
                return Ok(());
            }
            self.line = line;
            self.req = req;
        }
    }

    /// Sends an error that ends the connection, and logs it. With a broken ws.conf every
    /// answer is 500, whatever else is wrong with the request.
    fn fail(&mut self, line: &[u8], status: Status, why: &str) -> io::Result<()> {
        let (status, why) = match self.ctx.config {
            None => (Status::InternalServerError, BROKEN),
            Some(_) => (status, why),
        };
        self.out.clear();
        // A response to HEAD never has a body, even when the rest of the request is bad.
        let body = !line.starts_with(b"HEAD ");
        let n = error_page(&mut self.out, status, why, Persist::Close, body);
        let n = if body { n } else { 0 };
        let r = self.stream.write_all(&self.out);
        if self.ctx.access_log {
            crate::log::access(self.peer, line, status.code(), n);
        }
        self.linger();
        r
    }

    /// Closes our side, then reads and discards what the client still sends for a short while:
    /// closing a socket with unread input makes the kernel send a reset, which can destroy
    /// the response before the client reads it ("lingering close", as Apache does).
    fn linger(&mut self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Write);
        let end = Instant::now() + LINGER;
        let mut sink = [0u8; 8192];
        let mut drained = 0usize;
        while drained < (1 << 20) {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() || self.stream.set_read_timeout(Some(left)).is_err() {
                break;
            }
            match self.stream.read(&mut sink) {
                Ok(0) | Err(_) => break,
                Ok(n) => drained += n,
            }
        }
    }

    /// Reads until a complete head is in `inbuf` (which may already hold pipelined bytes).
    fn read_head(&mut self) -> Read1 {
        let mut resume = 0;
        let mut waiting = false;
        let mut deadline = (!self.inbuf.is_empty()).then(|| Instant::now() + self.request_timeout);
        loop {
            match scan_head(&self.inbuf, resume) {
                Scan::Complete { start, end, next } => {
                    if waiting {
                        self.ctx.live.waiting(&self.track, false);
                    }
                    return Read1::Head { start, end, next };
                }
                Scan::Reject(Rejection::LineTooLong) => {
                    return Read1::Fail(Status::UriTooLong, "request line too long")
                }
                Scan::Reject(_) => {
                    return Read1::Fail(Status::HeaderFieldsTooLarge, "request head too large")
                }
                Scan::Partial { resume: r } => resume = r,
            }
            let timeout = match deadline {
                None => self.idle,
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(t) if !t.is_zero() => t,
                    _ => {
                        return Read1::Fail(
                            Status::RequestTimeout,
                            "the request head did not arrive in time",
                        )
                    }
                },
            };
            if !waiting {
                // From now on the client has the next move: this connection may be evicted.
                self.ctx.live.waiting(&self.track, true);
                waiting = true;
            }
            match self.fill(timeout) {
                Ok(0) if deadline.is_none() || self.ctx.stopping.load(Ordering::SeqCst) => {
                    return Read1::Quiet
                }
                Ok(0) if self.track.evicted() => {
                    return Read1::Fail(Status::ServiceUnavailable, EVICTED)
                }
                Ok(0) => {
                    return Read1::Fail(
                        Status::BadRequest,
                        "the connection ended in the middle of a request",
                    )
                }
                Ok(_) => {
                    deadline.get_or_insert_with(|| Instant::now() + self.request_timeout);
                }
                Err(e) if is_timeout(&e) && deadline.is_none() => return Read1::Quiet,
                Err(e) if is_timeout(&e) => {
                    return Read1::Fail(
                        Status::RequestTimeout,
                        "the request head did not arrive in time",
                    )
                }
                Err(_) => return Read1::Quiet,
            }
        }
    }

    /// Sets the socket's read timeout, touching the option only when the value changes
    /// (usually it does not).
    pub(crate) fn set_read_timeout(&mut self, timeout: Duration) -> io::Result<()> {
        let rounded = Some(socket_timeout(timeout));
        if self.read_timeout != rounded {
            self.stream.set_read_timeout(rounded)?;
            self.read_timeout = rounded;
        }
        Ok(())
    }

    /// One `read` into the end of `inbuf`, with the given timeout.
    pub(crate) fn fill(&mut self, timeout: Duration) -> io::Result<usize> {
        self.set_read_timeout(timeout)?;
        let old = self.inbuf.len();
        self.inbuf.resize(old + 8192, 0);
        let r = loop {
            match self.stream.read(&mut self.inbuf[old..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => break r,
            }
        };
        self.inbuf.truncate(old + *r.as_ref().unwrap_or(&0));
        r
    }

    /// Answers a well-formed request. Returns the status and the body bytes sent.
    fn answer(
        &mut self,
        cfg: &Config,
        req: &Request,
        body: &[u8],
        persist: Persist,
    ) -> io::Result<(Status, u64)> {
        self.out.clear();
        let with_body = req.method != Method::Head;
        if !cfg.methods.contains(&req.method) {
            let why = format!("Method Not Implemented: {}", req.method.as_str());
            return self.send_error(Status::NotImplemented, &why, &[], persist, with_body);
        }
        if req.method == Method::Options {
            let allow = self.ctx.allow.clone();
            head(&mut self.out, Status::Ok, &[("Allow", &allow)], 0, persist);
            self.stream.write_all(&self.out)?;
            return Ok((Status::Ok, 0));
        }
        let root = self.ctx.root.as_ref().expect("a root whenever a config");
        let key = req.target.split(['?', '#']).next().unwrap_or("");
        if req.method != Method::Post {
            if let Some(hit) = self.ctx.cache.get(key, root) {
                let ct = hit.content_type.as_str();
                let len = hit.body.len() as u64;
                head(
                    &mut self.out,
                    Status::Ok,
                    &[("Content-Type", ct)],
                    len,
                    persist,
                );
                if with_body {
                    self.out.extend_from_slice(&hit.body);
                }
                self.stream.write_all(&self.out)?;
                return Ok((Status::Ok, if with_body { len } else { 0 }));
            }
        }
        match resolve(&req.target, cfg, root) {
            Ok(Resolved::File {
                file,
                meta,
                content_type,
                cache_path,
            }) => {
                let len = meta.len();
                if req.method == Method::Post
                    && content_type.starts_with("text/html")
                    && len <= MAX_BODY
                {
                    let mut page = Vec::with_capacity(len as usize);
                    (&file).take(len).read_to_end(&mut page)?;
                    let page = crate::post::page_with_data(&page, body);
                    head(
                        &mut self.out,
                        Status::Ok,
                        &[("Content-Type", content_type)],
                        page.len() as u64,
                        persist,
                    );
                    self.out.extend_from_slice(&page);
                    self.stream.write_all(&self.out)?;
                    return Ok((Status::Ok, page.len() as u64));
                }
                head(
                    &mut self.out,
                    Status::Ok,
                    &[("Content-Type", content_type)],
                    len,
                    persist,
                );
                let at = self.out.len();
                // A file read whole (small) goes into the cache on its way out.
                let read_whole = with_body && len <= crate::cache::MAX_FILE;
                match send_file(&mut self.stream, &mut self.out, &file, len, with_body)? {
                    Sent::All => {
                        if let (Some(path), true) = (cache_path, read_whole) {
                            let body = &self.out[at..];
                            self.ctx
                                .cache
                                .put(key, path, &meta, content_type, body, root);
                        }
                        self.out.clear();
                        Ok((Status::Ok, if with_body { len } else { 0 }))
                    }
                    Sent::Nothing(e) => {
                        let why = format!("cannot read {}: {e}", req.target);
                        eprintln!("error: {why}");
                        self.out.clear();
                        self.send_error(
                            Status::InternalServerError,
                            "the file could not be read",
                            &[],
                            persist,
                            with_body,
                        )
                    }
                }
            }
            Ok(Resolved::Redirect(location)) => {
                let why = format!("moved to {location}");
                self.send_error(
                    Status::MovedPermanently,
                    &why,
                    &[("Location", &location)],
                    persist,
                    with_body,
                )
            }
            Err(Miss::NotFound) => {
                let why = format!("URL does not exist: {}", req.target);
                self.send_error(Status::NotFound, &why, &[], persist, with_body)
            }
            Err(Miss::Forbidden(what)) => {
                let why = format!("{what}: {}", req.target);
                self.send_error(Status::Forbidden, &why, &[], persist, with_body)
            }
            Err(Miss::Unmapped) => {
                let why = format!("File type not supported: {}", req.target);
                self.send_error(Status::NotImplemented, &why, &[], persist, with_body)
            }
            Err(Miss::Failed(why)) => {
                eprintln!("error: {}: {why}", req.target);
                self.send_error(
                    Status::InternalServerError,
                    "the file could not be opened",
                    &[],
                    persist,
                    with_body,
                )
            }
        }
    }

    fn send_error(
        &mut self,
        status: Status,
        why: &str,
        extra: &[(&str, &str)],
        persist: Persist,
        with_body: bool,
    ) -> io::Result<(Status, u64)> {
        let n = error_page_with(&mut self.out, status, why, extra, persist, with_body);
        self.stream.write_all(&self.out)?;
        Ok((status, if with_body { n } else { 0 }))
    }
}

fn first_line(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|&c| c != b'\r' && c != b'\n')
        .unwrap_or(b.len());
    let b = &b[start..];
    let end = b
        .iter()
        .position(|&c| c == b'\n')
        .unwrap_or(b.len())
        .min(1024);
    b[..end].strip_suffix(b"\r").unwrap_or(&b[..end])
}

pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
