//! The access log (one Common Log Format line per request on stdout) and the clock strings it
//! and the `Date` header need, cached per thread for the current second.
//!
//! `127.0.0.1 - - [22/Nov/2026:03:13:34 +0000] "GET /index.html HTTP/1.1" 200 1234`
//!
//! Off the hot path: a connection thread only appends its line to a shared buffer; one writer
//! thread writes whatever has gathered with one `write`. While it writes, new lines gather
//! for its next round, so under load one `write` carries many lines, and when idle each line
//! goes out at once (no timer, no delay). [`flush`] writes what is left, in order.

use std::cell::RefCell;
use std::io::Write;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, Once};
use std::time::{SystemTime, UNIX_EPOCH};

struct Clock {
    second: u64,
    http: String,
    clf: String,
}

thread_local! {
    static CLOCK: RefCell<Clock> = const { RefCell::new(Clock { second: u64::MAX, http: String::new(), clf: String::new() }) };
}

fn with_clock<R>(f: impl FnOnce(&Clock) -> R) -> R {
    let now = SystemTime::now();
    let second = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    CLOCK.with(|c| {
        let mut c = c.borrow_mut();
        if c.second != second {
            // Rewritten in place: after the first second, no allocation.
            use std::fmt::Write as _;
            c.second = second;
            c.http.clear();
            let _ = write!(c.http, "{}", httpdate::HttpDate::from(now));
            c.clf.clear();
            write_clf(&mut c.clf, second);
        }
        f(&c)
    })
}

/// Calls `f` with the current time as an HTTP date (`Sun, 22 Nov 2026 03:13:34 GMT`).
pub fn with_http_date<R>(f: impl FnOnce(&str) -> R) -> R {
    with_clock(|c| f(&c.http))
}

/// `22/Nov/2026:03:13:34 +0000` for a Unix time in seconds (UTC).
pub fn clf_date(secs: u64) -> String {
    let mut s = String::new();
    write_clf(&mut s, secs);
    s
}

/// Appends [`clf_date`] to `out`.
fn write_clf(out: &mut String, secs: u64) {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    use std::fmt::Write as _;
    let _ = write!(
        out,
        "{day:02}/{}/{year}:{:02}:{:02}:{:02} +0000",
        MONTHS[(month - 1) as usize],
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    );
}

/// Queues one access-log line for stdout. `request_line` is escaped (quotes, backslashes and
/// non-printable bytes) so that a hostile request cannot forge log lines.
pub fn access(peer: IpAddr, request_line: &[u8], status: u16, bytes: u64) {
    let mut line = String::with_capacity(96 + request_line.len());
    use std::fmt::Write as _;
    let _ = write!(line, "{peer} - - [");
    with_clock(|c| line.push_str(&c.clf));
    line.push_str("] \"");
    for &b in request_line.iter().take(1024) {
        match b {
            b'"' => line.push_str("\\\""),
            b'\\' => line.push_str("\\\\"),
            0x20..=0x7e => line.push(b as char),
            _ => {
                let _ = write!(line, "\\x{b:02x}");
            }
        }
    }
    let _ = writeln!(
        line,
        "\" {status} {}",
        if bytes == 0 {
            "-".to_string()
        } else {
            bytes.to_string()
        }
    );
    queue(line.as_bytes());
}

/// Lines waiting for the writer thread, and whether it sleeps waiting for them.
struct Pending {
    lines: Vec<u8>,
    writer_waits: bool,
}

static PENDING: Mutex<Pending> = Mutex::new(Pending {
    lines: Vec::new(),
    writer_waits: false,
});
/// Wakes the writer when it waits for lines.
static READY: Condvar = Condvar::new();
/// Held while a batch is written, so batches leave in the order they were taken.
static WRITING: Mutex<()> = Mutex::new(());
static WRITER: Once = Once::new();
/// Whether the writer thread runs (else each line is written at once).
static WRITER_RUNS: AtomicBool = AtomicBool::new(false);
/// After a batch, the writer lets lines gather this long: under load, about 50 writes a
/// second carry every line, and no request pays for waking the writer.
const GATHER: std::time::Duration = std::time::Duration::from_millis(20);

fn pending() -> std::sync::MutexGuard<'static, Pending> {
    PENDING.lock().unwrap_or_else(|e| e.into_inner())
}

fn queue(line: &[u8]) {
    WRITER.call_once(|| {
        let spawned = std::thread::Builder::new()
            .name("access-log".into())
            .spawn(|| loop {
                wait_for_lines();
                write_batch();
                std::thread::sleep(GATHER);
            });
        match spawned {
            Ok(_) => WRITER_RUNS.store(true, Ordering::Relaxed),
            Err(e) => {
                eprintln!("error: cannot start the access-log thread ({e}); logging directly")
            }
        }
    });
    let mut p = pending();
    p.lines.extend_from_slice(line);
    let wake = std::mem::take(&mut p.writer_waits);
    drop(p);
    if !WRITER_RUNS.load(Ordering::Relaxed) {
        write_batch();
    } else if wake {
        READY.notify_one();
    }
}

fn wait_for_lines() {
    let mut p = pending();
    while p.lines.is_empty() {
        p.writer_waits = true;
        p = READY.wait(p).unwrap_or_else(|e| e.into_inner());
    }
    p.writer_waits = false;
}

/// Takes every pending line and writes them to stdout in one `write`.
fn write_batch() {
    let _order = WRITING.lock().unwrap_or_else(|e| e.into_inner());
    let batch = std::mem::take(&mut pending().lines);
    if !batch.is_empty() {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(&batch);
        let _ = out.flush();
    }
}

/// Writes every queued line now (at shutdown).
pub fn flush() {
    write_batch();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clf_dates() {
        assert_eq!(clf_date(0), "01/Jan/1970:00:00:00 +0000");
        assert_eq!(clf_date(951_782_400), "29/Feb/2000:00:00:00 +0000");
        assert_eq!(clf_date(1_795_317_214), "22/Nov/2026:03:13:34 +0000");
    }
}
