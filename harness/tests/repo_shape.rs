//! The shape of the repository, checked so that it cannot drift back:
//!
//! - **No import circles.** In `harness/src` and `server/src`, no two modules use each other.
//!   A module is a file (`a/b.rs` and `a/b/mod.rs` are `a::b`; `lib.rs` and `main.rs` the crate
//!   root). A module uses another when its code names a path into it (`use crate::a::b::X`,
//!   `crate::a::b::f()`, `super::b::X`, `use b::X` from `a/mod.rs`), resolved to the deepest
//!   module the path names. Two modules where one contains the other do not count: a `mod.rs`
//!   re-exporting its children while they use its shared types is one module's inside. The same
//!   check is made between top-level modules (`start`, `target`, `grade`, ...): they are the
//!   layers, and a name re-exported by a `mod.rs` hides which file it comes from.
//! - **No stray files at the root.** Every entry at the repository's root that git tracks is
//!   one that `.gitignore` allows (`!/NAME`); the `.gitignore` ignores everything else there.
//!
//! The check reads the source text (comments and strings removed), with no compiler: simple,
//! and good enough for code written the ordinary way.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Circles that other work in flight removes. Each entry must still exist (the test says when
/// one is gone, so that it is taken off this list and cannot come back unnoticed).
const PENDING: &[(&str, &str, &str)] = &[];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("harness/ has a parent")
        .to_path_buf()
}

/// A module's path within its crate (`["start", "run"]`), empty for the crate root.
type Module = Vec<String>;

fn show(m: &Module) -> String {
    if m.is_empty() {
        "crate".to_string()
    } else {
        m.join("::")
    }
}

/// Every `.rs` file under `src`, with the module it is.
fn modules(src: &Path) -> BTreeMap<PathBuf, Module> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir)
            .expect("a readable source folder")
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(src).unwrap().with_extension("");
                let mut m: Module = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                if m.last().is_some_and(|l| l == "mod") || m == ["lib"] || m == ["main"] {
                    m.pop();
                }
                out.insert(path, m);
            }
        }
    }
    out
}

