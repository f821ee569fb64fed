//! The tap format: TAP version 14 (<https://testanything.org/tap-version-14-specification.html>).
//!
//! ```text
//! TAP version 14
//! 1..5
//! ok 1 - assignment/basic/get: GET returns 200
//! not ok 2 - assignment/errors/bad-method: GRT is not a method
//!   ---
//!   message: "expected status 400, got 200"
//!   severity: fail
//!   ...
//!   transcript: |
//!     +0.000s @main connected
//!   ...
//! ok 3 - assignment/extra/etag: ETag is sent # SKIP should case: run with --strict
//! ```
//!
//! Choices:
//! - `non-strict` is `not ok` (severity `non-strict`) unless the run is lenient, when it is `ok`
//!   with its diagnostics still attached; the same rule as the pretty summary and JUnit. It is
//!   not a `# TODO`: a TODO hides the failure from TAP consumers, and it is not work to do later.
//! - `error` is `not ok` with severity `error`; `skip` is `ok ... # SKIP reason` (why it was
//!   not run).
//! - A comment after the plan names the ws.conf the expectations follow.
//! - Every case that did not pass gets a YAML block, indented two spaces between `---` and
//!   `...`: message (the failed check, never a note on form), severity, verdict, points, why
//!   the points are what they are, messages (the failed checks first), hint, spec, reproducer
//!   and the transcript as a literal block scalar (capped like the other file formats).
//!   Strings are double-quoted.
//! - `Bail out! cannot reach TARGET` right after the plan when every case that was not skipped is
//!   an error because the target could not be connected to ([`unreachable`]).
//! - In descriptions `\` and `#` are escaped as `\\` and `\#`, as TAP 14 requires.

use std::io::{self, Write};

use super::escape::controls;
use super::explain::{ordered_messages, points_note, reproducer, skip_reason};
use super::RunReport;
use super::{capped_transcript, case_name, fmt_points, Cap, ReportOptions};
use crate::outcome::{CaseResult, Verdict};

pub use super::explain::unreachable;

/// Writes the report as TAP 14.
pub fn write_tap(report: &RunReport, opts: &ReportOptions, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "TAP version 14")?;
    writeln!(out, "1..{}", report.cases.len())?;
    if let Some(ws) = &report.ws_conf {
        writeln!(out, "# expectations follow {}", flat(ws))?;
    }
    if unreachable(report) {
        let why = report
            .cases
            .iter()
            .find(|c| c.verdict == Verdict::Error)
            .and_then(|c| c.messages.first())
            .map(|m| format!(": {}", flat(m)))
            .unwrap_or_default();
        return writeln!(out, "Bail out! cannot reach {}{why}", flat(&report.target));
    }
    for (i, c) in report.cases.iter().enumerate() {
        let n = i + 1;
        let desc = description(&case_name(c));
        match c.verdict {
            Verdict::Pass => writeln!(out, "ok {n} - {desc}")?,
            Verdict::Skip => {
                let why = skip_reason(c)
                    .map(|m| format!(" {}", description(&m)))
                    .unwrap_or_default();
                writeln!(out, "ok {n} - {desc} # SKIP{why}")?
            }
            Verdict::NonStrict if opts.lenient => {
                writeln!(out, "ok {n} - {desc}")?;
                write_yaml(report, c, opts, out)?;
            }
            Verdict::NonStrict | Verdict::Fail | Verdict::Error => {
                writeln!(out, "not ok {n} - {desc}")?;
                write_yaml(report, c, opts, out)?;
            }
        }
    }
    Ok(())
}

/// One line, no control characters.
fn flat(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A test point's description: one line, `\` and `#` escaped.
fn description(s: &str) -> String {
    flat(s).replace('\\', "\\\\").replace('#', "\\#")
}

fn write_yaml(
    report: &RunReport,
    c: &CaseResult,
    opts: &ReportOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(out, "  ---")?;
    let messages = ordered_messages(c);
    if let Some(m) = messages.first() {
        writeln!(out, "  message: {}", yaml_quote(m))?;
    }
    writeln!(out, "  severity: {}", c.verdict.as_str())?;
    writeln!(out, "  id: {}", yaml_quote(&c.id))?;
    writeln!(out, "  verdict: {}", c.verdict.as_str())?;
    writeln!(out, "  points: {}", fmt_points(c.points))?;
    writeln!(out, "  max_points: {}", fmt_points(c.max_points))?;
    writeln!(out, "  duration_ms: {}", c.duration.as_millis())?;
    if let Some(note) = points_note(report, c, opts.lenient) {
        writeln!(out, "  points_note: {}", yaml_quote(&note))?;
    }
    if !messages.is_empty() {
        writeln!(out, "  messages:")?;
        for m in &messages {
            writeln!(out, "    - {}", yaml_quote(m))?;
        }
    }
    if let Some(hint) = &c.hint {
        writeln!(out, "  hint: {}", yaml_quote(hint))?;
    }
    if let Some(spec) = &c.spec {
        writeln!(out, "  spec: {}", yaml_quote(spec))?;
    }
    if let Some(r) = reproducer(report, c) {
        writeln!(out, "  reproducer: {}", yaml_quote(&r))?;
    }
    if !c.transcript.events.is_empty() {
        writeln!(out, "  transcript: |")?;
        for line in capped_transcript(c, Cap::FILE).lines() {
            writeln!(out, "    {}", controls(line))?;
        }
    }
    writeln!(out, "  ...")
}

/// A YAML double-quoted scalar on one line. Only YAML's printable characters are written as is;
/// the rest as `\n`, `\r`, `\t` or `\uXXXX`.
pub fn yaml_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{20}'..='\u{7E}' => out.push(c),
            '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..
                if !matches!(c, '\u{2028}' | '\u{2029}' | '\u{FEFF}') =>
            {
                out.push(c)
            }
            c if (c as u32) <= 0xFFFF => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_escape_hash_and_backslash() {
        assert_eq!(description("a # b \\ c\nd"), "a \\# b \\\\ c d");
    }

    #[test]
    fn yaml_strings_are_quoted_and_escaped() {
        assert_eq!(
            yaml_quote("say \"hi\"\r\n\0\x7f é"),
            "\"say \\\"hi\\\"\\r\\n\\u0000\\u007f é\""
        );
    }
}
