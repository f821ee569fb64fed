//! Comparing two servers case by case: the same cases run at both, and each connection's
//! responses (re-read by framing from the transcripts) and fate are compared with declared
//! tolerances (after http-garden's list of harmless differences):
//! - status codes are compared, not reason phrases;
//! - of the headers, only [`COMPARED_HEADERS`] (so never `Date` or `Server`), values compared
//!   case-insensitively without spaces, `Content-Type` by its media type without parameters;
//! - the status line's HTTP version, and `Keep-Alive`;
//! - `Connection` by what it means for each response's version ([`Persistence`]): an HTTP/1.1
//!   response persists unless it says `close`, an HTTP/1.0 one only if it says `keep-alive`
//!   (RFC 9112 §9.3), so `Connection: keep-alive` in HTTP/1.1 and no `Connection` at all agree;
//! - bodies and `Content-Length` only for 2xx responses: error pages may say anything;
//! - a connection's fate (closed, reset, open) only where the case checks it (`closed`, `open`,
//!   `no response` on that connection): elsewhere it depends on when the case stopped looking.
//!
//! Transcripts keep at most 256 KiB a connection, so two bodies past that compare as far as kept.

use std::collections::BTreeMap;

use regex::bytes::Regex;

use crate::case::{Case, StepKind};
use crate::exec::response::{could_be_status_line, parse_response, Parsed};
use crate::outcome::{escape_bytes, CaseResult, EventKind, Verdict};

/// The headers whose values are compared (case-insensitively, spaces removed). `Connection` is
/// compared by its meaning instead ([`Persistence`]).
pub const COMPARED_HEADERS: [&str; 6] = [
    "content-type",
    "content-length",
    "keep-alive",
    "transfer-encoding",
    "allow",
    "location",
];

/// Whether a response lets its connection persist, and why (RFC 9112 §9.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Persistence {
    pub persists: bool,
    /// What decided it: `HTTP/1.1 default`, `Connection: close`, ...
    pub because: String,
}

impl Persistence {
    /// Reads the `Connection` values of a response of this HTTP version.
    pub fn of(version: &str, connection: &[&str]) -> Persistence {
        let has = |opt: &str| {
            connection
                .iter()
                .flat_map(|v| v.split(','))
                .any(|t| t.trim().eq_ignore_ascii_case(opt))
        };
        let (persists, because) = if has("close") {
            (false, "Connection: close".to_string())
        } else if version == "HTTP/1.1" {
            let why = if has("keep-alive") {
                "HTTP/1.1 with Connection: keep-alive"
            } else {
                "HTTP/1.1 default"
            };
            (true, why.to_string())
        } else if has("keep-alive") {
            (true, format!("{version} with Connection: keep-alive"))
        } else {
            (false, format!("{version} default"))
        };
        Persistence { persists, because }
    }
}

impl std::fmt::Display for Persistence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = if self.persists { "keep-alive" } else { "close" };
        write!(f, "{what} ({})", self.because)
    }
}

/// The connections whose fate a case checks.
pub fn fate_checked(case: &Case) -> Vec<String> {
    let mut conns: Vec<String> = case
        .steps
        .iter()
        .filter(|s| {
            matches!(
                s.kind,
                StepKind::Closed { .. } | StepKind::Open { .. } | StepKind::NoResponse { .. }
            )
        })
        .map(|s| s.conn.clone())
        .collect();
    conns.dedup();
    conns
}

/// What one connection of a case saw.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnSeen {
    pub name: String,
    pub responses: Vec<Seen>,
    /// Why reading stopped before the end of what arrived, if it did.
    pub unreadable: Option<String>,
    pub fate: Fate,
    /// The transcript stopped keeping what arrived (past its cap): the last response is partial.
    pub cut: bool,
}

/// One response, reduced to what is compared.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    pub code: u16,
    /// The status line's HTTP version, as sent.
    pub version: String,
    pub persistence: Persistence,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// The server closed it (FIN).
    Closed,
    /// The server reset it.
    Reset,
    /// Still open when the case ended (or closed by us).
    Open,
}

impl std::fmt::Display for Fate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Fate::Closed => "closed by the server",
            Fate::Reset => "reset by the server",
            Fate::Open => "left open",
        })
    }
}

