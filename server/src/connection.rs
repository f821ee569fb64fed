//! One connection's requests: read a head (bounded in size and time), read its body if any,
//! answer, and either go on with the next request on the same socket (keep-alive,
//! pipelining) or close it gracefully.
//!
//! A worker thread runs a connection for as long as it has something to do, and lets go of
//! it ([`Next::Park`]) when it would wait for its client: no next request yet, a head not
//! complete, or a lingering close not over. The connection then waits in epoll (see
//! `pool.rs`) and a worker resumes it when its socket turns readable. Bodies and
//! responses are read and written by the worker, blocking.
//!
//! Timeouts:
//! - waiting for the first byte of a request: `KeepaliveTime` (a connection that stays idle
//!   that long is closed without a response);
//! - once a request has started, its head and body must be complete within `KeepaliveTime`
//!   capped at [`REQUEST_TIMEOUT`] (10 s; also 10 s when `KeepaliveTime` is 0), else
//!   `408 Request Timeout` and close;
//! - writes time out after [`WRITE_TIMEOUT`] without progress (the connection is dropped);
//! - a lingering close lasts at most [`LINGER`].
//!
//! While parked, a connection's deadline is kept by [`crate::live::Live::expire_due`];
//! while a body is read, by the socket's read timeout.

use std::io;
use std::net::{IpAddr, TcpStream};
use std::os::unix::io::{AsRawFd, RawFd};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::answer::{answer, Reply};
use crate::blocking::send_parts;
use crate::body::{read_body, BodyError};
use crate::config::Config;
use crate::context::Context;
pub use crate::context::REQUEST_TIMEOUT;
use crate::input::Input;
use crate::live::Track;
use crate::request::{parse_head_into, scan_head, Framing, Method, Rejection, Request, Scan};
use crate::response::{error_page, Persist, Status, Streaming};

/// A write that makes no progress for this long drops the connection.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest time spent discarding input after an answer that closes the connection.
pub const LINGER: Duration = Duration::from_secs(2);
/// Most input discarded while lingering.
const LINGER_MAX: usize = 1 << 20;

const EVICTED: &str = "the server is full and this request was the slowest to arrive; try again";
const BROKEN: &str = "the server configuration (ws.conf) has errors; see the server's log";
const HEAD_TOO_SLOW: &str = "the request head did not arrive in time";

/// What a connection needs when its worker lets go of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// To wait in epoll until its socket is readable (or its deadline passes).
    Park,
    /// Nothing more: drop it, which closes the socket.
    Close,
}

/// Where a connection is in its life.
#[derive(Debug)]
enum Phase {
    /// Reading requests (a head may be partly in).
    Requests,
    /// Sending the rest of a large file as the socket has room; the answer goes on with
    /// `persist`. Dropped if no byte leaves for [`WRITE_TIMEOUT`] (`until`).
    Sending {
        rest: Streaming,
        persist: Persist,
        until: Instant,
    },
    /// The last answer is sent and our side shut down: discarding the client's input until
    /// it closes, for at most [`LINGER`].
    Lingering { until: Instant, discarded: usize },
}

/// Where a complete head lies in the input.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    /// Where the next request (or this one's body) begins.
    next: usize,
}

/// What reading a head came to.
enum Head {
    Ready(Span),
    /// Not complete, and nothing more has arrived: wait for the client.
    Wait,
    /// The peer closed, or stayed idle past the keep-alive time: close quietly.
    Quiet,
    /// Answer with this status and close.
    Fail(Status, &'static str),
}

/// How an exchange ended the connection.
enum End {
    /// Close without a word (the peer went away).
    Quiet,
    /// Answer with this status and reason, then close.
    Fail(Status, String),
}

/// One connection's state, kept across its requests (and while it is parked).
pub(crate) struct Conn {
    input: Input,
    out: Vec<u8>,
    ctx: Arc<Context>,
    peer: IpAddr,
    /// What this connection is doing, for eviction and deadlines.
    track: Arc<Track>,
    phase: Phase,
    /// Where the scan of a partial head resumes.
    scanned: usize,
    /// Set at the first byte of a request: when its head and body must be complete.
    request_deadline: Option<Instant>,
    /// When the connection, idle, is closed.
    idle_deadline: Instant,
    /// Since when (the registry's clock) the connection has waited for its client.
    waiting_since: Option<u64>,
    /// The current request line and request, kept across requests for their buffers: the
    /// keep-alive path allocates nothing.
    line: Vec<u8>,
    req: Request,
}

impl Conn {
    /// A connection accepted from a listener prepared by the pool (`pool.rs`), so its socket
    /// already has `TCP_NODELAY` and the write timeout. Registered as live until dropped.
    pub(crate) fn new(stream: TcpStream, peer: IpAddr, ctx: Arc<Context>) -> Conn {
        let track = ctx.live.register(stream.as_raw_fd());
        if ctx.stopping.load(Ordering::SeqCst) {
            // Registered too late to be woken by the shutdown: do not start reading.
            let _ = stream.shutdown(std::net::Shutdown::Read);
        }
        let idle_deadline = Instant::now() + ctx.idle();
        Conn {
            input: Input::new(stream),
            // A head fits (and small buffers come from the allocator's per-thread cache).
            out: Vec::with_capacity(512),
            ctx,
            peer,
            track,
            phase: Phase::Requests,
            scanned: 0,
            request_deadline: None,
            idle_deadline,
            waiting_since: None,
            line: Vec::new(),
            req: Request::empty(),
        }
    }

