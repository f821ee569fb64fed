//! Reading one HTTP/1.x response out of the bytes a connection has received so far.
//!
//! [`parse_response`] is pure and incremental: it is called again with the whole buffer each
//! time more bytes arrive, and answers [`Parsed::Incomplete`] (read more), [`Parsed::Complete`]
//! (a response and how many bytes it took) or [`Parsed::Malformed`] (why it cannot be read).
//! Responses are read by their framing (`Content-Length`, `Transfer-Encoding: chunked`, or until
//! the server closes; no body for `HEAD`, 1xx, 204 and 304), never "until the line goes quiet".
//! A response is read as its parts, each a module of its own:
//!
//! - [`head`]: finding the end of the head, and reading its header fields;
//! - [`status`]: the status line (version, code, reason) and the bytes before it;
//! - [`framing`]: how the body's end is found, and reading the body by it;
//! - [`trailing`]: what bytes left after a complete response are (padding, excess, another
//!   response nobody asked for); the runner judges them once the response has settled;
//! - [`partial`]: a response whose body never ended, judged as far as it arrived.
//!
//! Student servers are read fairly: what a client could still make sense of is read, and each
//! departure from the form is named in [`Response::defects`] (see `cases/README.md`). Bytes
//! after a framed response are never part of it: the same bytes give the same response however
//! they were cut into reads and whenever the close came.

pub mod framing;
mod head;
pub mod partial;
mod status;
pub mod trailing;

#[cfg(test)]
mod tests;

use crate::form::Defect;
use crate::outcome::escape_bytes;

pub use framing::Framing;
pub use partial::{describe_incomplete, read_what_arrived};

/// The longest head we wait for before calling the response malformed.
pub const MAX_HEAD: usize = 64 * 1024;

/// One response as read.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// The status line without its line end (lossy UTF-8), as sent.
    pub status_line: String,
    pub version: String,
    pub code: u16,
    /// The reason phrase as sent (may be empty, may hold spaces and colons).
    pub reason: String,
    /// Headers in the order sent, names as sent, values with surrounding whitespace trimmed.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub framing: Framing,
    /// How many bytes (NUL, spaces, blank lines) were skipped before the status line. When
    /// non-zero, `defects[0]` is the defect that names them.
    pub leading: usize,
    /// Departures from the form, each a short phrase ("head uses bare LF line ends") under the
    /// form rule it breaks.
    pub defects: Vec<Defect>,
    /// Set when the head arrived but the body's end never did (no length and the connection
    /// left open, or fewer bytes than declared): `body` holds what arrived, and checks that need
    /// the whole body fail with this reason.
    pub unfinished: Option<String>,
}

impl Response {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of the headers with this name (case-insensitive), in order.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// An interim (1xx) response, which does not answer a request by itself.
    pub fn is_interim(&self) -> bool {
        (100..200).contains(&self.code)
    }
}

/// The answer of [`parse_response`].
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// More bytes are needed (never returned when `eof` is true).
    Incomplete,
    /// A response, which took the first `consumed` bytes of the buffer.
    Complete { response: Response, consumed: usize },
    /// The bytes cannot be read as a response; `why` says exactly what is wrong.
    Malformed { why: String },
}

/// NUL and whitespace: what padding and stray blank lines are made of.
pub fn is_junk(b: u8) -> bool {
    matches!(b, 0 | b' ' | b'\t' | b'\r' | b'\n')
}

/// Names a run of NUL/whitespace bytes: `NUL`, `whitespace` or `NUL and whitespace`.
pub fn junk_kind(bytes: &[u8]) -> String {
    let nul = bytes.iter().filter(|&&b| b == 0).count();
    if bytes.iter().all(|&b| is_junk(b)) {
        match nul {
            0 => "whitespace".into(),
            n if n == bytes.len() => "NUL".into(),
            _ => "NUL and whitespace".into(),
        }
    } else {
        format!("text: \"{}\"", excerpt(bytes, 40))
    }
}

/// Whether these bytes (after any NUL/whitespace) are, or could grow into, a status line. Bytes
/// that cannot are not the next response, and are counted against the previous one.
pub fn could_be_status_line(bytes: &[u8]) -> bool {
    let lead = bytes.iter().take_while(|&&b| is_junk(b)).count();
    let rest = &bytes[lead..];
    if rest.is_empty() {
        return false;
    }
    let n = rest.len().min(5);
    rest[..n] == b"HTTP/"[..n]
}

/// At most `max` bytes, escaped, with `...` when cut.
pub fn excerpt(bytes: &[u8], max: usize) -> String {
    if bytes.len() <= max {
        escape_bytes(bytes)
    } else {
        format!("{}...", escape_bytes(&bytes[..max]))
    }
}

/// Reads one response from the start of `buf`: the bytes before it, its head (status line and
/// header fields), its framing, its body. `eof`: the server has closed (no more bytes will come).
/// `head_request`: the request was `HEAD`, so the response has no body. Bytes after the response
/// are left in the buffer (`consumed` stops where the response ends), whatever `eof` says.
pub fn parse_response(buf: &[u8], eof: bool, head_request: bool) -> Parsed {
    let lead = buf.iter().take_while(|&&b| is_junk(b)).count();
    let rest = &buf[lead..];
    if let Some(not_yet) = status::before_the_status_line(buf, lead, eof) {
        return not_yet;
    }
    let head = match head::scan_head(rest) {
        Some(head) if head.len <= MAX_HEAD => head,
        _ => return head::unfinished_head(rest, eof),
    };
    let mut defects: Vec<Defect> = status::leading_defect(&buf[..lead]).into_iter().collect();
    let status = match status::parse_status_line(head.lines[0]) {
        Ok(s) => s,
        Err(why) => return Parsed::Malformed { why },
    };
    defects.extend(status.defects);
    defects.extend(head::line_end_defect(&head));
    let headers = head::fields(&head.lines[1..], &mut defects);
    let mut response = Response {
        status_line: String::from_utf8_lossy(head.lines[0]).into_owned(),
        version: status.version,
        code: status.code,
        reason: status.reason,
        headers,
        body: Vec::new(),
        framing: Framing::NoBody,
        leading: lead,
        defects,
        unfinished: None,
    };
    response.framing = framing::framing_of(&mut response, head_request);
    let body_start = lead + head.len;
    match framing::read_body(&mut response, buf, body_start, eof) {
        framing::Body::Incomplete => Parsed::Incomplete,
        framing::Body::Malformed(why) => Parsed::Malformed { why },
        framing::Body::Ended(end) => Parsed::Complete {
            response,
            consumed: end,
        },
    }
}
