//! Running one case: its steps in order over named connections, under the case's overall
//! timeout, and the verdict, messages, transcript and reproducer that come of it.
//!
//! The case is first *planned*: templates rendered, durations evaluated, regexes compiled and
//! `body file`s read, so that an unknown variable or a missing file is an error before a byte
//! is sent. Then each step runs (semantics: `cases/README.md`); the first failing step ends the
//! case. Verdict: a missed strict check, an unreadable response or a failed step is `fail`;
//! otherwise a missed `non-strict` check or any form defect of a response read is
//! `non-strict`; otherwise `pass`.
//!
//! Bytes that arrive after a framed response, before we send anything more on the connection,
//! and that cannot be the start of another response (NULs, blank lines, a body sent after a
//! `HEAD` response) are counted against that response ("4096 extra bytes (NUL) after the
//! body"), never read as the next response nor as a failure of a later `closed` step.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::case::{Case, Level, Step, StepKind};
use crate::outcome::{CaseResult, Verdict};

use super::check::{evaluate, resolve, Expect};
use super::conn::{describe_io, Conn, End, Read1, Recorder};
use super::response::{could_be_status_line, describe_incomplete, excerpt, parse_response, Framing, Parsed, Response};
use super::{skipped, RunOptions};

/// How long a probe request (`open ... for D`) may take to be answered.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// The most bytes a `printf '...' | nc` reproducer replays.
pub const REPRODUCER_CAP: usize = 256 * 1024;

/// A step with everything resolved for this run.
#[derive(Debug)]
enum Act {
    Connect,
    Send { data: Vec<u8>, split: Option<usize>, delay: Duration },
    Sleep(Duration),
    Shutdown,
    Close,
    Response { within: Option<Duration>, checks: Vec<Expect> },
    NoResponse(Duration),
    Closed { after: Option<Duration>, within: Duration },
    Open { for_: Duration, probe: Vec<u8> },
}

struct Planned<'a> {
    step: &'a Step,
    act: Act,
}

fn step_name(k: &StepKind) -> &'static str {
    match k {
        StepKind::Connect => "connect",
        StepKind::Send { .. } => "send",
        StepKind::Sleep(_) => "sleep",
        StepKind::Shutdown => "shutdown",
        StepKind::Close => "close",
        StepKind::Response { .. } => "response",
        StepKind::NoResponse { .. } => "no response",
        StepKind::Closed { .. } => "closed",
        StepKind::Open { .. } => "open",
    }
}

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

/// Bytes escaped for a shell's `printf '...'`: `%` doubled, `\` doubled, `'` closed and
/// reopened, CR LF TAB as `\r \n \t`, any other non-printable byte as a three-digit octal
/// escape (POSIX printf has no `\x`).
pub fn printf_escape(data: &[u8]) -> String {
    let mut s = String::with_capacity(data.len());
    for &b in data {
        match b {
            b'\\' => s.push_str("\\\\"),
            b'%' => s.push_str("%%"),
            b'\'' => s.push_str("'\\''"),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\{b:03o}")),
        }
    }
    s
}

