//! Why a submission lost points, in a line a teacher can read at a glance: the two or three
//! biggest causes, each with what it cost ("head uses bare LF line ends: −2 (form)",
//! "crashes: exit status 1: ValueError: ... (GRT request): −3"). Cases lost for one cause are
//! summed under it, so a server that dies on three cases shows one crash, not three rows.
//! It is shown in the class table's NOTE, in `index.html` and in `gradebook.csv`'s `notes`.

use crate::outcome::{CaseResult, RunReport, Verdict};
use crate::report::fmt_points;
use crate::rules::{RuleResult, RuleStatus};

/// One cause and the points it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Loss {
    pub what: String,
    pub points: f64,
    /// How many cases it cost.
    pub cases: usize,
}

impl std::fmt::Display for Loss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: −{}", self.what, fmt_points(self.points))?;
        if self.cases > 1 {
            write!(f, " ({} cases)", self.cases)?;
        }
        Ok(())
    }
}

/// The causes of every point lost, biggest first (ties in report order). A lost rule is one
/// cause, named by the rule and what broke it, and costs what the rule is worth; a rule beyond
/// the handout that is not counted costs nothing and is not listed.
pub fn losses(report: &RunReport) -> Vec<Loss> {
    let mut out: Vec<Loss> = report
        .rules
        .iter()
        .filter(|r| r.counted && r.status == RuleStatus::Lost)
        .map(|r| Loss {
            what: rule_cause(report, r),
            points: r.worth,
            cases: r.broken_by.len(),
        })
        .collect();
    for c in report.cases.iter().filter(|c| c.rule.is_none()) {
        let lost = c.max_points - c.points;
        if c.verdict == Verdict::Skip || lost <= 0.0 {
            continue;
        }
        let what = cause(c);
        match out.iter_mut().find(|l| l.what == what) {
            Some(l) => {
                l.points += lost;
                l.cases += 1;
            }
            None => out.push(Loss {
                what,
                points: lost,
                cases: 1,
            }),
        }
    }
    out.sort_by(|a, b| b.points.total_cmp(&a.points));
    out
}

/// `rule: what broke it` (the first case that broke it).
fn rule_cause(report: &RunReport, rule: &RuleResult) -> String {
    let first = rule
        .broken_by
        .first()
        .and_then(|id| report.cases.iter().find(|c| &c.id == id));
    match first {
        Some(c) => {
            let why = cause(c);
            let why = why.strip_suffix(" (form)").unwrap_or(&why);
            format!("{}: {why}", rule.rule)
        }
        None => format!("{}: broken", rule.rule),
    }
}

/// The biggest `n` causes on one line, `; `-separated.
pub fn summary(report: &RunReport, n: usize) -> String {
    losses(report)
        .iter()
        .take(n)
        .map(|l| l.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The cause of one lost case: a crash (by its status and exception), the form rule a form
/// case grades (by its defect), or the case's own rule (its title) with the first reason.
fn cause(c: &CaseResult) -> String {
    let first = c.messages.first().map(String::as_str).unwrap_or("");
    if let Some(death) = crash(first) {
        return format!("crashes ({death})");
    }
    if let Some(defect) = c
        .messages
        .iter()
        .find_map(|m| m.split_once(": ").map(|(_, rest)| rest))
        .filter(|m| m.contains(", the rule this case grades)"))
    {
        let text = defect.split(" (form: ").next().unwrap_or(defect);
        let text = text.split(" (RFC ").next().unwrap_or(text);
        return format!("{} (form)", short(text));
    }
    if c.verdict == Verdict::NonStrict {
        return format!("{} (non-strict, --strict-form)", short(&c.title));
    }
    if c.verdict == Verdict::Error {
        return format!("not run: {}", short(first));
    }
    short(&c.title)
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
    Some(short(&rest[..end]))
}

fn short(s: &str) -> String {
    let s = s.lines().next().unwrap_or("");
    if s.chars().count() > 70 {
        let cut: String = s.chars().take(69).collect();
        format!("{cut}…")
    } else {
        s.to_string()
    }
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
    fn a_broken_rule_is_one_cause_named_by_what_broke_it() {
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
        let mut form = result("form", Verdict::Fail, 2.0, &["line 3: bare LF"]);
        form.rule = Some("form".into());
        let def = |name: &str, scope| RuleDef {
            name: name.into(),
            scope,
            points: 10.0,
            counted: scope == Scope::Handout,
            asks: String::new(),
            declared: true,
        };
        let book = RuleBook {
            rules: vec![
                def("invalid-method", Scope::Handout),
                def("form", Scope::Beyond),
            ],
        };
        let mut cases = vec![grt, bad, form];
        let rules = crate::rules::score(&mut cases, &book, true, true);
        let report = RunReport::new("t".into(), Duration::ZERO, cases, rules);
        assert_eq!(
            summary(&report, 3),
            "invalid-method: crashes (killed by signal 11 (SIGSEGV)): −10 (2 cases)",
            "the rule beyond the handout costs nothing"
        );
    }

    #[test]
    fn causes_are_summed_and_ranked() {
        let report = RunReport::new(
            "t".into(),
            Duration::ZERO,
            vec![
                result("a", Verdict::Pass, 3.0, &[]),
                result(
                    "form/line-ends",
                    Verdict::Fail,
                    2.0,
                    &["line 14: head uses bare LF line ends (form: line-ends, the rule this case grades)"],
                ),
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
        let l = losses(&report);
        assert_eq!(
            l.iter().map(|l| l.to_string()).collect::<Vec<_>>(),
            vec![
                "crashes (exit status 1: ValueError: bad line): −6 (2 cases)",
                "head uses bare LF line ends (form): −2",
                "the head rule: −1",
            ]
        );
        assert_eq!(
            summary(&report, 2),
            "crashes (exit status 1: ValueError: bad line): −6 (2 cases); head uses bare LF line ends (form): −2"
        );
    }
}
