//! The text of a recorded case: metadata, the `send` block, the `response` step with its
//! checks, and the connection's fate, each written so that `harness check` accepts it (bytes
//! through the format's escapes, no trailing space, `{host}` for the target in `Host`).

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use super::capture::{Capture, Fate, OPEN_FOR, PROBE_WAIT};
use super::input::Request;
use crate::exec::response::{Framing, Response};
use crate::exec::Target;
use crate::outcome::escape_bytes;

/// The headers a recorded case checks (Date, Server and the rest vary from run to run).
pub const HEADERS: [&str; 3] = ["Content-Type", "Content-Length", "Connection"];
/// A body longer than this, and no file of the site, is checked by its length only.
pub const MAX_BODY: usize = 64 * 1024;
/// The least time a written window gives: a prompt answer is read `within 2s`.
const MIN_WINDOW: u64 = 2;
/// The least whole-case timeout written (the format's default).
const MIN_TIMEOUT: u64 = 10;

/// The metadata of the case.
#[derive(Debug, Clone)]
pub struct Meta {
    /// `None`: made from the request line and the status.
    pub title: Option<String>,
    pub points: f64,
    pub tags: Vec<String>,
    pub recorded_at: SystemTime,
}

/// What the case is written from.
pub struct Recording<'a> {
    pub target: &'a Target,
    pub request: &'a Request,
    pub capture: &'a Capture,
    /// The file of the site the body equals (`body file`), if any.
    pub body_file: Option<String>,
    pub meta: &'a Meta,
}

/// The case's text, and warnings for the user (what the case does not check, and why).
pub fn case_text(r: &Recording<'_>) -> (String, Vec<String>) {
    let mut out = String::new();
    let mut warnings = Vec::new();
    let response = r.capture.response.as_ref();
    let within = response.map(|_| window(r.capture.took));
    let fate = fate_lines(&r.capture.fate, r.capture.took, response.is_some());
    let timeout = within.unwrap_or(0) + fate.1 + MIN_WINDOW;
    metadata(&mut out, r, timeout.max(MIN_TIMEOUT));
    send_block(&mut out, r.request, r.target);
    if let Some(resp) = response {
        out.push('\n');
        for line in &r.capture.interim {
            comment(&mut out, &format!("interim response skipped: {line}"));
        }
        let _ = writeln!(out, "response within {}s", within.unwrap_or(MIN_WINDOW));
        checks(&mut out, resp, r.body_file.as_deref(), &mut warnings);
    }
    if let Fate::Unknown(why) = &r.capture.fate {
        warnings.push(format!("the connection's fate is not checked: {why}"));
    }
    out.push('\n');
    for line in fate.0 {
        out.push_str(&line);
        out.push('\n');
    }
    (out, warnings)
}

/// Whole seconds for a window around something that took `took`: 2 s, or at least a second
/// more than it took (so that the verdict does not hang on the server's timing).
fn window(took: Duration) -> u64 {
    (took.as_secs_f64().ceil() as u64 + 1).max(MIN_WINDOW)
}

/// The lines of the fate step, and the time it may take.
fn fate_lines(fate: &Fate, took: Duration, answered: bool) -> (Vec<String>, u64) {
    match fate {
        Fate::Closed { after, .. } => {
            // Without a response, the close is timed from the request.
            let d = window(if answered { *after } else { took });
            (vec![format!("closed within {d}s")], d)
        }
        Fate::Open => (
            vec![format!("open for {}s", OPEN_FOR.as_secs())],
            OPEN_FOR.as_secs() + PROBE_WAIT.as_secs(),
        ),
        Fate::Unknown(why) => {
            let mut text = String::new();
            comment(
                &mut text,
                &format!("the connection's fate is not checked: {why}"),
            );
            (vec![text.trim_end().to_string()], 0)
        }
    }
}

fn metadata(out: &mut String, r: &Recording<'_>, timeout: u64) {
    let _ = writeln!(
        out,
        "# Recorded with `harness record --target {}`: what that server answered.\n\
         # Edit it to say what every server must answer (see cases/README.md).",
        r.target
    );
    let title = match &r.meta.title {
        Some(t) => t.clone(),
        None => default_title(r.request, r.capture.response.as_ref()),
    };
    let _ = writeln!(out, "title: {title}");
    let _ = writeln!(out, "points: {}", crate::report::fmt_points(r.meta.points));
    if !r.meta.tags.is_empty() {
        let _ = writeln!(out, "tags: {}", r.meta.tags.join(", "));
    }
    let when = httpdate::fmt_http_date(r.meta.recorded_at);
    let _ = writeln!(out, "spec: recorded from {} on {when}", r.target);
    let _ = writeln!(out, "timeout: {timeout}s\n");
}

