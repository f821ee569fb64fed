//! Grading by rules: the cases that share a `rule:` test one rule of the assignment, and the
//! rule, not the case, is what a grade counts. A rule is held when every case of it that ran
//! earned its points, and lost whole otherwise, once, however many of its cases show it, as a
//! teacher's rubric of rules does; a rule held in every case is never touched by a defect found
//! elsewhere.
//!
//! - [`book`]: the rules a corpus declares (`rules.txt`): name, scope (the handout's, or beyond
//!   it), worth, and what each asks.
//! - [`rubric`]: an instructor's overrides: what a rule is worth, whether a rule beyond the
//!   handout counts, case points and visibility.
//!
//! Every rule weighs what the rules file says, whatever the number of its cases that ran: a
//! submission whose ws.conf makes some cases skip is graded out of the same maximum. A rule
//! whose every case was skipped because the submission's ws.conf does not call for them is
//! held (there is nothing it asks that the server fails); one whose cases could not run in this
//! run (a case that needs `--start`) is not graded, and left out of the maximum, with the reason.
//! A rule beyond the handout is graded and reported with what it would cost, and earns nothing
//! unless a rubric counts it.
//!
//! With `--score cases` a rule's worth is shared among its cases by their `points:`, and each
//! case earns its share when it passes. Cases without a `rule:` keep their own points.

pub mod book;
pub mod rubric;

use serde::Serialize;

pub use book::{RuleBook, RuleDef, Scope};
pub use rubric::Rubric;

use crate::outcome::{CaseResult, Verdict};

/// Where a rule stands after a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleStatus {
    /// Every case of it that ran earned its points (or none ran: the ws.conf does not call for
    /// them).
    Held,
    /// A case of it did not earn its points.
    Lost,
    /// None of its cases could run in this run (they need `--start`): left out of the maximum.
    NotGraded,
}

/// One rule's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleResult {
    pub rule: String,
    pub scope: Scope,
    /// What it asks, in the handout's words (empty for a rule no rules file declares).
    pub asks: String,
    /// Whether it counts toward the score.
    pub counted: bool,
    /// What it is worth when counted; for an uncounted rule, what it would cost.
    pub worth: f64,
    pub points: f64,
    /// `worth` when it counts and was graded, else 0.
    pub max_points: f64,
    pub status: RuleStatus,
    /// The cases that broke it, in case order (empty when held).
    pub broken_by: Vec<String>,
    /// Every case of it in the run.
    pub cases: Vec<String>,
    /// Why it was held without a case, or not graded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl RuleResult {
    /// Points it lost (or, uncounted, would have lost).
    pub fn cost(&self) -> f64 {
        match self.status {
            RuleStatus::Lost => self.worth,
            _ => 0.0,
        }
    }
}

/// Whether a verdict earns a case its points.
pub fn earns(v: Verdict, lenient: bool) -> bool {
    v == Verdict::Pass || (v == Verdict::NonStrict && lenient)
}

/// Scores the results by the rules of `book`: each case of a rule gets its share of the rule's
/// worth as its maximum, and (with `whole`, the default) its share only when the whole rule is
/// held; a case that passed in a broken rule says which case broke it. Returns the outcome of
/// every rule the results name, in the order the book declares them.
pub fn score(
    results: &mut [CaseResult],
    book: &RuleBook,
    whole: bool,
    lenient: bool,
) -> Vec<RuleResult> {
    let mut out = Vec::new();
    for def in &book.rules {
        let idx: Vec<usize> = (0..results.len())
            .filter(|&i| results[i].rule.as_deref() == Some(def.name.as_str()))
            .collect();
        if idx.is_empty() {
            continue;
        }
        out.push(score_rule(results, &idx, def, whole, lenient));
    }
    out
}

