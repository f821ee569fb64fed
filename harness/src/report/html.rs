//! The html format: one self-contained page per run, and an index page for a class.
//!
//! The page has no external assets: inline CSS, and a few lines of inline JS that only add
//! "expand/collapse all" buttons; everything works without JS. A header gives the target, the
//! score with a bar, and the count of each verdict; then every case in input order as a row
//! coloured by verdict (number, id and title, verdict, points, duration), each a `<details>`
//! (opened on load when at most five cases did not pass) that opens onto its messages (expected versus got), transcript (sent, received and notes
//! told apart by colour; capped) and reproducer. Every piece of case data is HTML-escaped.
//!
//! [`write_html_index`] writes the class page: one row per submission with its score, a bar, a
//! link to its report, and the error when it could not be graded.

use std::io::{self, Write};
use std::time::Duration;

use super::escape::html;
use super::{fmt_points, Cap, Counts, ReportOptions};
use crate::outcome::{CaseResult, RunReport, Verdict};

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

/// Writes the report as one self-contained HTML page.
pub fn write_html(report: &RunReport, opts: &ReportOptions, out: &mut dyn Write) -> io::Result<()> {
    let n = Counts::of(&report.cases);
    let pct = percent(report.score, report.max_score);
    page_start(
        &format!(
            "{} / {} — HTTP conformance of {}",
            fmt_points(report.score),
            fmt_points(report.max_score),
            report.target
        ),
        out,
    )?;
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
    writeln!(
        out,
        "<div class=\"score\"><span class=\"num\">{} <small>/ {} points</small></span>\
         <div class=\"bar\" title=\"{pct:.0}%\"><span style=\"width:{pct:.1}%\"></span></div>\
         <span class=\"num\"><small>{pct:.0}%</small></span></div>",
        fmt_points(report.score),
        fmt_points(report.max_score)
    )?;
    for note in &report.notes {
        writeln!(out, "<pre class=\"run-note\">{}</pre>", html(note))?;
    }
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
    writeln!(out, "</ul>\n</div></header>\n<main>")?;
    writeln!(out, "<div class=\"tools\"></div>")?;
    writeln!(out, "<div class=\"cases\">")?;
    writeln!(
        out,
        "<div class=\"row head\"><span>#</span><span>case</span><span>verdict</span>\
         <span class=\"pts\">points</span><span class=\"dur\">time</span></div>"
    )?;
    // Few problems: show them opened; many: leave the table compact.
    let open_problems = n.non_strict + n.fail + n.error <= OPEN_PROBLEMS_UP_TO;
    for (i, c) in report.cases.iter().enumerate() {
        let problem = matches!(
            c.verdict,
            Verdict::NonStrict | Verdict::Fail | Verdict::Error
        );
        write_case(i + 1, c, opts, open_problems && problem, out)?;
    }
    writeln!(out, "</div>\n</main>")?;
    writeln!(
        out,
        "<footer>written by harness · cases in input order</footer>"
    )?;
    writeln!(out, "<script>{SCRIPT}</script>\n</body>\n</html>")
}

/// Up to this many cases that did not pass are shown opened when the page loads.
const OPEN_PROBLEMS_UP_TO: usize = 5;

fn write_case(
    n: usize,
    c: &CaseResult,
    opts: &ReportOptions,
    open: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    let v = verdict_label(c.verdict);
    let points = if c.verdict == Verdict::Skip {
        "–".to_string()
    } else {
        format!("{} / {}", fmt_points(c.points), fmt_points(c.max_points))
    };
    let open = if open { " open" } else { "" };
    writeln!(out, "<details class=\"case {v}\" id=\"case-{n}\"{open}>")?;
    writeln!(
        out,
        "<summary class=\"row\"><span class=\"n\">{n}</span><span><span class=\"id\">{}</span> \
         <span class=\"title\">{}</span></span><span class=\"verdict v-{v}\">{v}</span>\
         <span class=\"pts\">{points}</span><span class=\"dur\">{}</span></summary>",
        html(&c.id),
        html(&c.title),
        fmt_duration(c.duration)
    )?;
    writeln!(out, "<div class=\"body\">")?;
    let mut meta = Vec::new();
    if c.verdict == Verdict::NonStrict {
        meta.push(if opts.lenient {
            "earns its points: the rule held, the form did not".to_string()
        } else {
            "counted as failed and earns nothing (--strict-form)".to_string()
        });
    }
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
    if !c.messages.is_empty() {
        writeln!(
            out,
            "<h3>{}</h3>\n<ul class=\"messages\">",
            if c.verdict == Verdict::Skip {
                "why skipped"
            } else {
                "messages"
            }
        )?;
        for m in &c.messages {
            writeln!(out, "<li>{}</li>", html(m))?;
        }
        writeln!(out, "</ul>")?;
    } else if c.verdict == Verdict::Pass {
        writeln!(out, "<p class=\"meta\">every check met.</p>")?;
    }
    if !c.transcript.events.is_empty() {
        writeln!(out, "<h3>transcript</h3>\n<pre class=\"transcript\">")?;
        for (class, line) in transcript_lines(c, Cap::FILE) {
            writeln!(out, "<span class=\"{class}\">{}</span>", html(&line))?;
        }
        writeln!(out, "</pre>")?;
    }
    if let Some(r) = &c.reproducer {
        writeln!(
            out,
            "<h3>reproduce</h3>\n<pre class=\"repro\">{}</pre>",
            html(r)
        )?;
    }
    writeln!(out, "</div>\n</details>")
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

/// Writes a class page: a table of submissions (in the order given) with score, bar, link to
/// each report, and errors shown.
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
    writeln!(
        out,
        "<p class=\"sub\">{} submissions · {} graded · {} could not be graded</p>",
        entries.len(),
        graded.len(),
        entries.len() - graded.len()
    )?;
    writeln!(
        out,
        "<div class=\"score\"><span class=\"num\"><small>mean</small> {mean_pct:.0}%</span>\
         <div class=\"bar\"><span style=\"width:{mean_pct:.1}%\"></span></div></div>"
    )?;
    writeln!(out, "</div></header>\n<main>")?;
    writeln!(out, "<table class=\"index\">\n<thead><tr><th>#</th><th>submission</th><th class=\"num\">score</th><th class=\"barcol\"></th><th class=\"num\">%</th><th>report</th><th>lost points for</th></tr></thead>\n<tbody>")?;
    for (i, e) in entries.iter().enumerate() {
        let pct = percent(e.score, e.max_score);
        let failed = if e.error.is_some() {
            " class=\"failed\""
        } else {
            ""
        };
        write!(
            out,
            "<tr{failed}><td class=\"idx\">{}</td><td class=\"id\">{}</td>",
            i + 1,
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
                "<td class=\"num\">{} / {}</td><td><div class=\"bar small\"><span style=\"width:{pct:.1}%\"></span></div></td>\
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
        )?;
    }
    writeln!(out, "</tbody>\n</table>\n</main>\n</body>\n</html>")
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
