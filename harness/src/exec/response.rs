//! Reading one HTTP/1.x response out of the bytes a connection has received so far.
//!
//! [`parse_response`] is pure and incremental: it is called again with the whole buffer each
//! time more bytes arrive, and answers [`Parsed::Incomplete`] (read more), [`Parsed::Complete`]
//! (a response and how many bytes it took) or [`Parsed::Malformed`] (why it cannot be read).
//! Responses are read by their framing (`Content-Length`, `Transfer-Encoding: chunked`, or until
//! the server closes; no body for `HEAD`, 1xx, 204 and 304), never "until the line goes quiet".
//!
//! Student servers are read fairly: what a client could still make sense of is read, and each
//! departure from the form is named in [`Response::defects`] (see `cases/README.md`).
//! Bytes after a framed response stay in the buffer for the next response, so one response is
//! never misread as the next; only when the server has closed and those bytes cannot be the
//! start of another response are they counted against this one.

use crate::form::{Defect, FormRule};
use crate::outcome::escape_bytes;

/// The longest head we wait for before calling the response malformed.
pub const MAX_HEAD: usize = 64 * 1024;

/// How the body's end was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// A response to `HEAD`, or a 1xx, 204 or 304 response: no body whatever the headers say.
    NoBody,
    ContentLength(u64),
    Chunked,
    /// Read until the server closed the connection.
    Close,
}

impl std::fmt::Display for Framing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Framing::NoBody => f.write_str("no body"),
            Framing::ContentLength(n) => write!(f, "content-length {n}"),
            Framing::Chunked => f.write_str("chunked"),
            Framing::Close => f.write_str("until close"),
        }
    }
}

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

