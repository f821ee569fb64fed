//! Bytes that arrive after a complete response and before anything more is sent on its
//! connection: the response's trailing bytes. They are never part of the response nor taken for
//! the answer to a later request; once the response has settled ([`SETTLE`]), what they are is
//! judged the same way every run, whatever reads they came in:
//!
//! - NUL or whitespace: padding (`extra-bytes`);
//! - a status line (`HTTP/`): a response nobody asked for (`extra-bytes`: "an unrequested
//!   response followed it");
//! - other text after a response that has no body: a body sent to HEAD (`no-body`); after a
//!   `Content-Length` body: more bytes than it declared (`content-length`);
//! - any text, when the request carried a body: the server read that body as a request of its
//!   own and answered it ([`Trailing::body_answered`], a failure, not a defect of form).

use std::time::Duration;

use super::{excerpt, is_junk, junk_kind, Framing};
use crate::form::{Defect, FormRule};

/// How long a complete response is given to settle before the next request is sent on its
/// connection, the connection is closed, or the case ends. What arrives within it is judged as
/// the response's trailing bytes.
pub const SETTLE: Duration = Duration::from_millis(300);

/// The trailing bytes of one response, gathered over one or more reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trailing {
    /// How many bytes (including any read beyond the cap and discarded).
    pub len: usize,
    pub nul: usize,
    /// Bytes other than NUL and whitespace.
    pub text: usize,
    /// The first bytes, for messages.
    pub sample: Vec<u8>,
    /// The first bytes that are not NUL or whitespace, to tell a status line.
    text_start: Vec<u8>,
}

const SAMPLE: usize = 64;

impl Trailing {
    /// Adds bytes that followed the response (or followed the bytes added before).
    pub fn add(&mut self, bytes: &[u8]) {
        self.len += bytes.len();
        self.nul += bytes.iter().filter(|&&b| b == 0).count();
        self.text += bytes.iter().filter(|&&b| !is_junk(b)).count();
        let room = SAMPLE.saturating_sub(self.sample.len()).min(bytes.len());
        self.sample.extend_from_slice(&bytes[..room]);
        for &b in bytes {
            if self.text_start.len() >= 5 {
                break;
            }
            if !(self.text_start.is_empty() && is_junk(b)) {
                self.text_start.push(b);
            }
        }
    }

    /// Adds bytes that were read beyond the cap and thrown away: counted, not seen.
    pub fn add_unseen(&mut self, n: usize) {
        self.len += n;
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether they start (after any padding) with a status line: another response.
    pub fn is_response(&self) -> bool {
        self.text_start.starts_with(b"HTTP/")
    }

    /// What they hold, for a message: `NUL`, `whitespace`, or `text: "..."`.
    fn kind(&self) -> String {
        if self.text > 0 {
            format!("text: \"{}\"", excerpt(&self.sample, 40))
        } else {
            junk_kind(&self.sample)
        }
    }

    /// The defect of form they are, after a response framed by `framing`; `None` when empty.
    pub fn defect(&self, framing: Framing) -> Option<Defect> {
        if self.is_empty() {
            return None;
        }
        let (n, kind) = (self.len, self.kind());
        Some(match framing {
            _ if self.is_response() => Defect::new(
                FormRule::ExtraBytes,
                format!(
                    "an unrequested response followed it before anything more was sent ({n} \
                     bytes: \"{}\")",
                    excerpt(&self.sample, 60)
                ),
            ),
            Framing::NoBody if self.text > 0 => Defect::new(
                FormRule::NoBody,
                format!("{n} bytes ({kind}) after a response that has no body"),
            ),
            Framing::NoBody => Defect::new(
                FormRule::ExtraBytes,
                format!("{n} bytes ({kind}) after a response that has no body"),
            ),
            Framing::ContentLength(len) if self.text > 0 => Defect::new(
                FormRule::ContentLength,
                format!("Content-Length {len} but {n} more bytes ({kind}) followed the body"),
            ),
            _ => Defect::new(
                FormRule::ExtraBytes,
                format!("{n} extra bytes ({kind}) after the body"),
            ),
        })
    }

    /// The failure they are when the request carried a body and text followed its response:
    /// the server took that body for a request of its own. `None` otherwise.
    pub fn body_answered(&self) -> Option<String> {
        if self.text == 0 {
            return None;
        }
        Some(format!(
            "the server answered the request's body as a request of its own: {} bytes arrived \
             after its response, before anything more was sent: \"{}\" (read the body by its \
             Content-Length or chunked coding before reading the next request)",
            self.len,
            excerpt(&self.sample, 60)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(pieces: &[&[u8]]) -> Trailing {
        let mut t = Trailing::default();
        for p in pieces {
            t.add(p);
        }
        t
    }

    #[test]
    fn the_same_bytes_in_any_pieces_are_the_same_trailing() {
        let bytes = b"\0\0\r\nHTTP/1.1 400 Bad Request\r\n\r\n";
        let whole = of(&[bytes]);
        for cut in 0..bytes.len() {
            let (a, b) = bytes.split_at(cut);
            assert_eq!(of(&[a, b]), whole, "cut at {cut}");
        }
        assert!(whole.is_response());
    }

    #[test]
    fn each_kind_of_trailing_bytes_is_its_defect() {
        let rule = |t: Trailing, f| t.defect(f).map(|d| (d.rule, d.text));
        assert_eq!(rule(of(&[]), Framing::ContentLength(1)), None);
        let (r, text) = rule(of(&[b"\0\0"]), Framing::ContentLength(1)).unwrap();
        assert_eq!(
            (r, text.as_str()),
            (FormRule::ExtraBytes, "2 extra bytes (NUL) after the body")
        );
        let (r, text) = rule(of(&[b"body"]), Framing::NoBody).unwrap();
        assert_eq!(r, FormRule::NoBody);
        assert!(text.contains("after a response that has no body"), "{text}");
        let (r, text) = rule(of(&[b"tail"]), Framing::ContentLength(5)).unwrap();
        assert_eq!(r, FormRule::ContentLength);
        assert_eq!(
            text,
            "Content-Length 5 but 4 more bytes (text: \"tail\") followed the body"
        );
        let (r, text) = rule(of(&[b"\r\nHTTP/1.1 200 OK\r\n"]), Framing::NoBody).unwrap();
        assert_eq!(r, FormRule::ExtraBytes);
        assert!(
            text.starts_with("an unrequested response followed it"),
            "{text}"
        );
    }

    #[test]
    fn text_after_a_request_with_a_body_is_that_body_answered() {
        assert!(of(&[b"\0 \r\n"]).body_answered().is_none());
        let why = of(&[b"<!DOCTYPE HTML>"]).body_answered().unwrap();
        assert!(
            why.starts_with("the server answered the request's body as a request"),
            "{why}"
        );
    }
}
