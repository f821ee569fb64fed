//! Tests of the response reader: real-world shapes, defects and their rules, malformed and
//! incomplete responses, and the proof that how the bytes were cut into reads, and when the
//! close came, never changes what is read.

use super::framing::{scan_chunked, Chunks};
use super::head::{line_at, scan_head};
use super::trailing::Trailing;
use super::*;
use crate::form::FormRule;
use proptest::prelude::*;
use rstest::rstest;

fn complete(buf: &[u8], eof: bool, head: bool) -> (Response, usize) {
    match parse_response(buf, eof, head) {
        Parsed::Complete { response, consumed } => (response, consumed),
        other => panic!("expected a complete response, got {other:?}"),
    }
}

#[rstest]
// Clean.
#[case::clean(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false, 200, &[], b"hello", 0)]
#[case::http10(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n", false, 404, &[], b"", 0)]
#[case::reason_with_colon(b"HTTP/1.1 400 Bad Request, Reason: Invalid Method\r\nContent-Length: 0\r\n\r\n", false, 400, &[], b"", 0)]
#[case::trailing_space(b"HTTP/1.1 200 OK \r\nContent-Length: 2\r\n\r\nhi", false, 200, &[], b"hi", 0)]
#[case::no_ows(b"HTTP/1.1 200 OK\r\nContent-Length:3\r\n\r\nabc", false, 200, &[], b"abc", 0)]
#[case::same_cl_twice(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", false, 200, &[], b"x", 0)]
#[case::leftover_stays(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 200 OK\r\n", false, 200, &[], b"x", 17)]
#[case::leftover_nul_stays_while_open(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx\0\0\0", false, 200, &[], b"x", 3)]
#[case::chunked(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=1\r\n world\r\n0\r\n\r\n", false, 200, &[], b"hello world", 0)]
#[case::chunked_trailer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nX-T: 1\r\n\r\n", false, 200, &[], b"a", 0)]
#[case::no_body_204(b"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", false, 204, &[], b"", 0)]
#[case::interim(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n", false, 100, &[], b"", 17)]
// Defects.
#[case::nul_before(b"\0\0\0HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, 200, &["3 NUL bytes before the status line"], b"", 0)]
#[case::blank_before(b"\r\n  HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, 200, &["blank lines or spaces before the status line"], b"", 0)]
#[case::echoed_version(b"HTTP/2.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, 200, &["version HTTP/2.1 is not HTTP/1.0 or HTTP/1.1"], b"", 0)]
#[case::lf_only(b"HTTP/1.1 200 OK\nContent-Length: 2\n\nhi", false, 200, &["head uses bare LF line ends"], b"hi", 0)]
#[case::status_lf(b"HTTP/1.1 200 OK\nContent-Length: 2\r\n\r\nhi", false, 200, &["status line ends in a bare LF"], b"hi", 0)]
#[case::lf_then_crlf(b"HTTP/1.1 200 OK\nContent-Length: 2\n\r\nhi", false, 200, &["head uses bare LF line ends"], b"hi", 0)]
#[case::empty_reason(b"HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n", false, 200, &["no reason phrase"], b"", 0)]
#[case::no_space_after_code(b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", false, 200, &["no space after the status code"], b"", 0)]
#[case::no_cl_close(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html>", true, 200, &["no Content-Length (and no Connection: close): body read until close"], b"<html>", 0)]
// RFC 9112 §6.3: a body delimited by the close is valid when the close is announced, or in HTTP/1.0.
#[case::close_announced(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n<html>", true, 200, &[], b"<html>", 0)]
#[case::close_http10(b"HTTP/1.0 200 OK\r\n\r\n<html>", true, 200, &[], b"<html>", 0)]
#[case::cl_long_text_left(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabcd", true, 200, &[], b"ab", 2)]
#[case::cl_not_number(b"HTTP/1.1 200 OK\r\nContent-Length: 3346***\r\n\r\nab", true, 200, &["Content-Length \"3346***\" is not a number: body read until close"], b"ab", 0)]
#[case::cl_conflict(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", true, 200, &["conflicting Content-Length headers (1, 2): body read until close"], b"ab", 0)]
#[case::cl_short(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabcd", true, 200, &["Content-Length 10 but only 4 bytes arrived before close"], b"abcd", 0)]
#[case::cl_long_nul_left(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nab\0\0\0\0", true, 200, &[], b"ab", 4)]
#[case::cl_long_next_response_kept(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nab\r\nHTTP/1.1 200", true, 200, &[], b"ab", 14)]
#[case::head_with_body_left(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody", true, 200, &[], b"", 4)]
// Boundaries: an 18-digit Content-Length is a number; a 16-digit chunk size is refused.
#[case::cl_18_digits(b"HTTP/1.1 200 OK\r\nContent-Length: 000000000000000002\r\n\r\nhi", false, 200, &[], b"hi", 0)]
#[case::cl_19_digits(b"HTTP/1.1 200 OK\r\nContent-Length: 0000000000000000002\r\n\r\nhi", true, 200, &["Content-Length \"0000000000000000002\" is not a number: body read until close"], b"hi", 0)]
#[case::chunk_size_15_digits(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n000000000000001\r\na\r\n0\r\n\r\n", false, 200, &[], b"a", 0)]
fn real_world_shapes(
    #[case] input: &[u8],
    #[case] eof: bool,
    #[case] code: u16,
    #[case] defects: &[&str],
    #[case] body: &[u8],
    #[case] left: usize,
) {
    // `head_with_body` is the only HEAD case: a response to HEAD whose server sent the body.
    let head = input.ends_with(b"\r\n\r\nbody");
    let (r, used) = complete(input, eof, head);
    assert_eq!(r.code, code);
    assert_eq!(
        r.defects,
        defects,
        "defects of {:?}",
        String::from_utf8_lossy(input)
    );
    assert_eq!(r.body, body);
    assert_eq!(input.len() - used, left, "bytes left after the response");
}