fn is_junk(b: u8) -> bool {
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

/// Reads one response from the start of `buf`. `eof`: the server has closed (no more bytes will
/// come). `head_request`: the request was `HEAD`, so the response has no body.
pub fn parse_response(buf: &[u8], eof: bool, head_request: bool) -> Parsed {
    let lead = buf.iter().take_while(|&&b| is_junk(b)).count();
    let rest = &buf[lead..];
    if rest.is_empty() {
        if !eof {
            return Parsed::Incomplete;
        }
        let why = if buf.is_empty() {
            "connection closed before any response".to_string()
        } else {
            format!(
                "connection closed after {} bytes ({}) and no status line",
                buf.len(),
                junk_kind(buf)
            )
        };
        return Parsed::Malformed { why };
    }
    let n = rest.len().min(5);
    if rest[..n] != b"HTTP/"[..n] {
        return Parsed::Malformed {
            why: format!(
                "no status line: the response starts with \"{}\"",
                excerpt(rest, 80)
            ),
        };
    }
    let Some(head) = scan_head(rest) else {
        if eof {
            let hint = if !rest.contains(&b'\n') && rest.contains(&b'\r') {
                " (its lines end in a bare CR)"
            } else {
                ""
            };
            return Parsed::Malformed {
                why: format!(
                    "connection closed in the middle of the head{hint}, after {} bytes: \"{}\"",
                    rest.len(),
                    excerpt(rest, 200)
                ),
            };
        }
        if rest.len() > MAX_HEAD {
            return Parsed::Malformed {
                why: format!(
                    "no end of the head after {MAX_HEAD} bytes: \"{}\"",
                    excerpt(rest, 80)
                ),
            };
        }
        return Parsed::Incomplete;
    };

    let mut defects = Vec::new();
    if lead > 0 {
        let skipped = &buf[..lead];
        let nul = skipped.iter().filter(|&&b| b == 0).count();
        let text = if nul == lead {
            format!("{lead} NUL bytes before the status line")
        } else if nul == 0 {
            "blank lines or spaces before the status line".to_string()
        } else {
            format!("{lead} NUL and blank bytes before the status line")
        };
        defects.push(Defect::new(FormRule::ExtraBytes, text));
    }

    // The status line.
    let line = head.lines[0];
    let status_line = String::from_utf8_lossy(line).into_owned();
    let Some(sp) = line.iter().position(|&b| b == b' ') else {
        return Parsed::Malformed {
            why: format!("status line \"{}\" has no status code", escape_bytes(line)),
        };
    };
    let version = String::from_utf8_lossy(&line[..sp]).into_owned();
    if version != "HTTP/1.0" && version != "HTTP/1.1" {
        defects.push(Defect::new(
            FormRule::Version,
            format!("version {version} is not HTTP/1.0 or HTTP/1.1"),
        ));
    }
    let after = &line[sp..];
    let after = &after[after.iter().take_while(|&&b| b == b' ').count()..];
    let digits = after.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits != 3 {
        return Parsed::Malformed {
            why: format!(
                "status line \"{}\" has no three-digit status code",
                excerpt(line, 200)
            ),
        };
    }
    let code: u16 = std::str::from_utf8(&after[..3]).unwrap().parse().unwrap();
    let tail = &after[3..];
    let reason = match tail.first() {
        None => {
            defects.push(Defect::new(
                FormRule::Reason,
                "no space after the status code",
            ));
            String::new()
        }
        // RFC 9112 §4 makes the reason phrase optional (the space before it is not); the
        // assignment asks for one, so an empty one is a `reason` defect, which cases judged by
        // the RFCs alone (tagged `rfc`) do not count.
        Some(b' ') => {
            let r = String::from_utf8_lossy(&tail[1..]).into_owned();
            if r.trim().is_empty() {
                defects.push(Defect::new(FormRule::Reason, "no reason phrase"));
            }
            r
        }
        Some(_) => {
            defects.push(Defect::new(
                FormRule::Reason,
                "no space after the status code",
            ));
            String::from_utf8_lossy(tail).into_owned()
        }
    };

    // Line ends.
    if head.bare_lf > 0 {
        if head.bare_lf == 1 && head.status_bare_lf && head.lines.len() > 1 {
            defects.push(Defect::new(
                FormRule::LineEnds,
                "status line ends in a bare LF",
            ));
        } else {
            defects.push(Defect::new(
                FormRule::LineEnds,
                "head uses bare LF line ends",
            ));
        }
    }

    // Header fields.
    let mut headers: Vec<(String, String)> = Vec::new();
    for raw in &head.lines[1..] {
        if raw.first().is_some_and(|&b| b == b' ' || b == b'\t') {
            if let Some(last) = headers.last_mut() {
                let more = String::from_utf8_lossy(raw).trim().to_string();
                last.1.push(' ');
                last.1.push_str(&more);
                push_once(
                    &mut defects,
                    Defect::new(FormRule::Fields, "obsolete line folding in the head"),
                );
                continue;
            }
        }
        let Some(colon) = raw.iter().position(|&b| b == b':') else {
            defects.push(Defect::new(
                FormRule::Fields,
                format!("header line without a colon: \"{}\"", excerpt(raw, 80)),
            ));
            continue;
        };
        let name_raw = String::from_utf8_lossy(&raw[..colon]).into_owned();
        let name = name_raw.trim().to_string();
        if name != name_raw {
            defects.push(Defect::new(
                FormRule::Fields,
                format!("whitespace around the header name \"{name_raw}\""),
            ));
        }
        let value = String::from_utf8_lossy(&raw[colon + 1..])
            .trim_matches(|c| c == ' ' || c == '\t')
            .to_string();
        headers.push((name, value));
    }

    let mut response = Response {
        status_line,
        version,
        code,
        reason,
        headers,
        body: Vec::new(),
        framing: Framing::NoBody,
        leading: lead,
        defects,
        unfinished: None,
    };
    let body_start = lead + head.len;

    // Framing.
    let framing = if head_request || response.is_interim() || code == 204 || code == 304 {
        Framing::NoBody
    } else if let Some(te) = response.header("transfer-encoding") {
        let te = te.to_string();
        let chunked = te
            .rsplit(',')
            .next()
            .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"));
        if chunked {
            if response.header("content-length").is_some() {
                response.defects.push(Defect::new(
                    FormRule::Framing,
                    "both Transfer-Encoding: chunked and Content-Length",
                ));
            }
            Framing::Chunked
        } else {
            response.defects.push(Defect::new(
                FormRule::Framing,
                format!(
                    "Transfer-Encoding \"{te}\" does not end in chunked: body read until close"
                ),
            ));
            Framing::Close
        }
    } else {
        let values: Vec<String> = response
            .header_values("content-length")
            .flat_map(|v| v.split(','))
            .map(|v| v.trim().to_string())
            .collect();
        if values.is_empty() {
            Framing::Close
        } else if let Some(bad) = values
            .iter()
            .find(|v| v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) || v.len() > 18)
        {
            let bad = bad.clone();
            response.defects.push(Defect::new(
                FormRule::ContentLength,
                format!("Content-Length \"{bad}\" is not a number: body read until close"),
            ));
            Framing::Close
        } else {
            let mut nums: Vec<u64> = values.iter().map(|v| v.parse().unwrap()).collect();
            nums.dedup();
            let first = nums[0];
            if nums.iter().any(|&n| n != first) {
                response.defects.push(Defect::new(
                    FormRule::ContentLength,
                    format!(
                        "conflicting Content-Length headers ({}): body read until close",
                        values.join(", ")
                    ),
                ));
                Framing::Close
            } else {
                Framing::ContentLength(first)
            }
        }
    };
    response.framing = framing;

    let end = match framing {
        Framing::NoBody => body_start,
        Framing::ContentLength(n) => {
            let have = (buf.len() - body_start) as u64;
            if have < n {
                if !eof {
                    return Parsed::Incomplete;
                }
                response.body = buf[body_start..].to_vec();
                response.defects.push(Defect::new(
                    FormRule::ContentLength,
                    format!("Content-Length {n} but only {have} bytes arrived before close"),
                ));
                return Parsed::Complete {
                    response,
                    consumed: buf.len(),
                };
            }
            body_start + n as usize
        }
        Framing::Close => {
            if !eof {
                return Parsed::Incomplete;
            }
            response.body = buf[body_start..].to_vec();
            if let Some(d) = close_delimited_defect(&response) {
                response.defects.push(d);
            }
            return Parsed::Complete {
                response,
                consumed: buf.len(),
            };
        }
        Framing::Chunked => match scan_chunked(&buf[body_start..], eof) {
            Chunks::Incomplete => return Parsed::Incomplete,
            Chunks::Malformed(why) => return Parsed::Malformed { why },
            Chunks::Complete {
                ranges,
                len,
                bare_lf,
            } => {
                let data = &buf[body_start..];
                let mut body = Vec::with_capacity(ranges.iter().map(|r| r.len()).sum());
                for r in ranges {
                    body.extend_from_slice(&data[r]);
                }
                response.body = body;
                if bare_lf {
                    response.defects.push(Defect::new(
                        FormRule::LineEnds,
                        "chunked body uses bare LF line ends",
                    ));
                }
                body_start + len
            }
        },
    };
    if let Framing::ContentLength(_) | Framing::NoBody = framing {
        response.body = buf[body_start..end].to_vec();
    }

    // What follows, once the server has closed: the next response, or excess of this one.
    let extra = &buf[end..];
    if eof && !extra.is_empty() && !could_be_status_line(extra) {
        response.defects.push(extra_defect(framing, extra));
        return Parsed::Complete {
            response,
            consumed: buf.len(),
        };
    }
    Parsed::Complete {
        response,
        consumed: end,
    }
}

