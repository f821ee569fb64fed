//! The `.case` format as users write it: good snippets parse into the expected model, bad ones
//! are reported at the right line and column, escapes round-trip with the transcript escaping,
//! and case files are discovered and loaded from folders.

use std::path::{Path, PathBuf};
use std::time::Duration;

use harness::case::{
    discover, load, parse_case, Amount, Case, Check, CheckKind, Diagnostic, DurationExpr,
    DurationTerm, FormRule, HeaderTest, Level, LoadError, Piece, Requirement, StepKind, Template,
    Vars, DEFAULT_CONN,
};
use harness::outcome::escape_bytes;
use proptest::prelude::*;
use rstest::rstest;

fn parse(src: &str) -> Result<Case, Vec<Diagnostic>> {
    parse_case(src, Path::new("t.case"), "t")
}

/// Parses `title: t`, a blank line, then `body`.
fn case(body: &str) -> Case {
    match parse(&format!("title: t\n\n{body}")) {
        Ok(c) => c,
        Err(d) => panic!(
            "{body:?} did not parse:\n{}",
            d.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
}

fn errors(src: &str) -> Vec<Diagnostic> {
    match parse(src) {
        Ok(c) => panic!("{src:?} parsed, but should not: {c:?}"),
        Err(d) => d,
    }
}

fn bytes(b: &[u8]) -> Piece {
    Piece::Bytes(b.to_vec())
}

fn var(name: &str) -> Piece {
    Piece::Var(name.to_string())
}

fn tpl(pieces: Vec<Piece>) -> Template {
    Template { pieces }
}

fn d(s: &str) -> DurationExpr {
    s.parse().unwrap()
}

fn ms(n: u64) -> DurationExpr {
    DurationExpr::from_duration(Duration::from_millis(n))
}

fn render(t: &Template) -> Vec<u8> {
    let vars: Vars = [("host", "localhost"), ("port", "8080"), ("keepalive", "5")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    t.render(&vars).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Good snippets.

#[rstest]
#[case::line_mode_adds_crlf(
    "send\n| GET / HTTP/1.1\n| Host: {host}\n|\n",
    tpl(vec![bytes(b"GET / HTTP/1.1\r\nHost: "), var("host"), bytes(b"\r\n\r\n")])
)]
#[case::raw_mode_adds_nothing(
    "send raw\n| GRT /index.html HTTP/1.1\\r\\n\n| Host: localhost\\r\\n\n| \\n\n",
    Template::literal("GRT /index.html HTTP/1.1\r\nHost: localhost\r\n\n")
)]
#[case::trailing_backslash_means_no_line_end(
    "send\n| GET /index.html HTTP/1.1\\\n",
    Template::literal("GET /index.html HTTP/1.1")
)]
#[case::escaped_backslash_at_the_end_keeps_the_line_end(
    "send\n| a\\\\\n",
    Template::literal("a\\\r\n")
)]
#[case::half_line_then_rest(
    "send\n| GET / HT\\\n| TP/1.1\n",
    Template::literal("GET / HTTP/1.1\r\n")
)]
#[case::leading_spaces_count("send raw\n|   x\n", Template::literal("  x"))]
#[case::escapes(
    "send raw\n| \\r\\n\\t\\0\\x00\\xFF\\\\\\{\\}\\\"|#\n",
    Template::literal(b"\r\n\t\0\0\xff\\{}\"|#".to_vec())
)]
#[case::repeat("send raw\n| X-Long: {repeat 3 ab}\\r\\n\n", tpl(vec![bytes(b"X-Long: "), Piece::Repeat(3, Template::literal("ab")), bytes(b"\r\n")]))]
#[case::empty_line_mode_block_is_crlf("send\n|\n", Template::literal("\r\n"))]
#[case::utf8_content("send raw\n| é\n", Template::literal("é"))]
fn send_blocks(#[case] body: &str, #[case] expected: Template) {
    let c = case(body);
    assert_eq!(c.steps.len(), 1);
    let StepKind::Send { data, split, delay } = &c.steps[0].kind else {
        panic!("not a send: {:?}", c.steps[0])
    };
    assert_eq!(data, &expected);
    assert_eq!(*split, None);
    assert_eq!(delay, &ms(100));
    assert_eq!(c.steps[0].conn, DEFAULT_CONN);
    assert_eq!(c.steps[0].line, 3);
}

