//! The arguments of each step and check line: `send @a raw split=4`, `closed after 1s within 3s`,
//! `header Content-Type contains "text/html"`, ... read from a [`Cursor`] placed after the
//! directive, into model parts. Blocks (`|` lines) are attached by the parser.

use std::ops::Range;
use std::time::Duration;

use super::diagnostic::{did_you_mean, Fault};
use super::duration;
use super::escape;
use super::lexer::Cursor;
use super::model::*;

const USAGE_SEND: &str = "`send [@c] [raw] [split=N] [delay=D]`, then `| ` lines";
const USAGE_CLOSED: &str = "`closed [@c] within D` or `closed [@c] after D1 within D2`";
const USAGE_HEADER: &str =
    "`header NAME`, `header NAME: VALUE`, `header NAME contains \"TEXT\"` or `header NAME matches \"REGEX\"`";
const USAGE_BODY: &str = "`body is` (then `| ` lines), `body is raw`, `body is empty`, `body contains \"TEXT\"`, `body matches \"REGEX\"` or `body file PATH`";

const USAGE_FORM: &str = "`form RULE...`, RULE one of: line-ends, reason, status-line, content-length, extra-bytes, version, fields, framing, no-body";

/// The pause between the pieces of a `send split=N` without `delay=`.
pub const DEFAULT_DELAY: Duration = Duration::from_millis(100);

/// A step line, read. A `send` or `open` takes the `|` lines that follow.
pub(crate) struct ParsedStep {
    pub conn: Option<String>,
    pub kind: StepKind,
    /// `send raw`: block lines get no CRLF.
    pub raw: bool,
}

/// A check line, read.
pub(crate) struct ParsedCheck {
    pub kind: CheckKind,
    /// `Some(raw)` when `|` lines must follow (`body is`, `body is raw`).
    pub block: Option<bool>,
}

fn usage(name: &str) -> &'static str {
    match name {
        "connect" => "`connect [@c]`",
        "send" => USAGE_SEND,
        "sleep" => "`sleep D`, e.g. `sleep 500ms`",
        "shutdown" => "`shutdown [@c]`",
        "close" => "`close [@c]`",
        "response" => "`response [@c] [within D]`",
        "no response" => "`no response [@c] for D`",
        "interim" => "`interim [@c] [N...] [within D]`, e.g. `interim 100 within 2s`",
        "closed" => USAGE_CLOSED,
        "open" => "`open [@c] for D`, optionally followed by a probe request in `| ` lines",
        "status" => "`status N [N...]`, e.g. `status 400`",
        "status-line" => "`status-line \"TEXT\"`, e.g. `status-line \"HTTP/1.1 200 OK\"`",
        "reason" => "`reason \"TEXT\"`, e.g. `reason \"Not Found\"`",
        "version" => "`version \"HTTP/1.1\"`",
        "header" => USAGE_HEADER,
        "no header" => "`no header NAME`",
        "body" => USAGE_BODY,
        "content-length" => "`content-length`",
        "content-type" => {
            "`content-type .EXT`, e.g. `content-type .jpg`: the type ws.conf maps .EXT to"
        }
        "no body" => "`no body contains \"TEXT\"`",
        "form" => USAGE_FORM,
        "or closed" => "`or closed`",
        _ => "",
    }
}

/// Reads the arguments of step `name` (the cursor is after the directive).
pub(crate) fn step(
    name: &str,
    name_span: Range<usize>,
    cur: &mut Cursor<'_>,
) -> Result<ParsedStep, Fault> {
    let use_ = usage(name);
    let conn = cur.conn()?;
    let mut raw = false;
    let kind = match name {
        "connect" => StepKind::Connect,
        "shutdown" => StepKind::Shutdown,
        "close" => StepKind::Close,
        "sleep" if conn.is_some() => {
            return Err(
                Fault::new(name_span.end + 1..cur.pos, "`sleep` takes no connection")
                    .help(format!("usage: {use_}")),
            )
        }
        "sleep" => StepKind::Sleep(duration_arg(cur, use_)?),
        "send" => {
            let (kind, is_raw) = send(cur)?;
            raw = is_raw;
            kind
        }
        "response" => StepKind::Response {
            within: optional_within(cur, use_)?,
            checks: Vec::new(),
        },
        "interim" => interim(cur, use_)?,
        "no response" => StepKind::NoResponse {
            for_: for_duration(cur, use_)?,
        },
        "closed" => closed(cur, use_)?,
        "open" => StepKind::Open {
            for_: for_duration(cur, use_)?,
            probe: None,
        },
        _ => unreachable!("not a step: {name}"),
    };
    cur.expect_end(use_)?;
    Ok(ParsedStep { conn, kind, raw })
}

