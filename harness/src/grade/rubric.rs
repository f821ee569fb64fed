//! Rubric files: an instructor's overrides of the points the cases carry, and which cases students
//! may see in Gradescope.
//!
//! One rule a line; `#` starts a comment line. A selector is a case id or `tag:NAME`. Later lines
//! win over earlier ones.
//!
//! ```text
//! points tag:keepalive 4                     # every case tagged keepalive is worth 4
//! points assignment/errors/bad-method 3      # one case
//! hidden assignment/robustness/traversal     # not shown to students
//! visibility tag:concurrency after_published # any Gradescope visibility
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::case::Case;

/// Gradescope's visibility values.
pub const VISIBILITIES: [&str; 4] = ["visible", "hidden", "after_due_date", "after_published"];

#[derive(Debug, Clone, PartialEq)]
enum Selector {
    Id(String),
    Tag(String),
}

impl Selector {
    fn matches(&self, case: &Case) -> bool {
        match self {
            Selector::Id(id) => case.id == *id,
            Selector::Tag(t) => case.tags.iter().any(|x| x == t),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Rule {
    Points(Selector, f64),
    Visibility(Selector, &'static str),
}

/// A parsed rubric.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rubric {
    rules: Vec<(usize, Rule)>,
    path: Option<PathBuf>,
}

/// A mistake in a rubric file, at `file:line`.
#[derive(Debug, thiserror::Error)]
#[error("{path}:{line}: {message}\n  | {text}\n  = help: {help}")]
pub struct RubricError {
    pub path: String,
    pub line: usize,
    pub text: String,
    pub message: String,
    pub help: String,
}

const HELP: &str =
    "rules are `points SELECTOR N`, `hidden SELECTOR`, `visibility SELECTOR VALUE`; \
    a SELECTOR is a case id or tag:NAME";

impl Rubric {
    /// Reads and parses a rubric file.
    pub fn load(path: &Path) -> anyhow::Result<Rubric> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read the rubric {}: {e}", path.display()))?;
        let mut r = Rubric::parse(&text, &path.display().to_string())?;
        r.path = Some(path.to_path_buf());
        Ok(r)
    }

    /// Parses rubric text; `name` is used in error messages.
    pub fn parse(text: &str, name: &str) -> Result<Rubric, RubricError> {
        let mut rules = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let err = |message: String| RubricError {
                path: name.to_string(),
                line: i + 1,
                text: raw.to_string(),
                message,
                help: HELP.to_string(),
            };
            let words: Vec<&str> = line.split_whitespace().collect();
            let selector = |w: Option<&&str>| -> Result<Selector, RubricError> {
                match w {
                    None => Err(err("missing the selector (a case id or tag:NAME)".into())),
                    Some(w) => Ok(match w.strip_prefix("tag:") {
                        Some(t) if !t.is_empty() => Selector::Tag(t.to_string()),
                        Some(_) => return Err(err("`tag:` needs a tag name".into())),
                        None => Selector::Id(w.to_string()),
                    }),
                }
            };
            let rule = match words[0] {
                "points" => {
                    let s = selector(words.get(1))?;
                    let n = words
                        .get(2)
                        .and_then(|n| n.parse::<f64>().ok())
                        .filter(|n| n.is_finite() && *n >= 0.0)
                        .ok_or_else(|| {
                            err("`points` needs a non-negative number after the selector".into())
                        })?;
                    expect_end(&words, 3).map_err(err)?;
                    Rule::Points(s, n)
                }
                "hidden" => {
                    let s = selector(words.get(1))?;
                    expect_end(&words, 2).map_err(err)?;
                    Rule::Visibility(s, "hidden")
                }
                "visibility" => {
                    let s = selector(words.get(1))?;
                    let v = words.get(2).copied().unwrap_or("");
                    let v = VISIBILITIES.iter().find(|x| **x == v).ok_or_else(|| {
                        err(format!(
                            "`{v}` is not a visibility; one of: {}",
                            VISIBILITIES.join(", ")
                        ))
                    })?;
                    expect_end(&words, 3).map_err(err)?;
                    Rule::Visibility(s, v)
                }
                other => return Err(err(format!("unknown rule `{other}`"))),
            };
            rules.push((i + 1, rule));
        }
        Ok(Rubric { rules, path: None })
    }

    /// Sets each case's points from the rules; returns warnings for rules that matched no case.
    pub fn apply_points(&self, cases: &mut [Case]) -> Vec<String> {
        let mut warnings = Vec::new();
        for (line, rule) in &self.rules {
            let sel = match rule {
                Rule::Points(s, _) | Rule::Visibility(s, _) => s,
            };
            let mut hit = false;
            for c in cases.iter_mut().filter(|c| sel.matches(c)) {
                hit = true;
                if let Rule::Points(_, n) = rule {
                    c.points = *n;
                }
            }
            if !hit {
                let name = self
                    .path
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                warnings.push(format!("{name}:{line}: this rule matches no selected case"));
            }
        }
        warnings
    }

    /// Each case id's Gradescope visibility (`visible` unless a rule says otherwise).
    pub fn visibility(&self, cases: &[Case]) -> HashMap<String, &'static str> {
        let mut map: HashMap<String, &'static str> =
            cases.iter().map(|c| (c.id.clone(), "visible")).collect();
        for (_, rule) in &self.rules {
            if let Rule::Visibility(sel, v) = rule {
                for c in cases.iter().filter(|c| sel.matches(c)) {
                    map.insert(c.id.clone(), v);
                }
            }
        }
        map
    }
}

