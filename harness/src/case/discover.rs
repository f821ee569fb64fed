//! Finding and loading case files: [`discover`] walks the paths given on the command line for
//! `.case` files and names each by its path; [`load`] reads and parses them all, gathering every
//! diagnostic of every file before failing.

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use super::diagnostic::{Diagnostic, Fault};
use super::model::Case;
use super::parser::parse_case;

/// Why case files could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} does not exist", .0.display())]
    NotFound(PathBuf),
    #[error("{} is not a .case file", .0.display())]
    NotACaseFile(PathBuf),
    #[error("{}", InvalidDisplay(.0))]
    Invalid(Vec<Diagnostic>),
    #[error("two case files have the id `{id}`: {} and {}", first.display(), second.display())]
    DuplicateId {
        id: String,
        first: PathBuf,
        second: PathBuf,
    },
    #[error("no .case files found in {}", PathsDisplay(.0))]
    NoCases(Vec<PathBuf>),
}

struct InvalidDisplay<'a>(&'a [Diagnostic]);

impl fmt::Display for InvalidDisplay<'_> {
    /// Every diagnostic, a blank line between them, then `N errors in M files`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in self.0 {
            write!(f, "{d}\n\n")?;
        }
        let mut files: Vec<&Path> = self.0.iter().map(|d| d.path.as_path()).collect();
        files.sort();
        files.dedup();
        let n = self.0.len();
        let m = files.len();
        write!(f, "{n} error{} in {m} file{}", plural(n), plural(m))
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

struct PathsDisplay<'a>(&'a [PathBuf]);

impl fmt::Display for PathsDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: Vec<String> = self.0.iter().map(|p| p.display().to_string()).collect();
        f.write_str(&shown.join(", "))
    }
}

/// Finds `.case` files. Each path is a file or a folder walked recursively, in sorted order,
/// skipping entries whose name starts with `.`. A case found under a folder has as id its path
/// relative to that folder, without `.case`, with `/` separators; a file given directly has its
/// file stem. The same file reached twice is listed once; two files with one id are an error.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<(PathBuf, String)>, LoadError> {
    let mut found = Vec::new();
    for root in paths {
        let meta = fs::metadata(root).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => LoadError::NotFound(root.clone()),
            _ => LoadError::Io {
                path: root.clone(),
                source: e,
            },
        })?;
        if meta.is_dir() {
            walk(root, root, &mut found)?;
        } else if root.extension().is_some_and(|e| e == "case") {
            let stem = root
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            found.push((root.clone(), stem));
        } else {
            return Err(LoadError::NotACaseFile(root.clone()));
        }
    }
    let mut by_id: HashMap<String, PathBuf> = HashMap::new();
    let mut out = Vec::new();
    for (path, id) in found {
        if let Some(first) = by_id.get(&id) {
            if same_file(first, &path) {
                continue;
            }
            return Err(LoadError::DuplicateId {
                id,
                first: first.clone(),
                second: path,
            });
        }
        by_id.insert(id.clone(), path.clone());
        out.push((path, id));
    }
    if out.is_empty() {
        return Err(LoadError::NoCases(paths.to_vec()));
    }
    Ok(out)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

fn walk(root: &Path, dir: &Path, found: &mut Vec<(PathBuf, String)>) -> Result<(), LoadError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| LoadError::Io { path, source }
    };
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        entries.push(entry.path());
    }
    entries.sort();
    for path in entries {
        let meta = fs::metadata(&path).map_err(io(&path))?;
        if meta.is_dir() {
            walk(root, &path, found)?;
        } else if path.extension().is_some_and(|e| e == "case") {
            let rel = path
                .strip_prefix(root)
                .expect("walked under root")
                .with_extension("");
            let id: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            found.push((path, id.join("/")));
        }
    }
    Ok(())
}

/// Discovers, reads and parses every case file. All diagnostics of all files are gathered into
/// one [`LoadError::Invalid`].
pub fn load(paths: &[PathBuf]) -> Result<Vec<Case>, LoadError> {
    let mut cases = Vec::new();
    let mut diags = Vec::new();
    for (path, id) in discover(paths)? {
        let bytes = fs::read(&path).map_err(|source| LoadError::Io {
            path: path.clone(),
            source,
        })?;
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                diags.push(not_utf8(&path, e.as_bytes(), e.utf8_error().valid_up_to()));
                continue;
            }
        };
        match parse_case(&text, &path, &id) {
            Ok(case) => cases.push(case),
            Err(mut d) => diags.append(&mut d),
        }
    }
    if !diags.is_empty() {
        return Err(LoadError::Invalid(diags));
    }
    Ok(cases)
}

/// A diagnostic at the first byte that is not UTF-8.
fn not_utf8(path: &Path, bytes: &[u8], valid_up_to: usize) -> Diagnostic {
    let line_start = bytes[..valid_up_to]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line_end = bytes[valid_up_to..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |i| valid_up_to + i);
    let line = bytes[..valid_up_to].iter().filter(|&&b| b == b'\n').count() + 1;
    let prefix = std::str::from_utf8(&bytes[line_start..valid_up_to]).expect("valid up to here");
    let text = format!(
        "{prefix}{}",
        String::from_utf8_lossy(&bytes[valid_up_to..line_end])
    );
    let fault = Fault::new(
        prefix.len()..prefix.len() + '\u{fffd}'.len_utf8(),
        "the file is not UTF-8 text",
    )
    .help(format!(
        "byte \\x{:02x} is not UTF-8; write bytes like it as `\\xNN` escapes",
        bytes[valid_up_to]
    ));
    Diagnostic::at(path, line, &text, fault)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_utf8_points_at_the_byte() {
        let d = not_utf8(Path::new("a.case"), b"title: x\n| ab\xffc\n", 13);
        assert_eq!((d.line, d.col, d.len), (2, 5, 1));
        assert!(d.help.unwrap().contains("\\xff"));
    }

    #[test]
    fn invalid_counts_errors_and_files() {
        let d = |p: &str| Diagnostic::at(Path::new(p), 1, "x", Fault::new(0..1, "bad"));
        let e = LoadError::Invalid(vec![d("a.case"), d("b.case"), d("a.case")]);
        assert!(e.to_string().ends_with("\n\n3 errors in 2 files"));
        assert!(LoadError::Invalid(vec![d("a.case")])
            .to_string()
            .ends_with("1 error in 1 file"));
    }
}