/// `GET /index.html HTTP/1.1: 200 OK`, or `...: closed without a response`.
pub fn default_title(request: &Request, response: Option<&Response>) -> String {
    let mut line = escape_bytes(request.first_line());
    if line.len() > 60 {
        let mut cut = 57;
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        line = format!("{}...", &line[..cut]);
    }
    let line = if line.trim().is_empty() {
        "the request".to_string()
    } else {
        line.trim().to_string()
    };
    let answer = match response {
        Some(r) => format!("{} {}", r.code, escape_bytes(r.reason.as_bytes()).trim()),
        None => "closed without a response".to_string(),
    };
    format!("{line}: {}", answer.trim())
}

/// `send` (line mode) or `send raw`, and the block.
fn send_block(out: &mut String, request: &Request, target: &Target) {
    out.push_str(if request.raw { "send raw\n" } else { "send\n" });
    let mut in_head = true;
    let count = request.lines.len();
    for (i, line) in request.lines.iter().enumerate() {
        let open = request.open_end && i + 1 == count;
        let mut text = if in_head {
            host_templated(line, target).unwrap_or_else(|| escape_bytes(line))
        } else {
            escape_bytes(line)
        };
        if open {
            text.push('\\');
        }
        block_line(out, &text);
        let bare = line.strip_suffix(b"\n").unwrap_or(line);
        if bare.is_empty() || bare == b"\r" {
            in_head = false;
        }
    }
}

/// A `Host:` line whose value is the target, with `{host}` (and `{port}`) in its place, so the
/// case runs at any address; `None` for any other line.
fn host_templated(line: &[u8], target: &Target) -> Option<String> {
    let colon = line.iter().position(|&b| b == b':')?;
    if !line[..colon].eq_ignore_ascii_case(b"host") {
        return None;
    }
    let rest = &line[colon + 1..];
    let end = rest
        .iter()
        .rposition(|&b| !matches!(b, b'\r' | b'\n' | b' ' | b'\t'))
        .map_or(0, |i| i + 1);
    let start = rest
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(end);
    let value = rest.get(start..end)?;
    let host_port = target.to_string();
    let template = if value == target.host.as_bytes() {
        "{host}"
    } else if value == host_port.as_bytes() {
        if target.host.contains(':') {
            "[{host}]:{port}"
        } else {
            "{host}:{port}"
        }
    } else {
        return None;
    };
    Some(format!(
        "{}{template}{}",
        escape_bytes(&line[..colon + 1 + start]),
        escape_bytes(&rest[end..])
    ))
}

/// Writes `| TEXT` (or `|` for an empty line), with a trailing space written as `\x20`.
fn block_line(out: &mut String, text: &str) {
    if text.is_empty() {
        out.push_str("|\n");
        return;
    }
    out.push_str("| ");
    push_no_trailing_space(out, text);
    out.push('\n');
}

fn push_no_trailing_space(out: &mut String, text: &str) {
    match text.strip_suffix(' ') {
        Some(head) => {
            out.push_str(head);
            out.push_str("\\x20");
        }
        None => out.push_str(text),
    }
}

/// A `#` comment line (escaped, so that it holds no tab, CR or trailing space).
fn comment(out: &mut String, text: &str) {
    let mut clean = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\t' => clean.push_str("\\t"),
            '\r' => clean.push_str("\\r"),
            '\n' => clean.push_str("\\n"),
            c if c.is_control() => {
                let _ = write!(clean, "\\u{{{:x}}}", c as u32);
            }
            c => clean.push(c),
        }
    }
    let _ = writeln!(out, "# {}", clean.trim_end());
}

