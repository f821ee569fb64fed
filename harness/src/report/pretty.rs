//! The pretty format, for people at a terminal.
//!
//! One line per case (verdict, points, id, title), then for every case that neither passed nor
//! was skipped: its messages (expected versus got), its transcript (capped, with a note of what
//! was cut) and a reproducer. Then the summary, whose last line is always, uncoloured,
//!
//! ```text
//! summary: P passed, F failed, S skipped
//! ```
//!
//! the closing line CI tools read: P counts `pass` (and `non-strict` when lenient), F counts
//! `fail`, `error` and (unless lenient) `non-strict`. The lines before it give the full breakdown
//! and the score. Colours (pass green, non-strict yellow, fail red, error magenta, skip dim) only
//! when [`ReportOptions::color`] says so.

use std::io::{self, Write};

use anstyle::{AnsiColor, Style};

use super::escape::{controls, one_line};
use super::{capped_transcript, fmt_points, Cap, Counts, ReportOptions};
use crate::outcome::{CaseResult, RunReport, Verdict};
use crate::rules::{RuleResult, RuleStatus};

/// The style of a verdict's label.
pub fn verdict_style(v: Verdict) -> Style {
    match v {
        Verdict::Pass => AnsiColor::Green.on_default().bold(),
        Verdict::NonStrict => AnsiColor::Yellow.on_default().bold(),
        Verdict::Fail => AnsiColor::Red.on_default().bold(),
        Verdict::Error => AnsiColor::Magenta.on_default().bold(),
        Verdict::Skip => Style::new().dimmed(),
    }
}

/// `text` wrapped in the style's escapes when `color`, else as is.
pub fn paint(color: bool, style: Style, text: &str) -> String {
    if color {
        format!("{style}{text}{style:#}")
    } else {
        text.to_string()
    }
}

fn label(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "PASS",
        Verdict::NonStrict => "NON-STRICT",
        Verdict::Fail => "FAIL",
        Verdict::Error => "ERROR",
        Verdict::Skip => "SKIP",
    }
}

/// The width to pad ids to so that titles line up: the longest id, at most 48 characters.
pub fn id_width<'a>(ids: impl IntoIterator<Item = &'a str>) -> usize {
    ids.into_iter()
        .map(|id| one_line(id).chars().count())
        .max()
        .unwrap_or(0)
        .min(48)
}

/// The line of one case, without its line end: `PASS        2/2  id  title`, the id padded to
/// `id_width` characters (see [`id_width`]).
pub fn case_line(c: &CaseResult, color: bool, id_width: usize) -> String {
    let points = if c.verdict == Verdict::Skip {
        "-".to_string()
    } else {
        format!("{}/{}", fmt_points(c.points), fmt_points(c.max_points))
    };
    let head = paint(
        color,
        verdict_style(c.verdict),
        &format!("{:<10}", label(c.verdict)),
    );
    let mut id = one_line(&c.id);
    let pad = id_width.saturating_sub(id.chars().count());
    let title = one_line(&c.title);
    if c.verdict == Verdict::Skip {
        let why = c
            .messages
            .first()
            .map(|m| format!("  ({})", one_line(m)))
            .unwrap_or_default();
        id.push_str(&" ".repeat(pad));
        let rest = format!(" {points:>7}  {id}  {title}{why}");
        return format!("{head}{}", paint(color, Style::new().dimmed(), &rest));
    }
    format!(
        "{head} {points:>7}  {}{}  {title}",
        paint(color, Style::new().bold(), &id),
        " ".repeat(pad)
    )
}

/// The whole report: a line per case, then details and the summary.
pub fn write_pretty(
    report: &RunReport,
    opts: &ReportOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let width = id_width(report.cases.iter().map(|c| c.id.as_str()));
    for c in &report.cases {
        writeln!(out, "{}", case_line(c, opts.color, width))?;
    }
    write_pretty_details(report, opts, out)
}