#[rstest]
#[case::connect("connect @x", "x", StepKind::Connect)]
#[case::send_split("send @slow split=1 delay=50ms\n| a", "slow", StepKind::Send { data: Template::literal("a\r\n"), split: Some(1), delay: ms(50) })]
#[case::send_split_default_delay("send raw split=4\n| abc", "main", StepKind::Send { data: Template::literal("abc"), split: Some(4), delay: ms(100) })]
#[case::send_options_any_order("send delay=1s raw split=2\n| a", "main", StepKind::Send { data: Template::literal("a"), split: Some(2), delay: d("1s") })]
#[case::sleep("sleep 250ms", "main", StepKind::Sleep(ms(250)))]
#[case::shutdown("shutdown", "main", StepKind::Shutdown)]
#[case::close("close @b", "b", StepKind::Close)]
#[case::response("response", "main", StepKind::Response { within: None, checks: vec![] })]
#[case::response_within("response @b-2 within 1.5s", "b-2", StepKind::Response { within: Some(d("1.5s")), checks: vec![] })]
#[case::no_response("no response @b for {keepalive}s + 1s", "b", StepKind::NoResponse { for_: d("{keepalive}s + 1s") })]
#[case::closed_within("closed within 3s", "main", StepKind::Closed { after: None, within: d("3s") })]
#[case::closed_after("closed @a after {keepalive}s - 500ms within {keepalive}s + 3s", "a", StepKind::Closed { after: Some(d("{keepalive}s - 500ms")), within: d("{keepalive}s + 3s") })]
#[case::open_default_probe("open for 1s", "main", StepKind::Open { for_: d("1s"), probe: None })]
#[case::open_with_probe(
    "open @main for 1s\n| HEAD / HTTP/1.1\n| Host: {host}\n|",
    "main",
    StepKind::Open { for_: d("1s"), probe: Some(tpl(vec![bytes(b"HEAD / HTTP/1.1\r\nHost: "), var("host"), bytes(b"\r\n\r\n")])) }
)]
fn steps(#[case] body: &str, #[case] conn: &str, #[case] expected: StepKind) {
    let c = case(body);
    assert_eq!(c.steps.len(), 1, "{:?}", c.steps);
    assert_eq!(c.steps[0].conn, conn);
    assert_eq!(c.steps[0].kind, expected);
}

#[rstest]
#[case::status("status 400", CheckKind::Status(vec![400]))]
#[case::statuses("status 200 304", CheckKind::Status(vec![200, 304]))]
#[case::status_line("status-line \"HTTP/1.1 200 OK\"", CheckKind::StatusLine("HTTP/1.1 200 OK".into()))]
#[case::reason("reason \"Not Found\"", CheckKind::Reason("Not Found".into()))]
#[case::header_present("header Date", CheckKind::Header { name: "Date".into(), test: HeaderTest::Present })]
#[case::header_equals("header Content-Type: text/html; charset=utf-8", CheckKind::Header { name: "Content-Type".into(), test: HeaderTest::Equals("text/html; charset=utf-8".into()) })]
#[case::header_equals_keeps_quotes("header ETag: \"abc\"", CheckKind::Header { name: "ETag".into(), test: HeaderTest::Equals("\"abc\"".into()) })]
#[case::header_equals_escapes("header X-A: a\\x20\\\"", CheckKind::Header { name: "X-A".into(), test: HeaderTest::Equals("a \"".into()) })]
#[case::header_equals_empty("header X-A:", CheckKind::Header { name: "X-A".into(), test: HeaderTest::Equals(String::new()) })]
#[case::header_contains("header Connection contains \"keep-alive\"", CheckKind::Header { name: "Connection".into(), test: HeaderTest::Contains("keep-alive".into()) })]
#[case::header_matches("header Content-Length matches \"^\\\\d+$\"", CheckKind::Header { name: "Content-Length".into(), test: HeaderTest::Matches("^\\d+$".into()) })]
#[case::no_header("no header Transfer-Encoding", CheckKind::NoHeader("Transfer-Encoding".into()))]
#[case::body_empty("body is empty", CheckKind::BodyEmpty)]
#[case::body_contains("body contains \"Invalid \\\"Method\\\"\"", CheckKind::BodyContains("Invalid \"Method\"".into()))]
#[case::body_matches("body matches \"(?i)hello\\\\s+world\"", CheckKind::BodyMatches("(?i)hello\\s+world".into()))]
#[case::body_file("body file css/style.css", CheckKind::BodyFile("css/style.css".into()))]
#[case::content_length("content-length", CheckKind::ContentLength)]
#[case::body_is(
    "body is\n| hello\n|",
    CheckKind::BodyIs(Template::literal("hello\r\n\r\n"))
)]
#[case::body_is_raw(
    "body is raw\n| hello\\n",
    CheckKind::BodyIs(Template::literal("hello\n"))
)]
fn checks(#[case] check: &str, #[case] expected: CheckKind) {
    for (prefix, non_strict) in [("", false), ("non-strict ", true)] {
        let c = case(&format!(
            "send\n| GET / HTTP/1.1\n|\n\nresponse within 2s\n{prefix}{check}\n"
        ));
        let StepKind::Response { checks, within } = &c.steps[1].kind else {
            panic!("not a response")
        };
        assert_eq!(within, &Some(d("2s")));
        assert_eq!(
            checks,
            &vec![Check {
                line: 8,
                non_strict,
                kind: expected.clone()
            }]
        );
    }
}