fn plan<'a>(case: &'a Case, opts: &RunOptions) -> Result<Vec<Planned<'a>>, String> {
    let vars = &opts.vars;
    let file = case.path.display().to_string();
    let mut out = Vec::new();
    for step in &case.steps {
        let at = |e: &dyn std::fmt::Display| format!("{file}:{}: {e}", step.line);
        let act = match &step.kind {
            StepKind::Connect => Act::Connect,
            StepKind::Send { data, split, delay } => Act::Send {
                data: data.render(vars).map_err(|e| at(&e))?,
                split: split.filter(|&n| n > 0),
                delay: delay.eval(vars).map_err(|e| at(&e))?,
            },
            StepKind::Sleep(d) => Act::Sleep(d.eval(vars).map_err(|e| at(&e))?),
            StepKind::Shutdown => Act::Shutdown,
            StepKind::Close => Act::Close,
            StepKind::Response { within, checks } => Act::Response {
                within: within.as_ref().map(|w| w.eval(vars)).transpose().map_err(|e| at(&e))?,
                checks: checks
                    .iter()
                    .map(|c| resolve(c, vars, &opts.www).map_err(|e| format!("{file}:{e}")))
                    .collect::<Result<_, _>>()?,
            },
            StepKind::NoResponse { for_ } => Act::NoResponse(for_.eval(vars).map_err(|e| at(&e))?),
            StepKind::Closed { after, within } => Act::Closed {
                after: after.as_ref().map(|a| a.eval(vars)).transpose().map_err(|e| at(&e))?,
                within: within.eval(vars).map_err(|e| at(&e))?,
            },
            StepKind::Open { for_, probe } => Act::Open {
                for_: for_.eval(vars).map_err(|e| at(&e))?,
                probe: match probe {
                    Some(t) => t.render(vars).map_err(|e| at(&e))?,
                    None => {
                        let host = vars.get("host").cloned().unwrap_or_else(|| opts.target.host.clone());
                        format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: keep-alive\r\n\r\n").into_bytes()
                    }
                },
            },
        };
        out.push(Planned { step, act });
    }
    Ok(out)
}

/// The methods of the requests written on a connection, found by reading the bytes we sent as
/// requests (heads, then `Content-Length` bodies), so that a response to `HEAD` is read without
/// a body.
#[derive(Debug, Default)]
struct Requests {
    pending: Vec<u8>,
    skip: usize,
    methods: Vec<String>,
}

impl Requests {
    fn feed(&mut self, data: &[u8]) {
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
            let lead = self.pending.iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
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
            let method = head.split([' ', '\r', '\n']).next().unwrap_or("").to_string();
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
    fn is_head(&self, k: usize) -> bool {
        self.methods.get(k).is_some_and(|m| m == "HEAD")
    }
}

struct ConnState {
    conn: Conn,
    requests: Requests,
    /// Final (non-1xx) responses read so far.
    finals: usize,
    /// The last response read on it (an index into `Run::responses`).
    prev_response: Option<usize>,
    /// Whether we wrote since that response.
    sent_since_response: bool,
    /// A write that failed because the server closed or reset, not yet explained by a later
    /// step (a `closed` step, or a response read anyway).
    send_error: Option<String>,
    /// The line of the `close` step that closed it.
    closed_at_line: Option<usize>,
    /// Discarded bytes (over the cap) already counted against a response.
    discard_seen: usize,
}

/// A response read, for the verdict: its defects (more may be added later, for extra bytes).
struct ResponseRecord {
    line: usize,
    probe: bool,
    framing: Framing,
    defects: Vec<String>,
    extra: usize,
    extra_nul: usize,
    extra_text: usize,
    extra_sample: Vec<u8>,
}

impl ResponseRecord {
    fn all_defects(&self) -> Vec<String> {
        let mut d = self.defects.clone();
        if self.extra > 0 {
            let kind = if self.extra_text > 0 {
                format!("text: \"{}\"", excerpt(&self.extra_sample, 40))
            } else if self.extra_nul == self.extra {
                "NUL".into()
            } else if self.extra_nul == 0 {
                "whitespace".into()
            } else {
                "NUL and whitespace".into()
            };
            d.push(if self.framing == Framing::NoBody {
                format!("{} bytes ({kind}) after a response that has no body", self.extra)
            } else {
                format!("{} extra bytes ({kind}) after the body", self.extra)
            });
        }
        d
    }
}

struct Reason {
    line: usize,
    strict: bool,
    text: String,
}

/// Why the case stopped early.
enum Halt {
    Fail,
    Error,
}

enum Got {
    Resp(Response),
    Failed(String),
    TimedOut(String),
}

struct Run<'a> {
    case: &'a Case,
    opts: &'a RunOptions,
    start: Instant,
    deadline: Instant,
    rec: Recorder,
    conns: BTreeMap<String, ConnState>,
    first_conn: Option<String>,
    /// What the first connection sent, once it has been closed and opened again.
    first_sent: Option<Vec<u8>>,
    responses: Vec<ResponseRecord>,
    reasons: Vec<Reason>,
}

