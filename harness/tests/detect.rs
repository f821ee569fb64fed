//! `harness grade` with no START or BUILD file: the fixture class `tests/detect/class` (C with a
//! Makefile, in a subfolder, or lowercase with the executable in bin/; C and C++ without one;
//! Python, in a subfolder or without a ws.conf; Java in a package), plus one made here (a broken
//! build with a committed executable), is planned, built, started and graded with no other
//! option, and each report says how; nothing is left running.
//!
//! The same class graded with the whole assignment corpus is held to its hand grades
//! (`tests/detect/class/hand_grades.json`, a teacher's grade per handout rule with a reason
//! each): every handout rule held or lost as the teacher says, every rule beyond the handout the
//! teacher noted too, every failed case explained by a lost rule, out of 100, the same total.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::grading::{self, rule_mismatches, unexplained_losses, Graded, Hand};
use common::{leftovers, repo_root, OutputWithin};

/// The longest a `harness` run may take here (it builds, starts and grades a class; a hang
/// fails the test instead of holding CI up).
const LIMIT: std::time::Duration = std::time::Duration::from_secs(300);

/// One grading of the class with the whole assignment corpus (11 to 20 s measured on 2 loaded
/// cores at `--jobs 4`, the builds included; 49 s beside the rest of the suite).
const GRADE_LIMIT: Duration = Duration::from_secs(180);

/// Where the harness is known to grade a rule otherwise than the teacher, and why the teacher is
/// right (README.md beside the hand grades says more): (submission, rule, why). The test expects
/// the harness's verdict there to be the opposite of the hand grade's, so that a fix of the
/// harness shows here, and the entry then goes.
const HARNESS_DIFFERS: &[(&str, &str, &str)] = &[(
    "erin",
    "ws-conf",
    "erin has no ws.conf and reads none (the port is her argument, the root and the index \
     names hard-coded), yet the harness holds ws-conf, whose cases only try the index names \
     that http.server happens to share with the handout's file",
)];

const MARK: &str = "DETECT_TEST_MARK";

fn class_fixture() -> std::path::PathBuf {
    repo_root().join("harness/tests/detect/class")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), dst).unwrap();
        }
    }
}

/// Whether `tool` is on the PATH.
fn have(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join(tool).is_file()))
}

/// The tools a submission of the class needs to be built and started.
fn toolchain(name: &str) -> &'static [&'static str] {
    match name {
        "alice" | "bob" | "frank" | "heidi" | "judy" => &["gcc", "make"],
        "grace" => &["g++"],
        "dave" => &["javac", "java"],
        _ => &["python3"],
    }
}

/// The first tool `name` needs that this machine lacks.
fn missing_tool(name: &str) -> Option<&'static str> {
    toolchain(name).iter().copied().find(|t| !have(t))
}

fn harness(mark: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_harness"));
    c.current_dir(repo_root())
        .env(MARK, mark)
        .env("NO_COLOR", "1");
    c
}

#[test]
fn the_plan_names_each_build_and_start() {
    let out = harness("plan")
        .args(["grade", "--plan"])
        .arg(class_fixture())
        .output_within(LIMIT);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 9, "{text}");
    let line = |name: &str| *lines.iter().find(|l| l.starts_with(name)).unwrap();
    assert!(line("alice:").contains("build `make -B`"), "{text}");
    assert!(
        line("bob:").contains("gcc -O2 -pthread -o webserver util.c webserver.c"),
        "{text}"
    );
    assert!(line("bob:").contains("ws.conf: src/ws.conf"), "{text}");
    assert!(
        line("carol:").contains("python3 {dir}/ws_server.py"),
        "{text}"
    );
    assert!(
        line("dave:").contains("java -cp {dir}/src edu.pa.WebServer"),
        "{text}"
    );
    assert!(line("erin:").contains("server.py {port}"), "{text}");
    assert!(line("erin:").contains("no ws.conf"), "{text}");
    assert!(
        line("grace:").contains("g++ -O2 -pthread -o server server.cpp"),
        "{text}"
    );
    assert!(
        line("heidi:").contains("build `cd src && make -B`"),
        "{text}"
    );
    assert!(
        line("ivan:").contains("python3 {dir}/src/httpd.py`"),
        "{text}"
    );
    assert!(line("judy:").contains("(makefile"), "{text}");
}

#[test]
fn nothing_to_start_is_a_usage_error() {
    let class = tempfile::tempdir().unwrap();
    std::fs::create_dir(class.path().join("empty")).unwrap();
    std::fs::write(class.path().join("empty/README.md"), "nothing here").unwrap();
    let out = tempfile::tempdir().unwrap();
    let o = harness("none")
        .arg("grade")
        .arg(class.path())
        .arg("--out")
        .arg(out.path())
        .output_within(LIMIT);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no submission can be started"), "{err}");
}

