//! Checks on a response: each [`Check`] of the case is first resolved against the run
//! (variables rendered, regexes compiled, `body file` read from the site root), then evaluated
//! against a parsed [`Response`]. A miss is a message naming the case file's line and saying
//! expected versus got: `line 12: expected status 404, got 200 ("HTTP/1.1 200 OK")`.

use std::path::Path;

use regex::bytes::Regex;

use crate::case::{Check, CheckKind, HeaderTest, Vars};
use crate::declared::Declared;
use crate::form::{Defect, FormRule};
use crate::outcome::escape_bytes;

use super::response::{excerpt, Framing, Response};

/// A check ready to evaluate.
#[derive(Debug, Clone)]
pub struct Expect {
    pub line: usize,
    pub non_strict: bool,
    pub kind: ExpectKind,
}

#[derive(Debug, Clone)]
pub enum ExpectKind {
    Status(Vec<u16>),
    StatusLine(String),
    Reason(String),
    HeaderPresent(String),
    HeaderEquals(String, String),
    HeaderContains(String, String),
    HeaderMatches(String, Regex),
    NoHeader(String),
    BodyIs(Vec<u8>),
    BodyEmpty,
    BodyContains(String),
    BodyMatches(Regex),
    /// The file's path as shown in messages, and its bytes.
    BodyFile(String, Vec<u8>),
    ContentLength,
    /// The extension, and the media type the submission's ws.conf maps it to.
    MediaType(String, String),
    BodyLacks(String),
    /// Judged once the response's defects are all known (`runner::finish`), not here.
    Form(Vec<FormRule>),
    OrClosed,
    Version(String),
}

/// Resolves a check for this run. Errors (an unknown variable, a missing file, a bad regex) make
/// the case an error, not a failure; the message is complete but for the `file:` prefix.
pub fn resolve(
    check: &Check,
    vars: &Vars,
    www: &Path,
    declared: &Declared,
) -> Result<Expect, String> {
    let line = check.line;
    let regex = |src: &str| Regex::new(src).map_err(|e| format!("{line}: bad regex {src:?}: {e}"));
    let kind = match &check.kind {
        CheckKind::Status(codes) => ExpectKind::Status(codes.clone()),
        CheckKind::StatusLine(s) => ExpectKind::StatusLine(s.clone()),
        CheckKind::Reason(s) => ExpectKind::Reason(s.clone()),
        CheckKind::Header { name, test } => match test {
            HeaderTest::Present => ExpectKind::HeaderPresent(name.clone()),
            HeaderTest::Equals(v) => ExpectKind::HeaderEquals(name.clone(), v.clone()),
            HeaderTest::Contains(v) => ExpectKind::HeaderContains(name.clone(), v.clone()),
            HeaderTest::Matches(r) => ExpectKind::HeaderMatches(name.clone(), regex(r)?),
        },
        CheckKind::NoHeader(name) => ExpectKind::NoHeader(name.clone()),
        CheckKind::BodyIs(t) => {
            ExpectKind::BodyIs(t.render(vars).map_err(|e| format!("{line}: {e}"))?)
        }
        CheckKind::BodyEmpty => ExpectKind::BodyEmpty,
        CheckKind::BodyContains(s) => ExpectKind::BodyContains(s.clone()),
        CheckKind::BodyMatches(r) => ExpectKind::BodyMatches(regex(r)?),
        CheckKind::BodyFile(p) => {
            let path = www.join(p);
            let bytes = std::fs::read(&path).map_err(|e| {
                format!(
                    "{line}: body file {p}: cannot read {}: {e} (set the site root with --www)",
                    path.display()
                )
            })?;
            ExpectKind::BodyFile(path.display().to_string(), bytes)
        }
        CheckKind::ContentLength => ExpectKind::ContentLength,
        CheckKind::ContentType(ext) => match declared.type_of(ext) {
            Some(t) => ExpectKind::MediaType(ext.clone(), t.to_string()),
            None => {
                return Err(format!(
                "{line}: content-type {ext}: {} maps no type to {ext} (add `requires: type {ext}` \
                     to the case so that it is skipped instead)",
                declared.source
            ))
            }
        },
        CheckKind::BodyLacks(s) => ExpectKind::BodyLacks(s.clone()),
        CheckKind::Form(rules) => ExpectKind::Form(rules.clone()),
        CheckKind::OrClosed => ExpectKind::OrClosed,
        CheckKind::Version(v) => ExpectKind::Version(v.clone()),
    };
    Ok(Expect {
        line,
        non_strict: check.non_strict,
        kind,
    })
}

fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    if needle.is_empty() {
        return true;
    }
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

fn quote(s: &str) -> String {
    format!("\"{}\"", excerpt(s.as_bytes(), 200))
}

/// Where two byte strings first differ, with escaped excerpts of both from a little before it.
fn first_difference(expected: &[u8], got: &[u8]) -> String {
    let at = expected
        .iter()
        .zip(got)
        .position(|(a, b)| a != b)
        .unwrap_or(expected.len().min(got.len()));
    let from = at.saturating_sub(16);
    let show = |b: &[u8]| {
        let part = &b[from.min(b.len())..];
        let cut = part.len().min(48);
        format!(
            "{}\"{}\"{}",
            if from > 0 { "..." } else { "" },
            escape_bytes(&part[..cut]),
            if part.len() > cut { "..." } else { "" }
        )
    };
    format!(
        "first difference at offset {at}: expected {}, got {}",
        show(expected),
        show(got)
    )
}

fn compare_body(what: &str, expected: &[u8], got: &[u8]) -> Result<(), String> {
    if expected == got {
        return Ok(());
    }
    Err(format!(
        "body differs from {what} ({} bytes expected, {} bytes got); {}",
        expected.len(),
        got.len(),
        first_difference(expected, got)
    ))
}

/// NUL padding after a body read until close (a fixed buffer sent whole) is one habit, graded by
/// the `extra-bytes` form rule, not a wrong body: when a `body is` or `body file` check expects
/// exactly the bytes before the padding, the padding is cut off and recorded as a defect, and a
/// body that never ended counts as ended where the padding began.
pub fn trim_padding(r: &mut Response, checks: &[Expect]) {
    if r.framing != Framing::Close && r.unfinished.is_none() {
        return;
    }
    let fits = |want: &[u8]| {
        r.body.len() > want.len()
            && r.body.starts_with(want)
            && r.body[want.len()..].iter().all(|&b| b == 0)
    };
    let Some(len) = checks.iter().find_map(|c| match &c.kind {
        ExpectKind::BodyIs(want) | ExpectKind::BodyFile(_, want) if fits(want) => Some(want.len()),
        _ => None,
    }) else {
        return;
    };
    let pad = r.body.len() - len;
    r.body.truncate(len);
    // The expected body arrived whole; only padding followed (the framing defect stays).
    r.unfinished = None;
    r.defects.push(Defect::new(
        FormRule::ExtraBytes,
        format!("{pad} NUL bytes of padding after the body"),
    ));
}

/// Whether a check can only be judged on the whole body.
fn needs_whole_body(kind: &ExpectKind) -> bool {
    matches!(
        kind,
        ExpectKind::BodyIs(_)
            | ExpectKind::BodyFile(..)
            | ExpectKind::BodyEmpty
            | ExpectKind::ContentLength
    )
}

/// Evaluates one check: `Ok`, or the miss as `line N: expected ..., got ...`.
pub fn evaluate(e: &Expect, r: &Response) -> Result<(), String> {
    let miss = match &e.kind {
        kind if r.unfinished.is_some() && needs_whole_body(kind) => Some(format!(
            "the body cannot be checked: it never ended ({})",
            r.unfinished.as_deref().unwrap_or_default()
        )),
        // About the absence of a response (see `exec/interim.rs`): met by any response read.
        ExpectKind::OrClosed => None,
        // Judged once the response's defects are all known (`runner::finish`).
        ExpectKind::Form(_) => None,
        ExpectKind::Version(_)
        | ExpectKind::Status(_)
        | ExpectKind::StatusLine(_)
        | ExpectKind::Reason(_) => status_miss(&e.kind, r),
        ExpectKind::HeaderPresent(_)
        | ExpectKind::HeaderEquals(..)
        | ExpectKind::HeaderContains(..)
        | ExpectKind::HeaderMatches(..)
        | ExpectKind::NoHeader(_)
        | ExpectKind::MediaType(..)
        | ExpectKind::ContentLength => header_miss(&e.kind, r),
        _ => body_miss(&e.kind, r),
    };
    match miss {
        None => Ok(()),
        Some(text) => Err(format!("line {}: {text}", e.line)),
    }
}

