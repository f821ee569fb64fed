//! Reading and classifying a request head: where it ends in the byte stream, the size limits,
//! and the assignment's checks in order (method, URL, version), yielding a [`Request`] or the
//! reason it is a `400 Bad Request`.
//!
//! Everything here is pure (bytes in, values out) so it can be tested exhaustively.

/// Longest request line accepted; a longer one gets `414 URI Too Long`.
pub const MAX_REQUEST_LINE: usize = 8 * 1024;
/// Largest request head (request line + headers) accepted; larger gets `431`.
pub const MAX_HEAD: usize = 32 * 1024;
/// Most header lines accepted; more gets `431`.
pub const MAX_HEADERS: usize = 100;

/// The methods the assignment calls valid. Anything else is `400 Invalid Method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Options,
    Head,
    Post,
    Put,
    Delete,
    Trace,
}

impl Method {
    /// Exact, case-sensitive match (methods are case-sensitive in HTTP).
    pub fn parse(b: &[u8]) -> Option<Method> {
        Some(match b {
            b"GET" => Method::Get,
            b"OPTIONS" => Method::Options,
            b"HEAD" => Method::Head,
            b"POST" => Method::Post,
            b"PUT" => Method::Put,
            b"DELETE" => Method::Delete,
            b"TRACE" => Method::Trace,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Options => "OPTIONS",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Trace => "TRACE",
        }
    }

    /// Whether this server can answer the method when `RequestMethodSupport` lists it.
    pub fn implemented(self) -> bool {
        matches!(
            self,
            Method::Get | Method::Head | Method::Post | Method::Options
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Http10,
    Http11,
}

/// A request head that passed the assignment's syntax checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    /// The target exactly as sent (starts with `/`, printable ASCII only).
    pub target: String,
    pub version: Version,
    /// `Connection` lists `keep-alive` (and not `close`).
    pub keep_alive: bool,
    /// Declared body length (`Content-Length`), 0 if none.
    pub content_length: u64,
    /// A `Transfer-Encoding` header was sent (request bodies in chunks are not supported).
    pub chunked: bool,
    /// `Expect: 100-continue` was sent: the client waits for `100 Continue` before its body.
    pub expect_continue: bool,
}

/// Why a head cannot be served. Each maps to a status in `response`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// 400, with the reason shown in the error page (e.g. `Invalid Method: GRT`).
    BadRequest(String),
    /// 414: request line longer than [`MAX_REQUEST_LINE`].
    LineTooLong,
    /// 431: head larger than [`MAX_HEAD`] or more than [`MAX_HEADERS`] lines.
    HeadTooLarge,
}

/// Outcome of looking for the end of a head in the bytes received so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scan {
    /// The head is `buf[start..end]` (without the line end of its last line nor the empty
    /// line); the request body or the next request starts at `next`.
    Complete {
        start: usize,
        end: usize,
        next: usize,
    },
    /// Need more bytes; resume scanning at `resume`.
    Partial {
        resume: usize,
    },
    Reject(Rejection),
}

/// Finds the end of a request head: the first empty line, where lines end in LF or CRLF.
/// Leading empty lines (allowed before a request line by RFC 9112 §2.2) are skipped.
/// `from` is where a previous [`Scan::Partial`] asked to resume (0 at first).
pub fn scan_head(buf: &[u8], from: usize) -> Scan {
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    match buf[start..].iter().position(|&b| b == b'\n') {
        Some(len) if len > MAX_REQUEST_LINE => return Scan::Reject(Rejection::LineTooLong),
        None if buf.len() - start > MAX_REQUEST_LINE => {
            return Scan::Reject(Rejection::LineTooLong)
        }
        _ => {}
    }
    let mut pos = from.max(start);
    while let Some(off) = buf[pos..].iter().position(|&b| b == b'\n') {
        let lf = pos + off;
        // An empty line follows this LF?
        match buf.get(lf + 1) {
            Some(b'\n') => return done(start, lf, lf + 2),
            Some(b'\r') => match buf.get(lf + 2) {
                Some(b'\n') => return done(start, lf, lf + 3),
                Some(_) => {}
                None => return partial(buf, start, lf),
            },
            Some(_) => {}
            None => return partial(buf, start, lf),
        }
        pos = lf + 1;
    }
    partial(buf, start, buf.len())
}

fn done(start: usize, end: usize, next: usize) -> Scan {
    if end - start > MAX_HEAD {
        Scan::Reject(Rejection::HeadTooLarge)
    } else {
        Scan::Complete { start, end, next }
    }
}

fn partial(buf: &[u8], start: usize, resume: usize) -> Scan {
    if buf.len() - start > MAX_HEAD {
        Scan::Reject(Rejection::HeadTooLarge)
    } else {
        Scan::Partial { resume }
    }
}