/// `[within D]`: nothing, or a time limit.
fn optional_within(cur: &mut Cursor<'_>, use_: &str) -> Result<Option<DurationExpr>, Fault> {
    match cur.word() {
        None => Ok(None),
        Some((_, "within")) => Ok(Some(duration_arg(cur, use_)?)),
        Some((start, w)) => Err(unexpected(start, w, &["within"], use_)),
    }
}

/// `for D`: how long a state must last (`no response for D`, `open for D`).
fn for_duration(cur: &mut Cursor<'_>, use_: &str) -> Result<DurationExpr, Fault> {
    keyword(cur, "for", use_)?;
    duration_arg(cur, use_)
}

/// `within D`, or `after D1 within D2`: when the connection must be closed by.
fn closed(cur: &mut Cursor<'_>, use_: &str) -> Result<StepKind, Fault> {
    match cur.word() {
        Some((_, "within")) => Ok(StepKind::Closed {
            after: None,
            within: duration_arg(cur, use_)?,
        }),
        Some((_, "after")) => closed_between(cur, use_),
        Some((start, w)) => Err(unexpected(start, w, &["within", "after"], use_)),
        None => {
            Err(Fault::new(cur.here(), "expected `within` or `after`")
                .help(format!("usage: {use_}")))
        }
    }
}

/// `after D1 within D2` (after `after`): a window, which must not be empty when both ends are
/// known now.
fn closed_between(cur: &mut Cursor<'_>, use_: &str) -> Result<StepKind, Fault> {
    let after_start = cur.here().start;
    let after = duration_arg(cur, use_)?;
    let after_end = cur.pos;
    keyword(cur, "within", use_)?;
    let within = duration_arg(cur, use_)?;
    if let (Some(a), Some(w)) = (after.constant(), within.constant()) {
        if a >= w {
            return Err(Fault::new(
                after_start..after_end,
                format!("`after {after}` is not shorter than `within {within}`"),
            )
            .help("the connection must close after D1 and before D2, so D1 < D2"));
        }
    }
    Ok(StepKind::Closed {
        after: Some(after),
        within,
    })
}

/// `interim [N...] [within D]`: 1xx codes, then an optional time limit.
fn interim(cur: &mut Cursor<'_>, use_: &str) -> Result<StepKind, Fault> {
    let mut codes = Vec::new();
    let mut within = None;
    while let Some((start, w)) = cur.word() {
        if w == "within" {
            within = Some(duration_arg(cur, use_)?);
            break;
        }
        let ok = w.len() == 3 && w.starts_with('1') && w.bytes().all(|b| b.is_ascii_digit());
        if !ok {
            return Err(Fault::new(
                start..start + w.len(),
                format!("expected an interim (1xx) status code or `within`, found `{w}`"),
            )
            .help(format!("usage: {use_}")));
        }
        codes.push(w.parse().expect("three digits"));
    }
    Ok(StepKind::Interim { codes, within })
}

