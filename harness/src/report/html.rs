//! The html format: one self-contained page per run, and an index page for a class.
//!
//! The page has no external assets: inline CSS, and a few lines of inline JS that only add
//! "expand/collapse all" buttons; everything works without JS, and it reads on a phone (a
//! viewport, and a layout that stacks on a narrow screen). It is a student's report: a header
//! gives the target, the ws.conf the expectations follow, the score with a bar and the count of
//! each verdict; then the points lost, grouped by rule, biggest first, each with what the
//! handout asks and, for each case that lost it, the failed check, what the server sent back
//! (short), the case's hint, a line that replays it and its transcript (folded); then the
//! rules beyond the handout that were broken, apart, with what each would cost; what held;
//! every case in input order as a row coloured by verdict (its points after its rule is
//! graded, and why when the verdict does not say it), each a `<details>` that opens onto its
//! messages, transcript (sent, received and notes told apart by colour; capped) and
//! reproducer; and last, folded, the setup notes (ws.conf patches, ports). Every piece of case
//! data is HTML-escaped.
//!
//! [`write_html_index`] writes the class page: one row per submission with its score, a bar, a
//! link to its report, why it lost points and the error when it could not be graded; a click on
//! the submission or score heading sorts the table (inline JS; without it, the order given).

use std::io::{self, Write};
use std::time::Duration;

use super::escape::html;
use super::RunReport;
use super::{explain, fmt_points, student, Cap, Counts, ReportOptions};
use crate::outcome::{CaseResult, Verdict};
use crate::rules::RuleStatus;

/// Inlined into every page: no external assets.
const STYLE: &str = include_str!("html.css");

/// Inlined into every page; it only adds buttons, the page works without it.
const SCRIPT: &str = include_str!("html.js");

fn verdict_label(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::NonStrict => "non-strict",
        Verdict::Fail => "fail",
        Verdict::Error => "error",
        Verdict::Skip => "skip",
    }
}

