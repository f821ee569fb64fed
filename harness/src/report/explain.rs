//! What a case's result means to its reader, said the same way in every format: the failed
//! check before the notes on form, why a case was skipped (as a reason, not as a requirement),
//! why its points are what they are (once), what the server did (the bytes, short), and a line
//! that replays the case with nothing but bash.

use super::RunReport;
use crate::outcome::{CaseResult, EventKind, Verdict};
use crate::rules::{RuleResult, RuleStatus};

use super::fmt_points;

/// The start of the message the rules add to a case that passed in a lost rule.
const EARNS_NOTHING: &str = "earns nothing: its rule";

/// Whether a message is a note on a response's form that does not decide the case (a defect
/// of a form rule this case does not grade): it comes after what failed.
pub fn is_form_note(m: &str) -> bool {
    m.contains(" (form: ") && m.ends_with(')') && !m.contains(", the rule this case grades)")
}

/// Whether a message is the rules' word on a case's points ("earns nothing: its rule ..."),
/// which [`points_note`] says once, rather than a reason for the verdict.
pub fn is_points_note(m: &str) -> bool {
    m.starts_with(EARNS_NOTHING)
}

/// The messages of a case in the order a reader needs them: for a failure, what failed first
/// and the notes on form after; otherwise as they came. The rules' word on the points is left
/// out ([`points_note`] says it).
pub fn ordered_messages(c: &CaseResult) -> Vec<&str> {
    let all = c
        .messages
        .iter()
        .map(String::as_str)
        .filter(|m| !is_points_note(m));
    if !matches!(c.verdict, Verdict::Fail | Verdict::Error) {
        return all.collect();
    }
    let (notes, first): (Vec<&str>, Vec<&str>) = all.partition(|m| is_form_note(m));
    first.into_iter().chain(notes).collect()
}

/// The message that says why the case did not pass: the failed check, not a note on form.
pub fn primary_message(c: &CaseResult) -> Option<&str> {
    ordered_messages(c).into_iter().next()
}

/// Why a case was skipped, as a reason: `requires: X` (what the case needs, followed by why it
/// is not met) is said as `not run: X`, and a `level: may` note that ends in a colon is
/// followed by what the server did instead.
pub fn skip_reason(c: &CaseResult) -> Option<String> {
    if c.verdict != Verdict::Skip {
        return None;
    }
    let mut messages = c.messages.iter().filter(|m| !is_points_note(m));
    let first = messages.next()?;
    if let Some(why) = first.strip_prefix("requires: ") {
        return Some(format!("not run: {why}"));
    }
    if let Some(intro) = first.strip_suffix(':') {
        return Some(match messages.next() {
            Some(next) => format!("{first} {next}"),
            None => intro.to_string(),
        });
    }
    Some(first.clone())
}

/// The rule a case belongs to, as the run graded it.
pub fn rule_of<'a>(report: &'a RunReport, c: &CaseResult) -> Option<&'a RuleResult> {
    let name = c.rule.as_deref()?;
    report.rules.iter().find(|r| r.rule == name)
}

/// Whether a case counts toward no score: its rule is beyond the handout and no rubric counts it.
pub fn uncounted(report: &RunReport, c: &CaseResult) -> bool {
    rule_of(report, c).is_some_and(|r| !r.counted)
}

/// The points of a case as its line shows them: `2/2`, `0/5`, `-` for a skip, `beyond` for a
/// case of a rule that counts for nothing.
pub fn points_text(report: &RunReport, c: &CaseResult) -> String {
    if c.verdict == Verdict::Skip {
        "-".to_string()
    } else if uncounted(report, c) {
        "beyond".to_string()
    } else {
        format!("{}/{}", fmt_points(c.points), fmt_points(c.max_points))
    }
}

