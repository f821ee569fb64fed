//! Request bodies: framed by `Content-Length` or decoded from `Transfer-Encoding: chunked`
//! (RFC 9112 §7.1: chunk sizes in hex, extensions, trailer fields), read only as far as the
//! body goes (never into the next pipelined request), bounded in size and time.
//!
//! A body the answer uses (POST, when supported) is kept; any other body is discarded as it
//! arrives, through a small fixed buffer, so a stalled 1 MiB upload costs no more memory than
//! an empty one.

use std::io::{self, Read};
use std::time::{Duration, Instant};

use crate::blocking::send_all;
use crate::input::{is_timeout, Input};
use crate::request::{field_line, Framing, MAX_HEAD};
use crate::response::Status;

/// Largest request body accepted (and read, for POST; discarded for other methods).
pub const MAX_BODY: u64 = 1024 * 1024;
/// Longest chunk-size line (size and extensions) accepted.
const MAX_CHUNK_LINE: usize = 4096;
/// Size of the buffer a discarded body goes through.
const SINK: usize = 8192;

/// Why a body could not be read.
#[derive(Debug)]
pub enum BodyError {
    /// Answer with this status and close (400 bad chunk, 408 too slow, 413 too large).
    Fail(Status, &'static str),
    /// The peer went away: close quietly.
    Gone,
}

/// Reads from `input` the body the head announced, within `timeout`, keeping it when `keep`
/// (else discarding it), after sending `100 Continue` if the client waits for it.
pub(crate) fn read_body(
    input: &mut Input,
    framing: Framing,
    expect_continue: bool,
    keep: bool,
    timeout: Duration,
) -> Result<Vec<u8>, BodyError> {
    let mut body = Vec::new();
    match framing {
        Framing::Length(0) => return Ok(body),
        Framing::Length(n) if n > MAX_BODY => {
            return Err(BodyError::Fail(
                Status::PayloadTooLarge,
                "request body larger than 1 MiB",
            ))
        }
        _ => {}
    }
    if expect_continue && input.buf.is_empty() {
        send_all(&mut input.stream, b"HTTP/1.1 100 Continue\r\n\r\n")
            .map_err(|_| BodyError::Gone)?;
    }
    if !matches!(framing, Framing::Length(n) if n <= input.buf.len() as u64) {
        // The client sets the pace of what is not in yet.
        crate::blocking::before();
    }
    let mut reader = Body {
        input,
        deadline: Instant::now() + timeout,
    };
    let sink = keep.then_some(&mut body);
    match framing {
        Framing::Length(n) => reader.take(n, sink)?,
        Framing::Chunked => reader.chunked(sink)?,
    }
    Ok(body)
}

/// A body being read: the input it comes from, and when it must be complete.
struct Body<'a> {
    input: &'a mut Input,
    deadline: Instant,
}

impl Body<'_> {
    /// Consumes `n` body bytes: first from the input, then from the socket, never more.
    fn take(&mut self, mut n: u64, mut keep: Option<&mut Vec<u8>>) -> Result<(), BodyError> {
        let now = n.min(self.input.buf.len() as u64) as usize;
        if let Some(k) = keep.as_deref_mut() {
            k.extend_from_slice(&self.input.buf[..now]);
        }
        self.input.consume(now);
        n -= now as u64;
        let mut sink = [0u8; SINK];
        while n > 0 {
            let want = n.min(SINK as u64) as usize;
            self.input
                .set_read_timeout(left(self.deadline)?)
                .map_err(|_| BodyError::Gone)?;
            let read = self.input.stream.read(&mut sink[..want]);
            self.input.note_read(want, &read);
            let got = match read {
                Ok(0) => return Err(BodyError::Gone),
                Ok(k) => k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if is_timeout(&e) => return Err(too_slow()),
                Err(_) => return Err(BodyError::Gone),
            };
            if let Some(k) = keep.as_deref_mut() {
                k.extend_from_slice(&sink[..got]);
            }
            n -= got as u64;
        }
        Ok(())
    }

    /// Decodes a chunked body: `size [; ext] CRLF data CRLF` ... `0 CRLF` trailers `CRLF`.
    fn chunked(&mut self, mut keep: Option<&mut Vec<u8>>) -> Result<(), BodyError> {
        let mut total = 0u64;
        loop {
            let len = self.line(MAX_CHUNK_LINE)?;
            let size = chunk_size(&self.input.buf[..len]).ok_or(bad("invalid chunk size line"))?;
            self.input.consume(len + 2);
            if size == 0 {
                break;
            }
            total = total.saturating_add(size);
            if total > MAX_BODY {
                return Err(BodyError::Fail(
                    Status::PayloadTooLarge,
                    "request body larger than 1 MiB",
                ));
            }
            self.take(size, keep.as_deref_mut())?;
            if self.line(2)? != 0 {
                return Err(bad("chunk data longer than its size"));
            }
            self.input.consume(2);
        }
        self.trailers()
    }

    /// The trailer section after the last chunk, up to its empty line: checked, discarded.
    fn trailers(&mut self) -> Result<(), BodyError> {
        let mut trailers = 0;
        loop {
            let len = self.line(MAX_HEAD)?;
            if len == 0 {
                self.input.consume(2);
                return Ok(());
            }
            trailers += len + 2;
            if trailers > MAX_HEAD {
                return Err(bad("trailer section too large"));
            }
            if field_line(&self.input.buf[..len]).is_err() {
                return Err(bad("malformed trailer field"));
            }
            self.input.consume(len + 2);
        }
    }

    /// Waits until the input starts with a whole CRLF-terminated line of at most `limit`
    /// bytes; returns its length without the CRLF. A bare LF is refused: in a chunked body, a
    /// lenient line end is how requests get smuggled past a proxy.
    fn line(&mut self, limit: usize) -> Result<usize, BodyError> {
        let mut from = 0;
        loop {
            let buf = &self.input.buf;
            if let Some(i) = buf[from..].iter().position(|&b| b == b'\n') {
                let lf = from + i;
                if lf == 0 || buf[lf - 1] != b'\r' {
                    return Err(bad("a line of the chunked body does not end in CRLF"));
                }
                if lf - 1 > limit {
                    return Err(bad("chunk line too long"));
                }
                return Ok(lf - 1);
            }
            if buf.len() > limit + 1 {
                return Err(bad("chunk line too long"));
            }
            from = buf.len();
            match self.input.fill(left(self.deadline)?) {
                Ok(0) => return Err(BodyError::Gone),
                Ok(_) => {}
                Err(e) if is_timeout(&e) => return Err(too_slow()),
                Err(_) => return Err(BodyError::Gone),
            }
        }
    }
}

