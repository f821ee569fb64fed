//! The rules a corpus is graded by, as its `rules.txt` declares them: each rule's name, whether
//! the handout asks for it or it goes beyond the handout, what it is worth, and what it asks, in
//! the handout's words, for reports.
//!
//! ```text
//! # NAME            SCOPE     POINTS  WHAT IT ASKS
//! get               handout   10      GET serves a file whole, with the type ws.conf maps
//! form              beyond    10      responses are well formed: CRLF, a reason phrase, ...
//! ```
//!
//! A case names its rule with `rule: NAME`; the nearest `rules.txt` in the case's folder or a
//! folder above it must declare that name. A `handout` rule counts toward the grade; a `beyond`
//! rule is graded and reported with what it would cost, and counts only when a rubric says so
//! (`rule NAME POINTS`, see [`super::rubric`]). Cases whose folders have no `rules.txt` keep
//! the old meaning: a rule is worth the points of its cases.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::case::{Case, Diagnostic};

/// The file name a corpus declares its rules in.
pub const RULES_FILE: &str = "rules.txt";

/// Whether the handout asks for a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    Handout,
    Beyond,
}

/// One rule.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleDef {
    pub name: String,
    pub scope: Scope,
    /// What it is worth when it counts; for a rule beyond the handout, what it would cost.
    pub points: f64,
    /// Whether it counts toward the grade: handout rules do, beyond rules when a rubric says so.
    pub counted: bool,
    /// What it asks, in the handout's words.
    pub asks: String,
    /// Declared in a rules file (else made up from the cases that name it: worth their points).
    pub declared: bool,
}

/// Every rule the selected cases name, in the order they were declared.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleBook {
    pub rules: Vec<RuleDef>,
}

impl RuleBook {
    /// The rule with this name.
    pub fn get(&self, name: &str) -> Option<&RuleDef> {
        self.rules.iter().find(|r| r.name == name)
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut RuleDef> {
        self.rules.iter_mut().find(|r| r.name == name)
    }

    /// The rules of these cases: those of the `rules.txt` that applies to each case, and for a
    /// rule no such file declares, one worth the points of its cases. Every case's `rule:` must
    /// be declared where a `rules.txt` applies; each mistake is a diagnostic.
    pub fn for_cases(cases: &[Case]) -> Result<RuleBook, Vec<Diagnostic>> {
        let mut files: BTreeMap<PathBuf, Vec<(usize, RuleDef)>> = BTreeMap::new();
        let mut book = RuleBook::default();
        let mut diags = Vec::new();
        for case in cases {
            let Some(name) = &case.rule else { continue };
            let Some(file) = rules_file_for(&case.path) else {
                book.add_undeclared(name, case.points);
                continue;
            };
            if !files.contains_key(&file) {
                match read_rules_file(&file) {
                    Ok(rules) => {
                        files.insert(file.clone(), rules);
                    }
                    Err(mut d) => {
                        diags.append(&mut d);
                        files.insert(file.clone(), Vec::new());
                        continue;
                    }
                }
            }
            match files[&file].iter().find(|(_, r)| &r.name == name) {
                Some((_, def)) if book.get(name).is_none() => book.rules.push(def.clone()),
                Some(_) => {}
                None if diags.iter().any(|d| d.path == file) => {}
                None => diags.push(undeclared_rule(case, name, &file, &files[&file])),
            }
        }
        if !diags.is_empty() {
            return Err(diags);
        }
        // In the order the files declare them, then the undeclared ones.
        let position = |r: &RuleDef| {
            files
                .values()
                .flatten()
                .position(|(_, d)| r.declared && d.name == r.name)
                .unwrap_or(usize::MAX)
        };
        book.rules.sort_by_key(position);
        Ok(book)
    }

    fn add_undeclared(&mut self, name: &str, points: f64) {
        match self.get_mut(name) {
            Some(r) if !r.declared => r.points += points,
            Some(_) => {}
            None => self.rules.push(RuleDef {
                name: name.to_string(),
                scope: Scope::Handout,
                points,
                counted: true,
                asks: String::new(),
                declared: false,
            }),
        }
    }

    /// The points of the rules that count.
    pub fn total(&self) -> f64 {
        self.rules
            .iter()
            .filter(|r| r.counted)
            .map(|r| r.points)
            .sum()
    }
}

/// The nearest `rules.txt` in the case file's folder or a folder above it.
pub fn rules_file_for(case_path: &Path) -> Option<PathBuf> {
    let abs = std::path::absolute(case_path).ok()?;
    abs.ancestors()
        .skip(1)
        .map(|dir| dir.join(RULES_FILE))
        .find(|p| p.is_file())
}

/// Reads and parses a rules file.
pub fn read_rules_file(path: &Path) -> Result<Vec<(usize, RuleDef)>, Vec<Diagnostic>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![diagnostic(
            path,
            0,
            "",
            format!("cannot read the rules file: {e}"),
            None,
        )]
    })?;
    parse_rules(&text, path)
}

