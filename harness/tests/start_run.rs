//! `--start`: running cases on started servers (`run_started`): one instance per `config:`, a
//! crash costs one case and the server comes back on a fresh port, a server that cannot start
//! gives errors (or failures, for a configuration of its own), and nothing is left running.

mod common;

use common::processes_with;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use harness::case::{parse_case, Case};
use harness::exec::{RunOptions, Target};
use harness::outcome::{CaseResult, Verdict};
use harness::start::process::shell_quote;
use harness::start::{run_started_with, ConfigMode, StartEvent, StartSpec};

fn mini() -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/start/mini_server.py");
    format!("python3 {}", shell_quote(&p.display().to_string()))
}

fn case(id: &str, src: &str) -> Case {
    parse_case(src, Path::new(&format!("{id}.case")), id).unwrap_or_else(|d| panic!("{id}: {d:?}"))
}

fn get_case(id: &str, path: &str, config: &str, status: u16) -> Case {
    case(
        id,
        &format!(
            "title: GET {path}\nconfig: {config}\ntimeout: 5s\n\nsend\n| GET {path} HTTP/1.1\n| Host: {{host}}\n| Connection: close\n|\n\nresponse within 3s\nstatus {status}\n"
        ),
    )
}

fn index_case(id: &str) -> Case {
    case(
        id,
        &format!(
            "title: {id}\ntimeout: 5s\n\nsend\n| GET /index.html HTTP/1.1\n| Host: {{host}}\n| Connection: close\n|\n\nresponse within 3s\nstatus 200\nbody file index.html\n"
        ),
    )
}

fn base(jobs: usize) -> RunOptions {
    let mut vars = BTreeMap::new();
    vars.insert("host".to_string(), "127.0.0.1".to_string());
    vars.insert("port".to_string(), "0".to_string());
    vars.insert("keepalive".to_string(), "2".to_string());
    RunOptions {
        target: Target {
            host: "127.0.0.1".into(),
            port: 0,
        },
        vars,
        www: "/nonexistent-www".into(),
        strict: false,
        lenient: false,
        declared: Default::default(),
        jobs,
        max_response_bytes: 1 << 20,
        connect_timeout: Duration::from_secs(2),
    }
}

fn setup() -> (tempfile::TempDir, tempfile::TempDir) {
    let site = tempfile::tempdir().unwrap();
    std::fs::write(
        site.path().join("index.html"),
        "<h1>the bundled site</h1>\n",
    )
    .unwrap();
    let sub = tempfile::tempdir().unwrap();
    (site, sub)
}

fn spec(command: String, sub: &Path, site: &Path) -> StartSpec {
    StartSpec {
        command,
        dir: sub.to_path_buf(),
        site: site.to_path_buf(),
        config_mode: ConfigMode::Auto,
        config_file: "ws.conf".into(),
        keepalive: 2,
        ready_timeout: Duration::from_secs(10),
        grace: Duration::from_millis(500),
    }
}

/// Runs and collects results, `on_done` calls and events.
fn run(
    cases: &[Case],
    spec: &StartSpec,
    jobs: usize,
) -> (Vec<CaseResult>, Vec<usize>, Vec<StartEvent>) {
    let done = Mutex::new(Vec::new());
    let events = Mutex::new(Vec::new());
    let results = run_started_with(
        cases,
        spec,
        &base(jobs),
        &|i, _r| done.lock().unwrap().push(i),
        &|e| events.lock().unwrap().push(e.clone()),
    );
    (
        results,
        done.into_inner().unwrap(),
        events.into_inner().unwrap(),
    )
}

/// Asserts that no process whose command line holds `marker` is left (waiting a little).
fn assert_all_stopped(marker: &str) {
    let t = std::time::Instant::now();
    while !processes_with(marker).is_empty() && t.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        processes_with(marker).is_empty(),
        "left running: {:?}",
        processes_with(marker)
    );
}

