//! The pretty format, for people at a terminal, and for a student most of all.
//!
//! One line per case (verdict, the points it earns after its rule is graded, id, title, and
//! why its points are what they are when the verdict does not say it). Then the points lost,
//! grouped by rule, biggest first: what the handout asks, and for each case that lost it the
//! failed check, what the server sent back (short), the case's hint and a line that replays
//! it; then the rules beyond the handout that were broken, apart, with what each would cost;
//! then what held; then the setup notes (a started server's ws.conf patches and ports),
//! folded to one line each. The summary names the ws.conf the expectations followed; its last
//! line is always, uncoloured,
//!
//! ```text
//! summary: P passed, F failed, S skipped
//! ```
//!
//! the closing line CI tools read: P counts `pass` (and `non-strict` when lenient), F counts
//! `fail`, `error` and (unless lenient) `non-strict`. A run that never reached its target
//! (nothing listening) is one line saying so, then the summary. Colours (pass green,
//! non-strict yellow, fail red, error magenta, skip dim) only when [`ReportOptions::color`]
//! says so.

use std::io::{self, Write};

use anstyle::{AnsiColor, Style};

use super::escape::{controls, one_line};
use super::explain::{self, points_note, points_text, skip_reason};
use super::student::{self, Loss};
use super::RunReport;
use super::{capped_transcript, fmt_points, Cap, Counts, ReportOptions};
use crate::outcome::{CaseResult, Verdict};
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
/// `id_width` characters (see [`id_width`]), and why its points are what they are when the
/// verdict does not say it (`— earns nothing: its rule ... is broken by ...`), or why it was
/// skipped.
pub fn case_line(
    report: &RunReport,
    c: &CaseResult,
    opts: &ReportOptions,
    id_width: usize,
) -> String {
    let why = match (skip_reason(c), points_note(report, c, opts.lenient)) {
        (Some(skip), _) => format!("  ({})", one_line(&skip)),
        (None, Some(note)) => format!("  — {}", one_line(&note)),
        (None, None) => String::new(),
    };
    line(c, &points_text(report, c), &why, opts.color, id_width)
}

/// The line of a case as it finishes, before its rule is graded: verdict, id and title, with
/// no points (they are known once every case of its rule has run), or why it was skipped.
pub fn progress_line(c: &CaseResult, color: bool, id_width: usize) -> String {
    let why = skip_reason(c)
        .map(|s| format!("  ({})", one_line(&s)))
        .unwrap_or_default();
    line(c, "", &why, color, id_width)
}

fn line(c: &CaseResult, points: &str, why: &str, color: bool, id_width: usize) -> String {
    let head = paint(
        color,
        verdict_style(c.verdict),
        &format!("{:<10}", label(c.verdict)),
    );
    let mut id = one_line(&c.id);
    let pad = id_width.saturating_sub(id.chars().count());
    let title = one_line(&c.title);
    let points = if points.is_empty() {
        String::new()
    } else {
        format!(" {points:>7}")
    };
    if c.verdict == Verdict::Skip {
        id.push_str(&" ".repeat(pad));
        let rest = format!("{points}  {id}  {title}{why}");
        return format!("{head}{}", paint(color, Style::new().dimmed(), &rest));
    }
    format!(
        "{head}{points}  {}{}  {title}{}",
        paint(color, Style::new().bold(), &id),
        " ".repeat(pad),
        paint(color, Style::new().dimmed(), why)
    )
}

/// The whole report: a line per case, then the details and the summary.
pub fn write_pretty(
    report: &RunReport,
    opts: &ReportOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    if explain::nothing_ran(report).is_none() {
        let width = id_width(report.cases.iter().map(|c| c.id.as_str()));
        for c in &report.cases {
            writeln!(out, "{}", case_line(report, c, opts, width))?;
        }
    }
    write_pretty_details(report, opts, out)
}

/// The details after the case lines (for use after a [`super::Progress`] printed them as the
/// cases finished): the points lost by rule, the rules beyond the handout, what held, the setup
/// notes, and the summary.
pub fn write_pretty_details(
    report: &RunReport,
    opts: &ReportOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    if let Some(why) = explain::nothing_ran(report) {
        let error = paint(opts.color, verdict_style(Verdict::Error), "ERROR");
        let why = controls(&why).replace('\n', "\n      ");
        writeln!(out, "{error} no case could run: {why}")?;
        write_setup(report, opts.color, out)?;
        writeln!(out)?;
        return write_summary(report, opts, out);
    }
    let view = student::view(report, opts.lenient);
    let mut seen = Shared::default();
    if !view.lost.is_empty() {
        let total = report.max_score;
        heading(
            out,
            opts.color,
            &format!(
                "Points lost: {} of {}, biggest first",
                fmt_points(view.points_lost()),
                fmt_points(total)
            ),
        )?;
        for loss in &view.lost {
            write_loss(report, loss, opts, false, &mut seen, out)?;
        }
    }
    if !view.beyond.is_empty() {
        heading(
            out,
            opts.color,
            "Beyond the handout: no points, unless a rubric counts them",
        )?;
        for loss in &view.beyond {
            write_loss(report, loss, opts, true, &mut seen, out)?;
        }
    }
    write_held(&view, opts, out)?;
    write_setup(report, opts.color, out)?;
    writeln!(out)?;
    write_summary(report, opts, out)
}

