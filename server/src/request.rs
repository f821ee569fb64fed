//! Reading and classifying a request head: where it ends in the byte stream, the size limits,
//! and the assignment's checks in order (method, URL, version), yielding a [`Request`] or the
//! reason it is a `400 Bad Request`.
//!
//! Everything here is pure (bytes in, values out) so it can be tested exhaustively.

use crate::conditional::Preconditions;

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

/// How the request's body is framed (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `Content-Length: N` (0 when neither header was sent).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A request head that passed the assignment's syntax checks and RFC 9112's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    /// The path and query to serve (starts with `/`, printable ASCII only): the target as sent
    /// in origin form, the part after the authority in absolute form, or `*` for
    /// `OPTIONS *`.
    pub target: String,
    pub version: Version,
    /// `Connection` lists `keep-alive` (and not `close`).
    pub keep_alive: bool,
    /// How the body is framed.
    pub framing: Framing,
    /// `Expect: 100-continue` was sent: the client waits for `100 Continue` before its body.
    pub expect_continue: bool,
    /// `If-Match` and `If-None-Match`, if sent.
    pub preconditions: Preconditions,
}

impl Request {
    /// A placeholder to parse into (allocates nothing).
    pub fn empty() -> Request {
        Request {
            method: Method::Get,
            target: String::new(),
            version: Version::Http11,
            keep_alive: false,
            framing: Framing::Length(0),
            expect_continue: false,
            preconditions: Preconditions::default(),
        }
    }
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
    /// 501, with the reason (a transfer coding this server does not know).
    NotImplemented(String),
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
    let mut req = Request::empty();
    parse_head_into(head, &mut req)?;
    Ok(req)
}

/// [`parse_head`] into an existing [`Request`], reusing its buffers (a connection keeps one
/// for all its requests, so that parsing allocates nothing).
pub fn parse_head_into(head: &[u8], req: &mut Request) -> Result<(), Rejection> {
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
    let (slash, target) = request_target(method, target_b)
        .ok_or_else(|| bad(format!("Invalid URL: {}", show(target_b))))?;
    let version = match version_b {
        Some(b"HTTP/1.1") => Version::Http11,
        Some(b"HTTP/1.0") => Version::Http10,
        Some(v) => return Err(bad(format!("Invalid HTTP-Version: {}", show(v)))),
        None => return Err(bad("Invalid HTTP-Version: (missing)".into())),
    };
    if extra.is_some() {
        return Err(bad(format!("Malformed request line: {}", show(line))));
    }
    let mut fields = Fields::default();
    req.preconditions.clear();
    for (count, line) in lines.enumerate() {
        if count >= MAX_HEADERS {
            return Err(Rejection::HeadTooLarge);
        }
        let (name, value) = field_line(line)?;
        if !req.preconditions.add(name, value) {
            fields.add(name, value)?;
        }
    }
    req.framing = fields.framing(version)?;
    req.method = method;
    // Reuses the target's buffer: no allocation once it is large enough.
    req.target.clear();
    if slash {
        req.target.push('/');
    }
    // Printable ASCII only (checked above), so valid UTF-8.
    req.target
        .push_str(std::str::from_utf8(target).expect("printable ASCII"));
    req.version = version;
    req.keep_alive = fields.keep_alive && !fields.close;
    // RFC 9110 §10.1.1: a 100-continue expectation in an HTTP/1.0 request MUST be
    // ignored (and §15.2: no 1xx to an HTTP/1.0 client).
    req.expect_continue = fields.expect_continue && version == Version::Http11;
    Ok(())
}

