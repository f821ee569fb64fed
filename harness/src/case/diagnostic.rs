//! Mistakes in case files: [`Diagnostic`] (what the user sees, rendered like rustc, `just` or
//! Hurl with a caret under the fault) and [`Fault`] (what the lexer and parser raise, a byte span
//! within one line, turned into a diagnostic once the line is known).

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

/// A mistake in a case file. `Display` renders it like rustc:
///
/// ```text
/// error: unknown directive `sned`
///  --> cases/assignment/get.case:7:1
///   |
/// 7 | sned
///   | ^^^^
///   = help: expected one of: connect, send, ... (did you mean `send`?)
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub col: usize,
    /// Characters under the caret (0 for a point, e.g. the end of a line).
    pub len: usize,
    /// The whole source line, without its line end.
    pub line_text: String,
    pub message: String,
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic for `fault`, found on line `line` (1-based) whose text is `line_text`.
    pub(crate) fn at(
        path: &std::path::Path,
        line: usize,
        line_text: &str,
        fault: Fault,
    ) -> Diagnostic {
        let start = floor_char_boundary(line_text, fault.span.start.min(line_text.len()));
        let end = floor_char_boundary(line_text, fault.span.end.clamp(start, line_text.len()));
        Diagnostic {
            path: path.to_path_buf(),
            line,
            col: line_text[..start].chars().count() + 1,
            len: line_text[start..end].chars().count(),
            line_text: line_text.to_string(),
            message: fault.message,
            help: fault.help,
        }
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let number = self.line.to_string();
        let pad = " ".repeat(number.len());
        // Control characters would shift the caret; show each as one space.
        let shown: String = self
            .line_text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        writeln!(f, "error: {}", self.message)?;
        writeln!(
            f,
            "{pad}--> {}:{}:{}",
            self.path.display(),
            self.line,
            self.col
        )?;
        writeln!(f, "{pad} |")?;
        writeln!(f, "{number} | {shown}")?;
        write!(
            f,
            "{pad} | {}{}",
            " ".repeat(self.col.saturating_sub(1)),
            "^".repeat(self.len.max(1))
        )?;
        if let Some(help) = &self.help {
            write!(f, "\n{pad} = help: {help}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostic {}

/// A fault on one line: a byte span of the line, a message and maybe a help text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fault {
    pub span: Range<usize>,
    pub message: String,
    pub help: Option<String>,
}

impl Fault {
    pub fn new(span: Range<usize>, message: impl Into<String>) -> Fault {
        Fault {
            span,
            message: message.into(),
            help: None,
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> Fault {
        self.help = Some(help.into());
        self
    }
}

/// The closest of `candidates` to `word`, if it is close enough to be a likely typo.
pub(crate) fn did_you_mean<'c>(word: &str, candidates: &[&'c str]) -> Option<&'c str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Edit distance counting insertions, deletions, substitutions and swaps of neighbours
/// (optimal string alignment), case-insensitive.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_rustc() {
        let d = Diagnostic::at(
            std::path::Path::new("cases/a.case"),
            7,
            "sned",
            Fault::new(0..4, "unknown directive `sned`").help("did you mean `send`?"),
        );
        assert_eq!(
            d.to_string(),
            "error: unknown directive `sned`\n --> cases/a.case:7:1\n  |\n7 | sned\n  | ^^^^\n  = help: did you mean `send`?"
        );
    }

    #[test]
    fn columns_count_characters_and_wide_gutters_align() {
        let d = Diagnostic::at(
            std::path::Path::new("x.case"),
            120,
            "é\tab",
            Fault::new(2..3, "tab"),
        );
        assert_eq!((d.col, d.len), (2, 1));
        assert_eq!(
            d.to_string(),
            "error: tab\n   --> x.case:120:2\n    |\n120 | é ab\n    |  ^"
        );
    }

    #[test]
    fn a_point_at_the_end_of_the_line_gets_one_caret() {
        let d = Diagnostic::at(
            std::path::Path::new("x.case"),
            1,
            "sleep",
            Fault::new(5..5, "needs a duration"),
        );
        assert_eq!((d.col, d.len), (6, 0));
        assert!(d.to_string().ends_with("1 | sleep\n  |      ^"));
    }

    #[test]
    fn suggestions() {
        assert_eq!(edit_distance("sned", "send"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(
            did_you_mean("sned", &["response", "send", "sleep"]),
            Some("send")
        );
        assert_eq!(did_you_mean("Status", &["status"]), Some("status"));
        assert_eq!(did_you_mean("xyz", &["send", "sleep"]), None);
    }
}
