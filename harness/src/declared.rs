//! What a submission's `ws.conf` declares: its content types, the methods it supports, its
//! DirectoryIndex names and its KeepaliveTime. Cases follow it: `requires: type .json` skips a
//! case when the file maps no type to `.json`, and `content-type .jpg` expects the type the file
//! maps `.jpg` to (the handout's own `.jpg image/jpg` included).
//!
//! Student files come in many spellings, so the reader is forgiving: `#` comments, `KEY VALUE`,
//! `KEY=VALUE`, `KEY: VALUE`, quoted values, tabs, CRLF, and a value on the line after its key.
//! It never fails: what it cannot read is simply not declared.

use std::path::Path;

/// The declarations the cases can depend on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Declared {
    /// Where they were read from, for skip reasons: `ws.conf`, `the submission's ws.conf`.
    pub source: String,
    /// `(".jpg", "image/jpg")`, extensions lower-cased, in file order.
    pub types: Vec<(String, String)>,
    /// `RequestMethodSupport` (upper-cased); `None` when the file has no such line.
    pub methods: Option<Vec<String>>,
    /// `DirectoryIndex` names in order; `None` when the file has no such line.
    pub index: Option<Vec<String>>,
    /// `KeepaliveTime` in seconds, in any common spelling.
    pub keepalive: Option<f64>,
}

/// One requirement of a case (`requires:`), met or not by a [`Declared`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// `type .EXT`: the file maps a content type to `.EXT`.
    Type(String),
    /// `method M`: `M` is in RequestMethodSupport.
    Method(String),
    /// `no method M`: RequestMethodSupport is declared and leaves `M` out.
    NoMethod(String),
    /// `index NAME`: NAME is one of the DirectoryIndex names.
    Index(String),
    /// `planted`: a file `secret.html` holding [`SECRET`] sits beside DocumentRoot (`--start`
    /// plants it; with `--target`, plant it yourself and pass `--var planted=yes`).
    Planted,
}

/// The text of the file planted beside DocumentRoot; a body holding it came from outside the root.
pub const SECRET: &str = "httpcheck-planted-secret-4f1d";
/// The planted file's name, beside (not inside) DocumentRoot.
pub const SECRET_FILE: &str = "secret.html";

impl Requirement {
    /// Parses `type .json`, `method HEAD`, `no method HEAD`, `index index.htm`, `planted`.
    pub fn parse(text: &str) -> Result<Requirement, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let req = match words.as_slice() {
            ["type", ext] if ext.starts_with('.') && ext.len() > 1 => {
                Requirement::Type(ext.to_ascii_lowercase())
            }
            ["type", other] => {
                return Err(format!(
                    "`type` takes an extension with its dot, e.g. `type .json`, not `{other}`"
                ))
            }
            ["method", m] => Requirement::Method(m.to_ascii_uppercase()),
            ["no", "method", m] => Requirement::NoMethod(m.to_ascii_uppercase()),
            ["index", name] => Requirement::Index(name.to_string()),
            ["planted"] => Requirement::Planted,
            _ => {
                return Err(format!(
                "unknown requirement `{text}`: expected `type .EXT`, `method M`, `no method M`, \
                     `index NAME` or `planted`"
            ))
            }
        };
        Ok(req)
    }
}

impl std::fmt::Display for Requirement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Requirement::Type(e) => write!(f, "type {e}"),
            Requirement::Method(m) => write!(f, "method {m}"),
            Requirement::NoMethod(m) => write!(f, "no method {m}"),
            Requirement::Index(n) => write!(f, "index {n}"),
            Requirement::Planted => f.write_str("planted"),
        }
    }
}

impl Declared {
    /// Reads a ws.conf; an unreadable file declares nothing (and says so in `source`).
    pub fn read(path: &Path, source: &str) -> Declared {
        match std::fs::read(path) {
            Ok(bytes) => Declared::parse(&String::from_utf8_lossy(&bytes), source),
            Err(e) => Declared {
                source: format!("{source} ({} could not be read: {e})", path.display()),
                ..Declared::default()
            },
        }
    }

