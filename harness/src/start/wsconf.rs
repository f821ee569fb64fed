//! Writing the `ws.conf` a started server reads: pure text functions, no I/O.
//!
//! - [`generate`] writes the canonical file of the assignment's handout (`Listen`, `DocumentRoot`,
//!   `DirectoryIndex`, one `.ext type` line per content type, `KeepaliveTime`,
//!   `RequestMethodSupport`), for courses whose handout fixed the format.
//! - [`patch`] keeps a submission's own file and rewrites only the *values* of the port, the
//!   document root and the keep-alive time in place, whatever the spelling (`Listen 8888`,
//!   `Listen 127.0.0.1:8888`, `listen=8080`, `Keep-Alive time 10`, tabs, quotes, CRLF line ends),
//!   so that a parser written for that file's exact layout still reads it. It reports each line it
//!   changed, and warns about a setting it could not find.
//! - [`apply_variant`] turns a file into the configuration a case asks for with `config:`
//!   (`default`, `broken`, `post`).
//!
//! Lines are handled one by one and keep their own line end (`\n` or `\r\n`); commented-out lines
//! (`#`, `;`, `//`) are never touched.

use std::fmt;
use std::path::Path;
use std::sync::OnceLock;

use regex::Regex;

/// The content types of the canonical file, in its order.
pub const CONTENT_TYPES: &[(&str, &str)] = &[
    (".html", "text/html"),
    (".htm", "text/html"),
    (".txt", "text/plain"),
    (".css", "text/css"),
    (".js", "application/javascript"),
    (".json", "application/json"),
    (".png", "image/png"),
    (".gif", "image/gif"),
    (".jpg", "image/jpeg"),
    (".jpeg", "image/jpeg"),
    (".ico", "image/x-icon"),
    (".pdf", "application/pdf"),
    (".bin", "application/octet-stream"),
];

/// The configurations a case may ask for with `config:`.
pub const VARIANTS: &[&str] = &["default", "broken", "post"];

/// One line [`patch`] or [`apply_variant`] changed (or added).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineChange {
    /// 1-based line number in the resulting file.
    pub line: usize,
    /// The line before, without its line end; empty for an added line.
    pub before: String,
    /// The line after, without its line end.
    pub after: String,
}

impl fmt::Display for LineChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.before.is_empty() {
            write!(f, "line {} added: {:?}", self.line, self.after)
        } else {
            write!(
                f,
                "line {}: {:?} -> {:?}",
                self.line, self.before, self.after
            )
        }
    }
}

/// A submission's file with this run's values in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patched {
    pub text: String,
    pub changes: Vec<LineChange>,
    /// A setting that could not be found or rewritten, said so that an instructor knows why the
    /// server may not listen where expected or serve the right folder.
    pub warnings: Vec<String>,
    /// The submission's relative document root, kept as written ([`RootMode::KeepRelative`]):
    /// the site must be put there, relative to the server's working folder.
    pub relative_root: Option<String>,
}

/// A `config:` name this module does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown server configuration `{0}`: the known ones are {known}", known = VARIANTS.join(", "))]
pub struct UnknownVariant(pub String);

/// The canonical `ws.conf`, in the handout's layout: `#` comment lines above each setting,
/// `Listen PORT`, `DocumentRoot "ROOT"` (quoted, absolute), `DirectoryIndex index.html index.htm`,
/// the [`CONTENT_TYPES`] one per line, `KeepaliveTime N`, `RequestMethodSupport GET HEAD`.
pub fn generate(port: u16, root: &Path, keepalive: u32) -> String {
    let mut s = String::new();
    s.push_str("# ws.conf written by the conformance harness for this run\n");
    s.push_str("# service port number\n");
    s.push_str(&format!("Listen {port}\n"));
    s.push_str("# document root\n");
    s.push_str(&format!("DocumentRoot \"{}\"\n", root.display()));
    s.push_str("# default web page\n");
    s.push_str("DirectoryIndex index.html index.htm\n");
    s.push_str("# Content-Type which the server handles\n");
    for (ext, ty) in CONTENT_TYPES {
        s.push_str(&format!("{ext} {ty}\n"));
    }
    s.push_str("# connection timeout (seconds)\n");
    s.push_str(&format!("KeepaliveTime {keepalive}\n"));
    s.push_str("# request methods supported\n");
    s.push_str("RequestMethodSupport GET HEAD\n");
    s
}

/// The three settings [`patch`] rewrites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Port,
    Root,
    Keepalive,
}

/// What [`patch`] rewrites: one setting, and how to find it (on its line, or its key alone on a
/// line with the value on the next).
struct Setting {
    key: Key,
    re: &'static OnceLock<Regex>,
    pattern: &'static str,
    /// The key alone on its line (its value on the next line).
    key_re: &'static OnceLock<Regex>,
    key_pattern: &'static str,
    /// A value alone on its line, for that layout.
    value_re: &'static OnceLock<Regex>,
    value_pattern: &'static str,
}

