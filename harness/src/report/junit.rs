//! The junit format: JUnit XML, as CI systems (GitLab, Jenkins, GitHub test reporters) read it.
//!
//! ```text
//! <testsuites name="harness" tests failures errors skipped time>
//!   <testsuite name="TARGET" tests failures errors skipped time>
//!     <properties>target, score, max_score, lenient, ws_conf</properties>
//!     <testcase name="id: title" classname="harness.<first segment of id>" time>
//!       <failure message type="fail|non-strict">details</failure>   fail; non-strict unless lenient
//!                                     (message: the failed check, never a note on form)
//!       <error message type="error">details</error>                 the harness could not run it
//!       <skipped message/>                                          skip
//!       <system-out>transcript</system-out>
//! ```
//!
//! `<failure>` is for a server that missed a check, `<error>` only for a harness fault (lesson 10
//! of the anchors); `testcase@name` is always present. Text and attributes are escaped, and
//! characters XML 1.0 forbids are written visibly (see [`super::escape`]). A lenient non-strict
//! case passes, with its reasons in `<system-out>`.

use std::io::{self, Write};

use super::escape::{xml_attr, xml_text};
use super::explain::{primary_message, skip_reason};
use super::RunReport;
use super::{capped_transcript, case_name, details_text, fmt_points, Cap, Counts, ReportOptions};
use crate::outcome::{CaseResult, Verdict};

/// `harness.<first path segment of the id>`, or `harness` for an id without one.
pub fn classname(id: &str) -> String {
    match id
        .split('/')
        .next()
        .filter(|s| !s.is_empty() && id.contains('/'))
    {
        Some(first) => format!("harness.{first}"),
        None => "harness".to_string(),
    }
}

fn secs(d: std::time::Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

/// Writes the report as JUnit XML.
pub fn write_junit(
    report: &RunReport,
    opts: &ReportOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let n = Counts::of(&report.cases);
    let failures = n.fail + if opts.lenient { 0 } else { n.non_strict };
    let counts = format!(
        "tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\"",
        n.total(),
        failures,
        n.error,
        n.skip,
        secs(report.duration)
    );
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(out, r#"<testsuites name="harness" {counts}>"#)?;
    writeln!(
        out,
        r#"  <testsuite name="{}" {counts}>"#,
        xml_attr(&report.target)
    )?;
    writeln!(out, "    <properties>")?;
    for (name, value) in [
        ("target", report.target.clone()),
        ("score", fmt_points(report.score)),
        ("max_score", fmt_points(report.max_score)),
        ("lenient", opts.lenient.to_string()),
        ("ws_conf", report.ws_conf.clone().unwrap_or_default()),
    ] {
        writeln!(
            out,
            r#"      <property name="{name}" value="{}"/>"#,
            xml_attr(&value)
        )?;
    }
    writeln!(out, "    </properties>")?;
    for c in &report.cases {
        write_case(report, c, opts, out)?;
    }
    writeln!(out, "  </testsuite>")?;
    writeln!(out, "</testsuites>")
}

fn write_case(
    report: &RunReport,
    c: &CaseResult,
    opts: &ReportOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    write!(
        out,
        r#"    <testcase name="{}" classname="{}" time="{}""#,
        xml_attr(&case_name(c)),
        xml_attr(&classname(&c.id)),
        secs(c.duration)
    )?;
    // The failed check, never a note on form; for a skip, why it was not run.
    let message = match skip_reason(c) {
        Some(why) => why,
        None => primary_message(c).unwrap_or("").to_string(),
    };
    let details = || xml_text(&details_text(report, c, opts.lenient, Cap::FILE));
    let element = match c.verdict {
        Verdict::Pass => None,
        Verdict::NonStrict if opts.lenient => None,
        Verdict::NonStrict | Verdict::Fail => Some("failure"),
        Verdict::Error => Some("error"),
        Verdict::Skip => {
            writeln!(out, ">")?;
            writeln!(out, r#"      <skipped message="{}"/>"#, xml_attr(&message))?;
            return writeln!(out, "    </testcase>");
        }
    };
    let lenient_non_strict = c.verdict == Verdict::NonStrict && opts.lenient;
    if element.is_none() && !lenient_non_strict {
        return writeln!(out, "/>");
    }
    writeln!(out, ">")?;
    if let Some(element) = element {
        writeln!(
            out,
            r#"      <{element} message="{}" type="{}">{}</{element}>"#,
            xml_attr(&message),
            c.verdict.as_str(),
            details()
        )?;
        if !c.transcript.events.is_empty() {
            let text = capped_transcript(c, Cap::FILE);
            writeln!(out, "      <system-out>{}</system-out>", xml_text(&text))?;
        }
    } else {
        // A lenient non-strict pass: no failure, but the reasons and transcript are kept.
        writeln!(out, "      <system-out>{}</system-out>", details())?;
    }
    writeln!(out, "    </testcase>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classname_is_the_first_segment() {
        assert_eq!(
            classname("assignment/errors/bad-method"),
            "harness.assignment"
        );
        assert_eq!(classname("toplevel"), "harness");
        assert_eq!(classname("/odd"), "harness");
    }
}