fn send(cur: &mut Cursor<'_>) -> Result<(StepKind, bool), Fault> {
    let mut raw = false;
    let mut split: Option<usize> = None;
    let mut delay: Option<(DurationExpr, Range<usize>)> = None;
    while let Some((start, word)) = cur.peek_word() {
        let span = start..start + word.len();
        let twice = || {
            Fault::new(
                span.clone(),
                format!(
                    "`{}` is given twice",
                    word.split('=').next().unwrap_or(word)
                ),
            )
        };
        if word == "raw" {
            if raw {
                return Err(twice());
            }
            raw = true;
            cur.pos = span.end;
        } else if let Some(n) = word.strip_prefix("split=") {
            if split.is_some() {
                return Err(twice());
            }
            match n.parse::<usize>() {
                Ok(n) if n > 0 && n.to_string().len() == word.len() - 6 => split = Some(n),
                _ => {
                    return Err(Fault::new(
                        start + 6..span.end,
                        "expected a number of bytes (1 or more) after `split=`",
                    )
                    .help("e.g. `split=1` sends one byte at a time"))
                }
            }
            cur.pos = span.end;
        } else if word.starts_with("delay=") {
            if delay.is_some() {
                return Err(twice());
            }
            cur.pos = start + 6;
            let d = duration_arg(cur, USAGE_SEND)?;
            delay = Some((d, start..cur.pos));
        } else if word.starts_with('@') {
            return Err(Fault::new(span, "the connection comes right after `send`")
                .help(format!("usage: {USAGE_SEND}")));
        } else {
            return Err(unexpected(
                start,
                word,
                &["raw", "split=", "delay="],
                USAGE_SEND,
            ));
        }
    }
    if let (Some((_, span)), None) = (&delay, split) {
        return Err(Fault::new(span.clone(), "`delay=` needs `split=N`").help(
            "the delay is the pause between the pieces of a split send: `send split=1 delay=50ms`",
        ));
    }
    let delay = delay.map_or_else(|| DurationExpr::from_duration(DEFAULT_DELAY), |(d, _)| d);
    Ok((
        StepKind::Send {
            data: Template::default(),
            split,
            delay,
        },
        raw,
    ))
}

/// Reads the arguments of check `name` (the cursor is after the directive).
pub(crate) fn check(
    name: &str,
    name_span: Range<usize>,
    cur: &mut Cursor<'_>,
) -> Result<ParsedCheck, Fault> {
    let use_ = usage(name);
    let mut block = None;
    let kind = match name {
        "status" => CheckKind::Status(status_codes(cur, use_)?),
        "or closed" => CheckKind::OrClosed,
        "status-line" => CheckKind::StatusLine(quoted_text(cur)?),
        "reason" => CheckKind::Reason(quoted_text(cur)?),
        "version" => CheckKind::Version(quoted_text(cur)?),
        "header" => CheckKind::Header {
            name: header_name(cur, use_)?,
            test: header_test(cur, use_)?,
        },
        "no header" => CheckKind::NoHeader(header_name(cur, use_)?),
        "body" => {
            let (kind, body_block) = body_check(cur, use_)?;
            block = body_block;
            kind
        }
        "content-length" => CheckKind::ContentLength,
        "content-type" => CheckKind::ContentType(extension(cur, use_)?),
        "no body" => {
            keyword(cur, "contains", use_)?;
            CheckKind::BodyLacks(quoted_text(cur)?)
        }
        "form" => CheckKind::Form(form_rules(cur, use_)?),
        _ => unreachable!("not a check: {name} at {name_span:?}"),
    };
    cur.expect_end(use_)?;
    Ok(ParsedCheck { kind, block })
}

/// `N [N...]`: one status code or more, each three digits not starting with 0.
fn status_codes(cur: &mut Cursor<'_>, use_: &str) -> Result<Vec<u16>, Fault> {
    let mut codes = Vec::new();
    while let Some((start, w)) = cur.word() {
        let ok = w.len() == 3 && w.bytes().all(|b| b.is_ascii_digit()) && !w.starts_with('0');
        if !ok {
            return Err(Fault::new(
                start..start + w.len(),
                format!("expected a three-digit status code, found `{w}`"),
            )
            .help(format!("usage: {use_}")));
        }
        codes.push(w.parse().expect("three digits"));
    }
    if codes.is_empty() {
        return Err(Fault::new(cur.here(), "`status` needs at least one code")
            .help(format!("usage: {use_}")));
    }
    Ok(codes)
}

