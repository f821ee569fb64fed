//! Every report format, written from a hand-built run: a pass, a non-strict, a fail whose
//! transcript and messages hold hostile bytes, an error and a skip.

use std::time::Duration;

use harness::outcome::{CaseResult, Event, EventKind, Transcript, Verdict};
use harness::report::RunReport;
use harness::report::{
    write_gradescope_failure, write_gradescope_with, write_html_index, write_pretty_details,
    write_report, Format, IndexEntry, ReportOptions,
};

fn ev(ms: u64, kind: EventKind) -> Event {
    Event {
        at: Duration::from_millis(ms),
        conn: "main".to_string(),
        kind,
    }
}

fn case(id: &str, title: &str, verdict: Verdict, max: f64, lenient: bool) -> CaseResult {
    CaseResult {
        id: id.to_string(),
        title: title.to_string(),
        tags: vec!["basic".to_string()],
        spec: None,
        rule: None,
        hint: None,
        verdict,
        points: verdict.points(max, lenient),
        max_points: max,
        duration: Duration::from_millis(12),
        messages: vec![],
        transcript: Transcript::default(),
        reproducer: None,
    }
}

/// The hint of the failed case, with characters every format must escape.
const HINT: &str = "Close the socket once idle for KeepaliveTime: <not> never & not \"early\"";

const HOSTILE_MESSAGE: &str =
    "expected status 400, got 200 <script>alert(1)</script> & \x1b[31mred\x01 (line 14)";

/// The five verdicts, in this order: pass, non-strict, fail, error, skip.
fn sample(lenient: bool) -> RunReport {
    let mut pass = case(
        "assignment/basic/get-index",
        "GET /index.html returns the file",
        Verdict::Pass,
        2.0,
        lenient,
    );
    pass.spec = Some("assignment \"200 OK\"".to_string());
    pass.transcript.events = vec![
        ev(0, EventKind::Connect),
        ev(
            1,
            EventKind::Sent {
                data: b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            },
        ),
        ev(
            3,
            EventKind::Received {
                data: b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi".to_vec(),
            },
        ),
    ];

    let mut non_strict = case(
        "assignment/errors/bad-method",
        "GRT is not a method: 400 Invalid Method",
        Verdict::NonStrict,
        1.0,
        lenient,
    );
    non_strict.messages = vec!["body does not contain \"Invalid Method\" (line 16)".to_string()];
    non_strict.reproducer =
        Some("printf 'GRT / HTTP/1.1\\r\\n\\r\\n' | nc 127.0.0.1 8080".to_string());

    let mut fail = case(
        "assignment/keepalive/idle-close",
        "Idle connection closed & \"quoted\" <title>",
        Verdict::Fail,
        3.0,
        lenient,
    );
    fail.messages = vec![HOSTILE_MESSAGE.to_string(), "second reason".to_string()];
    fail.transcript.events = vec![
        ev(0, EventKind::Connect),
        ev(
            1,
            EventKind::Sent {
                data: b"GET / HTTP/1.1\r\n\r\n".to_vec(),
            },
        ),
        ev(
            5,
            EventKind::Received {
                data: b"HTTP/1.1 200 OK\r\n\r\n<b>&amp;</b>\0]]>\xff".to_vec(),
            },
        ),
        ev(
            6,
            EventKind::Note {
                text: "</pre><script>alert(\"note\")</script> ]]> \0 nul".to_string(),
            },
        ),
        ev(7000, EventKind::Fin),
    ];
    fail.reproducer =
        Some("printf 'GET / HTTP/1.1\\r\\n\\r\\n' | nc 127.0.0.1 8080 # <&>".to_string());
    fail.hint = Some(HINT.to_string());

    let mut error = case(
        "extra/var",
        "Uses an unknown variable",
        Verdict::Error,
        1.0,
        lenient,
    );
    error.messages = vec!["unknown variable {nope} at extra/var.case:9".to_string()];

    let mut skip = case(
        "rfc/should/etag",
        "ETag is sent",
        Verdict::Skip,
        1.0,
        lenient,
    );
    skip.messages = vec!["should case: run with --strict".to_string()];

    RunReport::new(
        "127.0.0.1:8080".to_string(),
        Duration::from_millis(7250),
        vec![pass, non_strict, fail, error, skip],
        vec![],
    )
}

fn opts(lenient: bool, color: bool) -> ReportOptions {
    ReportOptions {
        color,
        lenient,
        show_transcripts: true,
    }
}