fn fmt_duration(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 1000.0 {
        format!("{:.0} ms", ms)
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

fn percent(score: f64, max: f64) -> f64 {
    if max > 0.0 {
        (100.0 * score / max).clamp(0.0, 100.0)
    } else {
        100.0
    }
}

fn page_start(title: &str, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">"
    )?;
    writeln!(
        out,
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    )?;
    writeln!(
        out,
        "<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>",
        html(title)
    )
}

/// Writes the report as one self-contained HTML page: the header (target, the ws.conf the
/// expectations follow, score), the points lost by rule, the rules beyond the handout that were
/// broken, what held, every case, and the setup notes folded at the end.
pub fn write_html(report: &RunReport, opts: &ReportOptions, out: &mut dyn Write) -> io::Result<()> {
    page_start(
        &format!(
            "{} / {} — HTTP conformance of {}",
            fmt_points(report.score),
            fmt_points(report.max_score),
            report.target
        ),
        out,
    )?;
    write_header(report, opts, out)?;
    writeln!(out, "<main>")?;
    if explain::unreachable(report) {
        writeln!(
            out,
            "<p class=\"unreachable\">{}</p>",
            html(&explain::unreachable_line(report))
        )?;
    } else {
        let view = student::view(report, opts.lenient);
        write_losses(report, &view, opts, out)?;
        write_held(&view, out)?;
    }
    write_all_cases(report, opts, out)?;
    write_setup(report, out)?;
    writeln!(out, "</main>")?;
    writeln!(
        out,
        "<footer>written by harness · lost points first, then every case in input order</footer>"
    )?;
    writeln!(out, "<script>{SCRIPT}</script>\n</body>\n</html>")
}

fn write_header(report: &RunReport, opts: &ReportOptions, out: &mut dyn Write) -> io::Result<()> {
    let n = Counts::of(&report.cases);
    let pct = percent(report.score, report.max_score);
    writeln!(out, "<header><div class=\"inner\">")?;
    writeln!(out, "<h1>HTTP conformance report</h1>")?;
    let lenient = if opts.lenient {
        ""
    } else {
        " · <span class=\"lenient\">--strict-form: non-strict earns nothing</span>"
    };
    writeln!(
        out,
        "<p class=\"sub\">target <code>{}</code> · {} {} · {}{lenient}</p>",
        html(&report.target),
        n.total(),
        if n.total() == 1 { "case" } else { "cases" },
        fmt_duration(report.duration)
    )?;
    if let Some(ws) = &report.ws_conf {
        writeln!(
            out,
            "<p class=\"sub ws-conf\">expectations follow {}</p>",
            html(ws)
        )?;
    }
    writeln!(
        out,
        "<div class=\"score\"><span class=\"num\">{} <small>/ {} points</small></span>\
         <div class=\"bar\" title=\"{pct:.0}%\"><span style=\"width:{pct:.1}%\"></span></div>\
         <span class=\"num\"><small>{pct:.0}%</small></span></div>",
        fmt_points(report.score),
        fmt_points(report.max_score)
    )?;
    writeln!(out, "<ul class=\"counts\">")?;
    for (count, v) in [
        (n.pass, Verdict::Pass),
        (n.non_strict, Verdict::NonStrict),
        (n.fail, Verdict::Fail),
        (n.error, Verdict::Error),
        (n.skip, Verdict::Skip),
    ] {
        let zero = if count == 0 { " zero" } else { "" };
        writeln!(
            out,
            "<li class=\"chip v-{}{zero}\">{count} {}</li>",
            verdict_label(v),
            verdict_label(v)
        )?;
    }
    writeln!(out, "</ul>\n</div></header>")
}

/// The points lost by rule, biggest first, then the rules beyond the handout that were broken.
fn write_losses(
    report: &RunReport,
    view: &student::StudentView<'_>,
    opts: &ReportOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    if !view.lost.is_empty() {
        writeln!(
            out,
            "<section class=\"losses\" id=\"lost\">\n<h2>Points lost: {} of {}</h2>",
            fmt_points(view.points_lost()),
            fmt_points(report.max_score)
        )?;
        for loss in &view.lost {
            write_loss(report, loss, opts, false, out)?;
        }
        writeln!(out, "</section>")?;
    }
    if !view.beyond.is_empty() {
        writeln!(
            out,
            "<section class=\"losses beyond\" id=\"beyond\">\n<h2>Beyond the handout</h2>\n<p class=\"meta\">\
             These rules are not the handout's: they earn no points unless a rubric counts them. \
             Each says what it would cost.</p>"
        )?;
        for loss in &view.beyond {
            write_loss(report, loss, opts, true, out)?;
        }
        writeln!(out, "</section>")?;
    }
    Ok(())
}

fn write_loss(
    report: &RunReport,
    loss: &student::Loss<'_>,
    opts: &ReportOptions,
    beyond: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    let cost = if beyond {
        format!("would cost −{}", fmt_points(loss.cost))
    } else {
        format!("−{}", fmt_points(loss.cost))
    };
    writeln!(
        out,
        "<article class=\"loss\">\n<h3><span class=\"cost\">{cost}</span> {}</h3>",
        html(loss.name())
    )?;
    if let Some(r) = loss.rule.filter(|r| !r.asks.is_empty()) {
        let who = if beyond {
            "The rule asks"
        } else {
            "The handout asks"
        };
        writeln!(out, "<p class=\"asks\"><b>{who}:</b> {}</p>", html(&r.asks))?;
    }
    let mut said: Vec<(&str, &str)> = Vec::new();
    for c in &loss.cases {
        write_evidence(report, c, opts, &mut said, out)?;
    }
    writeln!(out, "</article>")
}

/// One case that lost points: the failed check first, what the server did, the hint, the
/// replay line, and the transcript folded.
fn write_evidence<'a>(
    report: &RunReport,
    c: &'a CaseResult,
    opts: &ReportOptions,
    said: &mut Vec<(&'a str, &'a str)>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let v = verdict_label(c.verdict);
    writeln!(
        out,
        "<div class=\"evidence {v}\">\n<p class=\"case-title\"><span class=\"verdict v-{v}\">{v}</span> \
         <code class=\"id\">{}</code> <span class=\"title\">{}</span></p>",
        html(&c.id),
        html(&c.title)
    )?;
    let not_run = (c.verdict == Verdict::Error && c.transcript.events.is_empty())
        .then(|| c.messages.first().map(String::as_str))
        .flatten();
    if let Some(why) = not_run {
        if let Some((_, first)) = said.iter().find(|(w, _)| *w == why) {
            writeln!(
                out,
                "<p class=\"meta\">could not run, for the same reason as <code>{}</code></p>\n</div>",
                html(first)
            )?;
            return Ok(());
        }
        said.push((why, &c.id));
    }
    writeln!(out, "<ul class=\"messages\">")?;
    for m in explain::ordered_messages(c) {
        writeln!(out, "<li>{}</li>", html(m))?;
    }
    writeln!(out, "</ul>")?;
    if let Some(note) = explain::points_note(report, c, opts.lenient) {
        writeln!(out, "<p class=\"meta\">{}</p>", html(&note))?;
    }
    if let Some(x) = explain::last_exchange(c) {
        writeln!(
            out,
            "<dl class=\"exchange\"><dt>sent</dt><dd><code>{}</code></dd><dt>got</dt><dd><code>{}</code></dd></dl>",
            html(&x.sent),
            html(&x.got)
        )?;
    }
    if let Some(hint) = &c.hint {
        writeln!(out, "<p class=\"hint\"><b>Hint</b> {}</p>", with_code(hint))?;
    }
    if let Some(r) = explain::reproducer(report, c) {
        writeln!(out, "<pre class=\"repro\">{}</pre>", html(&r))?;
    }
    if !c.transcript.events.is_empty() {
        writeln!(
            out,
            "<details class=\"transcript\"><summary>transcript</summary><pre class=\"transcript\">"
        )?;
        for (class, line) in transcript_lines(c, Cap::FILE) {
            writeln!(out, "<span class=\"{class}\">{}</span>", html(&line))?;
        }
        writeln!(out, "</pre></details>")?;
    }
    writeln!(out, "</div>")
}