fn left(deadline: Instant) -> Result<Duration, BodyError> {
    match deadline.checked_duration_since(Instant::now()) {
        Some(t) if !t.is_zero() => Ok(t),
        _ => Err(too_slow()),
    }
}

fn too_slow() -> BodyError {
    BodyError::Fail(
        Status::RequestTimeout,
        "the request body did not arrive in time",
    )
}

fn bad(why: &'static str) -> BodyError {
    BodyError::Fail(Status::BadRequest, why)
}

/// The size of a chunk-size line: `1*HEXDIG *( BWS ";" BWS name [ BWS "=" BWS value ] )`,
/// the value a token or a quoted string (RFC 9112 §7.1.1). `None` if malformed or too big.
pub fn chunk_size(line: &[u8]) -> Option<u64> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 || digits > 15 {
        return None;
    }
    let size = u64::from_str_radix(std::str::from_utf8(&line[..digits]).ok()?, 16).ok()?;
    let mut rest = &line[digits..];
    loop {
        rest = bws(rest);
        if rest.is_empty() {
            return Some(size);
        }
        rest = bws(rest.strip_prefix(b";")?);
        rest = token(rest)?;
        let after = bws(rest);
        if let Some(v) = after.strip_prefix(b"=") {
            let v = bws(v);
            rest = match v.first() {
                Some(b'"') => quoted(v)?,
                _ => token(v)?,
            };
        }
    }
}

fn bws(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|&&c| c == b' ' || c == b'\t').count();
    &b[n..]
}

/// Skips a non-empty token; `None` if there is none.
fn token(b: &[u8]) -> Option<&[u8]> {
    let n = b
        .iter()
        .take_while(|&&c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c))
        .count();
    (n > 0).then(|| &b[n..])
}

/// Skips a quoted string starting at `b[0] == '"'`; `None` if it does not end.
fn quoted(b: &[u8]) -> Option<&[u8]> {
    let mut i = 1;
    while i < b.len() {
        match b[i] {
            b'"' => return Some(&b[i + 1..]),
            b'\\' if i + 1 < b.len() && b[i + 1] != b'\r' && b[i + 1] != 0 => i += 2,
            c if c == b'\t' || c == b' ' || (c >= 0x21 && c != 0x7f) => i += 1,
            _ => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("0", Some(0))]
    #[case("1a", Some(26))]
    #[case("FF", Some(255))]
    #[case("000010", Some(16))]
    #[case("5;name", Some(5))]
    #[case("5 ; name = value ; other=\"q \\\" s\"", Some(5))]
    #[case("5\t;a=b", Some(5))]
    #[case("", None)]
    #[case("x", None)]
    #[case("-1", None)]
    #[case("+1", None)]
    #[case("0x5", None)]
    #[case("5 6", None)]
    #[case("5;", None)]
    #[case("5;=v", None)]
    #[case("5;a=", None)]
    #[case("5;a=\"open", None)]
    #[case("5;a=b\rc", None)]
    #[case("1000000000000000", None)]
    fn chunk_sizes(#[case] line: &str, #[case] size: Option<u64>) {
        assert_eq!(chunk_size(line.as_bytes()), size, "{line:?}");
    }
}
