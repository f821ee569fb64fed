//! Sending the recorded request and watching what comes back: the response (read by the
//! harness's own reader, `exec::response::parse_response`, over an `exec::conn::Conn`), then
//! the connection's fate: closed by the server, or still open and answering a probe, the way
//! the `closed within` and `open for` steps will judge it.

use std::time::{Duration, Instant};

use anyhow::bail;

use crate::exec::conn::{describe_io, Conn, End, Read1, Recorder};
use crate::exec::response::{
    could_be_status_line, describe_incomplete, excerpt, parse_response, read_what_arrived, Parsed,
    Response,
};
use crate::exec::Target;

/// How long the server's close is watched for after the response; a connection still open
/// then is probed, and the case says `open for` [`OPEN_FOR`], a second clear of what was seen.
pub const WATCH: Duration = Duration::from_secs(2);
/// What the case's `open for` step waits before its probe.
pub const OPEN_FOR: Duration = Duration::from_secs(1);
/// How long the probe's response is awaited (as the `open` step does).
pub const PROBE_WAIT: Duration = crate::exec::PROBE_TIMEOUT;
/// The most read from the server (a larger response is an error).
const CAP: usize = 64 << 20;

/// How the recording is made.
#[derive(Debug, Clone)]
pub struct Settings {
    pub target: Target,
    /// The longest wait for the response.
    pub wait: Duration,
    pub connect_timeout: Duration,
}

/// What came back.
#[derive(Debug)]
pub struct Capture {
    /// The final response (interim ones skipped), or `None` when the server closed first.
    pub response: Option<Response>,
    /// When the last byte of the response arrived, after the request was sent.
    pub took: Duration,
    /// Interim (1xx) responses skipped before it, as their status lines.
    pub interim: Vec<String>,
    pub fate: Fate,
}

/// What the server did with the connection after its response.
#[derive(Debug, Clone, PartialEq)]
pub enum Fate {
    /// It closed (FIN or RST) this long after the response.
    Closed { after: Duration, end: End },
    /// Still open after [`WATCH`], and a probe sent then was answered.
    Open,
    /// Not known, and not checked by the case: why.
    Unknown(String),
}

/// Connects, sends `request`, reads the response and watches the connection's fate.
pub fn capture(request: &[u8], head: bool, s: &Settings) -> anyhow::Result<Capture> {
    let mut rec = Recorder::new(Instant::now());
    let t = &s.target;
    let mut conn =
        Conn::open("main", &t.host, t.port, s.connect_timeout, CAP, &mut rec).map_err(|e| {
            anyhow::anyhow!(
                "cannot connect to {t}: {}; is the server running there?",
                describe_io(&e)
            )
        })?;
    let sent_at = Instant::now();
    conn.send(request, sent_at + s.wait, &mut rec)
        .map_err(|e| anyhow::anyhow!("sending the request to {t}: {}", describe_io(&e)))?;
    let deadline = sent_at + s.wait;
    let mut interim = Vec::new();
    loop {
        let Some(got) = read_one(&mut conn, &mut rec, head, deadline, s)? else {
            let after = conn
                .ended
                .map(|(_, at)| at.saturating_duration_since(sent_at));
            let end = conn.ended.map_or(End::Fin, |(e, _)| e);
            return Ok(Capture {
                response: None,
                took: after.unwrap_or_default(),
                interim,
                fate: Fate::Closed {
                    after: Duration::ZERO,
                    end,
                },
            });
        };
        let (response, last_byte) = got;
        if response.is_interim() {
            interim.push(response.status_line.clone());
            continue;
        }
        let took = last_byte.saturating_duration_since(sent_at);
        let fate = if response.unfinished.is_some() {
            Fate::Unknown("the body never ended, so what followed it cannot be told apart".into())
        } else {
            watch(&mut conn, &mut rec, s)
        };
        return Ok(Capture {
            response: Some(response),
            took,
            interim,
            fate,
        });
    }
}

