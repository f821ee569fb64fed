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
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use common::repo_root;

const RUNS: usize = 3;
const MIN_SPEARMAN: f64 = 0.95;
/// A submission graded at least this fraction by hand ...
const FAIR_HAND: f64 = 0.4;
/// ... scores at least this fraction of the harness's maximum (issue 7: 4/10 → 30/100).
const FAIR_FLOOR: f64 = 0.3;
/// One grading of the whole class (about 65 s measured on 2 loaded cores at `--jobs 4`).
const GRADE_TIMEOUT: Duration = Duration::from_secs(180);

/// A teacher's verdict on one rule: points (10 or 0 for a handout rule; for a rule beyond the
/// handout, 10 when it holds), the reason, and for a lost rule the cases it may cost.
#[derive(Debug, Clone)]
struct RuleGrade {
    held: bool,
    reason: String,
    cases: Vec<String>,
}

/// One submission's hand grade.
struct Hand {
    score: f64,
    scale: f64,
    /// Every handout rule.
    rules: BTreeMap<String, RuleGrade>,
    /// The rules beyond the handout the teacher saw broken (any other holds).
    beyond: BTreeMap<String, RuleGrade>,
}

impl Hand {
    /// The lost rule (handout or beyond) whose cases include `case`, if any.
    fn reason_for(&self, case: &str) -> Option<&str> {
        self.rules
            .iter()
            .chain(&self.beyond)
            .filter(|(_, g)| !g.held)
            .find_map(|(rule, g)| {
                g.cases
                    .iter()
                    .any(|c| c == case || (c.ends_with('/') && case.starts_with(c.as_str())))
                    .then_some(rule.as_str())
            })
    }

    /// Whether the teacher holds `rule` (a rule beyond the handout not noted holds).
    fn holds(&self, rule: &str) -> bool {
        self.rules
            .get(rule)
            .or_else(|| self.beyond.get(rule))
            .is_none_or(|g| g.held)
    }
}

/// One case of one run: verdict, points earned, points possible, first message.
#[derive(Debug, Clone, PartialEq)]
struct CaseResult {
    verdict: String,
    points: f64,
    max_points: f64,
    message: String,
    /// Every message, to see whether one says the server crashed.
    all: String,
}

/// One rule of one run: its status (`held`, `lost`, `not-graded`) and the cases that broke it.
#[derive(Debug, Clone, PartialEq)]
struct RuleOutcome {
    status: String,
    broken_by: Vec<String>,
}

/// One submission in one run.
struct Graded {
    score: f64,
    max_score: f64,
    cases: BTreeMap<String, CaseResult>,
    rules: BTreeMap<String, RuleOutcome>,
}

impl Graded {
    /// The score as a fraction of the maximum.
    fn fraction(&self) -> f64 {
        self.score / self.max_score.max(f64::MIN_POSITIVE)
    }
}

fn class_dir() -> PathBuf {
    repo_root().join("harness/tests/class")
}

fn rule_grades(
    v: &Value,
    name: &str,
    held: impl Fn(&Value) -> bool,
) -> BTreeMap<String, RuleGrade> {
    let Some(map) = v.as_object() else {
        return BTreeMap::new();
    };
    map.iter()
        .map(|(rule, g)| {
            let cases = g["cases"].as_array().map_or(Vec::new(), |c| {
                c.iter().map(|c| c.as_str().unwrap().to_string()).collect()
            });
            let reason = g["reason"]
                .as_str()
                .unwrap_or_else(|| panic!("hand_grades.json: {name} {rule}: reason"))
                .to_string();
            (
                rule.clone(),
                RuleGrade {
                    held: held(g),
                    reason,
                    cases,
                },
            )
        })
        .collect()
}

fn load_hand_grades() -> BTreeMap<String, Hand> {
    let path = class_dir().join("hand_grades.json");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let scale = v["scale"].as_f64().expect("hand_grades.json: scale");
    let subs = v["submissions"]
        .as_object()
        .expect("hand_grades.json: submissions");
    subs.iter()
        .map(|(name, s)| {
            let hand = Hand {
                score: s["hand"].as_f64().expect("hand"),
                scale,
                rules: rule_grades(&s["rules"], name, |g| g["points"].as_f64() != Some(0.0)),
                beyond: rule_grades(&s["beyond"], name, |g| g["held"].as_bool().unwrap_or(true)),
            };
            (name.clone(), hand)
        })
        .collect()
}

/// The handout's rules, as the hand grades name them.
fn handout_rules() -> Vec<String> {
    let path = class_dir().join("hand_grades.json");
    let v: Value = serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    v["rules"].as_object().unwrap().keys().cloned().collect()
}

