//! One TCP connection to the server under test, and the transcript every connection writes to.
//!
//! Every blocking call is bounded by a deadline: connects by a timeout, reads by
//! `set_read_timeout` with the time left, writes by `set_write_timeout`. Reads append to the
//! connection's buffer (up to a cap; the excess is read and discarded, so a flood cannot exhaust
//! memory) and record each chunk as it arrives. The server's end of the connection is recorded
//! as a clean close (FIN: a read returns 0) or a reset (RST: `ECONNRESET`).

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use crate::outcome::{Event, EventKind, Transcript};

/// Received bytes shown in the transcript per connection; the rest is only counted.
pub const TRANSCRIPT_CAP: usize = 256 * 1024;

/// The events of one case, with times since the case started.
#[derive(Debug)]
pub struct Recorder {
    pub start: Instant,
    pub transcript: Transcript,
}

impl Recorder {
    pub fn new(start: Instant) -> Recorder {
        Recorder {
            start,
            transcript: Transcript::default(),
        }
    }

    pub fn push(&mut self, conn: &str, kind: EventKind) {
        let at = self.start.elapsed();
        self.transcript.events.push(Event {
            at,
            conn: conn.to_string(),
            kind,
        });
    }

    pub fn note(&mut self, conn: &str, text: impl Into<String>) {
        self.push(conn, EventKind::Note { text: text.into() });
    }
}

/// How the server ended its side of the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Fin,
    Reset,
}

impl End {
    pub fn as_str(self) -> &'static str {
        match self {
            End::Fin => "FIN",
            End::Reset => "RST",
        }
    }
}

/// What one bounded read brought.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read1 {
    /// Bytes arrived (how many, including any discarded beyond the cap).
    Data(usize),
    /// The server has closed (now or earlier).
    Ended(End),
    /// The deadline passed with nothing new.
    Timeout,
    /// Some other error, with its text.
    Failed(String),
}

/// One connection: the socket, the bytes received and not yet consumed, and its fate.
#[derive(Debug)]
pub struct Conn {
    pub name: String,
    stream: Option<TcpStream>,
    /// Received bytes not yet consumed by a response.
    pub buf: Vec<u8>,
    /// How and when the server ended its side, once seen.
    pub ended: Option<(End, Instant)>,
    /// Everything written on this connection.
    pub sent: Vec<u8>,
    cap: usize,
    kept: usize,
    /// Bytes read beyond the cap and thrown away.
    pub discarded: usize,
    shown: usize,
    /// We half-closed (`shutdown`).
    pub shut_write: bool,
    /// A write failed with a reset: the read that then returns 0 reports a reset, not a FIN.
    reset_on_write: bool,
    sent_shown: usize,
}

