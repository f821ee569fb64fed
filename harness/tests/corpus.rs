//! The assignment corpus (`cases/assignment/`) run at real servers:
//!
//! - the reference server (the `server` crate, in-process): every case must pass;
//! - each deliberately flawed server of `tests/flawed/flawed.py`: exactly the cases its flaw
//!   breaks must fail (or be non-strict), and every other case must pass. `--flaw none` is a
//!   correct server written differently from the reference one: it must pass everything.
//!   Each flaw's table is asserted exactly, so a flaw that also fails an unrelated case fails
//!   its test ("one defect, one deduction"), and [`every_case_is_failed_by_some_flaw`] proves
//!   that no case passes whatever the server does. A run `FLAW@no-head` gives the server (and
//!   the cases) a ws.conf without HEAD; `FLAW@broken` a broken ws.conf.
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
    std::fs::write(dir.path().join("ws.conf"), ws_conf(&root, Conf::Default))
        .expect("write ws.conf");
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
fn declared(conf: Conf) -> Declared {
    Declared::parse(&ws_conf(Path::new("/www"), conf), "the test ws.conf")
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

/// The options of a run at `127.0.0.1:port`, serving `root`, with the ws.conf `conf`.
fn options(port: u16, root: &Path, jobs: usize, conf: Conf) -> RunOptions {
    let mut vars = BTreeMap::new();
    vars.insert("host".to_string(), "127.0.0.1".to_string());
    vars.insert("port".to_string(), port.to_string());
    vars.insert("keepalive".to_string(), KEEPALIVE.to_string());
    vars.insert("planted".to_string(), "yes".to_string());
    RunOptions {
        target: Target {
            host: "127.0.0.1".to_string(),
            port,
        },
        vars,
        www: root.to_path_buf(),
        strict: false,
        lenient: true,
        declared: declared(conf),
        jobs,
        max_response_bytes: 8 << 20,
        connect_timeout: Duration::from_secs(3),
    }
}

/// Runs one case of the corpus alone (to confirm a verdict that differs from the table).
fn run_one(port: u16, root: &Path, conf: Conf, id: &str) -> CaseResult {
    let case = corpus()
        .into_iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no case `{id}`"));
    let mut r = run_cases(&[case], &options(port, root, 1, conf), &|_, _| {});
    r.pop().expect("one result")
}

/// Runs the corpus at `127.0.0.1:port`, serving `root`; cases needing a configuration other
/// than `default` are skipped unless `config` names it. Results by case id.
fn run_corpus(port: u16, root: &Path, jobs: usize, conf: Conf) -> BTreeMap<String, CaseResult> {
    let config = conf.config();
    let cases = corpus();
    let opts = options(port, root, jobs, conf);
    let total = cases.len();
    let (run, skip): (Vec<Case>, Vec<Case>) = cases.into_iter().partition(|c| c.config == config);
    let started = Instant::now();
    let mut results = run_cases(&run, &opts, &|_, _| {});
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(120),
        "the corpus took {took:?} (limit 120s)"
    );
    assert_eq!(results.len(), run.len(), "one result per case run");
    results.extend(
        skip.iter()
            .map(|c| skipped(c, &format!("needs config `{}`", c.config))),
    );
    let by_id: BTreeMap<String, CaseResult> =
        results.into_iter().map(|r| (r.id.clone(), r)).collect();
    assert_eq!(
        by_id.len(),
        total,
        "every case of the corpus has one result"
    );
    by_id
}