#[test]
fn checks_attach_to_the_response_above_them() {
    let c = case(
        "send\n| GET / HTTP/1.1\n|\nresponse\nstatus 200\n# a comment\n\nheader Date\n\nsend @b\n| x\nresponse @b\nno header Date\n",
    );
    let checks: Vec<Vec<usize>> = c
        .steps
        .iter()
        .filter_map(|s| match &s.kind {
            StepKind::Response { checks, .. } => Some(checks.iter().map(|c| c.line).collect()),
            _ => None,
        })
        .collect();
    assert_eq!(checks, vec![vec![7, 10], vec![15]]);
    assert_eq!(
        c.steps.iter().map(|s| s.line).collect::<Vec<_>>(),
        vec![3, 6, 12, 14]
    );
}

#[test]
fn requirements_timeouts_and_grading_checks() {
    let c = parse(
        "title: t\nrequires: type .JSON,  method head, no method POST, index index.htm, planted\n\
         timeout: {keepalive}s + 10s\nsend\n| x\nresponse\ncontent-type .jpg\n\
         no body contains \"secret\"\nform line-ends extra-bytes\nnon-strict no body contains \"x\"\n",
    )
    .unwrap();
    assert_eq!(
        c.requires,
        vec![
            Requirement::Type(".json".into()),
            Requirement::Method("HEAD".into()),
            Requirement::NoMethod("POST".into()),
            Requirement::Index("index.htm".into()),
            Requirement::Planted,
        ]
    );
    assert_eq!(c.timeout.to_string(), "{keepalive}s + 10s");
    let StepKind::Response { checks, .. } = &c.steps[1].kind else {
        panic!("a response step")
    };
    let kinds: Vec<&CheckKind> = checks.iter().map(|c| &c.kind).collect();
    assert_eq!(
        kinds,
        vec![
            &CheckKind::ContentType(".jpg".into()),
            &CheckKind::BodyLacks("secret".into()),
            &CheckKind::Form(vec![FormRule::LineEnds, FormRule::ExtraBytes]),
            &CheckKind::BodyLacks("x".into()),
        ]
    );
    assert!(checks[3].non_strict);
}

#[test]
fn metadata_and_defaults() {
    let c = parse("# comment\ntitle: Keep-alive: works\n\nsend\n| x\n").unwrap();
    assert_eq!(c.title, "Keep-alive: works");
    assert_eq!(
        (c.points, c.timeout.constant(), c.level, c.config.as_str()),
        (1.0, Some(Duration::from_secs(10)), Level::Must, "default")
    );
    assert!(c.tags.is_empty() && c.spec.is_none());
    assert_eq!(
        (c.id.as_str(), c.path.as_path()),
        ("t", Path::new("t.case"))
    );

    let c = parse(
        "title: t\npoints: 0.5\ntags: errors,  method ,x-y\nspec: assignment \"400 Bad Request\"\ntimeout: 1s + 500ms\nlevel: should\nconfig: broken\nsend\n| x\n",
    )
    .unwrap();
    assert_eq!(c.points, 0.5);
    assert_eq!(c.tags, vec!["errors", "method", "x-y"]);
    assert_eq!(c.spec.as_deref(), Some("assignment \"400 Bad Request\""));
    assert_eq!(c.timeout.constant(), Some(Duration::from_millis(1500)));
    assert!(c.requires.is_empty());
    assert_eq!(c.level, Level::Should);
    assert_eq!(c.config, "broken");
}

#[test]
fn a_hash_after_a_directive_is_not_a_comment() {
    let c = case("send\n| x\nresponse\nheader X: a # b\n");
    let StepKind::Response { checks, .. } = &c.steps[1].kind else {
        panic!()
    };
    assert_eq!(
        checks[0].kind,
        CheckKind::Header {
            name: "X".into(),
            test: HeaderTest::Equals("a # b".into())
        }
    );
    // ... so a `#` after step arguments is an error, not silently ignored.
    let e = errors("title: t\nsend\n| x\nresponse # read it\n");
    assert_eq!((e[0].line, e[0].col), (4, 10));
}

#[test]
fn files_without_final_newline_and_with_many_blank_lines() {
    let c = parse("title: t\n\n\n\nsend\n| x").unwrap();
    assert_eq!(c.steps[0].line, 5);
    assert_eq!(
        render(match &c.steps[0].kind {
            StepKind::Send { data, .. } => data,
            _ => panic!(),
        }),
        b"x\r\n"
    );
}