/// Connects to `host:port`, trying each address until one answers, within `timeout`.
pub fn connect(host: &str, port: u16, timeout: Duration) -> std::io::Result<TcpStream> {
    let addrs: Vec<SocketAddr> = (host, port).to_socket_addrs()?.collect();
    let mut last = std::io::Error::new(ErrorKind::NotFound, format!("{host} has no address"));
    let deadline = Instant::now() + timeout;
    for addr in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::Error::new(ErrorKind::TimedOut, "timed out"));
        }
        match TcpStream::connect_timeout(&addr, left) {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// The words for an I/O error in a message: "connection refused", "timed out", ...
pub fn describe_io(e: &std::io::Error) -> String {
    match e.kind() {
        ErrorKind::ConnectionRefused => "connection refused".into(),
        ErrorKind::ConnectionReset => "connection reset".into(),
        ErrorKind::BrokenPipe => "broken pipe (the server closed)".into(),
        ErrorKind::TimedOut | ErrorKind::WouldBlock => "timed out".into(),
        _ => e.to_string(),
    }
}

impl Conn {
    /// Opens the connection with `TCP_NODELAY`, recording `Connect`.
    pub fn open(
        name: &str,
        host: &str,
        port: u16,
        timeout: Duration,
        cap: usize,
        rec: &mut Recorder,
    ) -> std::io::Result<Conn> {
        let stream = connect(host, port, timeout)?;
        stream.set_nodelay(true)?;
        rec.push(name, EventKind::Connect);
        Ok(Conn {
            name: name.to_string(),
            stream: Some(stream),
            buf: Vec::new(),
            ended: None,
            sent: Vec::new(),
            cap: cap.max(1),
            kept: 0,
            discarded: 0,
            shown: 0,
            shut_write: false,
            reset_on_write: false,
            sent_shown: 0,
        })
    }

    /// Whether we closed it (`close`).
    pub fn closed_by_us(&self) -> bool {
        self.stream.is_none()
    }

    /// Whether more bytes were received than the cap allows to keep.
    pub fn over_cap(&self) -> bool {
        self.discarded > 0
    }

    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Writes all of `data` before `deadline`, recording what was written. On error, what was
    /// written before it is recorded, and the error returned.
    pub fn send(
        &mut self,
        data: &[u8],
        deadline: Instant,
        rec: &mut Recorder,
    ) -> std::io::Result<()> {
        let Some(stream) = self.stream.as_mut() else {
            return Err(std::io::Error::new(ErrorKind::NotConnected, "closed by us"));
        };
        let mut done = 0;
        let mut result = Ok(());
        while done < data.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                result = Err(std::io::Error::new(
                    ErrorKind::TimedOut,
                    "timed out writing",
                ));
                break;
            }
            stream.set_write_timeout(Some(left.max(Duration::from_millis(1))))?;
            match stream.write(&data[done..]) {
                Ok(0) => {
                    result = Err(std::io::Error::new(ErrorKind::WriteZero, "wrote nothing"));
                    break;
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        if done > 0 {
            self.sent.extend_from_slice(&data[..done]);
            let show = TRANSCRIPT_CAP.saturating_sub(self.sent_shown).min(done);
            if show > 0 {
                rec.push(
                    &self.name,
                    EventKind::Sent {
                        data: data[..show].to_vec(),
                    },
                );
            }
            if show < done {
                rec.note(
                    &self.name,
                    format!("{} more bytes sent, not shown", done - show),
                );
            }
            self.sent_shown += show;
        }
        if let Err(e) = &result {
            if matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe) {
                self.reset_on_write = true;
            }
            rec.note(&self.name, format!("write failed: {}", describe_io(e)));
        }
        result
    }

    /// One read, waiting at most until `deadline`. Never blocks past it, never spins.
    pub fn read_some(&mut self, deadline: Instant, rec: &mut Recorder) -> Read1 {
        if let Some((end, _)) = self.ended {
            return Read1::Ended(end);
        }
        let Some(stream) = self.stream.as_mut() else {
            return Read1::Failed("the connection was closed by us".into());
        };
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Read1::Timeout;
            }
            if let Err(e) = stream.set_read_timeout(Some(left.max(Duration::from_millis(1)))) {
                return Read1::Failed(e.to_string());
            }
            match stream.read(&mut chunk) {
                Ok(0) => {
                    let end = self.end_of_stream(rec);
                    return Read1::Ended(end);
                }
                Ok(n) => {
                    self.keep(&chunk[..n], rec);
                    return Read1::Data(n);
                }
                Err(e) => match e.kind() {
                    ErrorKind::Interrupted => {}
                    // A timeout; loop to check the deadline (the timer may fire a little early).
                    ErrorKind::WouldBlock | ErrorKind::TimedOut => {}
                    ErrorKind::ConnectionReset
                    | ErrorKind::ConnectionAborted
                    | ErrorKind::BrokenPipe => {
                        self.ended = Some((End::Reset, Instant::now()));
                        rec.push(&self.name, EventKind::Reset);
                        return Read1::Ended(End::Reset);
                    }
                    _ => return Read1::Failed(e.to_string()),
                },
            }
        }
    }

    /// The server's side ended (read returned 0): a FIN, or a reset if a write already failed
    /// with one. Recorded once, with its time.
    fn end_of_stream(&mut self, rec: &mut Recorder) -> End {
        let end = if self.reset_on_write {
            End::Reset
        } else {
            End::Fin
        };
        self.ended = Some((end, Instant::now()));
        let kind = if end == End::Fin {
            EventKind::Fin
        } else {
            EventKind::Reset
        };
        rec.push(&self.name, kind);
        end
    }

    fn keep(&mut self, data: &[u8], rec: &mut Recorder) {
        let room = self.cap.saturating_sub(self.kept).min(data.len());
        self.buf.extend_from_slice(&data[..room]);
        self.kept += room;
        let before = self.discarded;
        self.discarded += data.len() - room;
        let show = TRANSCRIPT_CAP.saturating_sub(self.shown).min(data.len());
        if show > 0 {
            rec.push(
                &self.name,
                EventKind::Received {
                    data: data[..show].to_vec(),
                },
            );
        }
        if self.shown < TRANSCRIPT_CAP && self.shown + data.len() > TRANSCRIPT_CAP {
            rec.note(
                &self.name,
                format!(
                    "transcript cut: further bytes received on @{} are not shown",
                    self.name
                ),
            );
        }
        self.shown += data.len();
        if before == 0 && self.discarded > 0 {
            rec.note(
                &self.name,
                format!(
                    "{} bytes received: the cap; further bytes are read and discarded",
                    self.cap
                ),
            );
        }
    }

    /// Reads, without waiting, whatever has already arrived (and notices a close), up to 4 MiB.
    pub fn read_ready(&mut self, rec: &mut Recorder) {
        if self.ended.is_some() {
            return;
        }
        let Some(stream) = self.stream.as_ref() else {
            return;
        };
        if stream.set_nonblocking(true).is_err() {
            return;
        }
        let mut chunk = vec![0u8; 64 * 1024];
        // Bounded, so that a server writing without pause cannot keep us here.
        for _ in 0..64 {
            let Some(stream) = self.stream.as_mut() else {
                break;
            };
            match stream.read(&mut chunk) {
                Ok(0) => {
                    self.end_of_stream(rec);
                    break;
                }
                Ok(n) => self.keep(&chunk[..n], rec),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
                    ) =>
                {
                    self.ended = Some((End::Reset, Instant::now()));
                    rec.push(&self.name, EventKind::Reset);
                    break;
                }
                Err(_) => break,
            }
        }
        if let Some(stream) = self.stream.as_ref() {
            let _ = stream.set_nonblocking(false);
        }
    }

    /// Closes without a transcript note (the end of a case).
    pub fn close_quietly(&mut self) {
        self.stream = None;
    }

    /// Total bytes received (kept or not).
    pub fn received(&self) -> usize {
        self.kept + self.discarded
    }

    /// Removes the first `n` bytes of the buffer (a response consumed them).
    pub fn consume(&mut self, n: usize) {
        self.buf.drain(..n.min(self.buf.len()));
    }

    /// Half-closes: the server reads end-of-file but can still answer.
    pub fn shutdown_write(&mut self, rec: &mut Recorder) -> std::io::Result<()> {
        if let Some(s) = &self.stream {
            s.shutdown(Shutdown::Write)?;
        }
        self.shut_write = true;
        rec.note(&self.name, "we half-closed (shutdown write)");
        Ok(())
    }

    /// Closes from our side.
    pub fn close(&mut self, rec: &mut Recorder) {
        if self.stream.take().is_some() {
            rec.note(&self.name, "we closed the connection");
        }
    }
}
