//! `ws.conf` parsing: the assignment's directives, with every error reported as
//! `file:line: what is wrong; what to write instead`.
//!
//! A file that cannot be read is a hard error ([`load`] returns `Err`). A file that reads but
//! does not parse still yields a [`Loaded`]: the `Listen` address if that much parsed, and the
//! list of errors, so the server can keep listening and answer 500 to everything.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::request::Method;

/// The port used when `Listen` is missing or unreadable.
pub const DEFAULT_PORT: u16 = 8080;

/// A fully valid configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `Listen` as written (`8888`, `127.0.0.1:8888`), normalised to `ADDR:PORT`.
    pub listen: Option<String>,
    /// Canonical absolute path of `DocumentRoot`.
    pub document_root: PathBuf,
    /// `DirectoryIndex` names, in order of preference.
    pub directory_index: Vec<String>,
    /// Lower-case extension without the dot → content type.
    pub content_types: HashMap<String, String>,
    /// Idle time after which a kept-alive connection is closed (0 disables keep-alive).
    pub keepalive: Duration,
    /// Methods the server answers (the rest of the valid ones get 501).
    pub methods: Vec<Method>,
}

/// One error in the file, with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based line number; 0 for errors about the file as a whole (e.g. no `DocumentRoot`).
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
        }
    }
}

/// The result of reading a config file that exists.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// `Listen` if it parsed, even when other lines did not.
    pub listen: Option<String>,
    /// The configuration, or every error found in the file.
    pub config: Result<Config, Vec<ConfigError>>,
    /// Non-fatal remarks (e.g. a listed method this server does not implement).
    pub warnings: Vec<ConfigError>,
}

/// Reads and parses `path`. Only an unreadable file is an `Err`.
pub fn load(path: &Path) -> std::io::Result<Loaded> {
    let text = std::fs::read(path)?;
    let text = String::from_utf8_lossy(&text);
    let base = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok(parse(&text, path, &base))
}

/// Parses the text of a config file. `base` is the folder a relative `DocumentRoot` is resolved
/// against (the config file's folder); the `DocumentRoot` must exist and be a directory.
pub fn parse(text: &str, file: &Path, base: &Path) -> Loaded {
    let mut p = Parser {
        file,
        base,
        errors: Vec::new(),
        warnings: Vec::new(),
        seen: HashMap::new(),
        found: Found::default(),
    };
    for (i, raw) in text.lines().enumerate() {
        p.line(i + 1, raw.trim());
    }
    p.finish()
}

/// The directives, lower-case.
const DIRECTIVES: [&str; 5] = [
    "listen",
    "documentroot",
    "directoryindex",
    "keepalivetime",
    "requestmethodsupport",
];

struct Parser<'a> {
    file: &'a Path,
    /// The folder a relative `DocumentRoot` is taken from.
    base: &'a Path,
    errors: Vec<ConfigError>,
    warnings: Vec<ConfigError>,
    /// Lower-case directive → line where it first appeared.
    seen: HashMap<String, usize>,
    found: Found,
}

/// What the lines read so far set.
#[derive(Default)]
struct Found {
    listen: Option<String>,
    root: Option<PathBuf>,
    index: Option<Vec<String>>,
    types: HashMap<String, String>,
    keepalive: Option<Duration>,
    methods: Option<Vec<Method>>,
}

