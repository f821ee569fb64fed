//! Escaping shared by the formats: XML text and attributes (JUnit), HTML, and control characters
//! in text meant for a terminal or a YAML block.
//!
//! Case data (messages, titles, notes in transcripts) may hold anything a server sent. Characters
//! that XML 1.0 does not allow at all (C0 controls other than tab, LF, CR; U+FFFE, U+FFFF) cannot
//! be escaped as character references, so they are written as visible text instead: `\x01`,
//! `\u{fffe}`. The same visible form replaces control characters in terminal and YAML output, so
//! that a server cannot move the cursor or colour a student's terminal through a message.

/// Whether XML 1.0 allows the character in a document (`Char` production).
fn xml_allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// A character as visible text: `\x01` for one byte wide, `\u{fffe}` otherwise.
fn visible(c: char, out: &mut String) {
    let n = c as u32;
    if n <= 0xff {
        out.push_str(&format!("\\x{n:02x}"));
    } else {
        out.push_str(&format!("\\u{{{n:x}}}"));
    }
}

/// Text content of an XML element: `&`, `<`, `>` as entities; disallowed characters visible.
pub fn xml_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c if xml_allowed(c) => out.push(c),
            c => visible(c, &mut out),
        }
    }
    out
}

/// An XML attribute value (to be written between double quotes): as [`xml_text`], plus quotes,
/// and tab, LF, CR as character references so that attribute normalisation keeps them.
pub fn xml_attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if xml_allowed(c) => out.push(c),
            c => visible(c, &mut out),
        }
    }
    out
}

/// HTML text or attribute value: `& < > " '` as entities, control characters visible (except
/// tab, LF and CR, which HTML keeps as whitespace).
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() || !xml_allowed(c) => visible(c, &mut out),
            c => out.push(c),
        }
    }
    out
}

/// Text for a terminal or a YAML block: control characters (C0 other than LF and tab, DEL, C1)
/// and non-characters written visibly. LF and tab are kept.
pub fn controls(s: &str) -> String {
    if !s.chars().any(needs_visible) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if needs_visible(c) {
            visible(c, &mut out);
        } else {
            out.push(c);
        }
    }
    out
}

fn needs_visible(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || !xml_allowed(c)
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{FEFF}')
}

/// One line of text: as [`controls`], and line breaks and tabs written as `\n`, `\r`, `\t`.
pub fn one_line(s: &str) -> String {
    controls(
        &s.replace('\r', "\\r")
            .replace('\n', "\\n")
            .replace('\t', "\\t"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes_markup_and_makes_controls_visible() {
        assert_eq!(xml_text("a<b>&c ]]>"), "a&lt;b&gt;&amp;c ]]&gt;");
        assert_eq!(xml_text("nul\0 bell\x07 ok\n"), "nul\\x00 bell\\x07 ok\n");
        assert_eq!(xml_text("\u{FFFE}"), "\\u{fffe}");
        assert_eq!(
            xml_attr("say \"hi\"\n'x'"),
            "say &quot;hi&quot;&#10;&apos;x&apos;"
        );
    }

    #[test]
    fn html_escapes_everything_that_matters() {
        assert_eq!(
            html("<script>alert('x')</script>"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
        );
        assert_eq!(html("a\x1b[31mb"), "a\\x1b[31mb");
        assert_eq!(html("é ü"), "é ü");
    }

    #[test]
    fn terminal_text_loses_escape_sequences() {
        assert_eq!(
            controls("red \x1b[31m text\n\tok"),
            "red \\x1b[31m text\n\tok"
        );
        assert_eq!(controls("\u{85}"), "\\x85");
        assert_eq!(one_line("a\r\nb"), "a\\r\\nb");
    }
}
