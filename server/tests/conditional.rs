//! Conditional requests at the real binary (RFC 9110 §13): the ETag of every served file,
//! `If-None-Match` (304 for GET and HEAD, 412 for POST), `If-Match` (412 unless it names the
//! current tag or is `*`), on the first answer for a file and on later ones from the cache,
//! with reqwest and with raw TCP on a kept-alive connection (which shows that a 304 or a HEAD
//! answer carries no byte of content: the next response starts right after its head).

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use common::*;
use reqwest::blocking::Client;
use reqwest::StatusCode;
use rstest::rstest;

fn site(methods: &str) -> (Conf, Running) {
    let conf = Conf::new(&www(), 10, methods);
    let run = Running::start(&conf.path(), &[]);
    (conf, run)
}

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

fn index() -> Vec<u8> {
    std::fs::read(www().join("index.html")).unwrap()
}

/// `GET path` with the given header lines, by reqwest: status, ETag, body.
fn get(
    run: &Running,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, Option<String>, Vec<u8>) {
    let mut req = client().get(run.url(path));
    for (n, v) in headers {
        req = req.header(*n, *v);
    }
    let resp = req.send().unwrap();
    let etag = resp
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_string());
    (resp.status(), etag, resp.bytes().unwrap().to_vec())
}

/// A kept-alive connection for raw exchanges.
struct Conn {
    s: TcpStream,
    pending: Vec<u8>,
}

impl Conn {
    fn open(run: &Running) -> Conn {
        Conn {
            s: run.connect(),
            pending: Vec::new(),
        }
    }

    /// Sends `METHOD path` with `extra` header lines; reads one response, with a body only
    /// when `body` (a 304 or HEAD response has none, whatever its Content-Length says).
    fn ask(&mut self, method: &str, path: &str, extra: &str, body: bool) -> Resp {
        let req =
            format!("{method} {path} HTTP/1.1\r\nHost: t\r\nConnection: keep-alive\r\n{extra}\r\n");
        self.s.write_all(req.as_bytes()).unwrap();
        let r = read_one(&mut self.s, &mut self.pending, !body);
        assert_well_formed(&r);
        r
    }

    /// A plain GET, which must be the whole file: proves that nothing was left over from the
    /// response before.
    fn plain_get(&mut self) -> Resp {
        let r = self.ask("GET", "/index.html", "", true);
        assert_eq!(r.status, 200, "{}", r.status_line);
        assert_eq!(r.body, index());
        assert!(self.pending.is_empty(), "bytes after the file");
        r
    }
}

#[test]
fn every_served_file_has_a_strong_etag_that_stays_while_it_does() {
    let (_c, run) = site("GET HEAD");
    let (status, first, body) = get(&run, "/index.html", &[]);
    assert_eq!((status, body), (StatusCode::OK, index()));
    let first = first.expect("an ETag on a 200");
    assert!(
        first.starts_with('"') && first.ends_with('"') && !first.starts_with("W/"),
        "{first}"
    );
    // The second answer comes from the cache: the same tag.
    assert_eq!(get(&run, "/index.html", &[]).1.as_ref(), Some(&first));
    let (_, png, _) = get(&run, "/images/logo.png", &[]);
    assert!(png.is_some_and(|p| p != first), "each file its own tag");
    let (_, big, _) = get(&run, "/files/big.bin", &[]);
    assert!(big.is_some(), "a large, streamed file has one too");
}

#[test]
fn if_none_match_star_is_304_without_content_on_first_and_cached_answers() {
    let (_c, run) = site("GET HEAD");
    let mut c = Conn::open(&run);
    // Nothing served yet: the file is opened; then the same from the cache.
    for round in ["opened", "cached"] {
        let r = c.ask("GET", "/index.html", "If-None-Match: *\r\n", false);
        assert_eq!(r.status, 304, "{round}: {}", r.status_line);
        assert_eq!(r.status_line, "HTTP/1.1 304 Not Modified");
        assert!(r.header("ETag").is_some(), "{round}: a 304 keeps the ETag");
        assert_eq!(
            r.header("Content-Type"),
            None,
            "{round}: no representation metadata"
        );
        let len = index().len().to_string();
        assert_eq!(
            r.header("Content-Length"),
            Some(len.as_str()),
            "{round}: the 200's"
        );
        let ok = c.plain_get();
        assert_eq!(ok.header("ETag"), r.header("ETag"), "{round}");
    }
}

#[test]
fn the_etag_of_a_200_brings_a_304_and_if_match_with_it_serves() {
    let (_c, run) = site("GET HEAD");
    let (_, etag, _) = get(&run, "/index.html", &[]);
    let etag = etag.unwrap();
    let weak = format!("W/{etag}");
    let listed = format!("\"other\", {etag}");
    for inm in [&etag, &weak, &listed] {
        let (status, tag, body) = get(&run, "/index.html", &[("If-None-Match", inm)]);
        assert_eq!(status, StatusCode::NOT_MODIFIED, "If-None-Match: {inm}");
        assert_eq!(
            (tag.as_ref(), body.len()),
            (Some(&etag), 0),
            "If-None-Match: {inm}"
        );
    }
    for im in [&etag, &listed, &"*".to_string()] {
        let (status, _, body) = get(&run, "/index.html", &[("If-Match", im)]);
        assert_eq!((status, body), (StatusCode::OK, index()), "If-Match: {im}");
    }
    // If-Match compares strongly: a weak tag never matches.
    let (status, _, _) = get(&run, "/index.html", &[("If-Match", &weak)]);
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    // Another file's tag is no match.
    let (status, _, body) = get(&run, "/css/style.css", &[("If-None-Match", &etag)]);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, std::fs::read(www().join("css/style.css")).unwrap());
}

