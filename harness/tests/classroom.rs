//! The GitHub Classroom workflow (`contrib/github-classroom/.github/workflows/classroom.yml`),
//! checked as written and run as a student's repository runs it:
//!
//! - it has one `autograding-command-grader` step per rule of the handout (`rules.txt`), each
//!   worth that rule's points, 100 in all, and the reporter reads every one of them;
//! - each step's `setup-command` and `command` are run exactly as written, through `sh` in a
//!   student's repository, with the environment the grader action gives them (PATH and HOME,
//!   nothing of the workflow's), `setup.sh` installing this build's harness and this checkout's
//!   cases (`HTTPCHECK_INSTALL=local:...`) into a private HOME;
//! - at the reference server every step passes; at a student-style server with one planted
//!   mistake (`tests/flawed/flawed.py --flaw NAME`) exactly the step of the broken rule fails
//!   (exit code 1), and a mistake beyond the handout fails none.
//!
//! The steps of one submission run at once, as separate processes; a step whose exit code
//! differs from the expected one is run again alone (twice at most) before it counts, so a
//! loaded machine cannot fail the test, while a flaw that breaks another rule breaks it alone
//! too. Every server is started by the harness (`--start`), on loopback, and stopped by it; a
//! marker in the environment finds any process left behind, which fails the test (and is killed).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_yaml::Value;

use common::MARKER;
use common::{flawed_py, leftovers, output_within, processes_with_env, repo_root, server_bin};
use harness::rules::book::{read_rules_file, Scope};

const GRADER: &str = "classroom-resources/autograding-command-grader@v1";
const REPORTER: &str = "classroom-resources/autograding-grading-reporter@v1";

/// What one step (its setup, then its command) may take here: far less than the workflow's
/// minutes, far more than the slowest step takes (the keep-alive rule at a server that never
/// closes, about 16 s).
const STEP_LIMIT: Duration = Duration::from_secs(120);

fn classroom() -> PathBuf {
    repo_root().join("contrib/github-classroom")
}

/// One `autograding-command-grader` step of the workflow.
#[derive(Debug, Clone)]
struct Step {
    id: String,
    test_name: String,
    setup: String,
    command: String,
    /// Minutes.
    timeout: f64,
    max_score: f64,
}

impl Step {
    /// The rule its command grades: the value of its one `--rule`.
    fn rule(&self) -> String {
        let words: Vec<&str> = self.command.split_whitespace().collect();
        let rules: Vec<&str> = words
            .windows(2)
            .filter(|w| w[0] == "--rule")
            .map(|w| w[1])
            .collect();
        assert_eq!(
            rules.len(),
            1,
            "step `{}`: its command must have exactly one --rule: {}",
            self.id,
            self.command
        );
        rules[0].to_string()
    }
}

fn workflow() -> Value {
    let path = classroom().join(".github/workflows/classroom.yml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()))
}

/// The steps of the workflow's one job.
fn job_steps(wf: &Value) -> Vec<Value> {
    let jobs = wf["jobs"].as_mapping().expect("a `jobs` mapping");
    assert_eq!(jobs.len(), 1, "one job, as GitHub Classroom generates");
    let job = jobs.values().next().unwrap();
    assert_eq!(job["runs-on"].as_str(), Some("ubuntu-latest"));
    job["steps"].as_sequence().expect("the job's steps").clone()
}

/// A string or number input of a step's `with:`, as text.
fn input(step: &Value, name: &str) -> String {
    match &step["with"][name] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => panic!("step {:?}: input `{name}` is {other:?}", step["id"]),
    }
}

fn number(step: &Value, name: &str) -> f64 {
    input(step, name)
        .parse()
        .unwrap_or_else(|e| panic!("step {:?}: `{name}` is not a number: {e}", step["id"]))
}

fn grader_steps(wf: &Value) -> Vec<Step> {
    job_steps(wf)
        .iter()
        .filter(|s| s["uses"].as_str() == Some(GRADER))
        .map(|s| Step {
            id: s["id"].as_str().expect("a grader step's id").to_string(),
            test_name: input(s, "test-name"),
            setup: input(s, "setup-command"),
            command: input(s, "command"),
            timeout: number(s, "timeout"),
            max_score: number(s, "max-score"),
        })
        .collect()
}

