//! Escape sequences and `{...}` forms: turns the content of a block line into a [`Template`]
//! (bytes, `{name}` variables, `{repeat N TEXT}`), and the inside of a quoted string into text.
//! The escapes are those of `crate::outcome::escape_bytes`, so a transcript pastes back exactly.

use super::diagnostic::Fault;
use super::model::{Piece, Template};

/// The largest total a `{repeat ...}` may expand to (counting fixed bytes only).
pub(crate) const MAX_REPEAT_BYTES: usize = 64 << 20;

const ESCAPES_HELP: &str =
    "valid escapes are \\r \\n \\t \\0 \\xNN \\\\ \\{ \\} \\\"; write a backslash as `\\\\`";

/// Where the text comes from: a block line (variables and repeats allowed) or a quoted string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Context {
    Block,
    Quoted,
}

/// Parses the content of a block line, which starts at byte `base` of its line. Returns the
/// template and whether the content ended in a lone `\` (no line end wanted, in line mode).
pub(crate) fn block(text: &str, base: usize) -> Result<(Template, bool), Fault> {
    let mut p = EscapeParser {
        text,
        base,
        ctx: Context::Block,
        pos: 0,
    };
    let (t, end) = p.template(false)?;
    check_size(&t).map_err(|m| Fault::new(base..base + text.len(), m))?;
    Ok((t, end == End::LoneBackslash))
}

/// Parses the inside of a quoted string (or an unquoted header value), which starts at byte
/// `base` of its line, into text. Variables are not available there.
pub(crate) fn quoted(text: &str, base: usize) -> Result<String, Fault> {
    let mut p = EscapeParser {
        text,
        base,
        ctx: Context::Quoted,
        pos: 0,
    };
    let (t, end) = p.template(false)?;
    if end == End::LoneBackslash {
        let at = base + text.len() - 1;
        return Err(Fault::new(at..at + 1, "lone `\\` at the end").help(ESCAPES_HELP));
    }
    let bytes = t.pieces.into_iter().flat_map(|p| match p {
        Piece::Bytes(b) => b,
        _ => unreachable!("quoted strings hold only bytes"),
    });
    String::from_utf8(bytes.collect()).map_err(|_| {
        Fault::new(
            base..base + text.len(),
            "a quoted string must be UTF-8 text",
        )
        .help("`\\xNN` above `\\x7f` makes bytes that are not text here")
    })
}

/// How a run of pieces ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Text,
    /// A `\` with nothing after it.
    LoneBackslash,
    /// The `}` that closes a repeat.
    Closed,
}

struct EscapeParser<'a> {
    text: &'a str,
    base: usize,
    ctx: Context,
    pos: usize,
}

