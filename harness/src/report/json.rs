//! The json format: the whole report, pretty-printed, for scripts.
//!
//! ```text
//! {"target", "ws_conf", "score", "max_score", "duration_ms", "lenient",
//!  "counts": {"pass", "non-strict", "fail", "error", "skip", "total", "passed", "failed"},
//!  "notes", "rules": [{"rule", "scope", "asks", "counted", "worth", "points", "max_points",
//!                      "status", "broken_by", "cases", "note"}],
//!  "cases": [{"id", "title", "rule", "verdict", "points", "max_points", "points_note",
//!             "duration_ms", "messages", "hint", "transcript": [{"at_ms", "conn", "event",
//!             "data"|"text"}], "reproducer", "replay", "tags", "spec"}]}
//! ```
//!
//! `verdict` is one of `pass`, `non-strict`, `fail`, `error`, `skip`. `passed` and `failed` in
//! `counts` follow the same rule as the pretty summary (non-strict counts as failed unless
//! lenient). Transcript data is escaped as in `.case` files (`\r\n`, `\x00`), but braces as they
//! came, never cut.
//! `messages` put the failed checks before the notes on form; `points_note` says why a case's
//! points are what they are when its verdict does not; `replay` is `reproducer` as a bash line
//! with the real port. Optional fields are left out when empty.

use std::io::{self, Write};

use serde::Serialize;

use super::RunReport;
use super::{explain, Counts, ReportOptions};
use crate::outcome::{CaseResult, Event, Verdict};
use crate::rules::RuleResult;

#[derive(Serialize)]
struct JsonReport<'a> {
    target: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ws_conf: Option<&'a str>,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<&'a str>,
    verdict: Verdict,
    points: f64,
    max_points: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    points_note: Option<String>,
    duration_ms: u64,
    messages: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<&'a str>,
    transcript: &'a [Event],
    reproducer: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    replay: Option<String>,
    tags: &'a [String],
    spec: Option<&'a str>,
}

impl<'a> JsonCase<'a> {
    fn new(report: &'a RunReport, c: &'a CaseResult, lenient: bool) -> Self {
        // The rules' word on the points is `points_note`; a skip keeps its reason.
        let mut messages = explain::ordered_messages(c);
        if messages.is_empty() && c.verdict == Verdict::Skip {
            messages = c.messages.iter().map(String::as_str).collect();
        }
        JsonCase {
            id: &c.id,
            title: &c.title,
            rule: c.rule.as_deref(),
            verdict: c.verdict,
            points: c.points,
            max_points: c.max_points,
            points_note: explain::points_note(report, c, lenient),
            duration_ms: c.duration.as_millis() as u64,
            messages,
            hint: c.hint.as_deref(),
            transcript: &c.transcript.events,
            reproducer: c.reproducer.as_deref(),
            replay: explain::replay(report, c),
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
        ws_conf: report.ws_conf.as_deref(),
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
        cases: report
            .cases
            .iter()
            .map(|c| JsonCase::new(report, c, opts.lenient))
            .collect(),
    };
    serde_json::to_writer_pretty(&mut *out, &doc).map_err(io::Error::other)?;
    writeln!(out)
}
