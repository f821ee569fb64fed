//! Why a submission lost points, in a line a teacher can read at a glance: every lost rule,
//! biggest first, each with what it cost and what happened, whole ("not-implemented −10:
//! POST /index.html HTTP/1.1: expected status 501, got 200 ("HTTP/1.1 200 OK") (errors/
//! assignment-post and 2 more cases)", "invalid-method −10: the server crashed (killed by
//! signal 11 (SIGSEGV)) (errors/assignment-grt)"). Cases of no rule lost for one cause are
//! summed under it, so a server that dies on three cases shows one crash, not three. It is
//! shown in the class table's NOTE, in `index.html` and in `gradebook.csv`'s `notes`.

use crate::outcome::{CaseResult, Verdict};
use crate::report::explain;
use crate::report::fmt_points;
use crate::report::RunReport;
use crate::rules::RuleStatus;

/// One cause and the points it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Loss {
    /// The rule lost (`None`: cases of no rule, lost for one cause).
    pub rule: Option<String>,
    /// What happened, from the first case that showed it.
    pub what: String,
    pub points: f64,
    /// The cases that showed it, in report order.
    pub cases: Vec<String>,
}

impl std::fmt::Display for Loss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.rule {
            Some(rule) => write!(f, "{rule} −{}: {}", fmt_points(self.points), self.what)?,
            None => write!(f, "{} −{}", self.what, fmt_points(self.points))?,
        }
        match self.cases.as_slice() {
            [] => Ok(()),
            [one] => write!(f, " ({one})"),
            [first, rest @ ..] => write!(
                f,
                " ({first} and {} more {})",
                rest.len(),
                if rest.len() == 1 { "case" } else { "cases" }
            ),
        }
    }
}

/// The causes of every point lost, biggest first (ties in report order). A lost rule is one
/// cause, named by the rule and what happened in the first case that broke it, and costs what
/// the rule is worth; a rule beyond the handout that is not counted costs nothing and is not
/// listed.
pub fn losses(report: &RunReport) -> Vec<Loss> {
    let case = |id: &str| report.cases.iter().find(|c| c.id == id);
    let mut out: Vec<Loss> = report
        .rules
        .iter()
        .filter(|r| r.counted && r.status == RuleStatus::Lost)
        .map(|r| Loss {
            rule: Some(r.rule.clone()),
            what: r
                .broken_by
                .first()
                .and_then(|id| case(id))
                .map_or_else(|| "broken".to_string(), what_happened),
            points: r.worth,
            cases: r.broken_by.clone(),
        })
        .collect();
    for c in report.cases.iter().filter(|c| c.rule.is_none()) {
        let lost = c.max_points - c.points;
        if c.verdict == Verdict::Skip || lost <= 0.0 {
            continue;
        }
        let what = what_happened(c);
        match out.iter_mut().find(|l| l.rule.is_none() && l.what == what) {
            Some(l) => {
                l.points += lost;
                l.cases.push(c.id.clone());
            }
            None => out.push(Loss {
                rule: None,
                what,
                points: lost,
                cases: vec![c.id.clone()],
            }),
        }
    }
    out.sort_by(|a, b| b.points.total_cmp(&a.points));
    out
}

