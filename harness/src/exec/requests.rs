//! Which requests we wrote on a connection: the bytes sent are read back as requests (heads,
//! then `Content-Length` bodies), so that the response to a `HEAD` is read without a body.

/// The methods of the requests written on a connection, found by reading the bytes we sent as
/// requests (heads, then `Content-Length` bodies), so that a response to `HEAD` is read without
/// a body.
#[derive(Debug, Default)]
pub(super) struct Requests {
    pending: Vec<u8>,
    skip: usize,
    methods: Vec<String>,
}

impl Requests {
    pub(super) fn feed(&mut self, data: &[u8]) {
        self.pending.extend_from_slice(data);
        loop {
            if self.skip > 0 {
                let n = self.skip.min(self.pending.len());
                self.pending.drain(..n);
                self.skip -= n;
                if self.skip > 0 {
                    return;
                }
            }
            let lead = self
                .pending
                .iter()
                .take_while(|&&b| b == b'\r' || b == b'\n')
                .count();
            self.pending.drain(..lead);
            let end = (0..self.pending.len()).find_map(|i| {
                if self.pending[i] != b'\n' {
                    None
                } else if self.pending.get(i + 1) == Some(&b'\n') {
                    Some(i + 2)
                } else if self.pending.get(i + 1..i + 3) == Some(b"\r\n") {
                    Some(i + 3)
                } else {
                    None
                }
            });
            let Some(end) = end else {
                if self.pending.len() > 1 << 20 {
                    self.pending.clear();
                }
                return;
            };
            let head = String::from_utf8_lossy(&self.pending[..end]).into_owned();
            let method = head
                .split([' ', '\r', '\n'])
                .next()
                .unwrap_or("")
                .to_string();
            let length = head
                .lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(n, _)| n.trim().eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            self.methods.push(method);
            self.pending.drain(..end);
            self.skip = length;
        }
    }

    /// Whether the `k`-th request (0-based) was `HEAD`.
    pub(super) fn is_head(&self, k: usize) -> bool {
        self.methods.get(k).is_some_and(|m| m == "HEAD")
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
    }
}
