//! The request `harness record` sends: the bytes read from stdin or a file, taken as raw bytes
//! or as text typed like a telnet session, and the `send` block that sends the same bytes.

use clap::ValueEnum;

/// How the input's line ends are sent (`--line-ends`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LineEnds {
    /// Typed text: every line end (LF or CRLF) is sent as CRLF, as telnet and a `send` block
    /// in line mode do.
    Crlf,
    /// Typed text: every line end (LF or CRLF) is sent as a bare LF.
    Lf,
    /// The bytes exactly as they are.
    Raw,
}

/// A request to send, and how the case writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The bytes sent.
    pub bytes: Vec<u8>,
    /// `send raw` (every byte spelled out) rather than `send` (each line sent with CRLF).
    pub raw: bool,
    /// The block's lines, as bytes before escaping. In line mode without their line end; in
    /// raw mode each with its own (`\n` or `\r\n`), except perhaps the last.
    pub lines: Vec<Vec<u8>>,
    /// Line mode: the last line has no line end (written with a trailing `\`).
    pub open_end: bool,
}

impl Request {
    /// The request read from `input`, its line ends as `ends` says.
    pub fn new(input: &[u8], ends: LineEnds) -> Request {
        match ends {
            LineEnds::Crlf => typed_crlf(input),
            LineEnds::Lf => raw(normalize_lf(input)),
            LineEnds::Raw => raw(input.to_vec()),
        }
    }

    /// The method of the first request line (after any empty lines), e.g. `GET`.
    pub fn method(&self) -> &[u8] {
        let start = self
            .bytes
            .iter()
            .position(|&b| b != b'\r' && b != b'\n')
            .unwrap_or(self.bytes.len());
        let rest = &self.bytes[start..];
        let end = rest
            .iter()
            .position(|&b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
            .unwrap_or(rest.len());
        &rest[..end]
    }

    /// The first request line without its line end (for titles and messages).
    pub fn first_line(&self) -> &[u8] {
        let start = self
            .bytes
            .iter()
            .position(|&b| b != b'\r' && b != b'\n')
            .unwrap_or(self.bytes.len());
        let rest = &self.bytes[start..];
        let end = rest
            .iter()
            .position(|&b| b == b'\r' || b == b'\n')
            .unwrap_or(rest.len());
        &rest[..end]
    }

    /// The target of the first request line (`/index.html`), if it has one.
    pub fn target(&self) -> Option<&[u8]> {
        self.first_line()
            .split(|&b| b == b' ')
            .filter(|w| !w.is_empty())
            .nth(1)
    }

    /// Whether the head ends with an empty line, as a server needs to answer.
    pub fn head_ends(&self) -> bool {
        self.bytes.windows(4).any(|w| w == b"\r\n\r\n")
            || self.bytes.windows(2).any(|w| w == b"\n\n")
            || self.bytes.windows(3).any(|w| w == b"\n\r\n")
    }
}

/// Typed text sent with CRLF line ends: one block line per input line, a CR before each LF
/// dropped (so CRLF input is not doubled). A last line without LF is sent without a line end.
fn typed_crlf(input: &[u8]) -> Request {
    let mut lines: Vec<Vec<u8>> = input.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    // The text after the last LF: empty when the input ends with a line end.
    let last = lines.pop().unwrap_or_default();
    for line in &mut lines {
        if line.last() == Some(&b'\r') {
            line.pop();
        }
    }
    let mut bytes = Vec::with_capacity(input.len() + lines.len());
    for line in &lines {
        bytes.extend_from_slice(line);
        bytes.extend_from_slice(b"\r\n");
    }
    let open_end = !last.is_empty();
    if open_end {
        bytes.extend_from_slice(&last);
        lines.push(last);
    }
    Request {
        bytes,
        raw: false,
        lines,
        open_end,
    }
}

/// Every CRLF turned into LF.
fn normalize_lf(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    for (i, &b) in input.iter().enumerate() {
        if b == b'\r' && input.get(i + 1) == Some(&b'\n') {
            continue;
        }
        out.push(b);
    }
    out
}

/// Bytes sent as they are: one block line per line, each with its own line end.
fn raw(bytes: Vec<u8>) -> Request {
    let lines = bytes
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect();
    Request {
        bytes,
        raw: true,
        lines,
        open_end: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(r: &Request) -> Vec<&str> {
        r.lines
            .iter()
            .map(|l| std::str::from_utf8(l).unwrap())
            .collect()
    }

    #[test]
    fn typed_lf_text_is_sent_with_crlf() {
        let r = Request::new(b"GET / HTTP/1.1\nHost: a\n\n", LineEnds::Crlf);
        assert_eq!(r.bytes, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(lines(&r), ["GET / HTTP/1.1", "Host: a", ""]);
        assert!(!r.raw && !r.open_end);
    }

    #[test]
    fn typed_crlf_text_is_not_doubled() {
        let r = Request::new(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", LineEnds::Crlf);
        assert_eq!(r.bytes, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(lines(&r), ["GET / HTTP/1.1", "Host: a", ""]);
    }

    #[test]
    fn a_last_line_without_lf_is_sent_without_a_line_end() {
        let r = Request::new(b"POST / HTTP/1.0\n\nab", LineEnds::Crlf);
        assert_eq!(r.bytes, b"POST / HTTP/1.0\r\n\r\nab");
        assert_eq!(lines(&r), ["POST / HTTP/1.0", "", "ab"]);
        assert!(r.open_end);
    }

    #[test]
    fn lf_mode_sends_bare_lf_whatever_was_typed() {
        let r = Request::new(b"GET / HTTP/1.1\r\nHost: a\n\r\n", LineEnds::Lf);
        assert_eq!(r.bytes, b"GET / HTTP/1.1\nHost: a\n\n");
        assert_eq!(lines(&r), ["GET / HTTP/1.1\n", "Host: a\n", "\n"]);
        assert!(r.raw);
    }

    #[test]
    fn raw_mode_keeps_every_byte() {
        let input = b"GET / HTTP/1.1\r\nX: a\rb\n\r\n\0tail";
        let r = Request::new(input, LineEnds::Raw);
        assert_eq!(r.bytes, input);
        assert_eq!(r.lines.concat(), input);
        assert_eq!(lines(&r).last(), Some(&"\0tail"));
    }

    #[test]
    fn the_first_line_names_method_and_target() {
        let r = Request::new(b"\r\nHEAD /a.html HTTP/1.0\n\n", LineEnds::Crlf);
        assert_eq!(r.method(), b"HEAD");
        assert_eq!(r.first_line(), b"HEAD /a.html HTTP/1.0");
        assert_eq!(r.target(), Some(&b"/a.html"[..]));
        assert!(r.head_ends());
        assert!(!Request::new(b"GET / HTTP/1.0\n", LineEnds::Crlf).head_ends());
    }
}
