//! `--start` and `harness grade` end to end: the harness starts real servers (the reference binary,
//! the deliberately broken Python servers, servers that never listen, exit at once, or fork a
//! child that keeps the port), grades them, writes every output, and leaves no process behind.

mod common;

use std::path::Path;

use assert_cmd::Command;

use common::{flawed_py, leftovers, repo_root, server_bin, MARKER};

fn harness(marker: &str) -> Command {
    let mut c = Command::cargo_bin("harness").unwrap();
    // A hang fails the test (the child is killed) instead of holding CI up; a whole class is
    // graded here, so the limit is generous.
    c.timeout(std::time::Duration::from_secs(300));
    c.env("NO_COLOR", "1")
        .env(MARKER, marker)
        .current_dir(repo_root());
    c
}

fn marker(name: &str) -> String {
    format!("{name}-{}", std::process::id())
}

fn submission(class: &Path, name: &str, start: &str, with_ws_conf: bool) {
    let dir = class.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("START"), format!("# how to start it\n{start}\n")).unwrap();
    if with_ws_conf {
        std::fs::copy(repo_root().join("ws.conf"), dir.join("ws.conf")).unwrap();
    }
}

#[test]
fn start_runs_the_whole_corpus_at_the_reference_including_the_broken_config() {
    let m = marker("start");
    let out = harness(&m)
        .args([
            "run",
            "cases/assignment",
            "--format",
            "json",
            "--var",
            "keepalive=3",
            "--dir",
            ".",
            "--config",
            "patch",
        ])
        .arg("--start")
        .arg(format!("{} --config {{config}}", server_bin().display()))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let cases = v["cases"].as_array().unwrap();
    let not_passed: Vec<String> = cases
        .iter()
        // errors/head-not-supported skips: the bundled ws.conf lists HEAD.
        .filter(|c| c["verdict"] != "pass" && c["verdict"] != "skip")
        .map(|c| format!("{} {} {}", c["id"], c["verdict"], c["messages"]))
        .collect();
    assert!(
        not_passed.is_empty(),
        "the reference must pass every case: {not_passed:#?}"
    );
    assert!(
        cases
            .iter()
            .any(|c| c["id"].as_str().unwrap().contains("broken")),
        "the broken-config case ran"
    );
    assert_eq!(v["score"], v["max_score"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        leftovers(MARKER, &m),
        vec![],
        "no process may outlive the harness"
    );
}

#[test]
fn a_class_is_graded_and_nothing_is_left_running() {
    let m = marker("grade");
    let class = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let server = server_bin();
    let py = flawed_py();
    submission(
        class.path(),
        "reference",
        &format!("{} --config {{config}}", server.display()),
        true,
    );
    submission(
        class.path(),
        "single-threaded",
        &format!(
            "python3 {} --flaw single-threaded --root {{root}} --keepalive 3 --port {{port}}",
            py.display()
        ),
        false,
    );
    submission(class.path(), "never-listens", "sleep 60", false);
    submission(
        class.path(),
        "exits-at-once",
        "echo 'segmentation fault (core dumped)' >&2; exit 139",
        false,
    );
    // A server that forks: the child keeps serving the port after the parent exits.
    submission(
        class.path(),
        "forks-child",
        &format!(
            "python3 -c 'import os,sys; os.fork() == 0 and os.execvp(\"python3\", [\"python3\", \"{}\", \"--flaw\", \"none\", \"--root\", \"{{root}}\", \"--keepalive\", \"3\", \"--port\", \"{{port}}\"]); sys.exit(0)'",
            py.display()
        ),
        false,
    );
    let assert = harness(&m)
        .args(["grade"])
        .arg(class.path())
        .args([
            "cases/assignment",
            "--var",
            "keepalive=3",
            "--jobs",
            "3",
            "--ready-timeout",
            "5",
            "--out",
        ])
        .arg(out.path())
        .assert()
        // two submissions never start: exit 1, every output still written
        .code(1);
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();

    let csv = std::fs::read_to_string(out.path().join("gradebook.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows[0][..3], ["submission", "score", "max_score"]);
    let score = |name: &str| -> (f64, f64) {
        let r = rows
            .iter()
            .find(|r| r[0] == name)
            .unwrap_or_else(|| panic!("{name} in {csv}"));
        (r[1].parse().unwrap(), r[2].parse().unwrap())
    };
    let (s, max) = score("reference");
    assert!(max > 0.0);
    assert_eq!(s, max, "the reference scores full marks\n{stdout}");
    let (s, _) = score("single-threaded");
    assert!(
        s > 0.0 && s < max,
        "single-threaded loses some points, not all: {s}\n{stdout}"
    );
    // Run in parallel, a server that serves one connection at a time would also fail cases that
    // are not about concurrency; those are re-run alone, so it loses only the concurrency cases.
    let st: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.path().join("single-threaded/report.json")).unwrap(),
    )
    .unwrap();
    let failed: Vec<&str> = st["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !matches!(c["verdict"].as_str(), Some("pass" | "skip")))
        .filter(|c| c["id"] != "config/broken")
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(!failed.is_empty());
    // The flawed servers read no ws.conf at all, so they ignore a broken one: that case fails.
    let broken = st["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "config/broken")
        .unwrap();
    assert_eq!(broken["verdict"], "fail", "{broken}");
    assert!(broken["messages"].to_string().contains("500"), "{broken}");
    let why: Vec<String> = st["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| failed.contains(&c["id"].as_str().unwrap_or("")))
        .map(|c| format!("{}: {}", c["id"], c["messages"]))
        .collect();
    assert!(
        failed.iter().all(|id| id.starts_with("concurrency/")),
        "{why:#?}"
    );
    assert_eq!(score("never-listens").0, 0.0);
    assert_eq!(score("exits-at-once").0, 0.0);

    // Gradescope results exist even for a server that never started, and say why.
    let r: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.path().join("exits-at-once/results.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(r["score"], 0.0);
    let text = r.to_string();
    assert!(
        text.contains("139") || text.contains("segmentation"),
        "the reason is shown: {text}"
    );
    for name in [
        "reference",
        "single-threaded",
        "never-listens",
        "exits-at-once",
        "forks-child",
    ] {
        for f in ["results.json", "report.json", "report.html"] {
            assert!(out.path().join(name).join(f).is_file(), "{name}/{f}");
        }
    }
    let index = std::fs::read_to_string(out.path().join("index.html")).unwrap();
    assert!(index.contains("reference/report.html"));

    assert_eq!(
        leftovers(MARKER, &m),
        vec![],
        "no process may outlive the grading"
    );
}
