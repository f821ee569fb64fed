//! Request target → an open file under `DocumentRoot`, and the traversal policy.
//!
//! The path part of the target (before `?`/`#`) is split on `/` *before* percent-decoding, so
//! an encoded slash can never create a separator. Then, segment by segment:
//! - empty and `.` segments are skipped;
//! - `..` (however spelled: `..`, `%2e%2e`, `.%2E`) → **403 Forbidden**, never normalised;
//! - a segment that decodes to `/`, `\` or NUL (`%2f`, `%5c`, `%00`) → **403 Forbidden**.
//!
//! The remaining names are opened below the root's descriptor by [`crate::confine`]: a
//! symlink is followed only while it stays inside the root (else **403**), and the file is
//! served from the descriptor that was checked, so a tree that changes between two requests,
//! or during one, can never make a request read a file outside the root.
//!
//! A folder is served through `DirectoryIndex` (`/docs/` → `/docs/index.html`); a folder named
//! without its trailing slash is redirected (301) so that relative links in its page work.

use std::ffi::CString;
use std::fs::File;
use std::io;

use percent_encoding::percent_decode;

use crate::config::Config;
use crate::confine::{extension, join, OpenError, Opened, Root};

/// What a target names.
#[derive(Debug)]
pub enum Resolved<'c> {
    /// A regular file inside the root, open, with what `fstat` of that same descriptor said
    /// and its content type from `ws.conf`. `cache_path` is its path below the root when the
    /// target always names this path (not a folder whose index could change to another name).
    File {
        file: File,
        meta: std::fs::Metadata,
        content_type: &'c str,
        cache_path: Option<CString>,
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
    /// 500: the file system failed in another way (out of descriptors, an I/O error).
    Failed(String),
}

/// Resolves `target` (which starts with `/`) against `cfg`, opening it below `root`.
pub fn resolve<'c>(target: &str, cfg: &'c Config, root: &Root) -> Result<Resolved<'c>, Miss> {
    let end = target.find(['?', '#']).unwrap_or(target.len());
    let (path_part, rest) = target.split_at(end);

    // Check every segment before touching the file system, so that a refused spelling is
    // refused the same way whether or not the folders before it exist.
    let mut decoded: Vec<Vec<u8>> = Vec::new();
    for raw in path_part.split('/') {
        let seg: Vec<u8> = percent_decode(raw.as_bytes()).collect();
        match seg.as_slice() {
            b"" | b"." => continue,
            b".." => return Err(Miss::Forbidden("the path leaves the document root")),
            s if s.iter().any(|b| matches!(b, b'/' | b'\\' | 0)) => {
                return Err(Miss::Forbidden("the path holds an encoded separator"))
            }
            _ => decoded.push(seg),
        }
    }
    let segments: Vec<&[u8]> = decoded.iter().map(Vec::as_slice).collect();
    let mut opened = root.open_beneath(&segments).map_err(miss)?;
    let mut name: &[u8] = segments.last().copied().unwrap_or(b"");
    let mut cacheable = true;
    let mut via_index = false;

    if opened.meta.is_dir() {
        if !path_part.ends_with('/') {
            return Ok(Resolved::Redirect(format!("{path_part}/{rest}")));
        }
        let (index, file) = index_of(&segments, cfg, root)?;
        // Only the first index name cannot be displaced by another one appearing later.
        cacheable = cfg.directory_index.first().map(String::as_str) == Some(index);
        name = index.as_bytes();
        via_index = true;
        opened = file;
    }
    if !opened.meta.is_file() {
        return Err(Miss::Forbidden("not a regular file"));
    }
    let content_type = extension(name)
        .and_then(|e| cfg.content_types.get(&e))
        .ok_or(Miss::Unmapped)?;
    let cache_path = if cacheable && opened.meta.len() <= crate::cache::MAX_FILE {
        let mut path = segments.clone();
        if via_index {
            path.push(name);
        }
        join(&path).ok()
    } else {
        None
    };
    Ok(Resolved::File {
        file: opened.file,
        meta: opened.meta,
        content_type,
        cache_path,
    })
}