fn heading(out: &mut dyn Write, color: bool, text: &str) -> io::Result<()> {
    writeln!(out)?;
    writeln!(
        out,
        "{}",
        paint(color, Style::new().bold().underline(), text)
    )
}

/// Error reasons already written in full, so that cases that could not run for one reason
/// (a server that never started) say it once.
#[derive(Default)]
struct Shared<'a> {
    reasons: Vec<(&'a str, &'a str)>,
}

/// One lost rule (or case of no rule): its cost, what the handout asks, then each case that
/// lost it.
fn write_loss<'a>(
    report: &'a RunReport,
    loss: &Loss<'a>,
    opts: &ReportOptions,
    beyond: bool,
    seen: &mut Shared<'a>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let color = opts.color;
    let cost = if beyond {
        format!("would cost −{}", fmt_points(loss.cost))
    } else {
        format!("−{}", fmt_points(loss.cost))
    };
    let word = paint(
        color,
        verdict_style(Verdict::Fail),
        if beyond { "BROKEN" } else { "LOST" },
    );
    writeln!(out)?;
    match loss.rule {
        Some(r) => {
            writeln!(
                out,
                "{word} {}  {}",
                paint(color, Style::new().bold(), &r.rule),
                cost
            )?;
            if !r.asks.is_empty() {
                let who = if beyond {
                    "the rule asks:"
                } else {
                    "the handout asks:"
                };
                writeln!(out, "   {} {}", dim(color, who), one_line(&r.asks))?;
            }
        }
        None => {
            // A case of no rule is its own cause: its line is the heading.
            for c in &loss.cases {
                write_case(report, c, opts, &format!("{word} {cost}"), seen, out)?;
            }
            return Ok(());
        }
    }
    for c in &loss.cases {
        let verdict = paint(color, verdict_style(c.verdict), label(c.verdict));
        write_case(report, c, opts, &format!("   {verdict}"), seen, out)?;
    }
    Ok(())
}

fn dim(color: bool, text: &str) -> String {
    paint(color, Style::new().dimmed(), text)
}

/// One case that lost points: the failed check first, then the notes, what the server did,
/// the hint, the replay line and (when shown) the transcript.
fn write_case<'a>(
    report: &'a RunReport,
    c: &'a CaseResult,
    opts: &ReportOptions,
    lead: &str,
    seen: &mut Shared<'a>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let color = opts.color;
    writeln!(
        out,
        "{lead} {}  {}",
        paint(color, Style::new().bold(), &one_line(&c.id)),
        one_line(&c.title)
    )?;
    if let Some(why) = not_run_reason(c) {
        if let Some((_, first)) = seen.reasons.iter().find(|(w, _)| *w == why) {
            return writeln!(
                out,
                "      could not run, for the same reason as {}",
                one_line(first)
            );
        }
        seen.reasons.push((why, &c.id));
    }
    let bullet = paint(color, verdict_style(c.verdict), "•");
    let messages = explain::ordered_messages(c);
    for m in &messages {
        writeln!(
            out,
            "      {bullet} {}",
            controls(m).replace('\n', "\n        ")
        )?;
    }
    if messages.is_empty() {
        writeln!(out, "      {bullet} (no message)")?;
    }
    if let Some(note) = points_note(report, c, opts.lenient) {
        writeln!(out, "      {} {}", dim(color, "points:"), one_line(&note))?;
    }
    if let Some(x) = explain::last_exchange(c) {
        writeln!(out, "      {} {}", dim(color, "sent:  "), controls(&x.sent))?;
        writeln!(out, "      {} {}", dim(color, "got:   "), controls(&x.got))?;
    }
    if let Some(hint) = &c.hint {
        let label = paint(color, AnsiColor::Cyan.on_default().bold(), "hint:  ");
        writeln!(out, "      {label} {}", one_line(hint))?;
    }
    if let Some(r) = explain::reproducer(report, c) {
        writeln!(out, "      {} {}", dim(color, "replay:"), one_line(&r))?;
    }
    if opts.show_transcripts && !c.transcript.events.is_empty() {
        writeln!(out, "      {}", dim(color, "transcript:"))?;
        for line in capped_transcript(c, Cap::TERMINAL).lines() {
            writeln!(out, "        {}", controls(line))?;
        }
    }
    Ok(())
}