/// `status`, the headers that matter, the body.
fn checks(out: &mut String, r: &Response, body_file: Option<&str>, warnings: &mut Vec<String>) {
    let _ = writeln!(out, "status {}", r.code);
    for name in HEADERS {
        match r.header(name) {
            Some("") => {
                let _ = writeln!(out, "header {name}:");
            }
            Some(v) => {
                let _ = write!(out, "header {name}: ");
                push_no_trailing_space(out, &escape_bytes(v.as_bytes()));
                out.push('\n');
            }
            None => {
                let _ = writeln!(out, "no header {name}");
            }
        }
    }
    body(out, r, body_file, warnings);
    for d in &r.defects {
        comment(
            out,
            &format!(
                "form: {} ({}): the case is non-strict at this server",
                d.text,
                d.rule.name()
            ),
        );
        warnings.push(format!(
            "the response breaks a form rule: {} ({}); the case is non-strict at this server",
            d.text,
            d.rule.name()
        ));
    }
}

/// `body file`, `body is empty`, `body is` (lines ended by CRLF) or `body is raw`; nothing for
/// a response without a body, a comment for a body too large or that never ended.
fn body(out: &mut String, r: &Response, body_file: Option<&str>, warnings: &mut Vec<String>) {
    if let Some(why) = &r.unfinished {
        let text = format!("the body is not checked: it never ended ({why})");
        comment(out, &text);
        warnings.push(text);
        return;
    }
    if r.framing == Framing::NoBody {
        return;
    }
    let b = &r.body;
    if b.is_empty() {
        out.push_str("body is empty\n");
    } else if let Some(path) = body_file {
        let _ = writeln!(out, "body file {path}");
    } else if b.len() > MAX_BODY {
        let text = format!(
            "the body ({} bytes) is checked by its length only: over {} KiB, and no file of the site (--www) equals it",
            b.len(),
            MAX_BODY / 1024
        );
        comment(out, &text);
        warnings.push(text);
        out.push_str("content-length\n");
    } else if crlf_lines(b) {
        out.push_str("body is\n");
        for line in b[..b.len() - 2].split(|&c| c == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            block_line(out, &escape_bytes(line));
        }
    } else {
        out.push_str("body is raw\n");
        for line in b.split_inclusive(|&c| c == b'\n') {
            block_line(out, &escape_bytes(line));
        }
    }
}

/// Whether every line of `b` ends in CRLF (so a line-mode block gives it back exactly).
fn crlf_lines(b: &[u8]) -> bool {
    b.ends_with(b"\r\n")
        && b.iter()
            .enumerate()
            .all(|(i, &c)| c != b'\n' || (i > 0 && b[i - 1] == b'\r'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target {
            host: "127.0.0.1".into(),
            port: 8080,
        }
    }

    #[test]
    fn the_target_in_host_becomes_a_template() {
        let t = target();
        let h = |l: &str| host_templated(l.as_bytes(), &t);
        assert_eq!(
            h("Host: 127.0.0.1:8080").as_deref(),
            Some("Host: {host}:{port}")
        );
        assert_eq!(h("host:127.0.0.1").as_deref(), Some("host:{host}"));
        assert_eq!(
            h("Host: 127.0.0.1\r\n").as_deref(),
            Some("Host: {host}\\r\\n")
        );
        assert_eq!(h("Host: localhost:8080"), None);
        assert_eq!(h("X-Host: 127.0.0.1"), None);
        let v6 = Target {
            host: "::1".into(),
            port: 80,
        };
        assert_eq!(
            host_templated(b"Host: [::1]:80", &v6).as_deref(),
            Some("Host: [{host}]:{port}")
        );
    }

    #[test]
    fn block_lines_never_end_in_a_space() {
        let mut out = String::new();
        block_line(&mut out, "GET / ");
        block_line(&mut out, "");
        block_line(&mut out, "a  ");
        assert_eq!(out, "| GET /\\x20\n|\n| a \\x20\n");
    }

    #[test]
    fn windows_are_two_seconds_or_a_second_clear() {
        let w = |ms| window(Duration::from_millis(ms));
        assert_eq!((w(0), w(5), w(1000), w(1001), w(3200)), (2, 2, 2, 3, 5));
    }

    #[test]
    fn crlf_lines_are_told_apart() {
        assert!(crlf_lines(b"a\r\nb\r\n"));
        assert!(!crlf_lines(b"a\r\nb\n"));
        assert!(!crlf_lines(b"a\r\nb"));
        assert!(!crlf_lines(b"\n"));
    }
}