static LISTEN_RE: OnceLock<Regex> = OnceLock::new();
static ROOT_RE: OnceLock<Regex> = OnceLock::new();
static KEEPALIVE_RE: OnceLock<Regex> = OnceLock::new();
static LISTEN_KEY: OnceLock<Regex> = OnceLock::new();
static ROOT_KEY: OnceLock<Regex> = OnceLock::new();
static KEEPALIVE_KEY: OnceLock<Regex> = OnceLock::new();
static LISTEN_VALUE: OnceLock<Regex> = OnceLock::new();
static ROOT_VALUE: OnceLock<Regex> = OnceLock::new();
static KEEPALIVE_VALUE: OnceLock<Regex> = OnceLock::new();

const LISTEN_NAMES: &str = r"(?:listen[-_ ]?port|server[-_ ]?port|listen|port)";
const ROOT_NAMES: &str =
    r"(?:document[-_ ]?root|doc[-_ ]?root|www[-_ ]?root|root[-_ ]?dir(?:ectory)?|root)";
/// Every common spelling: `KeepaliveTime`, `Keep-Alive time`, `Keep-Alive-Time`,
/// `KeepAliveTimeout`, `keep_alive`, `keepalive_timeout`, `Timeout`, `ConnectionTimeout`.
const KEEPALIVE_NAMES: &str = r"(?:keep[-_ ]?alive(?:[-_ ]?time(?:[-_ ]?out)?)?|keep[-_ ]?alive[-_ ]?timeout|(?:connection[-_ ]?|conn[-_ ]?|socket[-_ ]?)?time[-_ ]?out)";

/// `Listen 8888`, `Listen 127.0.0.1:8888`, `listen=8080`, `Port: 80`, `ListenPort 8888`,
/// `server_port 8888`. The value is the first word after the name (quotes allowed).
const LISTEN: Setting = Setting {
    key: Key::Port,
    re: &LISTEN_RE,
    pattern: r##"(?i)^(\s*["']?NAMES["']?(?:\s*[:=]\s*|\s+)["']?)([^\s"',#]+)"##,
    key_re: &LISTEN_KEY,
    key_pattern: r##"(?i)^\s*["']?NAMES["']?\s*[:=]?\s*$"##,
    value_re: &LISTEN_VALUE,
    value_pattern: r##"^(\s*["']?)([0-9.*:\[\]]*[0-9]+)["']?\s*$"##,
};

/// `DocumentRoot "www"`, `DocumentRoot /abs/www/`, `document_root=www`, `DocRoot 'www'`,
/// `Root www`. The value is a quoted string or the first word.
const ROOT: Setting = Setting {
    key: Key::Root,
    re: &ROOT_RE,
    pattern: r##"(?i)^(\s*["']?NAMES["']?(?:\s*[:=]\s*|\s+))("[^"]*"|'[^']*'|[^\s#,]+)"##,
    key_re: &ROOT_KEY,
    key_pattern: r##"(?i)^\s*["']?NAMES["']?\s*[:=]?\s*$"##,
    value_re: &ROOT_VALUE,
    value_pattern: r##"^(\s*)("[^"]*"|'[^']*'|[./~A-Za-z0-9_][^\s#]*)\s*$"##,
};

/// `KeepaliveTime 10`, `Keep-Alive time 10`, `keepalive_time=10`, `KeepAliveTimeout 10`,
/// `Keepalive 10`, `Timeout 10`, `keep_alive: 10`. The value is a number.
const KEEPALIVE: Setting = Setting {
    key: Key::Keepalive,
    re: &KEEPALIVE_RE,
    pattern: r##"(?i)^(\s*["']?NAMES["']?(?:\s*[:=]\s*|\s+)["']?)(\d+(?:\.\d+)?)"##,
    key_re: &KEEPALIVE_KEY,
    key_pattern: r##"(?i)^\s*["']?NAMES["']?\s*[:=]?\s*$"##,
    value_re: &KEEPALIVE_VALUE,
    value_pattern: r##"^(\s*["']?)(\d+(?:\.\d+)?)["']?\s*(?:s|sec|secs|seconds)?\s*$"##,
};

impl Setting {
    fn names(&self) -> &'static str {
        match self.key {
            Key::Port => LISTEN_NAMES,
            Key::Root => ROOT_NAMES,
            Key::Keepalive => KEEPALIVE_NAMES,
        }
    }

    fn compile(&self, cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
        cell.get_or_init(|| {
            Regex::new(&pattern.replace("NAMES", self.names())).expect("valid setting regex")
        })
    }

    fn regex(&self) -> &'static Regex {
        self.compile(self.re, self.pattern)
    }

    fn key_regex(&self) -> &'static Regex {
        self.compile(self.key_re, self.key_pattern)
    }

    fn value_regex(&self) -> &'static Regex {
        self.compile(self.value_re, self.value_pattern)
    }

    /// Where this setting's value is on line `i`: the range of the value and the line holding
    /// it (`i`, or the next non-blank line when line `i` holds the key alone).
    fn find(&self, lines: &[(String, &str)], i: usize) -> Option<(usize, std::ops::Range<usize>)> {
        let line = &lines[i].0;
        if let Some(c) = self.regex().captures(line) {
            return Some((i, c.get(2).expect("value group").range()));
        }
        if !self.key_regex().is_match(line) {
            return None;
        }
        let j = (i + 1..lines.len()).find(|&j| !lines[j].0.trim().is_empty())?;
        if is_comment(&lines[j].0) {
            return None;
        }
        let c = self.value_regex().captures(&lines[j].0)?;
        Some((j, c.get(2).expect("value group").range()))
    }
}

