//! A response's head: where it ends (the first empty line, CRLF or bare LF), its line ends, and
//! its header fields (`field-name ":" OWS field-value OWS`, RFC 9112 §5).

use super::{excerpt, Parsed, MAX_HEAD};
use crate::form::{Defect, FormRule};

/// A complete head: its lines (without line ends) and its length including the blank line.
pub(super) struct Head<'a> {
    pub(super) lines: Vec<&'a [u8]>,
    pub(super) len: usize,
    pub(super) bare_lf: usize,
    pub(super) status_bare_lf: bool,
}

/// The head at the start of `bytes`, once its empty line has arrived.
pub(super) fn scan_head(bytes: &[u8]) -> Option<Head<'_>> {
    let mut lines = Vec::new();
    let mut pos = 0;
    let mut bare_lf = 0;
    let mut status_bare_lf = false;
    loop {
        let (line, next, bare) = line_at(bytes, pos)?;
        if bare {
            bare_lf += 1;
            if pos == 0 {
                status_bare_lf = true;
            }
        }
        pos = next;
        if line.is_empty() && !lines.is_empty() {
            return Some(Head {
                lines,
                len: pos,
                bare_lf,
                status_bare_lf,
            });
        }
        lines.push(line);
    }
}

/// What a head that has not ended yet (or ends past [`MAX_HEAD`]) means: read more, or
/// (closed, or too long) malformed.
pub(super) fn unfinished_head(rest: &[u8], eof: bool) -> Parsed {
    if rest.len() > MAX_HEAD {
        return Parsed::Malformed {
            why: format!(
                "no end of the head within {MAX_HEAD} bytes: \"{}\"",
                excerpt(rest, 80)
            ),
        };
    }
    if eof {
        let hint = if !rest.contains(&b'\n') && rest.contains(&b'\r') {
            " (its lines end in a bare CR)"
        } else {
            ""
        };
        return Parsed::Malformed {
            why: format!(
                "connection closed in the middle of the head{hint}, after {} bytes: \"{}\"",
                rest.len(),
                excerpt(rest, 200)
            ),
        };
    }
    Parsed::Incomplete
}

/// Finds the end of the line starting at `pos`: (line without its end, index after the LF, bare LF).
pub(super) fn line_at(bytes: &[u8], pos: usize) -> Option<(&[u8], usize, bool)> {
    let nl = pos + bytes[pos..].iter().position(|&b| b == b'\n')?;
    if nl > pos && bytes[nl - 1] == b'\r' {
        Some((&bytes[pos..nl - 1], nl + 1, false))
    } else {
        Some((&bytes[pos..nl], nl + 1, true))
    }
}

/// The defect of bare LF line ends in the head, if any: the status line's alone, or the head's.
pub(super) fn line_end_defect(head: &Head) -> Option<Defect> {
    if head.bare_lf == 0 {
        return None;
    }
    let text = if head.bare_lf == 1 && head.status_bare_lf && head.lines.len() > 1 {
        "status line ends in a bare LF"
    } else {
        "head uses bare LF line ends"
    };
    Some(Defect::new(FormRule::LineEnds, text))
}

/// The header fields, in order, names as sent, values trimmed; folded lines are joined to the
/// field before them. Departures (folding, no colon, space around a name) become defects.
pub(super) fn fields(lines: &[&[u8]], defects: &mut Vec<Defect>) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = Vec::new();
    for raw in lines {
        if raw.first().is_some_and(|&b| b == b' ' || b == b'\t') {
            if let Some(last) = headers.last_mut() {
                let more = String::from_utf8_lossy(raw).trim().to_string();
                last.1.push(' ');
                last.1.push_str(&more);
                push_once(
                    defects,
                    Defect::new(FormRule::Fields, "obsolete line folding in the head"),
                );
                continue;
            }
        }
        let Some(colon) = raw.iter().position(|&b| b == b':') else {
            defects.push(Defect::new(
                FormRule::Fields,
                format!("header line without a colon: \"{}\"", excerpt(raw, 80)),
            ));
            continue;
        };
        let name_raw = String::from_utf8_lossy(&raw[..colon]).into_owned();
        let name = name_raw.trim().to_string();
        if name != name_raw {
            defects.push(Defect::new(
                FormRule::Fields,
                format!("whitespace around the header name \"{name_raw}\""),
            ));
        }
        let value = String::from_utf8_lossy(&raw[colon + 1..])
            .trim_matches(|c| c == ' ' || c == '\t')
            .to_string();
        headers.push((name, value));
    }
    headers
}

fn push_once(v: &mut Vec<Defect>, s: Defect) {
    if !v.contains(&s) {
        v.push(s);
    }
}