/// Re-reads a result's transcript: per connection (in order of first appearance), the responses
/// that arrived, read by their framing, and how the connection ended.
pub fn observe(result: &CaseResult) -> Vec<ConnSeen> {
    let mut order: Vec<String> = Vec::new();
    let mut sent: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut received: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut fates: BTreeMap<String, Fate> = BTreeMap::new();
    let mut cut: Vec<String> = Vec::new();
    for e in &result.transcript.events {
        if !order.contains(&e.conn) {
            order.push(e.conn.clone());
        }
        match &e.kind {
            EventKind::Sent { data } => sent
                .entry(e.conn.clone())
                .or_default()
                .extend_from_slice(data),
            EventKind::Received { data } => received
                .entry(e.conn.clone())
                .or_default()
                .extend_from_slice(data),
            EventKind::Fin => {
                fates.insert(e.conn.clone(), Fate::Closed);
            }
            EventKind::Reset => {
                fates.insert(e.conn.clone(), Fate::Reset);
            }
            EventKind::Note { text } if text.starts_with("transcript cut") => {
                cut.push(e.conn.clone())
            }
            _ => {}
        }
    }
    order
        .into_iter()
        .map(|name| {
            let methods = request_methods(sent.get(&name).map(Vec::as_slice).unwrap_or(&[]));
            let (responses, unreadable) = read_all(
                received.get(&name).map(Vec::as_slice).unwrap_or(&[]),
                &methods,
            );
            let fate = fates.get(&name).copied().unwrap_or(Fate::Open);
            let cut = cut.contains(&name);
            ConnSeen {
                name,
                responses,
                unreadable,
                fate,
                cut,
            }
        })
        .collect()
}

/// The methods of the requests in what was sent, in order (to know which responses have no body).
fn request_methods(sent: &[u8]) -> Vec<String> {
    static LINE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    let re = LINE.get_or_init(|| {
        Regex::new(r"(?m)(?:^|\n)([A-Za-z]+) [^ \r\n]+ HTTP/").expect("a valid regex")
    });
    re.captures_iter(sent)
        .map(|c| String::from_utf8_lossy(&c[1]).to_ascii_uppercase())
        .collect()
}

fn read_all(buf: &[u8], methods: &[String]) -> (Vec<Seen>, Option<String>) {
    let mut seen = Vec::new();
    let mut at = 0;
    // Bytes after the last response that cannot start another are its trailing bytes, which
    // the verdicts already judge: nothing more to compare.
    while at < buf.len() && could_be_status_line(&buf[at..]) {
        let head = methods.get(seen.len()).is_some_and(|m| m == "HEAD");
        match parse_response(&buf[at..], true, head) {
            Parsed::Complete { response, consumed } => {
                let headers = response
                    .headers
                    .iter()
                    .filter(|(n, _)| COMPARED_HEADERS.contains(&n.to_ascii_lowercase().as_str()))
                    .map(|(n, v)| {
                        let n = n.to_ascii_lowercase();
                        let v = if n == "content-type" {
                            normalize(v.split(';').next().unwrap_or(""))
                        } else {
                            normalize(v)
                        };
                        (n, v)
                    })
                    .collect();
                let connection: Vec<&str> = response.header_values("connection").collect();
                let persistence = Persistence::of(&response.version, &connection);
                seen.push(Seen {
                    code: response.code,
                    version: response.version.clone(),
                    persistence,
                    headers,
                    body: response.body,
                });
                at += consumed.max(1);
            }
            Parsed::Malformed { why } => return (seen, Some(why)),
            Parsed::Incomplete => return (seen, Some("incomplete response".into())),
        }
    }
    (seen, None)
}

