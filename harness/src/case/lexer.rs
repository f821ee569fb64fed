//! The lexer: splits a case file into lines, classifies each (directive, block line, comment,
//! blank), lints it (raw CR, tab, trailing spaces), and gives the parser a [`Cursor`] to read a
//! directive's words, connection names, quoted strings and durations with their columns.

use super::diagnostic::Fault;

/// One line of a case file.
#[derive(Debug, Clone)]
pub(crate) struct Line<'a> {
    /// 1-based.
    pub number: usize,
    /// The line without its LF (and without the CR of a CRLF line end).
    pub text: &'a str,
    pub kind: LineKind<'a>,
    /// The first lint fault of the line, if any.
    pub lint: Option<Fault>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LineKind<'a> {
    Blank,
    /// Starts with `#`.
    Comment,
    /// Starts with `|`: the content after `| ` (empty for a line that is only `|`), which starts
    /// at byte 2 of the line. `Err` for a `|` not followed by a space.
    Block(Result<&'a str, ()>),
    /// Anything else: a directive or metadata, read with a [`Cursor`].
    Directive,
}

/// The lines of `src`, and how many of them ended in CRLF (reported once, on the first).
pub(crate) fn lines(src: &str) -> Vec<Line<'_>> {
    let body = src.strip_suffix('\n').unwrap_or(src);
    if src.is_empty() {
        return Vec::new();
    }
    let mut crlf_count = body.split('\n').filter(|l| l.ends_with('\r')).count();
    let mut out = Vec::new();
    for (i, raw) in body.split('\n').enumerate() {
        let (text, had_cr) = match raw.strip_suffix('\r') {
            Some(t) => (t, true),
            None => (raw, false),
        };
        let kind = classify(text);
        let mut lint = lint(text, kind);
        if i == 0 && text.starts_with('\u{feff}') {
            lint = Some(
                Fault::new(0..3, "the file starts with a byte order mark")
                    .help("save it as UTF-8 without a BOM"),
            );
        }
        if had_cr && crlf_count > 0 {
            let others = crlf_count - 1;
            let more = if others > 0 {
                format!(" ({others} more lines end in CR)")
            } else {
                String::new()
            };
            let fault = Fault::new(
                text.len()..text.len(),
                "line ends with a CR byte (CRLF line ends)",
            )
            .help(format!(
                "save the file with LF line ends; write a CR as `\\r`{more}"
            ));
            lint = lint.or(Some(fault));
            crlf_count = 0;
        }
        out.push(Line {
            number: i + 1,
            text,
            kind,
            lint,
        });
    }
    out
}

fn classify(text: &str) -> LineKind<'_> {
    if text.is_empty() {
        LineKind::Blank
    } else if text.starts_with('#') {
        LineKind::Comment
    } else if let Some(after) = text.strip_prefix('|') {
        if after.is_empty() {
            LineKind::Block(Ok(""))
        } else if let Some(content) = after.strip_prefix(' ') {
            LineKind::Block(Ok(content))
        } else {
            LineKind::Block(Err(()))
        }
    } else {
        LineKind::Directive
    }
}

/// The first of: a raw CR, a tab, trailing spaces (in that order of columns).
fn lint(text: &str, kind: LineKind<'_>) -> Option<Fault> {
    let escape_help = matches!(kind, LineKind::Block(_));
    for (i, c) in text.char_indices() {
        match c {
            '\r' => {
                return Some(Fault::new(i..i + 1, "raw CR byte").help("write a CR as `\\r`"));
            }
            '\t' => {
                let help = if escape_help {
                    "write a tab as `\\t`"
                } else {
                    "use spaces, or write a tab as `\\t`"
                };
                return Some(Fault::new(i..i + 1, "tab character").help(help));
            }
            _ => {}
        }
    }
    let trimmed = text.trim_end_matches(' ');
    if trimmed.len() < text.len() {
        let help = if text == "| " {
            "an empty block line is `|` alone".to_string()
        } else if escape_help {
            "write a trailing space as `\\x20`".to_string()
        } else {
            "remove them".to_string()
        };
        return Some(Fault::new(trimmed.len()..text.len(), "trailing spaces").help(help));
    }
    None
}