/// The first `DirectoryIndex` name that is a regular file in the folder `segments` names.
fn index_of<'c>(
    segments: &[&[u8]],
    cfg: &'c Config,
    root: &Root,
) -> Result<(&'c str, Opened), Miss> {
    let mut path = segments.to_vec();
    for name in cfg.directory_index.iter().filter(|n| !n.contains('/')) {
        path.push(name.as_bytes());
        let found = root.open_beneath(&path);
        path.pop();
        match found.map_err(miss) {
            Ok(o) if o.meta.is_file() => return Ok((name, o)),
            Err(Miss::Forbidden(why)) => return Err(Miss::Forbidden(why)),
            Err(Miss::Failed(why)) => return Err(Miss::Failed(why)),
            _ => {}
        }
    }
    Err(Miss::NotFound)
}

fn miss(e: OpenError) -> Miss {
    match e {
        OpenError::Escape => Miss::Forbidden("a symbolic link leads outside the document root"),
        OpenError::Loop => Miss::Forbidden("too many symbolic links"),
        OpenError::Io(e) => match e.raw_os_error() {
            Some(libc::ENOENT | libc::ENOTDIR | libc::ENAMETOOLONG) => Miss::NotFound,
            Some(libc::EACCES | libc::EPERM) => Miss::Forbidden("permission denied"),
            _ if e.kind() == io::ErrorKind::NotFound => Miss::NotFound,
            _ => Miss::Failed(format!("cannot open the file: {e}")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use std::io::Read;
    use std::time::Duration;

    fn site() -> (tempfile::TempDir, Config, Root) {
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
        // A folder named like the first index name: the next name is served.
        std::fs::create_dir_all(root.join("odd/index.htm")).unwrap();
        std::fs::write(root.join("odd/index.html"), "odd").unwrap();
        // The first index name leads outside the root: refused, not skipped.
        std::fs::create_dir_all(root.join("trap")).unwrap();
        std::os::unix::fs::symlink(d.join("secret.txt"), root.join("trap/index.htm")).unwrap();
        std::fs::write(root.join("trap/index.html"), "trap").unwrap();
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
        let root = Root::open(&cfg.document_root).unwrap();
        (dir, cfg, root)
    }

    fn file(r: Result<Resolved, Miss>) -> String {
        match r {
            Ok(Resolved::File { mut file, .. }) => {
                let mut s = String::new();
                file.read_to_string(&mut s).unwrap();
                s
            }
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
    #[case("/odd/", "odd")]
    fn serves(#[case] target: &str, #[case] body: &str) {
        let (_d, cfg, root) = site();
        assert_eq!(file(resolve(target, &cfg, &root)), body);
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
        let (_d, cfg, root) = site();
        assert!(
            matches!(resolve(target, &cfg, &root), Err(Miss::Forbidden(_))),
            "{target}"
        );
    }

    #[rstest]
    #[case("/nope.html", Err(Miss::NotFound))]
    #[case("/index.html/x", Err(Miss::NotFound))]
    #[case("/empty/", Err(Miss::NotFound))]
    #[case("/archive.xyz", Err(Miss::Unmapped))]
    #[case(
        "/trap/",
        Err(Miss::Forbidden("a symbolic link leads outside the document root"))
    )]
    fn misses(#[case] target: &str, #[case] expected: Result<(), Miss>) {
        let (_d, cfg, root) = site();
        assert_eq!(resolve(target, &cfg, &root).map(|_| ()), expected);
    }

    #[rstest]
    #[case("/docs", "/docs/")]
    #[case("/docs?q=1", "/docs/?q=1")]
    fn redirects(#[case] target: &str, #[case] location: &str) {
        let (_d, cfg, root) = site();
        match resolve(target, &cfg, &root) {
            Ok(Resolved::Redirect(l)) => assert_eq!(l, location),
            other => panic!("{other:?}"),
        }
    }
}
