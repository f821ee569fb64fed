//! The html reports in a real browser: headless Chromium renders a student's report at a
//! desktop and at a phone width (nothing wider than the screen), and the class index sorted by
//! score and by name. The screenshots are kept in `target/html-screenshots/` for a person to
//! look at. Skipped, saying so, when Chromium is not installed (`apt-get install chromium`).
//!
//! Headless Chromium's window is never narrower than 500 px, so a phone's screen is an iframe
//! of its width in a page of our own: media queries see the iframe's width, and the page inside
//! tells its parent how wide it laid out (`postMessage`, which works between `file://` pages).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use harness::outcome::{CaseResult, Event, EventKind, Transcript, Verdict};
use harness::report::RunReport;
use harness::report::{write_html_index, write_report, Format, IndexEntry, ReportOptions};
use harness::rules::{RuleBook, RuleDef, Scope};

mod common;
use common::OutputWithin;

/// Chromium's binary, if installed.
fn chromium() -> Option<PathBuf> {
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
}

/// Chromium headless with the flags this machine needs (no sandbox as root, no network of its
/// own), a fresh profile, at `width` x `height`.
fn headless(bin: &Path, profile: &Path, width: u32, height: u32) -> Command {
    let mut c = Command::new(bin);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--virtual-time-budget=3000",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .arg(format!("--window-size={width},{height}"));
    c
}