/// What follows a header's name: nothing (present), `: VALUE`, `contains "TEXT"` or
/// `matches "REGEX"`.
fn header_test(cur: &mut Cursor<'_>, use_: &str) -> Result<HeaderTest, Fault> {
    if cur.eat(":") {
        // The rest of the line, unquoted (a value may hold quotes: `ETag: "abc"`).
        cur.skip_spaces();
        let start = cur.pos;
        let value = escape::quoted(cur.rest(), start)?;
        cur.pos = cur.text.len();
        return Ok(HeaderTest::Equals(value.trim().to_string()));
    }
    match cur.word() {
        None => Ok(HeaderTest::Present),
        Some((_, "contains")) => Ok(HeaderTest::Contains(quoted_text(cur)?)),
        Some((_, "matches")) => {
            let (span, re) = quoted_with_span(cur)?;
            regex::Regex::new(&re).map_err(|e| regex_fault(span, e))?;
            Ok(HeaderTest::Matches(re))
        }
        Some((start, w)) => Err(Fault::new(
            start..start + w.len(),
            format!("unexpected `{w}` after the header name"),
        )
        .help(format!("usage: {use_}"))),
    }
}

/// `body is ...`, `body contains "TEXT"`, `body matches "REGEX"` or `body file PATH`; with
/// whether `|` lines must follow (`Some(raw)`).
fn body_check(cur: &mut Cursor<'_>, use_: &str) -> Result<(CheckKind, Option<bool>), Fault> {
    let kind = match cur.word() {
        Some((_, "is")) => return body_is(cur, use_),
        Some((_, "contains")) => CheckKind::BodyContains(quoted_text(cur)?),
        Some((_, "matches")) => {
            let (span, re) = quoted_with_span(cur)?;
            regex::bytes::Regex::new(&re).map_err(|e| regex_fault(span, e))?;
            CheckKind::BodyMatches(re)
        }
        Some((_, "file")) => CheckKind::BodyFile(site_path(cur)?),
        Some((start, w)) => {
            let tests = ["is", "contains", "matches", "file"];
            return Err(unexpected(start, w, &tests, use_));
        }
        None => {
            return Err(Fault::new(cur.here(), "`body` needs a test").help(format!("usage: {use_}")))
        }
    };
    Ok((kind, None))
}

/// `body is` (its `|` lines follow, with CRLF line ends), `body is raw` (as written) or
/// `body is empty`.
fn body_is(cur: &mut Cursor<'_>, use_: &str) -> Result<(CheckKind, Option<bool>), Fault> {
    match cur.word() {
        None => Ok((CheckKind::BodyIs(Template::default()), Some(false))),
        Some((_, "raw")) => Ok((CheckKind::BodyIs(Template::default()), Some(true))),
        Some((_, "empty")) => Ok((CheckKind::BodyEmpty, None)),
        Some((start, w)) => Err(unexpected(start, w, &["raw", "empty"], use_)),
    }
}

/// The PATH of `body file PATH`: the rest of the line, relative to the site root and staying
/// under it.
fn site_path(cur: &mut Cursor<'_>) -> Result<String, Fault> {
    cur.skip_spaces();
    let start = cur.pos;
    let path = cur.rest();
    cur.pos = cur.text.len();
    if path.is_empty() {
        return Err(Fault::new(start..start, "`body file` needs a path")
            .help("a path under the site root, e.g. `body file index.html`"));
    }
    let escapes = path.starts_with('/') || path.split(['/', '\\']).any(|c| c == "..");
    if escapes {
        return Err(
            Fault::new(start..cur.pos, "the path must stay under the site root")
                .help("write it relative to `--www`, without `..`: `body file css/style.css`"),
        );
    }
    Ok(path.to_string())
}

/// `.EXT` of `content-type .EXT`, lowercased.
fn extension(cur: &mut Cursor<'_>, use_: &str) -> Result<String, Fault> {
    cur.skip_spaces();
    let (start, ext) = cur.take_while(|c| !c.is_whitespace());
    if !(ext.starts_with('.') && ext.len() > 1) {
        return Err(Fault::new(
            start..start + ext.len().max(1),
            "`content-type` needs an extension with its dot",
        )
        .help(format!("usage: {use_}")));
    }
    Ok(ext.to_ascii_lowercase())
}

