//! Writing a [`crate::report::RunReport`] in each output format.
//!
//! One module per format, each written from the outcome types alone:
//!
//! - [`pretty`]: coloured lines for a terminal, details of what went wrong, a summary whose last
//!   line is `summary: P passed, F failed, S skipped`.
//! - [`json`]: the whole report as pretty-printed JSON, transcripts included.
//! - [`tap`]: TAP version 14 with YAML diagnostics.
//! - [`junit`]: JUnit XML for CI systems (`<failure>` for misses, `<error>` for harness faults).
//! - [`gradescope`]: Gradescope's autograder `results.json`.
//! - [`html`]: one self-contained page per run, and an index page for a class.
//! - [`progress`]: live output while cases run.
//!
//! Cases are always written in the order of the report (the input order). Verdicts map to
//! "passed" or "failed" the same way in every format: `pass` passes, `non-strict` passes (and
//! earns its points) unless the run is `--strict-form`, `fail` and `error` fail, `skip` is
//! neither.

use std::io::{self, Write};

use crate::outcome::{CaseResult, Verdict};

pub mod escape;
pub mod explain;
pub mod gradescope;
pub mod html;
pub mod json;
pub mod junit;
pub mod pretty;
pub mod progress;
pub mod run_report;
pub mod student;
pub mod tap;

pub use gradescope::{write_gradescope, write_gradescope_failure, write_gradescope_with};
pub use html::{write_html, write_html_index, IndexEntry};
pub use pretty::write_pretty_details;
pub use progress::Progress;
pub use run_report::RunReport;

/// An output format, as chosen with `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Pretty,
    Json,
    Tap,
    Junit,
    Gradescope,
    Html,
}

/// Choices that change how a report is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportOptions {
    /// Colour the pretty output with ANSI escapes (the caller decides: `--color`, `NO_COLOR`, tty).
    pub color: bool,
    /// Count `non-strict` as passed: true unless `--strict-form`. Points in the report already
    /// reflect it.
    pub lenient: bool,
    /// Pretty output: show the transcript of each case that did not pass.
    pub show_transcripts: bool,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            color: false,
            lenient: true,
            show_transcripts: true,
        }
    }
}

/// Writes the whole report in the format.
pub fn write_report(
    format: Format,
    report: &RunReport,
    opts: &ReportOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Pretty => pretty::write_pretty(report, opts, out),
        Format::Json => json::write_json(report, opts, out),
        Format::Tap => tap::write_tap(report, opts, out),
        Format::Junit => junit::write_junit(report, opts, out),
        Format::Gradescope => gradescope::write_gradescope(report, opts, out),
        Format::Html => html::write_html(report, opts, out),
    }
}

/// How many cases had each verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub pass: usize,
    pub non_strict: usize,
    pub fail: usize,
    pub error: usize,
    pub skip: usize,
}

impl Counts {
    pub fn of(cases: &[CaseResult]) -> Counts {
        let mut c = Counts::default();
        for case in cases {
            match case.verdict {
                Verdict::Pass => c.pass += 1,
                Verdict::NonStrict => c.non_strict += 1,
                Verdict::Fail => c.fail += 1,
                Verdict::Error => c.error += 1,
                Verdict::Skip => c.skip += 1,
            }
        }
        c
    }

    pub fn total(&self) -> usize {
        self.pass + self.non_strict + self.fail + self.error + self.skip
    }

    /// Cases that count as passed: pass, and non-strict when lenient.
    pub fn passed(&self, lenient: bool) -> usize {
        self.pass + if lenient { self.non_strict } else { 0 }
    }

    /// Cases that count as failed: fail, error, and non-strict unless lenient.
    pub fn failed(&self, lenient: bool) -> usize {
        self.fail + self.error + if lenient { 0 } else { self.non_strict }
    }
}

/// Whether a verdict counts as passed: pass, and non-strict when lenient. Skip is neither.
pub fn counts_as_passed(v: Verdict, lenient: bool) -> bool {
    v == Verdict::Pass || (v == Verdict::NonStrict && lenient)
}

/// Whether a verdict counts as failed: fail, error, and non-strict unless lenient.
pub fn counts_as_failed(v: Verdict, lenient: bool) -> bool {
    matches!(v, Verdict::Fail | Verdict::Error) || (v == Verdict::NonStrict && !lenient)
}

