//! The gradescope format: Gradescope's autograder `results.json`
//! (<https://gradescope-autograders.readthedocs.io/en/latest/specs/>).
//!
//! ```text
//! {"score": total, "execution_time": seconds, "output": summary, "output_format": "text",
//!  "test_output_format": "text",
//!  "tests": [{"name": title, "number": id, "score", "max_score", "status": "passed"|"failed",
//!             "output": messages + hint + transcript + reproducer, "tags", "visibility"}]}
//! ```
//!
//! Choices:
//! - `number` is the case's id (`assignment/errors/bad-method`) and `name` its title, so that
//!   Gradescope shows each test as the id a student can run with `harness run --filter`.
//! - `non-strict` is failed with 0 points unless the run is lenient (then passed, full points).
//! - A skipped case is listed with `max_score` 0 and no status, "(skipped)" after its name, since
//!   it does not count in the maximum.
//! - Visibility is `visible` unless the caller decides per case ([`write_gradescope_with`]).
//! - [`write_gradescope_failure`] writes a results.json when nothing could be run (the student's
//!   server never started): score 0, a test saying why, and every case failed with the reason.

use std::io::{self, Write};

use serde::Serialize;

use super::RunReport;
use super::{counts_as_passed, details_text, explain, fmt_points, Cap, Counts, ReportOptions};
use crate::outcome::{CaseResult, Verdict};

#[derive(Serialize)]
struct Results {
    score: f64,
    execution_time: u64,
    output: String,
    output_format: &'static str,
    test_output_format: &'static str,
    tests: Vec<Test>,
}

#[derive(Serialize)]
struct Test {
    name: String,
    number: String,
    score: f64,
    max_score: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'static str>,
    output: String,
    tags: Vec<String>,
    visibility: &'static str,
}

/// Writes results.json with every case visible.
pub fn write_gradescope(
    report: &RunReport,
    opts: &ReportOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    write_gradescope_with(report, opts, &|_| "visible", out)
}

/// Writes results.json, asking `visibility` for each case's Gradescope visibility: `visible`,
/// `hidden`, `after_due_date` or `after_published`.
pub fn write_gradescope_with(
    report: &RunReport,
    opts: &ReportOptions,
    visibility: &dyn Fn(&CaseResult) -> &'static str,
    out: &mut dyn Write,
) -> io::Result<()> {
    let tests = report
        .cases
        .iter()
        .map(|c| {
            let skip = c.verdict == Verdict::Skip;
            Test {
                name: if skip {
                    format!("{} (skipped)", c.title)
                } else {
                    c.title.clone()
                },
                number: c.id.clone(),
                score: c.points,
                max_score: if skip { 0.0 } else { c.max_points },
                status: match c.verdict {
                    Verdict::Skip => None,
                    v if counts_as_passed(v, opts.lenient) => Some("passed"),
                    _ => Some("failed"),
                },
                output: details_text(report, c, opts.lenient, Cap::FILE),
                tags: c.tags.clone(),
                visibility: visibility(c),
            }
        })
        .collect();
    let results = Results {
        score: report.score,
        execution_time: report.duration.as_secs_f64().ceil() as u64,
        output: summary(report, opts),
        output_format: "text",
        test_output_format: "text",
        tests,
    };
    write(&results, out)
}

fn summary(report: &RunReport, opts: &ReportOptions) -> String {
    let n = Counts::of(&report.cases);
    let mut s = String::new();
    if explain::unreachable(report) {
        s.push_str("The harness could not connect to your server, so no case could run.\n");
        s.push_str(&format!("{}\n\n", explain::unreachable_line(report)));
    }
    s.push_str(&format!(
        "Score {} / {}.\n{} passed, {} non-strict, {} failed, {} {}, {} skipped ({} {}, {:.1}s).\n",
        fmt_points(report.score),
        fmt_points(report.max_score),
        n.pass,
        n.non_strict,
        n.fail,
        n.error,
        if n.error == 1 { "error" } else { "errors" },
        n.skip,
        n.total(),
        if n.total() == 1 { "case" } else { "cases" },
        report.duration.as_secs_f64()
    ));
    if let Some(ws) = &report.ws_conf {
        s.push_str(&format!("Expectations follow {ws}.\n"));
    }
    let lost = super::student::view(report, opts.lenient);
    if !lost.lost.is_empty() {
        s.push_str("\nPoints lost, biggest first (each test's output says what to change):\n");
        for l in &lost.lost {
            let ids: Vec<&str> = l.cases.iter().map(|c| c.id.as_str()).collect();
            s.push_str(&format!(
                "  -{}  {}: {}\n",
                fmt_points(l.cost),
                l.name(),
                ids.join(", ")
            ));
        }
    }
    if n.non_strict > 0 {
        s.push_str(if opts.lenient {
            "Non-strict cases (right in substance, wrong in form) were given full points.\n"
        } else {
            "Non-strict cases are right in substance but not in form (see each case); they earn no points.\n"
        });
    }
    s
}

/// Writes results.json for a run that could not happen at all (the server did not start, the
/// cases could not be read): score 0, a first test saying why, then each case, given as
/// `(id, title, max_points)`, failed with the reason.
pub fn write_gradescope_failure(
    reason: &str,
    cases: &[(&str, &str, f64)],
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut tests = vec![Test {
        name: "The server could not be tested".to_string(),
        number: "server".to_string(),
        score: 0.0,
        max_score: 0.0,
        status: Some("failed"),
        output: reason.to_string(),
        tags: vec![],
        visibility: "visible",
    }];
    for (id, title, max) in cases {
        tests.push(Test {
            name: if title.is_empty() {
                id.to_string()
            } else {
                title.to_string()
            },
            number: id.to_string(),
            score: 0.0,
            max_score: *max,
            status: Some("failed"),
            output: format!("not run: {reason}\n"),
            tags: vec![],
            visibility: "visible",
        });
    }
    let max: f64 = cases.iter().map(|c| c.2).sum();
    let results = Results {
        score: 0.0,
        execution_time: 0,
        output: format!(
            "Your server could not be tested, so every case scores 0 (of {}).\n\n{reason}\n",
            fmt_points(max)
        ),
        output_format: "text",
        test_output_format: "text",
        tests,
    };
    write(&results, out)
}

fn write(results: &Results, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, results).map_err(io::Error::other)?;
    writeln!(out)
}