impl EscapeParser<'_> {
    fn fault(&self, start: usize, end: usize, message: impl Into<String>) -> Fault {
        Fault::new(self.base + start..self.base + end, message)
    }

    /// Reads pieces up to the end of the text, or (inside a repeat) up to its closing `}`.
    fn template(&mut self, in_repeat: bool) -> Result<(Template, End), Fault> {
        let mut b = Builder::default();
        while let Some(c) = self.text[self.pos..].chars().next() {
            let start = self.pos;
            match c {
                '\\' => {
                    self.pos += 1;
                    let Some(e) = self.text[self.pos..].chars().next() else {
                        return Ok((b.finish(), End::LoneBackslash));
                    };
                    self.pos += e.len_utf8();
                    let byte = match e {
                        'r' => b'\r',
                        'n' => b'\n',
                        't' => b'\t',
                        '0' => 0,
                        '\\' => b'\\',
                        '{' => b'{',
                        '}' => b'}',
                        '"' => b'"',
                        'x' => self.hex(start)?,
                        _ => {
                            let help = if self.ctx == Context::Quoted {
                                format!("{ESCAPES_HELP} (in a regex, `\\\\{e}`)")
                            } else {
                                ESCAPES_HELP.to_string()
                            };
                            return Err(self
                                .fault(start, self.pos, format!("unknown escape `\\{e}`"))
                                .help(help));
                        }
                    };
                    b.bytes(&[byte]);
                }
                '{' if self.ctx == Context::Quoted => {
                    return Err(self
                        .fault(start, start + 1, "`{` in a quoted string")
                        .help("variables are not available in quoted strings; write a literal brace as `\\{`"));
                }
                '{' => {
                    let piece = self.brace()?;
                    b.piece(piece);
                }
                '}' if in_repeat => {
                    self.pos += 1;
                    return Ok((b.finish(), End::Closed));
                }
                '}' => {
                    return Err(self
                        .fault(start, start + 1, "unmatched `}`")
                        .help("write a literal brace as `\\}`"));
                }
                _ => {
                    self.pos += c.len_utf8();
                    b.bytes(c.to_string().as_bytes());
                }
            }
        }
        Ok((b.finish(), End::Text))
    }

    /// `\xNN`, with the cursor after the `x`; `start` is the backslash.
    fn hex(&mut self, start: usize) -> Result<u8, Fault> {
        let digits: String = self.text[self.pos..].chars().take(2).collect();
        if digits.len() == 2 && digits.chars().all(|c| c.is_ascii_hexdigit()) {
            self.pos += 2;
            return Ok(u8::from_str_radix(&digits, 16).expect("two hex digits"));
        }
        let bad_len: usize = digits
            .chars()
            .take_while(|c| !c.is_ascii_whitespace())
            .map(char::len_utf8)
            .sum();
        Err(self
            .fault(start, self.pos + bad_len, "`\\x` needs two hex digits")
            .help("e.g. `\\x00` to `\\xff`"))
    }

    /// `{name}` or `{repeat N TEXT}`, with the cursor on the `{`.
    fn brace(&mut self) -> Result<Piece, Fault> {
        let open = self.pos;
        self.pos += 1;
        let rest = &self.text[self.pos..];
        let name_len = rest
            .char_indices()
            .find(|&(i, c)| !(c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())))
            .map_or(rest.len(), |(i, _)| i);
        let name = &rest[..name_len];
        self.pos += name_len;
        let brace_help = "write a literal brace as `\\{`";
        match self.text[self.pos..].chars().next() {
            _ if name.is_empty() => Err(self
                .fault(open, open + 1, "expected a variable name after `{`")
                .help(format!(
                    "a variable is `{{name}}`, a repetition `{{repeat N TEXT}}`; {brace_help}"
                ))),
            Some('}') => {
                self.pos += 1;
                Ok(Piece::Var(name.to_string()))
            }
            Some(' ') if name == "repeat" => {
                self.pos += 1;
                let (n_start, digits) = {
                    let r = &self.text[self.pos..];
                    let len = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
                    (self.pos, &r[..len])
                };
                self.pos += digits.len();
                let count = digits.parse::<usize>().map_err(|_| {
                    self.fault(n_start, n_start, "expected a count after `{repeat `")
                        .help("e.g. `{repeat 8192 a}`")
                })?;
                if !self.text[self.pos..].starts_with(' ') {
                    return Err(self
                        .fault(
                            self.pos,
                            self.pos,
                            "expected a space and the text to repeat",
                        )
                        .help("e.g. `{repeat 8192 a}`"));
                }
                self.pos += 1;
                let (inner, end) = self.template(true)?;
                if end != End::Closed {
                    return Err(self
                        .fault(open, self.text.len(), "unclosed `{repeat`")
                        .help("end it with `}`; write a literal brace inside it as `\\}`"));
                }
                Ok(Piece::Repeat(count, inner))
            }
            None => Err(self
                .fault(open, self.pos, "unclosed `{`")
                .help(format!("end the variable with `}}`, or {brace_help}"))),
            Some(c) => Err(self
                .fault(
                    open,
                    self.pos + c.len_utf8(),
                    format!("invalid variable `{{{name}...`"),
                )
                .help(format!(
                    "a variable name is letters, digits and `_`; {brace_help}"
                ))),
        }
    }
}

/// Collects pieces, merging neighbouring bytes.
#[derive(Default)]
pub(crate) struct Builder {
    pieces: Vec<Piece>,
}

impl Builder {
    pub fn bytes(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if let Some(Piece::Bytes(last)) = self.pieces.last_mut() {
            last.extend_from_slice(bytes);
        } else {
            self.pieces.push(Piece::Bytes(bytes.to_vec()));
        }
    }

    pub fn piece(&mut self, piece: Piece) {
        match piece {
            Piece::Bytes(b) => self.bytes(&b),
            other => self.pieces.push(other),
        }
    }

    pub fn template(&mut self, t: Template) {
        for p in t.pieces {
            self.piece(p);
        }
    }

