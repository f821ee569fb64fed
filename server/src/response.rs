//! Writing responses: status lines, the headers every response carries, error pages (with
//! HTML escaping of whatever they echo), and file bodies (small ones in the same write as the
//! head, large ones streamed by the kernel with `sendfile(2)`).

use std::fs::File;
use std::io;
use std::net::TcpStream;
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;

use crate::blocking::send_parts;

/// Files up to this size are sent in one write together with the head.
const INLINE_LIMIT: u64 = crate::cache::MAX_FILE;

pub const SERVER_NAME: &str = concat!("ws-reference/", env!("CARGO_PKG_VERSION"));

/// Every status this server can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    MovedPermanently,
    NotModified,
    BadRequest,
    Forbidden,
    NotFound,
    RequestTimeout,
    PreconditionFailed,
    PayloadTooLarge,
    UriTooLong,
    HeaderFieldsTooLarge,
    InternalServerError,
    NotImplemented,
    ServiceUnavailable,
}

impl Status {
    pub fn code(self) -> u16 {
        match self {
            Status::Ok => 200,
            Status::MovedPermanently => 301,
            Status::NotModified => 304,
            Status::BadRequest => 400,
            Status::Forbidden => 403,
            Status::NotFound => 404,
            Status::RequestTimeout => 408,
            Status::PreconditionFailed => 412,
            Status::PayloadTooLarge => 413,
            Status::UriTooLong => 414,
            Status::HeaderFieldsTooLarge => 431,
            Status::InternalServerError => 500,
            Status::NotImplemented => 501,
            Status::ServiceUnavailable => 503,
        }
    }

    pub fn reason(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::MovedPermanently => "Moved Permanently",
            Status::NotModified => "Not Modified",
            Status::BadRequest => "Bad Request",
            Status::Forbidden => "Forbidden",
            Status::NotFound => "Not Found",
            Status::RequestTimeout => "Request Timeout",
            Status::PreconditionFailed => "Precondition Failed",
            Status::PayloadTooLarge => "Payload Too Large",
            Status::UriTooLong => "URI Too Long",
            Status::HeaderFieldsTooLarge => "Request Header Fields Too Large",
            Status::InternalServerError => "Internal Server Error",
            Status::NotImplemented => "Not Implemented",
            Status::ServiceUnavailable => "Service Unavailable",
        }
    }
}

/// How the connection continues after this response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persist {
    /// `Connection: keep-alive`, with the idle timeout in seconds.
    KeepAlive(u64),
    Close,
}

/// Appends a complete head to `out`: status line, `Date`, `Server`, the given extra headers,
/// `Content-Length`, `Connection`, blank line.
pub fn head(out: &mut Vec<u8>, status: Status, extra: &[(&str, &str)], len: u64, persist: Persist) {
    let mut line = itoa_buf();
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(fmt_u64(&mut line, status.code() as u64));
    out.push(b' ');
    out.extend_from_slice(status.reason().as_bytes());
    out.extend_from_slice(b"\r\nDate: ");
    crate::log::with_http_date(|d| out.extend_from_slice(d.as_bytes()));
    out.extend_from_slice(b"\r\nServer: ");
    out.extend_from_slice(SERVER_NAME.as_bytes());
    for (name, value) in extra {
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
    }
    out.extend_from_slice(b"\r\nContent-Length: ");
    out.extend_from_slice(fmt_u64(&mut line, len));
    match persist {
        Persist::KeepAlive(secs) => {
            out.extend_from_slice(b"\r\nConnection: keep-alive\r\nKeep-Alive: timeout=");
            out.extend_from_slice(fmt_u64(&mut line, secs));
        }
        Persist::Close => out.extend_from_slice(b"\r\nConnection: close"),
    }
    out.extend_from_slice(b"\r\n\r\n");
}

/// Appends a small HTML error page (head and body, or head only for HEAD). The `detail` is
/// escaped; it appears as `Reason: <detail>`. Returns the body length.
pub fn error_page(
    out: &mut Vec<u8>,
    status: Status,
    detail: &str,
    persist: Persist,
    body: bool,
) -> u64 {
    error_page_with(out, status, detail, &[], persist, body)
}

/// [`error_page`] with extra headers (e.g. `Location`, `Allow`).
pub fn error_page_with(
    out: &mut Vec<u8>,
    status: Status,
    detail: &str,
    extra: &[(&str, &str)],
    persist: Persist,
    body: bool,
) -> u64 {
    let title = format!("{} {}", status.code(), status.reason());
    let page = format!(
        "<!DOCTYPE html>\n<html><head><title>{title}</title></head><body><h1>{title}</h1><p>Reason: {}</p></body></html>\n",
        escape_html(detail)
    );
    let mut headers = vec![("Content-Type", "text/html; charset=utf-8")];
    headers.extend_from_slice(extra);
    head(out, status, &headers, page.len() as u64, persist);
    if body {
        out.extend_from_slice(page.as_bytes());
    }
    page.len() as u64
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push_str(&format!("&#{};", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// What [`send_file`] managed to send.
#[derive(Debug)]
pub enum Sent {
    /// The head and the whole body.
    All,
    /// Nothing: the file could not be read before the head went out (e.g. it shrank); the
    /// caller answers 500 instead.
    Nothing(io::Error),
    /// The head and the start of a large body: the socket is full (and left non-blocking);
    /// the rest follows when it has room again.
    Started(Streaming),
}

/// The rest of a large file's body, streamed by the kernel with `sendfile(2)` as the
/// socket has room (it never waits for it).
#[derive(Debug)]
pub struct Streaming {
    file: File,
    offset: u64,
    len: u64,
}

impl Streaming {
    /// The body bytes sent so far.
    pub fn sent(&self) -> u64 {
        self.offset
    }

    /// Sends what the socket takes now (on a blocking socket: all of it). `Ok(true)`: the
    /// whole body is out; `Ok(false)`: the socket is full, call again when it has room. If
    /// the file ends early, fails, so that the caller drops the connection (the head promised
    /// `len` bytes).
    pub fn send_more(&mut self, sock: &TcpStream) -> io::Result<bool> {
        while self.offset < self.len {
            let chunk = (self.len - self.offset).min(1 << 30) as usize;
            let mut offset = self.offset as libc::off_t;
            // SAFETY: both descriptors are open for the duration of the call.
            let n = unsafe {
                libc::sendfile(sock.as_raw_fd(), self.file.as_raw_fd(), &mut offset, chunk)
            };
            match n {
                0 => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "file shrank while being sent",
                    ))
                }
                n if n > 0 => self.offset += n as u64,
                _ => {
                    let e = io::Error::last_os_error();
                    match e.kind() {
                        io::ErrorKind::Interrupted => {}
                        io::ErrorKind::WouldBlock => return Ok(false),
                        _ => return Err(e),
                    }
                }
            }
        }
        Ok(true)
    }
}