#[rstest]
#[case::lf(b"HTTP/1.1 200 OK\nContent-Length: 0\n\n".as_slice(), FormRule::LineEnds)]
#[case::status_line(b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n".as_slice(), FormRule::StatusLine)]
#[case::reason(b"HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n".as_slice(), FormRule::Reason)]
#[case::version(b"HTTP/2.1 200 OK\r\nContent-Length: 0\r\n\r\n".as_slice(), FormRule::Version)]
#[case::no_cl(b"HTTP/1.1 200 OK\r\n\r\nab".as_slice(), FormRule::ContentLength)]
#[case::fold(b"HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n".as_slice(), FormRule::Fields)]
#[case::te(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nab".as_slice(), FormRule::Framing)]
fn each_defect_names_its_rule(#[case] input: &[u8], #[case] rule: FormRule) {
    let (r, _) = complete(input, true, false);
    let rules: Vec<FormRule> = r.defects.iter().map(|d| d.rule).collect();
    assert_eq!(rules, vec![rule], "{:?}", r.defects);
}

#[test]
fn junk_is_named_by_what_it_holds() {
    assert_eq!(junk_kind(b"  \r\n"), "whitespace");
    assert_eq!(junk_kind(b"\0\0\0"), "NUL");
    assert_eq!(junk_kind(b"\0 \0"), "NUL and whitespace");
    assert_eq!(junk_kind(b"\0<p>"), "text: \"\\0<p>\"");
}

#[test]
fn a_line_ends_at_its_lf_with_or_without_cr() {
    let bytes = b"ab\r\ncd\n\r\n\n";
    assert_eq!(line_at(bytes, 0), Some((&b"ab"[..], 4, false)));
    assert_eq!(line_at(bytes, 4), Some((&b"cd"[..], 7, true)));
    assert_eq!(line_at(bytes, 7), Some((&b""[..], 9, false)));
    // An empty line right after another line's LF: that LF is not its CR.
    assert_eq!(line_at(bytes, 9), Some((&b""[..], 10, true)));
    assert_eq!(line_at(b"no end", 0), None);
    // A LF at the very start: no byte before it to look at.
    assert_eq!(line_at(b"\nx", 0), Some((&b""[..], 1, true)));
}

#[test]
fn a_head_may_start_with_an_empty_line() {
    let head = scan_head(b"\nHTTP/1.1 200 OK\r\n\r\n").expect("a whole head");
    assert_eq!(head.lines, vec![&b""[..], &b"HTTP/1.1 200 OK"[..]]);
    assert_eq!((head.len, head.bare_lf, head.status_bare_lf), (20, 1, true));
}