/// The text without comments, and with every string and character literal emptied (raw
/// strings too), so that only code is left to read paths from.
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let rest = &text[i..];
        if rest.starts_with("//") {
            i += rest.find('\n').unwrap_or(rest.len());
        } else if rest.starts_with("/*") {
            i += rest.find("*/").map_or(rest.len(), |e| e + 2);
        } else if let Some((open, hashes)) = raw_string(rest) {
            let close = format!("\"{}", "#".repeat(hashes));
            i += open
                + rest[open..]
                    .find(&close)
                    .map_or(rest.len() - open, |e| e + close.len());
            out.push_str("\"\"");
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if let Some(len) = char_literal_len(rest) {
            i += len;
            out.push_str("' '");
        } else {
            let c = rest.chars().next().expect("a character");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// At `r"`, `r#"`, `br##"`...: the length up to the opening quote included, and the number
/// of `#`s that close the raw string.
fn raw_string(rest: &str) -> Option<(usize, usize)> {
    let after_r = rest.strip_prefix("br").or_else(|| rest.strip_prefix('r'))?;
    let hashes = after_r.len() - after_r.trim_start_matches('#').len();
    let open = rest.len() - after_r.len() + hashes + 1;
    after_r[hashes..].starts_with('"').then_some((open, hashes))
}

/// The length of a character literal starting here (`'a'`, `'\''`, `'"'`), not a lifetime.
fn char_literal_len(rest: &str) -> Option<usize> {
    let mut chars = rest.char_indices();
    if chars.next()?.1 != '\'' {
        return None;
    }
    let (_, c) = chars.next()?;
    if c == '\\' {
        // the escaped character, then whatever the escape holds (`\x7f`, `\u{1F600}`)
        let end = rest[3..].find('\'')?;
        return Some(end + 4);
    }
    let (at, close) = chars.next()?;
    (close == '\'').then_some(at + 1)
}

/// `a::{b, c::{d, e}}` as the paths it names: `a::b`, `a::c::d`, `a::c::e`.
fn expand(tree: &str) -> Vec<String> {
    let tree: String = tree.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(open) = tree.find('{') else {
        return vec![tree];
    };
    let (prefix, inner) = (&tree[..open], &tree[open + 1..tree.len() - 1]);
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .flat_map(|p| expand(p).into_iter().map(move |q| format!("{prefix}{q}")))
        .collect()
}

/// The paths a file's code names: those of its `use` lines, and `crate::`/`super::` paths.
fn paths_named(code: &str) -> Vec<String> {
    let use_line = regex::Regex::new(r"\buse\s+([^;]*);").unwrap();
    let inline = regex::Regex::new(r"\b(?:crate|super)(?:::\w+)+").unwrap();
    let mut paths: Vec<String> = use_line
        .captures_iter(code)
        .flat_map(|c| expand(&c[1]))
        .collect();
    let rest = use_line.replace_all(code, "");
    paths.extend(inline.find_iter(&rest).map(|m| m.as_str().to_string()));
    paths
}

/// The deepest module of `known` that `path`, written in module `me`, names; `None` for a
/// path outside the crate (`std::...`, another crate).
fn resolve(me: &Module, path: &str, known: &BTreeSet<Module>) -> Option<Module> {
    let segs: Vec<&str> = path
        .split("::")
        .map(|s| s.split(" as ").next().unwrap())
        .collect();
    let (mut at, rest): (Module, &[&str]) = match segs[0] {
        "crate" => (Vec::new(), &segs[1..]),
        "super" | "self" => {
            let mut at = me.clone();
            let mut i = 0;
            while i < segs.len() && (segs[i] == "super" || segs[i] == "self") {
                if segs[i] == "super" {
                    at.pop();
                }
                i += 1;
            }
            (at, &segs[i..])
        }
        // `use run::X` in `start/mod.rs`: a child module
        child => {
            let mut c = me.clone();
            c.push(child.to_string());
            if !known.contains(&c) {
                return None;
            }
            (me.clone(), &segs[..])
        }
    };
    let mut best = at.clone();
    for s in rest {
        at.push(s.to_string());
        if !known.contains(&at) {
            break;
        }
        best = at.clone();
    }
    Some(best)
}

fn contains(outer: &Module, inner: &Module) -> bool {
    inner.starts_with(outer)
}

/// The pairs of modules under `src` that use each other, each once (`a < b`), first between
/// files, then between top-level modules, with one use each way as evidence.
fn circles(src: &Path) -> Vec<(String, String, String)> {
    let files = modules(src);
    let known: BTreeSet<Module> = files.values().cloned().collect();
    let mut uses: BTreeMap<(Module, Module), String> = BTreeMap::new();
    for (path, me) in &files {
        let code = code_only(&fs::read_to_string(path).expect("a readable source file"));
        for p in paths_named(&code) {
            if let Some(them) = resolve(me, &p, &known) {
                if &them != me {
                    let p = p.trim_end_matches("::self");
                    uses.entry((me.clone(), them))
                        .or_insert_with(|| format!("{} uses {p}", show(me)));
                }
            }
        }
    }
    let mut top: BTreeMap<(Module, Module), String> = BTreeMap::new();
    for ((a, b), p) in &uses {
        if !a.is_empty() && !b.is_empty() && a[0] != b[0] {
            let key = (vec![a[0].clone()], vec![b[0].clone()]);
            top.entry(key).or_insert_with(|| p.clone());
        }
    }
    let mut out = Vec::new();
    for graph in [&uses, &top] {
        for ((a, b), p) in graph {
            if a < b && !contains(a, b) && !contains(b, a) {
                if let Some(q) = graph.get(&(b.clone(), a.clone())) {
                    let evidence = format!("{p}; {q}");
                    out.push((show(a), show(b), evidence));
                }
            }
        }
    }
    out.sort();
    out.dedup_by(|x, y| x.0 == y.0 && x.1 == y.1);
    out
}

#[test]
fn no_two_modules_import_each_other() {
    let root = repo_root();
    let mut problems = Vec::new();
    let mut found_pending = BTreeSet::new();
    for src in ["harness/src", "server/src"] {
        for (a, b, evidence) in circles(&root.join(src)) {
            if PENDING.contains(&(src, a.as_str(), b.as_str())) {
                found_pending.insert((src, a, b));
            } else {
                problems.push(format!(
                    "{src}: `{a}` and `{b}` import each other ({evidence}): give the shared \
                     names one owner, or move them to a module below both"
                ));
            }
        }
    }
    for &(src, a, b) in PENDING {
        if !found_pending.contains(&(src, a.to_string(), b.to_string())) {
            problems.push(format!(
                "{src}: `{a}` and `{b}` no longer import each other: take them off PENDING in \
                 harness/tests/repo_shape.rs, so that the circle cannot come back"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_circle_between_two_files_or_two_layers_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let write = |p: &str, text: &str| {
        let path = dir.path().join(p);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    };
    write("lib.rs", "pub mod low;\npub mod high;\npub mod top;\n");
    // a parent and its child using each other is not a circle
    write("low/mod.rs", "//! [`crate::top`] in a comment is no use\nmod inner;\npub use inner::Thing;\npub struct Shared;\n");
    write(
        "low/inner.rs",
        "use super::Shared;\npub struct Thing(Shared);\n",
    );
    write(
        "high.rs",
        "use crate::low::{self, Thing};\npub fn f() -> Thing { todo!() }\n",
    );
    write(
        "top.rs",
        "pub fn g() { crate::high::f(); }\nconst S: &str = \"crate::low\";\n",
    );
    assert_eq!(circles(dir.path()), vec![]);

    // two files
    write(
        "high.rs",
        "use crate::low::{self, Thing};\npub fn f() -> Thing { todo!() }\npub struct H;\n",
    );
    // (after a character literal holding a quote, and a raw string: both end where they should)
    write("low/mod.rs", "mod inner;\npub use inner::Thing;\npub struct Shared;\nfn q() -> (char, &'static str) { ('\"', r#\"\"x\"#) }\npub fn h() -> crate::high::H { todo!() }\n");
    let found: Vec<(String, String)> = circles(dir.path())
        .into_iter()
        .map(|(a, b, _)| (a, b))
        .collect();
    assert_eq!(found, vec![("high".to_string(), "low".to_string())]);

    // two layers, through a name `low/mod.rs` re-exports
    write(
        "low/mod.rs",
        "mod inner;\npub use inner::Thing;\npub struct Shared;\n",
    );
    write(
        "low/inner.rs",
        "use super::Shared;\npub struct Thing(Shared);\nfn k() { super::super::high::f(); }\n",
    );
    let found: Vec<(String, String)> = circles(dir.path())
        .into_iter()
        .map(|(a, b, _)| (a, b))
        .collect();
    assert_eq!(found, vec![("high".to_string(), "low".to_string())]);
}

#[test]
fn the_root_holds_only_what_gitignore_allows() {
    let root = repo_root();
    let gitignore = fs::read_to_string(root.join(".gitignore")).expect(".gitignore at the root");
    let allowed: BTreeSet<&str> = gitignore
        .lines()
        .filter_map(|l| l.trim().strip_prefix("!/"))
        .map(|l| l.trim_end_matches('/'))
        .collect();
    assert!(
        gitignore.lines().any(|l| l.trim() == "/*"),
        ".gitignore must ignore everything at the root (`/*`) but what it allows"
    );
    let listed = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(&root)
        .output()
        .ok()
        .filter(|o| o.status.success());
    let Some(listed) = listed else {
        eprintln!("not a git checkout (or no git): the tracked root entries cannot be listed");
        return;
    };
    let tracked: BTreeSet<String> = listed
        .stdout
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let p = String::from_utf8_lossy(p);
            p.split('/').next().unwrap_or_default().to_string()
        })
        .collect();
    let stray: Vec<&String> = tracked
        .iter()
        .filter(|t| !allowed.contains(t.as_str()))
        .collect();
    assert!(
        stray.is_empty(),
        "stray entries at the repository's root: {stray:?}. Remove them (`git rm`), or, when one \
         belongs there, allow it with a `!/NAME` line in .gitignore"
    );
}