/// Writes a 200 response for a file: the head (already in `out`) and, when `body` is set,
/// `len` bytes of `file`. Small files are read into `out` after the head (where they stay, for
/// the caller to cache) and go out in a single write with it, so a file that cannot be read
/// whole gets a clean 500 instead ([`Sent::Nothing`]). Larger ones are streamed by the kernel
/// with `sendfile(2)`, never read into memory, their head in the same packet as their first
/// bytes: as much as the socket takes now, the rest returned ([`Sent::Started`]) with the
/// socket left non-blocking, for the connection to wait in epoll for room (no worker
/// blocks on a download). `close`: the connection ends after this response (its end may
/// share the last packet).
pub fn send_file(
    sock: &mut TcpStream,
    out: &mut Vec<u8>,
    file: File,
    len: u64,
    body: bool,
    close: bool,
) -> io::Result<Sent> {
    if !body || len == 0 {
        send_parts(sock, out, &[], close)?;
        return Ok(Sent::All);
    }
    if len <= INLINE_LIMIT {
        let at = out.len();
        out.resize(at + len as usize, 0);
        if let Err(e) = file.read_exact_at(&mut out[at..], 0) {
            out.truncate(at);
            return Ok(Sent::Nothing(e));
        }
        send_parts(sock, out, &[], close)?;
        return Ok(Sent::All);
    }
    send_parts(sock, out, &[], true)?;
    let mut rest = Streaming {
        file,
        offset: 0,
        len,
    };
    sock.set_nonblocking(true)?;
    if rest.send_more(sock)? {
        sock.set_nonblocking(false)?;
        return Ok(Sent::All);
    }
    Ok(Sent::Started(rest))
}

fn itoa_buf() -> [u8; 20] {
    [0; 20]
}

fn fmt_u64(buf: &mut [u8; 20], mut n: u64) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_has_every_required_header() {
        let mut out = Vec::new();
        head(
            &mut out,
            Status::Ok,
            &[("Content-Type", "text/plain")],
            1234,
            Persist::KeepAlive(10),
        );
        let s = String::from_utf8(out).unwrap();
        assert!(s.starts_with("HTTP/1.1 200 OK\r\nDate: "), "{s}");
        assert!(s.contains("\r\nServer: ws-reference/"));
        assert!(s.contains(
            "\r\nContent-Type: text/plain\r\nContent-Length: 1234\r\nConnection: keep-alive\r\n"
        ));
        assert!(s.ends_with("Keep-Alive: timeout=10\r\n\r\n"));
        assert!(!s.replace("\r\n", "").contains('\n'));
    }

    #[test]
    fn error_page_escapes_and_counts() {
        let mut out = Vec::new();
        let n = error_page(
            &mut out,
            Status::NotFound,
            "URL does not exist: /<script>",
            Persist::Close,
            true,
        );
        let s = String::from_utf8(out).unwrap();
        let (h, b) = s.split_once("\r\n\r\n").unwrap();
        assert_eq!(b.len() as u64, n);
        assert!(h.contains(&format!("Content-Length: {n}\r\nConnection: close")));
        assert!(b.contains("Reason: URL does not exist: /&lt;script&gt;"));
        assert!(!b.contains("<script>"));
    }

    #[test]
    fn a_file_shorter_than_its_stat_sends_nothing_so_the_caller_can_answer_500() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut sock = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut peer, _) = listener.accept().unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), b"0123456789").unwrap();
        let open = || File::open(dir.path().join("f")).unwrap();
        let mut out = b"HEAD".to_vec();
        // The file shrank from 20 to 10 bytes after its length was taken.
        let sent = send_file(&mut sock, &mut out, open(), 20, true, false).unwrap();
        assert!(matches!(sent, Sent::Nothing(_)), "{sent:?}");
        assert_eq!(out, b"HEAD", "the head stays unsent");
        let sent = send_file(&mut sock, &mut out, open(), 10, true, false).unwrap();
        assert!(matches!(sent, Sent::All));
        drop(sock);
        let mut got = Vec::new();
        std::io::Read::read_to_end(&mut peer, &mut got).unwrap();
        assert_eq!(got, b"HEAD0123456789");
    }

    #[test]
    fn numbers() {
        let mut b = itoa_buf();
        assert_eq!(fmt_u64(&mut b, 0), b"0");
        assert_eq!(fmt_u64(&mut b, u64::MAX), u64::MAX.to_string().as_bytes());
    }
}