/// The handout's rules and their points, from `cases/assignment/rules.txt`.
fn handout_rules() -> Vec<(String, f64)> {
    let path = repo_root().join("cases/assignment/rules.txt");
    let rules = read_rules_file(&path).unwrap_or_else(|d| panic!("{path:?}: {d:?}"));
    rules
        .into_iter()
        .map(|(_, r)| r)
        .filter(|r| r.scope == Scope::Handout)
        .map(|r| (r.name, r.points))
        .collect()
}

#[test]
fn one_grader_step_per_handout_rule_adding_up_to_100() {
    let steps = grader_steps(&workflow());
    assert!(steps.len() >= 10, "only {} grader steps", steps.len());
    let total: f64 = steps.iter().map(|s| s.max_score).sum();
    assert_eq!(total, 100.0, "the max-scores add up to {total}");
    let rules = handout_rules();
    assert_eq!(rules.len(), 10, "the handout has ten rules: {rules:?}");
    let graded: Vec<(String, f64)> = steps.iter().map(|s| (s.rule(), s.max_score)).collect();
    assert_eq!(
        graded, rules,
        "one step per handout rule, in the order of rules.txt, worth its points"
    );
    for s in &steps {
        // The id names the rule: the reporter's env variable (ID_RESULTS) and its runners follow.
        assert_eq!(s.id, s.rule(), "step `{}` grades another rule", s.id);
        assert!(
            s.test_name.starts_with(&format!("{}: ", s.id)),
            "{:?}: a test name says its rule",
            s.test_name
        );
        assert!(
            s.timeout > 0.0 && s.timeout <= 60.0,
            "step `{}`: timeout {} minutes",
            s.id,
            s.timeout
        );
        assert_eq!(s.setup, steps[0].setup, "every step shares one setup");
        assert!(s.command.contains(" run ") && s.command.contains("--start"));
    }
    let script = steps[0]
        .setup
        .split_whitespace()
        .find(|w| w.ends_with("setup.sh"))
        .expect("the setup-command runs setup.sh");
    assert!(
        classroom().join(script).is_file(),
        "{script} is not in contrib/github-classroom/"
    );
}

#[test]
fn the_reporter_reads_every_grader_step() {
    let wf = workflow();
    let steps = job_steps(&wf);
    assert_eq!(
        steps[0]["uses"].as_str(),
        Some("actions/checkout@v4"),
        "the student's repository is checked out first"
    );
    let reporter = steps.last().unwrap();
    assert_eq!(
        reporter["uses"].as_str(),
        Some(REPORTER),
        "the reporter ends the job"
    );
    let ids: Vec<String> = grader_steps(&wf).into_iter().map(|s| s.id).collect();
    let runners: Vec<String> = input(reporter, "runners")
        .split(',')
        .map(|r| r.trim().to_string())
        .collect();
    assert_eq!(runners, ids, "the reporter's runners are the grader steps");
    let env = reporter["env"].as_mapping().expect("the reporter's env");
    assert_eq!(
        env.len(),
        ids.len(),
        "one result variable per step: {env:?}"
    );
    for id in &ids {
        // The reporter reads process.env[`${runner.toUpperCase()}_RESULTS`].
        let key = format!("{}_RESULTS", id.to_uppercase());
        let value = env
            .get(key.as_str())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("the reporter's env has no {key}"));
        let value: String = value.chars().filter(|c| !c.is_whitespace()).collect();
        assert_eq!(value, format!("${{{{steps.{id}.outputs.result}}}}"));
    }
}

/// A copy of `from` at `to`, folders and files.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

/// A student's repository on a runner: the teacher's `.github` (the workflow and setup.sh), the
/// student's ws.conf and START file, and the runner's HOME, where setup.sh installs.
struct Submission {
    label: String,
    repo: tempfile::TempDir,
    home: tempfile::TempDir,
    /// START_CMD for setup.sh (what the teacher fills in), when the repository has no START.
    start_cmd: Option<String>,
    marker: String,
}

