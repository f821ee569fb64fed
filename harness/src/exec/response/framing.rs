//! How a response's body ends (RFC 9112 §6.3): no body (HEAD, 1xx, 204, 304), its
//! `Content-Length`, the chunked coding, or the server's close; and reading the body by it.

use super::head::line_at;
use super::{excerpt, Response};
use crate::form::{Defect, FormRule};
use crate::outcome::escape_bytes;

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

/// The framing the head announces; a head that cannot frame its body (a bad or conflicting
/// length, a coding that does not end in chunked) is read until close, with the defect.
pub(super) fn framing_of(r: &mut Response, head_request: bool) -> Framing {
    if head_request || r.is_interim() || r.code == 204 || r.code == 304 {
        return Framing::NoBody;
    }
    if let Some(te) = r.header("transfer-encoding").map(str::to_string) {
        return transfer_coding(r, &te);
    }
    let values: Vec<String> = r
        .header_values("content-length")
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().to_string())
        .collect();
    if values.is_empty() {
        return Framing::Close;
    }
    content_length(r, &values)
}

fn transfer_coding(r: &mut Response, te: &str) -> Framing {
    let chunked = te
        .rsplit(',')
        .next()
        .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"));
    if !chunked {
        r.defects.push(Defect::new(
            FormRule::Framing,
            format!("Transfer-Encoding \"{te}\" does not end in chunked: body read until close"),
        ));
        return Framing::Close;
    }
    if r.header("content-length").is_some() {
        r.defects.push(Defect::new(
            FormRule::Framing,
            "both Transfer-Encoding: chunked and Content-Length",
        ));
    }
    Framing::Chunked
}

fn content_length(r: &mut Response, values: &[String]) -> Framing {
    let bad = values
        .iter()
        .find(|v| v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) || v.len() > 18);
    if let Some(bad) = bad {
        r.defects.push(Defect::new(
            FormRule::ContentLength,
            format!("Content-Length \"{bad}\" is not a number: body read until close"),
        ));
        return Framing::Close;
    }
    let nums: Vec<u64> = values
        .iter()
        .map(|v| v.parse().expect("at most 18 digits"))
        .collect();
    if nums.iter().any(|&n| n != nums[0]) {
        r.defects.push(Defect::new(
            FormRule::ContentLength,
            format!(
                "conflicting Content-Length headers ({}): body read until close",
                values.join(", ")
            ),
        ));
        return Framing::Close;
    }
    Framing::ContentLength(nums[0])
}

/// The body as far as it can be read now.
pub(super) enum Body {
    Incomplete,
    Malformed(String),
    /// The body is in the response; the response took the buffer up to this index.
    Ended(usize),
}

