//! The fixture class of `tests/class/`: twelve small student servers with the habits of real
//! submissions, graded by `harness grade` and held to the hand grades of
//! `tests/class/hand_grades.json`, a teacher's grade per rule of the handout with a reason each:
//!
//! - every handout rule is held or lost as the hand grade says, for every submission, in every
//!   run; every rule beyond the handout too (those cost nothing, but their verdicts must be true);
//! - every submission is graded out of 100, and the harness ranks the class as the hand grades
//!   do: Spearman >= 0.95;
//! - every case that failed is explained by a reason of the hand grade: it is among the cases
//!   listed with a lost rule (handout or beyond);
//! - three runs give the same verdicts, but where a report says the server crashed;
//! - no submission worth 40/100 or more by hand scores under 30/100.
//!
//! The submissions are graded as they are, with no START or BUILD file and no other option than
//! the keep-alive time: the harness finds how to build (make, gcc) and start each one.

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::grading::{
    self, cause, list_some, rule_mismatches, unexplained_losses, CaseResult, Graded, Hand,
};
use common::repo_root;

const RUNS: usize = 3;
const MIN_SPEARMAN: f64 = 0.95;
/// A submission graded at least this fraction by hand ...
const FAIR_HAND: f64 = 0.4;
/// ... scores at least this fraction of the harness's maximum (issue 7: 4/10 → 30/100).
const FAIR_FLOOR: f64 = 0.3;
/// One grading of the whole class (about 65 s measured on 2 loaded cores at `--jobs 4`).
const GRADE_TIMEOUT: Duration = Duration::from_secs(180);

fn class_dir() -> PathBuf {
    repo_root().join("harness/tests/class")
}

fn load_hand_grades() -> BTreeMap<String, Hand> {
    grading::load_hand_grades(&class_dir().join("hand_grades.json"))
}

fn handout_rules() -> Vec<String> {
    grading::handout_rules(&class_dir().join("hand_grades.json"))
}

/// Grades the prepared class once with `harness grade`, and reads each submission's report.
fn grade(class: &Path, out: &Path) -> BTreeMap<String, Graded> {
    let run = grading::run_grade(grading::class_grade_command(class, out), out, GRADE_TIMEOUT);
    assert_eq!(run.code, Some(0), "`harness grade` failed: {}", run.stderr);
    grading::read_reports(class, out)
}

/// Ranks 1..n, ties sharing their average rank.
fn ranks(xs: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..xs.len()).collect();
    order.sort_by(|&a, &b| xs[a].total_cmp(&xs[b]));
    let mut r = vec![0.0; xs.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && xs[order[j + 1]] == xs[order[i]] {
            j += 1;
        }
        for &k in &order[i..=j] {
            r[k] = (i + j) as f64 / 2.0 + 1.0;
        }
        i = j + 1;
    }
    r
}

/// Spearman's rank correlation: Pearson's correlation of the ranks (ties averaged).
fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let (ra, rb) = (ranks(a), ranks(b));
    let n = ra.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = ra.iter().map(|x| (x - ma).powi(2)).sum::<f64>().sqrt();
    let vb: f64 = rb.iter().map(|y| (y - mb).powi(2)).sum::<f64>().sqrt();
    if va == 0.0 || vb == 0.0 {
        return 0.0;
    }
    cov / (va * vb)
}

/// The verdicts that changed between runs, grouped by their sequence (e.g. "pass, fail,
/// pass"), with the message of the first run that differs from the first.
fn verdict_changes(graded: &[&Graded]) -> Vec<String> {
    let mut by_pattern: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    for (id, first) in &graded[0].cases {
        let results: Vec<Option<&CaseResult>> = graded.iter().map(|g| g.cases.get(id)).collect();
        let verdicts: Vec<&str> = results
            .iter()
            .map(|r| r.map_or("missing", |c| c.verdict.as_str()))
            .collect();
        if verdicts.iter().all(|v| *v == verdicts[0]) {
            continue;
        }
        // A flip the report explains: the server crashed during the case in some run.
        let crashed = results
            .iter()
            .flatten()
            .any(|c| c.all.contains("server died") || c.all.contains("the server crashed in"));
        if crashed {
            continue;
        }
        let odd = results
            .iter()
            .enumerate()
            .find_map(|(i, r)| {
                r.filter(|c| c.verdict != first.verdict)
                    .map(|c| format!("run {}: {}", i + 1, cause(c)))
            })
            .unwrap_or_else(|| "missing from a run".to_string());
        let e = by_pattern
            .entry(verdicts.join(", "))
            .or_insert_with(|| (odd, Vec::new()));
        e.1.push(id.strip_prefix("assignment/").unwrap_or(id).to_string());
    }
    by_pattern
        .into_iter()
        .map(|(pattern, (odd, ids))| {
            format!(
                "verdicts changed between runs ({pattern}) on {} case(s): {} [{odd}]",
                ids.len(),
                list_some(&ids)
            )
        })
        .collect()
}

/// What differs from the hand grade for one submission, one line each: points lost for no
/// reason it gives, a score under the floor, and verdicts that changed between runs.
fn differences(name: &str, hand: &Hand, runs: &[BTreeMap<String, Graded>]) -> Vec<String> {
    let graded: Vec<&Graded> = runs.iter().map(|r| &r[name]).collect();
    let mut out = rule_mismatches(hand, &graded);
    out.extend(
        graded
            .iter()
            .enumerate()
            .filter(|(_, g)| g.max_score != 100.0)
            .map(|(i, g)| format!("run {}: graded out of {}, not 100", i + 1, g.max_score)),
    );
    out.extend(floor_problems(hand, &graded));
    out.extend(unexplained_losses(hand, &graded));
    out.extend(verdict_changes(&graded));
    out
}