/// Waits for `child` until `timeout`; kills it (SIGTERM, then SIGKILL) if it is still running.
/// Returns whether it finished in time.
fn wait_bounded(child: &mut Child, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if child.try_wait().expect("try_wait").is_some() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // SIGTERM first: the harness then stops every server it started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let grace = Instant::now() + Duration::from_secs(10);
    while Instant::now() < grace {
        if child.try_wait().expect("try_wait").is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    false
}

/// Grades the prepared class once with `harness grade`, and reads each submission's report.
fn grade(class: &Path, out: &Path) -> BTreeMap<String, Graded> {
    fs::create_dir_all(out).unwrap();
    let (stdout, stderr) = (out.join("stdout.txt"), out.join("stderr.txt"));
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("harness"))
        .arg("grade")
        .arg(class)
        .arg(repo_root().join("cases"))
        .args(["--filter", "assignment/"])
        .args(["--var", "keepalive=3", "--jobs", "4"])
        // How fast a Python server starts is not what this test grades: at a load average of
        // about 150 (seen while this suite ran beside mutation tests), some did not listen
        // within the default 10 s, twice, and scored errors.
        .args(["--ready-timeout", "60", "--out"])
        .arg(out)
        .current_dir(repo_root())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(fs::File::create(&stdout).unwrap())
        .stderr(fs::File::create(&stderr).unwrap())
        .spawn()
        .expect("run harness grade");
    let in_time = wait_bounded(&mut child, GRADE_TIMEOUT);
    let status = child.wait().unwrap();
    let read = |p: &Path| fs::read_to_string(p).unwrap_or_default();
    assert!(
        in_time,
        "`harness grade` took more than {GRADE_TIMEOUT:?}: {}{}",
        read(&stdout),
        read(&stderr)
    );
    assert_eq!(
        status.code(),
        Some(0),
        "`harness grade` failed: {}",
        read(&stderr)
    );
    // The submissions are the class's folders (its README and hand grades are files).
    fs::read_dir(class)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .map(|name| {
            let path = out.join(&name).join("report.json");
            let text =
                fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let v: Value = serde_json::from_str(&text).unwrap();
            (name, parse_report(&v))
        })
        .collect()
}

fn parse_report(v: &Value) -> Graded {
    let cases = v["cases"]
        .as_array()
        .expect("report.json: cases")
        .iter()
        .map(|c| {
            let messages: Vec<&str> = c["messages"].as_array().map_or(Vec::new(), |m| {
                m.iter().filter_map(|m| m.as_str()).collect()
            });
            let r = CaseResult {
                verdict: c["verdict"].as_str().unwrap().to_string(),
                points: c["points"].as_f64().unwrap(),
                max_points: c["max_points"].as_f64().unwrap(),
                message: messages.first().copied().unwrap_or("").to_string(),
                all: messages.join("\n"),
            };
            (c["id"].as_str().unwrap().to_string(), r)
        })
        .collect();
    let rules = v["rules"]
        .as_array()
        .expect("report.json: rules")
        .iter()
        .map(|r| {
            let outcome = RuleOutcome {
                status: r["status"].as_str().unwrap().to_string(),
                broken_by: r["broken_by"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c.as_str().unwrap().to_string())
                    .collect(),
            };
            (r["rule"].as_str().unwrap().to_string(), outcome)
        })
        .collect();
    Graded {
        score: v["score"].as_f64().unwrap(),
        max_score: v["max_score"].as_f64().unwrap(),
        cases,
        rules,
    }
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

fn short(s: &str) -> String {
    let line = s.lines().next().unwrap_or("");
    match line.char_indices().nth(110) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_string(),
    }
}

/// A case's first message without its `line N: ` prefix, so that one cause reads the same in
/// every case it shows in.
fn cause(c: &CaseResult) -> String {
    let m = short(&c.message);
    let m = match m.split_once(": ") {
        Some((l, rest)) if l.starts_with("line ") => rest.to_string(),
        _ => m,
    };
    format!("{} \"{m}\"", c.verdict)
}

/// The points lost for no reason of the hand grade, grouped by cause: one line per cause, with
/// the cases it hit (the first run that shows a case counts).
fn unexplained_losses(hand: &Hand, graded: &[&Graded]) -> Vec<String> {
    let mut by_cause: BTreeMap<String, (f64, Vec<String>)> = BTreeMap::new();
    let mut seen = Vec::new();
    for (i, g) in graded.iter().enumerate() {
        for (id, c) in &g.cases {
            // A case that held its rule but earns nothing because another case of the same
            // rule broke it is explained by that case: only failed cases need a reason.
            let lost = matches!(c.verdict.as_str(), "fail" | "error") && c.points < c.max_points;
            if !lost || hand.reason_for(id).is_some() || seen.contains(id) {
                continue;
            }
            seen.push(id.clone());
            let e = by_cause.entry(cause(c)).or_default();
            e.0 += c.max_points - c.points;
            let short_id = id.strip_prefix("assignment/").unwrap_or(id);
            e.1.push(if i == 0 {
                short_id.to_string()
            } else {
                format!("{short_id} (run {})", i + 1)
            });
        }
    }
    by_cause
        .into_iter()
        .map(|(cause, (points, ids))| {
            format!(
                "lost {points} points on {} case(s), {cause}: {}",
                ids.len(),
                list_some(&ids)
            )
        })
        .collect()
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

/// Up to four items, and how many more.
fn list_some(items: &[String]) -> String {
    let mut list = items[..items.len().min(4)].join(", ");
    if items.len() > 4 {
        list.push_str(&format!(" and {} more", items.len() - 4));
    }
    list
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

/// The rules the harness holds or loses otherwise than the hand grade, one line each (per run
/// where they differ): a handout rule costs points; a rule beyond the handout costs none but
/// must be judged truly too.
fn rule_mismatches(hand: &Hand, graded: &[&Graded]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, g) in graded.iter().enumerate() {
        for (rule, outcome) in &g.rules {
            let harness_holds = outcome.status != "lost";
            if harness_holds == hand.holds(rule) {
                continue;
            }
            let why = hand
                .rules
                .get(rule)
                .or_else(|| hand.beyond.get(rule))
                .map_or("no note (beyond the handout: held)".to_string(), |g| {
                    g.reason.clone()
                });
            let got = if harness_holds {
                "the harness holds it".to_string()
            } else {
                let first = outcome.broken_by.first().map(String::as_str).unwrap_or("");
                let message = g.cases.get(first).map_or(String::new(), cause);
                format!(
                    "the harness loses it by {} ({message})",
                    outcome.broken_by.join(", ")
                )
            };
            out.push(format!(
                "run {}: rule {rule}: by hand {} ({why}); {got}",
                i + 1,
                if hand.holds(rule) { "held" } else { "lost" }
            ));
        }
    }
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