/// The path to serve for a request target (RFC 9112 §3.2): origin form `/path?query` as is;
/// absolute form `http://authority/path?query` (a server MUST accept it) as its path, `/`
/// when it has none; `*` only for OPTIONS. Printable ASCII only.
/// Returns the path, and whether a `/` must be put in front of it.
fn request_target(method: Method, target: &[u8]) -> Option<(bool, &[u8])> {
    if !target.iter().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    if target.first() == Some(&b'/') || (target == b"*" && method == Method::Options) {
        return Some((false, target));
    }
    let scheme_end = target.iter().position(|&b| b == b':')?;
    let scheme = &target[..scheme_end];
    if !(scheme.eq_ignore_ascii_case(b"http") || scheme.eq_ignore_ascii_case(b"https")) {
        return None;
    }
    let rest = target[scheme_end + 1..].strip_prefix(b"//")?;
    let path_at = rest
        .iter()
        .position(|&b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let (authority, path) = rest.split_at(path_at);
    if authority.is_empty() || !valid_host(authority) {
        return None;
    }
    // `http://host` or `http://host?q`: the path is `/` (RFC 9110 §4.2.3).
    Some((path.first() != Some(&b'/'), path))
}

/// One header line split into name and value, checked against RFC 9112 §5 and RFC 9110 §5.5:
/// a `tchar` name right before the colon (no space before it, no folded line), and a value of
/// visible characters, spaces, tabs and obs-text only (no NUL, no bare CR, no other control).
pub fn field_line(line: &[u8]) -> Result<(&[u8], &[u8]), Rejection> {
    let colon = line.iter().position(|&b| b == b':');
    let name = colon.map(|c| &line[..c]).unwrap_or(b"");
    if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
        return Err(bad(format!("Malformed header line: {}", show(line))));
    }
    let value = trim(&line[colon.unwrap_or(0) + 1..]);
    if let Some(&c) = value
        .iter()
        .find(|&&b| (b < 0x20 && b != b'\t') || b == 0x7f)
    {
        return Err(bad(format!(
            "Malformed header line: control character 0x{c:02x} in the value of {}",
            show(name)
        )));
    }
    Ok((name, value))
}

/// What the header lines say about framing, persistence, Host and Expect.
#[derive(Default)]
struct Fields {
    keep_alive: bool,
    close: bool,
    hosts: usize,
    length: Option<u64>,
    codings: Vec<String>,
    transfer_encoding: bool,
    expect_continue: bool,
}

impl Fields {
    fn add(&mut self, name: &[u8], value: &[u8]) -> Result<(), Rejection> {
        let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
        if is("connection") {
            for token in list(value) {
                self.keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
                self.close |= token.eq_ignore_ascii_case(b"close");
            }
        } else if is("host") {
            self.hosts += 1;
            if self.hosts > 1 {
                return Err(bad("more than one Host header".into()));
            }
            if !valid_host(value) {
                return Err(bad(format!("Invalid Host: {}", show(value))));
            }
        } else if is("content-length") {
            // A list of identical values is one value (RFC 9110 §8.6); anything else is
            // invalid: signs, spaces inside, differing values.
            for item in value.split(|&b| b == b',').map(trim) {
                let n = std::str::from_utf8(item)
                    .ok()
                    .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|s| s.parse::<u64>().ok())
                    .ok_or_else(|| bad(format!("Invalid Content-Length: {}", show(value))))?;
                if self.length.is_some_and(|l| l != n) {
                    return Err(bad("Conflicting Content-Length headers".into()));
                }
                self.length = Some(n);
            }
        } else if is("transfer-encoding") {
            self.transfer_encoding = true;
            self.codings
                .extend(list(value).map(|c| String::from_utf8_lossy(c).to_ascii_lowercase()));
        } else if is("expect") && value.eq_ignore_ascii_case(b"100-continue") {
            self.expect_continue = true;
        }
        Ok(())
    }

    /// The body's framing (RFC 9112 §6.1, §6.3), after the Host rule (§3.2).
    fn framing(&self, version: Version) -> Result<Framing, Rejection> {
        if version == Version::Http11 && self.hosts == 0 {
            return Err(bad("an HTTP/1.1 request needs a Host header".into()));
        }
        if !self.transfer_encoding {
            return Ok(Framing::Length(self.length.unwrap_or(0)));
        }
        if version == Version::Http10 {
            return Err(bad("Transfer-Encoding in an HTTP/1.0 request".into()));
        }
        if self.length.is_some() {
            return Err(bad(
                "both Transfer-Encoding and Content-Length: the body's length is ambiguous".into(),
            ));
        }
        if self.codings.last().map(String::as_str) != Some("chunked")
            || self.codings.iter().filter(|c| *c == "chunked").count() > 1
        {
            return Err(bad(format!(
                "Transfer-Encoding must end with chunked, once: {}",
                self.codings.join(", ")
            )));
        }
        if let Some(other) = self.codings.iter().find(|c| *c != "chunked") {
            return Err(Rejection::NotImplemented(format!(
                "Transfer coding not supported: {other}"
            )));
        }
        Ok(Framing::Chunked)
    }
}