/// Asserts each case's verdict: those listed in `expected` as listed, the others `others` (or
/// `skip`, for cases that need another configuration). Prints the table (seen with --nocapture).
///
/// A verdict that differs is first confirmed: the case is run again alone, at most twice, with
/// `again`, and the verdict of that run stands. A flaw that breaks an unrelated case breaks it
/// alone too, so this forgives only a run that a loaded machine slowed past a window.
fn check(
    server: &str,
    conf: Conf,
    results: &BTreeMap<String, CaseResult>,
    others: Verdict,
    expected: &[(&str, Verdict)],
    again: &dyn Fn(&str) -> CaseResult,
) {
    let mut results = results.clone();
    let expected: BTreeMap<&str, Verdict> = expected.iter().copied().collect();
    for id in expected.keys() {
        assert!(
            results.contains_key(*id),
            "{server}: no case `{id}` in the corpus"
        );
    }
    let skips = expected_skips(conf);
    let mut wrong = Vec::new();
    for (id, r) in results.iter_mut() {
        let want = match expected.get(id.as_str()) {
            Some(v) => *v,
            None if skips.contains(id) => Verdict::Skip,
            None => others,
        };
        for _ in 0..2 {
            if r.verdict == want {
                break;
            }
            println!(
                "{server}: {id} gave {}, expected {want}: run again alone",
                r.verdict
            );
            *r = again(id);
        }
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
fn expected_skips(conf: Conf) -> Vec<String> {
    let d = declared(conf);
    corpus()
        .into_iter()
        .filter(|c| {
            c.config != conf.config() || c.requires.iter().any(|r| d.unmet(r, true).is_some())
        })
        .map(|c| c.id)
        .collect()
}

#[test]
fn only_the_expected_cases_skip() {
    let mut skips = expected_skips(Conf::Default);
    skips.sort();
    assert_eq!(skips, vec!["config/broken", "errors/head-not-supported"]);
    let mut skips = expected_skips(Conf::NoHead);
    skips.sort();
    assert_eq!(skips, vec!["config/broken", "head/index", "head/then-get"]);
    let all = corpus().len();
    let mut skips = expected_skips(Conf::Broken);
    skips.sort();
    assert_eq!(
        skips.len(),
        all - 1,
        "only config/broken runs with a broken ws.conf"
    );
    assert!(!skips.contains(&"config/broken".to_string()));
}

/// The ws.conf a server runs with: the test's own, one that leaves HEAD out of
/// RequestMethodSupport, or a broken one (a type line with no type).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Conf {
    Default,
    NoHead,
    Broken,
}

impl Conf {
    /// The `config:` of the cases run with it.
    fn config(self) -> &'static str {
        match self {
            Conf::Broken => "broken",
            _ => "default",
        }
    }
}

/// A ws.conf in the handout's layout, serving `root`.
fn ws_conf(root: &Path, conf: Conf) -> String {
    let html = if conf == Conf::Broken {
        ".html\n"
    } else {
        ".html text/html\n"
    };
    let methods = if conf == Conf::NoHead {
        "GET"
    } else {
        "GET HEAD"
    };
    format!(
        "# ws.conf for tests/corpus.rs\nListen 8888\nDocumentRoot \"{}\"\nDirectoryIndex index.html index.htm\n\
         {html}.htm text/html\n.txt text/plain\n.css text/css\n.js application/javascript\n\
         .json application/json\n.png image/png\n.gif image/gif\n.jpg image/jpeg\n.jpeg image/jpeg\n\
         .ico image/x-icon\n.pdf application/pdf\n.bin application/octet-stream\n\
         KeepaliveTime {KEEPALIVE}\nRequestMethodSupport {methods}\n",
        root.display()
    )
}

fn start_reference(conf: Conf) -> (server::Server, tempfile::TempDir, PathBuf) {
    let (dir, root) = site();
    let config = dir.path().join("ws.conf");
    std::fs::write(&config, ws_conf(&root, conf)).expect("write ws.conf");
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
    let (server, _dir, root) = start_reference(Conf::Default);
    let port = server.local_addr().port();
    let results = run_corpus(port, &root, 8, Conf::Default);
    check(
        "reference server",
        Conf::Default,
        &results,
        Verdict::Pass,
        &[],
        &|id: &str| run_one(port, &root, Conf::Default, id),
    );
    server.shutdown();
}

#[test]
fn reference_server_with_broken_config() {
    let (server, _dir, root) = start_reference(Conf::Broken);
    let port = server.local_addr().port();
    let results = run_corpus(port, &root, 8, Conf::Broken);
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
        Conf::Broken,
        &broken,
        Verdict::Pass,
        &[],
        &|id: &str| run_one(port, &root, Conf::Broken, id),
    );
    server.shutdown();
}