/// Details of every case that neither passed nor was skipped, then the summary; for use after a
/// [`super::Progress`] already printed the per-case lines.
pub fn write_pretty_details(
    report: &RunReport,
    opts: &ReportOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    // Cases that could not run for one same reason (a server that never started) share one
    // summary, not one copy per case.
    let mut shared: Vec<(&str, Vec<&str>)> = Vec::new();
    for c in report
        .cases
        .iter()
        .filter(|c| !matches!(c.verdict, Verdict::Pass | Verdict::Skip))
    {
        if let Some(why) = not_run_reason(c) {
            match shared.iter_mut().find(|(w, _)| *w == why) {
                Some((_, ids)) => {
                    ids.push(&c.id);
                    continue;
                }
                None => shared.push((why, vec![&c.id])),
            }
        }
        writeln!(out)?;
        write_case_details(c, opts, out)?;
    }
    for (why, ids) in shared.iter().filter(|(_, ids)| ids.len() > 1) {
        writeln!(out)?;
        let more = ids.len() - 1;
        writeln!(
            out,
            "{} {} more {} could not run for the same reason as {}: {}",
            paint(opts.color, verdict_style(Verdict::Error), "──"),
            more,
            if more == 1 { "case" } else { "cases" },
            one_line(ids[0]),
            one_line(why.lines().next().unwrap_or(""))
        )?;
    }
    if !report.notes.is_empty() {
        writeln!(out)?;
        for n in &report.notes {
            writeln!(out, "note: {}", n.replace('\n', "\n  "))?;
        }
    }
    writeln!(out)?;
    write_rules(report, opts.color, out)?;
    write_summary(report, opts, out)
}

/// The reason of an error case that never reached the server (no transcript), if that is what
/// it is.
fn not_run_reason(c: &CaseResult) -> Option<&str> {
    (c.verdict == Verdict::Error && c.transcript.events.is_empty())
        .then(|| c.messages.first().map(String::as_str))
        .flatten()
}

fn write_case_details(c: &CaseResult, opts: &ReportOptions, out: &mut dyn Write) -> io::Result<()> {
    let color = opts.color;
    let rule = paint(
        color,
        verdict_style(c.verdict),
        &format!("── {} ", label(c.verdict)),
    );
    let mut head = format!(
        "{rule}{}  {}  ({}/{})",
        paint(color, Style::new().bold(), &one_line(&c.id)),
        one_line(&c.title),
        fmt_points(c.points),
        fmt_points(c.max_points)
    );
    if c.verdict == Verdict::NonStrict {
        head.push_str(if opts.lenient {
            "  earns its points: the rule held (--strict-form would count it failed)"
        } else {
            "  counted as failed and earns nothing (--strict-form)"
        });
    }
    writeln!(out, "{head}")?;
    if let Some(spec) = &c.spec {
        writeln!(
            out,
            "   {} {}",
            paint(color, Style::new().dimmed(), "spec:"),
            one_line(spec)
        )?;
    }
    let bullet = paint(color, verdict_style(c.verdict), "•");
    for m in &c.messages {
        writeln!(out, "   {bullet} {}", controls(m).replace('\n', "\n     "))?;
    }
    if c.messages.is_empty() {
        writeln!(out, "   {bullet} (no message)")?;
    }
    if opts.show_transcripts && !c.transcript.events.is_empty() {
        writeln!(
            out,
            "   {}",
            paint(color, Style::new().dimmed(), "transcript:")
        )?;
        for line in capped_transcript(c, Cap::TERMINAL).lines() {
            writeln!(out, "     {}", controls(line))?;
        }
    }
    if let Some(r) = &c.reproducer {
        writeln!(
            out,
            "   {}",
            paint(color, Style::new().dimmed(), "reproduce:")
        )?;
        writeln!(out, "     {}", one_line(r))?;
    }
    Ok(())
}

/// The rules, held or lost: those that count, then those beyond the handout with what each
/// would cost.
fn write_rules(report: &RunReport, color: bool, out: &mut dyn Write) -> io::Result<()> {
    let (counted, beyond): (Vec<&RuleResult>, Vec<&RuleResult>) =
        report.rules.iter().partition(|r| r.counted);
    if !counted.is_empty() {
        writeln!(out, "rules:")?;
        for r in &counted {
            let points = format!("{}/{}", fmt_points(r.points), fmt_points(r.max_points));
            writeln!(out, "  {}", rule_line(r, &points, color))?;
        }
    }
    if !beyond.is_empty() {
        writeln!(
            out,
            "beyond the handout (no points; what each would cost if a rubric counted it):"
        )?;
        for r in &beyond {
            let cost = match r.status {
                RuleStatus::Lost => format!("-{}", fmt_points(r.cost())),
                _ => String::new(),
            };
            writeln!(out, "  {}", rule_line(r, &cost, color))?;
        }
    }
    if !report.rules.is_empty() {
        writeln!(out)?;
    }
    Ok(())
}