/// Runs one case against the target. `level: should` cases are skipped unless `opts.strict`.
pub fn run_case(case: &Case, opts: &RunOptions) -> CaseResult {
    if case.level == Level::Should && !opts.strict {
        return skipped(case, "level: should (run with --strict to include it)");
    }
    let start = Instant::now();
    let mut run = Run {
        case,
        opts,
        start,
        deadline: start.checked_add(case.timeout).unwrap_or(start + Duration::from_secs(86400 * 365)),
        rec: Recorder::new(start),
        conns: BTreeMap::new(),
        first_conn: None,
        first_sent: None,
        responses: Vec::new(),
        reasons: Vec::new(),
    };
    let planned = match plan(case, opts) {
        Ok(p) => p,
        Err(e) => return run.finish(Some(Halt::Error), &[], Some(e)),
    };
    let mut halt = None;
    for p in &planned {
        if let Err(h) = run.step(p) {
            halt = Some(h);
            break;
        }
    }
    if halt.is_none() {
        run.wrap_up();
    }
    run.finish(halt, &planned, None)
}

impl<'a> Run<'a> {
    fn fail(&mut self, line: usize, text: String) -> Halt {
        self.reasons.push(Reason { line, strict: true, text });
        Halt::Fail
    }

    fn error(&mut self, line: usize, text: String) -> Halt {
        self.reasons.push(Reason { line, strict: true, text });
        Halt::Error
    }

    /// `now + d`, bounded by the case deadline: (deadline, whether the case's bounds it).
    fn bound(&self, d: Option<Duration>) -> (Instant, bool) {
        let own = d.and_then(|d| Instant::now().checked_add(d));
        match own {
            Some(t) if t <= self.deadline => (t, false),
            _ => (self.deadline, true),
        }
    }

    fn timed_out(&mut self, p: &Planned, what: &str) -> Halt {
        let text = format!(
            "case timed out after {} during `{}` at line {}: {what}",
            fmt_dur(self.case.timeout),
            step_name(&p.step.kind),
            p.step.line
        );
        self.fail(p.step.line, text)
    }