fn score_rule(
    results: &mut [CaseResult],
    idx: &[usize],
    def: &RuleDef,
    whole: bool,
    lenient: bool,
) -> RuleResult {
    let ran: Vec<usize> = idx
        .iter()
        .copied()
        .filter(|&i| results[i].verdict != Verdict::Skip)
        .collect();
    let broken_by: Vec<String> = ran
        .iter()
        .filter(|&&i| !earns(results[i].verdict, lenient))
        .map(|&i| results[i].id.clone())
        .collect();
    let (status, note) = status_of(results, idx, &ran, &broken_by);
    let weights: f64 = ran.iter().map(|&i| results[i].max_points).sum();
    let worth = if def.declared { def.points } else { weights };
    let max_points = if def.counted && status != RuleStatus::NotGraded {
        worth
    } else {
        0.0
    };
    let share = |w: f64| {
        if weights > 0.0 {
            max_points * w / weights
        } else {
            max_points / ran.len().max(1) as f64
        }
    };
    let mut points = if ran.is_empty() && status == RuleStatus::Held {
        max_points
    } else {
        0.0
    };
    for &i in idx {
        let r = &mut results[i];
        if r.verdict == Verdict::Skip {
            r.points = 0.0;
            r.max_points = 0.0;
            continue;
        }
        let s = share(r.max_points);
        let earned = earns(r.verdict, lenient) && (!whole || broken_by.is_empty());
        if earns(r.verdict, lenient) && !earned && s > 0.0 {
            r.messages.push(format!(
                "earns nothing: its rule `{}` is broken by {} (a rule is graded whole; --score \
                 cases gives each case its own share)",
                def.name,
                broken_by.join(", ")
            ));
        }
        r.max_points = s;
        r.points = if earned { s } else { 0.0 };
        points += r.points;
    }
    RuleResult {
        rule: def.name.clone(),
        scope: def.scope,
        asks: def.asks.clone(),
        counted: def.counted,
        worth,
        points,
        max_points,
        status,
        broken_by,
        cases: idx.iter().map(|&i| results[i].id.clone()).collect(),
        note,
    }
}

/// Held, lost or not graded, and why a rule with no case that ran is what it is.
fn status_of(
    results: &[CaseResult],
    idx: &[usize],
    ran: &[usize],
    broken_by: &[String],
) -> (RuleStatus, Option<String>) {
    if !ran.is_empty() {
        let status = if broken_by.is_empty() {
            RuleStatus::Held
        } else {
            RuleStatus::Lost
        };
        return (status, None);
    }
    let reasons: Vec<&str> = idx
        .iter()
        .filter_map(|&i| results[i].messages.first().map(String::as_str))
        .collect();
    match reasons.iter().find(|m| !skipped_by_ws_conf(m)) {
        Some(why) => (
            RuleStatus::NotGraded,
            Some(format!("not graded: none of its cases could run ({why})")),
        ),
        None => (
            RuleStatus::Held,
            Some(format!(
                "held: the submission's ws.conf calls for none of its cases ({})",
                reasons.first().copied().unwrap_or("")
            )),
        ),
    }
}