/// The rules that held (and those not graded in this run), and the rules beyond the handout
/// that held.
fn write_held(view: &student::StudentView<'_>, out: &mut dyn Write) -> io::Result<()> {
    if view.held.is_empty() && view.beyond_held.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "<section class=\"held\" id=\"held\">\n<h2>What held</h2>\n<ul class=\"rules\">"
    )?;
    for r in &view.held {
        let (word, class) = match r.status {
            RuleStatus::NotGraded => ("not graded", "skip"),
            _ => ("held", "pass"),
        };
        let note = r
            .note
            .as_deref()
            .map(|n| format!(" <span class=\"meta\">{}</span>", html(n)))
            .unwrap_or_default();
        writeln!(
            out,
            "<li><span class=\"verdict v-{class}\">{word}</span> <b>{}</b> \
             <span class=\"pts\">{} / {}</span>{note}</li>",
            html(&r.rule),
            fmt_points(r.points),
            fmt_points(r.max_points)
        )?;
    }
    writeln!(out, "</ul>")?;
    if !view.beyond_held.is_empty() {
        let names: Vec<String> = view.beyond_held.iter().map(|r| html(&r.rule)).collect();
        writeln!(
            out,
            "<p class=\"meta\">beyond the handout, held too: {}</p>",
            names.join(", ")
        )?;
    }
    writeln!(out, "</section>")
}

/// Every case in input order, each a row that opens onto its details; closed when the page
/// loads (the points lost are above).
fn write_all_cases(
    report: &RunReport,
    opts: &ReportOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(
        out,
        "<section class=\"all\" id=\"cases\">\n<h2>Every case</h2>"
    )?;
    writeln!(out, "<div class=\"tools\"></div>")?;
    writeln!(out, "<div class=\"cases\">")?;
    writeln!(
        out,
        "<div class=\"row head\"><span>#</span><span>case</span><span>verdict</span>\
         <span class=\"pts\">points</span><span class=\"dur\">time</span></div>"
    )?;
    for (i, c) in report.cases.iter().enumerate() {
        write_case(i + 1, report, c, opts, out)?;
    }
    writeln!(out, "</div>\n</section>")
}

/// The setup notes (how a started server got its ws.conf, its ports, restarts), folded.
fn write_setup(report: &RunReport, out: &mut dyn Write) -> io::Result<()> {
    if report.notes.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "<details class=\"setup\" id=\"setup\"><summary>Setup: {} {} (ws.conf, ports, restarts)</summary>",
        report.notes.len(),
        if report.notes.len() == 1 {
            "note"
        } else {
            "notes"
        }
    )?;
    for note in &report.notes {
        writeln!(out, "<pre class=\"run-note\">{}</pre>", html(note))?;
    }
    writeln!(out, "</details>")
}