/// The miss of a check on the status line, if it missed.
fn status_miss(kind: &ExpectKind, r: &Response) -> Option<String> {
    let line = quote(&r.status_line);
    match kind {
        ExpectKind::Version(v) => (&r.version != v).then(|| {
            format!(
                "expected version {}, got {} ({line})",
                quote(v),
                quote(&r.version)
            )
        }),
        ExpectKind::Status(codes) => (!codes.contains(&r.code)).then(|| {
            let want: Vec<String> = codes.iter().map(|c| c.to_string()).collect();
            format!(
                "expected status {}, got {} ({line})",
                want.join(" or "),
                r.code
            )
        }),
        ExpectKind::StatusLine(s) => {
            (&r.status_line != s).then(|| format!("expected status line {}, got {line}", quote(s)))
        }
        ExpectKind::Reason(s) => (!r.reason.trim().eq_ignore_ascii_case(s.trim())).then(|| {
            format!(
                "expected reason {}, got {} ({line})",
                quote(s),
                quote(&r.reason)
            )
        }),
        _ => unreachable!("not a status check"),
    }
}

/// The values of a header, and what a miss says was got: `got "a", "b"` or `there is none`.
fn header_values(r: &Response, name: &str) -> (Vec<String>, String) {
    let values: Vec<String> = r.header_values(name).map(str::to_string).collect();
    let got = if values.is_empty() {
        "there is none".to_string()
    } else {
        let quoted: Vec<String> = values.iter().map(|v| quote(v)).collect();
        format!("got {}", quoted.join(", "))
    };
    (values, got)
}

/// The miss of a check on the header fields, if it missed.
fn header_miss(kind: &ExpectKind, r: &Response) -> Option<String> {
    match kind {
        ExpectKind::HeaderPresent(name) => r
            .header(name)
            .is_none()
            .then(|| format!("expected header {name}, but there is none")),
        ExpectKind::HeaderEquals(name, want) => {
            let (v, got) = header_values(r, name);
            (!v.iter().any(|v| v.trim() == want.trim()))
                .then(|| format!("expected header {name}: {want}, {got}"))
        }
        ExpectKind::HeaderContains(name, want) => {
            let (v, got) = header_values(r, name);
            (!v.iter().any(|v| contains_ci(v.as_bytes(), want.as_bytes()))).then(|| {
                format!(
                    "expected header {name} to contain {} (case-insensitive), {got}",
                    quote(want)
                )
            })
        }
        ExpectKind::HeaderMatches(name, re) => {
            let (v, got) = header_values(r, name);
            (!v.iter().any(|v| re.is_match(v.as_bytes())))
                .then(|| format!("expected header {name} to match /{}/, {got}", re.as_str()))
        }
        ExpectKind::NoHeader(name) => {
            let (v, _) = header_values(r, name);
            v.first()
                .map(|first| format!("expected no header {name}, got {name}: {}", quote(first)))
        }
        ExpectKind::MediaType(ext, want) => media_type_miss(r, ext, want),
        ExpectKind::ContentLength => content_length_miss(r),
        _ => unreachable!("not a header check"),
    }
}

/// `content-type .EXT`: the media type ws.conf maps, compared without parameters.
fn media_type_miss(r: &Response, ext: &str, want: &str) -> Option<String> {
    let media = |v: &str| {
        v.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    };
    let (v, got) = header_values(r, "content-type");
    (!v.iter().any(|v| media(v) == media(want)))
        .then(|| format!("expected Content-Type {want} (what ws.conf maps {ext} to), {got}"))
}

/// `content-length`: a Content-Length that is a number and the body's length.
fn content_length_miss(r: &Response) -> Option<String> {
    let (v, _) = header_values(r, "content-length");
    let Some(first) = v.first() else {
        return Some("expected a Content-Length header, but there is none".into());
    };
    match first.trim().parse::<u64>().ok() {
        None => Some(format!(
            "expected a Content-Length header with a number, got {}",
            quote(first)
        )),
        // No body by the rules (HEAD, 204, 304): a number is all that can be checked.
        Some(_) if r.framing == Framing::NoBody => None,
        Some(n) if n == r.body.len() as u64 => None,
        Some(n) => Some(format!(
            "Content-Length says {n} but the body has {} bytes",
            r.body.len()
        )),
    }
}