    /// Reads the declarations out of a ws.conf's text.
    pub fn parse(text: &str, source: &str) -> Declared {
        let mut d = Declared {
            source: source.to_string(),
            ..Declared::default()
        };
        let lines: Vec<Vec<String>> = text.lines().map(words).collect();
        for (i, w) in lines.iter().enumerate() {
            let Some(key) = w.first() else { continue };
            // A value on the line after its key: `DirectoryIndex` alone, then `index.html`.
            let value: Vec<String> = if w.len() > 1 {
                w[1..].to_vec()
            } else {
                next_value(&lines, i)
            };
            d.take(key, w, value);
        }
        d
    }

    fn take(&mut self, key: &str, line: &[String], value: Vec<String>) {
        let norm: String = key
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if key.starts_with('.') && key.len() > 1 {
            if let Some(t) = value.first() {
                let ext = key.to_ascii_lowercase();
                if !self.types.iter().any(|(e, _)| *e == ext) {
                    self.types.push((ext, t.clone()));
                }
            }
        } else if norm.contains("method") {
            let methods = value.iter().map(|m| m.to_ascii_uppercase()).collect();
            self.methods
                .get_or_insert_with(Vec::new)
                .extend::<Vec<_>>(methods);
        } else if norm == "directoryindex" || norm == "index" || norm == "defaultpage" {
            self.index.get_or_insert_with(Vec::new).extend(value);
        } else if self.keepalive.is_none() {
            self.keepalive = keepalive_value(line, &value);
        }
    }

    /// The type declared for `.ext`, if any.
    pub fn type_of(&self, ext: &str) -> Option<&str> {
        let ext = ext.to_ascii_lowercase();
        self.types
            .iter()
            .find(|(e, _)| *e == ext)
            .map(|(_, t)| t.as_str())
    }

    /// `None` when the requirement is met, else why not (a skip reason).
    pub fn unmet(&self, req: &Requirement, planted: bool) -> Option<String> {
        let src = &self.source;
        match req {
            Requirement::Type(ext) => match self.type_of(ext) {
                Some(_) => None,
                None => Some(format!("{src} maps no content type to {ext}")),
            },
            Requirement::Method(m) | Requirement::NoMethod(m) => {
                let Some(methods) = &self.methods else {
                    return undeclared_methods(req, src);
                };
                let has = methods.iter().any(|x| x == m);
                match (req, has) {
                    (Requirement::Method(_), false) => Some(format!(
                        "{src} does not list {m} in RequestMethodSupport ({})",
                        methods.join(" ")
                    )),
                    (Requirement::NoMethod(_), true) => {
                        Some(format!("{src} lists {m} in RequestMethodSupport"))
                    }
                    _ => None,
                }
            }
            Requirement::Index(name) => match &self.index {
                Some(names) if names.iter().any(|n| n == name) => None,
                Some(names) => Some(format!(
                    "{src} does not name {name} in DirectoryIndex ({})",
                    names.join(" ")
                )),
                None => Some(format!("{src} has no DirectoryIndex line")),
            },
            Requirement::Planted => (!planted).then(|| {
                format!(
                    "no {SECRET_FILE} was planted beside DocumentRoot (--start plants one; with \
                     --target plant it yourself holding \"{SECRET}\" and pass --var planted=yes)"
                )
            }),
        }
    }
}

/// Whether a method requirement holds for a ws.conf with no RequestMethodSupport line (the
/// handout's own file has none): the assignment's GET is supported; POST, DELETE and the
/// others are not (the assignment answers POST with 501); HEAD is the student's choice, so
/// neither `method HEAD` nor `no method HEAD` holds and both kinds of case skip.
fn undeclared_methods(req: &Requirement, src: &str) -> Option<String> {
    let none = || format!("{src} has no RequestMethodSupport line");
    match req {
        Requirement::Method(m) if m == "GET" => None,
        Requirement::Method(_) => Some(format!("{}: only GET is assumed", none())),
        Requirement::NoMethod(m) if m == "GET" => Some(format!("{}: GET is assumed", none())),
        Requirement::NoMethod(m) if m == "HEAD" => Some(format!(
            "{}: HEAD is the submission's choice, so neither 200 nor 501 is required",
            none()
        )),
        _ => None,
    }
}