fn write_case(
    n: usize,
    report: &RunReport,
    c: &CaseResult,
    opts: &ReportOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let v = verdict_label(c.verdict);
    let points = match explain::points_text(report, c).as_str() {
        "-" => "–".to_string(),
        "beyond" => "beyond".to_string(),
        _ => format!("{} / {}", fmt_points(c.points), fmt_points(c.max_points)),
    };
    // Why the points are what they are, on the row itself, when the verdict does not say it
    // (a pass that earns nothing because its rule is lost).
    let note = explain::points_note(report, c, opts.lenient);
    let why = note
        .as_deref()
        .map(|n| format!("<span class=\"why\">{}</span>", html(n)))
        .unwrap_or_default();
    writeln!(out, "<details class=\"case {v}\" id=\"case-{n}\">")?;
    writeln!(
        out,
        "<summary class=\"row\"><span class=\"n\">{n}</span><span><span class=\"id\">{}</span> \
         <span class=\"title\">{}</span>{why}</span><span class=\"verdict v-{v}\">{v}</span>\
         <span class=\"pts\">{points}</span><span class=\"dur\">{}</span></summary>",
        html(&c.id),
        html(&c.title),
        fmt_duration(c.duration)
    )?;
    writeln!(out, "<div class=\"body\">")?;
    let mut meta = Vec::new();
    if let Some(spec) = &c.spec {
        meta.push(format!("spec: {}", html(spec)));
    }
    if !c.tags.is_empty() {
        let tags: String = c
            .tags
            .iter()
            .map(|t| format!("<span class=\"tag\">{}</span>", html(t)))
            .collect();
        meta.push(tags);
    }
    if !meta.is_empty() {
        writeln!(out, "<p class=\"meta\">{}</p>", meta.join(" · "))?;
    }
    write_case_messages(c, out)?;
    if c.verdict != Verdict::Pass {
        if let Some(hint) = &c.hint {
            writeln!(out, "<p class=\"hint\"><b>Hint</b> {}</p>", with_code(hint))?;
        }
    }
    if !c.transcript.events.is_empty() {
        writeln!(out, "<h3>transcript</h3>\n<pre class=\"transcript\">")?;
        for (class, line) in transcript_lines(c, Cap::FILE) {
            writeln!(out, "<span class=\"{class}\">{}</span>", html(&line))?;
        }
        writeln!(out, "</pre>")?;
    }
    if let Some(r) = explain::reproducer(report, c) {
        writeln!(
            out,
            "<h3>reproduce</h3>\n<pre class=\"repro\">{}</pre>",
            html(&r)
        )?;
    }
    writeln!(out, "</div>\n</details>")
}

/// Why it was skipped, or its messages with the failed check first.
fn write_case_messages(c: &CaseResult, out: &mut dyn Write) -> io::Result<()> {
    if let Some(why) = explain::skip_reason(c) {
        return writeln!(
            out,
            "<h3>why skipped</h3>\n<ul class=\"messages\"><li>{}</li></ul>",
            html(&why)
        );
    }
    let messages = explain::ordered_messages(c);
    if messages.is_empty() {
        if c.verdict == Verdict::Pass {
            writeln!(out, "<p class=\"meta\">every check met.</p>")?;
        }
        return Ok(());
    }
    writeln!(out, "<h3>messages</h3>\n<ul class=\"messages\">")?;
    for m in messages {
        writeln!(out, "<li>{}</li>", html(m))?;
    }
    writeln!(out, "</ul>")
}

/// Text with its `backquoted` parts as `<code>`, the rest escaped (a hint's literal bytes).
fn with_code(text: &str) -> String {
    if !text.matches('`').count().is_multiple_of(2) {
        return html(text);
    }
    text.split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("<code>{}</code>", html(part))
            } else {
                html(part)
            }
        })
        .collect()
}