#[test]
fn a_chunked_body_that_stops_keeps_its_raw_bytes() {
    let buf = b"\0HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel";
    let r = read_what_arrived(buf, false).expect("the head arrived");
    assert_eq!(r.code, 200);
    assert_eq!(r.body, b"5\r\nhel");
}

#[test]
fn a_chunk_size_of_16_digits_is_refused() {
    match scan_chunked(b"0000000000000001\r\na\r\n0\r\n\r\n", true) {
        Chunks::Malformed(m) => assert_eq!(
            m,
            "bad chunk size line \"0000000000000001\" at offset 0 of the chunked body"
        ),
        _ => panic!("a 16-digit chunk size was accepted"),
    }
}

#[test]
fn a_chunked_body_cut_after_a_chunks_data_and_its_lf() {
    // The LF after the data arrived, then the close: cut after the chunk's data.
    match scan_chunked(b"5\r\nhello\n", true) {
        Chunks::Malformed(m) => assert_eq!(
            m,
            "connection closed in the middle of the chunked body (after a chunk's data, after 8 bytes of it)"
        ),
        _ => panic!("a cut chunked body was accepted"),
    }
}

#[test]
fn bytes_after_a_response_are_left_for_the_trailing_judgement_even_when_closed() {
    // The server closed right after them: still not part of the response.
    let buf = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody<html>";
    let (r, used) = complete(buf, true, true);
    assert_eq!((r.body.as_slice(), r.defects.len()), (&b""[..], 0));
    let mut t = Trailing::default();
    t.add(&buf[used..]);
    assert_eq!(t.defect(r.framing).unwrap().rule, FormRule::NoBody);
}

#[test]
fn what_arrived_is_judged_when_the_body_never_ends() {
    // No length, NUL padding, the connection held open: the status is still read.
    let buf = b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/html\r\n\r\nInvalid Method\0\0\0";
    assert_eq!(parse_response(buf, false, false), Parsed::Incomplete);
    let r = read_what_arrived(buf, false).expect("the head arrived");
    assert_eq!(r.code, 400);
    assert_eq!(r.body, b"Invalid Method\0\0\0");
    assert!(r
        .unfinished
        .as_deref()
        .unwrap()
        .contains("no Content-Length"));
    assert_eq!(r.defects.len(), 1, "{:?}", r.defects);
    assert_eq!(r.defects[0].rule, FormRule::Framing);
    assert!(r.defects[0].text.starts_with("the body never ended"));
    // Fewer bytes than the Content-Length: the length is what is wrong.
    let r = read_what_arrived(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nab", false).unwrap();
    assert_eq!(r.defects[0].rule, FormRule::ContentLength);
    // A chunked body that stops.
    let r = read_what_arrived(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
        false,
    )
    .unwrap();
    assert_eq!((r.code, r.framing), (200, Framing::Chunked));
    // No head yet: nothing to judge.
    assert_eq!(read_what_arrived(b"HTTP/1.1 200 OK\r\n", false), None);
}

#[test]
fn fields_are_read() {
    let (r, _) = complete(
        b"HTTP/1.1 404 Not Found\r\nServer: x\r\nContent-Length:0\r\n\r\n",
        false,
        false,
    );
    assert_eq!(r.status_line, "HTTP/1.1 404 Not Found");
    assert_eq!(r.version, "HTTP/1.1");
    assert_eq!(r.reason, "Not Found");
    assert_eq!(
        r.headers,
        vec![
            ("Server".into(), "x".into()),
            ("Content-Length".into(), "0".into())
        ]
    );
    assert_eq!(r.header("content-length"), Some("0"));
    assert_eq!(r.framing, Framing::ContentLength(0));
    assert_eq!(r.leading, 0);
}

#[rstest]
#[case::nothing(b"", true, "connection closed before any response")]
#[case::only_nul(
    b"\0\0",
    true,
    "connection closed after 2 bytes (NUL) and no status line"
)]
#[case::garbage(
    b"Invalid request\n",
    false,
    "no status line: the response starts with \"Invalid request\\n\""
)]
#[case::html(b"<html>", true, "no status line")]
#[case::html_line(
    b"<html>\n<body>",
    false,
    "no status line: the response starts with \"<html>\\n\""
)]
#[case::cut_head(
    b"HTTP/1.1 200 OK\r\nCont",
    true,
    "connection closed in the middle of the head"
)]
#[case::bad_code(b"HTTP/1.1 2000 OK\r\n\r\n", false, "no three-digit status code")]
#[case::no_code(b"HTTP/1.1\r\n\r\n", false, "has no status code")]
#[case::bad_chunk(
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    false,
    "bad chunk size line \"zz\""
)]
#[case::chunk_no_crlf(
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabcd",
    false,
    "chunk of 2 bytes not followed by CRLF"
)]
#[case::chunk_cut(
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
    true,
    "connection closed in the middle of the chunked body"
)]
fn malformed(#[case] input: &[u8], #[case] eof: bool, #[case] why_contains: &str) {
    match parse_response(input, eof, false) {
        Parsed::Malformed { why } => assert!(why.contains(why_contains), "{why:?}"),
        other => panic!("expected malformed, got {other:?}"),
    }
}