/// `RULE...` of `form`: one form rule or more, by name.
fn form_rules(cur: &mut Cursor<'_>, use_: &str) -> Result<Vec<FormRule>, Fault> {
    let mut rules = Vec::new();
    while let Some((start, w)) = cur.word() {
        let Some(rule) = FormRule::from_name(w) else {
            return Err(unexpected(start, w, &FormRule::names(), use_));
        };
        rules.push(rule);
    }
    if rules.is_empty() {
        return Err(
            Fault::new(cur.here(), "`form` needs at least one rule").help(format!("usage: {use_}"))
        );
    }
    Ok(rules)
}

/// A header field name (an HTTP token).
fn header_name(cur: &mut Cursor<'_>, use_: &str) -> Result<String, Fault> {
    cur.skip_spaces();
    let (start, name) =
        cur.take_while(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c));
    if name.is_empty() {
        let end = start + cur.rest().find(' ').unwrap_or(cur.rest().len());
        let message = if start == end {
            "expected a header name".to_string()
        } else {
            format!("expected a header name, found `{}`", &cur.text[start..end])
        };
        return Err(Fault::new(start..end, message).help(format!("usage: {use_}")));
    }
    if !matches!(cur.peek(), None | Some(' ' | ':')) {
        let c = cur.peek().expect("a character");
        return Err(Fault::new(
            cur.pos..cur.pos + c.len_utf8(),
            format!("`{c}` cannot be part of a header name"),
        )
        .help(format!("usage: {use_}")));
    }
    Ok(name.to_string())
}

fn quoted_with_span(cur: &mut Cursor<'_>) -> Result<(Range<usize>, String), Fault> {
    let (span, raw) = cur.quoted()?;
    let text = escape::quoted(raw, span.start + 1)?;
    Ok((span, text))
}

fn quoted_text(cur: &mut Cursor<'_>) -> Result<String, Fault> {
    quoted_with_span(cur).map(|(_, t)| t)
}

fn regex_fault(span: Range<usize>, e: regex::Error) -> Fault {
    let text = e.to_string();
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    let last = last.strip_prefix("error: ").unwrap_or(last);
    Fault::new(span, format!("invalid regex: {last}"))
        .help("in a quoted string a backslash is written `\\\\`: `\"\\\\d+\"` is the regex `\\d+`")
}

/// Reads the word `kw` or fails.
fn keyword(cur: &mut Cursor<'_>, kw: &str, use_: &str) -> Result<(), Fault> {
    match cur.word() {
        Some((_, w)) if w == kw => Ok(()),
        Some((start, w)) => Err(unexpected(start, w, &[kw], use_)),
        None => {
            Err(Fault::new(cur.here(), format!("expected `{kw}`")).help(format!("usage: {use_}")))
        }
    }
}

/// A duration that is not a negative constant.
fn duration_arg(cur: &mut Cursor<'_>, use_: &str) -> Result<DurationExpr, Fault> {
    cur.skip_spaces();
    let start = cur.pos;
    let d = duration::parse(cur).map_err(|f| {
        if cur.text[start..].trim().is_empty() {
            f.help(format!("usage: {use_}"))
        } else {
            f
        }
    })?;
    if duration::is_negative_constant(&d) {
        return Err(Fault::new(
            start..cur.pos,
            format!("the duration `{d}` is negative"),
        ));
    }
    Ok(d)
}

fn unexpected(start: usize, word: &str, expected: &[&str], use_: &str) -> Fault {
    let list: Vec<String> = expected.iter().map(|e| format!("`{e}`")).collect();
    let mut help = format!("usage: {use_}");
    if let Some(s) = did_you_mean(word, expected) {
        help.push_str(&format!(" (did you mean `{s}`?)"));
    }
    Fault::new(
        start..start + word.len(),
        format!("expected {}, found `{word}`", list.join(" or ")),
    )
    .help(help)
}