const HELP: &str = "a rule is `NAME SCOPE POINTS WHAT IT ASKS`, SCOPE `handout` or `beyond`, e.g. \
                    `get handout 10 GET serves a file with the type ws.conf maps`";

/// Parses the text of a rules file; `path` is used in diagnostics.
pub fn parse_rules(text: &str, path: &Path) -> Result<Vec<(usize, RuleDef)>, Vec<Diagnostic>> {
    let mut rules: Vec<(usize, RuleDef)> = Vec::new();
    let mut diags = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match parse_line(line) {
            Ok(def) => match rules.iter().find(|(_, r)| r.name == def.name) {
                Some((first, _)) => diags.push(diagnostic(
                    path,
                    i + 1,
                    raw,
                    format!(
                        "rule `{}` is declared twice (first at line {first})",
                        def.name
                    ),
                    Some("give each rule one line".into()),
                )),
                None => rules.push((i + 1, def)),
            },
            Err(message) => diags.push(diagnostic(path, i + 1, raw, message, Some(HELP.into()))),
        }
    }
    if rules.is_empty() && diags.is_empty() {
        diags.push(diagnostic(
            path,
            0,
            "",
            "the rules file declares no rule".into(),
            Some(HELP.into()),
        ));
    }
    if diags.is_empty() {
        Ok(rules)
    } else {
        Err(diags)
    }
}

fn parse_line(line: &str) -> Result<RuleDef, String> {
    let mut words = line.split_whitespace();
    let name = words.next().unwrap_or_default();
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(format!(
            "`{name}` is not a rule name (lower-case letters, digits and `-`)"
        ));
    }
    let scope = match words.next() {
        Some("handout") => Scope::Handout,
        Some("beyond") => Scope::Beyond,
        Some(other) => return Err(format!("`{other}` is not a scope: `handout` or `beyond`")),
        None => return Err(format!("rule `{name}` has no scope")),
    };
    let points = words
        .next()
        .and_then(|w| w.parse::<f64>().ok())
        .filter(|p| p.is_finite() && *p >= 0.0)
        .ok_or_else(|| format!("rule `{name}` needs its points, a non-negative number"))?;
    let asks = words.collect::<Vec<_>>().join(" ");
    if asks.is_empty() {
        return Err(format!(
            "rule `{name}` does not say what it asks (reports show it to students)"
        ));
    }
    Ok(RuleDef {
        name: name.to_string(),
        scope,
        points,
        counted: scope == Scope::Handout,
        asks,
        declared: true,
    })
}

fn diagnostic(
    path: &Path,
    line: usize,
    text: &str,
    message: String,
    help: Option<String>,
) -> Diagnostic {
    Diagnostic {
        path: path.to_path_buf(),
        line,
        col: 1,
        len: text.trim_end().chars().count(),
        line_text: text.to_string(),
        message,
        help,
    }
}