    /// Runs the connection until it would wait for its client ([`Next::Park`]: it is then
    /// marked as waiting, with its deadline) or is done ([`Next::Close`]).
    pub(crate) fn resume(&mut self) -> Next {
        self.ctx.live.busy(&self.track);
        self.input.forget_drained();
        let next = match self.phase {
            Phase::Requests | Phase::Sending { .. } => self.serve_requests(),
            Phase::Lingering { .. } => self.drain(),
        };
        if next == Next::Park {
            self.wait_for_client();
        }
        next
    }

    /// Marks the connection as waiting for its client (so it may be evicted), until its
    /// deadline: idle, a request's, or the lingering close's. One sending a large file
    /// waits for its client to take it: it has a deadline, but is not evicted (its answer
    /// is under way).
    pub(crate) fn wait_for_client(&mut self) {
        let live = &self.ctx.live;
        let deadline = match &self.phase {
            Phase::Sending { until, .. } => return live.writing(&self.track, *until),
            Phase::Lingering { until, .. } => *until,
            Phase::Requests => self.request_deadline.unwrap_or(self.idle_deadline),
        };
        let since = *self.waiting_since.get_or_insert_with(|| live.now());
        live.waiting(&self.track, since, Some(deadline));
    }

    /// Whether the connection waits for room in its socket (a large file being sent), not
    /// for input.
    pub(crate) fn wants_room(&self) -> bool {
        matches!(self.phase, Phase::Sending { .. })
    }

    /// Answers every request whose head is complete, until the input runs dry or the
    /// connection ends.
    fn serve_requests(&mut self) -> Next {
        loop {
            if let Some(next) = self.send_rest() {
                return next;
            }
            let span = match self.read_head() {
                Head::Ready(span) => span,
                Head::Wait => return Next::Park,
                Head::Quiet => return Next::Close,
                Head::Fail(status, why) => {
                    let line = first_line(&self.input.buf);
                    self.line.clear();
                    self.line.extend_from_slice(line);
                    return self.fail(status, why);
                }
            };
            match self.exchange(span) {
                Ok(persist) => {
                    if let Some(next) = self.after_answer(persist) {
                        return next;
                    }
                }
                Err(End::Quiet) => return Next::Close,
                Err(End::Fail(status, why)) => return self.fail(status, &why),
            }
        }
    }

    /// After an answer: `Some` when the connection stops here for now (parked, lingering),
    /// `None` when it goes on (with the rest of a large file, or the next request).
    fn after_answer(&mut self, persist: Persist) -> Option<Next> {
        if matches!(self.phase, Phase::Sending { .. }) {
            return None;
        }
        match persist {
            Persist::KeepAlive(_) => {
                self.expect_request();
                // Nothing pipelined, and the socket was found empty: the client waits for
                // this answer before it sends more, so epoll, not a read, tells when the
                // next request comes.
                (self.input.buf.is_empty() && self.input.drained).then_some(Next::Park)
            }
            Persist::Close => Some(self.close_gracefully()),
        }
    }