#[test]
fn readme_examples_parse() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../cases/README.md"))
            .unwrap();
    let blocks: Vec<&str> = readme
        .split("```")
        .skip(1)
        .step_by(2)
        .map(|b| b.strip_prefix('\n').unwrap_or(b))
        .collect();
    assert!(
        blocks.iter().filter(|b| b.contains("title:")).count() >= 2,
        "expected complete examples in cases/README.md"
    );
    for block in blocks {
        // A shell session (`harness record`'s example) is no case.
        if block.starts_with("console\n") {
            continue;
        }
        // Fragments (the connections and probe examples) get a title to make a whole case.
        let src = if block.contains("title:") {
            block.to_string()
        } else {
            format!("title: t\n{block}")
        };
        if let Err(d) = parse(&src) {
            panic!("README example does not parse:\n{src}\n{}", d[0]);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Bad snippets: line, column and message.

#[rstest]
#[case::unknown_directive("title: t\n\nsned\n", 3, 1, "unknown directive `sned`")]
#[case::unknown_word_in_line(
    "title: t\nsend\n| x\nrespons within 2s\n",
    4,
    1,
    "unknown directive `respons`"
)]
#[case::duplicate_metadata("title: a\ntitle: b\nsend\n| x\n", 2, 1, "duplicate `title:`")]
#[case::metadata_after_step(
    "title: t\nsend\n| x\npoints: 2\n",
    4,
    1,
    "metadata must come before the first step"
)]
#[case::unknown_metadata(
    "title: t\ntitel: x\nsend\n| x\n",
    2,
    1,
    "unknown metadata field `titel`"
)]
#[case::missing_title("send\n| x\n", 1, 1, "missing `title:`")]
#[case::empty_title("title:\nsend\n| x\n", 1, 7, "`title:` needs a value")]
#[case::no_steps("title: t\n", 1, 9, "no steps")]
#[case::bad_points("title: t\npoints: -1\nsend\n| x\n", 2, 9, "non-negative number")]
#[case::bad_level(
    "title: t\nlevel: maybe\nsend\n| x\n",
    2,
    8,
    "`must`, `should` or `may`"
)]
#[case::bad_requirement(
    "title: t\nrequires: type .json, colour red\nsend\n| x\n",
    2,
    23,
    "unknown requirement `colour red`"
)]
#[case::requirement_without_dot(
    "title: t\nrequires: type json\nsend\n| x\n",
    2,
    11,
    "`type .json`"
)]
#[case::form_unknown_rule(
    "title: t\nsend\n| x\nresponse\nform crlf\n",
    5,
    6,
    "expected `line-ends` or `reason` or `status-line` or `content-length`"
)]
#[case::form_without_rule("title: t\nsend\n| x\nresponse\nform\n", 5, 5, "at least one rule")]
#[case::form_non_strict(
    "title: t\nsend\n| x\nresponse\nnon-strict form reason\n",
    5,
    12,
    "`form` cannot be non-strict"
)]
#[case::content_type_without_dot(
    "title: t\nsend\n| x\nresponse\ncontent-type jpg\n",
    5,
    14,
    "needs an extension with its dot"
)]
#[case::no_body_without_contains(
    "title: t\nsend\n| x\nresponse\nno body is empty\n",
    5,
    9,
    "expected `contains`, found `is`"
)]
#[case::empty_tag("title: t\ntags: a,,b\nsend\n| x\n", 2, 9, "empty tag")]
#[case::delay_without_split("title: t\nsend delay=5ms\n| x\n", 2, 6, "`delay=` needs `split=N`")]
#[case::split_zero("title: t\nsend split=0\n| x\n", 2, 12, "after `split=`")]
#[case::send_twice_raw("title: t\nsend raw raw\n| x\n", 2, 10, "`raw` is given twice")]
#[case::send_conn_late("title: t\nsend raw @a\n| x\n", 2, 10, "comes right after `send`")]
#[case::send_unknown_option("title: t\nsend rwa\n| x\n", 2, 6, "found `rwa`")]
#[case::send_without_block("title: t\nsend\nresponse\n", 2, 1, "`send` needs a block")]
#[case::send_block_after_blank("title: t\nsend\n| x\n\n| y\n", 5, 1, "a block line must follow")]
#[case::block_without_owner("title: t\n| x\nsend\n| y\n", 2, 1, "a block line must follow")]
#[case::block_no_space("title: t\nsend\n|x\n", 3, 1, "expected a space after `|`")]
#[case::unknown_escape("title: t\nsend\n| ab\\qc\n", 3, 5, "unknown escape `\\q`")]
#[case::bad_hex("title: t\nsend\n| a\\xzz\n", 3, 4, "two hex digits")]
#[case::unclosed_var("title: t\nsend\n| a{host\n", 3, 4, "unclosed `{`")]
#[case::bad_var("title: t\nsend\n| a{ho st}\n", 3, 4, "invalid variable")]
#[case::unmatched_close("title: t\nsend\n| a}\n", 3, 4, "unmatched `}`")]
#[case::unclosed_repeat("title: t\nsend\n| x{repeat 3 ab\n", 3, 4, "unclosed `{repeat`")]
#[case::repeat_without_count("title: t\nsend\n| {repeat x}\n", 3, 11, "count")]
#[case::raw_cr("title: t\nsend\n| a\rb\n", 3, 4, "raw CR")]
#[case::crlf_line_ends("title: t\r\nsend\r\n| a\r\n", 1, 9, "CRLF")]
#[case::tab("title: t\nsend\n| a\tb\n", 3, 4, "tab")]
#[case::trailing_spaces("title: t  \nsend\n| x\n", 1, 9, "trailing spaces")]
#[case::trailing_space_in_block("title: t\nsend\n| x \n", 3, 4, "trailing spaces")]
#[case::bom("\u{feff}title: t\nsend\n| x\n", 1, 1, "byte order mark")]
#[case::leading_space("title: t\n send\n| x\n", 2, 1, "must not start with a space")]
#[case::check_without_response(
    "title: t\nstatus 200\n",
    2,
    1,
    "a check must follow a `response` step"
)]
#[case::check_after_other_step(
    "title: t\nresponse\nsend\n| x\nstatus 200\n",
    5,
    1,
    "a check must follow a `response` step"
)]
#[case::status_not_three_digits(
    "title: t\nsend\n| x\nresponse\nstatus 200 20\n",
    5,
    12,
    "three-digit"
)]
#[case::status_without_code("title: t\nsend\n| x\nresponse\nstatus\n", 5, 7, "at least one code")]
#[case::header_regex(
    "title: t\nsend\n| x\nresponse\nheader X matches \"a(\"\n",
    5,
    18,
    "invalid regex"
)]
#[case::body_regex(
    "title: t\nsend\n| x\nresponse\nbody matches \"[z-a]\"\n",
    5,
    14,
    "invalid regex"
)]
#[case::regex_backslash_must_be_escaped(
    "title: t\nsend\n| x\nresponse\nbody matches \"\\d\"\n",
    5,
    15,
    "unknown escape"
)]
#[case::unclosed_quote(
    "title: t\nsend\n| x\nresponse\nbody contains \"abc\n",
    5,
    15,
    "unclosed quoted string"
)]
#[case::unquoted_text(
    "title: t\nsend\n| x\nresponse\nbody contains abc\n",
    5,
    15,
    "expected a quoted string"
)]
#[case::var_in_quoted(
    "title: t\nsend\n| x\nresponse\nreason \"{x}\"\n",
    5,
    9,
    "`{` in a quoted string"
)]
#[case::non_strict_non_check(
    "title: t\nsend\n| x\nresponse\nnon-strict sned\n",
    5,
    12,
    "must be followed by a check"
)]
#[case::body_is_without_block(
    "title: t\nsend\n| x\nresponse\nbody is\nstatus 200\n",
    5,
    1,
    "`body is` needs a block"
)]
#[case::body_file_escapes_root(
    "title: t\nsend\n| x\nresponse\nbody file ../secret\n",
    5,
    11,
    "under the site root"
)]
#[case::header_bad_name(
    "title: t\nsend\n| x\nresponse\nheader X(Y)\n",
    5,
    9,
    "cannot be part of a header name"
)]
#[case::response_junk(
    "title: t\nsend\n| x\nresponse within 2s now\n",
    4,
    20,
    "unexpected `now`"
)]
#[case::response_typo("title: t\nsend\n| x\nresponse witin 2s\n", 4, 10, "expected `within`")]
#[case::duration_unit("title: t\nsleep 5min\n", 2, 8, "unknown unit `min`")]
#[case::duration_no_unit("title: t\nsleep 5\n", 2, 7, "needs a unit")]
#[case::duration_missing("title: t\nsleep\n", 2, 6, "expected a duration")]
#[case::duration_negative("title: t\nsleep 1s - 2s\n", 2, 7, "negative")]
#[case::sleep_conn("title: t\nsleep @a 1s\n", 2, 7, "`sleep` takes no connection")]
#[case::bad_conn("title: t\nsend @a!b\n| x\n", 2, 6, "invalid connection name")]
#[case::empty_conn("title: t\nclose @\n", 2, 7, "invalid connection name")]
#[case::no_what(
    "title: t\nno status\n",
    2,
    1,
    "expected `no response`, `no header` or `no body`"
)]
#[case::closed_order(
    "title: t\nsend\n| x\nclosed after 2s within 1s\n",
    4,
    14,
    "not shorter than"
)]
#[case::closed_missing("title: t\nclosed\n", 2, 7, "expected `within` or `after`")]
#[case::open_without_for("title: t\nopen 1s\n", 2, 6, "expected `for`")]
#[case::form_no_rule(
    "title: t\nsend\n| x\nresponse\nform\n",
    5,
    5,
    "`form` needs at least one rule"
)]
#[case::header_junk(
    "title: t\nsend\n| x\nresponse\nheader Server is \"x\"\n",
    5,
    15,
    "unexpected `is` after the header name"
)]
#[case::body_no_test("title: t\nsend\n| x\nresponse\nbody\n", 5, 5, "`body` needs a test")]
#[case::body_file_no_path(
    "title: t\nsend\n| x\nresponse\nbody file\n",
    5,
    10,
    "`body file` needs a path"
)]
#[case::metadata_without_colon(
    "title: t\nsend\n| x\npoints 2\n",
    4,
    1,
    "unknown directive `points`"
)]
fn bad_snippets(#[case] src: &str, #[case] line: usize, #[case] col: usize, #[case] message: &str) {
    let diags = errors(src);
    let first = &diags[0];
    assert!(
        first.message.contains(message),
        "expected {message:?}, got {:?} at {}:{}\n{first}",
        first.message,
        first.line,
        first.col
    );
    assert_eq!((first.line, first.col), (line, col), "\n{first}");
    assert_eq!(first.path, Path::new("t.case"));
}