/// The non-empty elements of a comma-separated list, trimmed.
fn list(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim)
        .filter(|t| !t.is_empty())
}

/// `uri-host [ ":" port ]` (RFC 3986 §3.2.2, §3.2.3): the host of unreserved, percent and
/// sub-delims characters (or an IP literal in brackets), and a port of digits only. Empty is
/// valid (a Host for a URI without authority).
fn valid_host(v: &[u8]) -> bool {
    let (host, port) = match v.iter().rposition(|&b| b == b':' || b == b']') {
        Some(i) if v[i] == b':' => (&v[..i], &v[i + 1..]),
        _ => (v, &b""[..]),
    };
    let host_ok = if host.first() == Some(&b'[') {
        host.last() == Some(&b']')
            && host[1..host.len() - 1]
                .iter()
                .all(|&b| b.is_ascii_hexdigit() || b":.".contains(&b))
    } else {
        host.iter().all(|&b| HOST_CHAR[b as usize])
    };
    host_ok && port.iter().all(u8::is_ascii_digit)
}

fn bad(reason: String) -> Rejection {
    Rejection::BadRequest(reason)
}

/// Header-name characters (RFC 9110 `tchar`).
fn is_tchar(b: u8) -> bool {
    TCHAR[b as usize]
}

/// `tchar`, by byte: letters, digits and `!#$%&'*+-.^_`|~`.
const TCHAR: [bool; 256] = byte_class(b"!#$%&'*+-.^_`|~");
/// The characters of a reg-name host: unreserved, percent and sub-delims.
const HOST_CHAR: [bool; 256] = byte_class(b"-._~%!$&'()*+,;=");