/// Whether a skip was the submission's ws.conf's doing (a type, a method, an index name it does
/// not declare), rather than the run's (a case that needs `--start` or a planted file).
fn skipped_by_ws_conf(reason: &str) -> bool {
    reason.starts_with("requires:") && !reason.contains("planted")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Transcript;
    use std::time::Duration;

    fn result(id: &str, rule: Option<&str>, verdict: Verdict, max: f64) -> CaseResult {
        CaseResult {
            id: id.into(),
            title: id.into(),
            tags: vec![],
            spec: None,
            rule: rule.map(str::to_string),
            hint: None,
            verdict,
            points: if earns(verdict, true) { max } else { 0.0 },
            max_points: max,
            duration: Duration::ZERO,
            messages: if verdict == Verdict::Skip {
                vec!["requires: ws.conf maps no content type to .json".into()]
            } else {
                vec![]
            },
            transcript: Transcript::default(),
            reproducer: None,
        }
    }

    fn def(name: &str, scope: Scope, points: f64) -> RuleDef {
        RuleDef {
            name: name.into(),
            scope,
            points,
            counted: scope == Scope::Handout,
            asks: format!("{name} works"),
            declared: true,
        }
    }

    fn book() -> RuleBook {
        RuleBook {
            rules: vec![
                def("bad-request", Scope::Handout, 10.0),
                def("get", Scope::Handout, 10.0),
                def("form", Scope::Beyond, 10.0),
            ],
        }
    }

    #[test]
    fn a_rule_is_held_whole_or_lost_whole_at_its_declared_worth() {
        let mut rs = vec![
            result("grt", Some("bad-request"), Verdict::Fail, 4.0),
            result("url", Some("bad-request"), Verdict::Pass, 1.0),
            result("get", Some("get"), Verdict::Pass, 2.0),
            result("css", Some("get"), Verdict::NonStrict, 2.0),
            result("json", Some("get"), Verdict::Skip, 1.0),
            result("loose", None, Verdict::Fail, 1.0),
            result("loose2", None, Verdict::Pass, 1.0),
        ];
        let rules = score(&mut rs, &book(), true, true);
        assert_eq!(rules.len(), 2, "form has no case in the run");
        assert_eq!(
            (rules[0].status, rules[0].points, rules[0].max_points),
            (RuleStatus::Lost, 0.0, 10.0)
        );
        assert_eq!(rules[0].broken_by, vec!["grt"]);
        assert_eq!(
            (rules[1].status, rules[1].points, rules[1].max_points),
            (RuleStatus::Held, 10.0, 10.0),
            "a skipped case does not lower the rule's worth"
        );
        let points: Vec<f64> = rs.iter().map(|r| r.points).collect();
        assert_eq!(points, vec![0.0, 0.0, 5.0, 5.0, 0.0, 0.0, 1.0]);
        let maxes: Vec<f64> = rs.iter().map(|r| r.max_points).collect();
        assert_eq!(maxes, vec![8.0, 2.0, 5.0, 5.0, 0.0, 1.0, 1.0]);
        assert!(rs[1].messages[0].contains("its rule `bad-request` is broken by grt"));
        assert!(
            rs[0].messages.is_empty(),
            "the breaking case keeps its own reasons"
        );
    }

    #[test]
    fn by_cases_each_case_earns_its_share() {
        let mut rs = vec![
            result("grt", Some("bad-request"), Verdict::Fail, 4.0),
            result("url", Some("bad-request"), Verdict::Pass, 1.0),
        ];
        let rules = score(&mut rs, &book(), false, true);
        assert_eq!(rules[0].points, 2.0);
        assert_eq!(rs[1].points, 2.0);
        assert!(rs[1].messages.is_empty());
    }

    #[test]
    fn a_rule_beyond_the_handout_is_graded_and_costs_nothing() {
        let mut rs = vec![result("line-ends", Some("form"), Verdict::Fail, 2.0)];
        let rules = score(&mut rs, &book(), true, true);
        let form = &rules[0];
        assert_eq!(
            (form.status, form.counted, form.points, form.max_points),
            (RuleStatus::Lost, false, 0.0, 0.0)
        );
        assert_eq!(form.cost(), 10.0, "what it would cost if counted");
        assert_eq!((rs[0].points, rs[0].max_points), (0.0, 0.0));
    }

    #[test]
    fn a_rule_with_every_case_skipped_is_held_or_not_graded_by_why() {
        let mut by_ws_conf = vec![result("post", Some("get"), Verdict::Skip, 2.0)];
        let rules = score(&mut by_ws_conf, &book(), true, true);
        assert_eq!((rules[0].status, rules[0].points), (RuleStatus::Held, 10.0));
        assert!(rules[0].note.as_deref().unwrap().contains("calls for none"));

        let mut by_run = vec![result("broken", Some("get"), Verdict::Skip, 2.0)];
        by_run[0].messages =
            vec!["needs the server configuration `broken`, which only --start can provide".into()];
        let rules = score(&mut by_run, &book(), true, true);
        assert_eq!(
            (rules[0].status, rules[0].points, rules[0].max_points),
            (RuleStatus::NotGraded, 0.0, 0.0)
        );
        assert!(rules[0].note.as_deref().unwrap().contains("--start"));
    }

    #[test]
    fn cases_without_points_share_their_rule_equally() {
        let mut rs = vec![
            result("a", Some("get"), Verdict::Pass, 0.0),
            result("b", Some("get"), Verdict::Pass, 0.0),
        ];
        let rules = score(&mut rs, &book(), true, true);
        assert_eq!((rules[0].points, rules[0].max_points), (10.0, 10.0));
        let shares: Vec<(f64, f64)> = rs.iter().map(|r| (r.points, r.max_points)).collect();
        assert_eq!(shares, vec![(5.0, 5.0), (5.0, 5.0)]);
    }

    #[test]
    fn a_passing_case_of_a_rule_that_counts_for_nothing_is_not_told_it_earns_nothing() {
        let mut rs = vec![
            result("line-ends", Some("form"), Verdict::Fail, 1.0),
            result("reason", Some("form"), Verdict::Pass, 1.0),
        ];
        score(&mut rs, &book(), true, true);
        assert_eq!(rs[1].max_points, 0.0);
        assert!(rs[1].messages.is_empty(), "{:?}", rs[1].messages);
    }

    #[test]
    fn non_strict_earns_only_when_lenient() {
        let mut rs = vec![result("css", Some("get"), Verdict::NonStrict, 1.0)];
        let rules = score(&mut rs, &book(), true, false);
        assert_eq!(rules[0].status, RuleStatus::Lost);
    }
}
