//! Request target → file under `DocumentRoot`, and the traversal policy.
//!
//! The path part of the target (before `?`/`#`) is split on `/` *before* percent-decoding, so
//! an encoded slash can never create a separator. Then, segment by segment:
//! - empty and `.` segments are skipped;
//! - `..` (however spelled: `..`, `%2e%2e`, `.%2E`) → **403 Forbidden**, never normalised;
//! - a segment that decodes to `/`, `\` or NUL (`%2f`, `%5c`, `%00`) → **403 Forbidden**;
//! - a symlink is followed only if its canonical target is still under the (canonical)
//!   `DocumentRoot`; otherwise → **403 Forbidden**.
//!
//! A folder is served through `DirectoryIndex` (`/docs/` → `/docs/index.html`); a folder named
//! without its trailing slash is redirected (301) so that relative links in its page work.

use std::ffi::OsString;
use std::io;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use percent_encoding::percent_decode;

use crate::config::Config;

/// What a target names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved<'c> {
    /// A regular file inside the root, with its content type from `ws.conf`.
    File {
        path: PathBuf,
        len: u64,
        content_type: &'c str,
    },
    /// A folder named without its trailing slash: redirect to this location.
    Redirect(String),
}

/// Why a target cannot be served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Miss {
    /// 404: nothing there (or a folder with no index file).
    NotFound,
    /// 403: outside the root, a `..` segment, an encoded separator, or unreadable.
    Forbidden(&'static str),
    /// 501: the file exists but `ws.conf` maps no content type to its extension.
    Unmapped,
}

/// Resolves `target` (which starts with `/`) against `cfg`.
pub fn resolve<'c>(target: &str, cfg: &'c Config) -> Result<Resolved<'c>, Miss> {
    let end = target.find(['?', '#']).unwrap_or(target.len());
    let (path_part, rest) = target.split_at(end);
    let root = &cfg.document_root;

    // Check every segment before touching the file system, so that a refused spelling is
    // refused the same way whether or not the folders before it exist.
    let mut segments = Vec::new();
    for raw in path_part.split('/') {
        let seg: Vec<u8> = percent_decode(raw.as_bytes()).collect();
        match seg.as_slice() {
            b"" | b"." => continue,
            b".." => return Err(Miss::Forbidden("the path leaves the document root")),
            s if s.iter().any(|b| matches!(b, b'/' | b'\\' | 0)) => {
                return Err(Miss::Forbidden("the path holds an encoded separator"))
            }
            _ => segments.push(OsString::from_vec(seg)),
        }
    }
    let mut path = root.clone();
    let mut meta = None; // None: the root itself, a directory
    for seg in segments {
        if meta
            .as_ref()
            .is_some_and(|m: &std::fs::Metadata| !m.is_dir())
        {
            return Err(Miss::NotFound);
        }
        path.push(seg);
        meta = Some(step(&mut path, root)?);
    }
    let is_dir = match &meta {
        None => true,
        Some(m) => m.is_dir(),
    };

    if is_dir {
        if !path_part.ends_with('/') {
            return Ok(Resolved::Redirect(format!("{path_part}/{rest}")));
        }
        let index = cfg
            .directory_index
            .iter()
            .filter(|n| !n.contains('/'))
            .find_map(|name| {
                let mut p = path.join(name);
                match step(&mut p, root) {
                    Ok(m) if m.is_file() => Some(Ok((p, m))),
                    Err(Miss::Forbidden(why)) => Some(Err(Miss::Forbidden(why))),
                    _ => None,
                }
            });
        match index {
            Some(Ok((p, m))) => {
                path = p;
                meta = Some(m);
            }
            Some(Err(e)) => return Err(e),
            None => return Err(Miss::NotFound),
        }
    }
    let Some(meta) = meta.filter(|m| m.is_file()) else {
        return Err(Miss::Forbidden("not a regular file"));
    };
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let content_type = ext
        .and_then(|e| cfg.content_types.get(&e))
        .ok_or(Miss::Unmapped)?;
    Ok(Resolved::File {
        len: meta.len(),
        path,
        content_type,
    })
}

