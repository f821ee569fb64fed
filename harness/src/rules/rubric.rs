//! Rubric files: an instructor's overrides of what rules and cases are worth, and which cases
//! students may see in Gradescope.
//!
//! One line each; `#` starts a comment line. A selector is a case id or `tag:NAME`. Later lines
//! win over earlier ones.
//!
//! ```text
//! rule form 10                               # count the form rule (beyond the handout): 10 points
//! rule keep-alive 15                         # a handout rule worth 15 instead of 10; 0 drops it
//! points tag:keepalive 4                     # a case's share of its rule (`--score cases`)
//! points assignment/errors/bad-method 3      # one case
//! hidden assignment/robustness/traversal     # not shown to students
//! visibility tag:concurrency after_published # any Gradescope visibility
//! ```
//!
//! `cases/assignment/strict.rubric` counts every rule beyond the handout.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::book::RuleBook;
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
    /// `rule NAME POINTS`: what a rule is worth; above 0 it counts, beyond the handout or not.
    Worth(String, f64),
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
    "lines are `rule NAME N`, `points SELECTOR N`, `hidden SELECTOR`, `visibility SELECTOR VALUE`; \
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
                "rule" => {
                    let name = words
                        .get(1)
                        .ok_or_else(|| err("`rule` needs a rule name".into()))?;
                    let n = points_at(&words, 2).ok_or_else(|| {
                        err("`rule` needs a non-negative number after the name".into())
                    })?;
                    expect_end(&words, 3).map_err(err)?;
                    Rule::Worth(name.to_string(), n)
                }
                "points" => {
                    let s = selector(words.get(1))?;
                    let n = points_at(&words, 2).ok_or_else(|| {
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
                other => return Err(err(format!("unknown line `{other}`"))),
            };
            rules.push((i + 1, rule));
        }
        Ok(Rubric { rules, path: None })
    }

    /// Sets what each rule is worth (`rule NAME N`); returns warnings for rules the selected
    /// cases do not name.
    pub fn apply_rules(&self, book: &mut RuleBook) -> Vec<String> {
        let mut warnings = Vec::new();
        for (line, rule) in &self.rules {
            let Rule::Worth(name, n) = rule else { continue };
            match book.get_mut(name) {
                Some(def) => {
                    def.points = *n;
                    def.counted = *n > 0.0;
                }
                None => warnings.push(format!(
                    "{}:{line}: no selected case belongs to the rule `{name}`",
                    self.name()
                )),
            }
        }
        warnings
    }

    fn name(&self) -> String {
        self.path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    }

    /// Sets each case's points from the lines; returns warnings for lines that matched no case.
    pub fn apply_points(&self, cases: &mut [Case]) -> Vec<String> {
        let mut warnings = Vec::new();
        for (line, rule) in &self.rules {
            let sel = match rule {
                Rule::Points(s, _) | Rule::Visibility(s, _) => s,
                Rule::Worth(..) => continue,
            };
            let mut hit = false;
            for c in cases.iter_mut().filter(|c| sel.matches(c)) {
                hit = true;
                if let Rule::Points(_, n) = rule {
                    c.points = *n;
                }
            }
            if !hit {
                warnings.push(format!(
                    "{}:{line}: this line matches no selected case",
                    self.name()
                ));
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

fn points_at(words: &[&str], i: usize) -> Option<f64> {
    words
        .get(i)
        .and_then(|n| n.parse::<f64>().ok())
        .filter(|n| n.is_finite() && *n >= 0.0)
}

fn expect_end(words: &[&str], n: usize) -> Result<(), String> {
    match words.get(n) {
        None => Ok(()),
        Some(w) => Err(format!("unexpected `{w}` at the end of the line")),
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

    #[test]
    fn rule_lines_set_what_a_rule_is_worth_and_whether_it_counts() {
        use super::super::book::{RuleDef, Scope};
        let def = |name: &str, scope: Scope, points: f64| RuleDef {
            name: name.into(),
            scope,
            points,
            counted: scope == Scope::Handout,
            asks: "x".into(),
            declared: true,
        };
        let mut book = RuleBook {
            rules: vec![
                def("get", Scope::Handout, 10.0),
                def("form", Scope::Beyond, 10.0),
            ],
        };
        let r = Rubric::parse("rule form 8\nrule get 0\nrule nothing 3\n", "r.txt").unwrap();
        let warnings = r.apply_rules(&mut book);
        assert_eq!((book.rules[1].points, book.rules[1].counted), (8.0, true));
        assert_eq!((book.rules[0].points, book.rules[0].counted), (0.0, false));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains(":3: no selected case belongs to the rule `nothing`"));
        assert_eq!(book.total(), 8.0);
    }

    #[test]
    fn a_loaded_rubric_names_its_file_in_warnings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("course.rubric");
        std::fs::write(&path, "# worth\nrule ghost 5\n").unwrap();
        let r = Rubric::load(&path).unwrap();
        let warnings = r.apply_rules(&mut RuleBook::default());
        assert_eq!(
            warnings,
            vec![format!(
                "{}:2: no selected case belongs to the rule `ghost`",
                path.display()
            )]
        );
        let missing = Rubric::load(&dir.path().join("none.rubric")).unwrap_err();
        assert!(
            missing.to_string().contains("cannot read the rubric"),
            "{missing}"
        );
    }

    #[rstest]
    #[case("points x", 1, "non-negative number")]
    #[case("points x -3", 1, "non-negative number")]
    #[case("# c\n\nhidden", 3, "missing the selector")]
    #[case("visibility a sometimes", 1, "not a visibility")]
    #[case("bonus a 3", 1, "unknown line `bonus`")]
    #[case("rule", 1, "needs a rule name")]
    #[case("rule form", 1, "non-negative number after the name")]
    #[case("rule form 3 x", 1, "unexpected `x`")]
    #[case("points tag: 3", 1, "needs a tag name")]
    #[case("hidden a b", 1, "unexpected `b`")]
    fn bad_rubrics_name_the_line(#[case] text: &str, #[case] line: usize, #[case] msg: &str) {
        let e = Rubric::parse(text, "r.txt").unwrap_err();
        assert_eq!(e.line, line);
        assert!(e.to_string().contains(msg), "{e}");
        assert!(e.to_string().starts_with(&format!("r.txt:{line}:")), "{e}");
    }
}