/// Why a case's points are what they are, when its verdict alone does not say it: a pass that
/// earns nothing because its rule is lost, a non-strict case that earns its points (or not,
/// with `--strict-form`), a case of a rule beyond the handout. `None` when the verdict says it
/// (a pass that earns its points, a failure).
pub fn points_note(report: &RunReport, c: &CaseResult, lenient: bool) -> Option<String> {
    let rule = rule_of(report, c);
    match c.verdict {
        Verdict::Skip => None,
        _ if rule.is_some_and(|r| !r.counted) => {
            let r = rule.expect("checked");
            Some(match (r.status, r.broken_by.contains(&c.id)) {
                (RuleStatus::Lost, true) => format!(
                    "no points: its rule `{}` is beyond the handout (lost, it would cost {} if a \
                     rubric counted it)",
                    r.rule,
                    fmt_points(r.worth)
                ),
                _ => format!("no points: its rule `{}` is beyond the handout", r.rule),
            })
        }
        Verdict::NonStrict if !lenient => {
            Some("counted as failed and earns nothing (--strict-form)".to_string())
        }
        Verdict::Pass | Verdict::NonStrict if c.points < c.max_points => Some(
            c.messages
                .iter()
                .find(|m| is_points_note(m))
                .cloned()
                .unwrap_or_else(|| match rule {
                    Some(r) => format!(
                        "earns nothing: its rule `{}` is broken by {}",
                        r.rule,
                        r.broken_by.join(", ")
                    ),
                    None => "earns nothing".to_string(),
                }),
        ),
        Verdict::NonStrict => Some(
            "earns its points: what it notes costs nothing here (the form rules are graded \
             once, by their own cases)"
                .to_string(),
        ),
        _ => None,
    }
}

/// Whether a case could not run because nothing accepted its connection.
pub fn is_connect_error(c: &CaseResult) -> bool {
    c.verdict == Verdict::Error
        && c.messages.first().is_some_and(|m| {
            let m = m.to_ascii_lowercase();
            [
                "could not connect",
                "cannot connect",
                "failed to connect",
                "connect",
            ]
            .iter()
            .any(|p| m.starts_with(p))
                || m.contains("connection refused")
        })
}

/// Whether the run never reached the target: some case was run, and every case that was not
/// skipped could not connect.
pub fn unreachable(report: &RunReport) -> bool {
    let mut run = report
        .cases
        .iter()
        .filter(|c| c.verdict != Verdict::Skip)
        .peekable();
    run.peek().is_some() && run.all(is_connect_error)
}

/// The one line an unreachable run is summed up in.
pub fn unreachable_line(report: &RunReport) -> String {
    let why = report
        .cases
        .iter()
        .find(|c| is_connect_error(c))
        .and_then(|c| c.messages.first())
        .map(|m| m.lines().next().unwrap_or("").to_string())
        .unwrap_or_default();
    format!(
        "nothing is listening at {} ({why}): start the server first, and give the port it \
         listens on (--target HOST:PORT), or let the harness start it (--start CMD --dir FOLDER)",
        report.target
    )
}

/// Why no case reached the server, when none did: nothing listened at the target
/// ([`unreachable_line`]), or every case that was not skipped could not run for one same
/// reason (a server that never started), said once.
pub fn nothing_ran(report: &RunReport) -> Option<String> {
    if unreachable(report) {
        return Some(unreachable_line(report));
    }
    let mut run = report.cases.iter().filter(|c| c.verdict != Verdict::Skip);
    let first = run.next()?;
    let reason = |c: &CaseResult| {
        (c.verdict == Verdict::Error && c.transcript.events.is_empty())
            .then(|| c.messages.first().cloned())
            .flatten()
    };
    let why = reason(first)?;
    run.all(|c| reason(c).as_ref() == Some(&why)).then_some(why)
}

/// What the server did in the exchange that decided the case, short: the last request sent
/// and what came back on its connection after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// The last bytes sent (a request sent in pieces, whole), escaped and cut.
    pub sent: String,
    /// What came back after them, escaped and cut; or what happened instead ("nothing", "the
    /// connection was closed (FIN)").
    pub got: String,
}

/// At most this many characters of each side of an [`Exchange`].
pub const SHORT: usize = 160;