    /// The connection the step names, opened if needed.
    fn conn(&mut self, p: &Planned) -> Result<&mut ConnState, Halt> {
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
        let timeout = limit.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
        let t = &self.opts.target;
        match Conn::open(&name, &t.host, t.port, timeout, self.opts.max_response_bytes, &mut self.rec) {
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
                    send_error: None,
                    closed_at_line: None,
                    discard_seen: 0,
                };
                // The reproducer replays the first connection as it was first opened.
                if let Some(old) = self.conns.insert(name.clone(), cs) {
                    if self.first_conn.as_deref() == Some(name.as_str()) && self.first_sent.is_none() {
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
                    Err(self.fail(line, format!("line {line}: could not open @{name} to {t}: {why}")))
                }
            }
        }
    }

    /// Counts bytes waiting after the last response, and not the start of another, against it.
    fn settle(&mut self, name: &str) {
        let Some(cs) = self.conns.get_mut(name) else { return };
        let Some(prev) = cs.prev_response else { return };
        if cs.sent_since_response || cs.conn.buf.is_empty() {
            return;
        }
        let buf = &cs.conn.buf;
        let lead = buf.iter().take_while(|&&b| matches!(b, 0 | b' ' | b'\t' | b'\r' | b'\n')).count();
        let take = if could_be_status_line(buf) { lead } else { buf.len() };
        if take == 0 {
            return;
        }
        let r = &mut self.responses[prev];
        let bytes = &buf[..take];
        if take == buf.len() {
            // Bytes beyond the cap were read and thrown away: they followed these.
            r.extra += cs.conn.discarded - cs.discard_seen;
            cs.discard_seen = cs.conn.discarded;
        }
        r.extra += take;
        r.extra_nul += bytes.iter().filter(|&&b| b == 0).count();
        r.extra_text += take - lead.min(take);
        if r.extra_sample.len() < 64 {
            let more = (64 - r.extra_sample.len()).min(take);
            r.extra_sample.extend_from_slice(&bytes[..more]);
        }
        cs.conn.consume(take);
    }

    fn step(&mut self, p: &Planned) -> Result<(), Halt> {
        let line = p.step.line;
        if Instant::now() >= self.deadline {
            return Err(self.timed_out(p, "no time left"));
        }
        match &p.act {
            Act::Connect => {
                self.conn(p)?;
                Ok(())
            }
            Act::Sleep(d) => {
                let (until, case_bound) = self.bound(Some(*d));
                std::thread::sleep(until.saturating_duration_since(Instant::now()));
                if case_bound {
                    return Err(self.timed_out(p, &format!("sleeping {}", fmt_dur(*d))));
                }
                Ok(())
            }
            Act::Shutdown => {
                self.conn(p)?;
                let cs = self.conns.get_mut(&p.step.conn).unwrap();
                if let Err(e) = cs.conn.shutdown_write(&mut self.rec) {
                    self.rec.note(&p.step.conn, format!("shutdown failed: {}", describe_io(&e)));
                }
                Ok(())
            }
            Act::Close => {
                self.conn(p)?;
                let cs = self.conns.get_mut(&p.step.conn).unwrap();
                cs.conn.read_ready(&mut self.rec);
                cs.conn.close(&mut self.rec);
                cs.closed_at_line = Some(line);
                Ok(())
            }
            Act::Send { data, split, delay } => self.send(p, data, *split, *delay),
            Act::Response { within, checks } => self.response(p, *within, checks),
            Act::NoResponse(d) => self.no_response(p, *d),
            Act::Closed { after, within } => self.closed(p, *after, *within),
            Act::Open { for_, probe } => self.open(p, *for_, probe),
        }
    }

    fn send(&mut self, p: &Planned, data: &[u8], split: Option<usize>, delay: Duration) -> Result<(), Halt> {
        let line = p.step.line;
        let name = p.step.conn.clone();
        self.conn(p)?;
        let cs = self.conns.get_mut(&name).unwrap();
        cs.conn.read_ready(&mut self.rec);
        self.settle(&name);
        let cs = self.conns.get_mut(&name).unwrap();
        cs.sent_since_response = true;
        if let Some(prior) = &cs.send_error {
            self.rec.note(&name, format!("not sent: an earlier write failed ({prior})"));
            return Ok(());
        }
        let pieces: Vec<&[u8]> = match split {
            Some(n) => data.chunks(n).collect(),
            None => vec![data],
        };
        let deadline = self.deadline;
        let mut written = 0;
        for (i, piece) in pieces.iter().enumerate() {
            if i > 0 {
                let (until, case_bound) = self.bound(Some(delay));
                std::thread::sleep(until.saturating_duration_since(Instant::now()));
                if case_bound {
                    return Err(self.timed_out(p, &format!("sending in pieces ({written} of {} bytes sent)", data.len())));
                }
            }
            let cs = self.conns.get_mut(&name).unwrap();
            let before = cs.conn.sent.len();
            let result = cs.conn.send(piece, deadline, &mut self.rec);
            let now_sent = cs.conn.sent.len() - before;
            cs.requests.feed(&cs.conn.sent[before..]);
            written += now_sent;
            if let Err(e) = result {
                if matches!(e.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock) {
                    return Err(self.timed_out(
                        p,
                        &format!("the server is not reading ({written} of {} bytes sent)", data.len()),
                    ));
                }
                let cs = self.conns.get_mut(&name).unwrap();
                cs.send_error = Some(format!(
                    "line {line}: the server closed or reset the connection while we were sending ({}; {written} of {} bytes sent)",
                    describe_io(&e),
                    data.len()
                ));
                break;
            }
        }
        Ok(())
    }

    fn read_response(&mut self, name: &str, deadline: Instant) -> Got {
        let cs = self.conns.get_mut(name).unwrap();
        let head = cs.requests.is_head(cs.finals);
        loop {
            let end = cs.conn.ended.map(|e| e.0);
            match parse_response(&cs.conn.buf, end.is_some(), head) {
                Parsed::Complete { mut response, consumed } => {
                    cs.conn.consume(consumed);
                    if end == Some(End::Reset) && response.framing == Framing::Close {
                        response.defects.push("body ended by a reset (RST), not a close".into());
                    }
                    return Got::Resp(response);
                }
                Parsed::Malformed { why } => {
                    let why = match end {
                        Some(End::Reset) => why.replace("connection closed", "connection reset (RST)"),
                        Some(End::Fin) => why.replace("connection closed", "connection closed (FIN)"),
                        None => why,
                    };
                    return Got::Failed(why);
                }
                Parsed::Incomplete => {
                    if cs.conn.over_cap() {
                        return Got::Failed(format!(
                            "more than {} bytes arrived (the cap on what is kept) and the response is not complete: {} bytes were discarded",
                            cs.conn.cap(),
                            cs.conn.discarded
                        ));
                    }
                    if end.is_some() {
                        return Got::Failed("connection closed before the response was complete".into());
                    }
                    match cs.conn.read_some(deadline, &mut self.rec) {
                        Read1::Data(_) | Read1::Ended(_) => {}
                        Read1::Timeout => return Got::TimedOut(describe_incomplete(&cs.conn.buf, head)),
                        Read1::Failed(e) => return Got::Failed(format!("read error: {e}")),
                    }
                }
            }
        }
    }

    /// Records a response read on `name` at `line`.
    fn record_response(&mut self, name: &str, line: usize, r: &Response, probe: bool) {
        let idx = self.responses.len();
        self.responses.push(ResponseRecord {
            line,
            probe,
            framing: r.framing,
            defects: r.defects.clone(),
            extra: 0,
            extra_nul: 0,
            extra_text: 0,
            extra_sample: Vec::new(),
        });
        let cs = self.conns.get_mut(name).unwrap();
        if !r.is_interim() {
            cs.finals += 1;
        }
        cs.prev_response = Some(idx);
        cs.sent_since_response = false;
        cs.send_error = None;
    }

    fn response(&mut self, p: &Planned, within: Option<Duration>, checks: &[Expect]) -> Result<(), Halt> {
        let line = p.step.line;
        let name = p.step.conn.clone();
        self.conn(p)?;
        let (deadline, case_bound) = self.bound(within);
        self.settle(&name);
        let got = self.read_response(&name, deadline);
        let cs = self.conns.get_mut(&name).unwrap();
        let earlier = cs.send_error.clone().map(|e| format!(" (earlier, {e})")).unwrap_or_default();
        let end = cs.conn.ended.map(|e| e.0);
        match got {
            Got::Resp(r) => {
                self.record_response(&name, line, &r, false);
                let mut failed = false;
                for c in checks {
                    if let Err(text) = evaluate(c, &r) {
                        failed |= !c.non_strict;
                        self.reasons.push(Reason { line: c.line, strict: !c.non_strict, text });
                    }
                }
                if failed {
                    Err(Halt::Fail)
                } else {
                    Ok(())
                }
            }
            Got::Failed(why) => {
                let text = match end {
                    Some(e) if cs.conn.buf.is_empty() && why.contains("before any response") => format!(
                        "line {line}: no response: the server {} the connection ({}) before any response{earlier}",
                        if e == End::Fin { "closed" } else { "reset" },
                        e.as_str()
                    ),
                    _ => format!("line {line}: unreadable response: {why}{earlier}"),
                };
                Err(self.fail(line, text))
            }
            Got::TimedOut(what) => {
                if case_bound {
                    Err(self.timed_out(p, &format!("{what}{earlier}")))
                } else {
                    let d = within.unwrap_or_default();
                    Err(self.fail(line, format!("line {line}: no complete response within {}: {what}{earlier}", fmt_dur(d))))
                }
            }
        }
    }

    /// Reads whatever arrives until `deadline` or the server's close. Returns when the first
    /// new byte arrived.
    fn wait(&mut self, name: &str, deadline: Instant) -> Result<Option<Instant>, String> {
        let cs = self.conns.get_mut(name).unwrap();
        let mut first = None;
        loop {
            match cs.conn.read_some(deadline, &mut self.rec) {
                Read1::Data(_) => {
                    first.get_or_insert_with(Instant::now);
                }
                Read1::Ended(_) | Read1::Timeout => return Ok(first),
                Read1::Failed(e) => return Err(e),
            }
        }
    }

    fn no_response(&mut self, p: &Planned, d: Duration) -> Result<(), Halt> {
        let line = p.step.line;
        let name = p.step.conn.clone();
        self.conn(p)?;
        let t0 = Instant::now();
        let (deadline, case_bound) = self.bound(Some(d));
        let first = self.wait(&name, deadline).map_err(|e| self.fail(line, format!("line {line}: read error: {e}")))?;
        self.settle(&name);
        let cs = self.conns.get_mut(&name).unwrap();
        if !cs.conn.buf.is_empty() {
            let when = match first {
                Some(t) => format!("after {}", fmt_elapsed(t.saturating_duration_since(t0))),
                None => "before this step".into(),
            };
            let text = format!(
                "line {line}: expected no response for {}, but {} bytes arrived {when}: \"{}\"",
                fmt_dur(d),
                cs.conn.buf.len(),
                excerpt(&cs.conn.buf, 200)
            );
            return Err(self.fail(line, text));
        }
        if case_bound && cs.conn.ended.is_none() {
            return Err(self.timed_out(p, &format!("nothing arrived, but the {} of silence did not pass", fmt_dur(d))));
        }
        Ok(())
    }

    fn closed(&mut self, p: &Planned, after: Option<Duration>, within: Duration) -> Result<(), Halt> {
        let line = p.step.line;
        let name = p.step.conn.clone();
        self.conn(p)?;
        let t0 = Instant::now();
        let (deadline, case_bound) = self.bound(Some(within));
        self.wait(&name, deadline).map_err(|e| self.fail(line, format!("line {line}: read error: {e}")))?;
        self.settle(&name);
        let cs = self.conns.get_mut(&name).unwrap();
        let fate = match cs.conn.ended {
            Some((e, at)) if at < t0 => format!("then it was closed ({}) before this step", e.as_str()),
            Some((e, at)) => format!("then it was closed ({}) after {}", e.as_str(), fmt_elapsed(at - t0)),
            None => format!("and it was still open after {}", fmt_dur(within)),
        };
        if !cs.conn.buf.is_empty() {
            let text = format!(
                "line {line}: expected the connection closed, but {} bytes arrived first: \"{}\"; {fate}",
                cs.conn.buf.len(),
                excerpt(&cs.conn.buf, 200)
            );
            return Err(self.fail(line, text));
        }
        match cs.conn.ended {
            Some((e, at)) => {
                cs.send_error = None;
                let elapsed = at.saturating_duration_since(t0);
                if let Some(min) = after {
                    if elapsed < min {
                        let when = if at < t0 {
                            "before this step".to_string()
                        } else {
                            format!("after {}", fmt_elapsed(elapsed))
                        };
                        let text = format!(
                            "line {line}: closed ({}) {when}, expected no sooner than {}",
                            e.as_str(),
                            fmt_dur(min)
                        );
                        return Err(self.fail(line, text));
                    }
                }
                Ok(())
            }
            None if case_bound => Err(self.timed_out(p, "the connection was still open")),
            None => Err(self.fail(
                line,
                format!("line {line}: still open after {}, expected closed within {}", fmt_dur(within), fmt_dur(within)),
            )),
        }
    }

    fn open(&mut self, p: &Planned, for_: Duration, probe: &[u8]) -> Result<(), Halt> {
        let line = p.step.line;
        let name = p.step.conn.clone();
        self.conn(p)?;
        let t0 = Instant::now();
        let (deadline, case_bound) = self.bound(Some(for_));
        self.wait(&name, deadline).map_err(|e| self.fail(line, format!("line {line}: read error: {e}")))?;
        self.settle(&name);
        let cs = self.conns.get_mut(&name).unwrap();
        let sent_first = if cs.conn.buf.is_empty() {
            String::new()
        } else {
            format!(" (after sending {} bytes: \"{}\")", cs.conn.buf.len(), excerpt(&cs.conn.buf, 120))
        };
        if let Some((e, at)) = cs.conn.ended {
            let when = if at < t0 {
                "before this step".to_string()
            } else {
                format!("after {}", fmt_elapsed(at - t0))
            };
            let text = format!(
                "line {line}: closed by server ({}) {when}{sent_first}, expected open for {}",
                e.as_str(),
                fmt_dur(for_)
            );
            return Err(self.fail(line, text));
        }
        if !sent_first.is_empty() {
            let text = format!(
                "line {line}: {} unexpected bytes arrived while the connection was idle: \"{}\"",
                cs.conn.buf.len(),
                excerpt(&cs.conn.buf, 200)
            );
            return Err(self.fail(line, text));
        }
        if case_bound {
            return Err(self.timed_out(p, &format!("waiting {} before the probe", fmt_dur(for_))));
        }
        self.rec.note(&name, format!("probe: still open after {}?", fmt_dur(for_)));
        let cs = self.conns.get_mut(&name).unwrap();
        cs.sent_since_response = true;
        let before = cs.conn.sent.len();
        let sent = cs.conn.send(probe, self.deadline, &mut self.rec);
        cs.requests.feed(&cs.conn.sent[before..]);
        if let Err(e) = sent {
            let text = format!(
                "line {line}: closed by server after {}: the probe could not be sent ({}), expected open for {}",
                fmt_elapsed(t0.elapsed()),
                describe_io(&e),
                fmt_dur(for_)
            );
            return Err(self.fail(line, text));
        }
        let (deadline, case_bound) = self.bound(Some(PROBE_TIMEOUT));
        match self.read_response(&name, deadline) {
            Got::Resp(r) => {
                self.record_response(&name, line, &r, true);
                Ok(())
            }
            Got::Failed(why) => {
                let cs = &self.conns[&name];
                let text = match cs.conn.ended {
                    Some((e, _)) => format!(
                        "line {line}: closed by server ({}) when probed after {}, expected open for {}: {why}",
                        e.as_str(),
                        fmt_elapsed(t0.elapsed()),
                        fmt_dur(for_)
                    ),
                    None => format!("line {line}: the probe sent after {} got an unreadable response: {why}", fmt_dur(for_)),
                };
                Err(self.fail(line, text))
            }
            Got::TimedOut(what) if case_bound => Err(self.timed_out(p, &format!("waiting for the probe's response: {what}"))),
            Got::TimedOut(what) => Err(self.fail(
                line,
                format!(
                    "line {line}: no response to the probe within {} (sent after {}): {what}",
                    fmt_dur(PROBE_TIMEOUT),
                    fmt_dur(for_)
                ),
            )),
        }
    }

    /// After the last step: bytes already waiting after a response are counted against it; a
    /// write that failed and was never explained is a failure.
    fn wrap_up(&mut self) {
        let names: Vec<String> = self.conns.keys().cloned().collect();
        for name in names {
            let cs = self.conns.get_mut(&name).unwrap();
            if cs.closed_at_line.is_none() {
                cs.conn.read_ready(&mut self.rec);
            }
            self.settle(&name);
            let cs = self.conns.get_mut(&name).unwrap();
            if let Some(e) = cs.send_error.take() {
                let line = e
                    .strip_prefix("line ")
                    .and_then(|s| s.split(':').next())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                self.reasons.push(Reason { line, strict: true, text: e });
            }
        }
    }

    fn finish(mut self, halt: Option<Halt>, planned: &[Planned], error: Option<String>) -> CaseResult {
        for c in self.conns.values_mut() {
            c.conn.close_quietly();
        }
        let mut reasons = std::mem::take(&mut self.reasons);
        if let Some(e) = error {
            reasons.push(Reason { line: 0, strict: true, text: e });
        }
        for r in &self.responses {
            let label = if r.probe { " (probe)" } else { "" };
            for d in r.all_defects() {
                reasons.push(Reason { line: r.line, strict: false, text: format!("line {}{label}: {d}", r.line) });
            }
        }
        reasons.sort_by_key(|r| r.line);
        let verdict = match halt {
            Some(Halt::Error) => Verdict::Error,
            _ if reasons.iter().any(|r| r.strict) => Verdict::Fail,
            _ if !reasons.is_empty() => Verdict::NonStrict,
            _ => Verdict::Pass,
        };
        let verdict = if matches!(halt, Some(Halt::Fail)) && verdict != Verdict::Error { Verdict::Fail } else { verdict };
        let reproducer = match verdict {
            Verdict::Pass | Verdict::Skip => None,
            _ => self.reproducer(planned),
        };
        let case = self.case;
        CaseResult {
            id: case.id.clone(),
            title: case.title.clone(),
            tags: case.tags.clone(),
            spec: case.spec.clone(),
            verdict,
            points: verdict.points(case.points, self.opts.lenient),
            max_points: case.points,
            duration: self.start.elapsed(),
            messages: reasons.into_iter().map(|r| r.text).collect(),
            transcript: std::mem::take(&mut self.rec.transcript),
            reproducer,
        }
    }

    /// `printf '...' | nc HOST PORT` with what was sent on the first connection (or, if nothing
    /// was, what the case would have sent on it).
    fn reproducer(&self, planned: &[Planned]) -> Option<String> {
        let first = self
            .first_conn
            .clone()
            .or_else(|| planned.first().map(|p| p.step.conn.clone()))?;
        let mut bytes = match &self.first_sent {
            Some(b) => b.clone(),
            None => self.conns.get(&first).map(|c| c.conn.sent.clone()).unwrap_or_default(),
        };
        if bytes.is_empty() {
            for p in planned.iter().filter(|p| p.step.conn == first) {
                if let Act::Send { data, .. } = &p.act {
                    bytes.extend_from_slice(data);
                }
            }
        }
        if bytes.is_empty() {
            return None;
        }
        let t = &self.opts.target;
        if bytes.len() > REPRODUCER_CAP {
            return Some(format!(
                "# {} bytes were sent on @{first}: too many for a printf line; replay the case instead",
                bytes.len()
            ));
        }
        Some(format!("printf '{}' | nc {} {}", printf_escape(&bytes), t.host, t.port))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printf_escape_round_trips_through_sh() {
        let data: Vec<u8> = b"GET /%41 'x' \\n \"q\" {a}\r\n\0\x01\x7f\xff\n".to_vec();
        let script = format!("printf '{}'", printf_escape(&data));
        let out = std::process::Command::new("sh").arg("-c").arg(&script).output().expect("sh runs");
        assert_eq!(out.stdout, data, "script: {script}");
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(fmt_dur(Duration::from_secs(10)), "10s");
        assert_eq!(fmt_dur(Duration::from_millis(250)), "250ms");
        assert_eq!(fmt_dur(Duration::from_millis(1500)), "1.5s");
        assert_eq!(fmt_elapsed(Duration::from_millis(1234)), "1.2s");
        assert_eq!(fmt_elapsed(Duration::from_millis(40)), "40ms");
    }

    #[test]
    fn requests_are_tracked_across_pieces() {
        let mut r = Requests::default();
        r.feed(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\nPOST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nHE");
        r.feed(b"AD!GET / HTTP/1.1\n\nHEAD /b HTTP/1.1\r\n");
        r.feed(b"\r\n");
        assert_eq!(r.methods, ["HEAD", "POST", "GET", "HEAD"]);
        assert!(r.is_head(0) && !r.is_head(1) && !r.is_head(2) && r.is_head(3) && !r.is_head(4));
    }
}