#[rstest]
#[case::empty(b"")]
#[case::h(b"H")]
#[case::nul(b"\0\0")]
#[case::head_only(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab")]
#[case::no_cl(b"HTTP/1.1 200 OK\r\n\r\nabc")]
#[case::chunk_half(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab")]
fn incomplete_while_open(#[case] input: &[u8]) {
    assert_eq!(parse_response(input, false, false), Parsed::Incomplete);
}

#[test]
fn describes_what_is_missing() {
    assert_eq!(describe_incomplete(b"", false), "nothing arrived");
    let d = describe_incomplete(b"HTTP/1.1 200 OK\r\nContent-Length: 1024\r\n\r\nabc", false);
    assert!(d.contains("only 3 of the 1024 body bytes"), "{d}");
    let d = describe_incomplete(b"HTTP/1.1 200 OK\r\n\r\nabc", false);
    assert!(
        d.contains("no Content-Length, and the connection stayed open"),
        "{d}"
    );
    let d = describe_incomplete(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
        false,
    );
    assert!(
        d.ends_with("but the chunked body is not complete (5 bytes of it so far)"),
        "{d}"
    );
}

fn well_formed() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![Just("HTTP/1.0"), Just("HTTP/1.1")],
        200u16..600,
        "[A-Za-z][A-Za-z :,]{0,20}",
        proptest::collection::vec(("[A-Za-z][A-Za-z0-9-]{0,10}", "[ -~]{0,20}"), 0..5),
        proptest::collection::vec(any::<u8>(), 0..300),
        any::<bool>(),
        1usize..50,
    )
        .prop_map(|(version, code, reason, headers, body, chunked, piece)| {
            let code = if code == 204 || code == 304 {
                200
            } else {
                code
            };
            let mut out = format!("{version} {code} {reason}\r\n").into_bytes();
            for (n, v) in headers {
                let lower = n.to_ascii_lowercase();
                if lower == "content-length" || lower == "transfer-encoding" {
                    continue;
                }
                out.extend_from_slice(format!("X-{n}: {v}\r\n").as_bytes());
            }
            if chunked {
                out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
                for c in body.chunks(piece) {
                    out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
                    out.extend_from_slice(c);
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b"0\r\n\r\n");
            } else {
                out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
                out.extend_from_slice(&body);
            }
            out
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400), eof: bool, head: bool) {
        let _ = parse_response(&bytes, eof, head);
        let _ = describe_incomplete(&bytes, head);
    }

    #[test]
    fn http_like_bytes_never_panic(
        bytes in proptest::collection::vec(prop_oneof![
            Just(b"HTTP/1.1 200 OK\r\n".to_vec()), Just(b"\r\n".to_vec()), Just(b"\n".to_vec()),
            Just(b"Content-Length: 3\r\n".to_vec()), Just(b"Transfer-Encoding: chunked\r\n".to_vec()),
            Just(b"5\r\n".to_vec()), Just(b"0\r\n".to_vec()), Just(b"\0".to_vec()), Just(b"abc".to_vec()),
            Just(b"ffffffffffffffff\r\n".to_vec()), Just(b":".to_vec()), Just(b" ".to_vec()),
        ], 0..30),
        eof: bool, head: bool,
    ) {
        let bytes: Vec<u8> = bytes.concat();
        let _ = parse_response(&bytes, eof, head);
        let _ = describe_incomplete(&bytes, head);
    }

    #[test]
    fn split_anywhere_gives_the_same_response(resp in well_formed(), extra in proptest::collection::vec(any::<u8>(), 0..20)) {
        let (whole, consumed) = complete(&resp, false, false);
        prop_assert_eq!(consumed, resp.len());
        prop_assert!(whole.defects.is_empty(), "{:?}", whole.defects);
        for k in 0..resp.len() {
            prop_assert_eq!(parse_response(&resp[..k], false, false), Parsed::Incomplete, "prefix of {} bytes", k);
        }
        // Whatever follows does not change this response while the connection is open.
        let mut more = resp.clone();
        more.extend_from_slice(&extra);
        let (again, used) = complete(&more, false, false);
        prop_assert_eq!(again, whole);
        prop_assert_eq!(used, resp.len());
    }
}