/// Parses a complete head (without its terminating empty line) and applies the assignment's
/// checks in order: method, URL, version, then header syntax.
pub fn parse_head(head: &[u8]) -> Result<Request, Rejection> {
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let line = lines.next().unwrap_or(b"");
    let mut parts = line.split(|&b| b == b' ');
    let method_b = parts.next().unwrap_or(b"");
    let target_b = parts.next();
    let version_b = parts.next();
    let extra = parts.next();

    let method = Method::parse(method_b)
        .ok_or_else(|| bad(format!("Invalid Method: {}", show(method_b))))?;
    let target_b =
        target_b.ok_or_else(|| bad(format!("Invalid URL: (missing) in {}", show(line))))?;
    if target_b.first() != Some(&b'/') || !target_b.iter().all(|b| b.is_ascii_graphic()) {
        return Err(bad(format!("Invalid URL: {}", show(target_b))));
    }
    let version = match version_b {
        Some(b"HTTP/1.1") => Version::Http11,
        Some(b"HTTP/1.0") => Version::Http10,
        Some(v) => return Err(bad(format!("Invalid HTTP-Version: {}", show(v)))),
        None => return Err(bad("Invalid HTTP-Version: (missing)".into())),
    };
    if extra.is_some() {
        return Err(bad(format!("Malformed request line: {}", show(line))));
    }

    let mut req = Request {
        method,
        target: String::from_utf8_lossy(target_b).into_owned(),
        version,
        keep_alive: false,
        content_length: 0,
        chunked: false,
        expect_continue: false,
    };
    let mut close = false;
    let mut length: Option<u64> = None;
    for (count, line) in lines.enumerate() {
        if count >= MAX_HEADERS {
            return Err(Rejection::HeadTooLarge);
        }
        let colon = line.iter().position(|&b| b == b':');
        let name = colon.map(|c| &line[..c]).unwrap_or(b"");
        if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
            return Err(bad(format!("Malformed header line: {}", show(line))));
        }
        let value = trim(&line[colon.unwrap_or(0) + 1..]);
        if name.eq_ignore_ascii_case(b"connection") {
            for token in value.split(|&b| b == b',').map(trim) {
                if token.eq_ignore_ascii_case(b"keep-alive") {
                    req.keep_alive = true;
                } else if token.eq_ignore_ascii_case(b"close") {
                    close = true;
                }
            }
        } else if name.eq_ignore_ascii_case(b"content-length") {
            let n = std::str::from_utf8(value)
                .ok()
                .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or_else(|| bad(format!("Invalid Content-Length: {}", show(value))))?;
            if length.is_some_and(|l| l != n) {
                return Err(bad("Conflicting Content-Length headers".into()));
            }
            length = Some(n);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            req.chunked = true;
        } else if name.eq_ignore_ascii_case(b"expect")
            && value.eq_ignore_ascii_case(b"100-continue")
        {
            req.expect_continue = true;
        }
    }
    req.keep_alive &= !close;
    req.content_length = length.unwrap_or(0);
    Ok(req)
}

fn bad(reason: String) -> Rejection {
    Rejection::BadRequest(reason)
}

/// Header-name characters (RFC 9110 `tchar`).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn trim(v: &[u8]) -> &[u8] {
    let s = v
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
        .unwrap_or(v.len());
    let e = v
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t'))
        .map_or(s, |e| e + 1);
    &v[s..e.max(s)]
}

