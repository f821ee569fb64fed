//! `harness grade` with no START or BUILD file: the fixture class `tests/detect/class` (C with a
//! Makefile, in a subfolder, or lowercase with the executable in bin/; C and C++ without one;
//! Python, in a subfolder or without a ws.conf; Java in a package), plus one made here (a broken
//! build with a committed executable), is planned, built, started and graded with no other
//! option, and each report says how; nothing is left running.

mod common;

use std::path::Path;
use std::process::Command;

use common::{leftovers, repo_root, OutputWithin};

/// The longest a `harness` run may take here (it builds, starts and grades a class; a hang
/// fails the test instead of holding CI up).
const LIMIT: std::time::Duration = std::time::Duration::from_secs(300);

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
    let needs = |name: &str| match name {
        "alice" | "bob" | "frank" | "heidi" | "judy" => ["gcc", "make"].as_slice(),
        "grace" => ["g++"].as_slice(),
        "dave" => ["javac", "java"].as_slice(),
        _ => ["python3"].as_slice(),
    };
    for name in [
        "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
    ] {
        if let Some(tool) = needs(name).iter().find(|t| !have(t)) {
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