/// A response, and what may follow it, in the shapes student servers send.
fn any_response() -> impl Strategy<Value = (Vec<u8>, bool)> {
    let shapes = prop_oneof![
        well_formed(),
        Just(b"HTTP/1.1 200 OK\nContent-Length: 5\n\nhello".to_vec()),
        Just(b"HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n".to_vec()),
        Just(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n<html>until close</html>".to_vec()),
        Just(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort".to_vec()),
        Just(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
                .to_vec()
        ),
        Just(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXY".to_vec()),
        Just(b"\0\0HTTP/1.0 400 Bad Request\r\nContent-Length: 3\r\n\r\nbad".to_vec()),
        Just(b"Invalid request: GRT\r\n".to_vec()),
        Just(b"HTTP/1.1 2000 OK\r\n\r\n".to_vec()),
    ];
    let after = prop_oneof![
        Just(Vec::new()),
        Just(b"\0\0\0\0".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"<!DOCTYPE HTML><title>Error</title>".to_vec()),
        Just(b"HTTP/1.0 400 Bad request\r\n\r\n".to_vec()),
    ];
    (shapes, after, any::<bool>()).prop_map(|(mut r, after, head)| {
        r.extend_from_slice(&after);
        (r, head)
    })
}

/// What the runner makes of `bytes` arriving in pieces (cut at `cuts`), the close coming with
/// the last piece (`close_early`) or only after a read that found the connection still open:
/// the first answer of the reader that is not "read more", and the bytes after the response,
/// judged as its trailing bytes once everything has arrived.
fn read_as_it_arrives(
    bytes: &[u8],
    cuts: &[usize],
    close_early: bool,
    head: bool,
) -> (Parsed, Option<crate::form::Defect>) {
    let mut ends: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    ends.push(bytes.len());
    ends.sort_unstable();
    ends.dedup();
    let mut answer = None;
    for (i, &end) in ends.iter().enumerate() {
        let eof = close_early && i + 1 == ends.len();
        match parse_response(&bytes[..end], eof, head) {
            Parsed::Incomplete => continue,
            other => {
                answer = Some(other);
                break;
            }
        }
    }
    let parsed = answer.unwrap_or_else(|| parse_response(bytes, true, head));
    let trailing = match &parsed {
        Parsed::Complete { response, consumed } => {
            let mut t = Trailing::default();
            t.add(&bytes[*consumed..]);
            t.defect(response.framing)
        }
        _ => None,
    };
    (parsed, trailing)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Same bytes, same reading: however the bytes were cut into reads, and whether the close
    /// came with the last of them or later, the response, its defects, how much it took and
    /// the judgement of the bytes after it are the same.
    #[test]
    fn reads_and_the_close_never_change_what_is_read(
        (bytes, head) in any_response(),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
        close_early: bool,
    ) {
        let whole = read_as_it_arrives(&bytes, &[], true, head);
        let pieces = read_as_it_arrives(&bytes, &cuts, close_early, head);
        prop_assert_eq!(pieces, whole);
    }
}