impl Parser<'_> {
    /// One line (trimmed): blank, a comment, a content-type line or a directive.
    fn line(&mut self, n: usize, line: &str) {
        if line.is_empty() || line.starts_with('#') {
            return;
        }
        let (word, rest) = match line.split_once(|c: char| c.is_ascii_whitespace()) {
            Some((w, r)) => (w, r.trim()),
            None => (line, ""),
        };
        if let Some(ext) = word.strip_prefix('.') {
            if let Some(t) = self.content_type(n, ext, rest) {
                self.found.types.insert(ext.to_ascii_lowercase(), t);
            }
            return;
        }
        let key = word.to_ascii_lowercase();
        if !DIRECTIVES.contains(&key.as_str()) {
            self.err(n, format!(
                "unknown directive `{word}`: expected Listen, DocumentRoot, DirectoryIndex, \
                 KeepaliveTime, RequestMethodSupport, or a content-type line such as `.html text/html`"
            ));
            return;
        }
        if self.first_time(n, word, &key) {
            self.directive(n, &key, rest);
        }
    }

    /// A directive's value (`key` lower-case, seen for the first time).
    fn directive(&mut self, n: usize, key: &str, rest: &str) {
        match key {
            "listen" => self.found.listen = self.listen(n, rest),
            "documentroot" => self.found.root = self.document_root(n, rest),
            "directoryindex" => self.found.index = self.directory_index(n, rest),
            "keepalivetime" => self.found.keepalive = self.keepalive(n, rest),
            _ => self.found.methods = self.methods(n, rest),
        }
    }

    /// The whole file read: the configuration (defaults for what it did not set), or its
    /// errors.
    fn finish(mut self) -> Loaded {
        let found = std::mem::take(&mut self.found);
        if found.root.is_none() && !self.seen.contains_key("documentroot") {
            self.errors.push(ConfigError {
                file: self.file.to_path_buf(),
                line: 0,
                message: "no DocumentRoot: add a line such as `DocumentRoot \"www\"` (relative to this file's folder)".into(),
            });
        }
        let config = match (self.errors.is_empty(), found.root) {
            (true, Some(document_root)) => Ok(Config {
                listen: found.listen.clone(),
                document_root,
                directory_index: found.index.unwrap_or_else(|| vec!["index.html".into()]),
                content_types: found.types,
                keepalive: found.keepalive.unwrap_or(Duration::from_secs(10)),
                methods: found
                    .methods
                    .unwrap_or_else(|| vec![Method::Get, Method::Head]),
            }),
            _ => Err(self.errors),
        };
        Loaded {
            listen: found.listen,
            config,
            warnings: self.warnings,
        }
    }

    fn directory_index(&mut self, n: usize, rest: &str) -> Option<Vec<String>> {
        if rest.is_empty() {
            self.err(n, "DirectoryIndex has no file names: write e.g. `DirectoryIndex index.html index.htm`".into());
            return None;
        }
        Some(rest.split_ascii_whitespace().map(String::from).collect())
    }

    fn keepalive(&mut self, n: usize, rest: &str) -> Option<Duration> {
        match rest.parse::<u64>() {
            Ok(s) if s <= 86_400 => Some(Duration::from_secs(s)),
            _ => {
                self.err(n, format!(
                    "KeepaliveTime `{rest}` is not a number of seconds: write a whole number from 0 to 86400, e.g. `KeepaliveTime 10`"
                ));
                None
            }
        }
    }

    fn err(&mut self, line: usize, message: String) {
        self.errors.push(ConfigError {
            file: self.file.to_path_buf(),
            line,
            message,
        });
    }

    fn first_time(&mut self, line: usize, word: &str, key: &str) -> bool {
        if let Some(first) = self.seen.get(key) {
            let first = *first;
            self.err(
                line,
                format!("duplicate {word} (first given on line {first}): keep only one"),
            );
            return false;
        }
        self.seen.insert(key.to_string(), line);
        true
    }

    fn content_type(&mut self, n: usize, ext: &str, rest: &str) -> Option<String> {
        if ext.is_empty() || ext.contains(['.', '/']) {
            self.err(
                n,
                format!("`.{ext}` is not a file extension: write e.g. `.html text/html`"),
            );
            return None;
        }
        let ty = rest.split_ascii_whitespace().next();
        match ty {
            None => {
                self.err(
                    n,
                    format!(
                        "content-type line `.{ext}` has no type: write it as `.{ext} type/subtype`"
                    ),
                );
                None
            }
            Some(t) if !valid_media_type(t) => {
                self.err(n, format!("`{t}` is not a content type (expected type/subtype, e.g. text/html) for `.{ext}`"));
                None
            }
            Some(_) => Some(rest.to_string()),
        }
    }

    fn listen(&mut self, n: usize, rest: &str) -> Option<String> {
        let addr = match rest.parse::<u16>() {
            Ok(port) => format!("0.0.0.0:{port}"),
            Err(_) if rest.parse::<std::net::SocketAddr>().is_ok() => rest.to_string(),
            Err(_) => {
                self.err(n, format!(
                    "Listen `{rest}` is not a port or ADDR:PORT: write e.g. `Listen 8888` or `Listen 127.0.0.1:8888` (port 0-65535)"
                ));
                return None;
            }
        };
        Some(addr)
    }

    fn document_root(&mut self, n: usize, rest: &str) -> Option<PathBuf> {
        let base = self.base;
        let unq = rest
            .strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
            .unwrap_or(rest);
        if unq.is_empty() {
            self.err(
                n,
                "DocumentRoot has no path: write e.g. `DocumentRoot \"www\"`".into(),
            );
            return None;
        }
        if unq.contains('"') {
            self.err(
                n,
                format!(
                    "DocumentRoot {rest} has unbalanced quotes: write e.g. `DocumentRoot \"www\"`"
                ),
            );
            return None;
        }
        let path = base.join(unq);
        match std::fs::canonicalize(&path) {
            Ok(p) if p.is_dir() => Some(p),
            Ok(p) => {
                self.err(
                    n,
                    format!(
                        "DocumentRoot `{}` is not a directory: point it at the site's folder",
                        p.display()
                    ),
                );
                None
            }
            Err(e) => {
                self.err(n, format!(
                    "DocumentRoot `{}` cannot be used ({e}): create that folder or fix the path (a relative path is taken from the config file's folder)",
                    path.display()
                ));
                None
            }
        }
    }

    fn methods(&mut self, n: usize, rest: &str) -> Option<Vec<Method>> {
        let mut out = Vec::new();
        for word in rest.split_ascii_whitespace() {
            match Method::parse(word.as_bytes()) {
                Some(m) if m.implemented() => {
                    if !out.contains(&m) {
                        out.push(m)
                    }
                }
                Some(_) => self.warnings.push(ConfigError {
                    file: self.file.to_path_buf(),
                    line: n,
                    message: format!("{word} is listed in RequestMethodSupport but this server does not implement it; {word} requests get 501"),
                }),
                None => {
                    self.err(n, format!(
                        "`{word}` is not an HTTP method: RequestMethodSupport takes GET HEAD POST OPTIONS (PUT DELETE TRACE are accepted but answered 501)"
                    ));
                    return None;
                }
            }
        }
        if rest.is_empty() {
            self.err(
                n,
                "RequestMethodSupport lists no method: write e.g. `RequestMethodSupport GET HEAD`"
                    .into(),
            );
            return None;
        }
        Some(out)
    }
}

