//! Shared by the harness's integration tests: paths of the repo and of the built server binary,
//! a fake server that answers every connection with one canned response, and a child process
//! run to its end within a time limit.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

/// The environment variable that marks the processes a test's `harness` run starts, so that
/// [`leftovers`] finds any it left behind.
pub const MARKER: &str = "HARNESS_TEST_MARKER";

/// The `harness` binary as a user runs it: from the repository's root, colour off, its
/// processes marked with `marker`, stopped after 120 s.
pub fn harness_marked(marker: &str) -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("harness").unwrap();
    c.env("NO_COLOR", "1")
        .env(MARKER, marker)
        .current_dir(repo_root())
        .timeout(Duration::from_secs(120));
    c
}

/// The repository's root folder.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The reference server's binary (`target/debug/server`), built if `cargo test -p harness` ran
/// without it.
pub fn server_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        let dir = exe.parent().unwrap().parent().unwrap(); // target/debug/deps -> target/debug
        let bin = dir.join("server");
        if !bin.exists() {
            let status = Command::new(env!("CARGO"))
                .args(["build", "-p", "server", "--bin", "server"])
                .current_dir(repo_root())
                .status()
                .unwrap();
            assert!(status.success(), "could not build the server binary");
        }
        bin
    })
    .clone()
}