/// What a step gave: the exit code of its setup when that failed, else of its command.
#[derive(Debug)]
struct StepRun {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Submission {
    fn new(label: &str, ws_conf: &str, start: Option<&str>, start_cmd: Option<&str>) -> Self {
        let sub = Submission {
            label: label.to_string(),
            repo: tempfile::tempdir().unwrap(),
            home: tempfile::tempdir().unwrap(),
            start_cmd: start_cmd.map(str::to_string),
            marker: format!("classroom-{label}-{}", std::process::id()),
        };
        copy_dir(
            &classroom().join(".github"),
            &sub.repo.path().join(".github"),
        );
        std::fs::write(sub.repo.path().join("ws.conf"), ws_conf).unwrap();
        if let Some(start) = start {
            let text = format!("# how my server starts\n\n{start}\n");
            std::fs::write(sub.repo.path().join("START"), text).unwrap();
        }
        sub
    }

    /// The reference server, started by START_CMD (no START file), with the repository's ws.conf.
    fn reference(label: &str, ws_conf: &str) -> Self {
        let cmd = format!("{} --config {{config}}", server_bin().display());
        Submission::new(label, ws_conf, None, Some(&cmd))
    }

    /// `flawed.py --flaw FLAW`, started by the student's START file.
    fn flawed(flaw: &str) -> Self {
        let start = format!(
            "python3 {} --flaw {flaw} --keepalive 3 --port {{port}} --root {{root}} --conf {{config}}",
            flawed_py().display()
        );
        Submission::new(flaw, &reference_ws_conf(), Some(&start), None)
    }