/// The lines of `text`, each as (content, line end), the line end being `\n`, `\r\n` or empty
/// (for a last line with none).
fn split_lines(text: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        match rest.find('\n') {
            Some(i) => {
                let (line, eol_start) = if i > 0 && rest.as_bytes()[i - 1] == b'\r' {
                    (&rest[..i - 1], i - 1)
                } else {
                    (&rest[..i], i)
                };
                out.push((line, &rest[eol_start..=i]));
                rest = &rest[i + 1..];
            }
            None => {
                out.push((rest, ""));
                rest = "";
            }
        }
    }
    out
}

fn is_comment(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with('#') || t.starts_with(';') || t.starts_with("//")
}

/// The line end the file mostly uses, for lines appended to it.
fn file_eol(text: &str) -> &'static str {
    if text.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    }
}

/// How [`patch`] rewrites the document root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootMode {
    /// Write the absolute path of the site.
    Absolute,
    /// Keep a relative value as the submission wrote it ([`Patched::relative_root`] says so,
    /// and the caller puts the site there); an absolute one is rewritten.
    KeepRelative,
}

/// Rewrites the port, document root and keep-alive time of a submission's `ws.conf` in place:
/// only the value changes, the name, spacing, quotes, comments and line ends stay. A value may
/// sit on the line after its key. A `Listen` value with an address (`127.0.0.1:8888`, `*:8888`)
/// keeps the address. A document root that ended in `/` keeps a trailing `/`. Every matching
/// line is rewritten (a file may repeat a setting); a setting found nowhere gets a warning and
/// the file is left without it.
pub fn patch(original: &str, port: u16, root: &Path, keepalive: u32) -> Patched {
    patch_with(original, port, root, keepalive, RootMode::Absolute)
}

/// [`patch`], with the document root handled per `mode`.
pub fn patch_with(
    original: &str,
    port: u16,
    root: &Path,
    keepalive: u32,
    mode: RootMode,
) -> Patched {
    let wanted = Wanted {
        port,
        root: root.display().to_string(),
        keepalive,
        mode,
    };
    let mut lines: Vec<(String, &str)> = split_lines(original)
        .into_iter()
        .map(|(l, e)| (l.to_string(), e))
        .collect();
    let mut patched = Patched {
        text: String::new(),
        changes: Vec::new(),
        warnings: Vec::new(),
        relative_root: None,
    };
    for setting in [&LISTEN, &ROOT, &KEEPALIVE] {
        if !rewrite_setting(setting, &wanted, &mut lines, &mut patched) {
            patched.warnings.push(wanted.missing(setting.key));
        }
    }
    patched.changes.sort_by_key(|c| c.line);
    patched.text = lines.iter().map(|(l, e)| format!("{l}{e}")).collect();
    patched
}

/// The values of this run, which [`patch`] writes into a submission's file.
struct Wanted {
    port: u16,
    root: String,
    keepalive: u32,
    mode: RootMode,
}

/// What becomes of one value found in the file.
enum Rewrite {
    /// It is written instead.
    To(String),
    /// It is left as is, for this reason (a warning).
    Leave(String),
    /// A relative document root, kept as written: the site is put where it points.
    KeepRelative(String),
}

impl Wanted {
    /// What the value `old` of setting `key` becomes.
    fn rewrite(&self, key: Key, old: &str) -> Rewrite {
        match key {
            Key::Port => match listen_value(old, self.port) {
                Some(v) => Rewrite::To(v),
                None => Rewrite::Leave(format!(
                    "the port value {old:?} is not a number; left as is"
                )),
            },
            Key::Root => {
                let inner = old.trim_matches(|c| c == '"' || c == '\'');
                let relative =
                    !inner.is_empty() && !inner.starts_with('/') && !inner.starts_with('~');
                if self.mode == RootMode::KeepRelative && relative {
                    Rewrite::KeepRelative(inner.to_string())
                } else {
                    Rewrite::To(root_value(old, &self.root))
                }
            }
            Key::Keepalive => Rewrite::To(self.keepalive.to_string()),
        }
    }