/// The transcript as lines with a class each (sent, recv, note, event, cut). Each line of
/// [`crate::outcome::Transcript::to_text`] is broken after every `\n` escape in the data, the
/// continuation indented under the opening quote, so that a request or response reads as its
/// lines; then capped like the other formats.
fn transcript_lines(c: &CaseResult, cap: Cap) -> Vec<(&'static str, String)> {
    let mut lines = Vec::new();
    for line in c.transcript.to_text().lines() {
        let class = line_class(line);
        if !matches!(class, "sent" | "recv") {
            lines.push((class, line.to_string()));
            continue;
        }
        let indent = " ".repeat(line.find('"').map_or(0, |q| line[..=q].chars().count()));
        for (i, piece) in split_after_newlines(line).into_iter().enumerate() {
            lines.push((
                class,
                if i == 0 {
                    piece
                } else {
                    format!("{indent}{piece}")
                },
            ));
        }
    }
    let mut kept = Vec::new();
    if lines.len() > cap.max_lines && cap.head + cap.tail < lines.len() {
        let cut = lines.len() - cap.head - cap.tail;
        let tail = lines.split_off(lines.len() - cap.tail);
        lines.truncate(cap.head);
        kept.extend(lines);
        kept.push(("cut", format!("… [{cut} lines cut] …")));
        kept.extend(tail);
    } else {
        kept = lines;
    }
    for (class, line) in kept.iter_mut() {
        let n = line.chars().count();
        if n > cap.max_line_chars {
            *line = line.chars().take(cap.max_line_chars).collect::<String>()
                + &format!("… [{} more characters cut]", n - cap.max_line_chars);
            if *class == "event" {
                *class = "cut";
            }
        }
    }
    kept
}

/// Splits escaped text after each `\n` escape (not after an escaped backslash followed by `n`).
fn split_after_newlines(line: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    while let Some(ch) = chars.next() {
        cur.push(ch);
        if ch == '\\' {
            if let Some(next) = chars.next() {
                cur.push(next);
                // Break unless this ends the data (only the closing quote follows).
                if next == 'n' && !matches!(chars.peek(), Some('"') | None) {
                    pieces.push(std::mem::take(&mut cur));
                }
            }
        }
    }
    if !cur.is_empty() {
        pieces.push(cur);
    }
    pieces
}

/// The class of a transcript line (`+0.012s @main > "..."`): sent, recv, note, event, or cut.
fn line_class(line: &str) -> &'static str {
    if line.starts_with('…') {
        return "cut";
    }
    match line.split(' ').nth(2).and_then(|w| w.chars().next()) {
        Some('>') => "sent",
        Some('<') => "recv",
        Some('#') => "note",
        _ => "event",
    }
}

/// One submission on a class index page.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexEntry {
    pub name: String,
    pub score: f64,
    pub max_score: f64,
    /// Link to the submission's report, relative to the index page (e.g. `alice/report.html`).
    pub report_href: String,
    /// Why the submission could not be graded (its server did not build or start), if so.
    pub error: Option<String>,
    /// The biggest reasons it lost points (`grade::losses::summary`), empty for full marks.
    pub notes: String,
}

/// An href for an attribute: kept as is unless it has a scheme other than http(s) or file
/// (`javascript:`), which is made relative.
fn safe_href(href: &str) -> String {
    let scheme_end = href.find(':');
    let slash = href.find('/').unwrap_or(usize::MAX);
    match scheme_end {
        Some(i) if i < slash => {
            let scheme = href[..i].to_ascii_lowercase();
            if matches!(scheme.as_str(), "http" | "https" | "file") {
                href.to_string()
            } else {
                format!("./{href}")
            }
        }
        _ => href.to_string(),
    }
}

/// Inlined into the class page: sorts its table by a column when its heading is clicked. The
/// table reads in the order given without it.
const INDEX_SCRIPT: &str = include_str!("index.js");

