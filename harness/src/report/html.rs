//! The html format: one self-contained page per run, and an index page for a class.
//!
//! The page has no external assets: inline CSS, and a few lines of inline JS that only add
//! "expand/collapse all" buttons; everything works without JS. A header gives the target, the
//! score with a bar, and the count of each verdict; then every case in input order as a row
//! coloured by verdict (number, id and title, verdict, points, duration), each a `<details>`
//! that opens onto its messages (expected versus got), transcript (sent, received and notes
//! told apart by colour; capped) and reproducer. Every piece of case data is HTML-escaped.
//!
//! [`write_html_index`] writes the class page: one row per submission with its score, a bar, a
//! link to its report, and the error when it could not be graded.

use std::io::{self, Write};
use std::time::Duration;

use super::escape::html;
use super::{capped_transcript, fmt_points, Cap, Counts, ReportOptions};
use crate::outcome::{CaseResult, RunReport, Verdict};

const STYLE: &str = r#"
:root { color-scheme: light; --pass:#1a7f37; --non-strict:#9a6700; --fail:#cf222e; --error:#8250df;
  --skip:#6e7781; --line:#d0d7de; --muted:#57606a; --bg:#f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; background: #fff; color: #1f2328; line-height: 1.5;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main, header .inner { max-width: 1100px; margin: 0 auto; padding: 0 24px; }
header { background: var(--bg); border-bottom: 1px solid var(--line); padding: 20px 0 18px; margin-bottom: 20px; }
h1 { font-size: 22px; margin: 0 0 2px; font-weight: 600; }
.sub { color: var(--muted); margin: 0 0 14px; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 13px; }
.score { display: flex; align-items: center; gap: 16px; flex-wrap: wrap; }
.score .num { font-size: 30px; font-weight: 700; white-space: nowrap; }
.score .num small { font-size: 17px; font-weight: 500; color: var(--muted); }
.bar { flex: 1; min-width: 200px; max-width: 520px; height: 12px; background: #e6e9ed; border-radius: 6px; overflow: hidden; }
.bar > span { display: block; height: 100%; background: var(--pass); border-radius: 6px 0 0 6px; }
.bar.small { min-width: 120px; height: 9px; }
.counts { display: flex; gap: 8px; flex-wrap: wrap; margin: 14px 0 0; padding: 0; list-style: none; }
.chip { display: inline-block; padding: 1px 10px; border-radius: 999px; font-size: 13px; font-weight: 600;
  border: 1px solid currentColor; white-space: nowrap; }
.chip.zero { opacity: .45; }
.v-pass { color: var(--pass); } .v-non-strict { color: var(--non-strict); } .v-fail { color: var(--fail); }
.v-error { color: var(--error); } .v-skip { color: var(--skip); }
.tools { display: flex; justify-content: flex-end; gap: 8px; margin: 0 0 8px; min-height: 4px; }
.tools button { font: inherit; font-size: 13px; padding: 2px 10px; border: 1px solid var(--line); border-radius: 6px; background: #fff; cursor: pointer; }
.cases { border: 1px solid var(--line); border-radius: 8px; overflow: hidden; margin-bottom: 40px; }
.row { display: grid; grid-template-columns: 44px 1fr 110px 70px 80px; gap: 12px; align-items: baseline; padding: 7px 14px; }
.head { background: var(--bg); font-size: 12px; font-weight: 600; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
details.case { border-top: 1px solid var(--line); border-left: 4px solid transparent; }
details.case > summary { list-style: none; cursor: pointer; }
details.case > summary::-webkit-details-marker { display: none; }
details.case > summary:hover { background: #f3f5f7; }
details.case.pass { border-left-color: var(--pass); }
details.case.non-strict { border-left-color: var(--non-strict); background: #fff8e5; }
details.case.fail { border-left-color: var(--fail); background: #fff1f0; }
details.case.error { border-left-color: var(--error); background: #f7f0ff; }
details.case.skip { border-left-color: #afb8c1; color: var(--muted); }
.n { color: var(--muted); font-size: 13px; }
.n::before { content: "▸ "; font-size: 11px; }
details[open] > summary .n::before { content: "▾ "; }
.id { font-weight: 600; word-break: break-all; }
.title { color: #1f2328; }
.skip .title { color: var(--muted); }
.verdict { font-size: 12px; font-weight: 700; text-transform: uppercase; letter-spacing: .03em; }
.pts, .dur { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.dur { color: var(--muted); font-size: 13px; }
.body { padding: 4px 18px 16px 70px; background: #fff; border-top: 1px dashed var(--line); }
.body h3 { font-size: 12px; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); margin: 14px 0 4px; }
.meta { color: var(--muted); font-size: 13px; margin: 10px 0 0; }
.tag { display: inline-block; background: var(--bg); border: 1px solid var(--line); border-radius: 4px; padding: 0 6px; margin-right: 4px; font-size: 12px; }
ul.messages { margin: 0; padding-left: 20px; }
ul.messages li { white-space: pre-wrap; word-break: break-word; margin: 2px 0; }
pre { background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; margin: 0;
  overflow-x: auto; white-space: pre-wrap; word-break: break-all; line-height: 1.45; }
pre .sent { color: #0550ae; } pre .recv { color: #116329; } pre .note { color: var(--muted); font-style: italic; }
pre .event { color: #953800; } pre .cut { color: var(--fail); font-style: italic; }
.lenient { color: var(--non-strict); font-weight: 600; }
table.index { width: 100%; border-collapse: collapse; border: 1px solid var(--line); margin-bottom: 40px; }
table.index th, table.index td { padding: 7px 12px; border-top: 1px solid var(--line); text-align: left; vertical-align: middle; }
table.index th { background: var(--bg); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
table.index td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.index tr.failed td { background: #fff1f0; }
.err { color: var(--fail); white-space: pre-wrap; }
a { color: #0969da; }
footer { color: var(--muted); font-size: 12px; text-align: center; margin: -20px 0 30px; }
@media (max-width: 700px) { .row { grid-template-columns: 30px 1fr 80px; } .pts, .dur, .head .pts, .head .dur { display: none; } .body { padding-left: 18px; } }
"#;

const SCRIPT: &str = r#"
(function () {
  var t = document.querySelector('.tools'); if (!t) return;
  function all(open, onlyBad) {
    document.querySelectorAll('details.case').forEach(function (d) {
      d.open = open && (!onlyBad || !d.classList.contains('pass') && !d.classList.contains('skip'));
    });
  }
  [['Expand problems', function () { all(true, true); }], ['Expand all', function () { all(true, false); }],
   ['Collapse all', function () { all(false, false); }]].forEach(function (b) {
    var e = document.createElement('button'); e.type = 'button'; e.textContent = b[0]; e.onclick = b[1]; t.appendChild(e);
  });
})();
"#;

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
    if max > 0.0 { (100.0 * score / max).clamp(0.0, 100.0) } else { 100.0 }
}

fn page_start(title: &str, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">")?;
    writeln!(out, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")?;
    writeln!(out, "<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>", html(title))
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
        " · <span class=\"lenient\">lenient: non-strict counts as passed</span>"
    } else {
        ""
    };
    writeln!(
        out,
        "<p class=\"sub\">target <code>{}</code> · {} cases · {}{lenient}</p>",
        html(&report.target),
        n.total(),
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
    writeln!(out, "<ul class=\"counts\">")?;
    for (count, v) in [
        (n.pass, Verdict::Pass),
        (n.non_strict, Verdict::NonStrict),
        (n.fail, Verdict::Fail),
        (n.error, Verdict::Error),
        (n.skip, Verdict::Skip),
    ] {
        let zero = if count == 0 { " zero" } else { "" };
        writeln!(out, "<li class=\"chip v-{}{zero}\">{count} {}</li>", verdict_label(v), verdict_label(v))?;
    }
    writeln!(out, "</ul>\n</div></header>\n<main>")?;
    writeln!(out, "<div class=\"tools\"></div>")?;
    writeln!(out, "<div class=\"cases\">")?;
    writeln!(
        out,
        "<div class=\"row head\"><span>#</span><span>case</span><span>verdict</span>\
         <span class=\"pts\">points</span><span class=\"dur\">time</span></div>"
    )?;
    for (i, c) in report.cases.iter().enumerate() {
        write_case(i + 1, c, opts, out)?;
    }
    writeln!(out, "</div>\n</main>")?;
    writeln!(out, "<footer>written by harness · cases in input order</footer>")?;
    writeln!(out, "<script>{SCRIPT}</script>\n</body>\n</html>")
}

fn write_case(n: usize, c: &CaseResult, opts: &ReportOptions, out: &mut dyn Write) -> io::Result<()> {
    let v = verdict_label(c.verdict);
    let points = if c.verdict == Verdict::Skip {
        "–".to_string()
    } else {
        format!("{} / {}", fmt_points(c.points), fmt_points(c.max_points))
    };
    writeln!(out, "<details class=\"case {v}\" id=\"case-{n}\">")?;
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
            "counted as passed (lenient)".to_string()
        } else {
            "counted as failed; passes with --lenient".to_string()
        });
    }
    if let Some(spec) = &c.spec {
        meta.push(format!("spec: {}", html(spec)));
    }
    if !c.tags.is_empty() {
        let tags: String = c.tags.iter().map(|t| format!("<span class=\"tag\">{}</span>", html(t))).collect();
        meta.push(tags);
    }
    if !meta.is_empty() {
        writeln!(out, "<p class=\"meta\">{}</p>", meta.join(" · "))?;
    }
    if !c.messages.is_empty() {
        writeln!(out, "<h3>{}</h3>\n<ul class=\"messages\">", if c.verdict == Verdict::Skip { "why skipped" } else { "messages" })?;
        for m in &c.messages {
            writeln!(out, "<li>{}</li>", html(m))?;
        }
        writeln!(out, "</ul>")?;
    } else if c.verdict == Verdict::Pass {
        writeln!(out, "<p class=\"meta\">every check met.</p>")?;
    }
    if !c.transcript.events.is_empty() {
        writeln!(out, "<h3>transcript</h3>\n<pre class=\"transcript\">")?;
        for line in capped_transcript(c, Cap::FILE).lines() {
            writeln!(out, "<span class=\"{}\">{}</span>", line_class(line), html(line))?;
        }
        writeln!(out, "</pre>")?;
    }
    if let Some(r) = &c.reproducer {
        writeln!(out, "<h3>reproduce</h3>\n<pre class=\"repro\">{}</pre>", html(r))?;
    }
    writeln!(out, "</div>\n</details>")
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
pub fn write_html_index(title: &str, entries: &[IndexEntry], out: &mut dyn Write) -> io::Result<()> {
    page_start(title, out)?;
    let graded: Vec<&IndexEntry> = entries.iter().filter(|e| e.error.is_none()).collect();
    let mean_pct = if graded.is_empty() {
        0.0
    } else {
        graded.iter().map(|e| percent(e.score, e.max_score)).sum::<f64>() / graded.len() as f64
    };
    writeln!(out, "<header><div class=\"inner\">\n<h1>{}</h1>", html(title))?;
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
    writeln!(out, "<table class=\"index\">\n<thead><tr><th>#</th><th>submission</th><th>score</th><th></th><th>%</th><th>report</th></tr></thead>\n<tbody>")?;
    for (i, e) in entries.iter().enumerate() {
        let pct = percent(e.score, e.max_score);
        let failed = if e.error.is_some() { " class=\"failed\"" } else { "" };
        write!(out, "<tr{failed}><td class=\"n\">{}</td><td class=\"id\">{}</td>", i + 1, html(&e.name))?;
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
            format!("<a href=\"{}\">report</a>", html(&safe_href(&e.report_href)))
        };
        writeln!(out, "<td>{link}</td></tr>")?;
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
    fn hrefs_lose_dangerous_schemes() {
        assert_eq!(safe_href("alice/report.html"), "alice/report.html");
        assert_eq!(safe_href("javascript:alert(1)"), "./javascript:alert(1)");
        assert_eq!(safe_href("https://x/y"), "https://x/y");
        assert_eq!(safe_href("a/b:c"), "a/b:c");
    }
}