fn normalize(v: &str) -> String {
    v.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// Every difference between what A and B showed for the same case, as lines of text; empty when
/// they agree within the tolerances. `fates`: the connections whose fate is compared (see
/// [`fate_checked`]).
pub fn compare(a: &CaseResult, b: &CaseResult, fates: &[String]) -> Vec<String> {
    let (sa, sb) = (observe(a), observe(b));
    let mut out = Vec::new();
    let names: Vec<&String> = {
        let mut n: Vec<&String> = sa.iter().map(|c| &c.name).collect();
        for c in &sb {
            if !n.contains(&&c.name) {
                n.push(&c.name);
            }
        }
        n
    };
    for name in names {
        let ca = sa.iter().find(|c| &c.name == name);
        let cb = sb.iter().find(|c| &c.name == name);
        let (Some(ca), Some(cb)) = (ca, cb) else {
            out.push(format!(
                "@{name}: used by {} only",
                if ca.is_some() { "A" } else { "B" }
            ));
            continue;
        };
        let n = ca.responses.len().max(cb.responses.len());
        for i in 0..n {
            let at = format!("@{name} response {}", i + 1);
            match (ca.responses.get(i), cb.responses.get(i)) {
                (Some(x), Some(y)) => {
                    // Past a transcript's cap only the kept part of the last body can be compared.
                    let partial = (ca.cut || cb.cut) && i + 1 == n;
                    compare_seen(&at, x, y, partial, &mut out)
                }
                (Some(x), None) => out.push(format!(
                    "{at}: A answered {}, B sent no such response",
                    x.code
                )),
                (None, Some(y)) => out.push(format!(
                    "{at}: A sent no such response, B answered {}",
                    y.code
                )),
                (None, None) => {}
            }
        }
        if ca.unreadable != cb.unreadable && !(ca.cut || cb.cut) {
            let show = |u: &Option<String>| u.clone().unwrap_or_else(|| "readable".into());
            out.push(format!(
                "@{name}: A: {}; B: {}",
                show(&ca.unreadable),
                show(&cb.unreadable)
            ));
        }
        if ca.fate != cb.fate && fates.contains(name) {
            out.push(format!("@{name}: A {}, B {}", ca.fate, cb.fate));
        }
    }
    out
}

/// A verdict that differs between A and B, with its cause: the first reason each side that did
/// not pass gave (`verdict A pass B fail; B: line 13: expected status 400, got 200 ...`).
pub fn verdict_change(a: &CaseResult, b: &CaseResult) -> Option<String> {
    if a.verdict == b.verdict {
        return None;
    }
    let mut line = format!("verdict A {} B {}", a.verdict, b.verdict);
    for (side, r) in [("A", a), ("B", b)] {
        // The level's own note ("level should: ...") says what a miss costs, not why it missed.
        let cause = r.messages.iter().find(|m| !m.starts_with("level "));
        if let (true, Some(cause)) = (r.verdict != Verdict::Pass, cause) {
            line.push_str(&format!("; {side}: {cause}"));
        }
    }
    Some(line)
}

fn compare_seen(at: &str, x: &Seen, y: &Seen, partial: bool, out: &mut Vec<String>) {
    if x.code != y.code {
        out.push(format!("{at}: status A {} B {}", x.code, y.code));
    }
    if x.version != y.version {
        out.push(format!("{at}: version A {} B {}", x.version, y.version));
    }
    if x.persistence.persists != y.persistence.persists {
        out.push(format!(
            "{at}: persistence A {} B {}",
            x.persistence, y.persistence
        ));
    }
    let success = (200..300).contains(&x.code) && (200..300).contains(&y.code);
    for h in COMPARED_HEADERS {
        if h == "content-length" && !success {
            continue;
        }
        let (hx, hy) = (x.headers.get(h), y.headers.get(h));
        if hx != hy {
            let show = |v: Option<&String>| {
                v.map(|v| format!("\"{v}\""))
                    .unwrap_or_else(|| "absent".into())
            };
            out.push(format!("{at}: {h} A {} B {}", show(hx), show(hy)));
        }
    }
    let (bx, by) = if partial {
        let n = x.body.len().min(y.body.len());
        (&x.body[..n], &y.body[..n])
    } else {
        (&x.body[..], &y.body[..])
    };
    if success && bx != by {
        let first = x
            .body
            .iter()
            .zip(&y.body)
            .position(|(p, q)| p != q)
            .unwrap_or(x.body.len().min(y.body.len()));
        let around = |b: &[u8]| escape_bytes(&b[first.min(b.len())..(first + 24).min(b.len())]);
        out.push(format!(
            "{at}: body A {} bytes B {} bytes, first difference at byte {first}: A \"{}\" B \"{}\"",
            x.body.len(),
            y.body.len(),
            around(&x.body),
            around(&y.body)
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{Event, Transcript};
    use std::time::Duration;

    fn result(events: Vec<(&str, EventKind)>) -> CaseResult {
        CaseResult {
            id: "x".into(),
            title: "x".into(),
            tags: vec![],
            spec: None,
            rule: None,
            hint: None,
            verdict: Verdict::Pass,
            points: 1.0,
            max_points: 1.0,
            duration: Duration::ZERO,
            messages: vec![],
            transcript: Transcript {
                events: events
                    .into_iter()
                    .map(|(c, kind)| Event {
                        at: Duration::ZERO,
                        conn: c.into(),
                        kind,
                    })
                    .collect(),
            },
            reproducer: None,
        }
    }

    fn exchange(request: &str, response: &str, fate: Option<EventKind>) -> CaseResult {
        let mut ev = vec![
            (
                "main",
                EventKind::Sent {
                    data: request.as_bytes().to_vec(),
                },
            ),
            (
                "main",
                EventKind::Received {
                    data: response.as_bytes().to_vec(),
                },
            ),
        ];
        if let Some(f) = fate {
            ev.push(("main", f));
        }
        result(ev)
    }

    const GET: &str = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

    #[test]
    fn date_server_and_reason_phrases_are_tolerated() {
        let a = exchange(
            GET,
            "HTTP/1.1 200 OK\r\nDate: Mon\r\nServer: a\r\nContent-Length: 2\r\n\r\nhi",
            Some(EventKind::Fin),
        );
        let b = exchange(
            GET,
            "HTTP/1.1 200 Fine\r\nDate: Tue\r\nContent-Length: 2\r\n\r\nhi",
            Some(EventKind::Fin),
        );
        assert_eq!(compare(&a, &b, &[]), Vec::<String>::new());
    }

    #[test]
    fn status_headers_body_and_fate_differences_are_named() {
        let a = exchange(
            GET,
            "HTTP/1.1 400 Bad Request\r\nContent-Type: text/html\r\nContent-Length: 2\r\n\r\nno",
            Some(EventKind::Fin),
        );
        let b = exchange(GET, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nyes", None);
        let d = compare(&a, &b, &["main".to_string()]);
        assert!(d.iter().any(|l| l.contains("status A 400 B 200")), "{d:?}");
        assert!(
            d.iter()
                .any(|l| l.contains("content-type A \"text/html\" B absent")),
            "{d:?}"
        );
        assert!(
            d.iter()
                .any(|l| l.contains("A closed by the server, B left open")),
            "{d:?}"
        );
        assert!(
            compare(&a, &b, &[]).iter().all(|l| !l.contains("closed")),
            "fate unchecked"
        );

        let a = exchange(GET, "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 2\r\n\r\nhi", None);
        let b = exchange(
            GET,
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 3\r\n\r\nyes",
            None,
        );
        let d = compare(&a, &b, &[]);
        assert!(
            d.iter().any(|l| l.contains("body A 2 bytes B 3 bytes")),
            "{d:?}"
        );
        assert!(
            d.iter().all(|l| !l.contains("content-type")),
            "parameters are ignored: {d:?}"
        );
    }

    #[test]
    fn error_pages_may_differ_in_wording() {
        let a = exchange(
            GET,
            "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found",
            None,
        );
        let b = exchange(
            GET,
            "HTTP/1.1 404 Not Found\r\nContent-Length: 22\r\n\r\nURL does not exist: /x",
            None,
        );
        assert_eq!(compare(&a, &b, &[]), Vec::<String>::new());
    }

    #[test]
    fn head_responses_are_read_without_a_body() {
        let req = "HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n";
        let a = exchange(req, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", None);
        let seen = observe(&a);
        assert_eq!(seen[0].responses.len(), 2, "{seen:?}");
        assert_eq!(seen[0].responses[1].body, b"hi");
        assert_eq!(seen[0].unreadable, None);
    }

    #[test]
    fn persistence_is_compared_by_what_it_means_for_each_version() {
        let ka11 = "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nhi";
        let plain11 = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
        let ka10 = "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nhi";
        let plain10 = "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi";
        let close11 = "HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 2\r\n\r\nhi";
        let d = |a: &str, b: &str| compare(&exchange(GET, a, None), &exchange(GET, b, None), &[]);
        // HTTP/1.1 is keep-alive by default: saying so changes nothing.
        assert_eq!(d(ka11, plain11), Vec::<String>::new());
        let v = d(plain11, close11);
        assert!(
            v.iter().any(|l| l.contains(
                "persistence A keep-alive (HTTP/1.1 default) B close (Connection: close)"
            )),
            "{v:?}"
        );
        // HTTP/1.0 closes by default: the versions differ, and so does persistence.
        let v = d(plain11, plain10);
        assert!(
            v.iter()
                .any(|l| l.contains("version A HTTP/1.1 B HTTP/1.0")),
            "{v:?}"
        );
        assert!(
            v.iter().any(|l| l.contains("B close (HTTP/1.0 default)")),
            "{v:?}"
        );
        // HTTP/1.0 with keep-alive persists like HTTP/1.1: only the version differs.
        let v = d(plain11, ka10);
        assert_eq!(
            v,
            vec!["@main response 1: version A HTTP/1.1 B HTTP/1.0".to_string()]
        );
    }

    #[test]
    fn keep_alive_header_is_compared() {
        let a = "HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nhi";
        let b = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
        let v = compare(&exchange(GET, a, None), &exchange(GET, b, None), &[]);
        assert!(
            v.iter()
                .any(|l| l.contains("keep-alive A \"timeout=5\" B absent")),
            "{v:?}"
        );
    }

    #[test]
    fn a_verdict_change_shows_its_cause() {
        let mut a = exchange(GET, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", None);
        let mut b = a.clone();
        assert_eq!(verdict_change(&a, &b), None);
        b.verdict = Verdict::Fail;
        b.messages = vec!["line 13: expected status 400, got 200".into()];
        assert_eq!(
            verdict_change(&a, &b).unwrap(),
            "verdict A pass B fail; B: line 13: expected status 400, got 200"
        );
        a.verdict = Verdict::NonStrict;
        a.messages = vec![
            "level should: a missed SHOULD is a warning".into(),
            "line 9: expected status 501, got 405".into(),
        ];
        assert_eq!(
            verdict_change(&a, &b).unwrap(),
            "verdict A non-strict B fail; A: line 9: expected status 501, got 405; B: line 13: expected status 400, got 200"
        );
    }
}