    /// The warning for a setting found nowhere in the file: what the server must do instead.
    fn missing(&self, key: Key) -> String {
        let (port, root, keepalive) = (self.port, &self.root, self.keepalive);
        match key {
            Key::Port => format!(
                "no port line (such as `Listen 8888`) found in ws.conf: the server must take the port {port} some other way (write {{port}} in the command)"
            ),
            Key::Root => format!(
                "no document root line (such as `DocumentRoot \"www\"`) found in ws.conf: the server must find the site some other way (it is at {root}, also `www/` in its folder)"
            ),
            Key::Keepalive => format!(
                "no keep-alive time line (such as `KeepaliveTime 10`) found in ws.conf: the server's own keep-alive time is used, but the cases expect {keepalive}s"
            ),
        }
    }
}

/// Rewrites every value of `setting` in `lines` (outside comments) to the wanted one,
/// recording the changes, warnings and a kept relative root in `patched`. Whether the setting
/// was found at all.
fn rewrite_setting(
    setting: &Setting,
    wanted: &Wanted,
    lines: &mut [(String, &str)],
    patched: &mut Patched,
) -> bool {
    let mut found = false;
    for i in 0..lines.len() {
        if is_comment(&lines[i].0) {
            continue;
        }
        let Some((j, range)) = setting.find(lines, i) else {
            continue;
        };
        found = true;
        let old = &lines[j].0[range.clone()];
        match wanted.rewrite(setting.key, old) {
            Rewrite::To(new) if new == old => {}
            Rewrite::To(new) => set_value(lines, j, range, &new, &mut patched.changes),
            Rewrite::Leave(why) => {
                let warning = format!("line {}: {:?}: {why}", j + 1, lines[j].0);
                patched.warnings.push(warning);
            }
            Rewrite::KeepRelative(root) => {
                patched.relative_root.get_or_insert(root);
            }
        }
    }
    found
}

/// Writes `new` over the value at `range` of line `j`; a line changed twice (two settings on
/// one line) keeps one change, from its first text to its last.
fn set_value(
    lines: &mut [(String, &str)],
    j: usize,
    range: std::ops::Range<usize>,
    new: &str,
    changes: &mut Vec<LineChange>,
) {
    let before = lines[j].0.clone();
    lines[j].0.replace_range(range, new);
    let after = lines[j].0.clone();
    match changes.iter_mut().find(|c| c.line == j + 1) {
        Some(c) => c.after = after,
        None => changes.push(LineChange {
            line: j + 1,
            before,
            after,
        }),
    }
}

/// The new `Listen` value: the port alone, or the address kept with the new port after its last
/// `:`. `None` when the value holds no port.
fn listen_value(old: &str, port: u16) -> Option<String> {
    if old.bytes().all(|b| b.is_ascii_digit()) {
        return Some(port.to_string());
    }
    let (addr, p) = old.rsplit_once(':')?;
    if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(format!("{addr}:{port}"))
}

/// The new document root value, in the old value's quotes and with its trailing `/`, if any.
fn root_value(old: &str, root: &str) -> String {
    let (quote, inner) = match old.chars().next() {
        Some(q @ ('"' | '\'')) if old.len() >= 2 => (Some(q), &old[1..old.len() - 1]),
        _ => (None, old),
    };
    let mut new = root.trim_end_matches('/').to_string();
    if inner.ends_with('/') || new.is_empty() {
        new.push('/');
    }
    match quote {
        Some(q) => format!("{q}{new}{q}"),
        None => new,
    }
}

static CONTENT_TYPE_RE: OnceLock<Regex> = OnceLock::new();
static METHODS_RE: OnceLock<Regex> = OnceLock::new();

/// Turns a file into the configuration named `variant`, returning the new text and what changed:
///
/// - `default`: unchanged.
/// - `broken`: the assignment's example of a broken file, a content-type line with no type: the
///   first `.ext type` line loses its type (`.html text/html` becomes `.html`). A file with no
///   such line gets a lone `.html` line appended instead: that is the same defect, and it leaves
///   the port and the root in place, so a server that parses the file can still start, listen and
///   answer 500 as the assignment asks (removing the port instead would only test that it fails
///   to start).
/// - `post`: `RequestMethodSupport` gains `POST` (the line is appended when missing).
pub fn apply_variant(
    text: &str,
    variant: &str,
) -> Result<(String, Vec<LineChange>), UnknownVariant> {
    match variant {
        "default" => Ok((text.to_string(), Vec::new())),
        "broken" => Ok(break_first_type(text)),
        "post" => {
            let re = METHODS_RE.get_or_init(|| {
                Regex::new(r"(?i)^\s*request[-_ ]?method[-_ ]?support\b")
                    .expect("valid methods regex")
            });
            Ok(edit_first_or_append(
                text,
                |line| {
                    if !re.is_match(line) {
                        return None;
                    }
                    if line
                        .split_whitespace()
                        .skip(1)
                        .any(|w| w.eq_ignore_ascii_case("POST"))
                    {
                        Some(line.to_string())
                    } else {
                        Some(format!("{} POST", line.trim_end()))
                    }
                },
                "RequestMethodSupport GET HEAD POST",
            ))
        }
        other => Err(UnknownVariant(other.to_string())),
    }
}