fn expect_end(words: &[&str], n: usize) -> Result<(), String> {
    match words.get(n) {
        None => Ok(()),
        Some(w) => Err(format!("unexpected `{w}` at the end of the rule")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn case(id: &str, tags: &str) -> Case {
        let src = format!(
            "title: t\ntags: {tags}\n\nsend\n| GET / HTTP/1.1\n|\n\nresponse\nstatus 200\n"
        );
        crate::case::parse_case(&src, Path::new("x.case"), id).expect("a valid case")
    }

    #[test]
    fn later_rules_win_and_unmatched_rules_are_warned() {
        let text = "points tag:keepalive 4\npoints a/reuse 7\nhidden tag:keepalive\n\
                    visibility a/reuse after_published\npoints a/nothing 3\n";
        let r = Rubric::parse(text, "r.txt").unwrap();
        let mut cases = vec![
            case("a/reuse", "keepalive"),
            case("a/idle", "keepalive"),
            case("a/get", "basic"),
        ];
        let warnings = r.apply_points(&mut cases);
        let points: Vec<f64> = cases.iter().map(|c| c.points).collect();
        assert_eq!(points, [7.0, 4.0, 1.0]);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains(":5:"), "{warnings:?}");
        let v = r.visibility(&cases);
        assert_eq!(v["a/reuse"], "after_published");
        assert_eq!(v["a/idle"], "hidden");
        assert_eq!(v["a/get"], "visible");
    }

    #[rstest]
    #[case("points x", 1, "non-negative number")]
    #[case("points x -3", 1, "non-negative number")]
    #[case("# c\n\nhidden", 3, "missing the selector")]
    #[case("visibility a sometimes", 1, "not a visibility")]
    #[case("bonus a 3", 1, "unknown rule `bonus`")]
    #[case("points tag: 3", 1, "needs a tag name")]
    #[case("hidden a b", 1, "unexpected `b`")]
    fn bad_rubrics_name_the_line(#[case] text: &str, #[case] line: usize, #[case] msg: &str) {
        let e = Rubric::parse(text, "r.txt").unwrap_err();
        assert_eq!(e.line, line);
        assert!(e.to_string().contains(msg), "{e}");
        assert!(e.to_string().starts_with(&format!("r.txt:{line}:")), "{e}");
    }
}
