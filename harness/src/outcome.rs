//! What running a case produced: its verdict, points, messages and transcript. Every report
//! format is written from these types alone.

use std::time::Duration;

use serde::Serialize;

/// The verdict of one case, from best to worst. Serialized as `pass`, `non-strict`, `fail`,
/// `error`, `skip`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Pass,
    NonStrict,
    Fail,
    Error,
    Skip,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::NonStrict => "non-strict",
            Verdict::Fail => "fail",
            Verdict::Error => "error",
            Verdict::Skip => "skip",
        }
    }

    /// Points earned for a case worth `max`: all for a pass, all for a non-strict pass when the
    /// run is lenient, none otherwise.
    pub fn points(self, max: f64, lenient: bool) -> f64 {
        match self {
            Verdict::Pass => max,
            Verdict::NonStrict if lenient => max,
            _ => 0.0,
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of one case.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    pub id: String,
    pub title: String,
    pub tags: Vec<String>,
    pub spec: Option<String>,
    /// The rule of the assignment the case belongs to (`rule:`), graded whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// What a student should change when the case does not pass (`hint:`), in the handout's
    /// terms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    pub verdict: Verdict,
    pub points: f64,
    pub max_points: f64,
    #[serde(rename = "duration_ms", serialize_with = "as_millis")]
    pub duration: Duration,
    /// Why the verdict is what it is: each failure or non-strict reason, expected versus got,
    /// naming the case file's line. Empty for a clean pass.
    pub messages: Vec<String>,
    pub transcript: Transcript,
    /// A shell line that replays what the case sent on its first connection
    /// (`printf '...' | nc HOST PORT`); set for results other than pass and skip.
    pub reproducer: Option<String>,
}

/// Bytes sent and received, in order, with times since the case started.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Transcript {
    pub events: Vec<Event>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Event {
    #[serde(rename = "at_ms", serialize_with = "as_millis")]
    pub at: Duration,
    pub conn: String,
    #[serde(flatten)]
    pub kind: EventKind,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum EventKind {
    Connect,
    /// Bytes written; serialized escaped (see [`show_bytes`]).
    Sent {
        #[serde(serialize_with = "as_escaped")]
        data: Vec<u8>,
    },
    Received {
        #[serde(serialize_with = "as_escaped")]
        data: Vec<u8>,
    },
    /// The server closed its side cleanly (FIN).
    Fin,
    /// The connection was reset by the server.
    Reset,
    /// We closed or half-closed, or anything else worth showing in order.
    Note {
        text: String,
    },
}

impl Transcript {
    /// The transcript as text, one event per line: `+0.012s main > "GET / HTTP/1.1\r\n..."`.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for e in &self.events {
            let what = match &e.kind {
                EventKind::Connect => "connected".to_string(),
                EventKind::Sent { data } => format!("> \"{}\"", show_bytes(data)),
                EventKind::Received { data } => format!("< \"{}\"", show_bytes(data)),
                EventKind::Fin => "closed by server (FIN)".to_string(),
                EventKind::Reset => "reset by server (RST)".to_string(),
                EventKind::Note { text } => format!("# {text}"),
            };
            out.push_str(&format!(
                "+{:.3}s @{} {}\n",
                e.at.as_secs_f64(),
                e.conn,
                what
            ));
        }
        out
    }
}

/// Bytes as a `.case` file writes them: printable ASCII as is, `\r`, `\n`, `\t`, `\0`, `\\`,
/// `\"`, `\{`, `\}`, and `\xNN` for the rest, so that the text pasted into a `send` block sends
/// the same bytes.
pub fn escape_bytes(data: &[u8]) -> String {
    escape(data, true)
}

/// Bytes as a reader sees them in a transcript: as [`escape_bytes`], but braces as they came
/// (`{"a":1}`, not `\{"a":1\}`).
pub fn show_bytes(data: &[u8]) -> String {
    escape(data, false)
}

fn escape(data: &[u8], braces: bool) -> String {
    let mut s = String::with_capacity(data.len());
    for &b in data {
        match b {
            b'{' if braces => s.push_str("\\{"),
            b'}' if braces => s.push_str("\\}"),
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            0 => s.push_str("\\0"),
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s
}

pub(crate) fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

fn as_escaped<S: serde::Serializer>(d: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&show_bytes(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transcripts_show_braces_as_they_came_and_case_files_escape_them() {
        let data = b"{\"a\":1}\r\n";
        assert_eq!(show_bytes(data), "{\\\"a\\\":1}\\r\\n");
        assert_eq!(escape_bytes(data), "\\{\\\"a\\\":1\\}\\r\\n");
        let t = Transcript {
            events: vec![Event {
                at: Duration::ZERO,
                conn: "main".into(),
                kind: EventKind::Received {
                    data: data.to_vec(),
                },
            }],
        };
        assert_eq!(t.to_text(), "+0.000s @main < \"{\\\"a\\\":1}\\r\\n\"\n");
    }
}