/// A server on 127.0.0.1 that reads a request head and answers it with `response`, then closes.
/// Stops (and joins its thread) when dropped.
pub struct Canned {
    pub port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Canned {
    pub fn new(response: &'static [u8]) -> Canned {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut s, _)) => {
                        s.set_nonblocking(false).unwrap();
                        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                        let mut buf = Vec::new();
                        let mut chunk = [0u8; 4096];
                        while !buf.windows(4).any(|w| w == b"\r\n\r\n")
                            && !buf.windows(2).any(|w| w == b"\n\n")
                        {
                            match s.read(&mut chunk) {
                                Ok(0) | Err(_) => break,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        }
                        let _ = s.write_all(response);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Canned {
            port,
            stop,
            thread: Some(thread),
        }
    }

    pub fn target(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Canned {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Writes a case folder with the given (relative path, text) files.
pub fn case_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

/// Every process whose environment holds `NAME=VALUE` (descendants inherit it, whatever they
/// exec), as (pid, cmdline).
pub fn processes_with_env(name: &str, value: &str) -> Vec<(u32, String)> {
    let needle = format!("{name}={value}");
    let me = std::process::id();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(env) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        if env.split(|&b| b == 0).any(|kv| kv == needle.as_bytes()) {
            let cmd = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            // A zombie has no command line and holds nothing; it is reaped by its parent soon.
            if !cmd.is_empty() {
                found.push((pid, String::from_utf8_lossy(&cmd).replace('\0', " ")));
            }
        }
    }
    found
}

/// Waits (bounded) until no process carries the marker; returns those still there.
pub fn leftovers(name: &str, value: &str) -> Vec<(u32, String)> {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let left = processes_with_env(name, value);
        if left.is_empty() || std::time::Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The deliberately broken student server.
pub fn flawed_py() -> PathBuf {
    repo_root().join("harness/tests/flawed/flawed.py")
}

/// The running processes (zombies left out) whose command line contains `marker`.
pub fn processes_with(marker: &str) -> Vec<i32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if pid == std::process::id() as i32 {
            continue;
        }
        let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let zombie = stat
            .rsplit_once(')')
            .is_some_and(|(_, r)| r.trim_start().starts_with('Z'));
        if !zombie && String::from_utf8_lossy(&cmd).contains(marker) {
            out.push(pid);
        }
    }
    out
}

/// `Command::output` with a time limit: see [`output_within`].
pub trait OutputWithin {
    fn output_within(&mut self, limit: Duration) -> std::process::Output;
}

impl OutputWithin for Command {
    fn output_within(&mut self, limit: Duration) -> std::process::Output {
        output_within(self, limit)
    }
}

/// Runs `cmd` to its end with stdout and stderr captured, like `Command::output`, but for at
/// most `limit`: past it the child gets SIGTERM (so that it can stop what it started), then
/// SIGKILL 5 s later, and the test fails with what it printed so far. Output still held open
/// by a process the child left behind is waited for 5 s at most.
pub fn output_within(cmd: &mut Command, limit: Duration) -> std::process::Output {
    use std::process::Stdio;
    use std::sync::Mutex;
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (done_tx, done) = std::sync::mpsc::channel();
    let drain = |r: Box<dyn Read + Send>| {
        let got = Arc::new(Mutex::new(Vec::new()));
        let (into, done_tx) = (Arc::clone(&got), done_tx.clone());
        std::thread::spawn(move || {
            let mut r = r;
            let mut buf = [0u8; 8192];
            while let Ok(n) = r.read(&mut buf) {
                if n == 0 {
                    break;
                }
                into.lock().unwrap().extend_from_slice(&buf[..n]);
            }
            let _ = done_tx.send(());
        });
        got
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let start = std::time::Instant::now();
    let mut termed = false;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit + Duration::from_secs(5) {
            let _ = child.kill();
        } else if start.elapsed() > limit && !termed {
            // SAFETY: signalling our own child, not reaped yet.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            termed = true;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let end = std::time::Instant::now() + Duration::from_secs(5);
    for _ in 0..2 {
        let left = end.saturating_duration_since(std::time::Instant::now());
        if done.recv_timeout(left).is_err() {
            break;
        }
    }
    let take = |got: &Arc<Mutex<Vec<u8>>>| got.lock().unwrap().clone();
    let (stdout, stderr) = (take(&out), take(&err));
    assert!(
        !termed,
        "still running after {limit:?}: {cmd:?}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&stdout),
        String::from_utf8_lossy(&stderr)
    );
    std::process::Output {
        status,
        stdout,
        stderr,
    }
}

/// Grading a class by hand and by `harness grade` (tests/class_grading.rs, tests/detect.rs): a
/// class's `hand_grades.json` (a teacher's grade per rule of the handout, with reasons), one
/// bounded `harness grade` run of the assignment corpus, its reports, and what differs.
pub mod grading {
    use std::collections::BTreeMap;
    use std::fs;
    use std::path::Path;
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    use serde_json::Value;

    use super::repo_root;

    /// A teacher's verdict on one rule: points (10 or 0 for a handout rule; for a rule beyond the
    /// handout, 10 when it holds), the reason, and for a lost rule the cases it may cost.
    #[derive(Debug, Clone)]
    pub struct RuleGrade {
        pub held: bool,
        pub reason: String,
        pub cases: Vec<String>,
    }

    /// One submission's hand grade.
    pub struct Hand {
        pub score: f64,
        pub scale: f64,
        /// Every handout rule.
        pub rules: BTreeMap<String, RuleGrade>,
        /// The rules beyond the handout the teacher saw broken (any other holds).
        pub beyond: BTreeMap<String, RuleGrade>,
    }

    impl Hand {
        /// The lost rule (handout or beyond) whose cases include `case`, if any.
        pub fn reason_for(&self, case: &str) -> Option<&str> {
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
        pub fn holds(&self, rule: &str) -> bool {
            self.rules
                .get(rule)
                .or_else(|| self.beyond.get(rule))
                .is_none_or(|g| g.held)
        }
    }

    /// One case of one run: verdict, points earned, points possible, first message.
    #[derive(Debug, Clone, PartialEq)]
    pub struct CaseResult {
        pub verdict: String,
        pub points: f64,
        pub max_points: f64,
        pub message: String,
        /// Every message, to see whether one says the server crashed.
        pub all: String,
    }

    /// One rule of one run: its status (`held`, `lost`, `not-graded`) and the cases that broke it.
    #[derive(Debug, Clone, PartialEq)]
    pub struct RuleOutcome {
        pub status: String,
        pub broken_by: Vec<String>,
    }

    /// One submission in one run.
    pub struct Graded {
        pub score: f64,
        pub max_score: f64,
        pub cases: BTreeMap<String, CaseResult>,
        pub rules: BTreeMap<String, RuleOutcome>,
    }

    impl Graded {
        /// The score as a fraction of the maximum.
        pub fn fraction(&self) -> f64 {
            self.score / self.max_score.max(f64::MIN_POSITIVE)
        }
    }

    pub fn rule_grades(
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

    /// Every submission's hand grade in `path` (a class's `hand_grades.json`).
    pub fn load_hand_grades(path: &Path) -> BTreeMap<String, Hand> {
        let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
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
                    beyond: rule_grades(&s["beyond"], name, |g| {
                        g["held"].as_bool().unwrap_or(true)
                    }),
                };
                (name.clone(), hand)
            })
            .collect()
    }

    /// The handout's rules, as the hand grades in `path` name them.
    pub fn handout_rules(path: &Path) -> Vec<String> {
        let v: Value = serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
        v["rules"].as_object().unwrap().keys().cloned().collect()
    }

    /// Waits for `child` until `timeout`; kills it (SIGTERM, then SIGKILL) if it is still running.
    /// Returns whether it finished in time.
    pub fn wait_bounded(child: &mut Child, timeout: Duration) -> bool {
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

    /// `harness grade CLASS cases --filter assignment/ --var keepalive=3 --jobs 4 --ready-timeout 60
    /// --out OUT`, as the class tests run it: the whole assignment corpus, from the repository's root.
    pub fn class_grade_command(class: &Path, out: &Path) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_harness"));
        c.arg("grade")
            .arg(class)
            .arg(repo_root().join("cases"))
            .args(["--filter", "assignment/"])
            .args(["--var", "keepalive=3", "--jobs", "4"])
            // How fast a Python server starts is not what these tests grade: at a load average of
            // about 150 (seen while this suite ran beside mutation tests), some did not listen
            // within the default 10 s, twice, and scored errors.
            .args(["--ready-timeout", "60", "--out"])
            .arg(out)
            .current_dir(repo_root())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        c
    }

    /// What one `harness grade` printed, and its exit code.
    pub struct GradeRun {
        pub code: Option<i32>,
        pub stdout: String,
        pub stderr: String,
    }

    /// Runs `cmd` (a `harness grade ... --out OUT`) with its output in `out`, for at most `timeout`
    /// (then SIGTERM, so that the harness stops every server it started; the test fails).
    pub fn run_grade(mut cmd: Command, out: &Path, timeout: Duration) -> GradeRun {
        fs::create_dir_all(out).unwrap();
        let (stdout, stderr) = (out.join("stdout.txt"), out.join("stderr.txt"));
        let mut child = cmd
            .stdout(fs::File::create(&stdout).unwrap())
            .stderr(fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("run harness grade");
        let in_time = wait_bounded(&mut child, timeout);
        let status = child.wait().unwrap();
        let read = |p: &Path| fs::read_to_string(p).unwrap_or_default();
        let run = GradeRun {
            code: status.code(),
            stdout: read(&stdout),
            stderr: read(&stderr),
        };
        assert!(
            in_time,
            "`harness grade` took more than {timeout:?}: {}{}",
            run.stdout, run.stderr
        );
        run
    }

    /// Each submission's `report.json` in `out`, read. The submissions are the class's folders
    /// (its README and hand grades are files).
    pub fn read_reports(class: &Path, out: &Path) -> BTreeMap<String, Graded> {
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

    pub fn parse_report(v: &Value) -> Graded {
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

    pub fn short(s: &str) -> String {
        let line = s.lines().next().unwrap_or("");
        match line.char_indices().nth(110) {
            Some((i, _)) => format!("{}…", &line[..i]),
            None => line.to_string(),
        }
    }

    /// A case's first message without its `line N: ` prefix, so that one cause reads the same in
    /// every case it shows in.
    pub fn cause(c: &CaseResult) -> String {
        let m = short(&c.message);
        let m = match m.split_once(": ") {
            Some((l, rest)) if l.starts_with("line ") => rest.to_string(),
            _ => m,
        };
        format!("{} \"{m}\"", c.verdict)
    }

    /// The points lost for no reason of the hand grade, grouped by cause: one line per cause, with
    /// the cases it hit (the first run that shows a case counts).
    pub fn unexplained_losses(hand: &Hand, graded: &[&Graded]) -> Vec<String> {
        let mut by_cause: BTreeMap<String, (f64, Vec<String>)> = BTreeMap::new();
        let mut seen = Vec::new();
        for (i, g) in graded.iter().enumerate() {
            for (id, c) in &g.cases {
                // A case that held its rule but earns nothing because another case of the same
                // rule broke it is explained by that case: only failed cases need a reason.
                let lost =
                    matches!(c.verdict.as_str(), "fail" | "error") && c.points < c.max_points;
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

    /// Up to four items, and how many more.
    pub fn list_some(items: &[String]) -> String {
        let mut list = items[..items.len().min(4)].join(", ");
        if items.len() > 4 {
            list.push_str(&format!(" and {} more", items.len() - 4));
        }
        list
    }

    /// The rules the harness holds or loses otherwise than the hand grade, one line each (per run
    /// where they differ): a handout rule costs points; a rule beyond the handout costs none but
    /// must be judged truly too.
    pub fn rule_mismatches(hand: &Hand, graded: &[&Graded]) -> Vec<String> {
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
}