/// A table of the ASCII letters and digits and the bytes of `extra`.
const fn byte_class(extra: &[u8]) -> [bool; 256] {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        table[extra[i] as usize] = true;
        i += 1;
    }
    table
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

    #[test]
    fn the_byte_tables_are_the_rfc_character_sets() {
        for b in 0..=255u8 {
            let alnum = b.is_ascii_alphanumeric();
            assert_eq!(is_tchar(b), alnum || b"!#$%&'*+-.^_`|~".contains(&b), "{b}");
            let host = alnum || b"-._~%!$&'()*+,;=".contains(&b);
            assert_eq!(HOST_CHAR[b as usize], host, "{b}");
        }
    }
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
    #[case::absolute_form_other_scheme("GET ftp://x/ HTTP/1.1", "Invalid URL: ftp://x/")]
    #[case::absolute_form_no_authority("GET http:///x HTTP/1.1", "Invalid URL")]
    #[case::asterisk_not_options("GET * HTTP/1.1", "Invalid URL: *")]
    #[case::no_host("GET / HTTP/1.1", "an HTTP/1.1 request needs a Host")]
    #[case::two_hosts("GET / HTTP/1.1\r\nHost: a\r\nHost: b", "more than one Host")]
    #[case::two_hosts_http10("GET / HTTP/1.0\r\nHost: a\r\nHost: a", "more than one Host")]
    #[case::bad_host("GET / HTTP/1.1\r\nHost: a b", "Invalid Host")]
    #[case::host_with_path("GET / HTTP/1.1\r\nHost: a/b", "Invalid Host")]
    #[case::host_bad_port("GET / HTTP/1.1\r\nHost: a:abc", "Invalid Host")]
    #[case::host_two_colons("GET / HTTP/1.1\r\nHost: a:1:2", "Invalid Host")]
    #[case::nul_in_value("GET / HTTP/1.1\r\nHost: a\r\nX: a\0b", "control character 0x00")]
    #[case::bare_cr_in_value("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb", "control character 0x0d")]
    #[case::plus_length(
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1",
        "Invalid Content-Length"
    )]
    #[case::hex_length(
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x1",
        "Invalid Content-Length"
    )]
    #[case::length_list("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 2", "Conflicting")]
    #[case::te_and_cl(
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3",
        "both Transfer-Encoding and Content-Length"
    )]
    #[case::te_http10("POST / HTTP/1.0\r\nTransfer-Encoding: chunked", "HTTP/1.0")]
    #[case::chunked_not_last(
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip",
        "must end with chunked"
    )]
    #[case::chunked_twice(
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked",
        "must end with chunked"
    )]
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
    #[case::bad_length(
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1",
        "Invalid Content-Length: -1"
    )]
    #[case::conflicting_length(
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2",
        "Conflicting"
    )]
    fn rejected(#[case] head: &str, #[case] expected: &str) {
        let r = reason(head);
        assert!(r.contains(expected), "{r:?} does not contain {expected:?}");
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
        "GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, KEEP-ALIVE",
        Method::Get,
        Version::Http11,
        true
    )]
    #[case::close_wins(
        "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, close",
        Method::Get,
        Version::Http11,
        false
    )]
    #[case::options(
        "OPTIONS /x HTTP/1.1\nHost: a",
        Method::Options,
        Version::Http11,
        false
    )]
    #[case::delete("DELETE /x HTTP/1.1\nHost: a", Method::Delete, Version::Http11, false)]
    fn accepted(#[case] head: &str, #[case] m: Method, #[case] v: Version, #[case] ka: bool) {
        let r = parse_head(head.as_bytes()).unwrap();
        assert_eq!((r.method, r.version, r.keep_alive), (m, v, ka));
    }

    #[rstest]
    #[case::origin("GET /a?b HTTP/1.1\nHost: h", "/a?b")]
    #[case::absolute("GET http://h:80/index.html HTTP/1.1\nHost: h", "/index.html")]
    #[case::absolute_upper_scheme("GET HTTP://h/x?y HTTP/1.1\nHost: h", "/x?y")]
    #[case::absolute_no_path("GET http://h HTTP/1.1\nHost: h", "/")]
    #[case::absolute_query_only("GET https://h?q HTTP/1.1\nHost: h", "/?q")]
    #[case::asterisk("OPTIONS * HTTP/1.1\nHost: h", "*")]
    #[case::http10_needs_no_host("GET /x HTTP/1.0", "/x")]
    #[case::empty_host("GET /x HTTP/1.1\nHost:", "/x")]
    fn targets(#[case] head: &str, #[case] target: &str) {
        assert_eq!(parse_head(head.as_bytes()).unwrap().target, target);
    }

    #[rstest]
    #[case::none("GET / HTTP/1.1\nHost: h", Framing::Length(0))]
    #[case::length("POST / HTTP/1.1\nHost: h\nContent-Length: 12", Framing::Length(12))]
    #[case::same_list("POST / HTTP/1.1\nHost: h\nContent-Length: 5, 5", Framing::Length(5))]
    #[case::chunked(
        "POST / HTTP/1.1\nHost: h\nTransfer-Encoding: Chunked",
        Framing::Chunked
    )]
    #[case::tab_in_value("GET / HTTP/1.1\nHost: h\nX: a\tb", Framing::Length(0))]
    fn framings(#[case] head: &str, #[case] framing: Framing) {
        assert_eq!(parse_head(head.as_bytes()).unwrap().framing, framing);
    }

    #[rstest]
    #[case::http11("POST / HTTP/1.1\nHost: h\nExpect: 100-continue", true)]
    #[case::any_case("POST / HTTP/1.1\nHost: h\nExpect: 100-Continue", true)]
    #[case::http10_ignored("POST / HTTP/1.0\nExpect: 100-continue", false)]
    #[case::other("POST / HTTP/1.1\nHost: h\nExpect: x", false)]
    fn expectations(#[case] head: &str, #[case] expect: bool) {
        assert_eq!(parse_head(head.as_bytes()).unwrap().expect_continue, expect);
    }

    #[test]
    fn preconditions_are_kept_per_request() {
        use crate::conditional::{ETag, Outcome};
        let tag = ETag::new(1, 2, 3);
        let mut req = Request::empty();
        let head = b"GET / HTTP/1.1\nHost: h\nIf-None-Match: \"x\"\nif-none-match: \"1.2-3\"";
        parse_head_into(head, &mut req).unwrap();
        assert_eq!(req.preconditions.outcome(&tag, true), Outcome::NotModified);
        parse_head_into(b"GET / HTTP/1.1\nHost: h\nIf-Match: \"x\"", &mut req).unwrap();
        assert!(matches!(
            req.preconditions.outcome(&tag, true),
            Outcome::Failed(_)
        ));
        parse_head_into(b"GET / HTTP/1.1\nHost: h", &mut req).unwrap();
        assert_eq!(req.preconditions, Preconditions::default());
    }

    #[test]
    fn unknown_codings_are_not_implemented() {
        for te in ["gzip, chunked", "x-foo, chunked"] {
            let head = format!("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: {te}");
            assert!(
                matches!(parse_head(head.as_bytes()), Err(Rejection::NotImplemented(r)) if r.contains("not supported")),
                "{te}"
            );
        }
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
    fn host_values() {
        for ok in [
            "a",
            "example.com:8080",
            "[::1]",
            "[::1]:80",
            "127.0.0.1:0",
            "",
        ] {
            assert!(valid_host(ok.as_bytes()), "{ok:?} is a valid Host");
        }
        for bad in ["[", "[abc", "[::1", "[g::1]", "a b", "a:8x", "a/b"] {
            assert!(!valid_host(bad.as_bytes()), "{bad:?} is not a valid Host");
        }
    }

    #[test]
    fn echoed_bytes_are_cut_after_200_characters() {
        let exactly = "é".repeat(200);
        assert_eq!(show(exactly.as_bytes()), exactly);
        let over = "é".repeat(201);
        assert_eq!(show(over.as_bytes()), format!("{exactly}..."));
        assert_eq!(show(b"a\xffb"), "a\u{fffd}b");
    }

    /// `lead` empty lines, then a request line of `len` bytes before its LF (its CR included).
    fn line_of(lead: usize, len: usize) -> Vec<u8> {
        let mut b = b"\r\n".repeat(lead);
        b.extend_from_slice(b"GET /");
        b.resize(2 * lead + len - 10, b'a');
        b.extend_from_slice(b" HTTP/1.1\r");
        assert_eq!(b.len() - 2 * lead, len);
        b
    }

    #[test]
    fn the_limits_are_exact_and_leading_empty_lines_do_not_count() {
        for lead in [0, 2] {
            let start = 2 * lead;
            // A request line of exactly MAX_REQUEST_LINE bytes is read; one more is 414.
            let mut ok = line_of(lead, MAX_REQUEST_LINE);
            ok.extend_from_slice(b"\n\r\n");
            let end = start + MAX_REQUEST_LINE;
            assert_eq!(
                scan_head(&ok, 0),
                Scan::Complete {
                    start,
                    end,
                    next: ok.len()
                },
                "lead {lead}"
            );
            let mut long = line_of(lead, MAX_REQUEST_LINE + 1);
            long.push(b'\n');
            assert_eq!(scan_head(&long, 0), Scan::Reject(Rejection::LineTooLong));
            // With no LF yet: MAX_REQUEST_LINE bytes may still become a line; one more cannot.
            let waiting = &line_of(lead, MAX_REQUEST_LINE)[..];
            assert!(
                matches!(scan_head(waiting, 0), Scan::Partial { .. }),
                "lead {lead}"
            );
            let over = line_of(lead, MAX_REQUEST_LINE + 1);
            assert_eq!(scan_head(&over, 0), Scan::Reject(Rejection::LineTooLong));

            // A head of MAX_HEAD bytes up to its last LF (its last line's CR counted) is read.
            let mut head = b"\r\n".repeat(lead);
            head.extend_from_slice(b"GET / HTTP/1.1\r\nX: ");
            head.resize(start + MAX_HEAD - 1, b'a');
            let with_end = |h: &[u8]| [h, b"\r\n\r\n"].concat();
            let whole = with_end(&head);
            assert_eq!(
                scan_head(&whole, 0),
                Scan::Complete {
                    start,
                    end: start + MAX_HEAD,
                    next: whole.len()
                },
                "lead {lead}"
            );
            // While it arrives, MAX_HEAD bytes may still end; one more cannot.
            head.push(b'a');
            assert!(
                matches!(scan_head(&head, 0), Scan::Partial { .. }),
                "lead {lead}"
            );
            assert_eq!(
                scan_head(&with_end(&head), 0),
                Scan::Reject(Rejection::HeadTooLarge)
            );
            head.push(b'a');
            assert_eq!(scan_head(&head, 0), Scan::Reject(Rejection::HeadTooLarge));
        }
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