    /// Goes on with a large file's body, if one is being sent: `None` when there is none
    /// (any more: the connection then goes on as after any answer, see
    /// [`Conn::after_answer`]); else what the connection needs meanwhile: room in its socket
    /// (parked), or to close (the client went away, or took nothing for [`WRITE_TIMEOUT`]).
    fn send_rest(&mut self) -> Option<Next> {
        let Phase::Sending {
            rest,
            persist,
            until,
        } = &mut self.phase
        else {
            return None;
        };
        let before = rest.sent();
        let done = match rest.send_more(&self.input.stream) {
            Ok(true) => self.input.stream.set_nonblocking(false).is_ok(),
            Ok(false) => false,
            Err(_) => return Some(Next::Close),
        };
        if !done {
            let now = Instant::now();
            if rest.sent() > before {
                *until = now + WRITE_TIMEOUT;
            }
            let over = now >= *until || self.track.expired();
            return Some(if over { Next::Close } else { Next::Park });
        }
        let persist = *persist;
        self.phase = Phase::Requests;
        // `None`: the next request may already be here, and the caller reads it.
        self.after_answer(persist)
    }

    /// After an answer that keeps the connection: the next request's wait begins (a request
    /// already begun in the input has its deadline from now).
    fn expect_request(&mut self) {
        let now = Instant::now();
        self.waiting_since = None;
        self.idle_deadline = now + self.ctx.idle();
        self.request_deadline =
            (!self.input.buf.is_empty()).then(|| now + self.ctx.request_timeout());
    }