    /// `sh -c SCRIPT` in the repository, with the environment the grader action gives its
    /// commands (PATH, HOME and three of its own), what the teacher filled in, and the marker.
    fn sh(&self, script: &str) -> Output {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(script)
            .current_dir(self.repo.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("FORCE_COLOR", "true")
            .env("DOTNET_CLI_HOME", "/tmp")
            .env("DOTNET_NOLOGO", "true")
            .env(
                "HTTPCHECK_INSTALL",
                format!("local:{}", repo_root().display()),
            )
            .env("HTTPCHECK_BIN", assert_cmd::cargo::cargo_bin("harness"))
            .env(MARKER, &self.marker);
        if let Some(s) = &self.start_cmd {
            cmd.env("START_CMD", s);
        }
        output_within(&mut cmd, STEP_LIMIT)
    }

    /// Runs a step as the grader action does: its setup-command, then (when that succeeded) its
    /// command.
    fn run(&self, step: &Step) -> StepRun {
        let setup = self.sh(&step.setup);
        let out = if setup.status.success() {
            self.sh(&step.command)
        } else {
            setup
        };
        StepRun {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Installs (the first setup, alone, as the first step of a job does).
    fn install(&self, steps: &[Step]) {
        let out = self.sh(&steps[0].setup);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("installed (local:"),
            "{}: setup.sh failed:\n{text}\n{}",
            self.label,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Submission {
    /// Nothing a step started may outlive it: the harness stops its servers; any process left
    /// with this submission's marker fails the test, after being killed (by its pid).
    fn drop(&mut self) {
        let left = leftovers(MARKER, &self.marker);
        for (pid, _) in &left {
            // SAFETY: kill(2) on a process that carries this test's own marker: one it started.
            unsafe { libc::kill(*pid as libc::pid_t, libc::SIGKILL) };
        }
        if !std::thread::panicking() {
            assert!(
                left.is_empty(),
                "{}: processes left behind: {left:?}",
                self.label
            );
            assert!(processes_with_env(MARKER, &self.marker).is_empty());
        }
    }
}

/// The repository's ws.conf: what a student hands in (Listen, a relative DocumentRoot, ...).
fn reference_ws_conf() -> String {
    std::fs::read_to_string(repo_root().join("ws.conf")).unwrap()
}

/// Runs every step at once (each its setup, then its command); results in step order.
fn run_all(sub: &Submission, steps: &[Step]) -> Vec<StepRun> {
    std::thread::scope(|s| {
        let handles: Vec<_> = steps
            .iter()
            .map(|st| s.spawn(move || sub.run(st)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Asserts that exactly the step of `broken` (none when `None`) fails, with exit code 1 and its
/// rule LOST, and that every other step passes with its rule HELD. A step that differs is run
/// again alone, twice at most, and that run stands.
fn check(sub: &Submission, steps: &[Step], broken: Option<&str>) {
    let started = Instant::now();
    sub.install(steps);
    let mut runs = run_all(sub, steps);
    let mut wrong = Vec::new();
    let mut table = Vec::new();
    for (step, run) in steps.iter().zip(runs.iter_mut()) {
        let (code, word) = if broken == Some(step.id.as_str()) {
            (1, "LOST")
        } else {
            (0, "HELD")
        };
        let shows = |r: &StepRun| {
            r.code == code
                && r.stdout.lines().any(|l| {
                    let w: Vec<&str> = l.split_whitespace().collect();
                    w.len() >= 2 && w[0] == word && w[1] == step.id
                })
        };
        for _ in 0..2 {
            if shows(run) {
                break;
            }
            println!(
                "{}: step {} gave {}: run again alone",
                sub.label, step.id, run.code
            );
            *run = sub.run(step);
        }
        table.push(format!("{:>3}  {}", run.code, step.id));
        if !shows(run) {
            wrong.push(format!(
                "--- step {}: expected exit {code} with `{word} {}`, got exit {}\n{}\n{}",
                step.id, step.id, run.code, run.stdout, run.stderr
            ));
        }
    }
    println!(
        "{} ({:.1}s):\n{}",
        sub.label,
        started.elapsed().as_secs_f64(),
        table.join("\n")
    );
    assert!(
        wrong.is_empty(),
        "{}: {} step(s) not as expected:\n{}",
        sub.label,
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn every_step_passes_at_the_reference_server() {
    let steps = grader_steps(&workflow());
    let sub = Submission::reference("reference", &reference_ws_conf());
    check(&sub, &steps, None);
}

/// Each student-style server with one planted mistake, and the handout rule it breaks (`None`:
/// a mistake beyond the handout, which no step grades). `tests/corpus.rs` proves which cases
/// each flaw fails.
const FLAWS: &[(&str, Option<&str>)] = &[
    ("strlen-body", Some("get")),
    ("no-directory-index", Some("ws-conf")),
    ("unknown-method-501", Some("invalid-method")),
    ("url-no-slash", Some("invalid-url")),
    ("accepts-http2", Some("invalid-version")),
    ("missing-is-200", Some("not-found")),
    ("any-method-200", Some("not-implemented")),
    ("ignores-broken-config", Some("server-error")),
    ("never-closes", Some("keep-alive")),
    ("single-threaded", Some("concurrency")),
    ("head-body", None),
];

fn flawed(flaw: &str) {
    let broken = FLAWS
        .iter()
        .find(|(f, _)| *f == flaw)
        .unwrap_or_else(|| panic!("`{flaw}` is not in FLAWS"))
        .1;
    let steps = grader_steps(&workflow());
    check(&Submission::flawed(flaw), &steps, broken);
}

/// One test per flaw (cargo runs them side by side), and `RUN`, the flaws they run.
macro_rules! flawed_tests {
    ($($name:ident => $flaw:literal,)*) => {
        const RUN: &[&str] = &[$($flaw),*];
        $(
            #[test]
            fn $name() {
                flawed($flaw);
            }
        )*
    };
}

flawed_tests! {
    get_fails_for_strlen_body => "strlen-body",
    ws_conf_fails_for_no_directory_index => "no-directory-index",
    invalid_method_fails_for_unknown_method_501 => "unknown-method-501",
    invalid_url_fails_for_url_no_slash => "url-no-slash",
    invalid_version_fails_for_accepts_http2 => "accepts-http2",
    not_found_fails_for_missing_is_200 => "missing-is-200",
    not_implemented_fails_for_any_method_200 => "any-method-200",
    server_error_fails_for_ignores_broken_config => "ignores-broken-config",
    keep_alive_fails_for_never_closes => "never-closes",
    concurrency_fails_for_single_threaded => "single-threaded",
    no_step_fails_for_head_body => "head-body",
}

/// Every step of the workflow is shown to fail by some flaw, and every flaw listed is run.
#[test]
fn every_step_is_failed_by_a_flaw() {
    let mut listed: Vec<&str> = FLAWS.iter().map(|(f, _)| *f).collect();
    let mut run = RUN.to_vec();
    listed.sort();
    run.sort();
    assert_eq!(listed, run, "every flaw of FLAWS has its test");
    for step in grader_steps(&workflow()) {
        assert!(
            FLAWS.iter().any(|(_, r)| *r == Some(step.id.as_str())),
            "no flaw fails step `{}`",
            step.id
        );
    }
}

/// A rule whose every case the submission's ws.conf does not call for holds: here every method
/// the not-implemented cases try is in RequestMethodSupport, so none of them runs, and the step
/// earns its points.
#[test]
fn a_rule_the_ws_conf_does_not_call_for_holds() {
    let conf = reference_ws_conf().replace(
        "\nRequestMethodSupport GET HEAD\n",
        "\nRequestMethodSupport GET HEAD POST PUT DELETE\n",
    );
    assert!(
        conf.contains("POST PUT DELETE"),
        "the ws.conf's methods line moved"
    );
    let steps = grader_steps(&workflow());
    let step = steps
        .iter()
        .find(|s| s.id == "not-implemented")
        .expect("a not-implemented step");
    let sub = Submission::reference("every-method", &conf);
    sub.install(&steps);
    let run = sub.run(step);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let held = run
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("HELD"))
        .unwrap_or_else(|| panic!("no HELD line:\n{}", run.stdout));
    assert!(
        held.contains("not-implemented") && held.contains("calls for none of its cases"),
        "{held}"
    );
}

/// setup.sh says what the teacher has not filled in, and a failed build fails every step.
#[test]
fn setup_sh_says_what_is_missing() {
    let steps = grader_steps(&workflow());
    let sub = Submission::reference("unfilled", &reference_ws_conf());
    let out = sub.sh(&format!("HTTPCHECK_INSTALL=release {}", steps[0].setup));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("fill in REPO at the top of .github/classroom/setup.sh"),
        "{err}"
    );

    std::fs::write(sub.repo.path().join("BUILD"), "# my build\nexit 3\n").unwrap();
    let first = sub.sh(&steps[0].setup);
    let err = String::from_utf8_lossy(&first.stderr);
    assert_eq!(first.status.code(), Some(1), "{err}");
    assert!(
        err.contains("the build (exit 3) failed with exit status 3"),
        "{err}"
    );
    let next = sub.run(&steps[1]);
    assert_eq!(next.code, 1, "{next:?}");
    assert!(
        next.stderr
            .contains("the build failed (exit status 3): its output is in the first step's log"),
        "{next:?}"
    );
}

/// `--rule` with `--target` for a rule whose cases need `--start` (server-error: its case needs
/// a broken ws.conf, which only a started server can be given): the rule is not graded, and the
/// command exits 2 (it could not do what it was asked), so that a grader step never awards a
/// rule it did not test. A rule held beside it changes nothing.
#[test]
fn a_rule_that_needs_start_is_not_graded_with_target() {
    let server = server::Server::start(server::ServerOptions {
        config: repo_root().join("ws.conf"),
        listen: Some("127.0.0.1:0".into()),
        max_connections: 64,
        access_log: false,
    })
    .expect("the reference server starts");
    let target = format!("127.0.0.1:{}", server.local_addr().port());
    let run = |rules: &[&str]| {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("harness"));
        cmd.current_dir(repo_root()).args([
            "run",
            "cases/assignment",
            "--target",
            &target,
            "--var",
            "keepalive=3",
        ]);
        for r in rules {
            cmd.args(["--rule", r]);
        }
        let out = output_within(&mut cmd, STEP_LIMIT);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.code(), err)
    };
    let (code, err) = run(&["get"]);
    assert_eq!(code, Some(0), "{err}");
    for rules in [&["server-error"][..], &["get", "server-error"][..]] {
        let (code, err) = run(rules);
        assert_eq!(code, Some(2), "--rule {rules:?}: {err}");
        assert!(
            err.contains("server-error") && err.contains("--start"),
            "--rule {rules:?}: stderr says which rule and what to do: {err}"
        );
    }
    server.shutdown();
}
