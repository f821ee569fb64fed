//! Interim (1xx) responses, as RFC 9110 §15.2 has a client read them: a `100 Continue` or
//! `103 Early Hints` is kept in the transcript and skipped while a `response` step waits for
//! the final response (unless that step's `status` check lists a 1xx code, which asks to see
//! it), and the `interim [@c] [N...] [within D]` step requires one. Also `or closed`: a
//! `response` step met by a close before any byte, where the RFC lets a server close instead.

use std::time::{Duration, Instant};

use super::check::{Expect, ExpectKind};
use super::plan::Planned;
use super::state::{fmt_dur, Got, Halt, Run, Settle};

/// The most interim responses skipped before one final response: past it the server is
/// taken to be looping.
pub const MAX_INTERIM: usize = 32;

/// Whether a `response` step's checks ask to see a 1xx response itself (`status 100 ...`).
pub(super) fn wants_interim(checks: &[Expect]) -> bool {
    checks.iter().any(|c| match &c.kind {
        ExpectKind::Status(codes) => codes.iter().any(|c| (100..200).contains(c)),
        _ => false,
    })
}

impl Run<'_> {
    /// Whether a step with an `or closed` check met it: the server closed (FIN or reset) before
    /// sending any byte (a write that failed on that close is then explained). Noted in the
    /// transcript when it did.
    pub(super) fn closed_instead(
        &mut self,
        name: &str,
        line: usize,
        why: &str,
        checks: &[Expect],
    ) -> bool {
        let allowed = checks
            .iter()
            .any(|c| matches!(c.kind, ExpectKind::OrClosed));
        let cs = &self.conns[name];
        let closed = cs.conn.ended.is_some() && cs.conn.buf.is_empty();
        if !(allowed && closed && why.contains("before any response")) {
            return false;
        }
        // The close also explains a write that failed because of it.
        self.conns.get_mut(name).expect("a connection").send_error = None;
        self.rec.note(
            name,
            format!("closed without a response, which line {line} allows (`or closed`)"),
        );
        true
    }

    /// Reads the next response on `name`; unless `keep_interim`, each 1xx response before it
    /// is recorded (its form checked), noted in the transcript and skipped.
    pub(super) fn read_final(
        &mut self,
        name: &str,
        line: usize,
        deadline: Instant,
        keep_interim: bool,
    ) -> Got {
        for _ in 0..MAX_INTERIM {
            let got = self.read_response(name, deadline);
            match got {
                Got::Resp(r) if r.is_interim() && !keep_interim => {
                    self.record_response(name, line, &r, false);
                    self.rec.note(
                        name,
                        format!(
                            "interim response \"{}\" skipped: line {line} waits for the final response (RFC 9110 §15.2)",
                            r.status_line
                        ),
                    );
                }
                other => return other,
            }
        }
        Got::Failed(format!(
            "more than {MAX_INTERIM} interim (1xx) responses and no final response"
        ))
    }

    /// The `interim` step: the next response must be a 1xx, one of `codes` if any are given.
    pub(super) fn interim(
        &mut self,
        p: &Planned,
        codes: &[u16],
        within: Option<Duration>,
    ) -> Result<(), Halt> {
        let line = p.step.line;
        let name = p.step.conn.clone();
        self.conn(p)?;
        let (deadline, case_bound) = self.bound(within);
        self.settle(&name, Settle::Padding);
        let want = if codes.is_empty() {
            "an interim (1xx) response".to_string()
        } else {
            let list: Vec<String> = codes.iter().map(|c| c.to_string()).collect();
            format!("interim {}", list.join(" or "))
        };
        match self.read_response(&name, deadline) {
            Got::Resp(r) => {
                self.record_response(&name, line, &r, false);
                let fits = r.is_interim() && (codes.is_empty() || codes.contains(&r.code));
                if fits {
                    return Ok(());
                }
                let kind = if r.is_interim() { "interim" } else { "final" };
                Err(self.fail(
                    line,
                    format!(
                        "line {line}: expected {want}, got the {kind} response {} (\"{}\")",
                        r.code, r.status_line
                    ),
                ))
            }
            Got::Failed(why) => Err(self.fail(
                line,
                format!("line {line}: expected {want}: unreadable response: {why}"),
            )),
            Got::TimedOut(what) if case_bound => Err(self.timed_out(p, &what)),
            Got::TimedOut(what) => Err(self.fail(
                line,
                format!(
                    "line {line}: expected {want} within {}: {what}",
                    fmt_dur(within.unwrap_or_default())
                ),
            )),
        }
    }
}