#[test]
fn a_crash_costs_one_case_and_configs_get_their_own_instance() {
    let (site, sub) = setup();
    let marker = &format!("/crash-marker-4411-{}", std::process::id());
    let sp = spec(
        format!("{} --crash-path {marker}", mini()),
        sub.path(),
        site.path(),
    );
    let cases = vec![
        index_case("before"),
        get_case("crash", marker, "default", 200),
        get_case("broken", "/index.html", "broken", 500),
        index_case("after"),
        get_case("unknown", "/", "nosuch", 200),
        get_case("missing", "/nope.html", "default", 404),
    ];
    let (results, mut done, events) = run(&cases, &sp, 1);

    let ids: Vec<&str> = results.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        ["before", "crash", "broken", "after", "unknown", "missing"],
        "input order"
    );
    done.sort();
    assert_eq!(done, [0, 1, 2, 3, 4, 5], "on_done sees every case once");
    let v: Vec<Verdict> = results.iter().map(|r| r.verdict).collect();
    assert_eq!(
        v,
        [
            Verdict::Pass,
            Verdict::Fail,
            Verdict::Pass,
            Verdict::Pass,
            Verdict::Error,
            Verdict::Pass
        ],
        "{results:#?}"
    );

    let crash = &results[1];
    assert!(
        crash.messages[0].starts_with("server died during this case (exit status 3)"),
        "{:?}",
        crash.messages
    );
    assert!(
        crash.messages[0].contains(&format!("crashing on {marker}")),
        "{:?}",
        crash.messages
    );
    assert!(
        crash.messages.len() > 1,
        "the case's own messages are kept: {:?}",
        crash.messages
    );
    assert_eq!(crash.points, 0.0);
    assert!(
        results[4].messages[0].contains("unknown server configuration `nosuch`"),
        "{:?}",
        results[4].messages
    );

    // default, its restart, then broken; each on its own port
    let started: Vec<(String, bool)> = events
        .iter()
        .filter_map(|e| match e {
            StartEvent::Started {
                variant, restart, ..
            } => Some((variant.clone(), *restart)),
            _ => None,
        })
        .collect();
    // (configurations run side by side: compare in a fixed order)
    let mut started = started;
    started.sort();
    assert_eq!(
        started,
        [
            ("broken".into(), false),
            ("default".into(), false),
            ("default".into(), true),
        ]
    );
    let p: Vec<u16> = events
        .iter()
        .filter_map(|e| match e {
            StartEvent::Started { port, .. } => Some(*port),
            _ => None,
        })
        .collect();
    assert!(p[0] != p[1] && p[1] != p[2], "{p:?}");
    assert!(events
        .iter()
        .any(|e| matches!(e, StartEvent::Died { case_id, .. } if case_id == "crash")));
    assert_all_stopped(marker);
}

#[test]
fn concurrent_workers_restart_a_dead_server_once() {
    let (site, sub) = setup();
    let marker = &format!("/crash-marker-5522-{}", std::process::id());
    let sp = spec(
        format!("{} --crash-path {marker}", mini()),
        sub.path(),
        site.path(),
    );
    let mut cases: Vec<Case> = (0..6).map(|i| index_case(&format!("ok{i}"))).collect();
    cases.insert(3, get_case("crash", marker, "default", 200));
    cases.extend((6..10).map(|i| index_case(&format!("ok{i}"))));
    let (results, done, events) = run(&cases, &sp, 3);
    assert_eq!(done.len(), cases.len());
    assert_eq!(results.len(), cases.len());
    let restarts = events
        .iter()
        .filter(|e| matches!(e, StartEvent::Started { restart: true, .. }))
        .count();
    assert_eq!(restarts, 1, "{events:#?}");
    let crash = results.iter().find(|r| r.id == "crash").unwrap();
    assert_eq!(crash.verdict, Verdict::Fail);
    assert!(
        crash.messages[0].contains("server died during this case"),
        "{:?}",
        crash.messages
    );
    // every other case either passed or was caught by the same death
    for r in &results {
        assert!(
            r.verdict == Verdict::Pass
                || r.messages[0].contains("server died during this case (exit status 3)"),
            "{r:#?}"
        );
    }
    // the last cases ran on the restarted server
    assert_eq!(results.last().unwrap().verdict, Verdict::Pass);
    assert_all_stopped(marker);
}

#[test]
fn a_server_that_cannot_start_gives_errors_and_refusing_a_config_fails() {
    let (site, sub) = setup();
    // starts with the default config, refuses the broken one (exits), as many submissions do
    let marker = &format!("/crash-marker-7744-{}", std::process::id());
    let cmd = format!(
        "if grep -q '^\\.html$' ws.conf; then echo 'bad line in ws.conf' >&2; exit 1; fi; exec {} --crash-path {marker}",
        mini()
    );
    let sp = spec(cmd, sub.path(), site.path());
    let cases = vec![get_case("broken", "/", "broken", 500), index_case("fine")];
    let (results, _, events) = run(&cases, &sp, 2);
    assert_eq!(results[1].verdict, Verdict::Pass, "{:#?}", results[1]);
    assert_eq!(results[0].verdict, Verdict::Fail, "{:#?}", results[0]);
    let m = &results[0].messages[0];
    assert!(
        m.contains("with the `broken` configuration the server did not answer"),
        "{m}"
    );
    assert!(
        m.contains("exit status 1") && m.contains("bad line in ws.conf"),
        "{m}"
    );
    assert!(events
        .iter()
        .any(|e| matches!(e, StartEvent::StartFailed { variant, .. } if variant == "broken")));
    assert_all_stopped(marker);

    // a server that never starts at all: every case is an error, with its output
    let sp = spec(
        "echo 'make: *** no rule' >&2; exit 2".into(),
        sub.path(),
        site.path(),
    );
    let cases = vec![index_case("a"), index_case("b")];
    let (results, _, _) = run(&cases, &sp, 2);
    for r in &results {
        assert_eq!(r.verdict, Verdict::Error);
        assert_eq!(r.max_points, 1.0);
        assert!(
            r.messages[0].starts_with("the server could not be started"),
            "{:?}",
            r.messages
        );
        assert!(
            r.messages[0].contains("exit status 2") && r.messages[0].contains("no rule"),
            "{:?}",
            r.messages
        );
    }
}