fn valid_media_type(t: &str) -> bool {
    let tok = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    match t.split_once('/') {
        Some((a, b)) => tok(a) && tok(b.split(';').next().unwrap_or("")),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const GOOD: &str =
        "# comment\nListen 8888\nDocumentRoot \"www\"\nDirectoryIndex index.html index.htm\n\
        .html text/html\n.png image/png\nKeepaliveTime 10\nRequestMethodSupport GET HEAD\n";

    fn parse_in(text: &str) -> (Loaded, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("www")).unwrap();
        std::fs::write(dir.path().join("afile"), "x").unwrap();
        let loaded = parse(text, Path::new("ws.conf"), dir.path());
        (loaded, dir)
    }

    #[test]
    fn good_file_parses_fully() {
        let (l, dir) = parse_in(GOOD);
        let c = l.config.unwrap();
        assert_eq!(c.listen.as_deref(), Some("0.0.0.0:8888"));
        assert_eq!(
            c.document_root,
            dir.path().join("www").canonicalize().unwrap()
        );
        assert_eq!(c.directory_index, vec!["index.html", "index.htm"]);
        assert_eq!(c.content_types["png"], "image/png");
        assert_eq!(c.keepalive, Duration::from_secs(10));
        assert_eq!(c.methods, vec![Method::Get, Method::Head]);
    }

    #[rstest]
    #[case::minimal("DocumentRoot www\n", None, 10)]
    #[case::addr_port(
        "Listen 127.0.0.1:9000\nDocumentRoot \"www\"\n",
        Some("127.0.0.1:9000"),
        10
    )]
    #[case::crlf_and_spaces(
        "  Listen   8000\r\n\tDocumentRoot   \"www\"  \r\nKeepaliveTime 0\r\n",
        Some("0.0.0.0:8000"),
        0
    )]
    #[case::lowercase_directives(
        "listen 1\ndocumentroot www\nkeepalivetime 3\n",
        Some("0.0.0.0:1"),
        3
    )]
    #[case::type_with_params("DocumentRoot www\n.html text/html; charset=utf-8\n", None, 10)]
    fn good_files(#[case] text: &str, #[case] listen: Option<&str>, #[case] keepalive: u64) {
        let (l, _d) = parse_in(text);
        let c = l.config.unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(c.listen.as_deref(), listen);
        assert_eq!(c.keepalive.as_secs(), keepalive);
    }

    #[rstest]
    #[case::type_missing("DocumentRoot www\n.png\n", 2, "content-type line `.png` has no type")]
    #[case::type_not_media("DocumentRoot www\n.png png\n", 2, "`png` is not a content type")]
    #[case::no_root("Listen 8888\n", 0, "no DocumentRoot")]
    #[case::root_missing("DocumentRoot \"nope\"\n", 1, "cannot be used")]
    #[case::root_is_file("DocumentRoot afile\n", 1, "is not a directory")]
    #[case::root_empty("DocumentRoot \"\"\n", 1, "DocumentRoot has no path")]
    #[case::bad_port("Listen 88x8\nDocumentRoot www\n", 1, "Listen `88x8` is not a port")]
    #[case::port_too_big("Listen 70000\nDocumentRoot www\n", 1, "is not a port")]
    #[case::bad_keepalive(
        "DocumentRoot www\nKeepaliveTime ten\n",
        2,
        "KeepaliveTime `ten` is not a number"
    )]
    #[case::negative_keepalive("DocumentRoot www\nKeepaliveTime -1\n", 2, "is not a number")]
    #[case::unknown_directive(
        "DocumentRoot www\nServerName x\n",
        2,
        "unknown directive `ServerName`"
    )]
    #[case::bad_method(
        "DocumentRoot www\nRequestMethodSupport GET FETCH\n",
        2,
        "`FETCH` is not an HTTP method"
    )]
    #[case::no_methods("DocumentRoot www\nRequestMethodSupport\n", 2, "lists no method")]
    #[case::duplicate(
        "DocumentRoot www\nListen 1\nListen 2\n",
        3,
        "duplicate Listen (first given on line 2)"
    )]
    #[case::empty_index(
        "DocumentRoot www\nDirectoryIndex\n",
        2,
        "DirectoryIndex has no file names"
    )]
    #[case::bad_ext("DocumentRoot www\n. text/html\n", 2, "is not a file extension")]
    #[case::keepalive_over_a_day(
        "DocumentRoot www\nKeepaliveTime 86401\n",
        2,
        "KeepaliveTime `86401` is not a number of seconds"
    )]
    #[case::type_no_subtype("DocumentRoot www\n.x text/\n", 2, "`text/` is not a content type")]
    #[case::type_no_type("DocumentRoot www\n.x /html\n", 2, "`/html` is not a content type")]
    #[case::type_bad_char(
        "DocumentRoot www\n.x te(t/html\n",
        2,
        "`te(t/html` is not a content type"
    )]
    fn bad_files(#[case] text: &str, #[case] line: usize, #[case] message: &str) {
        let (l, _d) = parse_in(text);
        let errs = l.config.expect_err("should not parse");
        // One mistake, one error: a bad DocumentRoot line is not also "no DocumentRoot".
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].line, line, "{errs:?}");
        assert!(
            errs[0].message.contains(message),
            "expected `{message}`, got {errs:?}"
        );
        let shown = errs[0].to_string();
        let place = if line == 0 {
            "ws.conf: ".to_string()
        } else {
            format!("ws.conf:{line}: ")
        };
        assert!(shown.starts_with(&place), "{shown}");
    }

    #[test]
    fn keepalive_up_to_a_day_is_accepted() {
        let (l, _d) = parse_in("DocumentRoot www\nKeepaliveTime 86400\n");
        assert_eq!(l.config.unwrap().keepalive, Duration::from_secs(86_400));
    }

    #[test]
    fn broken_file_keeps_listen() {
        let (l, _d) = parse_in("Listen 8123\nDocumentRoot www\n.png\n");
        assert_eq!(l.listen.as_deref(), Some("0.0.0.0:8123"));
        assert!(l.config.is_err());
    }

    #[test]
    fn unimplemented_methods_are_warnings() {
        let (l, _d) = parse_in("DocumentRoot www\nRequestMethodSupport GET PUT\n");
        assert_eq!(l.config.unwrap().methods, vec![Method::Get]);
        assert_eq!(l.warnings.len(), 1);
        assert_eq!(l.warnings[0].line, 2);
    }
}