/// The RFC corpus (`cases/rfc9112`, `cases/rfc9110`: the cases tagged `rfc`); ids are relative
/// to `cases/` (`rfc9112/chunked/...`).
fn rfc_corpus() -> Vec<Case> {
    let dir = repo().join("cases");
    let cases = harness::case::load(std::slice::from_ref(&dir))
        .unwrap_or_else(|e| panic!("the cases do not load:\n{e}"));
    let rfc: Vec<Case> = cases
        .into_iter()
        .filter(|c| c.tags.iter().any(|t| t == "rfc"))
        .collect();
    assert!(rfc.len() >= 300, "only {} rfc cases", rfc.len());
    rfc
}

/// The RFC cases the reference server answers otherwise than the case prefers: the SHOULDs it
/// does not follow (a warning, `non-strict`) and the MAYs whose allowed alternative it chose
/// (informational, `skip`); it fails no MUST. Each is explained in `docs/matrix.md`.
const REFERENCE_RFC_DEVIATIONS: &[(&str, Verdict)] = &[
    ("rfc9110/conditional/ims-future", NonStrict),
    ("rfc9110/response-fields/last-modified-format", NonStrict),
    ("rfc9110/methods/unknown-brew", NonStrict),
    ("rfc9110/methods/unknown-foo", NonStrict),
    ("rfc9110/methods/unknown-http10", NonStrict),
    ("rfc9110/methods/unknown-propfindx", NonStrict),
    ("rfc9110/methods/unknown-queryx", NonStrict),
    ("rfc9112/persistence/after-404", NonStrict),
    ("rfc9112/persistence/after-head", NonStrict),
    ("rfc9112/persistence/http11-open-idle", NonStrict),
    ("rfc9112/persistence/http11-persists", NonStrict),
    ("rfc9112/persistence/keepalive-then-close", NonStrict),
    ("rfc9112/persistence/pipeline-all-answered", NonStrict),
    ("rfc9112/request-line/fragment-in-target", NonStrict),
    ("rfc9112/request-line/method-case-sensitive", NonStrict),
    ("rfc9112/request-line/method-token-chars", NonStrict),
    ("rfc9112/version/http12-as-11", NonStrict),
    ("rfc9112/version/http19-as-11", NonStrict),
    ("rfc9110/conditional/range-honoured", Verdict::Skip),
    ("rfc9110/expect/unknown-expectation", Verdict::Skip),
    ("rfc9112/chunked/length-required", Verdict::Skip),
    ("rfc9112/chunked/lf-line-ends", Verdict::Skip),
    (
        "rfc9112/request-line/double-space-after-method-accepted",
        Verdict::Skip,
    ),
    ("rfc9112/request-line/tab-separator-accepted", Verdict::Skip),
    ("rfc9112/target/asterisk-options-supported", Verdict::Skip),
];

/// The reference server at the whole RFC corpus: every case that does not pass is one of
/// [`REFERENCE_RFC_DEVIATIONS`], with that verdict (what `make rfc` and
/// `docs/matrix.md` show). This is what proves, in CI, the server's limits, header syntax,
/// framing and method handling that the assignment corpus does not ask about.
#[test]
fn reference_server_at_the_rfc_corpus() {
    let (server, _dir, root) = start_reference(Conf::Default);
    let port = server.local_addr().port();
    let cases = rfc_corpus();
    let opts = options(port, &root, 8, Conf::Default);
    let results = run_cases(&cases, &opts, &|_, _| {});
    assert_eq!(results.len(), cases.len(), "one result per RFC case");
    let results: BTreeMap<String, CaseResult> =
        results.into_iter().map(|r| (r.id.clone(), r)).collect();
    let again = |id: &str| {
        let case = cases.iter().find(|c| c.id == id).expect("an RFC case");
        let mut r = run_cases(
            std::slice::from_ref(case),
            &options(port, &root, 1, Conf::Default),
            &|_, _| {},
        );
        r.pop().expect("one result")
    };
    check(
        "reference server, RFC corpus",
        Conf::Default,
        &results,
        Verdict::Pass,
        REFERENCE_RFC_DEVIATIONS,
        &again,
    );
    server.shutdown();
}