#[rstest]
#[case::unknown("\"no-such-etag\"")]
#[case::empty_list("")]
#[case::not_a_tag("no-quotes")]
#[case::star_in_a_list("*, \"x\"")]
fn if_match_without_the_current_tag_is_412(#[case] im: &str) {
    let (_c, run) = site("GET HEAD");
    for _ in ["opened", "cached"] {
        let (status, etag, body) = get(&run, "/index.html", &[("If-Match", im)]);
        assert_eq!(status, StatusCode::PRECONDITION_FAILED, "If-Match: {im}");
        assert_eq!(etag, None);
        let page = String::from_utf8(body).unwrap();
        assert!(
            page.contains("If-Match names no current entity tag of /index.html"),
            "{page}"
        );
        // Fill the cache for the next round.
        assert_eq!(get(&run, "/index.html", &[]).0, StatusCode::OK);
    }
}

#[test]
fn if_match_wins_over_if_none_match() {
    let (_c, run) = site("GET HEAD");
    let both = [("If-Match", "\"x\""), ("If-None-Match", "*")];
    assert_eq!(
        get(&run, "/index.html", &both).0,
        StatusCode::PRECONDITION_FAILED
    );
    let both = [("If-Match", "*"), ("If-None-Match", "\"x\"")];
    assert_eq!(get(&run, "/index.html", &both).0, StatusCode::OK);
}

#[test]
fn head_answers_the_same_without_content() {
    let (_c, run) = site("GET HEAD");
    let mut c = Conn::open(&run);
    let etag = c.plain_get().header("ETag").unwrap().to_string();
    let plain = c.ask("HEAD", "/index.html", "", false);
    assert_eq!(
        (plain.status, plain.header("ETag")),
        (200, Some(etag.as_str()))
    );
    let cases = [
        ("If-None-Match: *", 304),
        (&format!("If-None-Match: {etag}") as &str, 304),
        ("If-None-Match: \"x\"", 200),
        ("If-Match: *", 200),
        (&format!("If-Match: {etag}"), 200),
        ("If-Match: \"x\"", 412),
    ];
    for (field, status) in cases {
        let r = c.ask("HEAD", "/index.html", &format!("{field}\r\n"), false);
        assert_eq!(r.status, status, "HEAD with {field}");
        // Nothing follows the head: the next GET is answered in full.
        c.plain_get();
    }
}

#[rstest]
#[case::missing("GET", "/nope.html", 404)]
#[case::missing_head("HEAD", "/nope.html", 404)]
#[case::folder_without_slash("GET", "/docs", 301)]
#[case::unmapped_type("GET", "/files/archive.xyz", 501)]
#[case::method_not_supported("DELETE", "/index.html", 501)]
fn preconditions_are_ignored_when_no_file_would_be_served(
    #[case] method: &str,
    #[case] path: &str,
    #[case] status: u16,
) {
    let (_c, run) = site("GET HEAD");
    let mut c = Conn::open(&run);
    for field in ["If-Match: \"x\"", "If-None-Match: *", "If-Match: *"] {
        let r = c.ask(method, path, &format!("{field}\r\n"), method != "HEAD");
        assert_eq!(r.status, status, "{method} {path} with {field}");
        assert_eq!(r.header("ETag"), None);
    }
}

#[test]
fn post_gets_412_where_get_gets_304() {
    let (_c, run) = site("GET HEAD POST");
    let post = |field: (&str, &str)| {
        let resp = client()
            .post(run.url("/index.html"))
            .header(field.0, field.1)
            .body("name=x")
            .send()
            .unwrap();
        (resp.status(), resp.text().unwrap())
    };
    let (status, page) = post(("If-None-Match", "*"));
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    assert!(
        page.contains("If-None-Match names the current entity tag of /index.html"),
        "{page}"
    );
    let (status, page) = post(("If-Match", "*"));
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("name=x"),
        "the page with the posted data: {page}"
    );
}

#[test]
fn a_changed_file_gets_a_new_tag_and_the_old_one_no_304() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::write(root.join("f.txt"), "one").unwrap();
    let conf = Conf::new(&root, 10, "GET HEAD");
    let run = Running::start(&conf.path(), &[]);
    let (_, old, _) = get(&run, "/f.txt", &[]);
    let old = old.unwrap();
    // Cached now: a 304 from the cache.
    assert_eq!(
        get(&run, "/f.txt", &[("If-None-Match", &old)]).0,
        StatusCode::NOT_MODIFIED
    );
    // Rewritten at the same size, with another modification time (set, not waited for).
    std::fs::write(root.join("f.txt"), "two").unwrap();
    let then = std::time::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    let f = std::fs::File::options()
        .write(true)
        .open(root.join("f.txt"))
        .unwrap();
    f.set_modified(then).unwrap();
    drop(f);
    let (status, new, body) = get(&run, "/f.txt", &[("If-None-Match", &old)]);
    assert_eq!((status, body.as_slice()), (StatusCode::OK, &b"two"[..]));
    assert_ne!(new.as_ref(), Some(&old));
    assert_eq!(
        get(&run, "/f.txt", &[("If-Match", &old)]).0,
        StatusCode::PRECONDITION_FAILED
    );
}