/// Every cause, biggest first, whole, on one line, `; `-separated (empty for full marks).
pub fn summary(report: &RunReport) -> String {
    losses(report)
        .iter()
        .map(|l| l.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// What happened in a case that lost points, on one line: a crash (by its status and
/// exception), why it could not run, or the request and the check it failed.
pub fn what_happened(c: &CaseResult) -> String {
    let first = explain::primary_message(c).unwrap_or("");
    if let Some(death) = c.messages.iter().find_map(|m| crash(m)) {
        return format!("the server crashed ({death})");
    }
    if c.verdict == Verdict::Error {
        return format!("not run: {}", one_line(first));
    }
    if c.verdict == Verdict::NonStrict {
        return format!(
            "{} (non-strict, --strict-form)",
            one_line(without_place(first))
        );
    }
    let check = one_line(without_place(first));
    match request_line(c) {
        Some(request) if !check.contains(&request) => format!("{request}: {check}"),
        _ => check,
    }
}

/// A message without the `FILE.case:LINE: ` or `line N: ` it starts with.
fn without_place(m: &str) -> &str {
    if let Some(rest) = m.strip_prefix("line ") {
        if let Some((n, rest)) = rest.split_once(": ") {
            if n.bytes().all(|b| b.is_ascii_digit()) {
                return rest;
            }
        }
    }
    match m.find(".case:") {
        Some(i) => {
            let rest = &m[i + ".case:".len()..];
            let digits = rest
                .bytes()
                .take_while(|b| b.is_ascii_digit() || *b == b':')
                .count();
            rest[digits..].trim_start()
        }
        None => m,
    }
}

/// The request line of the last request the case sent, as text.
fn request_line(c: &CaseResult) -> Option<String> {
    let sent = c
        .transcript
        .events
        .iter()
        .rev()
        .find_map(|e| match &e.kind {
            crate::outcome::EventKind::Sent { data } => Some(data),
            _ => None,
        })?;
    let line = sent.split(|b| *b == b'\n').next()?;
    let line = String::from_utf8_lossy(line);
    let line = line.trim_end_matches('\r');
    (!line.is_empty() && line.len() <= 200).then(|| crate::report::escape::one_line(line))
}

/// `exit status 1: ValueError: ...` out of "server died during this case (...)" messages.
fn crash(message: &str) -> Option<String> {
    let rest = message
        .strip_prefix("server died during this case (")
        .or_else(|| {
            message
                .strip_prefix("server (config ")
                .and_then(|m| m.split_once("died during "))
                .and_then(|(_, m)| m.split_once(": ").map(|x| x.1))
        })?;
    // Up to the parenthesis that closes the one opened before `rest` (the status has its own).
    let mut depth = 1;
    let end = rest
        .char_indices()
        .find(|&(_, ch)| {
            match ch {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            depth == 0
        })
        .map_or(rest.len(), |(i, _)| i);
    Some(one_line(&rest[..end]))
}

/// The first line, whole.
fn one_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Transcript;
    use std::time::Duration;

    fn result(id: &str, verdict: Verdict, max: f64, messages: &[&str]) -> CaseResult {
        CaseResult {
            id: id.into(),
            title: format!("the {id} rule"),
            tags: vec![],
            spec: None,
            rule: None,
            hint: None,
            verdict,
            points: if verdict == Verdict::Pass { max } else { 0.0 },
            max_points: max,
            duration: Duration::ZERO,
            messages: messages.iter().map(|m| m.to_string()).collect(),
            transcript: Transcript::default(),
            reproducer: None,
        }
    }

    #[test]
    fn every_lost_rule_is_said_whole_with_what_happened() {
        use crate::outcome::{Event, EventKind};
        use crate::rules::{RuleBook, RuleDef, Scope};
        let mut grt = result(
            "grt",
            Verdict::Fail,
            3.0,
            &["server died during this case (killed by signal 11 (SIGSEGV))"],
        );
        grt.rule = Some("invalid-method".into());
        let mut bad = result("bad", Verdict::Fail, 2.0, &["line 3: expected status 400"]);
        bad.rule = Some("invalid-method".into());
        let long = "x".repeat(300);
        let mut post = result(
            "post",
            Verdict::Fail,
            2.0,
            &[
                "cases/a/post.case:17: head uses bare LF line ends (form: line-ends)",
                &format!("cases/a/post.case:18: expected status 501, got 200 ({long})"),
            ],
        );
        post.rule = Some("not-implemented".into());
        post.transcript.events = vec![Event {
            at: Duration::ZERO,
            conn: "main".into(),
            kind: EventKind::Sent {
                data: b"POST /index.html HTTP/1.1\r\nHost: x\r\n\n".to_vec(),
            },
        }];
        let mut url = result("url", Verdict::Error, 2.0, &["could not connect: refused"]);
        url.rule = Some("invalid-url".into());
        let mut form = result("form", Verdict::Fail, 2.0, &["line 3: bare LF"]);
        form.rule = Some("form".into());
        let def = |name: &str, scope, points| RuleDef {
            name: name.into(),
            scope,
            points,
            counted: scope == Scope::Handout,
            asks: String::new(),
            declared: true,
        };
        let book = RuleBook {
            rules: vec![
                def("invalid-method", Scope::Handout, 10.0),
                def("invalid-url", Scope::Handout, 5.0),
                def("not-implemented", Scope::Handout, 20.0),
                def("form", Scope::Beyond, 10.0),
            ],
        };
        let mut cases = vec![grt, bad, post, url, form];
        let rules = crate::rules::score(&mut cases, &book, true, true);
        let report = RunReport::new("t".into(), Duration::ZERO, cases, rules);
        let all: Vec<String> = losses(&report).iter().map(|l| l.to_string()).collect();
        assert_eq!(
            all,
            vec![
                format!(
                    "not-implemented −20: POST /index.html HTTP/1.1: expected status 501, got \
                     200 ({long}) (post)"
                ),
                "invalid-method −10: the server crashed (killed by signal 11 (SIGSEGV)) (grt and \
                 1 more case)"
                    .to_string(),
                "invalid-url −5: not run: could not connect: refused (url)".to_string(),
            ],
            "every rule that cost points, whole; the rule beyond the handout costs nothing"
        );
        assert_eq!(summary(&report), all.join("; "));
    }

    #[test]
    fn causes_of_cases_of_no_rule_are_summed_and_ranked() {
        let report = RunReport::new(
            "t".into(),
            Duration::ZERO,
            vec![
                result("a", Verdict::Pass, 3.0, &[]),
                result(
                    "grt",
                    Verdict::Fail,
                    3.0,
                    &["server died during this case (exit status 1: ValueError: bad line); last output: ..."],
                ),
                result(
                    "post",
                    Verdict::Fail,
                    3.0,
                    &["server died during this case (exit status 1: ValueError: bad line)"],
                ),
                result("head", Verdict::Fail, 1.0, &["line 9: expected status 200, got 501"]),
                result("skipped", Verdict::Skip, 5.0, &["requires: ..."]),
            ],
            vec![],
        );
        assert_eq!(
            summary(&report),
            "the server crashed (exit status 1: ValueError: bad line) −6 (grt and 1 more case); \
             expected status 200, got 501 −1 (head)"
        );
    }

    /// `result` whose case sent `sent` on its connection.
    fn sent(id: &str, messages: &[&str], sent: &[u8]) -> CaseResult {
        use crate::outcome::{Event, EventKind};
        let mut r = result(id, Verdict::Fail, 1.0, messages);
        r.transcript.events = vec![Event {
            at: Duration::ZERO,
            conn: "main".into(),
            kind: EventKind::Sent {
                data: sent.to_vec(),
            },
        }];
        r
    }

    #[test]
    fn the_request_line_is_said_once_and_only_when_it_reads_well() {
        let plain = sent(
            "a",
            &["line 9: expected status 404, got 200"],
            b"GET /x HTTP/1.1\r\n\r\n",
        );
        assert_eq!(
            what_happened(&plain),
            "GET /x HTTP/1.1: expected status 404, got 200"
        );
        // The message already names the request: not twice.
        let named = sent(
            "b",
            &["line 9: GET /x HTTP/1.1 was never answered"],
            b"GET /x HTTP/1.1\r\n\r\n",
        );
        assert_eq!(what_happened(&named), "GET /x HTTP/1.1 was never answered");
        // No request line to quote: an empty first line, or one too long to read.
        let empty = sent(
            "c",
            &["line 9: expected status 400"],
            b"\r\nGET / HTTP/1.1\r\n",
        );
        assert_eq!(what_happened(&empty), "expected status 400");
        let long = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(300));
        let long = sent("d", &["line 9: expected status 414"], long.as_bytes());
        assert_eq!(what_happened(&long), "expected status 414");
    }
}