/// The miss of a check on the body, if it missed.
fn body_miss(kind: &ExpectKind, r: &Response) -> Option<String> {
    let partial = if r.unfinished.is_some() {
        " of what arrived before the body stopped"
    } else {
        ""
    };
    let what = |n: usize| {
        format!(
            "{} bytes{partial}: \"{}\"",
            r.body.len(),
            excerpt(&r.body, n)
        )
    };
    match kind {
        ExpectKind::BodyIs(want) => compare_body("the expected body", want, &r.body).err(),
        ExpectKind::BodyFile(path, want) => compare_body(path, want, &r.body).err(),
        ExpectKind::BodyEmpty => {
            (!r.body.is_empty()).then(|| format!("expected an empty body, got {}", what(80)))
        }
        ExpectKind::BodyContains(s) => (!contains_ci(&r.body, s.as_bytes())).then(|| {
            format!(
                "expected the body to contain {} (case-insensitive); it does not ({})",
                quote(s),
                what(120)
            )
        }),
        ExpectKind::BodyMatches(re) => (!re.is_match(&r.body)).then(|| {
            format!(
                "expected the body to match /{}/; it does not ({})",
                re.as_str(),
                what(120)
            )
        }),
        ExpectKind::BodyLacks(s) => contains_ci(&r.body, s.as_bytes()).then(|| {
            format!(
                "expected the body not to contain {} (case-insensitive), but it does ({})",
                quote(s),
                what(120)
            )
        }),
        _ => unreachable!("not a body check"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::response::{parse_response, Parsed};

    fn resp(raw: &[u8]) -> Response {
        match parse_response(raw, true, false) {
            Parsed::Complete { response, .. } => response,
            other => panic!("{other:?}"),
        }
    }

    fn ex(kind: ExpectKind) -> Expect {
        Expect {
            line: 7,
            non_strict: false,
            kind,
        }
    }

    #[test]
    fn status_miss_names_line_and_status_line() {
        let r = resp(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(
            evaluate(&ex(ExpectKind::Status(vec![404])), &r),
            Err("line 7: expected status 404, got 200 (\"HTTP/1.1 200 OK\")".into())
        );
        assert_eq!(
            evaluate(&ex(ExpectKind::Status(vec![404, 200])), &r),
            Ok(())
        );
    }

    #[test]
    fn headers_and_body() {
        let r = resp(b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 11\r\n\r\nHello World");
        assert!(evaluate(
            &ex(ExpectKind::HeaderContains(
                "content-type".into(),
                "TEXT/HTML".into()
            )),
            &r
        )
        .is_ok());
        assert!(evaluate(
            &ex(ExpectKind::HeaderEquals(
                "Content-Length".into(),
                "11".into()
            )),
            &r
        )
        .is_ok());
        assert!(evaluate(&ex(ExpectKind::NoHeader("Server".into())), &r).is_ok());
        assert!(evaluate(&ex(ExpectKind::BodyContains("hello".into())), &r).is_ok());
        assert!(evaluate(&ex(ExpectKind::ContentLength), &r).is_ok());
        let m = evaluate(&ex(ExpectKind::HeaderPresent("Date".into())), &r).unwrap_err();
        assert_eq!(m, "line 7: expected header Date, but there is none");
        let m = evaluate(&ex(ExpectKind::BodyIs(b"Hello world".to_vec())), &r).unwrap_err();
        assert!(m.contains("first difference at offset 6"), "{m}");
        assert!(
            m.contains("expected \"Hello world\", got \"Hello World\""),
            "{m}"
        );
        let m = evaluate(&ex(ExpectKind::BodyEmpty), &r).unwrap_err();
        assert!(m.contains("got 11 bytes"), "{m}");
    }

    #[test]
    fn content_length_mismatch() {
        let r = resp(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabcd");
        let m = evaluate(&ex(ExpectKind::ContentLength), &r);
        // The parser read 2 bytes by the framing: the header agrees with the body read.
        assert_eq!(m, Ok(()));
        let r = resp(b"HTTP/1.1 200 OK\r\n\r\nabcd");
        assert_eq!(
            evaluate(&ex(ExpectKind::ContentLength), &r),
            Err("line 7: expected a Content-Length header, but there is none".into())
        );
    }
}
