//! What one case's run holds while its steps run: the connections and what each has seen,
//! the responses read and their trailing bytes, the reasons found so far, and how a step halts
//! the case. The steps (`steps.rs`, `interim.rs`) act on it; `runner.rs` starts it and turns
//! it into a verdict.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::case::Case;
use crate::form::{Defect, FormRule};

use super::conn::{describe_io, Conn, Recorder};
use super::plan::{step_name, Act, Planned};
use super::requests::Requests;
use super::response::trailing::Trailing;
use super::response::{Framing, Response};
use super::RunOptions;

/// How long a probe request (`open ... for D`) may take to be answered.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// `10s`, `250ms`, `1.5s`.
pub fn fmt_dur(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        let s = format!("{:.3}", d.as_secs_f64());
        format!("{}s", s.trim_end_matches('0').trim_end_matches('.'))
    }
}

/// An elapsed time in messages: `1.2s`, or `40ms` under a tenth of a second.
pub fn fmt_elapsed(d: Duration) -> String {
    if d < Duration::from_millis(100) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

pub(super) struct ConnState {
    pub(super) conn: Conn,
    pub(super) requests: Requests,
    /// Final (non-1xx) responses read so far.
    pub(super) finals: usize,
    /// The last response read on it (an index into `Run::responses`).
    pub(super) prev_response: Option<usize>,
    /// Whether we wrote since that response.
    pub(super) sent_since_response: bool,
    /// When that response was complete: it settles [`super::response::trailing::SETTLE`] later.
    pub(super) answered_at: Option<std::time::Instant>,
    /// A write that failed because the server closed or reset, not yet explained by a later
    /// step (a `closed` step, or a response read anyway).
    pub(super) send_error: Option<String>,
    /// The line of the `close` step that closed it.
    pub(super) closed_at_line: Option<usize>,
    /// Discarded bytes (over the cap) already counted against a response.
    pub(super) discard_seen: usize,
}

/// A response read, for the verdict: its defects (more may be added later, for extra bytes).
pub(super) struct ResponseRecord {
    pub(super) line: usize,
    pub(super) probe: bool,
    pub(super) framing: Framing,
    pub(super) defects: Vec<Defect>,
    /// The form rules this case grades on this response (`form RULE`): their defects fail it.
    pub(super) strict_rules: Vec<FormRule>,
    /// What arrived after it before anything more was sent.
    pub(super) trailing: Trailing,
    /// Its request carried a body (so text after it is that body, answered as a request).
    pub(super) after_body: bool,
}

impl ResponseRecord {
    /// Its defects of form, those of its trailing bytes included.
    pub(super) fn all_defects(&self) -> Vec<Defect> {
        let mut d = self.defects.clone();
        if !self.after_body {
            d.extend(self.trailing.defect(self.framing));
        }
        d
    }

    /// The failure of a request body answered as a request, if that is what followed it.
    pub(super) fn body_answered(&self) -> Option<String> {
        self.after_body
            .then(|| self.trailing.body_answered())
            .flatten()
            .map(|why| format!("line {}: {why}", self.line))
    }
}

pub(super) struct Reason {
    pub(super) line: usize,
    pub(super) strict: bool,
    pub(super) text: String,
}

/// Why the case stopped early.
pub(super) enum Halt {
    Fail,
    Error,
}

pub(super) enum Got {
    Resp(Response),
    Failed(String),
    TimedOut(String),
}

pub(super) struct Run<'a> {
    pub(super) case: &'a Case,
    pub(super) opts: &'a RunOptions,
    pub(super) start: Instant,
    /// The case's `timeout:`, evaluated for this run.
    pub(super) timeout: Duration,
    pub(super) deadline: Instant,
    pub(super) rec: Recorder,
    pub(super) conns: BTreeMap<String, ConnState>,
    pub(super) first_conn: Option<String>,
    /// What the first connection sent, once it has been closed and opened again.
    pub(super) first_sent: Option<Vec<u8>>,
    pub(super) responses: Vec<ResponseRecord>,
    pub(super) reasons: Vec<Reason>,
}

