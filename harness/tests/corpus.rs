//! The assignment corpus (`cases/assignment/`) run at real servers:
//!
//! - the reference server (the `server` crate, in-process): every case must pass;
//! - each deliberately flawed server of `tests/flawed/flawed.py`: exactly the cases its flaw
//!   breaks must fail (or be non-strict), and every other case must pass. `--flaw none` is a
//!   correct server written differently from the reference one: it must pass everything.
//!
//! `config: broken` cases need a server started with a broken ws.conf; they are skipped here,
//! as with `--target`, except in [`reference_server_with_broken_config`]. Cases whose
//! `requires:` the test ws.conf does not meet are skipped too; no other case may be.
//!
//! Every server serves a fresh copy of `www/` with `secret.html` planted beside it, as
//! `--start` lays it out, so the traversal cases run.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use harness::case::Case;
use harness::declared::{Declared, SECRET, SECRET_FILE};
use harness::exec::{run_cases, skipped, RunOptions, Target};
use harness::outcome::Verdict::{Fail, NonStrict, Pass};
use harness::outcome::{CaseResult, Verdict};
use rstest::rstest;

/// KeepaliveTime of every server here, and `{keepalive}` of the cases: the smallest that keeps
/// the cases' 2s response windows 1s clear of the keep-alive timer.
const KEEPALIVE: u32 = 3;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn www() -> PathBuf {
    repo().join("www")
}

/// A fresh copy of the site at `DIR/www`, with the secret planted at `DIR/secret.html`.
fn site() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("www");
    copy_dir(&www(), &root);
    let secret = format!("<html><body>{SECRET}</body></html>\n");
    std::fs::write(dir.path().join(SECRET_FILE), secret).expect("plant the secret");
    // Beside the root, as in the handout's layout, for robustness/traversal-ws-conf.
    std::fs::write(dir.path().join("ws.conf"), ws_conf(&root, false)).expect("write ws.conf");
    (dir, root)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the site copy");
    for entry in std::fs::read_dir(from).expect("read www/") {
        let entry = entry.expect("a www/ entry");
        let dest = to.join(entry.file_name());
        if entry.file_type().expect("a file type").is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), &dest).expect("copy a site file");
        }
    }
}

/// What the test servers' ws.conf declares.
fn declared() -> Declared {
    Declared::parse(&ws_conf(Path::new("/www"), false), "the test ws.conf")
}

/// The corpus; ids are relative to `cases/assignment` (`get/css`, `keepalive/idle-close`).
fn corpus() -> Vec<Case> {
    let dir = repo().join("cases/assignment");
    match harness::case::load(std::slice::from_ref(&dir)) {
        Ok(cases) => {
            assert!(
                cases.len() >= 30,
                "only {} cases under {}",
                cases.len(),
                dir.display()
            );
            cases
        }
        Err(e) => panic!("the corpus does not load:\n{e}"),
    }
}

/// Runs the corpus at `127.0.0.1:port`, serving `root`; cases needing a configuration other
/// than `default` are skipped unless `config` names it. Results by case id.
fn run_corpus(port: u16, root: &Path, jobs: usize, config: &str) -> BTreeMap<String, CaseResult> {
    let cases = corpus();
    let mut vars = BTreeMap::new();
    vars.insert("host".to_string(), "127.0.0.1".to_string());
    vars.insert("port".to_string(), port.to_string());
    vars.insert("keepalive".to_string(), KEEPALIVE.to_string());
    vars.insert("planted".to_string(), "yes".to_string());
    let opts = RunOptions {
        target: Target {
            host: "127.0.0.1".to_string(),
            port,
        },
        vars,
        www: root.to_path_buf(),
        strict: false,
        lenient: true,
        declared: declared(),
        jobs,
        max_response_bytes: 8 << 20,
        connect_timeout: Duration::from_secs(3),
    };
    let (run, skip): (Vec<Case>, Vec<Case>) = cases.into_iter().partition(|c| c.config == config);
    let started = Instant::now();
    let mut results = run_cases(&run, &opts, &|_, _| {});
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(60),
        "the corpus took {took:?} (limit 60s)"
    );
    results.extend(
        skip.iter()
            .map(|c| skipped(c, &format!("needs config `{}`", c.config))),
    );
    results.into_iter().map(|r| (r.id.clone(), r)).collect()
}