fn render(format: Format, report: &RunReport, o: ReportOptions) -> String {
    let mut buf = Vec::new();
    write_report(format, report, &o, &mut buf).unwrap();
    String::from_utf8(buf).expect("reports are UTF-8")
}

const IDS: [&str; 5] = [
    "assignment/basic/get-index",
    "assignment/errors/bad-method",
    "assignment/keepalive/idle-close",
    "extra/var",
    "rfc/should/etag",
];

// ---------------------------------------------------------------- json

#[test]
fn json_has_every_field_and_value() {
    let r = sample(false);
    let v: serde_json::Value =
        serde_json::from_str(&render(Format::Json, &r, opts(false, false))).unwrap();
    assert_eq!(v["target"], "127.0.0.1:8080");
    assert_eq!(v["score"].as_f64(), Some(2.0));
    assert_eq!(v["max_score"].as_f64(), Some(7.0));
    assert_eq!(v["duration_ms"], 7250);
    let c = &v["counts"];
    assert_eq!(
        (
            c["pass"].as_u64(),
            c["non-strict"].as_u64(),
            c["fail"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
    assert_eq!(
        (c["error"].as_u64(), c["skip"].as_u64(), c["total"].as_u64()),
        (Some(1), Some(1), Some(5))
    );
    assert_eq!(
        (c["passed"].as_u64(), c["failed"].as_u64()),
        (Some(1), Some(3))
    );

    let cases = v["cases"].as_array().unwrap();
    let ids: Vec<&str> = cases.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, IDS);
    let verdicts: Vec<&str> = cases
        .iter()
        .map(|c| c["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["pass", "non-strict", "fail", "error", "skip"]);
    for c in cases {
        for field in [
            "id",
            "title",
            "verdict",
            "points",
            "max_points",
            "duration_ms",
            "messages",
            "transcript",
            "reproducer",
            "tags",
            "spec",
        ] {
            assert!(c.get(field).is_some(), "case {} lacks {field}", c["id"]);
        }
    }
    let fail = &cases[2];
    assert_eq!(fail["points"].as_f64(), Some(0.0));
    assert_eq!(fail["max_points"].as_f64(), Some(3.0));
    assert_eq!(fail["messages"][0], HOSTILE_MESSAGE);
    let events = fail["transcript"].as_array().unwrap();
    assert_eq!(events.len(), 5);
    assert_eq!(events[2]["event"], "received");
    assert_eq!(
        events[2]["data"],
        "HTTP/1.1 200 OK\\r\\n\\r\\n<b>&amp;</b>\\0]]>\\xff"
    );
    assert_eq!(events[4]["at_ms"], 7000);
    assert_eq!(cases[0]["reproducer"], serde_json::Value::Null);
    assert_eq!(cases[0]["spec"], "assignment \"200 OK\"");
    assert_eq!(cases[0]["tags"][0], "basic");
}

#[test]
fn json_counts_follow_lenient() {
    let v: serde_json::Value =
        serde_json::from_str(&render(Format::Json, &sample(true), opts(true, false))).unwrap();
    assert_eq!(v["lenient"], true);
    assert_eq!(v["score"].as_f64(), Some(3.0));
    assert_eq!(
        (
            v["counts"]["passed"].as_u64(),
            v["counts"]["failed"].as_u64()
        ),
        (Some(2), Some(2))
    );
}

// ---------------------------------------------------------------- tap

/// Test points (`ok`/`not ok` lines) and the YAML blocks after them, parsed.
fn tap_points(tap: &str) -> Vec<(String, Option<serde_yaml::Value>)> {
    let mut points: Vec<(String, Option<serde_yaml::Value>)> = Vec::new();
    let mut lines = tap.lines().peekable();
    while let Some(line) = lines.next() {
        if line.starts_with("ok ") || line.starts_with("not ok ") {
            points.push((line.to_string(), None));
        } else if line == "  ---" {
            let mut yaml = String::new();
            loop {
                let l = lines.next().expect("YAML block not closed by '  ...'");
                if l == "  ..." {
                    break;
                }
                assert!(
                    l.starts_with("  "),
                    "YAML line not indented two spaces: {l:?}"
                );
                yaml.push_str(&l[2..]);
                yaml.push('\n');
            }
            let parsed: serde_yaml::Value =
                serde_yaml::from_str(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
            let last = points.last_mut().expect("YAML block before any test point");
            assert!(last.1.is_none(), "two YAML blocks for one test point");
            last.1 = Some(parsed);
        } else {
            assert!(
                line == "TAP version 14" || line.starts_with("1.."),
                "unexpected TAP line {line:?}"
            );
        }
    }
    points
}

#[test]
fn tap_has_version_plan_and_points_in_order() {
    let tap = render(Format::Tap, &sample(false), opts(false, false));
    assert!(tap.starts_with("TAP version 14\n1..5\n"), "{tap}");
    let points = tap_points(&tap);
    assert_eq!(points.len(), 5);
    let heads: Vec<&str> = points.iter().map(|p| p.0.as_str()).collect();
    assert_eq!(
        heads[0],
        "ok 1 - assignment/basic/get-index: GET /index.html returns the file"
    );
    assert!(
        heads[1].starts_with("not ok 2 - assignment/errors/bad-method"),
        "{}",
        heads[1]
    );
    assert!(
        heads[2].starts_with("not ok 3 - assignment/keepalive/idle-close"),
        "{}",
        heads[2]
    );
    assert!(heads[3].starts_with("not ok 4 - extra/var"), "{}", heads[3]);
    assert_eq!(
        heads[4],
        "ok 5 - rfc/should/etag: ETag is sent # SKIP should case: run with --strict"
    );
    assert!(
        points[0].1.is_none() && points[4].1.is_none(),
        "pass and skip have no diagnostics"
    );
}

#[test]
fn tap_yaml_blocks_parse_and_carry_the_evidence() {
    let tap = render(Format::Tap, &sample(false), opts(false, false));
    let points = tap_points(&tap);
    let fail = points[2].1.as_ref().expect("fail has a YAML block");
    assert_eq!(fail["severity"].as_str(), Some("fail"));
    assert_eq!(fail["verdict"].as_str(), Some("fail"));
    assert_eq!(fail["message"].as_str(), Some(HOSTILE_MESSAGE));
    assert_eq!(fail["messages"][1].as_str(), Some("second reason"));
    assert_eq!(fail["max_points"].as_f64(), Some(3.0));
    let transcript = fail["transcript"].as_str().expect("transcript is a string");
    assert!(
        transcript.contains(r#"< "HTTP/1.1 200 OK\r\n\r\n<b>&amp;</b>\0]]>\xff""#),
        "{transcript}"
    );
    assert!(transcript.contains("closed by server (FIN)"));
    assert!(fail["reproducer"]
        .as_str()
        .unwrap()
        .starts_with("printf 'GET / HTTP/1.1"));
    let error = points[3].1.as_ref().unwrap();
    assert_eq!(error["severity"].as_str(), Some("error"));
    let non_strict = points[1].1.as_ref().unwrap();
    assert_eq!(non_strict["severity"].as_str(), Some("non-strict"));
}

#[test]
fn tap_lenient_non_strict_is_ok_with_diagnostics() {
    let tap = render(Format::Tap, &sample(true), opts(true, false));
    let points = tap_points(&tap);
    assert!(
        points[1]
            .0
            .starts_with("ok 2 - assignment/errors/bad-method"),
        "{}",
        points[1].0
    );
    assert!(points[1].1.is_some());
    assert!(points[2].0.starts_with("not ok 3"));
}

#[test]
fn tap_escapes_hash_in_descriptions() {
    let mut r = sample(false);
    r.cases[0].title = "C# and \\ here".to_string();
    let tap = render(Format::Tap, &r, opts(false, false));
    assert!(
        tap.contains("ok 1 - assignment/basic/get-index: C\\# and \\\\ here\n"),
        "{tap}"
    );
}

fn unreachable_report() -> RunReport {
    let mut cases = Vec::new();
    for id in ["a/one", "a/two"] {
        let mut c = case(id, "t", Verdict::Error, 1.0, false);
        c.messages =
            vec!["could not connect to 127.0.0.1:9: Connection refused (os error 111)".to_string()];
        cases.push(c);
    }
    let mut skip = case("a/three", "t", Verdict::Skip, 1.0, false);
    skip.messages = vec!["needs config broken".to_string()];
    cases.push(skip);
    RunReport::new(
        "127.0.0.1:9".to_string(),
        Duration::from_millis(5),
        cases,
        vec![],
    )
}

#[test]
fn tap_bails_out_when_the_target_cannot_be_reached() {
    let tap = render(Format::Tap, &unreachable_report(), opts(false, false));
    let lines: Vec<&str> = tap.lines().collect();
    assert_eq!(lines[0], "TAP version 14");
    assert_eq!(lines[1], "1..3");
    assert!(
        lines[2].starts_with("Bail out! cannot reach 127.0.0.1:9"),
        "{tap}"
    );
    // A run where something was reached does not bail out.
    assert!(!render(Format::Tap, &sample(false), opts(false, false)).contains("Bail out!"));
}

// ---------------------------------------------------------------- junit

#[test]
fn junit_is_well_formed_with_failure_error_and_skipped() {
    let xml = render(Format::Junit, &sample(false), opts(false, false));
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    for (attr, want) in [
        ("tests", "5"),
        ("failures", "2"),
        ("errors", "1"),
        ("skipped", "1"),
        ("time", "7.250"),
    ] {
        assert_eq!(root.attribute(attr), Some(want), "testsuites@{attr}");
    }
    let suite = root
        .children()
        .find(|n| n.has_tag_name("testsuite"))
        .expect("a testsuite");
    assert_eq!(suite.attribute("failures"), Some("2"));
    let cases: Vec<_> = suite
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 5);
    for (c, id) in cases.iter().zip(IDS) {
        let name = c.attribute("name").expect("testcase@name always present");
        assert!(name.starts_with(id), "{name}");
        assert!(c.attribute("time").is_some());
    }
    assert_eq!(cases[0].attribute("classname"), Some("harness.assignment"));
    assert_eq!(cases[3].attribute("classname"), Some("harness.extra"));
    assert_eq!(
        cases[2].attribute("name"),
        Some("assignment/keepalive/idle-close: Idle connection closed & \"quoted\" <title>")
    );

    let kids = |i: usize| -> Vec<String> {
        cases[i]
            .children()
            .filter(|n| n.is_element())
            .map(|n| n.tag_name().name().to_string())
            .collect()
    };
    assert!(kids(0).is_empty(), "pass: {:?}", kids(0));
    assert_eq!(kids(1), ["failure"]);
    assert_eq!(kids(2), ["failure", "system-out"]);
    assert_eq!(kids(3), ["error"]);
    assert_eq!(kids(4), ["skipped"]);

    let failure = cases[2]
        .children()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    assert_eq!(failure.attribute("type"), Some("fail"));
    // The ESC and \x01 in the message are not allowed in XML: they are written visibly.
    let message = failure.attribute("message").unwrap();
    assert!(
        message.contains("<script>alert(1)</script> & \\x1b[31mred\\x01"),
        "{message}"
    );
    let details = failure.text().unwrap();
    assert!(
        details.contains("second reason") && details.contains("nc 127.0.0.1 8080 # <&>"),
        "{details}"
    );
    let out = cases[2]
        .children()
        .find(|n| n.has_tag_name("system-out"))
        .unwrap()
        .text()
        .unwrap();
    assert!(out.contains(r#"<b>&amp;</b>\0]]>\xff"#), "{out}");
    assert!(
        out.contains("</pre><script>alert(\"note\")</script> ]]> \\x00 nul"),
        "{out}"
    );
    assert_eq!(
        cases[1]
            .children()
            .find(|n| n.has_tag_name("failure"))
            .unwrap()
            .attribute("type"),
        Some("non-strict")
    );
    let error = cases[3]
        .children()
        .find(|n| n.has_tag_name("error"))
        .unwrap();
    assert!(error
        .attribute("message")
        .unwrap()
        .starts_with("unknown variable"));
    let skipped = cases[4]
        .children()
        .find(|n| n.has_tag_name("skipped"))
        .unwrap();
    assert_eq!(
        skipped.attribute("message"),
        Some("should case: run with --strict")
    );
}

#[test]
fn junit_lenient_non_strict_passes() {
    let xml = render(Format::Junit, &sample(true), opts(true, false));
    let doc = roxmltree::Document::parse(&xml).unwrap();
    assert_eq!(doc.root_element().attribute("failures"), Some("1"));
    let non_strict = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .nth(1)
        .unwrap();
    assert!(non_strict.children().all(|n| !n.has_tag_name("failure")));
    let out = non_strict
        .children()
        .find(|n| n.has_tag_name("system-out"))
        .unwrap()
        .text()
        .unwrap();
    assert!(out.contains("Invalid Method"), "{out}");
}

// ---------------------------------------------------------------- gradescope

#[test]
fn gradescope_has_the_autograder_fields() {
    let r = sample(false);
    let v: serde_json::Value =
        serde_json::from_str(&render(Format::Gradescope, &r, opts(false, false))).unwrap();
    assert_eq!(v["score"].as_f64(), Some(2.0));
    assert_eq!(v["execution_time"].as_u64(), Some(8));
    assert!(
        v["output"].as_str().unwrap().contains("Score 2 / 7"),
        "{}",
        v["output"]
    );
    let tests = v["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 5);
    let statuses: Vec<Option<&str>> = tests.iter().map(|t| t["status"].as_str()).collect();
    assert_eq!(
        statuses,
        [
            Some("passed"),
            Some("failed"),
            Some("failed"),
            Some("failed"),
            None
        ]
    );
    let numbers: Vec<&str> = tests
        .iter()
        .map(|t| t["number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, IDS, "number is the case id");
    for t in tests {
        assert!(!t["name"].as_str().unwrap().is_empty());
        assert_eq!(t["visibility"], "visible");
        assert!(t["tags"].is_array());
        assert!(t["score"].is_number() && t["max_score"].is_number());
    }
    assert_eq!(tests[0]["score"].as_f64(), Some(2.0));
    assert_eq!(tests[2]["max_score"].as_f64(), Some(3.0));
    assert_eq!(
        tests[4]["max_score"].as_f64(),
        Some(0.0),
        "a skip does not count in the maximum"
    );
    let output = tests[2]["output"].as_str().unwrap();
    assert!(
        output.contains(HOSTILE_MESSAGE)
            && output.contains("transcript:")
            && output.contains("reproduce:"),
        "{output}"
    );
    assert!(output.contains(r#"<b>&amp;</b>\0]]>\xff"#));
    let max: f64 = tests.iter().map(|t| t["max_score"].as_f64().unwrap()).sum();
    assert_eq!(max, r.max_score);
}

#[test]
fn gradescope_visibility_and_lenient() {
    let r = sample(true);
    let mut buf = Vec::new();
    let hide = |c: &CaseResult| {
        if c.id.starts_with("extra/") {
            "hidden"
        } else {
            "visible"
        }
    };
    write_gradescope_with(&r, &opts(true, false), &hide, &mut buf).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
    assert_eq!(v["tests"][3]["visibility"], "hidden");
    assert_eq!(v["tests"][0]["visibility"], "visible");
    assert_eq!(
        v["tests"][1]["status"], "passed",
        "lenient non-strict passes"
    );
    assert_eq!(v["tests"][1]["score"].as_f64(), Some(1.0));
}

#[test]
fn gradescope_failure_scores_zero_and_says_why() {
    let mut buf = Vec::new();
    let cases = [("a/one", "First", 2.0), ("a/two", "", 1.5)];
    write_gradescope_failure(
        "the server did not start: exit status 101",
        &cases,
        &mut buf,
    )
    .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
    assert_eq!(v["score"].as_f64(), Some(0.0));
    assert!(v["output"].as_str().unwrap().contains("exit status 101"));
    let tests = v["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 3);
    assert!(tests
        .iter()
        .all(|t| t["status"] == "failed" && t["score"].as_f64() == Some(0.0)));
    assert!(tests[0]["output"]
        .as_str()
        .unwrap()
        .contains("exit status 101"));
    assert_eq!(tests[1]["number"], "a/one");
    assert_eq!(tests[1]["name"], "First");
    assert_eq!(tests[2]["number"], "a/two");
    assert_eq!(
        tests[2]["name"], "a/two",
        "a case without a title is named by its id"
    );
    assert_eq!(tests[2]["max_score"].as_f64(), Some(1.5));
}

// ---------------------------------------------------------------- html

#[test]
fn html_escapes_case_data_and_lists_every_case() {
    let page = render(Format::Html, &sample(false), opts(false, false));
    assert!(page.starts_with("<!DOCTYPE html>"));
    // Only the page's own script: none from case data.
    assert_eq!(page.matches("<script").count(), 1, "{page}");
    assert!(!page.contains("<title>\"") && !page.contains("<b>&amp;"));
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.contains("&lt;/pre&gt;&lt;script&gt;alert(&quot;note&quot;)"));
    assert!(page.contains("Idle connection closed &amp; &quot;quoted&quot; &lt;title&gt;"));
    assert!(!page.contains('\x1b') && !page.contains('\x01') && !page.contains('\0'));
    assert_eq!(page.matches("<details class=\"case").count(), 5);
    let mut at = 0;
    for id in IDS {
        let pos = page[at..]
            .find(&format!(">{id}<"))
            .unwrap_or_else(|| panic!("{id} missing or out of order"));
        at += pos;
    }
    for v in ["pass", "non-strict", "fail", "error", "skip"] {
        assert!(
            page.contains(&format!("<details class=\"case {v}\"")),
            "{v}"
        );
    }
    assert!(page.contains("2 <small>/ 7 points</small>"));
    assert!(
        !page.contains("http://") || page.matches("http://").count() == 0,
        "no external assets"
    );
    assert!(
        !page.contains("<link") && !page.contains(" src="),
        "self-contained"
    );
}

#[test]
fn html_index_lists_submissions_with_errors() {
    let entries = vec![
        IndexEntry {
            name: "alice".into(),
            score: 7.0,
            max_score: 10.0,
            report_href: "alice/report.html".into(),
            error: None,
            notes: "head uses bare LF line ends (form): −2".into(),
        },
        IndexEntry {
            name: "<b>bob</b>".into(),
            score: 0.0,
            max_score: 10.0,
            report_href: "bob/report.html?x=\"1\"&y".into(),
            error: Some("server did not start: <cargo build failed>".into()),
            notes: "server did not start: <cargo build failed>".into(),
        },
    ];
    let mut buf = Vec::new();
    write_html_index("Lab 3 <web server>", &entries, &mut buf).unwrap();
    let page = String::from_utf8(buf).unwrap();
    assert!(page.contains("<title>Lab 3 &lt;web server&gt;</title>"));
    assert!(page.contains("<td class=\"notes\">head uses bare LF line ends (form): −2</td>"));
    assert!(page.contains("href=\"alice/report.html\""));
    assert!(page.contains("href=\"bob/report.html?x=&quot;1&quot;&amp;y\""));
    assert!(page.contains("&lt;b&gt;bob&lt;/b&gt;") && !page.contains("<b>bob"));
    assert!(page.contains("server did not start: &lt;cargo build failed&gt;"));
    assert!(page.contains("7 / 10") && page.contains("70%"));
    assert!(page.find("alice").unwrap() < page.find("bob").unwrap());
    assert!(page.contains("2 submissions"));
    let mut one = Vec::new();
    write_html_index("x", &entries[..1], &mut one).unwrap();
    assert!(String::from_utf8(one).unwrap().contains(">1 submission ·"));
}

// ---------------------------------------------------------------- pretty

#[test]
fn pretty_without_colour_has_summary_and_no_escapes() {
    let text = render(Format::Pretty, &sample(false), opts(false, false));
    assert!(
        !text.contains('\x1b'),
        "no ANSI escapes (nor the message's own ESC):\n{text}"
    );
    assert_eq!(
        text.lines().last(),
        Some("summary: 1 passed, 3 failed, 1 skipped")
    );
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("PASS") && lines[0].contains("2/2") && lines[0].contains(IDS[0]),
        "{}",
        lines[0]
    );
    assert!(lines[1].starts_with("NON-STRICT") && lines[1].contains("0/1"));
    assert!(lines[2].starts_with("FAIL") && lines[2].contains("0/3"));
    assert!(lines[3].starts_with("ERROR"));
    assert!(lines[4].starts_with("SKIP") && lines[4].contains("should case: run with --strict"));
    assert!(
        text.contains("1 passed, 1 non-strict, 1 failed, 1 error, 1 skipped"),
        "{text}"
    );
    assert!(text.contains("score 2 / 7"));
    // Details of the fail: messages, transcript (indented), reproducer; none for the pass.
    assert!(text.contains(
        "expected status 400, got 200 <script>alert(1)</script> & \\x1b[31mred\\x01 (line 14)"
    ));
    assert!(
        text.contains(r#"     +0.005s @main < "HTTP/1.1 200 OK\r\n\r\n<b>&amp;</b>\0]]>\xff""#),
        "{text}"
    );
    assert!(text.contains("nc 127.0.0.1 8080 # <&>"));
    assert!(
        !text.contains("@main > \"GET /index.html"),
        "a pass shows no transcript"
    );
    assert!(text.contains("counted as failed and earns nothing (--strict-form)"));
}

#[test]
fn pretty_lenient_summary_counts_non_strict_as_passed() {
    let text = render(Format::Pretty, &sample(true), opts(true, false));
    assert_eq!(
        text.lines().last(),
        Some("summary: 2 passed, 2 failed, 1 skipped")
    );
    assert!(text.contains("score 3 / 7"));
}

#[test]
fn pretty_with_colour_has_escapes_but_a_plain_last_line() {
    let text = render(Format::Pretty, &sample(false), opts(false, true));
    assert!(text.contains("\x1b["), "colour escapes expected");
    assert!(
        text.lines().next().unwrap().contains("\x1b[1m\x1b[32m") || text.contains("\x1b[32m"),
        "green pass"
    );
    assert_eq!(
        text.lines().last(),
        Some("summary: 1 passed, 3 failed, 1 skipped")
    );
    // The message's own ESC never reaches the terminal.
    assert!(!text.contains("\x1b[31mred"));
}

#[test]
fn pretty_details_leave_out_the_case_lines() {
    let mut buf = Vec::new();
    write_pretty_details(&sample(false), &opts(false, false), &mut buf).unwrap();
    let text = String::from_utf8(buf).unwrap();
    assert!(
        !text
            .lines()
            .any(|l| l.starts_with("PASS") || l.starts_with("SKIP")),
        "{text}"
    );
    assert!(text.contains("second reason"));
    assert_eq!(
        text.lines().last(),
        Some("summary: 1 passed, 3 failed, 1 skipped")
    );
}

#[test]
fn pretty_caps_long_transcripts_and_can_hide_them() {
    let mut r = sample(false);
    r.cases[2].transcript.events = (0..500)
        .map(|i| {
            ev(
                i,
                EventKind::Received {
                    data: format!("chunk {i}\r\n").into_bytes(),
                },
            )
        })
        .collect();
    let text = render(Format::Pretty, &r, opts(false, false));
    assert!(text.contains("chunk 0\\r\\n") && text.contains("chunk 499\\r\\n"));
    assert!(!text.contains("chunk 250\\r\\n"), "the middle is cut");
    assert!(text.contains("lines cut]"), "{text}");
    let hidden = render(
        Format::Pretty,
        &r,
        ReportOptions {
            show_transcripts: false,
            ..opts(false, false)
        },
    );
    assert!(!hidden.contains("chunk 0"));
    assert!(hidden.contains("second reason"));
}

#[test]
fn every_format_writes_an_empty_run() {
    let empty = RunReport::new("x:1".to_string(), Duration::ZERO, vec![], vec![]);
    for f in [
        Format::Pretty,
        Format::Json,
        Format::Tap,
        Format::Junit,
        Format::Gradescope,
        Format::Html,
    ] {
        let out = render(f, &empty, opts(false, false));
        assert!(!out.is_empty(), "{f:?}");
    }
    assert_eq!(
        render(Format::Pretty, &empty, opts(false, false))
            .lines()
            .last(),
        Some("summary: 0 passed, 0 failed, 0 skipped")
    );
    assert!(render(Format::Tap, &empty, opts(false, false)).starts_with("TAP version 14\n1..0\n"));
    roxmltree::Document::parse(&render(Format::Junit, &empty, opts(false, false))).unwrap();
}

// ---------------------------------------------------------------- hints and points

#[test]
fn the_hint_of_a_failed_case_is_in_every_format() {
    let r = sample(false);
    let tap = render(Format::Tap, &r, opts(false, false));
    let fail = tap_points(&tap)[2].1.clone().unwrap();
    assert_eq!(fail["hint"].as_str(), Some(HINT));
    let junit = render(Format::Junit, &r, opts(false, false));
    let doc = roxmltree::Document::parse(&junit).unwrap();
    let failure = doc
        .descendants()
        .find(|n| n.has_tag_name("failure") && n.attribute("type") == Some("fail"))
        .unwrap();
    assert!(failure.text().unwrap().contains(&format!("hint: {HINT}")));
    let v: serde_json::Value =
        serde_json::from_str(&render(Format::Gradescope, &r, opts(false, false))).unwrap();
    let output = v["tests"][2]["output"].as_str().unwrap();
    assert!(output.contains(&format!("hint: {HINT}")), "{output}");
    let json: serde_json::Value =
        serde_json::from_str(&render(Format::Json, &r, opts(false, false))).unwrap();
    assert_eq!(json["cases"][2]["hint"].as_str(), Some(HINT));
    assert!(json["cases"][0].get("hint").is_none(), "no hint, no field");
    let pretty = render(Format::Pretty, &r, opts(false, false));
    assert!(pretty.contains(&format!("hint:   {HINT}")), "{pretty}");
    let html = render(Format::Html, &r, opts(false, false));
    assert!(html.contains(
        "<b>Hint</b> Close the socket once idle for KeepaliveTime: &lt;not&gt; never &amp; not &quot;early&quot;"
    ));
}

/// A rule of two cases, one failed and one non-strict: the non-strict case earns nothing.
fn a_lost_rule() -> RunReport {
    use harness::rules::{RuleBook, RuleDef, Scope};
    let mut grt = case("errors/grt", "GRT: 400", Verdict::Fail, 3.0, true);
    grt.rule = Some("bad-request".into());
    grt.messages = vec!["x.case:9: expected status 400, got 501".into()];
    let mut url = case(
        "errors/url",
        "a URL without /: 400",
        Verdict::NonStrict,
        3.0,
        true,
    );
    url.rule = Some("bad-request".into());
    url.messages = vec!["x.case:12: head uses bare LF line ends (form: line-ends)".into()];
    let book = RuleBook {
        rules: vec![RuleDef {
            name: "bad-request".into(),
            scope: Scope::Handout,
            points: 10.0,
            counted: true,
            asks: "400 for a bad request".into(),
            declared: true,
        }],
    };
    let mut cases = vec![grt, url];
    let rules = harness::rules::score(&mut cases, &book, true, true);
    RunReport::new("t:1".into(), Duration::ZERO, cases, rules)
}

#[test]
fn a_case_line_and_its_details_show_the_same_points_and_say_why_once() {
    let r = a_lost_rule();
    assert_eq!((r.cases[1].points, r.cases[1].max_points), (0.0, 5.0));
    let pretty = render(Format::Pretty, &r, opts(true, false));
    let line = pretty.lines().nth(1).unwrap();
    assert!(
        line.starts_with("NON-STRICT") && line.contains(" 0/5 "),
        "{line}"
    );
    assert!(
        line.contains("— earns nothing: its rule `bad-request` is broken by errors/grt"),
        "{line}"
    );
    assert!(!pretty.contains("earns its points"), "{pretty}");
    assert_eq!(pretty.matches("earns nothing").count(), 1, "once: {pretty}");
    assert!(pretty.contains("score 0 / 10"));

    let html = render(Format::Html, &r, opts(true, false));
    let row = &html[html.find("id=\"case-2\"").unwrap()..];
    let row = &row[..row.find("</details>").unwrap()];
    assert!(row.contains("<span class=\"pts\">0 / 5</span>"), "{row}");
    assert!(!html.contains("earns its points"), "{html}");
    assert_eq!(row.matches("earns nothing").count(), 1, "{row}");

    let tap = render(Format::Tap, &r, opts(true, false));
    let url = tap_points(&tap)[1].1.clone().unwrap();
    assert_eq!(url["points"].as_f64(), Some(0.0));
    assert!(url["points_note"]
        .as_str()
        .unwrap()
        .starts_with("earns nothing"));
}

#[test]
fn the_lost_points_come_first_by_rule_with_what_the_handout_asks() {
    let r = a_lost_rule();
    let pretty = render(Format::Pretty, &r, opts(true, false));
    let lost = pretty
        .find("Points lost: 10 of 10")
        .expect("a lost section");
    let rule = pretty.find("LOST bad-request  −10").unwrap();
    let asks = pretty
        .find("the handout asks: 400 for a bad request")
        .unwrap();
    let check = pretty.find("expected status 400, got 501").unwrap();
    assert!(lost < rule && rule < asks && asks < check, "{pretty}");
    let html = render(Format::Html, &r, opts(true, false));
    let lost = html.find("<section class=\"losses\" id=\"lost\">").unwrap();
    let every = html.find("<section class=\"all\" id=\"cases\">").unwrap();
    assert!(lost < every);
    assert!(html.contains("<b>The handout asks:</b> 400 for a bad request"));
}

#[test]
fn every_report_names_the_ws_conf_it_followed() {
    let mut r = sample(true);
    r.ws_conf = Some("students/alice/ws.conf (--ws-conf)".into());
    for f in [
        Format::Pretty,
        Format::Tap,
        Format::Junit,
        Format::Gradescope,
        Format::Html,
        Format::Json,
    ] {
        let out = render(f, &r, opts(true, false));
        assert!(
            out.contains("students/alice/ws.conf (--ws-conf)"),
            "{f:?}: {out}"
        );
    }
}

#[test]
fn the_html_report_reads_on_a_phone_and_folds_the_setup_notes() {
    let mut r = sample(true);
    r.notes = vec!["server started for config `default` on port 4000\n  ws.conf: line 5".into()];
    let html = render(Format::Html, &r, opts(true, false));
    assert!(
        html.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
    );
    assert!(html.contains("@media (max-width: 700px)"));
    let setup = html
        .find("<details class=\"setup\" id=\"setup\">")
        .expect("setup notes folded");
    assert!(
        html.find("<section class=\"all\" id=\"cases\">").unwrap() < setup,
        "after the results"
    );
}