/// The defect of a body read until the server closed, if any. A close-delimited body is valid
/// HTTP (RFC 9112 §6.3): with `Connection: close` or in an HTTP/1.0 response it is no defect at
/// all; in an HTTP/1.1 response that does not announce the close it misses Content-Length.
fn close_delimited_defect(r: &Response) -> Option<Defect> {
    if r.body.is_empty()
        || r.defects
            .iter()
            .any(|d| d.text.ends_with("read until close"))
    {
        return None;
    }
    let announced = r
        .header_values("connection")
        .any(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")));
    if announced || r.version == "HTTP/1.0" {
        return None;
    }
    Some(Defect::new(
        FormRule::ContentLength,
        "no Content-Length (and no Connection: close): body read until close",
    ))
}

/// The defect of bytes that followed a response and cannot start the next one: NUL or blank
/// padding (`extra-bytes`), text after a response that has no body (`no-body`), or text after a
/// body whose Content-Length was too small (`content-length`).
pub fn extra_defect(framing: Framing, extra: &[u8]) -> Defect {
    let junk = extra.iter().all(|&b| is_junk(b));
    let kind = junk_kind(extra);
    let n = extra.len();
    match framing {
        Framing::NoBody if !junk => Defect::new(
            FormRule::NoBody,
            format!("{n} bytes ({kind}) after a response that has no body"),
        ),
        Framing::ContentLength(len) if !junk => Defect::new(
            FormRule::ContentLength,
            format!(
                "Content-Length {len} but {} bytes arrived before close",
                len + n as u64
            ),
        ),
        Framing::NoBody => Defect::new(
            FormRule::ExtraBytes,
            format!("{n} bytes ({kind}) after a response that has no body"),
        ),
        _ => Defect::new(
            FormRule::ExtraBytes,
            format!("{n} extra bytes ({kind}) after the body"),
        ),
    }
}

fn push_once(v: &mut Vec<Defect>, s: Defect) {
    if !v.contains(&s) {
        v.push(s);
    }
}

/// A complete head: its lines (without line ends) and its length including the blank line.
struct Head<'a> {
    lines: Vec<&'a [u8]>,
    len: usize,
    bare_lf: usize,
    status_bare_lf: bool,
}

fn scan_head(bytes: &[u8]) -> Option<Head<'_>> {
    let mut lines = Vec::new();
    let mut pos = 0;
    let mut bare_lf = 0;
    let mut status_bare_lf = false;
    loop {
        let nl = pos + bytes[pos..].iter().position(|&b| b == b'\n')?;
        let (line, bare) = if nl > pos && bytes[nl - 1] == b'\r' {
            (&bytes[pos..nl - 1], false)
        } else {
            (&bytes[pos..nl], true)
        };
        if bare {
            bare_lf += 1;
            if pos == 0 {
                status_bare_lf = true;
            }
        }
        pos = nl + 1;
        if line.is_empty() && !lines.is_empty() {
            return Some(Head {
                lines,
                len: pos,
                bare_lf,
                status_bare_lf,
            });
        }
        lines.push(line);
    }
}

enum Chunks {
    Incomplete,
    Malformed(String),
    /// The data ranges (relative to the body's start) and the length of the whole chunked body.
    Complete {
        ranges: Vec<std::ops::Range<usize>>,
        len: usize,
        bare_lf: bool,
    },
}