/// Asserts each case's verdict: those listed in `expected` as listed, the others `others` (or
/// `skip`, for cases that need another configuration). Prints the table (seen with --nocapture).
fn check(
    server: &str,
    config: &str,
    results: &BTreeMap<String, CaseResult>,
    others: Verdict,
    expected: &[(&str, Verdict)],
) {
    let expected: BTreeMap<&str, Verdict> = expected.iter().copied().collect();
    for id in expected.keys() {
        assert!(
            results.contains_key(*id),
            "{server}: no case `{id}` in the corpus"
        );
    }
    let skips = expected_skips(config);
    let mut wrong = Vec::new();
    for (id, r) in results {
        let want = match expected.get(id.as_str()) {
            Some(v) => *v,
            None if skips.contains(id) => Verdict::Skip,
            None => others,
        };
        if r.verdict != want {
            wrong.push(format!(
                "--- {id}: expected {want}, got {}\n{}\n{}",
                r.verdict,
                r.messages.join("\n"),
                r.transcript.to_text()
            ));
        }
    }
    let table: Vec<String> = results
        .iter()
        .map(|(id, r)| {
            format!(
                "{:<11} {:>6.2}s  {id}",
                r.verdict.as_str(),
                r.duration.as_secs_f64()
            )
        })
        .collect();
    println!("{server}:\n{}", table.join("\n"));
    assert!(
        wrong.is_empty(),
        "{server}: {} case(s) not as expected:\n{}\n\nall verdicts:\n{}",
        wrong.len(),
        wrong.join("\n"),
        table.join("\n")
    );
}

/// The cases that must skip: they need a `config:` other than the default, or the test
/// ws.conf does not meet their `requires:` (HEAD is supported, so `errors/head-not-supported`).
fn expected_skips(config: &str) -> Vec<String> {
    let d = declared();
    corpus()
        .into_iter()
        .filter(|c| c.config != config || c.requires.iter().any(|r| d.unmet(r, true).is_some()))
        .map(|c| c.id)
        .collect()
}

#[test]
fn only_the_expected_cases_skip() {
    let mut skips = expected_skips("default");
    skips.sort();
    assert_eq!(skips, vec!["config/broken", "errors/head-not-supported"]);
}

/// A ws.conf in the handout's layout, serving `root`.
fn ws_conf(root: &Path, broken: bool) -> String {
    let html = if broken {
        ".html\n"
    } else {
        ".html text/html\n"
    };
    format!(
        "# ws.conf for tests/corpus.rs\nListen 8888\nDocumentRoot \"{}\"\nDirectoryIndex index.html index.htm\n\
         {html}.htm text/html\n.txt text/plain\n.css text/css\n.js application/javascript\n\
         .json application/json\n.png image/png\n.gif image/gif\n.jpg image/jpeg\n.jpeg image/jpeg\n\
         .ico image/x-icon\n.pdf application/pdf\n.bin application/octet-stream\n\
         KeepaliveTime {KEEPALIVE}\nRequestMethodSupport GET HEAD\n",
        root.display()
    )
}

fn start_reference(broken: bool) -> (server::Server, tempfile::TempDir, PathBuf) {
    let (dir, root) = site();
    let config = dir.path().join("ws.conf");
    std::fs::write(&config, ws_conf(&root, broken)).expect("write ws.conf");
    let server = server::Server::start(server::ServerOptions {
        config,
        listen: Some("127.0.0.1:0".into()),
        max_connections: 512,
        access_log: false,
    })
    .expect("the reference server starts");
    (server, dir, root)
}

#[test]
fn reference_server_passes_every_case() {
    let (server, _dir, root) = start_reference(false);
    let port = server.local_addr().port();
    let results = run_corpus(port, &root, 8, "default");
    server.shutdown();
    check("reference server", "default", &results, Verdict::Pass, &[]);
}

#[test]
fn reference_server_with_broken_config() {
    let (server, _dir, root) = start_reference(true);
    let port = server.local_addr().port();
    let results = run_corpus(port, &root, 8, "broken");
    server.shutdown();
    let broken: BTreeMap<String, CaseResult> = results
        .into_iter()
        .filter(|(_, r)| r.verdict != Verdict::Skip)
        .collect();
    assert!(
        broken.contains_key("config/broken"),
        "config/broken did not run"
    );
    check(
        "reference server, broken ws.conf",
        "broken",
        &broken,
        Verdict::Pass,
        &[],
    );
}

/// A flawed server, killed when dropped (SIGTERM, then SIGKILL if it lingers).
struct Flawed {
    child: Child,
    port: u16,
    root: PathBuf,
    _site: tempfile::TempDir,
}