/// Points as people write them: `2`, `0.5`, `1.25` (at most two decimals, no trailing zeros).
pub fn fmt_points(p: f64) -> String {
    if !p.is_finite() {
        return p.to_string();
    }
    let s = format!("{:.2}", p);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// A case as one line of text: `id: title`, or the id alone when the title is empty.
pub fn case_name(c: &CaseResult) -> String {
    if c.title.is_empty() {
        c.id.clone()
    } else {
        format!("{}: {}", c.id, c.title)
    }
}

/// Limits for a transcript shown as text.
#[derive(Debug, Clone, Copy)]
pub struct Cap {
    /// Past this many lines, only the first `head` and last `tail` lines are kept.
    pub max_lines: usize,
    pub head: usize,
    pub tail: usize,
    /// Longer lines are cut to this many characters.
    pub max_line_chars: usize,
}

impl Cap {
    /// For a terminal: a screenful or two.
    pub const TERMINAL: Cap = Cap {
        max_lines: 60,
        head: 40,
        tail: 15,
        max_line_chars: 600,
    };
    /// For files read in a browser or a CI page: generous, but bounded.
    pub const FILE: Cap = Cap {
        max_lines: 400,
        head: 300,
        tail: 80,
        max_line_chars: 8000,
    };
}

/// The transcript's text (`Transcript::to_text`), capped: over-long lines are cut with a note of
/// how many characters were cut, and when there are too many lines the middle ones are replaced
/// by a note of how many were cut. Every line ends with `\n`; empty for an empty transcript.
pub fn capped_transcript(c: &CaseResult, cap: Cap) -> String {
    cap_text(&c.transcript.to_text(), cap)
}

/// See [`capped_transcript`].
pub fn cap_text(text: &str, cap: Cap) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::new();
    let mut push = |line: &str| {
        let n = line.chars().count();
        if n > cap.max_line_chars {
            let kept: String = line.chars().take(cap.max_line_chars).collect();
            out.push_str(&kept);
            out.push_str(&format!(
                "… [{} more characters cut]\n",
                n - cap.max_line_chars
            ));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    };
    if lines.len() > cap.max_lines && cap.head + cap.tail < lines.len() {
        for l in &lines[..cap.head] {
            push(l);
        }
        push(&format!(
            "… [{} lines cut] …",
            lines.len() - cap.head - cap.tail
        ));
        for l in &lines[lines.len() - cap.tail..] {
            push(l);
        }
    } else {
        for l in &lines {
            push(l);
        }
    }
    out
}

/// Plain-text details of one case, for formats that carry a text blob per case (JUnit,
/// Gradescope): the verdict and points (and why, when the verdict does not say it), the
/// messages (the failed check first), the hint, the transcript (capped) and a replay line.
pub fn details_text(report: &RunReport, c: &CaseResult, lenient: bool, cap: Cap) -> String {
    let mut s = String::new();
    let what = match c.verdict {
        Verdict::Pass => "passed".to_string(),
        Verdict::NonStrict if lenient => "non-strict (counted as passed)".to_string(),
        Verdict::NonStrict => "non-strict (counted as failed: --strict-form)".to_string(),
        Verdict::Fail => "failed".to_string(),
        Verdict::Error => "error: the harness could not run this case".to_string(),
        Verdict::Skip => "skipped".to_string(),
    };
    s.push_str(&format!(
        "{} — {} / {} points\n",
        what,
        fmt_points(c.points),
        fmt_points(c.max_points)
    ));
    if let Some(note) = explain::points_note(report, c, lenient) {
        s.push_str(&format!("({note})\n"));
    }
    if let Some(spec) = &c.spec {
        s.push_str(&format!("spec: {spec}\n"));
    }
    match explain::skip_reason(c) {
        Some(why) => s.push_str(&format!("- {why}\n")),
        None => {
            for m in explain::ordered_messages(c) {
                s.push_str(&format!("- {}\n", m.replace('\n', "\n  ")));
            }
        }
    }
    if let Some(hint) = c.hint.as_ref().filter(|_| c.verdict != Verdict::Pass) {
        s.push_str(&format!("\nhint: {hint}\n"));
    }
    if !c.transcript.events.is_empty() {
        s.push_str("\ntranscript:\n");
        for line in capped_transcript(c, cap).lines() {
            s.push_str("  ");
            s.push_str(line);
            s.push('\n');
        }
    }
    if let Some(r) = explain::reproducer(report, c) {
        s.push_str(&format!("\nreproduce:\n  {r}\n"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_short() {
        assert_eq!(fmt_points(2.0), "2");
        assert_eq!(fmt_points(0.5), "0.5");
        assert_eq!(fmt_points(1.25), "1.25");
        assert_eq!(fmt_points(0.0), "0");
        assert_eq!(fmt_points(10.0), "10");
        assert_eq!(fmt_points(1.0 / 3.0), "0.33");
    }

    #[test]
    fn long_text_is_capped_with_a_note() {
        let text: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let cap = Cap {
            max_lines: 20,
            head: 5,
            tail: 3,
            max_line_chars: 100,
        };
        let out = cap_text(&text, cap);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 9);
        assert_eq!(lines[0], "line 0");
        assert_eq!(lines[5], "… [92 lines cut] …");
        assert_eq!(lines[8], "line 99");

        let long = "x".repeat(250);
        let out = cap_text(&long, cap);
        assert!(out.starts_with(&"x".repeat(100)));
        assert!(out.contains("[150 more characters cut]"), "{out}");
    }

    #[test]
    fn short_text_is_untouched() {
        let text = "a\nb\n";
        assert_eq!(cap_text(text, Cap::TERMINAL), text);
    }
}
