//! The json format: the whole report, pretty-printed, for scripts.
//!
//! ```text
//! {"target", "score", "max_score", "duration_ms", "lenient",
//!  "counts": {"pass", "non-strict", "fail", "error", "skip", "total", "passed", "failed"},
//!  "rules": [{"rule", "scope", "asks", "counted", "worth", "points", "max_points", "status",
//!             "broken_by", "cases", "note"}],
//!  "cases": [{"id", "title", "verdict", "points", "max_points", "duration_ms", "messages",
//!             "transcript": [{"at_ms", "conn", "event", "data"|"text"}], "reproducer",
//!             "tags", "spec"}]}
//! ```
//!
//! `verdict` is one of `pass`, `non-strict`, `fail`, `error`, `skip`. `passed` and `failed` in
//! `counts` follow the same rule as the pretty summary (non-strict counts as failed unless
//! lenient). Transcript data is escaped as in `.case` files (`\r\n`, `\x00`), never cut.

use std::io::{self, Write};

use serde::Serialize;

use super::{Counts, ReportOptions};
use crate::outcome::{CaseResult, Event, RunReport, Verdict};
use crate::rules::RuleResult;

#[derive(Serialize)]
struct JsonReport<'a> {
    target: &'a str,
    score: f64,
    max_score: f64,
    duration_ms: u64,
    lenient: bool,
    counts: JsonCounts,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    notes: &'a [String],
    /// Each rule held, lost or not graded (`status`: `held`, `lost`, `not-graded`).
    #[serde(skip_serializing_if = "<[RuleResult]>::is_empty")]
    rules: &'a [RuleResult],
    cases: Vec<JsonCase<'a>>,
}

#[derive(Serialize)]
struct JsonCounts {
    pass: usize,
    #[serde(rename = "non-strict")]
    non_strict: usize,
    fail: usize,
    error: usize,
    skip: usize,
    total: usize,
    passed: usize,
    failed: usize,
}

#[derive(Serialize)]
struct JsonCase<'a> {
    id: &'a str,
    title: &'a str,
    verdict: Verdict,
    points: f64,
    max_points: f64,
    duration_ms: u64,
    messages: &'a [String],
    transcript: &'a [Event],
    reproducer: Option<&'a str>,
    tags: &'a [String],
    spec: Option<&'a str>,
}

impl<'a> From<&'a CaseResult> for JsonCase<'a> {
    fn from(c: &'a CaseResult) -> Self {
        JsonCase {
            id: &c.id,
            title: &c.title,
            verdict: c.verdict,
            points: c.points,
            max_points: c.max_points,
            duration_ms: c.duration.as_millis() as u64,
            messages: &c.messages,
            transcript: &c.transcript.events,
            reproducer: c.reproducer.as_deref(),
            tags: &c.tags,
            spec: c.spec.as_deref(),
        }
    }
}

/// Writes the report as pretty-printed JSON, followed by a newline.
pub fn write_json(report: &RunReport, opts: &ReportOptions, out: &mut dyn Write) -> io::Result<()> {
    let n = Counts::of(&report.cases);
    let doc = JsonReport {
        target: &report.target,
        score: report.score,
        max_score: report.max_score,
        duration_ms: report.duration.as_millis() as u64,
        lenient: opts.lenient,
        notes: &report.notes,
        rules: &report.rules,
        counts: JsonCounts {
            pass: n.pass,
            non_strict: n.non_strict,
            fail: n.fail,
            error: n.error,
            skip: n.skip,
            total: n.total(),
            passed: n.passed(opts.lenient),
            failed: n.failed(opts.lenient),
        },
        cases: report.cases.iter().map(JsonCase::from).collect(),
    };
    serde_json::to_writer_pretty(&mut *out, &doc).map_err(io::Error::other)?;
    writeln!(out)
}