/// A media type as ws.conf files write one (`text/html`, `image/x-icon`, ...).
const MEDIA_TYPE: &str =
    r"(?i)\b(?:text|image|application|audio|video|font|model|message)/[a-z0-9][a-z0-9.+_-]*";

/// `config: broken` in the submission's own format: the first line that names a media type
/// (`.html text/html`, `html=text/html`, `text/html html`, `AddType text/html .html`,
/// `".html": "text/html",`, or a type alone under its extension) loses the type and the
/// separator before it, so that the submission's parser sees an extension with no type. A file
/// with no media type gets a lone `.html` line appended instead: the same defect, and it leaves
/// the port and the root in place, so a server that parses the file can still start, listen and
/// answer 500 as the assignment asks.
fn break_first_type(text: &str) -> (String, Vec<LineChange>) {
    let re = CONTENT_TYPE_RE.get_or_init(|| Regex::new(MEDIA_TYPE).expect("valid media regex"));
    edit_first_or_append(
        text,
        |line| {
            let m = re
                .find_iter(line)
                .find(|m| !line[..m.start()].ends_with('/'))?;
            let (head, tail) = (&line[..m.start()], &line[m.end()..]);
            let quoted = head.ends_with(['"', '\'']);
            if quoted || head.trim().is_empty() {
                // inside quotes: keep them (`""`); at the start: drop the separator after it
                let tail = if quoted {
                    tail
                } else {
                    tail.trim_start_matches([' ', '\t', ':', '='])
                };
                return Some(format!("{head}{tail}"));
            }
            let head = head.trim_end_matches([' ', '\t', ':', '=']);
            Some(format!("{head}{tail}"))
        },
        ".html",
    )
}

