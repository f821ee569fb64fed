//! A worker thread about to block says so, so that the pool can keep another one waiting for
//! the other connections (see [`crate::pool`]).
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
    let mut sent = 0;
    while sent < bytes.len() {
        let rest = &bytes[sent..];
        // SAFETY: `rest` is valid for its length.
        let n = unsafe {
            libc::send(
                sock.as_raw_fd(),
                rest.as_ptr().cast(),
                rest.len(),
                libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
            )
        };
        if n >= 0 {
            sent += n as usize;
            continue;
        }
        let e = io::Error::last_os_error();
        match e.kind() {
            io::ErrorKind::Interrupted => {}
            io::ErrorKind::WouldBlock => {
                before();
                return sock.write_all(&bytes[sent..]);
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
