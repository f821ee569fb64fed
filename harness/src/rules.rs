//! Grading by rules: the cases that share a `rule:` are one rule of the assignment, worth the sum
//! of their points, held only when every one of them earns its points. A student who breaks a
//! rule loses it once, whole, however many of its cases show it, as a teacher's rubric of rules
//! does; a rule held in every case is never touched by a defect found elsewhere.
//!
//! Cases without a `rule:` keep their own points. `--score cases` turns rules off: every case
//! earns its own points.

use std::collections::BTreeMap;

use crate::outcome::{CaseResult, Verdict};

/// One rule's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleResult {
    pub rule: String,
    pub points: f64,
    pub max_points: f64,
    /// The cases that broke it (empty when held).
    pub broken_by: Vec<String>,
}

/// Applies rule scoring to the results: in a broken rule every case earns nothing, and a case
/// that passed says which case broke its rule. Returns each rule's outcome, in name order.
pub fn apply(results: &mut [CaseResult]) -> Vec<RuleResult> {
    let mut rules: BTreeMap<String, RuleResult> = BTreeMap::new();
    for r in results.iter() {
        let Some(rule) = &r.rule else { continue };
        if r.verdict == Verdict::Skip {
            continue;
        }
        let entry = rules.entry(rule.clone()).or_insert_with(|| RuleResult {
            rule: rule.clone(),
            points: 0.0,
            max_points: 0.0,
            broken_by: Vec::new(),
        });
        entry.max_points += r.max_points;
        if r.points < r.max_points {
            entry.broken_by.push(r.id.clone());
        }
    }
    for rule in rules.values_mut() {
        if rule.broken_by.is_empty() {
            rule.points = rule.max_points;
        }
    }
    for r in results.iter_mut() {
        let Some(rule) = r.rule.as_ref().and_then(|name| rules.get(name)) else {
            continue;
        };
        if r.verdict == Verdict::Skip || rule.broken_by.is_empty() || r.points == 0.0 {
            continue;
        }
        r.points = 0.0;
        r.messages.push(format!(
            "earns nothing: its rule `{}` is broken by {} (a rule is graded whole; --score cases \
             gives each case its own points)",
            rule.rule,
            rule.broken_by.join(", ")
        ));
    }
    rules.into_values().collect()
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
            verdict,
            points: if matches!(verdict, Verdict::Pass | Verdict::NonStrict) {
                max
            } else {
                0.0
            },
            max_points: max,
            duration: Duration::ZERO,
            messages: vec![],
            transcript: Transcript::default(),
            reproducer: None,
        }
    }

    #[test]
    fn a_rule_is_held_whole_or_lost_whole() {
        let mut rs = vec![
            result("grt", Some("bad-request"), Verdict::Fail, 4.0),
            result("url", Some("bad-request"), Verdict::Pass, 3.0),
            result("get", Some("get"), Verdict::Pass, 2.0),
            result("css", Some("get"), Verdict::NonStrict, 1.0),
            result("json", Some("get"), Verdict::Skip, 1.0),
            result("loose", None, Verdict::Fail, 1.0),
            result("loose2", None, Verdict::Pass, 1.0),
        ];
        let rules = apply(&mut rs);
        assert_eq!(
            rules,
            vec![
                RuleResult {
                    rule: "bad-request".into(),
                    points: 0.0,
                    max_points: 7.0,
                    broken_by: vec!["grt".into()],
                },
                RuleResult {
                    rule: "get".into(),
                    points: 3.0,
                    max_points: 3.0,
                    broken_by: vec![],
                },
            ]
        );
        let points: Vec<f64> = rs.iter().map(|r| r.points).collect();
        assert_eq!(points, vec![0.0, 0.0, 2.0, 1.0, 0.0, 0.0, 1.0]);
        assert!(rs[1].messages[0].contains("its rule `bad-request` is broken by grt"));
        assert!(
            rs[0].messages.is_empty(),
            "the breaking case keeps its own reasons"
        );
    }
}