impl<'a> Run<'a> {
    pub(super) fn fail(&mut self, line: usize, text: String) -> Halt {
        self.reasons.push(Reason {
            line,
            strict: true,
            text,
        });
        Halt::Fail
    }

    pub(super) fn error(&mut self, line: usize, text: String) -> Halt {
        self.reasons.push(Reason {
            line,
            strict: true,
            text,
        });
        Halt::Error
    }

    /// `now + d`, bounded by the case deadline: (deadline, whether the case's bounds it).
    pub(super) fn bound(&self, d: Option<Duration>) -> (Instant, bool) {
        let own = d.and_then(|d| Instant::now().checked_add(d));
        match own {
            Some(t) if t <= self.deadline => (t, false),
            _ => (self.deadline, true),
        }
    }

    pub(super) fn timed_out(&mut self, p: &Planned, what: &str) -> Halt {
        let text = format!(
            "case timed out after {} during `{}` at line {}: {what}",
            fmt_dur(self.timeout),
            step_name(&p.step.kind),
            p.step.line
        );
        self.fail(p.step.line, text)
    }

    /// The connection the step names, opened if needed.
    pub(super) fn conn(&mut self, p: &Planned) -> Result<&mut ConnState, Halt> {
        let name = p.step.conn.clone();
        let line = p.step.line;
        if let Some(cs) = self.conns.get(&name) {
            if let Some(at) = cs.closed_at_line {
                if !matches!(p.act, Act::Connect) {
                    return Err(self.error(
                        line,
                        format!("line {line}: @{name} is used after it was closed at line {at} (use `connect @{name}` to open it again)"),
                    ));
                }
            } else {
                return Ok(self.conns.get_mut(&name).unwrap());
            }
        }
        let (limit, _) = self.bound(Some(self.opts.connect_timeout));
        let timeout = limit
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        let t = &self.opts.target;
        match Conn::open(
            &name,
            &t.host,
            t.port,
            timeout,
            self.opts.max_response_bytes,
            &mut self.rec,
        ) {
            Ok(conn) => {
                if self.first_conn.is_none() {
                    self.first_conn = Some(name.clone());
                }
                let cs = ConnState {
                    conn,
                    requests: Requests::default(),
                    finals: 0,
                    prev_response: None,
                    sent_since_response: false,
                    answered_at: None,
                    send_error: None,
                    closed_at_line: None,
                    discard_seen: 0,
                };
                // The reproducer replays the first connection as it was first opened.
                if let Some(old) = self.conns.insert(name.clone(), cs) {
                    if self.first_conn.as_deref() == Some(name.as_str())
                        && self.first_sent.is_none()
                    {
                        self.first_sent = Some(old.conn.sent);
                    }
                }
                Ok(self.conns.get_mut(&name).unwrap())
            }
            Err(e) => {
                let why = describe_io(&e);
                self.rec.note(&name, format!("could not connect: {why}"));
                if self.first_conn.is_none() {
                    Err(self.error(line, format!("could not connect to {t}: {why}")))
                } else {
                    Err(self.fail(
                        line,
                        format!("line {line}: could not open @{name} to {t}: {why}"),
                    ))
                }
            }
        }
    }
}

/// How much of what waits after the last response [`Run::settle`] takes as its trailing bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Settle {
    /// Before a send, a close or the end of the case: once every request sent was answered,
    /// wait until the last response has settled ([`super::response::trailing::SETTLE`]), then take everything.
    Full,
    /// Before reading or watching the connection: take, without waiting, only what cannot be
    /// the start of another response (padding before the next pipelined answer).
    Padding,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(fmt_dur(Duration::from_secs(10)), "10s");
        assert_eq!(fmt_dur(Duration::from_millis(250)), "250ms");
        assert_eq!(fmt_dur(Duration::from_millis(1500)), "1.5s");
        assert_eq!(fmt_elapsed(Duration::from_millis(1234)), "1.2s");
        assert_eq!(fmt_elapsed(Duration::from_millis(40)), "40ms");
    }
}