#[test]
fn a_class_with_no_start_files_is_built_started_and_graded() {
    let mark = format!("grade-{}", std::process::id());
    let class = tempfile::tempdir().unwrap();
    copy_dir(&class_fixture(), class.path());
    // frank commits a working executable, and a source that no longer compiles
    let frank = class.path().join("frank");
    copy_dir(&class_fixture().join("alice"), &frank);
    if have("gcc") {
        let ok = Command::new("gcc")
            .args(["-pthread", "-o", "ws", "server.c"])
            .current_dir(&frank)
            .status()
            .unwrap();
        assert!(ok.success());
    }
    std::fs::write(frank.join("server.c"), "int main( {\n").unwrap();
    let out = tempfile::tempdir().unwrap();
    let o = harness(&mark)
        .arg("grade")
        .arg(class.path())
        .args(["--filter", "get/index-html", "--out"])
        .arg(out.path())
        .output_within(LIMIT);
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    let all_tools = ["gcc", "g++", "make", "javac", "java"]
        .iter()
        .all(|t| have(t));
    if all_tools {
        assert_eq!(o.status.code(), Some(0), "{stdout}\n{stderr}");
    }
    // Each submission needs its toolchain; one missing on this machine is not graded here.
    for name in [
        "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
    ] {
        if let Some(tool) = missing_tool(name) {
            eprintln!("{name}: not checked, `{tool}` is not installed");
            continue;
        }
        let report: serde_json::Value = serde_json::from_slice(
            &std::fs::read(out.path().join(name).join("report.json")).unwrap(),
        )
        .unwrap();
        let notes = report["notes"].to_string();
        assert!(notes.contains("plan: "), "{name}: {notes}");
        assert!(notes.contains("started with"), "{name}: {notes}");
        assert_eq!(
            report["cases"][0]["verdict"], "pass",
            "{name}: {}\n{notes}",
            report["cases"][0]
        );
        if name == "frank" {
            assert!(
                notes.contains("the build failed, so the committed executable ws is started"),
                "{notes}"
            );
        }
    }
    assert!(
        stdout.contains(&format!(
            "wrote {}",
            out.path().join("gradebook.csv").display()
        )),
        "{stdout}"
    );
    assert!(leftovers(MARK, &mark).is_empty());
}

fn hand_grades_path() -> std::path::PathBuf {
    class_fixture().join("hand_grades.json")
}

/// The known difference of [`HARNESS_DIFFERS`] for `name`'s `rule`, if any.
fn known_difference(name: &str, rule: &str) -> Option<&'static str> {
    HARNESS_DIFFERS
        .iter()
        .find(|(n, r, _)| *n == name && *r == rule)
        .map(|(_, _, why)| *why)
}

/// The total the harness should give: the hand total, moved 10 points by each handout rule the
/// harness is known to grade otherwise.
fn expected_total(name: &str, hand: &Hand) -> f64 {
    let moved: f64 = hand
        .rules
        .iter()
        .filter(|(rule, _)| known_difference(name, rule).is_some())
        .map(|(_, g)| if g.held { -10.0 } else { 10.0 })
        .sum();
    hand.score + moved
}

/// What differs from the hand grade for one graded submission, one line each: a rule held or
/// lost otherwise (but the known differences, which must still differ), a handout rule missing
/// or not graded, a failed case no lost rule explains, a maximum other than 100, another total.
fn differences(name: &str, hand: &Hand, g: &Graded) -> Vec<String> {
    let mut out = Vec::new();
    for rule in hand.rules.keys() {
        match g.rules.get(rule).map(|o| o.status.as_str()) {
            None => out.push(format!("handout rule {rule}: not in the report")),
            Some("not-graded") => out.push(format!("handout rule {rule}: not graded")),
            _ => {}
        }
    }
    let mismatches = rule_mismatches(hand, &[g]);
    for (_, rule, why) in HARNESS_DIFFERS.iter().filter(|(n, ..)| *n == name) {
        let prefix = format!("run 1: rule {rule}: ");
        if !mismatches.iter().any(|m| m.starts_with(&prefix)) {
            out.push(format!(
                "rule {rule}: the harness now grades it as the hand grade does; remove it from \
                 HARNESS_DIFFERS and from the README ({why})"
            ));
        }
    }
    out.extend(mismatches.into_iter().filter(|m| {
        let rule = m
            .trim_start_matches("run 1: rule ")
            .split(':')
            .next()
            .unwrap_or("");
        known_difference(name, rule).is_none()
    }));
    out.extend(unexplained_losses(hand, &[g]));
    if g.max_score != 100.0 {
        out.push(format!("graded out of {}, not 100", g.max_score));
    }
    let total = expected_total(name, hand);
    if g.score != total {
        out.push(format!(
            "{} / {}, where the hand grade ({} / 100) gives {total}",
            g.score, g.max_score, hand.score
        ));
    }
    out
}

