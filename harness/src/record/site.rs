//! Finding the file of the site (`--www`) that a recorded body equals, so that the case says
//! `body file PATH` rather than spelling the bytes out.

use std::path::{Path, PathBuf};

/// At most this many files are looked at (a site is a handful; a mistaken `--www /` is not).
const MAX_FILES: usize = 20_000;

/// The path, relative to `www` and written with `/`, of a file whose bytes are `body`: the
/// one the request's `target` names when it matches (`/` naming `index.html` or `index.htm`),
/// else the first in sorted order. `None` when no file matches, or `www` is not a folder.
pub fn find(www: &Path, target: Option<&[u8]>, body: &[u8]) -> Option<String> {
    if !www.is_dir() {
        return None;
    }
    let named = target.into_iter().flat_map(|t| named_by(www, t));
    let mut listed = Vec::new();
    walk(www, &mut listed);
    listed.sort();
    named
        .chain(listed)
        .find(|p| equals(p, body))
        .and_then(|p| relative(www, &p))
}

/// The files a request target names under `www`: the path itself, or for a folder its
/// `index.html` and `index.htm`. The query is dropped; no `..` is followed.
fn named_by(www: &Path, target: &[u8]) -> Vec<PathBuf> {
    let Ok(t) = std::str::from_utf8(target) else {
        return Vec::new();
    };
    let path = t.split(['?', '#']).next().unwrap_or("");
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    if parts.contains(&"..") {
        return Vec::new();
    }
    let file = parts.iter().fold(www.to_path_buf(), |acc, p| acc.join(p));
    if path.ends_with('/') || file.is_dir() {
        vec![file.join("index.html"), file.join("index.htm")]
    } else {
        vec![file]
    }
}

/// Every regular file under `dir` (not following symlinks), up to [`MAX_FILES`].
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if out.len() >= MAX_FILES {
            return;
        }
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            walk(&entry.path(), out);
        } else if kind.is_file() {
            out.push(entry.path());
        }
    }
}

/// Whether the file holds exactly `body` (its size is compared first).
fn equals(path: &Path, body: &[u8]) -> bool {
    let same_size =
        std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == body.len() as u64);
    same_size && std::fs::read(path).is_ok_and(|b| b == body)
}

/// `path` relative to `www`, with `/` separators, when a `body file` line can name it: plain
/// UTF-8 with no control characters, backslash or surrounding spaces.
fn relative(www: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(www).ok()?;
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    let text = parts?.join("/");
    let plain = !text.is_empty()
        && text.trim() == text
        && !text.chars().any(|c| c.is_control() || c == '\\');
    plain.then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("css")).unwrap();
        std::fs::create_dir_all(d.join("docs")).unwrap();
        std::fs::write(d.join("index.html"), "home").unwrap();
        std::fs::write(d.join("docs/index.html"), "docs").unwrap();
        std::fs::write(d.join("css/a.css"), "same").unwrap();
        std::fs::write(d.join("css/b.css"), "same").unwrap();
        dir
    }

    #[test]
    fn the_file_the_target_names_wins() {
        let s = site();
        let find = |t: &str, body: &str| find(s.path(), Some(t.as_bytes()), body.as_bytes());
        assert_eq!(find("/css/b.css", "same").as_deref(), Some("css/b.css"));
        assert_eq!(find("/css/a.css", "same").as_deref(), Some("css/a.css"));
        // Another target: the first equal file in sorted order.
        assert_eq!(find("/other", "same").as_deref(), Some("css/a.css"));
        assert_eq!(find("/", "home").as_deref(), Some("index.html"));
        assert_eq!(
            find("/docs?x=1", "docs").as_deref(),
            Some("docs/index.html")
        );
        assert_eq!(
            find("/../index.html", "home").as_deref(),
            Some("index.html")
        );
    }

    #[test]
    fn no_file_no_site_no_match() {
        let s = site();
        assert_eq!(find(s.path(), Some(b"/"), b"homely"), None);
        assert_eq!(find(s.path(), None, b""), None);
        assert_eq!(find(&s.path().join("missing"), Some(b"/"), b"home"), None);
    }
}