/// A case naming a rule its rules file does not declare, pointed at its `rule:` line.
fn undeclared_rule(
    case: &Case,
    name: &str,
    file: &Path,
    declared: &[(usize, RuleDef)],
) -> Diagnostic {
    let source = std::fs::read_to_string(&case.path).unwrap_or_default();
    let (line, text) = source
        .lines()
        .enumerate()
        .find(|(_, l)| l.trim_start().starts_with("rule:"))
        .map(|(i, l)| (i + 1, l.to_string()))
        .unwrap_or((0, String::new()));
    let col = text.find(name).map_or(1, |c| c + 1);
    let names: Vec<&str> = declared.iter().map(|(_, r)| r.name.as_str()).collect();
    Diagnostic {
        path: case.path.clone(),
        line,
        col,
        len: name.len(),
        line_text: text,
        message: format!("rule `{name}` is not declared in {}", file.display()),
        help: Some(format!(
            "declared there: {}; add a line for `{name}` or name one of them",
            names.join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[test]
    fn a_rules_file_reads_its_rules_in_order() {
        let text = "# comment\n\nget handout 10 GET serves a file\nform beyond 10 responses are well formed\n";
        let rules = parse_rules(text, Path::new("rules.txt")).unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].0, 3);
        let (get, form) = (&rules[0].1, &rules[1].1);
        assert_eq!(
            (get.name.as_str(), get.scope, get.points, get.counted),
            ("get", Scope::Handout, 10.0, true)
        );
        assert_eq!(get.asks, "GET serves a file");
        assert_eq!((form.scope, form.counted), (Scope::Beyond, false));
    }

    #[rstest]
    #[case("Get handout 10 x", 1, "not a rule name")]
    #[case("get sometimes 10 x", 1, "not a scope")]
    #[case("get", 1, "has no scope")]
    #[case("get handout ten x", 1, "needs its points")]
    #[case("get handout -1 x", 1, "needs its points")]
    #[case("get handout 10", 1, "does not say what it asks")]
    #[case(
        "get handout 10 x\nget beyond 1 y",
        2,
        "declared twice (first at line 1)"
    )]
    #[case("# nothing\n", 0, "declares no rule")]
    fn mistakes_name_their_line(#[case] text: &str, #[case] line: usize, #[case] msg: &str) {
        let d = parse_rules(text, Path::new("r/rules.txt")).unwrap_err();
        assert_eq!(d[0].line, line, "{d:?}");
        assert!(d[0].message.contains(msg), "{}", d[0].message);
    }

    fn case_in(dir: &Path, name: &str, rule: &str, points: f64) -> Case {
        let path = dir.join(format!("{name}.case"));
        let src = format!(
            "title: t\npoints: {points}\nrule: {rule}\n\nsend\n| GET / HTTP/1.1\n|\n\nresponse\nstatus 200\n"
        );
        std::fs::write(&path, &src).unwrap();
        crate::case::parse_case(&src, &path, name).unwrap()
    }

    #[test]
    fn cases_find_the_nearest_rules_file_and_must_name_its_rules() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("errors");
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(
            dir.path().join(RULES_FILE),
            "not-found handout 10 404 for a missing file\n",
        )
        .unwrap();
        let good = case_in(&sub, "nf", "not-found", 3.0);
        let book = RuleBook::for_cases(std::slice::from_ref(&good)).unwrap();
        assert_eq!(book.rules.len(), 1);
        assert_eq!(
            book.rules[0].points, 10.0,
            "the file's worth, not the case's"
        );

        let bad = case_in(&sub, "typo", "not-fuond", 3.0);
        let d = RuleBook::for_cases(&[good, bad]).unwrap_err();
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].line, d[0].col), (3, 7), "{}", d[0]);
        assert!(d[0].message.contains("rule `not-fuond` is not declared in"));
        assert!(d[0].help.as_deref().unwrap().contains("not-found"));
    }

    #[test]
    fn a_rule_named_by_many_cases_is_in_the_book_once_in_the_files_order() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(RULES_FILE),
            "get handout 10 GET serves a file\nnot-found handout 10 404 for a missing file\n",
        )
        .unwrap();
        let cases = [
            case_in(dir.path(), "nf", "not-found", 1.0),
            case_in(dir.path(), "index", "get", 1.0),
            case_in(dir.path(), "css", "get", 1.0),
        ];
        let book = RuleBook::for_cases(&cases).unwrap();
        let names: Vec<&str> = book.rules.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["get", "not-found"]);
        assert_eq!(book.get("not-found").map(|r| r.points), Some(10.0));
        assert_eq!(book.get("nothing"), None);
        assert_eq!(book.total(), 20.0);
    }

    #[test]
    fn a_broken_rules_file_is_reported_once_not_per_case() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(RULES_FILE), "Get handout 10 x\n").unwrap();
        let cases = [
            case_in(dir.path(), "a", "get", 1.0),
            case_in(dir.path(), "b", "get", 1.0),
        ];
        let d = RuleBook::for_cases(&cases).unwrap_err();
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].message.contains("not a rule name"), "{}", d[0]);
    }

    #[test]
    fn a_declared_rule_keeps_its_worth_when_a_case_without_a_rules_file_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let (with, without) = (dir.path().join("with"), dir.path().join("without"));
        std::fs::create_dir(&with).unwrap();
        std::fs::create_dir(&without).unwrap();
        std::fs::write(with.join(RULES_FILE), "get handout 10 GET serves a file\n").unwrap();
        let loose = case_in(&without, "loose", "get", 3.0);
        if rules_file_for(&loose.path).is_some() {
            return; // a stray rules.txt above the temp dir
        }
        let declared = case_in(&with, "index", "get", 1.0);
        let book = RuleBook::for_cases(&[declared, loose]).unwrap();
        assert_eq!(book.rules.len(), 1);
        assert_eq!((book.rules[0].points, book.rules[0].declared), (10.0, true));
    }

    #[test]
    fn without_a_rules_file_a_rule_is_worth_its_cases() {
        let dir = tempfile::tempdir().unwrap();
        let a = case_in(dir.path(), "a", "x", 2.0);
        let b = case_in(dir.path(), "b", "x", 3.0);
        // Nothing above a temp dir declares rules (unless the machine has a stray rules.txt).
        if rules_file_for(&a.path).is_some() {
            return;
        }
        let book = RuleBook::for_cases(&[a, b]).unwrap();
        assert_eq!(book.rules[0].points, 5.0);
        assert!(book.rules[0].counted && !book.rules[0].declared);
    }
}