/// Finds the end of the line starting at `pos`: (line without its end, index after the LF, bare LF).
fn line_at(bytes: &[u8], pos: usize) -> Option<(&[u8], usize, bool)> {
    let nl = pos + bytes[pos..].iter().position(|&b| b == b'\n')?;
    if nl > pos && bytes[nl - 1] == b'\r' {
        Some((&bytes[pos..nl - 1], nl + 1, false))
    } else {
        Some((&bytes[pos..nl], nl + 1, true))
    }
}

fn scan_chunked(bytes: &[u8], eof: bool) -> Chunks {
    let mut pos = 0;
    let mut ranges = Vec::new();
    let mut bare_lf = false;
    let cut = |what: &str, pos: usize| {
        if eof {
            Chunks::Malformed(format!(
                "connection closed in the middle of the chunked body ({what}, after {pos} bytes of it)"
            ))
        } else {
            Chunks::Incomplete
        }
    };
    loop {
        let Some((line, next, bare)) = line_at(bytes, pos) else {
            if bytes.len() - pos > 1024 {
                return Chunks::Malformed(format!(
                    "chunk size line too long: \"{}\"",
                    excerpt(&bytes[pos..], 40)
                ));
            }
            return cut("in a chunk size line", pos);
        };
        bare_lf |= bare;
        let size_text = line.split(|&b| b == b';').next().unwrap_or(b"");
        let size_text = String::from_utf8_lossy(size_text);
        let size_text = size_text.trim_matches(|c| c == ' ' || c == '\t');
        let size = if size_text.is_empty() || size_text.len() > 15 {
            None
        } else {
            usize::from_str_radix(size_text, 16).ok()
        };
        let Some(size) = size else {
            return Chunks::Malformed(format!(
                "bad chunk size line \"{}\" at offset {pos} of the chunked body",
                excerpt(line, 40)
            ));
        };
        pos = next;
        if size == 0 {
            // Trailer fields, then the blank line.
            loop {
                let Some((line, next, bare)) = line_at(bytes, pos) else {
                    return cut("in the trailer", pos);
                };
                bare_lf |= bare;
                pos = next;
                if line.is_empty() {
                    return Chunks::Complete {
                        ranges,
                        len: pos,
                        bare_lf,
                    };
                }
            }
        }
        let data_end = pos + size;
        if bytes.len() < data_end + 2 {
            // Enough to say a LF follows the data?
            if bytes.len() == data_end + 1 && bytes[data_end] == b'\n' {
                ranges.push(pos..data_end);
                return cut("after a chunk's data", data_end);
            }
            if bytes.len() > data_end && bytes[data_end] != b'\r' && bytes[data_end] != b'\n' {
                return Chunks::Malformed(format!(
                    "chunk of {size} bytes not followed by CRLF (got \"{}\")",
                    excerpt(&bytes[data_end..], 20)
                ));
            }
            return cut("in a chunk's data", bytes.len());
        }
        ranges.push(pos..data_end);
        match &bytes[data_end..data_end + 2] {
            b"\r\n" => pos = data_end + 2,
            [b'\n', _] => {
                bare_lf = true;
                pos = data_end + 1;
            }
            other => {
                return Chunks::Malformed(format!(
                    "chunk of {size} bytes not followed by CRLF (got \"{}\")",
                    escape_bytes(other)
                ))
            }
        }
    }
}

/// The response as far as it arrived, for a server that sent a whole head but never the end of
/// its body (no length and the connection left open, fewer bytes than its Content-Length, a
/// chunked body that stops) by the time the case stopped waiting. The status and headers can
/// still be judged; `unfinished` says what is missing, so checks on the body fail with the
/// reason, and a `framing` defect records the problem once. `None` while the head is incomplete.
pub fn read_what_arrived(buf: &[u8], head_request: bool) -> Option<Response> {
    let lead = buf.iter().take_while(|&&b| is_junk(b)).count();
    let head = scan_head(&buf[lead..])?;
    let missing = describe_incomplete(buf, head_request);
    let mut response = match parse_response(buf, true, head_request) {
        Parsed::Complete { mut response, .. } => {
            response.defects.retain(|d| {
                !(d.text.starts_with("no Content-Length")
                    || d.text.contains("bytes arrived before close"))
            });
            response
        }
        Parsed::Malformed { .. } | Parsed::Incomplete => {
            // A chunked body that stops: read the head alone, keep the raw bytes after it.
            let Parsed::Complete { mut response, .. } =
                parse_response(&buf[..lead + head.len], true, true)
            else {
                return None;
            };
            response.framing = Framing::Chunked;
            response.body = buf[lead + head.len..].to_vec();
            response
        }
    };
    let rule = match response.framing {
        Framing::ContentLength(_) => FormRule::ContentLength,
        _ => FormRule::Framing,
    };
    response.defects.push(Defect::new(
        rule,
        format!("the body never ended: {missing}"),
    ));
    response.unfinished = Some(missing);
    Some(response)
}