/// The last exchange of a case's transcript, or `None` when nothing was sent.
pub fn last_exchange(c: &CaseResult) -> Option<Exchange> {
    let events = &c.transcript.events;
    let last_sent = events
        .iter()
        .rposition(|e| matches!(e.kind, EventKind::Sent { .. }))?;
    let conn = &events[last_sent].conn;
    // The request may have gone out in pieces: every send since the last answer.
    let mut pieces = Vec::new();
    for e in events[..=last_sent]
        .iter()
        .rev()
        .filter(|e| &e.conn == conn)
    {
        match &e.kind {
            EventKind::Sent { data } => pieces.push(data.as_slice()),
            EventKind::Note { .. } => continue,
            _ => break,
        }
    }
    let sent: Vec<u8> = pieces.into_iter().rev().flatten().copied().collect();
    let mut got = Vec::new();
    let mut end = None;
    for e in events[last_sent + 1..].iter().filter(|e| &e.conn == conn) {
        match &e.kind {
            EventKind::Received { data } => got.extend_from_slice(data),
            EventKind::Fin => end = Some("then closed the connection (FIN)"),
            EventKind::Reset => end = Some("then reset the connection (RST)"),
            _ => continue,
        }
        if end.is_some() {
            break;
        }
    }
    let got = match (got.is_empty(), end) {
        (true, Some(end)) => end.trim_start_matches("then ").to_string(),
        (true, None) => "nothing".to_string(),
        (false, Some(end)) => format!("{} {end}", quoted_short(&got)),
        (false, None) => quoted_short(&got),
    };
    Some(Exchange {
        sent: quoted_short(&sent),
        got,
    })
}

/// Bytes escaped as in a transcript, in quotes, cut after [`SHORT`] characters.
fn quoted_short(data: &[u8]) -> String {
    let text = crate::outcome::show_bytes(data);
    if text.chars().count() > SHORT {
        let cut: String = text.chars().take(SHORT).collect();
        format!("\"{cut}\"… ({} bytes)", data.len())
    } else {
        format!("\"{text}\"")
    }
}

/// The line that replays a case with nothing but bash (its `/dev/tcp`) and `cat`: what the case
/// sent on its first connection, to the real port (the report's [`RunReport::replay_port`] in
/// place of the `PORT` of a server the harness started and stopped). `None` when the case has
/// no reproducer, or one in another form.
pub fn replay(report: &RunReport, c: &CaseResult) -> Option<String> {
    let nc = c.reproducer.as_deref()?;
    let (printf, addr) = nc.rsplit_once("' | nc ")?;
    let data = printf.strip_prefix("printf '")?;
    let (host, port) = addr.split_once(' ')?;
    let port = match (port, report.replay_port) {
        ("PORT", Some(p)) => p.to_string(),
        ("PORT", None) => "PORT".to_string(),
        (p, _) => p.parse::<u16>().ok()?.to_string(),
    };
    if host.is_empty() || host.contains(['\'', ' ', '/']) {
        return None;
    }
    Some(format!(
        "bash -c 'exec 3<>/dev/tcp/{host}/{port} && printf \"$0\" >&3 && cat <&3' '{data}'"
    ))
}

/// The reproducer to show: [`replay`] when the case has one, else the case's own.
pub fn reproducer(report: &RunReport, c: &CaseResult) -> Option<String> {
    replay(report, c).or_else(|| c.reproducer.clone())
}

