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
    let miss = |text: String| Err(format!("line {}: {text}", e.line));
    if let Some(missing) = &r.unfinished {
        if needs_whole_body(&e.kind) {
            return miss(format!(
                "the body cannot be checked: it never ended ({missing})"
            ));
        }
    }
    let partial = || match &r.unfinished {
        Some(_) => " of what arrived before the body stopped",
        None => "",
    };
    let values =
        |name: &str| -> Vec<String> { r.header_values(name).map(|v| v.to_string()).collect() };
    let got_header = |name: &str| {
        let v = values(name);
        if v.is_empty() {
            "there is none".to_string()
        } else {
            format!(
                "got {}",
                v.iter().map(|v| quote(v)).collect::<Vec<_>>().join(", ")
            )
        }
    };
    match &e.kind {
        // About the absence of a response (see `exec/interim.rs`): met by any response read.
        ExpectKind::OrClosed => Ok(()),
        ExpectKind::Version(v) if &r.version == v => Ok(()),
        ExpectKind::Version(v) => miss(format!(
            "expected version {}, got {} ({})",
            quote(v),
            quote(&r.version),
            quote(&r.status_line)
        )),
        ExpectKind::Status(codes) => {
            if codes.contains(&r.code) {
                return Ok(());
            }
            let want = codes
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(" or ");
            miss(format!(
                "expected status {want}, got {} ({})",
                r.code,
                quote(&r.status_line)
            ))
        }
        ExpectKind::StatusLine(s) => {
            if &r.status_line == s {
                return Ok(());
            }
            miss(format!(
                "expected status line {}, got {}",
                quote(s),
                quote(&r.status_line)
            ))
        }
        ExpectKind::Reason(s) => {
            if r.reason.trim().eq_ignore_ascii_case(s.trim()) {
                return Ok(());
            }
            miss(format!(
                "expected reason {}, got {} ({})",
                quote(s),
                quote(&r.reason),
                quote(&r.status_line)
            ))
        }
        ExpectKind::HeaderPresent(name) => {
            if r.header(name).is_some() {
                return Ok(());
            }
            miss(format!("expected header {name}, but there is none"))
        }
        ExpectKind::HeaderEquals(name, want) => {
            if values(name).iter().any(|v| v.trim() == want.trim()) {
                return Ok(());
            }
            miss(format!(
                "expected header {name}: {want}, {}",
                got_header(name)
            ))
        }
        ExpectKind::HeaderContains(name, want) => {
            if values(name)
                .iter()
                .any(|v| contains_ci(v.as_bytes(), want.as_bytes()))
            {
                return Ok(());
            }
            miss(format!(
                "expected header {name} to contain {} (case-insensitive), {}",
                quote(want),
                got_header(name)
            ))
        }
        ExpectKind::HeaderMatches(name, re) => {
            if values(name).iter().any(|v| re.is_match(v.as_bytes())) {
                return Ok(());
            }
            miss(format!(
                "expected header {name} to match /{}/, {}",
                re.as_str(),
                got_header(name)
            ))
        }
        ExpectKind::NoHeader(name) => {
            let v = values(name);
            if v.is_empty() {
                return Ok(());
            }
            miss(format!(
                "expected no header {name}, got {name}: {}",
                quote(&v[0])
            ))
        }
        ExpectKind::BodyIs(want) => compare_body("the expected body", want, &r.body).or_else(miss),
        ExpectKind::BodyFile(path, want) => compare_body(path, want, &r.body).or_else(miss),
        ExpectKind::BodyEmpty => {
            if r.body.is_empty() {
                return Ok(());
            }
            miss(format!(
                "expected an empty body, got {} bytes: \"{}\"",
                r.body.len(),
                excerpt(&r.body, 80)
            ))
        }
        ExpectKind::BodyContains(s) => {
            if contains_ci(&r.body, s.as_bytes()) {
                return Ok(());
            }
            miss(format!(
                "expected the body to contain {} (case-insensitive); it does not ({} bytes{}: \"{}\")",
                quote(s),
                r.body.len(),
                partial(),
                excerpt(&r.body, 120)
            ))
        }
        ExpectKind::BodyMatches(re) => {
            if re.is_match(&r.body) {
                return Ok(());
            }
            miss(format!(
                "expected the body to match /{}/; it does not ({} bytes{}: \"{}\")",
                re.as_str(),
                r.body.len(),
                partial(),
                excerpt(&r.body, 120)
            ))
        }
        ExpectKind::MediaType(ext, want) => {
            let media = |v: &str| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            };
            if values("content-type")
                .iter()
                .any(|v| media(v) == media(want))
            {
                return Ok(());
            }
            miss(format!(
                "expected Content-Type {want} (what ws.conf maps {ext} to), {}",
                got_header("content-type")
            ))
        }
        ExpectKind::BodyLacks(s) => {
            if !contains_ci(&r.body, s.as_bytes()) {
                return Ok(());
            }
            miss(format!(
                "expected the body not to contain {} (case-insensitive), but it does ({} bytes: \"{}\")",
                quote(s),
                r.body.len(),
                excerpt(&r.body, 120)
            ))
        }
        ExpectKind::Form(_) => Ok(()),
        ExpectKind::ContentLength => {
            let v = values("content-length");
            let Some(first) = v.first() else {
                return miss("expected a Content-Length header, but there is none".into());
            };
            let n: Option<u64> = first.trim().parse().ok();
            match n {
                None => miss(format!(
                    "expected a Content-Length header with a number, got {}",
                    quote(first)
                )),
                // No body by the rules (HEAD, 204, 304): a number is all that can be checked.
                Some(_) if r.framing == Framing::NoBody => Ok(()),
                Some(n) if n == r.body.len() as u64 => Ok(()),
                Some(n) => miss(format!(
                    "Content-Length says {n} but the body has {} bytes",
                    r.body.len()
                )),
            }
        }
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
