//! The report of one run against one target: every case's result, every rule's, and the score
//! they make. The formats of [`crate::report`] write it; `run` and `grade` build it.

use std::time::Duration;

use serde::Serialize;

use crate::outcome::{as_millis, CaseResult, Verdict};
use crate::rules::RuleResult;

/// All results of one run, against one target.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// What was tested: `HOST:PORT`, or the start command.
    pub target: String,
    pub score: f64,
    pub max_score: f64,
    #[serde(rename = "duration_ms", serialize_with = "as_millis")]
    pub duration: Duration,
    /// Each rule the cases belong to, held or lost, with what it is worth (or would cost).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleResult>,
    pub cases: Vec<CaseResult>,
    /// What happened around the cases: how a started server got its ws.conf, restarts after
    /// deaths. Shown after the results, folded.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The ws.conf the cases' expectations follow (`requires:`, `content-type .EXT`), as a
    /// reader should know it: `--ws-conf FILE`, `./ws.conf`, or each started server's own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ws_conf: Option<String>,
    /// The port a reader replays a case at, when the run's own is gone (a server the harness
    /// started on a temporary port: the one its own ws.conf listens on). Reproducers name it in
    /// place of their `PORT` placeholder.
    #[serde(skip)]
    pub replay_port: Option<u16>,
}

impl RunReport {
    /// Builds a report: the score is the points of the rules plus those of the cases that
    /// belong to no rule; skipped cases do not count in the maximum.
    pub fn new(
        target: String,
        duration: Duration,
        cases: Vec<CaseResult>,
        rules: Vec<RuleResult>,
    ) -> Self {
        let loose = || cases.iter().filter(|c| c.rule.is_none());
        let score =
            rules.iter().map(|r| r.points).sum::<f64>() + loose().map(|c| c.points).sum::<f64>();
        let max_score = rules.iter().map(|r| r.max_points).sum::<f64>()
            + loose()
                .filter(|c| c.verdict != Verdict::Skip)
                .map(|c| c.max_points)
                .sum::<f64>();
        RunReport {
            target,
            score,
            max_score,
            duration,
            rules,
            cases,
            notes: Vec::new(),
            ws_conf: None,
            replay_port: None,
        }
    }

    pub fn count(&self, v: Verdict) -> usize {
        self.cases.iter().filter(|c| c.verdict == v).count()
    }

    /// The process exit code: 0 when nothing failed, 1 when a case failed or errored (or, when
    /// non-strict verdicts earn nothing, `lenient` false, was non-strict).
    pub fn exit_code(&self, lenient: bool) -> i32 {
        if self.cases.iter().any(|c| {
            matches!(c.verdict, Verdict::Fail | Verdict::Error)
                || (c.verdict == Verdict::NonStrict && !lenient)
        }) {
            1
        } else {
            0
        }
    }
}