/// Rewrites the first non-comment line `edit` returns a new text for, or appends `appended`.
fn edit_first_or_append(
    text: &str,
    edit: impl Fn(&str) -> Option<String>,
    appended: &str,
) -> (String, Vec<LineChange>) {
    let lines = split_lines(text);
    for (i, (line, _)) in lines.iter().enumerate() {
        if is_comment(line) {
            continue;
        }
        if let Some(new) = edit(line) {
            if new == *line {
                return (text.to_string(), Vec::new());
            }
            let out: String = lines
                .iter()
                .enumerate()
                .map(|(j, (l, e))| {
                    if j == i {
                        format!("{new}{e}")
                    } else {
                        format!("{l}{e}")
                    }
                })
                .collect();
            let change = LineChange {
                line: i + 1,
                before: line.to_string(),
                after: new,
            };
            return (out, vec![change]);
        }
    }
    let eol = file_eol(text);
    let mut out = text.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push_str(eol);
    }
    out.push_str(appended);
    out.push_str(eol);
    let line = split_lines(&out).len();
    (
        out,
        vec![LineChange {
            line,
            before: String::new(),
            after: appended.to_string(),
        }],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use std::path::PathBuf;

    fn root() -> PathBuf {
        PathBuf::from("/tmp/run/www")
    }

    /// Port, root, keep-alive and content types, as read back.
    type Settings = (
        Option<String>,
        Option<String>,
        Option<String>,
        Vec<(String, String)>,
    );

    /// The settings a simple positional parser (the usual student one) would read.
    fn parse_back(text: &str) -> Settings {
        let (mut port, mut root, mut ka, mut types) = (None, None, None, Vec::new());
        for line in text.lines() {
            let w: Vec<&str> = line.split_whitespace().collect();
            match w.as_slice() {
                [] => {}
                [c, ..] if c.starts_with('#') => {}
                ["Listen", p] => port = Some(p.to_string()),
                ["DocumentRoot", r] => root = Some(r.trim_matches('"').to_string()),
                ["KeepaliveTime", k] => ka = Some(k.to_string()),
                [ext, ty] if ext.starts_with('.') => types.push((ext.to_string(), ty.to_string())),
                _ => {}
            }
        }
        (port, root, ka, types)
    }

    #[test]
    fn generate_parses_back() {
        let text = generate(40123, &root(), 2);
        let (port, r, ka, types) = parse_back(&text);
        assert_eq!(port.as_deref(), Some("40123"));
        assert_eq!(r.as_deref(), Some("/tmp/run/www"));
        assert_eq!(ka.as_deref(), Some("2"));
        assert_eq!(types.len(), CONTENT_TYPES.len());
        assert!(types.contains(&(".html".into(), "text/html".into())));
        assert!(text.contains("DocumentRoot \"/tmp/run/www\"\n"));
        assert!(text.contains("\nDirectoryIndex index.html index.htm\n"));
        assert!(text.contains("\nRequestMethodSupport GET HEAD\n"));
        assert!(!text.contains('\r') && !text.contains('\t'));
    }

    #[test]
    fn generated_file_patches_to_itself_with_no_warning() {
        let text = generate(8888, Path::new("/a/www"), 10);
        let p = patch(&text, 40123, &root(), 2);
        assert_eq!(p.text, generate(40123, &root(), 2));
        assert_eq!(p.changes.len(), 3);
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    }

    /// (original line, expected line) for each real-world shape, with port 40123, root
    /// /tmp/run/www and keep-alive 2.
    #[rstest]
    #[case::listen("Listen 8888", "Listen 40123")]
    #[case::listen_tab("Listen\t8888", "Listen\t40123")]
    #[case::listen_spaces("  Listen    8888   # the port", "  Listen    40123   # the port")]
    #[case::listen_addr("Listen 127.0.0.1:8888", "Listen 127.0.0.1:40123")]
    #[case::listen_any("Listen *:8080", "Listen *:40123")]
    #[case::listen_equals("listen=8080", "listen=40123")]
    #[case::listen_colon("Port: 80", "Port: 40123")]
    #[case::listen_port("ListenPort 8888", "ListenPort 40123")]
    #[case::listen_upper("LISTEN 8888", "LISTEN 40123")]
    #[case::root_quoted("DocumentRoot \"www\"", "DocumentRoot \"/tmp/run/www\"")]
    #[case::root_abs_quoted(
        "DocumentRoot \"/home/student/pa2/www\"",
        "DocumentRoot \"/tmp/run/www\""
    )]
    #[case::root_bare("DocumentRoot www", "DocumentRoot /tmp/run/www")]
    #[case::root_slash("DocumentRoot ./www/", "DocumentRoot /tmp/run/www/")]
    #[case::root_single("DocumentRoot\t'www'", "DocumentRoot\t'/tmp/run/www'")]
    #[case::root_equals("document_root=www", "document_root=/tmp/run/www")]
    #[case::root_empty_quotes("DocumentRoot \"\"", "DocumentRoot \"/tmp/run/www\"")]
    #[case::root_quoted_slash("DocumentRoot \"www/\"", "DocumentRoot \"/tmp/run/www/\"")]
    #[case::root_lone_quote("DocumentRoot \"", "DocumentRoot /tmp/run/www")]
    #[case::ka("KeepaliveTime 10", "KeepaliveTime 2")]
    #[case::ka_spelled("Keep-Alive time 10", "Keep-Alive time 2")]
    #[case::ka_snake("keepalive_time=10", "keepalive_time=2")]
    #[case::ka_timeout("KeepAliveTimeout\t10", "KeepAliveTimeout\t2")]
    #[case::ka_float("KeepaliveTime 10.5", "KeepaliveTime 2")]
    #[case::ka_colon("Keep-Alive Time: 10", "Keep-Alive Time: 2")]
    #[case::ka_dashes("Keep-Alive-Time 10", "Keep-Alive-Time 2")]
    #[case::ka_camel("KeepAliveTime\t10", "KeepAliveTime\t2")]
    #[case::ka_timeout_alone("Timeout 10", "Timeout 2")]
    #[case::ka_underscore("keep_alive = 10", "keep_alive = 2")]
    #[case::ka_quoted("KeepaliveTime \"10\"", "KeepaliveTime \"2\"")]
    #[case::listen_quoted("Listen \"8888\"", "Listen \"40123\"")]
    #[case::json_port("\"port\": 8888,", "\"port\": 40123,")]
    fn patch_rewrites_only_the_value(#[case] before: &str, #[case] after: &str) {
        let text = format!("# conf\n{before}\n.html text/html\n");
        let p = patch(&text, 40123, &root(), 2);
        assert_eq!(p.text, format!("# conf\n{after}\n.html text/html\n"));
        assert_eq!(
            p.changes,
            vec![LineChange {
                line: 2,
                before: before.into(),
                after: after.into()
            }]
        );
        // the two settings this one-line file lacks are warned about, never this one
        assert_eq!(p.warnings.len(), 2, "{:?}", p.warnings);
    }

    #[rstest]
    #[case::comment("#Listen 8888")]
    #[case::comment_indented("   # DocumentRoot www")]
    #[case::semicolon("; KeepaliveTime 10")]
    #[case::slashes("// Listen 8080")]
    #[case::content_type(".html text/html")]
    #[case::index("DirectoryIndex index.html")]
    #[case::keepalive_on("KeepAlive On")]
    #[case::apache_root_like("RootFolder www")]
    fn patch_leaves_other_lines(#[case] line: &str) {
        let text = format!("{line}\n");
        let p = patch(&text, 40123, &root(), 2);
        assert_eq!(p.text, text);
        assert!(p.changes.is_empty());
        assert_eq!(p.warnings.len(), 3, "{:?}", p.warnings);
    }

    /// Whole files in the shapes submissions ship.
    #[rstest]
    #[case::handout(
        "#service port number\nListen 8888\n#document root\nDocumentRoot \"/home/user/www\"\n#default web page\nDirectoryIndex index.html index.htm index.ws\n#Content-Type which the server handles\n.html text/html\n.txt text/plain\n#connection timeout\nKeepaliveTime 10\n",
        &[2, 4, 11]
    )]
    #[case::crlf(
        "Listen 8888\r\nDocumentRoot \"www\"\r\n.html text/html\r\nKeep-Alive time 10\r\n",
        &[1, 2, 4]
    )]
    #[case::tabs_no_final_newline("Listen\t\t8888\nDocumentRoot\t\twww\nKeepaliveTime\t10", &[1, 2, 3])]
    #[case::blank_lines("\n\nListen 8888\n\n\nDocumentRoot www\n\nKeepaliveTime 10\n\n", &[3, 6, 8])]
    fn patch_whole_files(#[case] text: &str, #[case] changed: &[usize]) {
        let p = patch(text, 40123, &root(), 2);
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        assert_eq!(
            p.changes.iter().map(|c| c.line).collect::<Vec<_>>(),
            changed
        );
        // every other line is byte-for-byte the same, line ends included
        let (a, b) = (split_lines(text), split_lines(&p.text));
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            assert_eq!(x.1, y.1, "line end of line {}", i + 1);
            if !changed.contains(&(i + 1)) {
                assert_eq!(x.0, y.0);
            }
        }
        assert!(p.text.contains("40123"));
        assert!(p.text.contains("/tmp/run/www"));
    }

    #[test]
    fn patch_rewrites_every_repeat_and_skips_unchanged() {
        let text = "Listen 8888\nListen 40123\nDocumentRoot /tmp/run/www\nKeepaliveTime 2\n";
        let p = patch(text, 40123, &root(), 2);
        assert_eq!(
            p.text,
            "Listen 40123\nListen 40123\nDocumentRoot /tmp/run/www\nKeepaliveTime 2\n"
        );
        assert_eq!(p.changes.len(), 1);
        assert!(p.warnings.is_empty());
    }

    #[test]
    fn patch_warns_for_each_missing_setting() {
        let p = patch("", 40123, &root(), 2);
        assert_eq!(p.text, "");
        assert_eq!(p.warnings.len(), 3);
        assert!(p.warnings[0].contains("no port line") && p.warnings[0].contains("{port}"));
        assert!(p.warnings[1].contains("no document root line"));
        assert!(p.warnings[2].contains("no keep-alive time line") && p.warnings[2].contains("2s"));
    }

    #[test]
    fn patch_warns_for_a_port_that_is_not_a_number() {
        let p = patch(
            "Listen eighty\nDocumentRoot www\nKeepaliveTime 1\n",
            40123,
            &root(),
            2,
        );
        assert!(p.text.starts_with("Listen eighty\n"));
        assert_eq!(p.warnings.len(), 1);
        assert!(p.warnings[0].contains("not a number"), "{:?}", p.warnings);
    }

    #[rstest]
    #[case::named_port("Listen localhost:http")]
    #[case::no_port("Listen 127.0.0.1:")]
    fn an_address_without_a_numeric_port_is_left_as_is(#[case] line: &str) {
        let p = patch(&format!("{line}\n"), 40123, &root(), 2);
        assert_eq!(p.text, format!("{line}\n"));
        assert!(
            p.warnings[0].contains("is not a number; left as is"),
            "{:?}",
            p.warnings
        );
    }

    #[test]
    fn changes_show_lines_without_their_line_ends() {
        let p = patch("Listen 8888\r\nKeepaliveTime 10\r\n", 40123, &root(), 2);
        assert_eq!(p.text, "Listen 40123\r\nKeepaliveTime 2\r\n");
        let shown: Vec<(&str, &str)> = p
            .changes
            .iter()
            .map(|c| (c.before.as_str(), c.after.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                ("Listen 8888", "Listen 40123"),
                ("KeepaliveTime 10", "KeepaliveTime 2")
            ]
        );
    }

    #[rstest]
    #[case::first_type(
        ".html text/html\n.txt text/plain\n",
        ".html\n.txt text/plain\n",
        1,
        ".html text/html",
        ".html"
    )]
    #[case::indented(
        "Listen 1\n  .htm\ttext/html\n",
        "Listen 1\n  .htm\n",
        2,
        "  .htm\ttext/html",
        "  .htm"
    )]
    #[case::after_comment(
        "#.png image/png\n.gif image/gif\n",
        "#.png image/png\n.gif\n",
        2,
        ".gif image/gif",
        ".gif"
    )]
    #[case::after_other_comments(
        "; .png image/png\n// .jpg image/jpeg\n.gif image/gif\n",
        "; .png image/png\n// .jpg image/jpeg\n.gif\n",
        3,
        ".gif image/gif",
        ".gif"
    )]
    #[case::none("Listen 1\n", "Listen 1\n.html\n", 2, "", ".html")]
    #[case::none_no_newline("Listen 1", "Listen 1\n.html\n", 2, "", ".html")]
    #[case::none_crlf("Listen 1\r\n", "Listen 1\r\n.html\r\n", 2, "", ".html")]
    #[case::empty("", ".html\n", 1, "", ".html")]
    fn broken_variant(
        #[case] text: &str,
        #[case] want: &str,
        #[case] line: usize,
        #[case] before: &str,
        #[case] after: &str,
    ) {
        let (out, changes) = apply_variant(text, "broken").unwrap();
        assert_eq!(out, want);
        assert_eq!(
            changes,
            vec![LineChange {
                line,
                before: before.into(),
                after: after.into()
            }]
        );
    }

    #[test]
    fn broken_generated_file_keeps_port_and_root() {
        let text = generate(40123, &root(), 2);
        let (out, changes) = apply_variant(&text, "broken").unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].after, ".html");
        let (port, r, ka, types) = parse_back(&out);
        assert_eq!(
            (port.as_deref(), r.as_deref(), ka.as_deref()),
            (Some("40123"), Some("/tmp/run/www"), Some("2"))
        );
        assert_eq!(types.len(), CONTENT_TYPES.len() - 1);
    }

    #[rstest]
    #[case::present(
        "RequestMethodSupport GET HEAD\n",
        "RequestMethodSupport GET HEAD POST\n",
        1
    )]
    #[case::already(
        "RequestMethodSupport GET POST\n",
        "RequestMethodSupport GET POST\n",
        0
    )]
    #[case::missing("Listen 1\n", "Listen 1\nRequestMethodSupport GET HEAD POST\n", 1)]
    fn post_variant(#[case] text: &str, #[case] want: &str, #[case] n: usize) {
        let (out, changes) = apply_variant(text, "post").unwrap();
        assert_eq!(out, want);
        assert_eq!(changes.len(), n);
    }

    #[test]
    fn default_variant_is_identity_and_unknown_lists_known() {
        let text = generate(1, &root(), 2);
        assert_eq!(
            apply_variant(&text, "default").unwrap(),
            (text.clone(), vec![])
        );
        let e = apply_variant(&text, "nosuch").unwrap_err();
        assert_eq!(e, UnknownVariant("nosuch".into()));
        let msg = e.to_string();
        assert!(
            msg.contains("`nosuch`") && msg.contains("default, broken, post"),
            "{msg}"
        );
    }

    #[test]
    fn values_on_the_line_after_their_key() {
        let text = "Listen\r\n8888\r\nDocumentRoot\r\n\"/home/s/www\"\r\nKeepaliveTime\r\n  10\r\n.html\r\ntext/html\r\n";
        let p = patch(text, 40123, &root(), 2);
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        assert_eq!(
            p.text,
            "Listen\r\n40123\r\nDocumentRoot\r\n\"/tmp/run/www\"\r\nKeepaliveTime\r\n  2\r\n.html\r\ntext/html\r\n"
        );
        assert_eq!(
            p.changes.iter().map(|c| c.line).collect::<Vec<_>>(),
            vec![2, 4, 6]
        );
    }

    #[rstest]
    #[case::bare("DocumentRoot www", Some("www"))]
    #[case::dotted("DocumentRoot \"./site/\"", Some("./site/"))]
    #[case::absolute("DocumentRoot /home/s/www", None)]
    fn relative_roots_are_kept_when_asked(#[case] line: &str, #[case] kept: Option<&str>) {
        let text = format!("Listen 1\n{line}\nKeepaliveTime 1\n");
        let p = patch_with(&text, 40123, &root(), 2, RootMode::KeepRelative);
        assert_eq!(p.relative_root.as_deref(), kept);
        assert_eq!(p.text.contains(line), kept.is_some(), "{}", p.text);
        assert!(p.warnings.is_empty());
    }

    #[rstest]
    #[case::equals(".html=text/html\n.txt=text/plain\n", ".html\n.txt=text/plain\n")]
    #[case::type_first("text/html html htm\n", "html htm\n")]
    #[case::addtype("AddType text/html .html\n", "AddType .html\n")]
    #[case::json("{\n  \".html\": \"text/html\",\n}\n", "{\n  \".html\": \"\",\n}\n")]
    #[case::next_line(".html\ntext/html\n", ".html\n\n")]
    #[case::colon("html: text/html\r\n", "html\r\n")]
    #[case::root_path_is_not_a_type(
        "DocumentRoot /srv/text/html\n.htm text/html\n",
        "DocumentRoot /srv/text/html\n.htm\n"
    )]
    fn broken_variant_in_the_files_own_format(#[case] text: &str, #[case] want: &str) {
        let (out, changes) = apply_variant(text, "broken").unwrap();
        assert_eq!(out, want);
        assert_eq!(changes.len(), 1);
    }

    #[test]
    fn line_change_display() {
        let c = LineChange {
            line: 3,
            before: "Listen 1".into(),
            after: "Listen 2".into(),
        };
        assert_eq!(c.to_string(), "line 3: \"Listen 1\" -> \"Listen 2\"");
        let c = LineChange {
            line: 9,
            before: String::new(),
            after: ".html".into(),
        };
        assert_eq!(c.to_string(), "line 9 added: \".html\"");
    }
}