#[rstest]
#[case::unknown_directive("title: t\nsned\n", "did you mean `send`?")]
#[case::unknown_directive_lists_all("title: t\nxyzzy\n", "expected one of: connect, send,")]
#[case::duplicate_points_first_line(
    "title: t\npoints: 1\n\npoints: 2\nsend\n| x\n",
    "already set on line 2"
)]
#[case::metadata_after_step("title: t\n\nsend\n| x\nlevel: should\n", "above line 3")]
#[case::metadata_typo("title: t\npoint: 2\nsend\n| x\n", "did you mean `points`?")]
#[case::metadata_without_colon("title: t\nsend\n| x\ntags errors\n", "`tags: VALUE`")]
#[case::tab_escape("title: t\nsend\n| a\tb\n", "`\\t`")]
#[case::trailing_space_escape("title: t\nsend\n| a \n", "`\\x20`")]
#[case::raw_cr_escape("title: t\nsend\n| a\rb\n", "`\\r`")]
#[case::empty_block_line("title: t\nsend\n| \n", "`|` alone")]
#[case::block_after_blank("title: t\nsend\n| a\n\n| b\n", "blank lines")]
#[case::regex_escape("title: t\nsend\n| x\nresponse\nbody matches \"\\d+\"\n", "`\\\\d`")]
#[case::var_in_quoted("title: t\nsend\n| x\nresponse\nbody contains \"{host}\"\n", "`\\{`")]
#[case::check_after_send(
    "title: t\nsend\n| x\nresponse\nsend\n| y\nstatus 200\n",
    "line 5 is `send`"
)]
#[case::duration_unit("title: t\nsleep 5\n", "`5s` or `5ms`")]
#[case::send_option_typo("title: t\nsend rwa\n| x\n", "did you mean `raw`?")]
fn bad_snippets_help(#[case] src: &str, #[case] help: &str) {
    let diags = errors(src);
    let got = diags[0].help.clone().unwrap_or_default();
    assert!(
        got.contains(help),
        "expected help {help:?}, got {got:?}\n{}",
        diags[0]
    );
}

