//! A worker thread about to block says so, so that the pool can keep another one waiting for
//! the other connections (the worker pool, `pool.rs`).
//!
//! Workers block only where a client sets the pace: reading a request body, writing a
//! response the client does not read fast enough, and the accepting worker waiting for an
//! evicted connection to leave. Each such place calls [`before`] first. Writes try without
//! waiting first ([`send_all`]), so a response that fits in the socket never announces.

use std::cell::RefCell;
use std::io::{self, Write};
use std::net::TcpStream;
use std::os::unix::io::AsRawFd;
use std::sync::Arc;

thread_local! {
    static HOOK: RefCell<Option<Arc<dyn Fn() + Send + Sync>>> = const { RefCell::new(None) };
}

/// Makes `hook` the thread's answer to [`before`] (the pool gives each worker one).
pub fn set_hook(hook: Arc<dyn Fn() + Send + Sync>) {
    HOOK.with(|h| *h.borrow_mut() = Some(hook));
}

/// Called before something that may wait for a client for long.
pub fn before() {
    HOOK.with(|h| {
        if let Some(hook) = &*h.borrow() {
            hook();
        }
    });
}

/// Writes all of `bytes`: first what the socket takes at once, then, if any is left, after
/// [`before`], waiting (up to the socket's write timeout).
pub fn send_all(sock: &mut TcpStream, bytes: &[u8]) -> io::Result<()> {
    send_parts(sock, bytes, &[], false)
}

/// [`send_all`] of `first` then `second`, with one system call when they fit. `more`: more
/// follows at once (a file's bytes, or the end of the connection), so the bytes may wait
/// in the socket to leave with it (`MSG_MORE`): an answer and the connection's end then
/// travel in one packet, a head with the start of its file.
pub fn send_parts(sock: &mut TcpStream, first: &[u8], second: &[u8], more: bool) -> io::Result<()> {
    let flags = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL | if more { libc::MSG_MORE } else { 0 };
    let total = first.len() + second.len();
    let mut sent = 0;
    while sent < total {
        let (a, b) = if sent < first.len() {
            (&first[sent..], second)
        } else {
            (&second[sent - first.len()..], &[][..])
        };
        let mut iov = [
            libc::iovec {
                iov_base: a.as_ptr() as *mut libc::c_void,
                iov_len: a.len(),
            },
            libc::iovec {
                iov_base: b.as_ptr() as *mut libc::c_void,
                iov_len: b.len(),
            },
        ];
        // SAFETY: a zeroed msghdr is valid; it points at `iov`, which lives across the call.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = iov.as_mut_ptr();
        msg.msg_iovlen = if b.is_empty() { 1 } else { 2 };
        // SAFETY: `msg` and the buffers it points at are valid.
        let n = unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, flags) };
        if n >= 0 {
            sent += n as usize;
            continue;
        }
        let e = io::Error::last_os_error();
        match e.kind() {
            io::ErrorKind::Interrupted => {}
            io::ErrorKind::WouldBlock => {
                before();
                if sent < first.len() {
                    sock.write_all(&first[sent..])?;
                    return sock.write_all(second);
                }
                return sock.write_all(&second[sent - first.len()..]);
            }
            _ => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn a_write_that_must_wait_announces_itself_and_one_that_fits_does_not() {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        set_hook(Arc::new(move || {
            c.fetch_add(1, Ordering::SeqCst);
        }));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut sock = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut peer, _) = listener.accept().unwrap();
        send_all(&mut sock, b"small").unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        // More than the socket buffers hold while the peer reads nothing: the write waits
        // until the reader below drains it.
        let big = vec![7u8; 64 << 20];
        let reader = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(200));
            let mut got = 0;
            let mut buf = vec![0u8; 1 << 16];
            while got < 5 + (64 << 20) {
                got += std::io::Read::read(&mut peer, &mut buf).unwrap();
            }
        });
        send_all(&mut sock, &big).unwrap();
        reader.join().unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
