//! The steps of a case, as methods of the [`Run`] they act on: `send`, `response`,
//! `no response`, `closed`, `open` (with its probe) and the small ones; and how bytes left after
//! a response are counted against it (`settle`).

use std::time::{Duration, Instant};

use super::check::{evaluate, trim_padding, Expect, ExpectKind};
use super::conn::{describe_io, End, Read1};
use super::interim::wants_interim;
use super::plan::{Act, Planned};
use super::response::trailing::SETTLE;
use super::response::{
    could_be_status_line, describe_incomplete, excerpt, is_junk, parse_response, read_what_arrived,
    Framing, Parsed, Response,
};
use super::state::{
    fmt_dur, fmt_elapsed, Got, Halt, Reason, ResponseRecord, Run, Settle, PROBE_TIMEOUT,
};
use crate::form::{Defect, FormRule};

impl Run<'_> {
    /// Counts bytes waiting after the last response against it, as `mode` says.
    pub(super) fn settle(&mut self, name: &str, mode: Settle) {
        let Some(cs) = self.conns.get(name) else {
            return;
        };
        if cs.prev_response.is_none() || cs.sent_since_response || cs.conn.closed_by_us() {
            return;
        }
        let all_answered = cs.requests.count() <= cs.finals;
        let everything = mode == Settle::Full && all_answered;
        if everything {
            self.wait_to_settle(name);
        }
        let cs = self.conns.get_mut(name).unwrap();
        let Some(prev) = cs.prev_response else { return };
        let buf = &cs.conn.buf;
        let take = if everything || !could_be_status_line(buf) {
            buf.len()
        } else {
            buf.iter().take_while(|&&b| is_junk(b)).count()
        };
        if take == 0 {
            return;
        }
        let r = &mut self.responses[prev];
        r.trailing.add(&buf[..take]);
        if take == buf.len() {
            // Bytes beyond the cap were read and thrown away: they followed these.
            r.trailing.add_unseen(cs.conn.discarded - cs.discard_seen);
            cs.discard_seen = cs.conn.discarded;
        }
        r.after_body = everything && cs.requests.last_had_body();
        cs.conn.consume(take);
    }

    /// Reads what arrives until the last response on `name` has settled (or the server closes,
    /// or the case's time is up).
    fn wait_to_settle(&mut self, name: &str) {
        let cs = &self.conns[name];
        let Some(at) = cs.answered_at else { return };
        if cs.conn.ended.is_some() {
            return;
        }
        let until = (at + SETTLE).min(self.deadline);
        if Instant::now() < until {
            let _ = self.wait(name, until);
        }
    }

    pub(super) fn step(&mut self, p: &Planned) -> Result<(), Halt> {
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
                    self.rec.note(
                        &p.step.conn,
                        format!("shutdown failed: {}", describe_io(&e)),
                    );
                }
                Ok(())
            }
            Act::Close => {
                self.conn(p)?;
                let cs = self.conns.get_mut(&p.step.conn).unwrap();
                cs.conn.read_ready(&mut self.rec);
                self.settle(&p.step.conn, Settle::Full);
                let cs = self.conns.get_mut(&p.step.conn).unwrap();
                cs.conn.close(&mut self.rec);
                cs.closed_at_line = Some(line);
                Ok(())
            }
            Act::Send { data, split, delay } => self.send(p, data, *split, *delay),
            Act::Response { within, checks } => self.response(p, *within, checks),
            Act::NoResponse(d) => self.no_response(p, *d),
            Act::Interim { codes, within } => self.interim(p, codes, *within),
            Act::Closed { after, within } => self.closed(p, *after, *within),
            Act::Open { for_, probe } => self.open(p, *for_, probe),
        }
    }

    pub(super) fn send(
        &mut self,
        p: &Planned,
        data: &[u8],
        split: Option<usize>,
        delay: Duration,
    ) -> Result<(), Halt> {
        let line = p.step.line;
        let name = p.step.conn.clone();
        self.conn(p)?;
        let cs = self.conns.get_mut(&name).unwrap();
        cs.conn.read_ready(&mut self.rec);
        self.settle(&name, Settle::Full);
        let cs = self.conns.get_mut(&name).unwrap();
        cs.sent_since_response = true;
        if let Some(prior) = &cs.send_error {
            self.rec.note(
                &name,
                format!("not sent: an earlier write failed ({prior})"),
            );
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
                    return Err(self.timed_out(
                        p,
                        &format!("sending in pieces ({written} of {} bytes sent)", data.len()),
                    ));
                }
            }
            let cs = self.conns.get_mut(&name).unwrap();
            let before = cs.conn.sent.len();
            let result = cs.conn.send(piece, deadline, &mut self.rec);
            let now_sent = cs.conn.sent.len() - before;
            cs.requests.feed(&cs.conn.sent[before..]);
            written += now_sent;
            if let Err(e) = result {
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
                ) {
                    return Err(self.timed_out(
                        p,
                        &format!(
                            "the server is not reading ({written} of {} bytes sent)",
                            data.len()
                        ),
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

    pub(super) fn read_response(&mut self, name: &str, deadline: Instant) -> Got {
        let cs = self.conns.get_mut(name).unwrap();
        let head = cs.requests.is_head(cs.finals);
        loop {
            let end = cs.conn.ended.map(|e| e.0);
            match parse_response(&cs.conn.buf, end.is_some(), head) {
                Parsed::Complete {
                    mut response,
                    consumed,
                } => {
                    cs.conn.consume(consumed);
                    if end == Some(End::Reset) && response.framing == Framing::Close {
                        response.defects.push(Defect::new(
                            FormRule::Framing,
                            "body ended by a reset (RST), not a close",
                        ));
                    }
                    return Got::Resp(response);
                }
                Parsed::Malformed { why } => {
                    let why = match end {
                        Some(End::Reset) => {
                            why.replace("connection closed", "connection reset (RST)")
                        }
                        Some(End::Fin) => {
                            why.replace("connection closed", "connection closed (FIN)")
                        }
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
                        return Got::Failed(
                            "connection closed before the response was complete".into(),
                        );
                    }
                    match cs.conn.read_some(deadline, &mut self.rec) {
                        Read1::Data(_) | Read1::Ended(_) => {}
                        Read1::Timeout => {
                            // Judge what arrived: a whole head whose body never ends is read.
                            if let Some(r) = read_what_arrived(&cs.conn.buf, head) {
                                let all = cs.conn.buf.len();
                                cs.conn.consume(all);
                                return Got::Resp(r);
                            }
                            return Got::TimedOut(describe_incomplete(&cs.conn.buf, head));
                        }
                        Read1::Failed(e) => return Got::Failed(format!("read error: {e}")),
                    }
                }
            }
        }
    }

    /// Records a response read on `name` at `line`.
    pub(super) fn record_response(&mut self, name: &str, line: usize, r: &Response, probe: bool) {
        let idx = self.responses.len();
        self.responses.push(ResponseRecord {
            line,
            probe,
            framing: r.framing,
            defects: r.defects.clone(),
            strict_rules: Vec::new(),
            trailing: Default::default(),
            after_body: false,
        });
        let cs = self.conns.get_mut(name).unwrap();
        if !r.is_interim() {
            cs.finals += 1;
        }
        cs.prev_response = Some(idx);
        cs.answered_at = Some(Instant::now());
        cs.sent_since_response = false;
        cs.send_error = None;
    }

    pub(super) fn response(
        &mut self,
        p: &Planned,
        within: Option<Duration>,
        checks: &[Expect],
    ) -> Result<(), Halt> {
        let line = p.step.line;
        let name = p.step.conn.clone();
        self.conn(p)?;
        let (deadline, case_bound) = self.bound(within);
        self.settle(&name, Settle::Padding);
        let got = self.read_final(&name, line, deadline, wants_interim(checks));
        if matches!(&got, Got::Failed(why) if self.closed_instead(&name, line, why, checks)) {
            return Ok(());
        }
        let cs = self.conns.get_mut(&name).unwrap();
        let earlier = cs
            .send_error
            .clone()
            .map(|e| format!(" (earlier, {e})"))
            .unwrap_or_default();
        let end = cs.conn.ended.map(|e| e.0);
        match got {
            Got::Resp(mut r) => {
                trim_padding(&mut r, checks);
                self.record_response(&name, line, &r, false);
                let graded = checks.iter().flat_map(|c| match &c.kind {
                    ExpectKind::Form(rules) => rules.clone(),
                    _ => Vec::new(),
                });
                let last = self.responses.len() - 1;
                self.responses[last].strict_rules.extend(graded);
                let mut failed = false;
                for c in checks {
                    if let Err(text) = evaluate(c, &r) {
                        failed |= !c.non_strict;
                        self.reasons.push(Reason {
                            line: c.line,
                            strict: !c.non_strict,
                            text,
                        });
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
                    Err(self.fail(
                        line,
                        format!(
                            "line {line}: no complete response within {}: {what}{earlier}",
                            fmt_dur(d)
                        ),
                    ))
                }
            }
        }
    }

    /// Reads whatever arrives until `deadline` or the server's close. Returns when the first
    /// new byte arrived.
    pub(super) fn wait(
        &mut self,
        name: &str,
        deadline: Instant,
    ) -> Result<Option<Instant>, String> {
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

    pub(super) fn no_response(&mut self, p: &Planned, d: Duration) -> Result<(), Halt> {
        let line = p.step.line;
        let name = p.step.conn.clone();
        self.conn(p)?;
        let t0 = Instant::now();
        let (deadline, case_bound) = self.bound(Some(d));
        let first = self
            .wait(&name, deadline)
            .map_err(|e| self.fail(line, format!("line {line}: read error: {e}")))?;
        self.settle(&name, Settle::Padding);
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
            return Err(self.timed_out(
                p,
                &format!(
                    "nothing arrived, but the {} of silence did not pass",
                    fmt_dur(d)
                ),
            ));
        }
        Ok(())
    }

    pub(super) fn closed(
        &mut self,
        p: &Planned,
        after: Option<Duration>,
        within: Duration,
    ) -> Result<(), Halt> {
        let line = p.step.line;
        let name = p.step.conn.clone();
        self.conn(p)?;
        let t0 = Instant::now();
        let (deadline, case_bound) = self.bound(Some(within));
        self.wait(&name, deadline)
            .map_err(|e| self.fail(line, format!("line {line}: read error: {e}")))?;
        self.settle(&name, Settle::Padding);
        let cs = self.conns.get_mut(&name).unwrap();
        let fate = match cs.conn.ended {
            Some((e, at)) if at < t0 => {
                format!("then it was closed ({}) before this step", e.as_str())
            }
            Some((e, at)) => format!(
                "then it was closed ({}) after {}",
                e.as_str(),
                fmt_elapsed(at - t0)
            ),
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
                format!(
                    "line {line}: still open after {}, expected closed within {}",
                    fmt_dur(within),
                    fmt_dur(within)
                ),
            )),
        }
    }

    /// `open @c for D`: nothing arrives and no close comes for D, then a probe request is
    /// answered: the connection was really kept open.
    pub(super) fn open(&mut self, p: &Planned, for_: Duration, probe: &[u8]) -> Result<(), Halt> {
        let line = p.step.line;
        let name = p.step.conn.clone();
        self.conn(p)?;
        let t0 = Instant::now();
        let (deadline, case_bound) = self.bound(Some(for_));
        self.wait(&name, deadline)
            .map_err(|e| self.fail(line, format!("line {line}: read error: {e}")))?;
        self.settle(&name, Settle::Padding);
        if let Some(text) = self.not_kept_open(&name, line, t0, for_) {
            return Err(self.fail(line, text));
        }
        if case_bound {
            return Err(self.timed_out(p, &format!("waiting {} before the probe", fmt_dur(for_))));
        }
        self.probe(p, t0, for_, probe)
    }

    /// Why the connection was not simply kept open while we waited: it was closed, or bytes
    /// nobody asked for arrived. `None` when it stayed open and quiet.
    fn not_kept_open(
        &self,
        name: &str,
        line: usize,
        t0: Instant,
        for_: Duration,
    ) -> Option<String> {
        let cs = &self.conns[name];
        let sent_first = if cs.conn.buf.is_empty() {
            String::new()
        } else {
            format!(
                " (after sending {} bytes: \"{}\")",
                cs.conn.buf.len(),
                excerpt(&cs.conn.buf, 120)
            )
        };
        if let Some((e, at)) = cs.conn.ended {
            let when = if at < t0 {
                "before this step".to_string()
            } else {
                format!("after {}", fmt_elapsed(at - t0))
            };
            return Some(format!(
                "line {line}: closed by server ({}) {when}{sent_first}, expected open for {}",
                e.as_str(),
                fmt_dur(for_)
            ));
        }
        (!sent_first.is_empty()).then(|| {
            format!(
                "line {line}: {} unexpected bytes arrived while the connection was idle: \"{}\"",
                cs.conn.buf.len(),
                excerpt(&cs.conn.buf, 200)
            )
        })
    }

    /// Sends the probe of an `open` step and reads its answer: any response proves the
    /// connection open; a failed write, a close or silence proves it was not.
    fn probe(
        &mut self,
        p: &Planned,
        t0: Instant,
        for_: Duration,
        probe: &[u8],
    ) -> Result<(), Halt> {
        let line = p.step.line;
        let name = p.step.conn.clone();
        self.rec
            .note(&name, format!("probe: still open after {}?", fmt_dur(for_)));
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
            Got::TimedOut(what) if case_bound => {
                Err(self.timed_out(p, &format!("waiting for the probe's response: {what}")))
            }
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
}