/// The words of a line: comments cut, `=` and `:` after the key taken as spaces, quotes removed.
fn words(line: &str) -> Vec<String> {
    let line = line.trim_end_matches('\r');
    if line.trim_start().starts_with('#') {
        return Vec::new();
    }
    let line = match line.find(" #").or_else(|| line.find("\t#")) {
        Some(i) => &line[..i],
        None => line,
    };
    line.split(|c: char| c.is_whitespace() || c == '=' || c == ',')
        .map(|w| w.trim_matches(|c| c == '"' || c == '\'' || c == ':' || c == ';'))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// The words of the next non-empty line, when it is a bare value (not a key of its own).
fn next_value(lines: &[Vec<String>], i: usize) -> Vec<String> {
    let Some(next) = lines[i + 1..].iter().find(|w| !w.is_empty()) else {
        return Vec::new();
    };
    let first = &next[0];
    let looks_like_key = first.starts_with('.')
        || first.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            && first.chars().any(|c| c.is_ascii_lowercase())
            && !first.contains('/');
    if looks_like_key {
        Vec::new()
    } else {
        next.clone()
    }
}

/// A keep-alive time from a line such as `KeepaliveTime 10`, `Keep-Alive time 10`,
/// `keep_alive=10`, `KeepAliveTimeout 10` or `Timeout 10`.
fn keepalive_value(line: &[String], value: &[String]) -> Option<f64> {
    let key: String = line
        .iter()
        .take_while(|w| w.parse::<f64>().is_err())
        .flat_map(|w| w.chars())
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    let known = key.starts_with("keepalive") || key == "timeout";
    if !known {
        return None;
    }
    line.iter()
        .chain(value)
        .find_map(|w| w.parse::<f64>().ok())
        .filter(|n| n.is_finite() && *n >= 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HANDOUT: &str = "#serviceport number\nListen 8888\n#document root\n\
        DocumentRoot \"/home/student/www\"\n#default web page\nDirectoryIndex index.html\n\
        #Content-Type which the server handles\n.html text/html\n.htm text/html\n\
        .txt text/plain\n.png image/png\n.gif image/gif\n.jpg image/jpg\n.css text/css\n\
        .js text/javascript\n.ico image/x-icon\n#Keep-Alive time\nKeep-Alive time 10\n";

    #[test]
    fn reads_the_handout_file() {
        let d = Declared::parse(HANDOUT, "ws.conf");
        assert_eq!(d.type_of(".jpg"), Some("image/jpg"));
        assert_eq!(d.type_of(".JPG"), Some("image/jpg"));
        assert_eq!(d.type_of(".json"), None);
        assert_eq!(d.index, Some(vec!["index.html".to_string()]));
        assert_eq!(d.methods, None);
        assert_eq!(d.keepalive, Some(10.0));
    }

    #[test]
    fn reads_other_spellings() {
        let text = "DocumentRoot=www\r\nDirectoryIndex\r\n  index.html index.htm\r\n\
                    RequestMethodSupport: GET, head\r\n.json\tapplication/json  # data\r\n\
                    keep_alive = 3\r\n.jpg\nimage/jpeg\n";
        let d = Declared::parse(text, "x");
        assert_eq!(
            d.index,
            Some(vec!["index.html".to_string(), "index.htm".to_string()])
        );
        assert_eq!(d.methods, Some(vec!["GET".to_string(), "HEAD".to_string()]));
        assert_eq!(d.type_of(".json"), Some("application/json"));
        assert_eq!(d.type_of(".jpg"), Some("image/jpeg"));
        assert_eq!(d.keepalive, Some(3.0));
        for (line, want) in [
            ("KeepaliveTime 7", Some(7.0)),
            ("KeepAliveTimeout 7", Some(7.0)),
            ("Keep-Alive-Time 7", Some(7.0)),
            ("Timeout 7", Some(7.0)),
            ("KeepAlive On", None),
            ("Listen 8080", None),
        ] {
            assert_eq!(Declared::parse(line, "x").keepalive, want, "{line}");
        }
    }

    #[test]
    fn requirements_say_why_they_are_unmet() {
        let d = Declared::parse(HANDOUT, "the submission's ws.conf");
        let unmet = |r: &str| d.unmet(&Requirement::parse(r).unwrap(), false);
        assert_eq!(unmet("type .png"), None);
        assert_eq!(
            unmet("type .json").as_deref(),
            Some("the submission's ws.conf maps no content type to .json")
        );
        assert_eq!(
            unmet("method HEAD").as_deref(),
            Some("the submission's ws.conf has no RequestMethodSupport line: only GET is assumed")
        );
        assert!(unmet("no method HEAD")
            .unwrap()
            .contains("HEAD is the submission's choice"));
        assert_eq!(
            unmet("no method POST"),
            None,
            "the assignment answers POST with 501"
        );
        assert_eq!(unmet("no method DELETE"), None);
        assert_eq!(unmet("method GET"), None);
        assert_eq!(unmet("index index.html"), None);
        assert!(unmet("index index.htm").unwrap().contains("(index.html)"));
        assert!(unmet("planted").unwrap().contains("--var planted=yes"));
        let with_methods = Declared::parse("RequestMethodSupport GET POST", "w");
        let req = |r: &str| with_methods.unmet(&Requirement::parse(r).unwrap(), true);
        assert!(req("method HEAD").unwrap().contains("(GET POST)"));
        assert_eq!(req("no method HEAD"), None);
        assert!(req("no method GET").is_some());
        assert_eq!(req("planted"), None);
    }

    #[test]
    fn read_takes_a_file_and_names_one_it_cannot_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ws.conf");
        std::fs::write(&path, ".json application/json\n").unwrap();
        let d = Declared::read(&path, "ws.conf");
        assert_eq!(
            (d.source.as_str(), d.type_of(".json")),
            ("ws.conf", Some("application/json"))
        );
        let gone = Declared::read(&dir.path().join("none.conf"), "the submission's ws.conf");
        assert!(
            gone.source.starts_with("the submission's ws.conf ("),
            "{}",
            gone.source
        );
        assert!(
            gone.source.contains("none.conf could not be read"),
            "{}",
            gone.source
        );
        assert_eq!(gone.types, vec![]);
    }

    #[test]
    fn quotes_colons_and_semicolons_around_words_are_not_part_of_them() {
        let d = Declared::parse(
            "DirectoryIndex 'home.html' \"main.htm\";\n\".css\": \"text/css\",\n",
            "x",
        );
        assert_eq!(d.index, Some(vec!["home.html".into(), "main.htm".into()]));
        assert_eq!(d.type_of(".css"), Some("text/css"));
    }

    #[test]
    fn index_spellings_and_lines_that_are_not_what_they_seem() {
        for line in [
            "DirectoryIndex home.html",
            "Index home.html",
            "DefaultPage home.html",
        ] {
            let d = Declared::parse(line, "x");
            assert_eq!(d.index, Some(vec!["home.html".into()]), "{line}");
        }
        assert_eq!(
            Declared::parse(". text/html", "x").types,
            vec![],
            "a dot is no extension"
        );
        assert_eq!(Declared::parse("KeepaliveTime -5", "x").keepalive, None);
    }

    #[test]
    fn a_key_alone_does_not_take_the_next_setting_as_its_value() {
        for text in [
            "DirectoryIndex\n.html text/html\n",
            "DirectoryIndex\nListen 8080\n",
        ] {
            let d = Declared::parse(text, "x");
            assert_eq!(d.index, Some(vec![]), "{text:?}");
        }
        let d = Declared::parse("DirectoryIndex\nText/index.html\n", "x");
        assert_eq!(
            d.index,
            Some(vec!["Text/index.html".into()]),
            "a path is a value"
        );
    }

    #[test]
    fn without_request_method_support_get_is_assumed() {
        let d = Declared::parse(HANDOUT, "ws.conf");
        let unmet = |r: &str| d.unmet(&Requirement::parse(r).unwrap(), false);
        assert_eq!(
            unmet("no method GET").as_deref(),
            Some("ws.conf has no RequestMethodSupport line: GET is assumed")
        );
    }

    #[test]
    fn requirement_syntax() {
        assert_eq!(
            Requirement::parse("type .JSON"),
            Ok(Requirement::Type(".json".into()))
        );
        assert_eq!(
            Requirement::parse("no method head"),
            Ok(Requirement::NoMethod("HEAD".into()))
        );
        assert!(Requirement::parse("type json")
            .unwrap_err()
            .contains(".json"));
        assert!(
            Requirement::parse("type .").is_err(),
            "a dot alone is no extension"
        );
        assert!(Requirement::parse("colour red")
            .unwrap_err()
            .contains("unknown requirement"));
        for r in [
            "type .json",
            "method HEAD",
            "no method HEAD",
            "index a.htm",
            "planted",
        ] {
            assert_eq!(Requirement::parse(r).unwrap().to_string(), r);
        }
    }
}