/// Reads a directive line left to right, keeping byte positions for diagnostics.
#[derive(Debug, Clone)]
pub(crate) struct Cursor<'a> {
    pub text: &'a str,
    pub pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(text: &'a str) -> Cursor<'a> {
        Cursor { text, pos: 0 }
    }

    pub fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    pub fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    pub fn at_end(&self) -> bool {
        self.pos >= self.text.len()
    }

    /// Skips spaces; true if there were any.
    pub fn skip_spaces(&mut self) -> bool {
        let before = self.pos;
        while self.peek() == Some(' ') {
            self.pos += 1;
        }
        self.pos > before
    }

    /// Consumes `s` if the rest starts with it.
    pub fn eat(&mut self, s: &str) -> bool {
        if self.rest().starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    /// Consumes characters while `f` holds; returns their start and text.
    pub fn take_while(&mut self, f: impl Fn(char) -> bool) -> (usize, &'a str) {
        let start = self.pos;
        let len = self
            .rest()
            .find(|c: char| !f(c))
            .unwrap_or(self.rest().len());
        self.pos += len;
        (start, &self.text[start..self.pos])
    }

    /// After spaces, the next word (up to a space or the end), if any.
    pub fn word(&mut self) -> Option<(usize, &'a str)> {
        self.skip_spaces();
        let (start, w) = self.take_while(|c| c != ' ');
        (!w.is_empty()).then_some((start, w))
    }

    /// The next word without consuming it.
    pub fn peek_word(&self) -> Option<(usize, &'a str)> {
        self.clone().word()
    }

    /// A point at the current position (after spaces), for "expected ..." faults.
    pub fn here(&self) -> std::ops::Range<usize> {
        let mut c = self.clone();
        c.skip_spaces();
        c.pos..c.pos
    }

    /// After spaces, a connection name `@name`, if one is written. `Ok(None)` when there is none.
    pub fn conn(&mut self) -> Result<Option<String>, Fault> {
        let save = self.pos;
        self.skip_spaces();
        if !self.eat("@") {
            self.pos = save;
            return Ok(None);
        }
        let at = self.pos - 1;
        let (_, name) = self.take_while(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if name.is_empty() || !matches!(self.peek(), None | Some(' ')) {
            let end = self.pos + self.rest().find(' ').unwrap_or(self.rest().len());
            return Err(Fault::new(at..end, "invalid connection name")
                .help("a connection name is `@` then letters, digits, `_` or `-`, e.g. `@b`"));
        }
        Ok(Some(name.to_string()))
    }

    /// After spaces, a quoted string `"..."`: its span (quotes included) and the raw text between
    /// the quotes (escapes not yet processed), which starts at `span.start + 1`.
    pub fn quoted(&mut self) -> Result<(std::ops::Range<usize>, &'a str), Fault> {
        self.skip_spaces();
        let start = self.pos;
        if !self.eat("\"") {
            let end = self.pos + self.rest().find(' ').unwrap_or(self.rest().len());
            let got = &self.text[start..end];
            let message = if got.is_empty() {
                "expected a quoted string".to_string()
            } else {
                format!("expected a quoted string, found `{got}`")
            };
            return Err(Fault::new(start..end, message).help("write it in double quotes: \"TEXT\""));
        }
        let bytes = self.text.as_bytes();
        let mut i = self.pos;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                b'"' => {
                    let content = &self.text[self.pos..i];
                    self.pos = i + 1;
                    if !matches!(self.peek(), None | Some(' ')) {
                        return Err(Fault::new(
                            self.pos..self.pos + 1,
                            "expected a space or the end of the line after the closing quote",
                        )
                        .help("write a double quote inside a string as `\\\"`"));
                    }
                    return Ok((start..self.pos, content));
                }
                _ => i += 1,
            }
        }
        Err(Fault::new(start..self.text.len(), "unclosed quoted string")
            .help("end it with `\"`; write a double quote inside it as `\\\"`"))
    }

    /// Fails unless only spaces are left.
    pub fn expect_end(&mut self, usage: &str) -> Result<(), Fault> {
        self.skip_spaces();
        if self.at_end() {
            return Ok(());
        }
        let start = self.pos;
        Err(Fault::new(
            start..self.text.len(),
            format!("unexpected `{}`", self.rest()),
        )
        .help(format!("usage: {usage}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_lines() {
        let ls = lines("# c\ntitle: x\n\n| a\n|\n|x\nsend\n");
        let kinds: Vec<_> = ls.iter().map(|l| l.kind).collect();
        assert_eq!(
            kinds,
            vec![
                LineKind::Comment,
                LineKind::Directive,
                LineKind::Blank,
                LineKind::Block(Ok("a")),
                LineKind::Block(Ok("")),
                LineKind::Block(Err(())),
                LineKind::Directive
            ]
        );
        assert_eq!(ls.len(), 7);
        assert_eq!(ls[6].number, 7);
    }

    #[test]
    fn lints_cr_tab_and_trailing_spaces() {
        let ls = lines("| a\rb\n| a\tb\nsend  \n| \nok\n");
        assert_eq!(ls[0].lint.as_ref().unwrap().span, 3..4);
        assert!(ls[1]
            .lint
            .as_ref()
            .unwrap()
            .help
            .as_deref()
            .unwrap()
            .contains("\\t"));
        assert_eq!(ls[2].lint.as_ref().unwrap().span, 4..6);
        assert!(ls[3]
            .lint
            .as_ref()
            .unwrap()
            .help
            .as_deref()
            .unwrap()
            .contains("`|` alone"));
        assert!(ls[4].lint.is_none());
    }

    #[test]
    fn crlf_is_reported_once() {
        let ls = lines("a\r\nb\r\nc\n");
        assert_eq!(ls[0].text, "a");
        assert!(ls[0]
            .lint
            .as_ref()
            .unwrap()
            .help
            .as_deref()
            .unwrap()
            .contains("1 more"));
        assert!(ls[1].lint.is_none());
    }

    #[test]
    fn cursor_reads_words_conns_and_quotes() {
        let mut c = Cursor::new("send @a-1 raw \"x \\\" y\" end");
        assert_eq!(c.word(), Some((0, "send")));
        assert_eq!(c.conn().unwrap(), Some("a-1".to_string()));
        assert_eq!(c.conn().unwrap(), None);
        assert_eq!(c.word(), Some((10, "raw")));
        assert_eq!(c.quoted().unwrap(), (14..22, "x \\\" y"));
        assert!(c.expect_end("x").is_err());
        assert_eq!(Cursor::new("r @").conn_after_word().unwrap_err().span, 2..3);
        assert_eq!(
            Cursor::new("x \"abc").quoted_after_word().unwrap_err().span,
            2..6
        );
    }

    impl<'a> Cursor<'a> {
        fn conn_after_word(mut self) -> Result<Option<String>, Fault> {
            self.word();
            self.conn()
        }
        fn quoted_after_word(mut self) -> Result<(std::ops::Range<usize>, &'a str), Fault> {
            self.word();
            self.quoted()
        }
    }
}