/// Text for echoing bytes in an error page: lossy UTF-8, at most 200 characters.
fn show(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    if s.chars().count() > 200 {
        s.chars().take(200).chain("...".chars()).collect()
    } else {
        s.into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rstest::rstest;

    fn reason(head: &str) -> String {
        match parse_head(head.as_bytes()) {
            Err(Rejection::BadRequest(r)) => r,
            other => panic!("expected 400, got {other:?}"),
        }
    }

    #[rstest]
    #[case::bad_method("GRT /index.html HTTP/1.1\r\nHost: localhost", "Invalid Method: GRT")]
    #[case::lowercase_method("get / HTTP/1.1", "Invalid Method: get")]
    #[case::patch_not_in_list("PATCH / HTTP/1.1", "Invalid Method: PATCH")]
    #[case::empty_line_garbage("\u{1}\u{2}", "Invalid Method: \u{1}\u{2}")]
    #[case::method_first_even_if_all_bad("FOO bar HTTP/9", "Invalid Method: FOO")]
    #[case::relative_url("GET index.html HTTP/1.1", "Invalid URL: index.html")]
    #[case::absolute_form("GET http://x/ HTTP/1.1", "Invalid URL: http://x/")]
    #[case::no_target("GET", "Invalid URL: (missing)")]
    #[case::url_before_version("GET x HTTP/2.1", "Invalid URL: x")]
    #[case::bad_version("GET /index.html HTTP/2.1", "Invalid HTTP-Version: HTTP/2.1")]
    #[case::lowercase_version("GET / http/1.1", "Invalid HTTP-Version: http/1.1")]
    #[case::no_version("GET /", "Invalid HTTP-Version: (missing)")]
    #[case::extra_word("GET / HTTP/1.1 x", "Malformed request line")]
    #[case::header_without_colon(
        "GET / HTTP/1.1\r\nHost localhost",
        "Malformed header line: Host localhost"
    )]
    #[case::header_space_before_colon("GET / HTTP/1.1\r\nHost : x", "Malformed header line")]
    #[case::folded_header("GET / HTTP/1.1\r\nA: b\r\n c", "Malformed header line")]
    #[case::bad_length("POST / HTTP/1.1\r\nContent-Length: -1", "Invalid Content-Length: -1")]
    #[case::conflicting_length(
        "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2",
        "Conflicting"
    )]
    fn rejected(#[case] head: &str, #[case] expected: &str) {
        let r = reason(head);
        assert!(
            r.starts_with(expected),
            "{r:?} does not start with {expected:?}"
        );
    }

    #[rstest]
    #[case::assignment_style(
        "GET /index.html HTTP/1.1\r\nHost: localhost",
        Method::Get,
        Version::Http11,
        false
    )]
    #[case::bare_lf(
        "HEAD / HTTP/1.0\nConnection: Keep-Alive",
        Method::Head,
        Version::Http10,
        true
    )]
    #[case::token_list(
        "GET / HTTP/1.1\r\nConnection: foo, KEEP-ALIVE",
        Method::Get,
        Version::Http11,
        true
    )]
    #[case::close_wins(
        "GET / HTTP/1.1\r\nConnection: keep-alive, close",
        Method::Get,
        Version::Http11,
        false
    )]
    #[case::options("OPTIONS /x HTTP/1.1", Method::Options, Version::Http11, false)]
    #[case::delete("DELETE /x HTTP/1.1", Method::Delete, Version::Http11, false)]
    fn accepted(#[case] head: &str, #[case] m: Method, #[case] v: Version, #[case] ka: bool) {
        let r = parse_head(head.as_bytes()).unwrap();
        assert_eq!((r.method, r.version, r.keep_alive), (m, v, ka));
    }

    #[rstest]
    #[case::crlf(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nNEXT", 0, 24, 27)]
    #[case::bare_lf(b"GET / HTTP/1.1\r\nHost: a\r\n\nNEXT", 0, 24, 26)]
    #[case::all_lf(b"GET / HTTP/1.1\nHost: a\n\n", 0, 22, 24)]
    #[case::leading_blank_lines(b"\r\n\r\nGET / HTTP/1.1\r\n\r\n", 4, 19, 22)]
    fn scan_complete(#[case] buf: &[u8], #[case] s: usize, #[case] e: usize, #[case] n: usize) {
        assert_eq!(
            scan_head(buf, 0),
            Scan::Complete {
                start: s,
                end: e,
                next: n
            }
        );
    }

    #[test]
    fn scan_partial_and_limits() {
        assert!(matches!(
            scan_head(b"GET / HTTP/1.1\r\nHost: a\r\n", 0),
            Scan::Partial { .. }
        ));
        assert!(matches!(
            scan_head(b"GET / HTTP/1.1\r\n\r", 0),
            Scan::Partial { .. }
        ));
        let long = vec![b'a'; MAX_REQUEST_LINE + 2];
        assert_eq!(scan_head(&long, 0), Scan::Reject(Rejection::LineTooLong));
        let mut big = b"GET / HTTP/1.1\r\n".to_vec();
        while big.len() <= MAX_HEAD {
            big.extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
        assert_eq!(scan_head(&big, 0), Scan::Reject(Rejection::HeadTooLarge));
        let many: String = (0..=MAX_HEADERS).map(|i| format!("\nX-{i}: y")).collect();
        assert_eq!(
            parse_head(format!("GET / HTTP/1.1{many}").as_bytes()),
            Err(Rejection::HeadTooLarge)
        );
    }

    #[test]
    fn scan_resumes_where_it_stopped() {
        let full = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        let mut resume = 0;
        for n in 1..full.len() {
            match scan_head(&full[..n], resume) {
                Scan::Partial { resume: r } => resume = r,
                other => panic!("at {n}: {other:?}"),
            }
        }
        assert_eq!(
            scan_head(full, resume),
            Scan::Complete {
                start: 0,
                end: 24,
                next: 27
            }
        );
    }

    proptest! {
        #[test]
        fn parser_is_total(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            // Never panics, and every input is classified one way or the other.
            let _ = parse_head(&bytes);
            match scan_head(&bytes, 0) {
                Scan::Complete { start, end, next } => {
                    prop_assert!(start <= end && end < next && next <= bytes.len());
                    let _ = parse_head(&bytes[start..end]);
                }
                Scan::Partial { resume } => prop_assert!(resume <= bytes.len()),
                Scan::Reject(_) => {}
            }
        }

        #[test]
        fn request_like_input_is_total(
            method in "[A-Z]{0,8}", target in "[ -~]{0,20}", version in "HTTP/[0-9.]{0,4}",
            headers in proptest::collection::vec("[ -~]{0,30}", 0..5),
        ) {
            let head = format!("{method} {target} {version}\r\n{}", headers.join("\r\n"));
            let _ = parse_head(head.as_bytes());
        }
    }
}