#[test]
fn every_faulty_line_is_reported_once_in_line_order() {
    let src = "title: t\ntitle: again\nsned\nsend\n| a\\q \\x \n| {oops\nresponse\nstatus 2000 xyz\nnon-strict bdy\n";
    let diags = errors(src);
    let at: Vec<(usize, usize)> = diags.iter().map(|d| (d.line, d.col)).collect();
    // Line 5 has two bad escapes and a trailing space: only one fault is reported, the lint.
    assert_eq!(at, vec![(2, 1), (3, 1), (5, 9), (6, 3), (8, 8), (9, 12)]);
}

#[test]
fn lines_under_a_faulty_directive_are_checked_but_not_called_orphans() {
    let diags = errors("title: t\nsend @!\n| a\\q\n| b\nresponse\nsned\n| c\n| {x\n");
    assert_eq!(
        diags.iter().map(|d| (d.line, d.col)).collect::<Vec<_>>(),
        vec![(2, 6), (3, 4), (6, 1), (8, 3)]
    );
}

#[test]
fn checks_under_a_faulty_response_are_still_checked_but_not_misattached() {
    let diags = errors("title: t\nsend\n| x\nresponse within\nstatus 200\nstatus 2\n");
    assert_eq!(diags.iter().map(|d| d.line).collect::<Vec<_>>(), vec![4, 6]);
}

