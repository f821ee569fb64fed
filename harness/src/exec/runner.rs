//! Running one case: its steps in order over named connections, under the case's overall
//! timeout, and the verdict, messages, transcript and reproducer that come of it.
//!
//! The case is first planned (`exec/plan.rs`), so that an unknown variable or a missing file is
//! an error before a byte is sent. Then each step runs (`exec/steps.rs`; semantics:
//! `cases/README.md`); the first failing step ends the case. Verdict: a missed strict check,
//! an unreadable response or a failed step is `fail`; otherwise a missed `non-strict` check or
//! any form defect of a response read is `non-strict`; otherwise `pass`.
//!
//! Bytes that arrive after a framed response, before we send anything more on the connection,
//! are that response's trailing bytes (`response/trailing.rs`): once every request sent has
//! been answered, the case lets the last response settle for a fixed window before it sends
//! again, closes, or ends, and judges what came (padding, a body after `HEAD`, a response nobody
//! asked for, a request's body answered as a request) the same way every run. They are never
//! read as the next response, nor as a failure of a later `closed` step.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::case::Case;
use crate::outcome::{CaseResult, Verdict};

use super::conn::Recorder;
use super::plan::{plan, Act, Planned};
use super::state::{Halt, Reason, Run, Settle};
use super::RunOptions;

/// The most bytes a `printf '...' | nc` reproducer replays.
pub const REPRODUCER_CAP: usize = 256 * 1024;

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

/// The verdict: an error stays an error; a halt or a strict reason fails; any other reason is
/// non-strict; none passes.
fn verdict_of(halt: Option<&Halt>, reasons: &[Reason]) -> Verdict {
    match halt {
        Some(Halt::Error) => Verdict::Error,
        Some(Halt::Fail) => Verdict::Fail,
        None if reasons.iter().any(|r| r.strict) => Verdict::Fail,
        None if !reasons.is_empty() => Verdict::NonStrict,
        None => Verdict::Pass,
    }
}

/// Runs one case against the target; its `level:` then sets what a miss costs
/// ([`super::level`]).
pub fn run_case(case: &Case, opts: &RunOptions) -> CaseResult {
    let planted = opts.vars.contains_key("planted");
    if let Some(why) = case
        .requires
        .iter()
        .find_map(|r| opts.declared.unmet(r, planted))
    {
        return super::skipped(case, &format!("requires: {why}"));
    }
    let timeout = match case.timeout.eval(&opts.vars) {
        Ok(t) => t,
        Err(e) => {
            let why = format!("{}: timeout: {e}", case.path.display());
            return super::not_run(case, Verdict::Error, &why);
        }
    };
    let start = Instant::now();
    let mut run = Run {
        case,
        opts,
        start,
        timeout,
        deadline: start
            .checked_add(timeout)
            .unwrap_or(start + Duration::from_secs(86400 * 365)),
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
    super::level::apply(case.level, opts, run.finish(halt, &planned, None))
}

impl<'a> Run<'a> {
    /// After the last step: each connection's last response settles and its trailing bytes are
    /// judged; a write that failed and was never explained is a failure.
    pub(super) fn wrap_up(&mut self) {
        let names: Vec<String> = self.conns.keys().cloned().collect();
        for name in names {
            let cs = self.conns.get_mut(&name).unwrap();
            if cs.closed_at_line.is_none() {
                cs.conn.read_ready(&mut self.rec);
            }
            self.settle(&name, Settle::Full);
            let cs = self.conns.get_mut(&name).unwrap();
            if let Some(e) = cs.send_error.take() {
                let line = e
                    .strip_prefix("line ")
                    .and_then(|s| s.split(':').next())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                self.reasons.push(Reason {
                    line,
                    strict: true,
                    text: e,
                });
            }
        }
    }

    /// The case's result: every reason (the failed steps and checks first, then defects of
    /// form), the verdict they make, the transcript and a reproducer.
    pub(super) fn finish(
        mut self,
        halt: Option<Halt>,
        planned: &[Planned],
        error: Option<String>,
    ) -> CaseResult {
        for c in self.conns.values_mut() {
            c.conn.close_quietly();
        }
        let mut reasons = std::mem::take(&mut self.reasons);
        if let Some(e) = error {
            reasons.push(Reason {
                line: 0,
                strict: true,
                text: e,
            });
        }
        reasons.extend(self.response_reasons());
        // What failed comes first, in line order; notes of form after.
        reasons.sort_by_key(|r| (!r.strict, r.line));
        let verdict = verdict_of(halt.as_ref(), &reasons);
        let reproducer = match verdict {
            Verdict::Pass | Verdict::Skip => None,
            _ => self.reproducer(planned),
        };
        CaseResult {
            points: verdict.points(self.case.points, self.opts.lenient),
            duration: self.start.elapsed(),
            messages: reasons.into_iter().map(|r| r.text).collect(),
            transcript: std::mem::take(&mut self.rec.transcript),
            reproducer,
            ..super::not_run(self.case, verdict, "")
        }
    }

    /// What the responses read say besides the checks: a request body answered as a request
    /// (a failure), and each defect of form that counts for this case, strict when the case
    /// grades its rule (`form RULE`) or the RFCs make it a failure.
    fn response_reasons(&self) -> Vec<Reason> {
        let tags = &self.case.tags;
        let mut out = Vec::new();
        for r in &self.responses {
            if let Some(text) = r.body_answered() {
                out.push(Reason {
                    line: r.line,
                    strict: true,
                    text,
                });
            }
            let label = if r.probe { " (probe)" } else { "" };
            for d in r
                .all_defects()
                .into_iter()
                .filter(|d| super::rfc::counts_for(tags, &d.text))
            {
                let graded = r.strict_rules.contains(&d.rule);
                let note = if graded {
                    ", the rule this case grades"
                } else {
                    ""
                };
                out.push(Reason {
                    line: r.line,
                    strict: graded || super::rfc::fails_for(tags, &d.text),
                    text: format!(
                        "line {}{label}: {} (form: {}{note})",
                        r.line,
                        super::rfc::cite(&d.text),
                        d.rule
                    ),
                });
            }
        }
        out
    }

    /// `printf '...' | nc HOST PORT` with what was sent on the first connection (or, if nothing
    /// was, what the case would have sent on it).
    pub(super) fn reproducer(&self, planned: &[Planned]) -> Option<String> {
        let first = self
            .first_conn
            .clone()
            .or_else(|| planned.first().map(|p| p.step.conn.clone()))?;
        let mut bytes = match &self.first_sent {
            Some(b) => b.clone(),
            None => self
                .conns
                .get(&first)
                .map(|c| c.conn.sent.clone())
                .unwrap_or_default(),
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
        Some(format!(
            "printf '{}' | nc {} {}",
            printf_escape(&bytes),
            t.host,
            t.port
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printf_escape_round_trips_through_sh() {
        let data: Vec<u8> = b"GET /%41 'x' \\n \"q\" {a}\r\n\0\x01\x7f\xff\n".to_vec();
        let script = format!("printf '{}'", printf_escape(&data));
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .output()
            .expect("sh runs");
        assert_eq!(out.stdout, data, "script: {script}");
    }
}
