//! A connection's socket and the bytes received from it that are not consumed yet: a head
//! being read, then the start of its body, or pipelined requests. Reads either wait (with a
//! timeout: request bodies) or take only what has already arrived (heads, whose waiting is
//! done in epoll: `poll.rs`).

use std::io;
use std::net::TcpStream;
use std::os::unix::io::AsRawFd;
use std::time::Duration;

/// The input buffer of a new connection: room for a typical head (small enough for the
/// allocator's per-thread cache, so a short connection costs little).
const FIRST_ROOM: usize = 1024;
/// Below this much room, a read first makes [`MORE_ROOM`] more.
const MIN_ROOM: usize = 512;
const MORE_ROOM: usize = 8192;

/// The socket and its unconsumed input.
pub(crate) struct Input {
    pub(crate) stream: TcpStream,
    /// Received, not consumed yet.
    pub(crate) buf: Vec<u8>,
    /// The socket's read timeout as last set (`None`: none, or as inherited).
    read_timeout: Option<Duration>,
    /// A read has found the socket empty since [`Input::forget_drained`]: it ended early
    /// (less than asked for) or found nothing. Only then may the connection wait in epoll,
    /// which reports only input that arrives later (edge-triggered).
    pub(crate) drained: bool,
}

impl Input {
    pub(crate) fn new(stream: TcpStream) -> Input {
        Input {
            stream,
            buf: Vec::with_capacity(FIRST_ROOM),
            read_timeout: None,
            drained: false,
        }
    }

    /// Input may be waiting unread (epoll has just reported some).
    pub(crate) fn forget_drained(&mut self) {
        self.drained = false;
    }

    /// Records what a read of `asked` bytes that gave `got` says about the socket.
    pub(crate) fn note_read(&mut self, asked: usize, got: &io::Result<usize>) {
        self.drained = match got {
            Ok(n) => *n < asked,
            Err(e) => e.kind() == io::ErrorKind::WouldBlock,
        };
    }

    /// Drops the first `n` bytes of the input.
    pub(crate) fn consume(&mut self, n: usize) {
        self.buf.drain(..n);
    }

    /// Sets the socket's read timeout, touching the option only when the value changes.
    pub(crate) fn set_read_timeout(&mut self, timeout: Duration) -> io::Result<()> {
        let rounded = Some(socket_timeout(timeout));
        if self.read_timeout != rounded {
            self.stream.set_read_timeout(rounded)?;
            self.read_timeout = rounded;
        }
        Ok(())
    }

    /// One read into the end of the input, waiting at most `timeout`. `Ok(0)`: the peer
    /// closed (or the reads were shut down: eviction, shutdown).
    pub(crate) fn fill(&mut self, timeout: Duration) -> io::Result<usize> {
        self.set_read_timeout(timeout)?;
        self.recv_into_buf(0)
    }

    /// One read of what has already arrived, without waiting: `Err(WouldBlock)` when nothing
    /// has.
    pub(crate) fn fill_ready(&mut self) -> io::Result<usize> {
        self.recv_into_buf(libc::MSG_DONTWAIT)
    }

    /// Reads what has already arrived and throws it away (the input is empty after).
    pub(crate) fn discard_ready(&mut self) -> io::Result<usize> {
        self.buf.clear();
        let r = self.fill_ready();
        self.buf.clear();
        r
    }

    /// One `recv` into the spare room at the end of `buf` (never zeroed first: the kernel
    /// writes the bytes, and only those become part of the input).
    fn recv_into_buf(&mut self, flags: libc::c_int) -> io::Result<usize> {
        if self.buf.capacity() - self.buf.len() < MIN_ROOM {
            self.buf.reserve(MORE_ROOM);
        }
        let room = self.buf.spare_capacity_mut();
        let asked = room.len();
        let got = loop {
            // SAFETY: `room` is valid for writes of its length.
            let n = unsafe {
                libc::recv(
                    self.stream.as_raw_fd(),
                    room.as_mut_ptr().cast(),
                    room.len(),
                    flags,
                )
            };
            if n >= 0 {
                let len = self.buf.len() + n as usize;
                // SAFETY: the kernel initialised the `n` bytes after the old length.
                unsafe { self.buf.set_len(len) };
                break Ok(n as usize);
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                break Err(e);
            }
        };
        self.note_read(asked, &got);
        got
    }
}

/// Whether a read failed by timing out (a socket timeout reports `WouldBlock`).
pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// A timeout as the socket keeps it (whole milliseconds, at least 1).
pub(crate) fn socket_timeout(t: Duration) -> Duration {
    Duration::from_millis(t.as_millis().max(1) as u64)
}