/// Examines the last component of `path` (whose parent is known to be inside `root`).
/// A symlink is replaced by its canonical target, which must stay inside `root`.
fn step(path: &mut PathBuf, root: &Path) -> Result<std::fs::Metadata, Miss> {
    let meta = std::fs::symlink_metadata(&*path).map_err(io_miss)?;
    if !meta.file_type().is_symlink() {
        return Ok(meta);
    }
    let real = std::fs::canonicalize(&*path).map_err(io_miss)?;
    if !real.starts_with(root) {
        return Err(Miss::Forbidden(
            "a symbolic link leads outside the document root",
        ));
    }
    *path = real;
    std::fs::metadata(&*path).map_err(io_miss)
}

fn io_miss(e: io::Error) -> Miss {
    match e.kind() {
        io::ErrorKind::PermissionDenied => Miss::Forbidden("permission denied"),
        _ => Miss::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use std::time::Duration;

    fn site() -> (tempfile::TempDir, Config) {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("secret.txt"), "outside").unwrap();
        let root = d.join("www");
        std::fs::create_dir_all(root.join("docs")).unwrap();
        std::fs::create_dir_all(root.join("empty")).unwrap();
        std::fs::write(root.join("index.html"), "<h1>hi</h1>").unwrap();
        std::fs::write(root.join("docs/index.html"), "docs").unwrap();
        std::fs::write(root.join("a b.txt"), "space").unwrap();
        std::fs::write(root.join("archive.xyz"), "?").unwrap();
        std::fs::write(root.join("UPPER.TXT"), "up").unwrap();
        std::os::unix::fs::symlink(d.join("secret.txt"), root.join("escape.txt")).unwrap();
        std::os::unix::fs::symlink(d, root.join("up")).unwrap();
        std::os::unix::fs::symlink(root.join("docs/index.html"), root.join("inside.html")).unwrap();
        let cfg = Config {
            listen: None,
            document_root: root.canonicalize().unwrap(),
            directory_index: vec!["index.htm".into(), "index.html".into()],
            content_types: [("html", "text/html"), ("txt", "text/plain")]
                .into_iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            keepalive: Duration::from_secs(1),
            methods: vec![],
        };
        (dir, cfg)
    }

    fn file(r: Result<Resolved, Miss>) -> String {
        match r {
            Ok(Resolved::File { path, .. }) => std::fs::read_to_string(path).unwrap(),
            other => panic!("expected a file, got {other:?}"),
        }
    }

    #[rstest]
    #[case("/", "<h1>hi</h1>")]
    #[case("/index.html", "<h1>hi</h1>")]
    #[case("//index.html?x=1#frag", "<h1>hi</h1>")]
    #[case("/./docs/./", "docs")]
    #[case("/docs/", "docs")]
    #[case("/a%20b.txt", "space")]
    #[case("/UPPER.TXT", "up")]
    #[case("/inside.html", "docs")]
    fn serves(#[case] target: &str, #[case] body: &str) {
        let (_d, cfg) = site();
        assert_eq!(file(resolve(target, &cfg)), body);
    }

    #[rstest]
    #[case("/../secret.txt")]
    #[case("/docs/../index.html")]
    #[case("/nowhere/../../secret.txt")]
    #[case("/%2e%2e/secret.txt")]
    #[case("/.%2E/secret.txt")]
    #[case("/..%2fsecret.txt")]
    #[case("/%2e%2e%2fsecret.txt")]
    #[case("/docs%2f..%2f..%2fsecret.txt")]
    #[case("/..%5csecret.txt")]
    #[case("/index.html%00.txt")]
    #[case("/escape.txt")]
    #[case("/up/secret.txt")]
    fn refuses_traversal(#[case] target: &str) {
        let (_d, cfg) = site();
        assert!(
            matches!(resolve(target, &cfg), Err(Miss::Forbidden(_))),
            "{target}"
        );
    }

    #[rstest]
    #[case("/nope.html", Err(Miss::NotFound))]
    #[case("/index.html/x", Err(Miss::NotFound))]
    #[case("/empty/", Err(Miss::NotFound))]
    #[case("/archive.xyz", Err(Miss::Unmapped))]
    #[case("/docs", Ok(Resolved::Redirect("/docs/".into())))]
    #[case("/docs?q=1", Ok(Resolved::Redirect("/docs/?q=1".into())))]
    fn misses(#[case] target: &str, #[case] expected: Result<Resolved<'static>, Miss>) {
        let (_d, cfg) = site();
        assert_eq!(resolve(target, &cfg), expected);
    }
}