    /// Reads what has arrived until a complete head is in the input.
    fn read_head(&mut self) -> Head {
        loop {
            match scan_head(&self.input.buf, self.scanned) {
                Scan::Complete { start, end, next } => {
                    self.scanned = 0;
                    return Head::Ready(Span { start, end, next });
                }
                Scan::Reject(Rejection::LineTooLong) => {
                    return Head::Fail(Status::UriTooLong, "request line too long")
                }
                Scan::Reject(_) => {
                    return Head::Fail(Status::HeaderFieldsTooLarge, "request head too large")
                }
                Scan::Partial { resume } => self.scanned = resume,
            }
            if self.request_deadline.is_some_and(|d| Instant::now() >= d) {
                return Head::Fail(Status::RequestTimeout, HEAD_TOO_SLOW);
            }
            match self.input.fill_ready() {
                Ok(0) => return self.cut_off(),
                Ok(_) => {
                    let timeout = self.ctx.request_timeout();
                    self.request_deadline
                        .get_or_insert_with(|| Instant::now() + timeout);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Head::Wait,
                Err(_) => return Head::Quiet,
            }
        }
    }

    /// The input ended (the client closed, or our reads were shut down) before a whole head.
    fn cut_off(&self) -> Head {
        if self.request_deadline.is_none() || self.ctx.stopping.load(Ordering::SeqCst) {
            Head::Quiet
        } else if self.track.evicted() {
            Head::Fail(Status::ServiceUnavailable, EVICTED)
        } else if self.track.expired() {
            Head::Fail(Status::RequestTimeout, HEAD_TOO_SLOW)
        } else {
            Head::Fail(
                Status::BadRequest,
                "the connection ended in the middle of a request",
            )
        }
    }

    /// One request whose head is complete: parsed, its body read, answered and logged.
    /// Returns how the connection goes on.
    fn exchange(&mut self, span: Span) -> Result<Persist, End> {
        let ctx = self.ctx.clone();
        let head = &self.input.buf[span.start..span.end];
        self.line.clear();
        self.line.extend_from_slice(first_line(head));
        let Some(cfg) = &ctx.config else {
            return Err(End::Fail(Status::InternalServerError, BROKEN.into()));
        };
        parse_head_into(head, &mut self.req).map_err(rejected)?;
        self.input.consume(span.next);
        self.waiting_since = None;
        let body = self.request_body(cfg)?;
        ctx.live.busy(&self.track);
        let keep =
            self.req.keep_alive && !cfg.keepalive.is_zero() && !ctx.stopping.load(Ordering::SeqCst);
        let persist = if keep {
            Persist::KeepAlive(cfg.keepalive.as_secs())
        } else {
            Persist::Close
        };
        let mut reply = Reply {
            sock: &mut self.input.stream,
            out: &mut self.out,
            persist,
            rest: None,
        };
        let answered = answer(&ctx, cfg, &self.req, &body, &mut reply);
        let rest = reply.rest.take();
        let (status, sent) = answered.map_err(|_| End::Quiet)?;
        if ctx.access_log {
            crate::log::access(self.peer, &self.line, status.code(), sent);
        }
        if let Some(rest) = rest {
            let until = Instant::now() + WRITE_TIMEOUT;
            self.phase = Phase::Sending {
                rest,
                persist,
                until,
            };
        }
        Ok(persist)
    }

    /// Reads the request's body (kept only for a supported POST). Meanwhile the connection
    /// waits for its client, so it may be evicted.
    fn request_body(&mut self, cfg: &Config) -> Result<Vec<u8>, End> {
        let req = &self.req;
        if req.framing != Framing::Length(0) {
            let live = &self.ctx.live;
            live.waiting(&self.track, live.now(), None);
        }
        let keep = req.method == Method::Post && cfg.methods.contains(&Method::Post);
        let timeout = self.ctx.request_timeout();
        match read_body(
            &mut self.input,
            req.framing,
            req.expect_continue,
            keep,
            timeout,
        ) {
            Ok(body) => Ok(body),
            Err(BodyError::Fail(status, why)) => Err(End::Fail(status, why.into())),
            Err(BodyError::Gone) if self.track.evicted() => {
                Err(End::Fail(Status::ServiceUnavailable, EVICTED.into()))
            }
            Err(BodyError::Gone) => Err(End::Quiet),
        }
    }

    /// Sends an error that ends the connection, logs it, and begins the lingering close. With
    /// a broken ws.conf every answer is 500, whatever else is wrong with the request.
    fn fail(&mut self, status: Status, why: &str) -> Next {
        let (status, why) = match self.ctx.config {
            None => (Status::InternalServerError, BROKEN),
            Some(_) => (status, why),
        };
        self.out.clear();
        // A response to HEAD never has a body, even when the rest of the request is bad.
        let body = !self.line.starts_with(b"HEAD ");
        let n = error_page(&mut self.out, status, why, Persist::Close, body);
        // The connection's end follows at once: it may leave in the same packet.
        let written = send_parts(&mut self.input.stream, &self.out, &[], true);
        if self.ctx.access_log {
            crate::log::access(
                self.peer,
                &self.line,
                status.code(),
                if body { n } else { 0 },
            );
        }
        match written {
            Ok(()) => self.close_gracefully(),
            Err(_) => Next::Close,
        }
    }

    /// Closes our side, then discards what the client still sends until it closes, for at
    /// most [`LINGER`]: closing a socket with unread input makes the kernel send a reset,
    /// which can destroy the response before the client reads it ("lingering close", as
    /// Apache does). Always, not only when input is waiting: input that arrives a moment
    /// later does the same. The client has just been sent our answer, so it has not closed
    /// yet: once the socket was found empty, epoll tells when it does (or sends more).
    fn close_gracefully(&mut self) -> Next {
        let _ = self.input.stream.shutdown(std::net::Shutdown::Write);
        self.input.buf.clear();
        self.phase = Phase::Lingering {
            until: Instant::now() + LINGER,
            discarded: 0,
        };
        self.waiting_since = Some(self.ctx.live.now());
        if self.input.drained {
            Next::Park
        } else {
            self.drain()
        }
    }

    /// Discards what has arrived; the lingering close is over when the client closes, when
    /// its time is up, or when it has sent too much.
    fn drain(&mut self) -> Next {
        let Phase::Lingering { until, discarded } = &mut self.phase else {
            return Next::Close;
        };
        loop {
            match self.input.discard_ready() {
                Ok(0) => return Next::Close,
                Ok(n) => {
                    *discarded += n;
                    if *discarded >= LINGER_MAX {
                        return Next::Close;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let over = Instant::now() >= *until || self.track.expired();
                    return if over { Next::Close } else { Next::Park };
                }
                Err(_) => return Next::Close,
            }
        }
    }
}

impl AsRawFd for Conn {
    fn as_raw_fd(&self) -> RawFd {
        self.input.stream.as_raw_fd()
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        // Before the socket closes (its field drops after this), so that the fd is never
        // reused while still listed.
        self.ctx.live.deregister(self.as_raw_fd());
    }
}

/// The status and reason for a head that cannot be served.
fn rejected(r: Rejection) -> End {
    match r {
        Rejection::BadRequest(why) => End::Fail(Status::BadRequest, why),
        Rejection::LineTooLong => End::Fail(Status::UriTooLong, "request line too long".into()),
        Rejection::HeadTooLarge => End::Fail(
            Status::HeaderFieldsTooLarge,
            "request head too large".into(),
        ),
        Rejection::NotImplemented(why) => End::Fail(Status::NotImplemented, why),
    }
}

/// The request line (for the log): the first line after any empty ones, at most 1 KiB.
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