/// Reads the body that starts at `start` into `r.body`, by `r.framing`.
pub(super) fn read_body(r: &mut Response, buf: &[u8], start: usize, eof: bool) -> Body {
    match r.framing {
        Framing::NoBody => Body::Ended(start),
        Framing::ContentLength(n) => {
            let have = (buf.len() - start) as u64;
            if have >= n {
                let end = start + n as usize;
                r.body = buf[start..end].to_vec();
                return Body::Ended(end);
            }
            if !eof {
                return Body::Incomplete;
            }
            r.body = buf[start..].to_vec();
            r.defects.push(Defect::new(
                FormRule::ContentLength,
                format!("Content-Length {n} but only {have} bytes arrived before close"),
            ));
            Body::Ended(buf.len())
        }
        Framing::Close => {
            if !eof {
                return Body::Incomplete;
            }
            r.body = buf[start..].to_vec();
            if let Some(d) = close_delimited_defect(r) {
                r.defects.push(d);
            }
            Body::Ended(buf.len())
        }
        Framing::Chunked => match scan_chunked(&buf[start..], eof) {
            Chunks::Incomplete => Body::Incomplete,
            Chunks::Malformed(why) => Body::Malformed(why),
            Chunks::Complete {
                ranges,
                len,
                bare_lf,
            } => {
                let data = &buf[start..];
                r.body = ranges.into_iter().flat_map(|x| &data[x]).copied().collect();
                if bare_lf {
                    r.defects.push(Defect::new(
                        FormRule::LineEnds,
                        "chunked body uses bare LF line ends",
                    ));
                }
                Body::Ended(start + len)
            }
        },
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

pub(crate) enum Chunks {
    Incomplete,
    Malformed(String),
    /// The data ranges (relative to the body's start) and the length of the whole chunked body.
    Complete {
        ranges: Vec<std::ops::Range<usize>>,
        len: usize,
        bare_lf: bool,
    },
}

/// Reads a chunked body: size lines, data, the last chunk and the trailer.
pub(crate) fn scan_chunked(bytes: &[u8], eof: bool) -> Chunks {
    let mut pos = 0;
    let mut ranges = Vec::new();
    let mut bare_lf = false;
    loop {
        let (size, next) = match chunk_size(bytes, pos, eof, &mut bare_lf) {
            Ok(x) => x,
            Err(chunks) => return chunks,
        };
        pos = next;
        if size == 0 {
            return trailer(bytes, pos, eof, ranges, bare_lf);
        }
        match chunk_data(bytes, pos, size, eof, &mut bare_lf) {
            Ok(next) => {
                ranges.push(pos..pos + size);
                pos = next;
            }
            Err(Some(chunks)) => return chunks,
            Err(None) => {
                ranges.push(pos..pos + size);
                return cut("after a chunk's data", pos + size, eof);
            }
        }
    }
}

/// The chunked body stops here: malformed once closed, else incomplete.
fn cut(what: &str, pos: usize, eof: bool) -> Chunks {
    if eof {
        Chunks::Malformed(format!(
            "connection closed in the middle of the chunked body ({what}, after {pos} bytes of it)"
        ))
    } else {
        Chunks::Incomplete
    }
}

/// The longest chunk size line (with its extensions) read.
const MAX_SIZE_LINE: usize = 1024;

/// The size of the chunk whose size line starts at `pos`, and where its data starts.
fn chunk_size(
    bytes: &[u8],
    pos: usize,
    eof: bool,
    bare_lf: &mut bool,
) -> Result<(usize, usize), Chunks> {
    let too_long = || {
        Chunks::Malformed(format!(
            "chunk size line too long: \"{}\"",
            excerpt(&bytes[pos..], 40)
        ))
    };
    let Some((line, next, bare)) = line_at(bytes, pos) else {
        if bytes.len() - pos > MAX_SIZE_LINE {
            return Err(too_long());
        }
        return Err(cut("in a chunk size line", pos, eof));
    };
    if line.len() > MAX_SIZE_LINE {
        return Err(too_long());
    }
    *bare_lf |= bare;
    let size_text = line.split(|&b| b == b';').next().unwrap_or(b"");
    let size_text = String::from_utf8_lossy(size_text);
    let size_text = size_text.trim_matches(|c| c == ' ' || c == '\t');
    let size = if size_text.is_empty() || size_text.len() > 15 {
        None
    } else {
        usize::from_str_radix(size_text, 16).ok()
    };
    match size {
        Some(size) => Ok((size, next)),
        None => Err(Chunks::Malformed(format!(
            "bad chunk size line \"{}\" at offset {pos} of the chunked body",
            excerpt(line, 40)
        ))),
    }
}

/// The end of a chunk's data (and its line end) starting at `pos`: `Err(None)` when the data
/// and a bare LF arrived and nothing more (cut after the chunk's data).
fn chunk_data(
    bytes: &[u8],
    pos: usize,
    size: usize,
    eof: bool,
    bare_lf: &mut bool,
) -> Result<usize, Option<Chunks>> {
    let data_end = pos + size;
    let not_crlf = |got: &[u8]| {
        Some(Chunks::Malformed(format!(
            "chunk of {size} bytes not followed by CRLF (got \"{}\")",
            escape_bytes(got)
        )))
    };
    match bytes.get(data_end..).unwrap_or_default() {
        [] => Err(Some(cut("in a chunk's data", bytes.len(), eof))),
        [b'\n'] => Err(None),
        [b'\n', ..] => {
            *bare_lf = true;
            Ok(data_end + 1)
        }
        [b'\r', b'\n', ..] => Ok(data_end + 2),
        [b'\r'] => Err(Some(cut("after a chunk's data", data_end, eof))),
        [b'\r', other, ..] => Err(not_crlf(&[b'\r', *other])),
        [other, ..] => Err(not_crlf(&[*other])),
    }
}

/// Trailer fields after the last chunk, then the blank line that ends the body.
fn trailer(
    bytes: &[u8],
    mut pos: usize,
    eof: bool,
    ranges: Vec<std::ops::Range<usize>>,
    mut bare_lf: bool,
) -> Chunks {
    loop {
        let Some((line, next, bare)) = line_at(bytes, pos) else {
            return cut("in the trailer", pos, eof);
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
