//! The rules of a response's *form* (RFC 9112), apart from what a case tests.
//!
//! Every response read is checked for its form whatever the case says, and each departure is a
//! [`Defect`] under one [`FormRule`]. A defect alone makes a case `non-strict`, which earns its
//! points (unless `--strict-form`): a student loses points for a habit such as bare-LF line ends
//! once, in the case that grades that rule (`form RULE` in a case file), not in every case.

use std::fmt;

/// One rule of the response form, graded by the cases that name it with `form RULE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FormRule {
    /// The status line and header lines end in CRLF (RFC 9112 §2.2).
    LineEnds,
    /// A reason phrase follows the status code (the assignment; RFC 9112 §4 makes it optional).
    Reason,
    /// The status line's grammar: a space after the status code, even when no reason follows
    /// (RFC 9112 §4 `status-line = HTTP-version SP status-code SP [ reason-phrase ]`).
    StatusLine,
    /// The body's length is declared and right: `Content-Length` (RFC 9112 §6.3, §8.6).
    ContentLength,
    /// Nothing but the next response follows a response: no NUL padding, no stray bytes.
    ExtraBytes,
    /// The status line says `HTTP/1.0` or `HTTP/1.1` (RFC 9112 §2.3).
    Version,
    /// Header fields are well formed: a colon, no space before it, no folding (RFC 9112 §5).
    Fields,
    /// The body can be delimited: chunked coding, Transfer-Encoding, an end that arrives.
    Framing,
    /// A response to `HEAD`, or a 1xx, 204 or 304 response, carries no body (RFC 9110 §9.3.2).
    NoBody,
}

impl FormRule {
    pub const ALL: [FormRule; 9] = [
        FormRule::LineEnds,
        FormRule::Reason,
        FormRule::StatusLine,
        FormRule::ContentLength,
        FormRule::ExtraBytes,
        FormRule::Version,
        FormRule::Fields,
        FormRule::Framing,
        FormRule::NoBody,
    ];

    /// The name written in case files and reports: `line-ends`, `content-length`, ...
    pub fn name(self) -> &'static str {
        match self {
            FormRule::LineEnds => "line-ends",
            FormRule::Reason => "reason",
            FormRule::StatusLine => "status-line",
            FormRule::ContentLength => "content-length",
            FormRule::ExtraBytes => "extra-bytes",
            FormRule::Version => "version",
            FormRule::Fields => "fields",
            FormRule::Framing => "framing",
            FormRule::NoBody => "no-body",
        }
    }

    pub fn from_name(name: &str) -> Option<FormRule> {
        FormRule::ALL.into_iter().find(|r| r.name() == name)
    }

    /// Every name, for "expected one of".
    pub fn names() -> Vec<&'static str> {
        FormRule::ALL.iter().map(|r| r.name()).collect()
    }
}

impl fmt::Display for FormRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One departure from the form, named: `head uses bare LF line ends`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defect {
    pub rule: FormRule,
    pub text: String,
}

impl Defect {
    pub fn new(rule: FormRule, text: impl Into<String>) -> Defect {
        Defect {
            rule,
            text: text.into(),
        }
    }
}

impl fmt::Display for Defect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (form: {})", self.text, self.rule)
    }
}

impl PartialEq<&str> for Defect {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for r in FormRule::ALL {
            assert_eq!(FormRule::from_name(r.name()), Some(r));
        }
        assert_eq!(FormRule::from_name("crlf"), None);
        assert_eq!(
            Defect::new(FormRule::LineEnds, "head uses bare LF line ends").to_string(),
            "head uses bare LF line ends (form: line-ends)"
        );
    }
}
