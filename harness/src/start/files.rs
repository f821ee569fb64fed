//! The files of a submission as the harness sees them: the folders it never copies nor
//! searches ([`SKIPPED_DIRS`]), and [`walk`], the bounded listing that detection reads (what
//! builds and starts a submission) and that the site check reads (a folder holding code is
//! never taken for the site). Both `start` and `grade` use it; it uses neither.

use std::fs;
use std::path::{Path, PathBuf};

/// Folders never copied nor searched, at any depth (version control, build output, caches,
/// archive leftovers).
pub const SKIPPED_DIRS: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    "target",
    "node_modules",
    "__pycache__",
    ".venv",
    "__MACOSX",
];

/// At most this many files are looked at (a submission that commits a dataset is not walked
/// to its end), at most this deep.
const MAX_FILES: usize = 5000;
const MAX_DEPTH: usize = 8;

/// The submission's files (relative paths, sorted), without [`SKIPPED_DIRS`] and `www/`
/// folders nor macOS `._` files, at most [`MAX_FILES`] of them, [`MAX_DEPTH`] deep; links are
/// not followed.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![(PathBuf::new(), 0usize)];
    while let Some((rel, depth)) = stack.pop() {
        let Ok(entries) = fs::read_dir(dir.join(&rel)) else {
            continue;
        };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            if out.len() >= MAX_FILES {
                return out;
            }
            let name = e.file_name();
            let path = rel.join(&name);
            let Ok(ty) = e.file_type() else { continue };
            if ty.is_dir() {
                let n = name.to_string_lossy();
                if depth < MAX_DEPTH && !SKIPPED_DIRS.contains(&n.as_ref()) && n != "www" {
                    stack.push((path, depth + 1));
                }
            } else if ty.is_file() && !name.to_string_lossy().starts_with("._") {
                // (`._NAME`: macOS resource forks that zip archives carry)
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk_lists_the_files_a_submission_is_made_of() {
        let d = tempfile::tempdir().unwrap();
        for p in [
            "server.c",
            "src/util/net.c",
            ".git/objects/ab",
            "node_modules/x/index.js",
            "www/index.html",
            "src/www/page.html",
            "._server.c",
            "a/b/c/d/e/f/g/h/deep.c",
            "a/b/c/d/e/f/g/h/i/too_deep.c",
        ] {
            let path = d.path().join(p);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, "x").unwrap();
        }
        let files = walk(d.path());
        let want: Vec<PathBuf> = ["a/b/c/d/e/f/g/h/deep.c", "server.c", "src/util/net.c"]
            .iter()
            .map(PathBuf::from)
            .collect();
        assert_eq!(files, want);
    }
}