/// The DOM after the page's scripts ran.
fn dump_dom(bin: &Path, url: &str, width: u32) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = headless(bin, profile.path(), width, 900)
        .arg("--dump-dom")
        .arg(url)
        .output_within(Duration::from_secs(90));
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn screenshot(bin: &Path, url: &str, png: &Path, width: u32, height: u32) {
    let profile = tempfile::tempdir().unwrap();
    let out = headless(bin, profile.path(), width, height)
        .arg(format!("--screenshot={}", png.display()))
        .arg(url)
        .output_within(Duration::from_secs(90));
    assert!(out.status.success(), "{out:?}");
    let bytes = std::fs::read(png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG"), "{} is a PNG", png.display());
    assert!(bytes.len() > 10_000, "{} shows something", png.display());
}

fn shots_dir() -> PathBuf {
    let dir = common::repo_root().join("target/html-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A run of a sloppy server: a lost rule with a long response, a pass in it, a rule beyond
/// the handout broken, a skip.
fn sloppy_run() -> RunReport {
    let case = |id: &str, rule: &str, verdict: Verdict| CaseResult {
        id: id.into(),
        title: format!("{id}: what it checks, said in a full sentence for the reader"),
        tags: vec![],
        spec: None,
        rule: Some(rule.into()),
        hint: Some(
            "Check the URL before looking for the file: a path that does not start with `/` \
             gets 400 Invalid URL."
                .into(),
        ),
        verdict,
        points: 0.0,
        max_points: 2.0,
        duration: Duration::from_millis(12),
        messages: vec![],
        transcript: Transcript::default(),
        reproducer: None,
    };
    let mut url = case("errors/invalid-url", "invalid-url", Verdict::Fail);
    url.messages = vec![
        "cases/assignment/errors/invalid-url.case:17: expected status 400, got 404".into(),
        "cases/assignment/errors/invalid-url.case:16: head uses bare LF line ends (form: line-ends)"
            .into(),
    ];
    let long = format!(
        "HTTP/1.1 404 Not Found\nContent-Length: 3000\n\n{}",
        "<p>an unbroken error page body</p>".repeat(90)
    );
    url.transcript.events = vec![
        Event {
            at: Duration::ZERO,
            conn: "main".into(),
            kind: EventKind::Sent {
                data: b"GET index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".to_vec(),
            },
        },
        Event {
            at: Duration::from_millis(3),
            conn: "main".into(),
            kind: EventKind::Received {
                data: long.into_bytes(),
            },
        },
    ];
    url.reproducer = Some(
        "printf 'GET index.html HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n\\r\\n' | nc 127.0.0.1 8080"
            .into(),
    );
    let mut cases = vec![
        url,
        case("errors/invalid-url-2", "invalid-url", Verdict::Pass),
        case("get/index-html", "get", Verdict::Pass),
        case("form/line-ends", "form", Verdict::Fail),
        case("get/json", "get", Verdict::Skip),
    ];
    cases[4].messages = vec!["requires: ws.conf maps no content type to .json".into()];
    let def = |name: &str, scope| RuleDef {
        name: name.into(),
        scope,
        points: 10.0,
        counted: scope == Scope::Handout,
        asks: format!("what the handout asks of {name}, in its words"),
        declared: true,
    };
    let book = RuleBook {
        rules: vec![
            def("get", Scope::Handout),
            def("invalid-url", Scope::Handout),
            def("form", Scope::Beyond),
        ],
    };
    let rules = harness::rules::score(&mut cases, &book, true, true);
    let mut r = RunReport::new(
        "127.0.0.1:8080".into(),
        Duration::from_secs(2),
        cases,
        rules,
    );
    r.ws_conf = Some("students/alice/ws.conf (--ws-conf)".into());
    r.notes = vec!["server started for config `default` on port 40123\n  ws.conf: line 5".into()];
    r
}

#[test]
fn the_reports_render_in_chromium_on_a_desktop_and_a_phone() {
    let Some(bin) = chromium() else {
        eprintln!(
            "skipped: Chromium is not installed (apt-get install chromium): the html reports \
             were not rendered in a browser"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut page = Vec::new();
    let opts = ReportOptions::default();
    write_report(Format::Html, &sloppy_run(), &opts, &mut page).unwrap();
    let page = String::from_utf8(page).unwrap();
    let report = dir.path().join("report.html");
    std::fs::write(&report, &page).unwrap();
    let shots = shots_dir();
    let url = format!("file://{}", report.display());
    screenshot(&bin, &url, &shots.join("report-desktop.png"), 1280, 1600);
    let phone = screen(dir.path(), 390, "report.html", "");
    screenshot(&bin, &phone, &shots.join("report-phone.png"), 500, 1600);
    fits(&bin, dir.path(), &page, "");
}

/// A page of our own showing `page` (a file of `dir`, `#fragment` after it) in an iframe
/// `width` px wide: a phone's screen, whatever the browser window's.
fn screen(dir: &Path, width: u32, page: &str, fragment: &str) -> String {
    let html = format!(
        "<!DOCTYPE html><html><body style=\"margin:0\">\
         <iframe src=\"{page}{fragment}\" style=\"width:{width}px;height:1600px;border:0\"></iframe>\
         <script>addEventListener('message', function (e) {{ \
         document.body.setAttribute('data-scroll-width', e.data); }});</script></body></html>"
    );
    let path = dir.join(format!("screen-{width}-{page}"));
    std::fs::write(&path, html).unwrap();
    format!("file://{}", path.display())
}

/// `page` lays out no wider than a phone's screen, nor than a desktop's.
fn fits(bin: &Path, dir: &Path, page: &str, fragment: &str) {
    // The same page, telling the page around it how wide it laid out.
    let measured = page.replace(
        "</body>",
        "<script>parent.postMessage(String(document.documentElement.scrollWidth), '*')</script>\
         </body>",
    );
    std::fs::write(dir.join("measured.html"), measured).unwrap();
    for width in [390, 1280] {
        let url = screen(dir, width, "measured.html", fragment);
        let dom = dump_dom(bin, &url, width.max(500) + 20);
        let scroll: u32 = dom
            .split("data-scroll-width=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("the page was not measured: {dom}"));
        assert!(
            scroll <= width,
            "at {width}px the page lays out {scroll}px wide: a reader must scroll sideways"
        );
    }
}

#[test]
fn the_class_index_sorts_by_score_and_by_name_in_chromium() {
    let Some(bin) = chromium() else {
        eprintln!("skipped: Chromium is not installed (apt-get install chromium)");
        return;
    };
    let entry = |name: &str, score: f64, error: Option<&str>| IndexEntry {
        name: name.into(),
        score,
        max_score: 100.0,
        report_href: format!("{name}/report.html"),
        error: error.map(str::to_string),
        notes: "invalid-url −10: GET index.html HTTP/1.1: expected status 400, got 404 \
                (errors/invalid-url); keep-alive −10: closed (FIN) after 0ms"
            .into(),
    };
    let entries = vec![
        entry("carol", 40.0, None),
        entry("alice", 90.0, None),
        entry("dave", 0.0, Some("build failed")),
        entry("bob", 70.0, None),
    ];
    let mut page = Vec::new();
    write_html_index("Class grades", &entries, &mut page).unwrap();
    let page = String::from_utf8(page).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index.html");
    std::fs::write(&index, &page).unwrap();
    let url = format!("file://{}", index.display());
    let order = |dom: &str| -> Vec<String> {
        dom.split("data-name=\"")
            .skip(1)
            .map(|s| s.split('"').next().unwrap().to_string())
            .collect()
    };
    let as_given = order(&dump_dom(&bin, &url, 1280));
    assert_eq!(as_given, ["carol", "alice", "dave", "bob"]);
    let by_score = order(&dump_dom(&bin, &format!("{url}#sort=score"), 1280));
    assert_eq!(by_score, ["alice", "bob", "carol", "dave"], "highest first");
    let by_name = order(&dump_dom(&bin, &format!("{url}#sort=name"), 1280));
    assert_eq!(by_name, ["alice", "bob", "carol", "dave"]);
    let by_name_desc = order(&dump_dom(&bin, &format!("{url}#sort=name-desc"), 1280));
    assert_eq!(by_name_desc, ["dave", "carol", "bob", "alice"]);
    let shots = shots_dir();
    screenshot(
        &bin,
        &format!("{url}#sort=score"),
        &shots.join("index-desktop.png"),
        1280,
        700,
    );
    let phone = screen(dir.path(), 390, "index.html", "#sort=score");
    screenshot(&bin, &phone, &shots.join("index-phone.png"), 500, 1000);
    fits(&bin, dir.path(), &page, "#sort=score");
}