#[test]
fn diagnostic_renders_with_a_caret() {
    let diags = parse_case(
        "title: t\n\nsend\n| GET /\\q HTTP/1.1\n",
        Path::new("cases/get.case"),
        "get",
    )
    .unwrap_err();
    assert_eq!(
        diags[0].to_string(),
        "error: unknown escape `\\q`\n --> cases/get.case:4:8\n  |\n4 | | GET /\\q HTTP/1.1\n  |        ^^\n  = help: valid escapes are \\r \\n \\t \\0 \\xNN \\\\ \\{ \\} \\\"; write a backslash as `\\\\`"
    );
}

// ---------------------------------------------------------------------------------------------
// Properties.

/// Lines made of pieces of the format, to reach deep into the parser.
fn fragment() -> impl Strategy<Value = String> {
    let words = prop::sample::select(vec![
        "title: t",
        "points: 1.5",
        "tags: a, b",
        "timeout: 2s",
        "level: should",
        "send",
        "send raw",
        "send @a split=1",
        "send delay=1s",
        "| GET / HTTP/1.1",
        "|",
        "| \\",
        "| {repeat 3 a}",
        "| {host",
        "| \\x4",
        "response",
        "response within 1s",
        "status 200",
        "header X: y",
        "header X matches \"(\"",
        "body is",
        "body is raw",
        "non-strict",
        "no response for 1s",
        "closed after 1s within",
        "open for 1s",
        "sleep",
        "#",
        "",
        " ",
        "\r",
        "\t",
        "@",
        "{",
        "}",
        "\"",
        "\\",
        "é",
        "-",
        "+",
    ]);
    prop::collection::vec(
        prop_oneof![words.prop_map(String::from), any::<String>()],
        0..4,
    )
    .prop_map(|v| v.join(" "))
}

/// Splits escaped text into block lines of at most about 60 characters without cutting an
/// escape, writing a space at the end of a line as `\x20` (trailing spaces are not allowed).
fn block_lines(escaped: &str) -> Vec<String> {
    let mut atoms = Vec::new();
    let mut chars = escaped.chars();
    while let Some(c) = chars.next() {
        let atom = match c {
            '\\' => {
                let e = chars
                    .next()
                    .expect("escape_bytes never ends in a lone backslash");
                if e == 'x' {
                    format!("\\x{}{}", chars.next().unwrap(), chars.next().unwrap())
                } else {
                    format!("\\{e}")
                }
            }
            c => c.to_string(),
        };
        atoms.push(atom);
    }
    let mut lines = Vec::new();
    for chunk in atoms.chunks(40) {
        let mut line: Vec<String> = chunk.to_vec();
        if line.last().is_some_and(|a| a == " ") {
            *line.last_mut().unwrap() = "\\x20".to_string();
        }
        lines.push(line.concat());
    }
    lines
}

fn term() -> impl Strategy<Value = DurationTerm> {
    let amount = prop_oneof![
        (0u64..10_000_000, 0u32..4)
            .prop_map(|(n, scale)| Amount::Number(n as f64 / 10f64.powi(scale as i32))),
        (prop::num::f64::POSITIVE | prop::num::f64::ZERO).prop_map(Amount::Number),
        "[a-z_][a-z0-9_]{0,6}".prop_map(Amount::Var),
    ];
    (
        any::<bool>(),
        amount,
        prop::sample::select(vec![1.0, 1000.0]),
    )
        .prop_map(|(negative, amount, unit_ms)| DurationTerm {
            negative,
            amount,
            unit_ms,
        })
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(src in any::<String>()) {
        let _ = parse(&src);
    }

    #[test]
    fn format_like_text_never_panics(lines in prop::collection::vec(fragment(), 0..12)) {
        let _ = parse(&lines.join("\n"));
        let _ = parse(&format!("title: t\nsend\n| x\nresponse\n{}", lines.join("\n")));
    }

    #[test]
    fn transcript_escapes_round_trip(data in prop::collection::vec(any::<u8>(), 0..400)) {
        let mut src = String::from("title: t\nsend raw\n");
        let lines = block_lines(&escape_bytes(&data));
        if lines.is_empty() {
            src.push_str("|\n");
        }
        for line in lines {
            src.push_str(&format!("| {line}\n"));
        }
        let c = parse(&src).map_err(|d| TestCaseError::fail(format!("{src}\n{}", d[0])))?;
        let StepKind::Send { data: t, .. } = &c.steps[0].kind else { panic!() };
        prop_assert_eq!(t.render(&Vars::new()).unwrap(), data);
    }

    #[test]
    fn durations_round_trip_through_display(terms in prop::collection::vec(term(), 1..5)) {
        let expr = DurationExpr { terms };
        let shown = expr.to_string();
        let back: DurationExpr = shown.parse().map_err(TestCaseError::fail)?;
        prop_assert_eq!(back, expr, "{}", shown);
    }

    #[test]
    fn durations_from_std_round_trip(nanos in 0u64..10_000_000_000_000) {
        let d = Duration::from_nanos(nanos);
        let expr = DurationExpr::from_duration(d);
        let back: DurationExpr = expr.to_string().parse().unwrap();
        let got = back.eval(&Vars::new()).unwrap();
        let diff = (got.as_secs_f64() - d.as_secs_f64()).abs();
        prop_assert!(diff <= 1e-6, "{:?} -> {} -> {:?}", d, expr, got);
    }
}

