//! A run as a student reads it: the points lost, grouped by rule, biggest first, each with the
//! cases that lost it; then the rules beyond the handout that the server broke, apart, with
//! what each would cost; then what held. The pretty and html formats are written from it.

use super::RunReport;
use crate::outcome::{CaseResult, Verdict};
use crate::rules::{RuleResult, RuleStatus};

use super::counts_as_failed;

/// Points lost (or, beyond the handout, that would be lost) for one cause.
#[derive(Debug, Clone)]
pub struct Loss<'a> {
    /// The rule lost; `None` for a case that belongs to no rule, which is its own cause.
    pub rule: Option<&'a RuleResult>,
    /// The cases that lost it, in report order.
    pub cases: Vec<&'a CaseResult>,
    /// What it cost, or would cost if a rubric counted it.
    pub cost: f64,
}

impl Loss<'_> {
    /// The rule's name, or the case's id for a case of no rule.
    pub fn name(&self) -> &str {
        match (self.rule, self.cases.first()) {
            (Some(r), _) => &r.rule,
            (None, Some(c)) => &c.id,
            (None, None) => "",
        }
    }
}

/// The whole run, grouped for a student.
#[derive(Debug, Clone, Default)]
pub struct StudentView<'a> {
    /// Counted rules lost, and cases of no rule that lost points: biggest first.
    pub lost: Vec<Loss<'a>>,
    /// Rules beyond the handout that were broken, with what each would cost: biggest first.
    pub beyond: Vec<Loss<'a>>,
    /// Counted rules held (or not graded in this run), in the rules' order.
    pub held: Vec<&'a RuleResult>,
    /// Rules beyond the handout that held.
    pub beyond_held: Vec<&'a RuleResult>,
    /// Cases that earned their points with something noted (non-strict): read after.
    pub noted: Vec<&'a CaseResult>,
    /// Cases of no rule that earned their points.
    pub passed: Vec<&'a CaseResult>,
    /// Cases not run, with their reasons.
    pub skipped: Vec<&'a CaseResult>,
}

/// Groups the report for a student; `lenient` as the run counted non-strict verdicts.
pub fn view(report: &RunReport, lenient: bool) -> StudentView<'_> {
    let case = |id: &str| report.cases.iter().find(|c| c.id == id);
    let mut v = StudentView::default();
    for r in &report.rules {
        let lost = r.status == RuleStatus::Lost;
        let loss = || Loss {
            rule: Some(r),
            cases: r.broken_by.iter().filter_map(|id| case(id)).collect(),
            cost: r.cost(),
        };
        match (r.counted, lost) {
            (true, true) => v.lost.push(loss()),
            (false, true) => v.beyond.push(loss()),
            (true, false) => v.held.push(r),
            (false, false) => v.beyond_held.push(r),
        }
    }
    for c in &report.cases {
        if c.verdict == Verdict::Skip {
            v.skipped.push(c);
        } else if c.rule.is_none() && counts_as_failed(c.verdict, lenient) {
            v.lost.push(Loss {
                rule: None,
                cases: vec![c],
                cost: (c.max_points - c.points).max(0.0),
            });
        } else if c.verdict == Verdict::NonStrict && lenient {
            v.noted.push(c);
        } else if c.rule.is_none() {
            v.passed.push(c);
        }
    }
    // Biggest first; a stable sort keeps the rules' own order among equals.
    v.lost.sort_by(|a, b| b.cost.total_cmp(&a.cost));
    v.beyond.sort_by(|a, b| b.cost.total_cmp(&a.cost));
    v
}

impl StudentView<'_> {
    /// Points lost in all (beyond the handout excluded).
    pub fn points_lost(&self) -> f64 {
        self.lost.iter().map(|l| l.cost).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Transcript;
    use crate::rules::{RuleBook, RuleDef, Scope};
    use std::time::Duration;

    fn result(id: &str, rule: Option<&str>, verdict: Verdict) -> CaseResult {
        CaseResult {
            id: id.into(),
            title: id.into(),
            tags: vec![],
            spec: None,
            rule: rule.map(str::to_string),
            hint: None,
            verdict,
            points: 0.0,
            max_points: 1.0,
            duration: Duration::ZERO,
            messages: vec![],
            transcript: Transcript::default(),
            reproducer: None,
        }
    }

    #[test]
    fn lost_rules_come_biggest_first_and_beyond_the_handout_apart() {
        let def = |name: &str, scope, points| RuleDef {
            name: name.into(),
            scope,
            points,
            counted: scope == Scope::Handout,
            asks: format!("{name} asks"),
            declared: true,
        };
        let book = RuleBook {
            rules: vec![
                def("small", Scope::Handout, 5.0),
                def("big", Scope::Handout, 20.0),
                def("held", Scope::Handout, 10.0),
                def("form", Scope::Beyond, 10.0),
            ],
        };
        let mut cases = vec![
            result("a", Some("small"), Verdict::Fail),
            result("b", Some("big"), Verdict::Error),
            result("c", Some("held"), Verdict::Pass),
            result("d", Some("form"), Verdict::Fail),
            result("e", None, Verdict::Fail),
            result("f", Some("held"), Verdict::NonStrict),
        ];
        let rules = crate::rules::score(&mut cases, &book, true, true);
        let report = RunReport::new("t".into(), Duration::ZERO, cases, rules);
        let v = view(&report, true);
        let names: Vec<&str> = v.lost.iter().map(Loss::name).collect();
        assert_eq!(names, ["big", "small", "e"]);
        assert_eq!(v.points_lost(), 26.0);
        assert_eq!(v.beyond.len(), 1);
        assert_eq!((v.beyond[0].name(), v.beyond[0].cost), ("form", 10.0));
        assert_eq!(v.held.len(), 1);
        assert_eq!(
            v.noted.len(),
            1,
            "a non-strict case earns its points, noted"
        );
        assert_eq!(v.lost[0].cases[0].id, "b");
    }
}