/// `HELD   get               10/10`, `LOST   keep-alive         0/10  broken by a, b`.
fn rule_line(r: &RuleResult, points: &str, color: bool) -> String {
    let (word, style) = match r.status {
        RuleStatus::Held => ("HELD", verdict_style(Verdict::Pass)),
        RuleStatus::Lost => ("LOST", verdict_style(Verdict::Fail)),
        RuleStatus::NotGraded => ("N/A", verdict_style(Verdict::Skip)),
    };
    let why = match (r.status, &r.note) {
        (RuleStatus::Lost, _) => format!("  broken by {}", r.broken_by.join(", ")),
        (_, Some(note)) => format!("  ({})", one_line(note)),
        _ => String::new(),
    };
    format!(
        "{} {:<16} {points:>7}{why}",
        paint(color, style, &format!("{word:<6}")),
        r.rule
    )
}

fn write_summary(report: &RunReport, opts: &ReportOptions, out: &mut dyn Write) -> io::Result<()> {
    let n = Counts::of(&report.cases);
    let color = opts.color;
    let part = |count: usize, word: &str, v: Verdict| {
        let text = format!("{count} {word}");
        if count > 0 {
            paint(color, verdict_style(v), &text)
        } else {
            text
        }
    };
    let errors = if n.error == 1 { "error" } else { "errors" };
    writeln!(
        out,
        "{}, {}, {}, {}, {}  ({} {} in {:.2}s against {})",
        part(n.pass, "passed", Verdict::Pass),
        part(n.non_strict, "non-strict", Verdict::NonStrict),
        part(n.fail, "failed", Verdict::Fail),
        part(n.error, errors, Verdict::Error),
        part(n.skip, "skipped", Verdict::Skip),
        n.total(),
        if n.total() == 1 { "case" } else { "cases" },
        report.duration.as_secs_f64(),
        one_line(&report.target),
    )?;
    let pct = if report.max_score > 0.0 {
        100.0 * report.score / report.max_score
    } else {
        100.0
    };
    let lenient = if opts.lenient {
        ""
    } else {
        "  (--strict-form: non-strict earns nothing)"
    };
    writeln!(
        out,
        "score {} / {}  ({:.0}%){lenient}",
        paint(color, Style::new().bold(), &fmt_points(report.score)),
        fmt_points(report.max_score),
        pct
    )?;
    // The closing line CI tools read: never coloured, always this exact form.
    writeln!(
        out,
        "summary: {} passed, {} failed, {} skipped",
        n.passed(opts.lenient),
        n.failed(opts.lenient),
        n.skip
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Transcript;
    use std::time::Duration;

    fn error(id: &str, why: &str) -> CaseResult {
        CaseResult {
            id: id.into(),
            title: id.into(),
            tags: vec![],
            spec: None,
            rule: None,
            hint: None,
            verdict: Verdict::Error,
            points: 0.0,
            max_points: 1.0,
            duration: Duration::ZERO,
            messages: vec![why.into()],
            transcript: Transcript::default(),
            reproducer: None,
        }
    }

    #[test]
    fn a_server_that_never_started_gets_one_summary_not_one_per_case() {
        let why = "the server could not be started: it did not listen on port 1 within 3s";
        let report = RunReport::new(
            "t".into(),
            Duration::from_secs(1),
            vec![
                error("a", why),
                error("b", why),
                error("c", why),
                error("d", "other"),
            ],
            vec![],
        );
        let opts = ReportOptions {
            color: false,
            lenient: false,
            show_transcripts: true,
        };
        let mut out = Vec::new();
        write_pretty(&report, &opts, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches(why).count(), 2, "{text}");
        assert!(
            text.contains("2 more cases could not run for the same reason as a"),
            "{text}"
        );
        assert!(text.contains("• other"), "{text}");
        assert!(text.contains("(4 cases in"), "{text}");
    }
}