#[test]
fn a_restart_that_fails_errors_the_remaining_cases() {
    let (site, sub) = setup();
    // the first start works; after the crash, a flag file makes every later start fail
    let marker = &format!("/crash-marker-6633-{}", std::process::id());
    let cmd = format!(
        "if [ -e started-once ]; then echo 'refusing to start twice'; exit 9; fi; touch started-once; exec {} --crash-path {marker}",
        mini()
    );
    let sp = spec(cmd, sub.path(), site.path());
    let cases = vec![
        index_case("a"),
        get_case("crash", marker, "default", 200),
        index_case("b"),
        index_case("c"),
    ];
    let (results, _, _) = run(&cases, &sp, 1);
    let v: Vec<Verdict> = results.iter().map(|r| r.verdict).collect();
    assert_eq!(
        v,
        [Verdict::Pass, Verdict::Fail, Verdict::Error, Verdict::Error],
        "{results:#?}"
    );
    assert!(
        results[2].messages[0].contains("could not be restarted"),
        "{:?}",
        results[2].messages
    );
    assert!(
        results[2].messages[0].contains("exit status 9"),
        "{:?}",
        results[2].messages
    );
    assert_all_stopped(marker);
}

#[test]
fn patch_warnings_are_noted_on_failed_cases() {
    let (site, sub) = setup();
    // a submission whose own ws.conf lacks the keep-alive line; the server takes {port}
    std::fs::write(
        sub.path().join("ws.conf"),
        "Listen 8888\nDocumentRoot www\n.html text/html\n",
    )
    .unwrap();
    let marker = &format!("/crash-marker-8855-{}", std::process::id());
    let sp = spec(
        format!("{} --port {{port}} --crash-path {marker}", mini()),
        sub.path(),
        site.path(),
    );
    let cases = vec![index_case("ok"), get_case("wrong", "/", "default", 418)];
    let (results, _, events) = run(&cases, &sp, 1);
    assert_eq!(results[0].verdict, Verdict::Pass);
    assert!(results[0].messages.is_empty(), "{:?}", results[0].messages);
    assert_eq!(results[1].verdict, Verdict::Fail);
    assert!(
        results[1]
            .messages
            .iter()
            .any(|m| m.starts_with("note: warning: no keep-alive time line")),
        "{:?}",
        results[1].messages
    );
    let notes = match &events[0] {
        StartEvent::Started { notes, .. } => notes.join("\n"),
        e => panic!("{e:?}"),
    };
    // the relative DocumentRoot stays as written (the site is put there): only the port changes
    assert!(notes.contains("patched (1 line changed)"), "{notes}");
    assert!(notes.contains("document root \"www\" is kept"), "{notes}");
    assert_all_stopped(marker);
}

#[test]
fn a_server_that_stops_listening_but_runs_is_caught_by_the_next_failing_case() {
    let (site, sub) = setup();
    let marker = &format!("/unlisten-marker-9966-{}", std::process::id());
    let sp = spec(
        format!("{} --unlisten-path {marker}", mini()),
        sub.path(),
        site.path(),
    );
    let cases = vec![
        get_case("unlisten", marker, "default", 200),
        index_case("next"),
        index_case("after"),
    ];
    let (results, _, events) = run(&cases, &sp, 1);
    let v: Vec<Verdict> = results.iter().map(|r| r.verdict).collect();
    // the passing case is not probed (no extra connection after a pass); the next one, which
    // cannot connect, finds the port closed
    assert_eq!(
        v,
        [Verdict::Pass, Verdict::Fail, Verdict::Pass],
        "{results:#?}"
    );
    let m = &results[1].messages[0];
    assert!(
        m.contains("the process still runs but port") && m.contains("refuses connections"),
        "{m}"
    );
    assert!(m.contains("closing the listening socket"), "{m}");
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, StartEvent::Started { restart: true, .. }))
            .count(),
        1
    );
    assert_all_stopped(marker);
}