    pub fn finish(self) -> Template {
        Template {
            pieces: self.pieces,
        }
    }
}

/// The bytes a template expands to, counting a variable as one byte, saturating.
pub(crate) fn fixed_size(t: &Template) -> usize {
    t.pieces.iter().fold(0usize, |acc, p| {
        acc.saturating_add(match p {
            Piece::Bytes(b) => b.len(),
            Piece::Var(_) => 1,
            Piece::Repeat(n, inner) => n.saturating_mul(fixed_size(inner)),
        })
    })
}

pub(crate) fn check_size(t: &Template) -> Result<(), String> {
    if fixed_size(t) > MAX_REPEAT_BYTES {
        return Err(format!(
            "`{{repeat ...}}` expands to more than {} MiB",
            MAX_REPEAT_BYTES >> 20
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(b: &[u8]) -> Piece {
        Piece::Bytes(b.to_vec())
    }

    #[test]
    fn escapes_make_bytes() {
        let (t, open) = block(r#"a\r\n\t\0\x7F\xff\\\{\}\"é"#, 2).unwrap();
        assert_eq!(t.pieces, vec![bytes(b"a\r\n\t\0\x7f\xff\\{}\"\xc3\xa9")]);
        assert!(!open);
    }

    #[test]
    fn lone_backslash_at_the_end_means_no_line_end() {
        assert_eq!(
            block(r"GET /\", 0).unwrap(),
            (Template::literal("GET /"), true)
        );
        assert_eq!(
            block(r"GET /\\", 0).unwrap(),
            (Template::literal("GET /\\"), false)
        );
    }

    #[test]
    fn variables_and_repeats() {
        let (t, _) = block("Host: {host}:{port}{repeat 3 a\\}{x}}!", 0).unwrap();
        assert_eq!(
            t.pieces,
            vec![
                bytes(b"Host: "),
                Piece::Var("host".into()),
                bytes(b":"),
                Piece::Var("port".into()),
                Piece::Repeat(
                    3,
                    Template {
                        pieces: vec![bytes(b"a}"), Piece::Var("x".into())]
                    }
                ),
                bytes(b"!"),
            ]
        );
        let (t, _) = block("{repeat 2 {repeat 2 ab}}", 0).unwrap();
        assert_eq!(t.render(&Default::default()).unwrap(), b"abababab");
        assert_eq!(
            block("{repeat}", 0).unwrap().0.pieces,
            vec![Piece::Var("repeat".into())]
        );
    }

    #[test]
    fn faults_point_at_the_exact_column() {
        let span = |s: &str| block(s, 2).unwrap_err().span;
        assert_eq!(span(r"ab\q"), 4..6);
        assert_eq!(span(r"ab\xg1"), 4..8);
        assert_eq!(span(r"ab\x1"), 4..7);
        assert_eq!(span("ab{host"), 4..9);
        assert_eq!(span("ab{ x}"), 4..5);
        assert_eq!(span("ab{ho-st}"), 4..8);
        assert_eq!(span("ab}"), 4..5);
        assert_eq!(span("x{repeat 3 abc"), 3..16);
        assert_eq!(span(r"x{repeat 3 abc\}"), 3..18);
        assert_eq!(span(r"x{repeat 3 abc\"), 3..17);
        assert_eq!(span("x{repeat x a}"), 11..11);
        assert_eq!(span("x{repeat 3}"), 12..12);
        assert!(block("{repeat 99999999 {repeat 99999999 a}}", 0)
            .unwrap_err()
            .message
            .contains("MiB"));
        assert!(block("{repeat 999999999 {host}}", 0)
            .unwrap_err()
            .message
            .contains("MiB"));
    }

    #[test]
    fn quoted_strings() {
        assert_eq!(quoted(r#"a \"b\" \x41\\"#, 0).unwrap(), "a \"b\" A\\");
        let f = quoted("{host}", 5).unwrap_err();
        assert_eq!(f.span, 5..6);
        assert!(f.help.unwrap().contains("\\{"));
        assert!(quoted(r"\d+", 0)
            .unwrap_err()
            .help
            .unwrap()
            .contains("\\\\d"));
        assert!(quoted(r"\xff", 0).unwrap_err().message.contains("UTF-8"));
        assert_eq!(quoted(r"\xc3\xa9", 0).unwrap(), "é");
    }
}
