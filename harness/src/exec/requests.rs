//! Which requests we wrote on a connection: the bytes sent are read back as requests (heads,
//! then their bodies by `Content-Length` or the chunked coding), so that the response to a
//! `HEAD` is read without a body, and so that the runner knows when every request sent has been
//! answered (bytes after that are nobody's answer) and whether the last one carried a body.

use super::response::framing::{scan_chunked, Chunks};

/// The requests written on a connection, as far as they were written.
#[derive(Debug, Default)]
pub(super) struct Requests {
    pending: Vec<u8>,
    body: Body,
    methods: Vec<String>,
    /// Whether each request carried a body.
    bodies: Vec<bool>,
}

/// The body of the request being written, if any, still to skip.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
enum Body {
    #[default]
    None,
    /// This many bytes of a `Content-Length` body are still to come.
    Length(usize),
    /// A chunked body, read until its last chunk and trailer.
    Chunked,
}

impl Requests {
    pub(super) fn feed(&mut self, data: &[u8]) {
        self.pending.extend_from_slice(data);
        while self.skip_body() && self.take_head() {}
    }

    /// Skips what has arrived of the current body; true when it is over.
    fn skip_body(&mut self) -> bool {
        match self.body {
            Body::None => true,
            Body::Length(n) => {
                let k = n.min(self.pending.len());
                self.pending.drain(..k);
                self.body = if n > k {
                    Body::Length(n - k)
                } else {
                    Body::None
                };
                n == k
            }
            Body::Chunked => match scan_chunked(&self.pending, false) {
                Chunks::Complete { len, .. } => {
                    self.pending.drain(..len);
                    self.body = Body::None;
                    true
                }
                Chunks::Incomplete => false,
                // A malformed body (a case testing the server's refusal): the rest is its body.
                Chunks::Malformed(_) => {
                    self.pending.clear();
                    self.body = Body::None;
                    false
                }
            },
        }
    }

    /// Reads the next whole head, if it has arrived; true when one was read.
    fn take_head(&mut self) -> bool {
        let lead = self
            .pending
            .iter()
            .take_while(|&&b| b == b'\r' || b == b'\n')
            .count();
        self.pending.drain(..lead);
        let Some(end) = head_end(&self.pending) else {
            if self.pending.len() > 1 << 20 {
                self.pending.clear();
            }
            return false;
        };
        let head = String::from_utf8_lossy(&self.pending[..end]).into_owned();
        self.pending.drain(..end);
        let method = head.split([' ', '\r', '\n']).next().unwrap_or("");
        self.methods.push(method.to_string());
        self.body = body_of(&head);
        self.bodies.push(self.body != Body::None);
        true
    }

    /// Whether the `k`-th request (0-based) was `HEAD`.
    pub(super) fn is_head(&self, k: usize) -> bool {
        self.methods.get(k).is_some_and(|m| m == "HEAD")
    }

    /// How many requests have been written, the last one counted once its head is whole.
    pub(super) fn count(&self) -> usize {
        self.methods.len()
    }

    /// Whether the last request written carried a body.
    pub(super) fn last_had_body(&self) -> bool {
        self.bodies.last().copied().unwrap_or(false)
    }
}

/// The end of a head (after its empty line, CRLF or bare LF), if it has arrived.
fn head_end(bytes: &[u8]) -> Option<usize> {
    (0..bytes.len()).find_map(|i| {
        if bytes[i] != b'\n' {
            None
        } else if bytes.get(i + 1) == Some(&b'\n') {
            Some(i + 2)
        } else if bytes.get(i + 1..i + 3) == Some(b"\r\n") {
            Some(i + 3)
        } else {
            None
        }
    })
}

/// The body a head announces: chunked when its Transfer-Encoding ends in chunked (which wins
/// over a Content-Length, RFC 9112 §6.3), else its Content-Length.
fn body_of(head: &str) -> Body {
    let field = |name: &str| {
        head.lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_string())
    };
    // Empty list members do not count (RFC 9110 §5.6.1): `chunked,` ends in chunked.
    let chunked = field("transfer-encoding").is_some_and(|te| {
        te.split(',')
            .map(str::trim)
            .rfind(|c| !c.is_empty())
            .is_some_and(|c| c.eq_ignore_ascii_case("chunked"))
    });
    if chunked {
        return Body::Chunked;
    }
    match field("content-length").and_then(|v| v.parse::<usize>().ok()) {
        Some(n) if n > 0 => Body::Length(n),
        _ => Body::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_tracked_across_pieces() {
        let mut r = Requests::default();
        r.feed(
            b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\nPOST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nHE",
        );
        r.feed(b"AD!GET / HTTP/1.1\n\nHEAD /b HTTP/1.1\r\n");
        r.feed(b"\r\n");
        assert_eq!(r.methods, ["HEAD", "POST", "GET", "HEAD"]);
        assert!(r.is_head(0) && !r.is_head(1) && !r.is_head(2) && r.is_head(3) && !r.is_head(4));
        assert_eq!(r.bodies, [false, true, false, false]);
    }

    #[test]
    fn a_chunked_body_is_one_request_however_it_is_written() {
        let all: &[u8] = b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
        for cut in 0..all.len() {
            let mut r = Requests::default();
            r.feed(&all[..cut]);
            r.feed(&all[cut..]);
            assert_eq!(r.methods, ["GET", "GET"], "cut at {cut}");
            assert_eq!(r.bodies, [true, false]);
        }
        let mut r = Requests::default();
        r.feed(&all[..60]);
        assert_eq!((r.count(), r.last_had_body()), (1, true));
        let mut r = Requests::default();
        r.feed(b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked,\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
        assert_eq!(
            (r.count(), r.last_had_body()),
            (1, true),
            "an empty last member"
        );
    }
}