/// The reason of an error case that never reached the server (no transcript), if that is what
/// it is.
fn not_run_reason(c: &CaseResult) -> Option<&str> {
    (c.verdict == Verdict::Error && c.transcript.events.is_empty())
        .then(|| c.messages.first().map(String::as_str))
        .flatten()
}

/// What held: each counted rule on a line, the rules beyond the handout that held on one, the
/// cases that earned their points with something noted, and the cases of no rule that passed.
fn write_held(
    view: &student::StudentView<'_>,
    opts: &ReportOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let color = opts.color;
    let any = !view.held.is_empty()
        || !view.beyond_held.is_empty()
        || !view.noted.is_empty()
        || !view.passed.is_empty();
    if !any {
        return Ok(());
    }
    heading(out, color, "What held")?;
    for r in &view.held {
        let points = format!("{}/{}", fmt_points(r.points), fmt_points(r.max_points));
        writeln!(out, "{}", rule_line(r, &points, color))?;
    }
    if !view.beyond_held.is_empty() {
        let names: Vec<&str> = view.beyond_held.iter().map(|r| r.rule.as_str()).collect();
        writeln!(
            out,
            "{} beyond the handout: {}",
            paint(color, verdict_style(Verdict::Pass), "HELD  "),
            names.join(", ")
        )?;
    }
    if !view.passed.is_empty() {
        let points: f64 = view.passed.iter().map(|c| c.points).sum();
        writeln!(
            out,
            "  {} {} of no rule passed, {} points",
            view.passed.len(),
            if view.passed.len() == 1 {
                "case"
            } else {
                "cases"
            },
            fmt_points(points)
        )?;
    }
    if !view.noted.is_empty() {
        writeln!(out, "{}", dim(color, "earned their points, with notes:"))?;
        for c in &view.noted {
            let first = explain::ordered_messages(c)
                .first()
                .map(|m| one_line(m))
                .unwrap_or_default();
            let more = explain::ordered_messages(c).len().saturating_sub(1);
            let more = if more > 0 {
                format!(" (+{more} more)")
            } else {
                String::new()
            };
            writeln!(
                out,
                "  {} {}: {first}{more}",
                paint(color, verdict_style(c.verdict), "~"),
                one_line(&c.id)
            )?;
        }
    }
    Ok(())
}

/// `HELD   get                10/10`, `N/A    server-error        0/0  (not graded: ...)`: the
/// word, then the rule (a GitHub Classroom step reads the two).
fn rule_line(r: &RuleResult, points: &str, color: bool) -> String {
    let (word, style) = match r.status {
        RuleStatus::Held => ("HELD", verdict_style(Verdict::Pass)),
        RuleStatus::Lost => ("LOST", verdict_style(Verdict::Fail)),
        RuleStatus::NotGraded => ("N/A", verdict_style(Verdict::Skip)),
    };
    let why = match &r.note {
        Some(note) => format!("  ({})", one_line(note)),
        None => String::new(),
    };
    format!(
        "{} {:<16} {points:>7}{why}",
        paint(color, style, &format!("{word:<6}")),
        r.rule
    )
}

/// The run's setup notes (how a started server got its ws.conf, its ports, restarts), folded
/// to their first line: the whole of each went to stderr as it happened, and is in the html
/// and json reports.
fn write_setup(report: &RunReport, color: bool, out: &mut dyn Write) -> io::Result<()> {
    if report.notes.is_empty() {
        return Ok(());
    }
    heading(out, color, "Setup")?;
    for n in &report.notes {
        let mut lines = n.lines();
        let first = lines.next().unwrap_or("");
        let more = lines.count();
        let more = if more > 0 {
            dim(
                color,
                &format!(
                    " (+{more} {}: in --format html or json)",
                    if more == 1 { "line" } else { "lines" }
                ),
            )
        } else {
            String::new()
        };
        writeln!(out, "  {}{more}", one_line(first))?;
    }
    Ok(())
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
    if let Some(ws) = &report.ws_conf {
        writeln!(out, "expectations follow {}", one_line(ws))?;
    }
    if let Some(legend) = explain::port_legend(report) {
        writeln!(out, "{legend}")?;
    }
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
        assert_eq!(text.matches(why).count(), 1, "{text}");
        assert_eq!(
            text.matches("could not run, for the same reason as a")
                .count(),
            2,
            "{text}"
        );
        assert!(text.contains("• other"), "{text}");
        assert!(text.contains("(4 cases in"), "{text}");

        // Every case for one reason: the reason once, then the summary.
        let all = RunReport::new(
            "t".into(),
            Duration::from_secs(1),
            (0..50).map(|i| error(&format!("c{i}"), why)).collect(),
            vec![],
        );
        let mut out = Vec::new();
        write_pretty(&all, &opts, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches(why).count(), 1, "{text}");
        assert!(text.lines().count() <= 6, "{text}");
    }
}