impl Flawed {
    fn spawn(flaw: &str) -> Flawed {
        let (site, root) = site();
        let script = repo().join("harness/tests/flawed/flawed.py");
        let child = Command::new("python3")
            .arg(&script)
            .args([
                "--flaw",
                flaw,
                "--keepalive",
                &KEEPALIVE.to_string(),
                "--port",
                "0",
                "--root",
            ])
            .arg(&root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs tests/flawed/flawed.py");
        let mut server = Flawed {
            child,
            port: 0,
            root,
            _site: site,
        };
        let stdout = server.child.stdout.take().expect("piped stdout");
        let line = first_line_within(stdout, Duration::from_secs(10))
            .unwrap_or_else(|| panic!("flawed.py --flaw {flaw} printed nothing within 10s"));
        server.port = line
            .trim()
            .strip_prefix("listening on 127.0.0.1:")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| {
                panic!(
                    "flawed.py --flaw {flaw} printed {line:?}, not `listening on 127.0.0.1:PORT`"
                )
            });
        server
    }
}

impl Drop for Flawed {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child's pid, which we have not reaped yet.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !std::thread::panicking() {
            panic!("flawed.py did not exit within 3s of SIGTERM");
        }
    }
}

/// The first line `out` prints, read on a thread so that a silent server cannot hang the test.
fn first_line_within(out: std::process::ChildStdout, limit: Duration) -> Option<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(out).read_line(&mut line);
        let _ = tx.send(line);
    });
    rx.recv_timeout(limit).ok().filter(|l| !l.is_empty())
}

/// For each flaw: the verdict of the cases not listed, and the cases its mistake breaks.
fn expectations(flaw: &str) -> (Verdict, Vec<(&'static str, Verdict)>) {
    let v = match flaw {
        "none" => vec![],
        "single-threaded" => vec![
            ("concurrency/silent-client", Fail),
            ("concurrency/idle-half-request", Fail),
            ("concurrency/idle-keepalive", Fail),
            ("concurrency/many-clients", Fail),
        ],
        "never-closes" => vec![
            ("keepalive/idle-close", Fail),
            ("keepalive/connection-close", Fail),
            ("keepalive/connection-close-lowercase", Fail),
            ("keepalive/http10-close", Fail),
            ("keepalive/no-connection-header", Fail),
        ],
        "closes-always" => vec![
            ("keepalive/reuse", Fail),
            ("keepalive/timer-restarts", Fail),
            ("keepalive/idle-close", Fail),
            ("keepalive/response-header", Fail),
        ],
        "accepts-http2" => vec![("errors/assignment-http21", Fail)],
        "missing-is-200" => vec![
            ("errors/not-found", Fail),
            ("errors/not-found-folder", Fail),
        ],
        "no-bare-lf" => vec![
            ("errors/assignment-http21", Fail),
            ("errors/assignment-grt", Fail),
            ("errors/assignment-post", Fail),
            ("robustness/lf-terminated-head", Fail),
        ],
        "short-body" => vec![("get/big-file", Fail)],
        "leaks-dotdot" => vec![
            ("robustness/traversal-dotdot", Fail),
            ("robustness/traversal-encoded", Fail),
            // Its ws.conf is reached, but `.conf` is not a mapped type: 501, nothing leaks.
            ("robustness/traversal-ws-conf", NonStrict),
        ],
        // Bare-LF line ends are one habit: graded once, by its form case; elsewhere the rule
        // held, and the non-strict verdict earns its points.
        "lf-only" => return (NonStrict, vec![("form/line-ends", Fail)]),
        // No Content-Length, and every response says "Connection: close" and ends at the close:
        // valid HTTP (RFC 9112 §6.3), so only the form case and the rules that need the
        // connection kept open are lost.
        "no-content-length" => vec![
            ("form/content-length", Fail),
            ("form/error-page", Fail),
            // `non-strict header Content-Length`: the assignment asks for it, HTTP does not.
            ("head/index", NonStrict),
            ("keepalive/reuse", Fail),
            ("keepalive/timer-restarts", Fail),
            ("keepalive/idle-close", Fail),
            ("keepalive/response-header", Fail),
        ],
        other => panic!("no expectations for flaw `{other}`"),
    };
    (Pass, v)
}

#[rstest]
#[case::none("none")]
#[case::single_threaded("single-threaded")]
#[case::never_closes("never-closes")]
#[case::closes_always("closes-always")]
#[case::accepts_http2("accepts-http2")]
#[case::missing_is_200("missing-is-200")]
#[case::no_bare_lf("no-bare-lf")]
#[case::short_body("short-body")]
#[case::leaks_dotdot("leaks-dotdot")]
#[case::lf_only("lf-only")]
#[case::no_content_length("no-content-length")]
fn flawed_server(#[case] flaw: &str) {
    let server = Flawed::spawn(flaw);
    // One connection at a time: parallel cases would only queue behind each other.
    let jobs = if flaw == "single-threaded" { 1 } else { 8 };
    let results = run_corpus(server.port, &server.root, jobs, "default");
    let (others, expected) = expectations(flaw);
    check(
        &format!("flawed.py --flaw {flaw}"),
        "default",
        &results,
        others,
        &expected,
    );
    drop(server);
}