/// The runs whose ranking of the class is too far from the hand grades', one line each.
fn ranking_problems(
    hand: &BTreeMap<String, Hand>,
    runs: &[BTreeMap<String, Graded>],
) -> Vec<String> {
    let hand_scores: Vec<f64> = hand.values().map(|h| h.score / h.scale).collect();
    let mut out = Vec::new();
    for (i, run) in runs.iter().enumerate() {
        let scores: Vec<f64> = hand.keys().map(|n| run[n].fraction()).collect();
        let rho = spearman(&hand_scores, &scores);
        if rho < MIN_SPEARMAN {
            out.push(format!(
                "run {}: Spearman {rho:.2} against the hand grades, below {MIN_SPEARMAN}",
                i + 1
            ));
        }
    }
    out
}

/// A line when a submission worth FAIR_HAND or more by hand scores under FAIR_FLOOR in a run.
fn floor_problems(hand: &Hand, graded: &[&Graded]) -> Vec<String> {
    let low: Vec<String> = graded
        .iter()
        .enumerate()
        .filter(|(_, g)| g.fraction() < FAIR_FLOOR)
        .map(|(i, g)| format!("{}/{} in run {}", g.score, g.max_score, i + 1))
        .collect();
    if hand.score / hand.scale < FAIR_HAND || low.is_empty() {
        return Vec::new();
    }
    vec![format!(
        "{}: under {:.0}% of the maximum, for a hand grade of {}/{}",
        low.join(", "),
        FAIR_FLOOR * 100.0,
        hand.score,
        hand.scale
    )]
}

#[test]
fn the_harness_grades_the_fixture_class_like_the_hand_grades() {
    let hand = load_hand_grades();
    assert!(hand.len() >= 10, "the class has at least 10 submissions");
    let work = tempfile::Builder::new()
        .prefix("class-grading-")
        .tempdir()
        .unwrap();
    // The fixtures as they are, no START or BUILD file: the harness finds how to build and
    // start each one (issue 8), in a private copy.
    let class = class_dir();
    let runs: Vec<BTreeMap<String, Graded>> = (0..RUNS)
        .map(|i| grade(&class, &work.path().join(format!("grades-{}", i + 1))))
        .collect();

    let problems = ranking_problems(&hand, &runs);
    let mut failed = !problems.is_empty();
    let mut report = problems.join("\n");
    let _ = writeln!(report, "\n\nsubmission   hand   harness (runs 1..{RUNS})");
    for (name, h) in &hand {
        let scores: Vec<String> = runs
            .iter()
            .map(|r| format!("{}/{}", r[name].score, r[name].max_score))
            .collect();
        let _ = writeln!(
            report,
            "{name:<12} {:>2}/{}   {}",
            h.score,
            h.scale,
            scores.join("  ")
        );
        for d in differences(name, h, &runs) {
            failed = true;
            let _ = writeln!(report, "    {d}");
        }
    }
    assert!(
        !failed,
        "the harness does not grade the fixture class like the hand grades \
         (harness/tests/class/README.md):\n{report}"
    );
}

#[test]
fn spearman_of_known_rankings() {
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
    assert!(close(spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]), 1.0));
    assert!(close(spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), -1.0));
    assert!(
        close(spearman(&[1.0, 1.0], &[1.0, 2.0]), 0.0),
        "no ranking at all"
    );
    assert_eq!(ranks(&[5.0, 1.0, 5.0, 3.0]), vec![3.5, 1.0, 3.5, 2.0]);
    // ties on one side only
    let rho = spearman(&[10.0, 9.0, 9.0, 8.0], &[100.0, 97.0, 90.0, 80.0]);
    assert!((rho - 0.9487).abs() < 1e-3, "{rho}");
}

#[test]
fn hand_grades_are_consistent() {
    let hand = load_hand_grades();
    let rules = handout_rules();
    assert_eq!(rules.len(), 10, "the handout's ten requirements");
    let folders: Vec<String> = fs::read_dir(class_dir())
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    for f in &folders {
        assert!(hand.contains_key(f), "{f}: a submission with no hand grade");
    }
    for (name, h) in hand {
        let keys: Vec<&String> = h.rules.keys().collect();
        let mut want: Vec<&String> = rules.iter().collect();
        want.sort();
        assert_eq!(keys, want, "{name}: a grade for every handout rule");
        let points = h.rules.values().filter(|g| g.held).count() as f64 * 10.0;
        assert_eq!(
            h.score, points,
            "{name}: the hand score is 10 points per rule held"
        );
        assert_eq!(h.scale, 100.0);
        for (rule, g) in h.rules.iter().chain(&h.beyond) {
            assert!(!g.reason.is_empty(), "{name} {rule}: a reason");
            assert!(
                g.held || !g.cases.is_empty(),
                "{name} {rule}: the cases it costs"
            );
            for c in &g.cases {
                assert!(c.starts_with("assignment/"), "{name} {rule}: case id {c}");
            }
        }
        assert!(
            class_dir().join(&name).join("ws.conf").is_file(),
            "{name}: ws.conf"
        );
        assert!(
            !class_dir().join(&name).join("START").exists(),
            "{name}: fixtures carry no START file"
        );
    }
}