// ---------------------------------------------------------------------------------------------
// Discovering and loading files.

fn write(root: &Path, rel: &str, text: &str) -> PathBuf {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

const GOOD: &str = "title: t\nsend\n| GET / HTTP/1.1\n|\nresponse\nstatus 200\n";

#[test]
fn discover_walks_folders_in_sorted_order_and_names_cases_by_relative_path() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for rel in [
        "z.case",
        "a/b.case",
        "a/a.case",
        "sub/deep/c.case",
        ".hidden/x.case",
        ".dot.case",
        "README.md",
        "a.case",
    ] {
        write(root, rel, GOOD);
    }
    let found = discover(&[root.to_path_buf()]).unwrap();
    let ids: Vec<&str> = found.iter().map(|(_, id)| id.as_str()).collect();
    assert_eq!(ids, vec!["a/a", "a/b", "a", "sub/deep/c", "z"]);
    assert_eq!(found[3].0, root.join("sub/deep/c.case"));
}

#[test]
fn a_file_given_directly_is_named_by_its_stem() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "errors/bad-method.case", GOOD);
    let found = discover(std::slice::from_ref(&file)).unwrap();
    assert_eq!(found, vec![(file, "bad-method".to_string())]);
}

#[test]
fn the_same_file_twice_is_listed_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "x.case", GOOD);
    let found = discover(&[dir.path().to_path_buf(), file]).unwrap();
    assert_eq!(found.len(), 1);
}

#[test]
fn two_files_with_one_id_are_an_error() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    write(a.path(), "x/get.case", GOOD);
    write(b.path(), "x/get.case", GOOD);
    match discover(&[a.path().to_path_buf(), b.path().to_path_buf()]) {
        Err(LoadError::DuplicateId { id, first, second }) => {
            assert_eq!(id, "x/get");
            assert_eq!(
                (first, second),
                (a.path().join("x/get.case"), b.path().join("x/get.case"))
            );
        }
        other => panic!("expected a duplicate id, got {other:?}"),
    }
}

#[test]
fn missing_paths_empty_folders_and_other_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    assert!(
        matches!(discover(std::slice::from_ref(&missing)), Err(LoadError::NotFound(p)) if p == missing)
    );
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    write(&empty, "notes.txt", "x");
    assert!(
        matches!(discover(std::slice::from_ref(&empty)), Err(LoadError::NoCases(p)) if p == vec![empty.clone()])
    );
    let txt = empty.join("notes.txt");
    assert!(
        matches!(discover(std::slice::from_ref(&txt)), Err(LoadError::NotACaseFile(p)) if p == txt)
    );
}

#[test]
fn load_parses_every_file_with_its_id() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "b.case", GOOD);
    write(
        dir.path(),
        "a/one.case",
        &GOOD.replace("title: t", "title: one"),
    );
    let cases = load(&[dir.path().to_path_buf()]).unwrap();
    let got: Vec<(&str, &str)> = cases
        .iter()
        .map(|c| (c.id.as_str(), c.title.as_str()))
        .collect();
    assert_eq!(got, vec![("a/one", "one"), ("b", "t")]);
    assert_eq!(cases[0].path, dir.path().join("a/one.case"));
}

#[test]
fn load_reports_the_diagnostics_of_all_files_at_once() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "good.case", GOOD);
    write(dir.path(), "one.case", "title: t\nsned\n");
    write(
        dir.path(),
        "two.case",
        "title: t\nsend\n| \\q\nresponse\nstatus 2\n",
    );
    std::fs::write(
        dir.path().join("three.case"),
        b"title: t\nsend\n| caf\xe9\n",
    )
    .unwrap();
    let err = load(&[dir.path().to_path_buf()]).unwrap_err();
    let LoadError::Invalid(diags) = &err else {
        panic!("expected diagnostics, got {err:?}")
    };
    let at: Vec<(String, usize, usize)> = diags
        .iter()
        .map(|d| {
            (
                d.path.file_name().unwrap().to_string_lossy().into_owned(),
                d.line,
                d.col,
            )
        })
        .collect();
    assert_eq!(
        at,
        vec![
            ("one.case".into(), 2, 1),
            ("three.case".into(), 3, 6),
            ("two.case".into(), 3, 3),
            ("two.case".into(), 5, 8)
        ]
    );
    assert!(diags[1].message.contains("not UTF-8"));
    let shown = err.to_string();
    assert!(shown.contains("error: unknown directive `sned`"), "{shown}");
    assert!(shown.ends_with("4 errors in 3 files"), "{shown}");
}