/// Writes a class page: a table of submissions (in the order given) with score, bar, link to
/// each report, every reason each lost points, and errors shown; clicking the submission or
/// score heading sorts by it.
pub fn write_html_index(
    title: &str,
    entries: &[IndexEntry],
    out: &mut dyn Write,
) -> io::Result<()> {
    page_start(title, out)?;
    let graded: Vec<&IndexEntry> = entries.iter().filter(|e| e.error.is_none()).collect();
    let mean_pct = if graded.is_empty() {
        0.0
    } else {
        graded
            .iter()
            .map(|e| percent(e.score, e.max_score))
            .sum::<f64>()
            / graded.len() as f64
    };
    writeln!(
        out,
        "<header><div class=\"inner\">\n<h1>{}</h1>",
        html(title)
    )?;
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    writeln!(
        out,
        "<p class=\"sub\">{} · {} graded · {} could not be graded</p>",
        plural(entries.len(), "submission", "submissions"),
        graded.len(),
        entries.len() - graded.len()
    )?;
    writeln!(
        out,
        "<div class=\"score\"><span class=\"num\"><small>mean</small> {mean_pct:.0}%</span>\
         <div class=\"bar\"><span style=\"width:{mean_pct:.1}%\"></span></div></div>"
    )?;
    writeln!(out, "</div></header>\n<main>\n<div class=\"scroll\">")?;
    writeln!(
        out,
        "<table class=\"index\">\n<thead><tr><th>#</th>\
         <th data-sort=\"name\" aria-sort=\"none\"><button type=\"button\">submission</button></th>\
         <th class=\"num\" data-sort=\"score\" aria-sort=\"none\"><button type=\"button\">score</button></th>\
         <th class=\"barcol\"></th><th class=\"num\">%</th><th>report</th>\
         <th>lost points for</th></tr></thead>\n<tbody>"
    )?;
    for (i, e) in entries.iter().enumerate() {
        write_index_row(i + 1, e, out)?;
    }
    writeln!(out, "</tbody>\n</table>\n</div>\n</main>")?;
    writeln!(out, "<script>{INDEX_SCRIPT}</script>\n</body>\n</html>")
}

fn write_index_row(n: usize, e: &IndexEntry, out: &mut dyn Write) -> io::Result<()> {
    let pct = percent(e.score, e.max_score);
    // Ungraded submissions sort below every graded one.
    let key = if e.error.is_some() { -1.0 } else { pct };
    let failed = if e.error.is_some() {
        " class=\"failed\""
    } else {
        ""
    };
    write!(
        out,
        "<tr{failed} data-name=\"{}\" data-score=\"{key:.3}\"><td class=\"idx\">{n}</td><td class=\"id\">{}</td>",
        html(&e.name),
        html(&e.name)
    )?;
    match &e.error {
        Some(err) => write!(
            out,
            "<td class=\"num\">{} / {}</td><td colspan=\"2\" class=\"err\">{}</td>",
            fmt_points(e.score),
            fmt_points(e.max_score),
            html(err)
        )?,
        None => write!(
            out,
            "<td class=\"num\">{} / {}</td><td class=\"barcol\"><div class=\"bar small\"><span style=\"width:{pct:.1}%\"></span></div></td>\
             <td class=\"num\">{pct:.0}%</td>",
            fmt_points(e.score),
            fmt_points(e.max_score)
        )?,
    }
    let link = if e.report_href.is_empty() {
        String::new()
    } else {
        format!(
            "<a href=\"{}\">report</a>",
            html(&safe_href(&e.report_href))
        )
    };
    writeln!(
        out,
        "<td>{link}</td><td class=\"notes\">{}</td></tr>",
        html(&e.notes)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transcript_lines_are_classified() {
        assert_eq!(line_class("+0.001s @main > \"GET /\""), "sent");
        assert_eq!(line_class("+0.002s @main < \"HTTP/1.1 200\""), "recv");
        assert_eq!(line_class("+0.002s @main # we closed"), "note");
        assert_eq!(line_class("+0.002s @main connected"), "event");
        assert_eq!(line_class("… [3 lines cut] …"), "cut");
    }

    #[test]
    fn escaped_data_breaks_after_newlines_only() {
        assert_eq!(
            split_after_newlines(r#"> "a\r\nb\\nc\n""#),
            [r#"> "a\r\n"#, r#"b\\nc\n""#]
        );
        assert_eq!(split_after_newlines(r#"< "x""#), [r#"< "x""#]);
    }

    #[test]
    fn hrefs_lose_dangerous_schemes() {
        assert_eq!(safe_href("alice/report.html"), "alice/report.html");
        assert_eq!(safe_href("javascript:alert(1)"), "./javascript:alert(1)");
        assert_eq!(safe_href("https://x/y"), "https://x/y");
        assert_eq!(safe_href("a/b:c"), "a/b:c");
    }
}