#[test]
fn the_class_is_graded_rule_by_rule_like_the_hand_grades() {
    let hand = grading::load_hand_grades(&hand_grades_path());
    let mark = format!("rules-{}", std::process::id());
    let out = tempfile::Builder::new()
        .prefix("detect-grading-")
        .tempdir()
        .unwrap();
    let mut cmd = grading::class_grade_command(&class_fixture(), out.path());
    cmd.env(MARK, &mark);
    let run = grading::run_grade(cmd, out.path(), GRADE_LIMIT);
    assert!(
        leftovers(MARK, &mark).is_empty(),
        "`harness grade` left processes running"
    );
    let missing: Vec<(&String, &str)> = hand
        .keys()
        .filter_map(|name| missing_tool(name).map(|tool| (name, tool)))
        .collect();
    if missing.is_empty() {
        assert_eq!(run.code, Some(0), "`harness grade` failed: {}", run.stderr);
    }
    let graded: BTreeMap<String, Graded> = grading::read_reports(&class_fixture(), out.path());
    let mut report = String::new();
    for (name, h) in &hand {
        if let Some((_, tool)) = missing.iter().find(|(n, _)| *n == name) {
            eprintln!("{name}: not graded here, `{tool}` is not installed");
            continue;
        }
        let g = &graded[name];
        let diffs = differences(name, h, g);
        if !diffs.is_empty() {
            report.push_str(&format!(
                "{name}: hand {} / 100, harness {} / {}\n    {}\n",
                h.score,
                g.score,
                g.max_score,
                diffs.join("\n    ")
            ));
        }
    }
    assert!(
        report.is_empty(),
        "the harness does not grade the detection class rule by rule like its hand grades \
         (harness/tests/detect/class/README.md; reports in {}):\n{report}",
        out.keep().display()
    );
}

/// One row of the README's table of hand grades: the cells under each column header.
fn readme_rows() -> BTreeMap<String, BTreeMap<String, String>> {
    let text = std::fs::read_to_string(class_fixture().join("README.md")).unwrap();
    let cells = |line: &str| -> Vec<String> {
        line.trim()
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_string())
            .collect()
    };
    let header_line = text
        .lines()
        .find(|l| l.starts_with("| submission | get |"))
        .expect("README.md: the table of hand grades");
    let header = cells(header_line);
    text.lines()
        .skip_while(|l| *l != header_line)
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let row = cells(l);
            let named = header.iter().cloned().zip(row.iter().cloned()).collect();
            (row[0].clone(), named)
        })
        .collect()
}

#[test]
fn hand_grades_are_consistent() {
    let hand = grading::load_hand_grades(&hand_grades_path());
    let rules = grading::handout_rules(&hand_grades_path());
    assert_eq!(rules.len(), 10, "the handout's ten requirements");
    let folders: Vec<String> = std::fs::read_dir(class_fixture())
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(folders.len(), hand.len(), "one hand grade per submission");
    let readme = readme_rows();
    let cases = repo_root().join("cases");
    for (name, h) in &hand {
        assert!(folders.contains(name), "{name}: no such submission");
        let mut want = rules.clone();
        want.sort();
        assert_eq!(h.rules.keys().cloned().collect::<Vec<_>>(), want, "{name}");
        let held = h.rules.values().filter(|g| g.held).count() as f64;
        assert_eq!(h.score, held * 10.0, "{name}: 10 points per rule held");
        assert_eq!(h.scale, 100.0);
        for (rule, g) in h.rules.iter().chain(&h.beyond) {
            assert!(!g.reason.is_empty(), "{name} {rule}: a reason");
            assert!(
                g.held || !g.cases.is_empty(),
                "{name} {rule}: the cases it costs"
            );
            for c in &g.cases {
                let exists = match c.strip_suffix('/') {
                    Some(folder) => cases.join(folder).is_dir(),
                    None => cases.join(format!("{c}.case")).is_file(),
                };
                assert!(exists, "{name} {rule}: no case {c} in cases/");
            }
        }
        let row = readme
            .get(name)
            .unwrap_or_else(|| panic!("README.md: no row for {name}"));
        for (rule, g) in &h.rules {
            let points = if g.held { "10" } else { "0" };
            assert_eq!(row[rule], points, "README.md: {name} {rule}");
        }
        assert_eq!(row["hand /100"], h.score.to_string(), "README.md: {name}");
        let broken: Vec<&str> = h
            .beyond
            .iter()
            .filter(|(_, g)| !g.held)
            .map(|(r, _)| r.as_str())
            .collect();
        assert_eq!(
            row["broken beyond the handout"],
            broken.join(", "),
            "README.md: {name}"
        );
    }
    for (name, rule, _) in HARNESS_DIFFERS {
        assert!(
            hand.get(*name).is_some_and(|h| h.rules.contains_key(*rule)),
            "HARNESS_DIFFERS: {name} {rule} is no handout rule of a submission"
        );
    }
}