/// Reads one response by its framing before `deadline`, with the time its last byte arrived.
/// `None`: the server closed (or reset) the connection before sending a byte.
fn read_one(
    conn: &mut Conn,
    rec: &mut Recorder,
    head: bool,
    deadline: Instant,
    s: &Settings,
) -> anyhow::Result<Option<(Response, Instant)>> {
    let mut last = Instant::now();
    loop {
        let ended = conn.ended.is_some();
        match parse_response(&conn.buf, ended, head) {
            Parsed::Complete { response, consumed } => {
                conn.consume(consumed);
                return Ok(Some((response, last)));
            }
            Parsed::Malformed { .. } if ended && conn.buf.is_empty() => return Ok(None),
            Parsed::Malformed { why } => bail!(
                "the answer of {} cannot be read as an HTTP response: {why}",
                s.target
            ),
            Parsed::Incomplete => {}
        }
        match conn.read_some(deadline, rec) {
            Read1::Data(_) => last = Instant::now(),
            Read1::Ended(_) => {}
            Read1::Timeout => {
                if let Some(r) = read_what_arrived(&conn.buf, head) {
                    let all = conn.buf.len();
                    conn.consume(all);
                    return Ok(Some((r, last)));
                }
                let what = describe_incomplete(&conn.buf, head);
                bail!(
                    "no response from {} within {}s: {what}; give the server longer with --wait, \
                     and check that the request ends with an empty line",
                    s.target,
                    s.wait.as_secs_f64()
                );
            }
            Read1::Failed(e) => bail!("reading from {}: {e}", s.target),
        }
        if conn.buf.len() >= CAP {
            bail!(
                "more than {} MiB came back from {}: too large to record",
                CAP >> 20,
                s.target
            );
        }
    }
}

/// Watches the connection for [`WATCH`] after the response: a close, bytes that start another
/// response (the fate is then not recorded), or neither, when a probe tells whether it still
/// serves requests. NUL and blank bytes are padding of the response and do not count.
fn watch(conn: &mut Conn, rec: &mut Recorder, s: &Settings) -> Fate {
    let t0 = Instant::now();
    let until = t0 + WATCH;
    loop {
        if could_be_status_line(&conn.buf) {
            return Fate::Unknown(format!(
                "more came after the response (the answer to a second request? record one \
                 request at a time): \"{}\"",
                excerpt(&conn.buf, 60)
            ));
        }
        let junk = conn.buf.len();
        conn.consume(junk);
        if let Some((end, at)) = conn.ended {
            let after = at.saturating_duration_since(t0);
            return Fate::Closed { after, end };
        }
        match conn.read_some(until, rec) {
            Read1::Data(_) | Read1::Ended(_) => {}
            Read1::Timeout => return probe(conn, rec, s),
            Read1::Failed(e) => return Fate::Unknown(format!("reading after the response: {e}")),
        }
    }
}

/// Sends the `open` step's default probe and reads its answer: [`Fate::Open`] when it comes.
fn probe(conn: &mut Conn, rec: &mut Recorder, s: &Settings) -> Fate {
    let probe = default_probe(&s.target.host);
    let deadline = Instant::now() + PROBE_WAIT;
    if let Err(e) = conn.send(&probe, deadline, rec) {
        return Fate::Unknown(format!(
            "the connection stayed open {}s, but a probe could not be sent on it ({})",
            WATCH.as_secs(),
            describe_io(&e)
        ));
    }
    let silent = |why: String| {
        Fate::Unknown(format!(
            "the connection stayed open {}s, but a probe request sent on it then got no answer ({why})",
            WATCH.as_secs()
        ))
    };
    loop {
        let ended = conn.ended.is_some();
        match parse_response(&conn.buf, ended, false) {
            Parsed::Complete { .. } => return Fate::Open,
            Parsed::Malformed { why } => return silent(why),
            Parsed::Incomplete => {}
        }
        match conn.read_some(deadline, rec) {
            Read1::Data(_) | Read1::Ended(_) => {}
            Read1::Timeout => return silent(format!("none within {}s", PROBE_WAIT.as_secs())),
            Read1::Failed(e) => return silent(e),
        }
    }
}

/// The request an `open` step sends when it has no block (see `cases/README.md`, Steps).
pub fn default_probe(host: &str) -> Vec<u8> {
    format!("GET /index.html HTTP/1.1\r\nHost: {host}\r\nConnection: keep-alive\r\n\r\n")
        .into_bytes()
}