/// What `PORT` stands for in a reproducer, when one still names it.
pub fn port_legend(report: &RunReport) -> Option<&'static str> {
    let placeholder = report.cases.iter().any(|c| {
        c.reproducer
            .as_deref()
            .is_some_and(|r| r.ends_with(" PORT"))
    });
    (placeholder && report.replay_port.is_none()).then_some(
        "PORT in a reproducer is the port your server listens on: start it as usual (with its own \
         ws.conf), then run the line",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{Event, Transcript};
    use std::time::Duration;

    fn case(verdict: Verdict, messages: &[&str]) -> CaseResult {
        CaseResult {
            id: "errors/assignment-post".into(),
            title: "POST".into(),
            tags: vec![],
            spec: None,
            rule: None,
            hint: None,
            verdict,
            points: 0.0,
            max_points: 4.0,
            duration: Duration::ZERO,
            messages: messages.iter().map(|m| m.to_string()).collect(),
            transcript: Transcript::default(),
            reproducer: None,
        }
    }

    #[test]
    fn the_failed_check_comes_before_the_notes_on_form() {
        let c = case(
            Verdict::Fail,
            &[
                "x.case:17: head uses bare LF line ends (RFC 9112 §2.2: ...) (form: line-ends)",
                "x.case:18: expected status 501, got 200 (\"HTTP/1.1 200 OK\")",
            ],
        );
        assert_eq!(
            primary_message(&c),
            Some("x.case:18: expected status 501, got 200 (\"HTTP/1.1 200 OK\")")
        );
        assert!(ordered_messages(&c)[1].contains("bare LF"));
        let graded = case(
            Verdict::Fail,
            &["x.case:5: head uses bare LF line ends (form: line-ends, the rule this case grades)"],
        );
        assert!(primary_message(&graded).unwrap().contains("bare LF"));
    }

    #[test]
    fn skip_reasons_read_as_reasons() {
        let c = case(
            Verdict::Skip,
            &["requires: the submission's ws.conf lists HEAD in RequestMethodSupport"],
        );
        assert_eq!(
            skip_reason(&c).unwrap(),
            "not run: the submission's ws.conf lists HEAD in RequestMethodSupport"
        );
        let may = case(
            Verdict::Skip,
            &[
                "level may: informational; the server did something else the RFC allows:",
                "x.case:9: expected status 200, got 400",
            ],
        );
        assert_eq!(
            skip_reason(&may).unwrap(),
            "level may: informational; the server did something else the RFC allows: x.case:9: \
             expected status 200, got 400"
        );
        let alone = case(Verdict::Skip, &["level may: it allows:"]);
        assert_eq!(skip_reason(&alone).unwrap(), "level may: it allows");
    }

    #[test]
    fn replays_need_only_bash_and_name_the_real_port() {
        let mut c = case(Verdict::Fail, &["x"]);
        c.reproducer = Some("printf 'POST / HTTP/1.1\\r\\n\\n' | nc 127.0.0.1 PORT".into());
        let mut report = RunReport::new("t".into(), Duration::ZERO, vec![c.clone()], vec![]);
        assert!(port_legend(&report).is_some());
        report.replay_port = Some(8080);
        let line = replay(&report, &c).unwrap();
        assert_eq!(
            line,
            "bash -c 'exec 3<>/dev/tcp/127.0.0.1/8080 && printf \"$0\" >&3 && cat <&3' \
             'POST / HTTP/1.1\\r\\n\\n'"
        );
        assert!(port_legend(&report).is_none());
    }

    #[test]
    fn the_last_exchange_is_the_last_request_and_its_answer() {
        let mut c = case(Verdict::Fail, &["x"]);
        let ev = |conn: &str, kind| Event {
            at: Duration::ZERO,
            conn: conn.into(),
            kind,
        };
        c.transcript.events = vec![
            ev("main", EventKind::Connect),
            ev(
                "main",
                EventKind::Sent {
                    data: b"GET / HTTP/1.1\r\n".to_vec(),
                },
            ),
            ev(
                "main",
                EventKind::Sent {
                    data: b"\r\n".to_vec(),
                },
            ),
            ev(
                "main",
                EventKind::Received {
                    data: b"HTTP/1.1 200 OK\r\n\r\n{}".to_vec(),
                },
            ),
            ev("main", EventKind::Fin),
        ];
        let x = last_exchange(&c).unwrap();
        assert_eq!(x.sent, "\"GET / HTTP/1.1\\r\\n\\r\\n\"");
        assert_eq!(
            x.got,
            "\"HTTP/1.1 200 OK\\r\\n\\r\\n{}\" then closed the connection (FIN)"
        );
    }
}