/// Says what is missing from an incomplete response, for a timeout message: "nothing arrived",
/// "the head is not complete", "only 512 of the 1024 body bytes", ...
pub fn describe_incomplete(buf: &[u8], head_request: bool) -> String {
    if buf.is_empty() {
        return "nothing arrived".to_string();
    }
    let lead = buf.iter().take_while(|&&b| is_junk(b)).count();
    let rest = &buf[lead..];
    if rest.is_empty() {
        return format!("only {} bytes ({}) arrived", buf.len(), junk_kind(buf));
    }
    let Some(head) = scan_head(rest) else {
        return format!(
            "{} bytes arrived but the head is not complete: \"{}\"",
            buf.len(),
            excerpt(rest, 200)
        );
    };
    let status = escape_bytes(head.lines[0]);
    let have = rest.len() - head.len;
    // Parse as if closed now, to learn the framing.
    match parse_response(buf, true, head_request) {
        Parsed::Complete { response, .. } => match response.framing {
            Framing::ContentLength(n) => format!(
                "the head arrived (\"{status}\") but only {have} of the {n} body bytes"
            ),
            Framing::Close => format!(
                "the head arrived (\"{status}\") with no Content-Length, and the connection stayed \
                 open: the body's end cannot be found ({have} body bytes so far)"
            ),
            _ => format!("the head arrived (\"{status}\"), then {have} bytes"),
        },
        Parsed::Malformed { why } if why.contains("in the middle of the chunked body") => format!(
            "the head arrived (\"{status}\") but the chunked body is not complete ({have} bytes of it so far)"
        ),
        Parsed::Malformed { why } => format!("the head arrived (\"{status}\"), but {why}"),
        Parsed::Incomplete => format!("the head arrived (\"{status}\")"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rstest::rstest;

    fn complete(buf: &[u8], eof: bool, head: bool) -> (Response, usize) {
        match parse_response(buf, eof, head) {
            Parsed::Complete { response, consumed } => (response, consumed),
            other => panic!("expected a complete response, got {other:?}"),
        }
    }

    #[rstest]
    // Clean.
    #[case::clean(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false, 200, &[], b"hello", 0)]
    #[case::http10(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n", false, 404, &[], b"", 0)]
    #[case::reason_with_colon(b"HTTP/1.1 400 Bad Request, Reason: Invalid Method\r\nContent-Length: 0\r\n\r\n", false, 400, &[], b"", 0)]
    #[case::trailing_space(b"HTTP/1.1 200 OK \r\nContent-Length: 2\r\n\r\nhi", false, 200, &[], b"hi", 0)]
    #[case::no_ows(b"HTTP/1.1 200 OK\r\nContent-Length:3\r\n\r\nabc", false, 200, &[], b"abc", 0)]
    #[case::same_cl_twice(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", false, 200, &[], b"x", 0)]
    #[case::leftover_stays(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 200 OK\r\n", false, 200, &[], b"x", 17)]
    #[case::leftover_nul_stays_while_open(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx\0\0\0", false, 200, &[], b"x", 3)]
    #[case::chunked(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=1\r\n world\r\n0\r\n\r\n", false, 200, &[], b"hello world", 0)]
    #[case::chunked_trailer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nX-T: 1\r\n\r\n", false, 200, &[], b"a", 0)]
    #[case::no_body_204(b"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", false, 204, &[], b"", 0)]
    #[case::interim(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n", false, 100, &[], b"", 17)]
    // Defects.
    #[case::nul_before(b"\0\0\0HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, 200, &["3 NUL bytes before the status line"], b"", 0)]
    #[case::blank_before(b"\r\n  HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, 200, &["blank lines or spaces before the status line"], b"", 0)]
    #[case::echoed_version(b"HTTP/2.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, 200, &["version HTTP/2.1 is not HTTP/1.0 or HTTP/1.1"], b"", 0)]
    #[case::lf_only(b"HTTP/1.1 200 OK\nContent-Length: 2\n\nhi", false, 200, &["head uses bare LF line ends"], b"hi", 0)]
    #[case::status_lf(b"HTTP/1.1 200 OK\nContent-Length: 2\r\n\r\nhi", false, 200, &["status line ends in a bare LF"], b"hi", 0)]
    #[case::lf_then_crlf(b"HTTP/1.1 200 OK\nContent-Length: 2\n\r\nhi", false, 200, &["head uses bare LF line ends"], b"hi", 0)]
    #[case::empty_reason(b"HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n", false, 200, &["no reason phrase"], b"", 0)]
    #[case::no_space_after_code(b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", false, 200, &["no space after the status code"], b"", 0)]
    #[case::no_cl_close(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html>", true, 200, &["no Content-Length (and no Connection: close): body read until close"], b"<html>", 0)]
    // RFC 9112 §6.3: a body delimited by the close is valid when the close is announced, or in HTTP/1.0.
    #[case::close_announced(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n<html>", true, 200, &[], b"<html>", 0)]
    #[case::close_http10(b"HTTP/1.0 200 OK\r\n\r\n<html>", true, 200, &[], b"<html>", 0)]
    #[case::cl_long_text(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabcd", true, 200, &["Content-Length 2 but 4 bytes arrived before close"], b"ab", 0)]
    #[case::cl_not_number(b"HTTP/1.1 200 OK\r\nContent-Length: 3346***\r\n\r\nab", true, 200, &["Content-Length \"3346***\" is not a number: body read until close"], b"ab", 0)]
    #[case::cl_conflict(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", true, 200, &["conflicting Content-Length headers (1, 2): body read until close"], b"ab", 0)]
    #[case::cl_short(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabcd", true, 200, &["Content-Length 10 but only 4 bytes arrived before close"], b"abcd", 0)]
    #[case::cl_long_nul(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nab\0\0\0\0", true, 200, &["4 extra bytes (NUL) after the body"], b"ab", 0)]
    #[case::cl_long_next_response_kept(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nab\r\nHTTP/1.1 200", true, 200, &[], b"ab", 14)]
    #[case::head_with_body(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody", true, 200, &["4 bytes (text: \"body\") after a response that has no body"], b"", 0)]
    // Boundaries: an 18-digit Content-Length is a number; a 16-digit chunk size is refused.
    #[case::cl_18_digits(b"HTTP/1.1 200 OK\r\nContent-Length: 000000000000000002\r\n\r\nhi", false, 200, &[], b"hi", 0)]
    #[case::cl_19_digits(b"HTTP/1.1 200 OK\r\nContent-Length: 0000000000000000002\r\n\r\nhi", true, 200, &["Content-Length \"0000000000000000002\" is not a number: body read until close"], b"hi", 0)]
    #[case::chunk_size_15_digits(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n000000000000001\r\na\r\n0\r\n\r\n", false, 200, &[], b"a", 0)]
    fn real_world_shapes(
        #[case] input: &[u8],
        #[case] eof: bool,
        #[case] code: u16,
        #[case] defects: &[&str],
        #[case] body: &[u8],
        #[case] left: usize,
    ) {
        // `head_with_body` is the only HEAD case: a response to HEAD whose server sent the body.
        let head = input.ends_with(b"\r\n\r\nbody");
        let (r, used) = complete(input, eof, head);
        assert_eq!(r.code, code);
        assert_eq!(
            r.defects,
            defects,
            "defects of {:?}",
            String::from_utf8_lossy(input)
        );
        assert_eq!(r.body, body);
        assert_eq!(input.len() - used, left, "bytes left after the response");
    }

    #[rstest]
    #[case::lf(b"HTTP/1.1 200 OK\nContent-Length: 0\n\n".as_slice(), FormRule::LineEnds)]
    #[case::reason(b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n".as_slice(), FormRule::Reason)]
    #[case::version(b"HTTP/2.1 200 OK\r\nContent-Length: 0\r\n\r\n".as_slice(), FormRule::Version)]
    #[case::no_cl(b"HTTP/1.1 200 OK\r\n\r\nab".as_slice(), FormRule::ContentLength)]
    #[case::nul_pad(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na\0\0".as_slice(), FormRule::ExtraBytes)]
    #[case::fold(b"HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n".as_slice(), FormRule::Fields)]
    #[case::te(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nab".as_slice(), FormRule::Framing)]
    fn each_defect_names_its_rule(#[case] input: &[u8], #[case] rule: FormRule) {
        let (r, _) = complete(input, true, false);
        let rules: Vec<FormRule> = r.defects.iter().map(|d| d.rule).collect();
        assert_eq!(rules, vec![rule], "{:?}", r.defects);
    }

    #[test]
    fn junk_is_named_by_what_it_holds() {
        assert_eq!(junk_kind(b"  \r\n"), "whitespace");
        assert_eq!(junk_kind(b"\0\0\0"), "NUL");
        assert_eq!(junk_kind(b"\0 \0"), "NUL and whitespace");
        assert_eq!(junk_kind(b"\0<p>"), "text: \"\\0<p>\"");
    }

    #[test]
    fn a_line_ends_at_its_lf_with_or_without_cr() {
        let bytes = b"ab\r\ncd\n\r\n\n";
        assert_eq!(line_at(bytes, 0), Some((&b"ab"[..], 4, false)));
        assert_eq!(line_at(bytes, 4), Some((&b"cd"[..], 7, true)));
        assert_eq!(line_at(bytes, 7), Some((&b""[..], 9, false)));
        // An empty line right after another line's LF: that LF is not its CR.
        assert_eq!(line_at(bytes, 9), Some((&b""[..], 10, true)));
        assert_eq!(line_at(b"no end", 0), None);
        // A LF at the very start: no byte before it to look at.
        assert_eq!(line_at(b"\nx", 0), Some((&b""[..], 1, true)));
    }

    #[test]
    fn a_head_may_start_with_an_empty_line() {
        let head = scan_head(b"\nHTTP/1.1 200 OK\r\n\r\n").expect("a whole head");
        assert_eq!(head.lines, vec![&b""[..], &b"HTTP/1.1 200 OK"[..]]);
        assert_eq!((head.len, head.bare_lf, head.status_bare_lf), (20, 1, true));
    }

    #[test]
    fn a_chunked_body_that_stops_keeps_its_raw_bytes() {
        let buf = b"\0HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel";
        let r = read_what_arrived(buf, false).expect("the head arrived");
        assert_eq!(r.code, 200);
        assert_eq!(r.body, b"5\r\nhel");
    }

    #[test]
    fn a_chunk_size_of_16_digits_is_refused() {
        match scan_chunked(b"0000000000000001\r\na\r\n0\r\n\r\n", true) {
            Chunks::Malformed(m) => assert_eq!(
                m,
                "bad chunk size line \"0000000000000001\" at offset 0 of the chunked body"
            ),
            _ => panic!("a 16-digit chunk size was accepted"),
        }
    }

    #[test]
    fn a_chunked_body_cut_after_a_chunks_data_and_its_lf() {
        // The LF after the data arrived, then the close: cut after the chunk's data.
        match scan_chunked(b"5\r\nhello\n", true) {
            Chunks::Malformed(m) => assert_eq!(
                m,
                "connection closed in the middle of the chunked body (after a chunk's data, after 8 bytes of it)"
            ),
            _ => panic!("a cut chunked body was accepted"),
        }
    }

    #[test]
    fn text_after_a_head_response_breaks_the_no_body_rule() {
        let d = extra_defect(Framing::NoBody, b"<html>");
        assert_eq!(d.rule, FormRule::NoBody);
        assert_eq!(
            extra_defect(Framing::NoBody, b"\0\0").rule,
            FormRule::ExtraBytes
        );
    }

    #[test]
    fn what_arrived_is_judged_when_the_body_never_ends() {
        // No length, NUL padding, the connection held open: the status is still read.
        let buf =
            b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/html\r\n\r\nInvalid Method\0\0\0";
        assert_eq!(parse_response(buf, false, false), Parsed::Incomplete);
        let r = read_what_arrived(buf, false).expect("the head arrived");
        assert_eq!(r.code, 400);
        assert_eq!(r.body, b"Invalid Method\0\0\0");
        assert!(r
            .unfinished
            .as_deref()
            .unwrap()
            .contains("no Content-Length"));
        assert_eq!(r.defects.len(), 1, "{:?}", r.defects);
        assert_eq!(r.defects[0].rule, FormRule::Framing);
        assert!(r.defects[0].text.starts_with("the body never ended"));
        // Fewer bytes than the Content-Length: the length is what is wrong.
        let r =
            read_what_arrived(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nab", false).unwrap();
        assert_eq!(r.defects[0].rule, FormRule::ContentLength);
        // A chunked body that stops.
        let r = read_what_arrived(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
            false,
        )
        .unwrap();
        assert_eq!((r.code, r.framing), (200, Framing::Chunked));
        // No head yet: nothing to judge.
        assert_eq!(read_what_arrived(b"HTTP/1.1 200 OK\r\n", false), None);
    }

    #[test]
    fn fields_are_read() {
        let (r, _) = complete(
            b"HTTP/1.1 404 Not Found\r\nServer: x\r\nContent-Length:0\r\n\r\n",
            false,
            false,
        );
        assert_eq!(r.status_line, "HTTP/1.1 404 Not Found");
        assert_eq!(r.version, "HTTP/1.1");
        assert_eq!(r.reason, "Not Found");
        assert_eq!(
            r.headers,
            vec![
                ("Server".into(), "x".into()),
                ("Content-Length".into(), "0".into())
            ]
        );
        assert_eq!(r.header("content-length"), Some("0"));
        assert_eq!(r.framing, Framing::ContentLength(0));
        assert_eq!(r.leading, 0);
    }

    #[rstest]
    #[case::nothing(b"", true, "connection closed before any response")]
    #[case::only_nul(
        b"\0\0",
        true,
        "connection closed after 2 bytes (NUL) and no status line"
    )]
    #[case::garbage(
        b"Invalid request\n",
        false,
        "no status line: the response starts with \"Invalid request\\n\""
    )]
    #[case::html(b"<html>", false, "no status line")]
    #[case::cut_head(
        b"HTTP/1.1 200 OK\r\nCont",
        true,
        "connection closed in the middle of the head"
    )]
    #[case::bad_code(b"HTTP/1.1 2000 OK\r\n\r\n", false, "no three-digit status code")]
    #[case::no_code(b"HTTP/1.1\r\n\r\n", false, "has no status code")]
    #[case::bad_chunk(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        false,
        "bad chunk size line \"zz\""
    )]
    #[case::chunk_no_crlf(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabcd",
        false,
        "chunk of 2 bytes not followed by CRLF"
    )]
    #[case::chunk_cut(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
        true,
        "connection closed in the middle of the chunked body"
    )]
    fn malformed(#[case] input: &[u8], #[case] eof: bool, #[case] why_contains: &str) {
        match parse_response(input, eof, false) {
            Parsed::Malformed { why } => assert!(why.contains(why_contains), "{why:?}"),
            other => panic!("expected malformed, got {other:?}"),
        }
    }

    #[rstest]
    #[case::empty(b"")]
    #[case::h(b"H")]
    #[case::nul(b"\0\0")]
    #[case::head_only(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab")]
    #[case::no_cl(b"HTTP/1.1 200 OK\r\n\r\nabc")]
    #[case::chunk_half(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab")]
    fn incomplete_while_open(#[case] input: &[u8]) {
        assert_eq!(parse_response(input, false, false), Parsed::Incomplete);
    }

    #[test]
    fn describes_what_is_missing() {
        assert_eq!(describe_incomplete(b"", false), "nothing arrived");
        let d = describe_incomplete(b"HTTP/1.1 200 OK\r\nContent-Length: 1024\r\n\r\nabc", false);
        assert!(d.contains("only 3 of the 1024 body bytes"), "{d}");
        let d = describe_incomplete(b"HTTP/1.1 200 OK\r\n\r\nabc", false);
        assert!(
            d.contains("no Content-Length, and the connection stayed open"),
            "{d}"
        );
        let d = describe_incomplete(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
            false,
        );
        assert!(
            d.ends_with("but the chunked body is not complete (5 bytes of it so far)"),
            "{d}"
        );
    }

    fn well_formed() -> impl Strategy<Value = Vec<u8>> {
        (
            prop_oneof![Just("HTTP/1.0"), Just("HTTP/1.1")],
            200u16..600,
            "[A-Za-z][A-Za-z :,]{0,20}",
            proptest::collection::vec(("[A-Za-z][A-Za-z0-9-]{0,10}", "[ -~]{0,20}"), 0..5),
            proptest::collection::vec(any::<u8>(), 0..300),
            any::<bool>(),
            1usize..50,
        )
            .prop_map(|(version, code, reason, headers, body, chunked, piece)| {
                let code = if code == 204 || code == 304 {
                    200
                } else {
                    code
                };
                let mut out = format!("{version} {code} {reason}\r\n").into_bytes();
                for (n, v) in headers {
                    let lower = n.to_ascii_lowercase();
                    if lower == "content-length" || lower == "transfer-encoding" {
                        continue;
                    }
                    out.extend_from_slice(format!("X-{n}: {v}\r\n").as_bytes());
                }
                if chunked {
                    out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
                    for c in body.chunks(piece) {
                        out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
                        out.extend_from_slice(c);
                        out.extend_from_slice(b"\r\n");
                    }
                    out.extend_from_slice(b"0\r\n\r\n");
                } else {
                    out.extend_from_slice(
                        format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes(),
                    );
                    out.extend_from_slice(&body);
                }
                out
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400), eof: bool, head: bool) {
            let _ = parse_response(&bytes, eof, head);
            let _ = describe_incomplete(&bytes, head);
        }

        #[test]
        fn http_like_bytes_never_panic(
            bytes in proptest::collection::vec(prop_oneof![
                Just(b"HTTP/1.1 200 OK\r\n".to_vec()), Just(b"\r\n".to_vec()), Just(b"\n".to_vec()),
                Just(b"Content-Length: 3\r\n".to_vec()), Just(b"Transfer-Encoding: chunked\r\n".to_vec()),
                Just(b"5\r\n".to_vec()), Just(b"0\r\n".to_vec()), Just(b"\0".to_vec()), Just(b"abc".to_vec()),
                Just(b"ffffffffffffffff\r\n".to_vec()), Just(b":".to_vec()), Just(b" ".to_vec()),
            ], 0..30),
            eof: bool, head: bool,
        ) {
            let bytes: Vec<u8> = bytes.concat();
            let _ = parse_response(&bytes, eof, head);
            let _ = describe_incomplete(&bytes, head);
        }

        #[test]
        fn split_anywhere_gives_the_same_response(resp in well_formed(), extra in proptest::collection::vec(any::<u8>(), 0..20)) {
            let (whole, consumed) = complete(&resp, false, false);
            prop_assert_eq!(consumed, resp.len());
            prop_assert!(whole.defects.is_empty(), "{:?}", whole.defects);
            for k in 0..resp.len() {
                prop_assert_eq!(parse_response(&resp[..k], false, false), Parsed::Incomplete, "prefix of {} bytes", k);
            }
            // Whatever follows does not change this response while the connection is open.
            let mut more = resp.clone();
            more.extend_from_slice(&extra);
            let (again, used) = complete(&more, false, false);
            prop_assert_eq!(again, whole);
            prop_assert_eq!(used, resp.len());
        }
    }
}