/// A flawed server, killed when dropped (SIGTERM, then SIGKILL if it lingers 10s).
struct Flawed {
    child: Child,
    port: u16,
    root: PathBuf,
    _site: tempfile::TempDir,
}

impl Flawed {
    fn spawn(flaw: &str, conf: Conf) -> Flawed {
        let (site, root) = site();
        let ws = site.path().join("ws.conf");
        std::fs::write(&ws, ws_conf(&root, conf)).expect("write ws.conf");
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
            .arg("--conf")
            .arg(&ws)
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
        let line = first_line_within(stdout, Duration::from_secs(30))
            .unwrap_or_else(|| panic!("flawed.py --flaw {flaw} printed nothing within 30s"));
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
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !std::thread::panicking() {
            panic!("flawed.py did not exit within 10s of SIGTERM");
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

/// What one run of the corpus at a flawed server must give.
struct Expect {
    /// The ws.conf the server runs with (and the cases follow).
    conf: Conf,
    /// The verdict of every case not listed (and not skipped).
    others: Verdict,
    /// The cases its mistake breaks, with their verdicts.
    cases: Vec<(&'static str, Verdict)>,
}

fn fails(ids: &[&'static str]) -> Vec<(&'static str, Verdict)> {
    ids.iter().map(|id| (*id, Fail)).collect()
}

/// For each run (`FLAW` or `FLAW@conf`): what it must give. Exact: a flaw that fails one case
/// more or less than listed fails its test, so each table is the proof that one mistake costs
/// the points of its own rule and nothing else.
fn expectations(run: &str) -> Expect {
    let (_, conf) = match run.split_once('@') {
        Some((f, "no-head")) => (f, Conf::NoHead),
        Some((f, "broken")) => (f, Conf::Broken),
        Some((_, other)) => panic!("no ws.conf variant `{other}`"),
        None => (run, Conf::Default),
    };
    let mut others = Pass;
    let cases = match run {
        "none" | "none@no-head" | "none@broken" => vec![],
        "single-threaded" => fails(&[
            "concurrency/silent-client",
            "concurrency/idle-half-request",
            "concurrency/idle-keepalive",
            "concurrency/many-clients",
        ]),
        "first-recv-in-accept" => fails(&["concurrency/silent-client"]),
        "never-closes" => fails(&[
            "keepalive/idle-close",
            "keepalive/connection-close",
            "keepalive/connection-close-lowercase",
            "keepalive/http10-close",
            "keepalive/no-connection-header",
        ]),
        // head/then-get and robustness/pipelined accept a close instead of the next answer
        // (`or closed`): keep-alive is not their rule.
        "closes-always" => fails(&[
            "keepalive/reuse",
            "keepalive/timer-restarts",
            "keepalive/idle-close",
            "keepalive/response-header",
        ]),
        "timer-from-start" => fails(&["keepalive/timer-restarts"]),
        "no-keepalive-header" => fails(&["keepalive/response-header"]),
        "close-case-sensitive" => fails(&["keepalive/connection-close-lowercase"]),
        "http10-keeps" => fails(&["keepalive/http10-close"]),
        "accepts-http2" => fails(&["errors/assignment-http21"]),
        "any-version-1x" => fails(&["errors/invalid-version"]),
        "unknown-method-501" => fails(&["errors/assignment-grt", "errors/invalid-method"]),
        "any-method-200" => fails(&[
            "errors/assignment-post",
            "errors/delete-method",
            "errors/put-method",
        ]),
        "head-when-unsupported@no-head" => fails(&["errors/head-not-supported"]),
        "url-no-slash" => fails(&["errors/invalid-url"]),
        // form/error-page grades the form of whatever answers a missing page, not its status.
        "missing-is-200" => fails(&["errors/not-found", "errors/not-found-folder"]),
        "unmapped-200" => fails(&["errors/unmapped-extension"]),
        // Every case that checks the type of an .html page: HEAD must give GET's type.
        // A wrong type is the `get` rule's: the index and HEAD cases only note it (non-strict).
        "html-as-plain" => vec![
            ("get/index-html", Fail),
            ("get/big-file", Fail),
            ("get/directory-index", NonStrict),
            ("get/subfolder-index", NonStrict),
            ("head/index", NonStrict),
            ("head/then-get", NonStrict),
        ],
        "octet-stream" => fails(&[
            "get/css", "get/gif", "get/ico", "get/jpg", "get/js", "get/json", "get/png", "get/txt",
        ]),
        "jpg-type" => fails(&["get/jpg"]),
        "strlen-body" => fails(&["get/gif", "get/ico", "get/jpg", "get/png"]),
        "short-body" => fails(&["get/big-file"]),
        "no-directory-index" => fails(&[
            "get/directory-index",
            "get/subfolder-index",
            "get/directory-index-htm",
        ]),
        "only-index-html" => fails(&["get/directory-index-htm"]),
        "head-body" => fails(&["head/index", "head/then-get"]),
        "no-bare-lf" => fails(&[
            "errors/assignment-http21",
            "errors/assignment-grt",
            "errors/assignment-post",
            "robustness/lf-terminated-head",
        ]),
        "lf-head-at-timeout" => fails(&["robustness/lf-terminated-head"]),
        "first-recv-line" => fails(&["robustness/split-packets", "robustness/split-sends"]),
        "answers-early" => fails(&["robustness/split-sends"]),
        "drops-pipelined" => fails(&["robustness/pipelined"]),
        "leaks-dotdot" => vec![
            ("robustness/traversal-dotdot", Fail),
            ("robustness/traversal-encoded", Fail),
            // Its ws.conf is reached, but `.conf` is not a mapped type: 501, nothing leaks.
            ("robustness/traversal-ws-conf", NonStrict),
        ],
        "leaks-encoded" => fails(&["robustness/traversal-encoded"]),
        "leaks-config" => fails(&[
            "robustness/traversal-dotdot",
            "robustness/traversal-encoded",
            "robustness/traversal-ws-conf",
        ]),
        // A habit of form is graded once, by its form case; elsewhere the rule held, and the
        // non-strict verdict earns its points.
        "lf-only" => {
            others = NonStrict;
            fails(&["form/line-ends"])
        }
        "no-reason" => {
            others = NonStrict;
            fails(&["form/reason"])
        }
        // Only 200 responses with a body are padded, and a 1 MiB file needs no padding.
        "pads-files" => {
            others = NonStrict;
            let mut v = fails(&["form/nothing-after-body"]);
            v.extend(
                [
                    "errors/assignment-grt",
                    "errors/assignment-http21",
                    "errors/assignment-post",
                    "errors/delete-method",
                    "errors/invalid-method",
                    "errors/invalid-url",
                    "errors/invalid-version",
                    "errors/not-found",
                    "errors/not-found-folder",
                    "errors/put-method",
                    "errors/unmapped-extension",
                    "form/error-page",
                    "get/big-file",
                    "head/index",
                    "robustness/traversal-dotdot",
                    "robustness/traversal-encoded",
                    "robustness/traversal-ws-conf",
                ]
                .map(|id| (id, Pass)),
            );
            v
        }
        "error-no-length" => fails(&["form/error-page"]),
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
        "ignores-broken-config@broken" => fails(&["config/broken"]),
        other => panic!("no expectations for `{other}`"),
    };
    Expect {
        conf,
        others,
        cases,
    }
}

/// Runs the corpus at `flawed.py --flaw FLAW` (with the ws.conf `@variant`, if any) and
/// asserts its table.
fn flawed_server(run: &str) {
    let flaw = run.split('@').next().expect("a flaw name");
    let expect = expectations(run);
    let server = Flawed::spawn(flaw, expect.conf);
    // One connection at a time (or an accept loop that a silent client blocks): parallel cases
    // would only queue behind each other, and no runner retries them here.
    let jobs = match flaw {
        "single-threaded" | "first-recv-in-accept" => 1,
        _ => 8,
    };
    let results = run_corpus(server.port, &server.root, jobs, expect.conf);
    let results: BTreeMap<String, CaseResult> = if expect.conf == Conf::Broken {
        results
            .into_iter()
            .filter(|(_, r)| r.verdict != Verdict::Skip)
            .collect()
    } else {
        results
    };
    check(
        &format!("flawed.py --flaw {run}"),
        expect.conf,
        &results,
        expect.others,
        &expect.cases,
        &|id: &str| run_one(server.port, &server.root, expect.conf, id),
    );
    drop(server);
}

/// One test per run of the flawed server, and `RUNS`, the list of them.
macro_rules! flawed_runs {
    ($($name:ident => $run:literal,)*) => {
        const RUNS: &[&str] = &[$($run),*];
        $(
            #[test]
            fn $name() {
                flawed_server($run);
            }
        )*
    };
}

flawed_runs! {
    flawed_none => "none",
    flawed_none_no_head => "none@no-head",
    flawed_none_broken => "none@broken",
    flawed_single_threaded => "single-threaded",
    flawed_first_recv_in_accept => "first-recv-in-accept",
    flawed_never_closes => "never-closes",
    flawed_closes_always => "closes-always",
    flawed_timer_from_start => "timer-from-start",
    flawed_no_keepalive_header => "no-keepalive-header",
    flawed_close_case_sensitive => "close-case-sensitive",
    flawed_http10_keeps => "http10-keeps",
    flawed_accepts_http2 => "accepts-http2",
    flawed_any_version_1x => "any-version-1x",
    flawed_unknown_method_501 => "unknown-method-501",
    flawed_any_method_200 => "any-method-200",
    flawed_head_when_unsupported => "head-when-unsupported@no-head",
    flawed_url_no_slash => "url-no-slash",
    flawed_missing_is_200 => "missing-is-200",
    flawed_unmapped_200 => "unmapped-200",
    flawed_html_as_plain => "html-as-plain",
    flawed_octet_stream => "octet-stream",
    flawed_jpg_type => "jpg-type",
    flawed_strlen_body => "strlen-body",
    flawed_short_body => "short-body",
    flawed_no_directory_index => "no-directory-index",
    flawed_only_index_html => "only-index-html",
    flawed_head_body => "head-body",
    flawed_no_bare_lf => "no-bare-lf",
    flawed_lf_head_at_timeout => "lf-head-at-timeout",
    flawed_first_recv_line => "first-recv-line",
    flawed_answers_early => "answers-early",
    flawed_drops_pipelined => "drops-pipelined",
    flawed_leaks_dotdot => "leaks-dotdot",
    flawed_leaks_encoded => "leaks-encoded",
    flawed_leaks_config => "leaks-config",
    flawed_lf_only => "lf-only",
    flawed_no_reason => "no-reason",
    flawed_pads_files => "pads-files",
    flawed_error_no_length => "error-no-length",
    flawed_no_content_length => "no-content-length",
    flawed_ignores_broken_config => "ignores-broken-config@broken",
}

/// Every case of the corpus is failed by at least one flaw (and a flaw that fails nothing would
/// prove nothing); every flaw of flawed.py is run.
#[test]
fn every_case_is_failed_by_some_flaw() {
    let mut failed_by: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for run in RUNS {
        let e = expectations(run);
        let own: Vec<&str> = e
            .cases
            .iter()
            .filter(|(_, v)| *v == Fail)
            .map(|(id, _)| *id)
            .collect();
        assert!(
            run.starts_with("none") || !own.is_empty(),
            "flaw `{run}` fails no case"
        );
        for id in own {
            failed_by.entry(id.to_string()).or_default().push(run);
        }
    }
    let never: Vec<String> = corpus()
        .into_iter()
        .map(|c| c.id)
        .filter(|id| !failed_by.contains_key(id))
        .collect();
    assert!(never.is_empty(), "no flaw fails these cases: {never:?}");
    let out = Command::new("python3")
        .arg(repo().join("harness/tests/flawed/flawed.py"))
        .arg("--help")
        .output()
        .expect("python3 runs flawed.py --help");
    let help = String::from_utf8_lossy(&out.stdout);
    let listed: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("flaws:"))
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let mut ran: Vec<&str> = RUNS.iter().map(|r| r.split('@').next().unwrap()).collect();
    ran.sort();
    ran.dedup();
    let mut listed_sorted = listed.clone();
    listed_sorted.sort();
    assert_eq!(
        ran, listed_sorted,
        "every flaw of flawed.py is run, and only those"
    );
}

/// Graded by rules (`rule:`, the default scoring), a flaw loses every rule one of its failed
/// cases belongs to. This table is that loss, asserted exactly: most flaws lose one rule; the
/// rows with more are the double deductions docs/testing.md discusses.
#[test]
fn rules_lost_by_each_flaw() {
    let rule_of: BTreeMap<String, String> = corpus()
        .into_iter()
        .map(|c| (c.id, c.rule.unwrap_or_else(|| "(none)".into())))
        .collect();
    let expected: &[(&str, &[&str])] = &[
        ("single-threaded", &["concurrency"]),
        ("first-recv-in-accept", &["concurrency"]),
        ("never-closes", &["keep-alive"]),
        // keepalive/response-header is a form case now (beyond the handout: it costs nothing).
        ("closes-always", &["form", "keep-alive"]),
        ("timer-from-start", &["keep-alive"]),
        ("no-keepalive-header", &["form"]),
        ("close-case-sensitive", &["keep-alive"]),
        ("http10-keeps", &["keep-alive"]),
        ("accepts-http2", &["invalid-version"]),
        ("any-version-1x", &["invalid-version"]),
        ("unknown-method-501", &["invalid-method"]),
        ("any-method-200", &["not-implemented"]),
        ("head-when-unsupported@no-head", &["not-implemented"]),
        ("url-no-slash", &["invalid-url"]),
        ("missing-is-200", &["not-found"]),
        ("unmapped-200", &["unmapped-type"]),
        ("html-as-plain", &["get"]),
        ("octet-stream", &["get"]),
        ("jpg-type", &["get"]),
        ("strlen-body", &["get"]),
        ("short-body", &["get"]),
        ("no-directory-index", &["ws-conf"]),
        ("only-index-html", &["ws-conf"]),
        ("head-body", &["head"]),
        // The handout's own three test requests end in `\r\n\n`: a server that hangs on them
        // fails each of the three requirements they test, as a teacher's telnet session would.
        (
            "no-bare-lf",
            &[
                "invalid-method",
                "invalid-version",
                "not-implemented",
                "robustness",
            ],
        ),
        ("lf-head-at-timeout", &["robustness"]),
        ("first-recv-line", &["robustness"]),
        ("answers-early", &["robustness"]),
        ("drops-pipelined", &["robustness"]),
        ("leaks-dotdot", &["traversal"]),
        ("leaks-encoded", &["traversal"]),
        ("leaks-config", &["traversal"]),
        ("lf-only", &["form"]),
        ("no-reason", &["form"]),
        ("pads-files", &["form"]),
        ("error-no-length", &["form"]),
        ("no-content-length", &["form", "keep-alive"]),
        ("ignores-broken-config@broken", &["server-error"]),
    ];
    let mut got = Vec::new();
    for run in RUNS.iter().filter(|r| !r.starts_with("none")) {
        let mut rules: Vec<&str> = expectations(run)
            .cases
            .iter()
            .filter(|(_, v)| *v == Fail)
            .map(|(id, _)| rule_of[*id].as_str())
            .collect();
        rules.sort();
        rules.dedup();
        got.push((*run, rules));
    }
    let want: Vec<(&str, Vec<&str>)> = expected.iter().map(|(r, v)| (*r, v.to_vec())).collect();
    assert_eq!(got, want);
}
