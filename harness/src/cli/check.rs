//! `harness check`: validate case files without a server.

use std::path::PathBuf;

use clap::Args;

use super::EXIT_ERROR;
use crate::case;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Case files or folders (searched recursively for *.case).
    #[arg(value_name = "PATHS", default_value = "cases")]
    pub paths: Vec<PathBuf>,
    /// A variable the run will define (`--var name=value`): any other the cases use is an
    /// error at its line and column. `host`, `port` and `keepalive` are always defined.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = super::parse_var)]
    pub vars: Vec<(String, String)>,
}

/// The variables every run defines.
pub const BUILTIN_VARS: &[&str] = &["host", "port", "keepalive"];

/// `FILE:LINE:COL: unknown variable {name}` for every variable the cases use that neither the
/// run nor `vars` defines.
pub fn unknown_variables(cases: &[case::Case], vars: &[(String, String)]) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for c in cases {
        if !seen.insert(c.path.clone()) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&c.path) else {
            continue;
        };
        for (line, col, name) in case::variables_in_source(&text) {
            if BUILTIN_VARS.contains(&name.as_str()) || vars.iter().any(|(k, _)| *k == name) {
                continue;
            }
            out.push(format!(
                "{}:{line}:{col}: unknown variable {{{name}}}: define it with --var {name}=VALUE",
                c.path.display()
            ));
        }
    }
    out
}

/// `FILE: no hint: ...` for every graded case without a `hint:`. A case is graded, and so
/// read by students who must learn from its report what to change, when a `rules.txt` in its
/// folder or a folder above it declares the rules it is graded by (`cases/assignment`).
pub fn missing_hints(cases: &[case::Case]) -> Vec<String> {
    cases
        .iter()
        .filter(|c| c.hint.is_none())
        .filter_map(|c| {
            let rules = crate::rules::book::rules_file_for(&c.path)?;
            Some(format!(
                "{}: no `hint:`: a case graded by {} needs one, one or two sentences telling a \
                 student what to change, e.g. `hint: Check the URL before looking for the file: \
                 a path that does not start with / gets 400 Invalid URL.`",
                c.path.display(),
                rules.display()
            ))
        })
        .collect()
}

/// A case-loading error as the user reads it: `error: ...` (diagnostics of invalid files carry
/// their own), and for a path that does not exist, what to give instead.
pub fn load_error(e: &case::LoadError) -> String {
    match e {
        case::LoadError::Invalid(_) => e.to_string(),
        case::LoadError::NotFound(_) => format!(
            "error: {e}: give case files or folders of them (the assignment corpus is \
             cases/assignment, found from the repository's root)"
        ),
        _ => format!("error: {e}"),
    }
}

pub fn run(a: CheckArgs) -> anyhow::Result<i32> {
    match case::load(&a.paths) {
        Ok(cases) => {
            let mut unknown = unknown_variables(&cases, &a.vars);
            unknown.extend(missing_hints(&cases));
            if !unknown.is_empty() {
                for u in &unknown {
                    eprintln!("error: {u}");
                }
                return Ok(EXIT_ERROR);
            }
            for c in &cases {
                for w in case::timing::near_the_timer(c) {
                    eprintln!("warning: {w}");
                }
            }
            let rules = match crate::rules::RuleBook::for_cases(&cases) {
                Ok(rules) => rules,
                Err(diags) => {
                    for d in &diags {
                        eprintln!("{d}\n");
                    }
                    return Ok(EXIT_ERROR);
                }
            };
            let loose: f64 = cases
                .iter()
                .filter(|c| c.rule.is_none())
                .map(|c| c.points)
                .sum();
            let points = crate::report::fmt_points(loose + rules.total());
            let declared = rules.rules.iter().filter(|r| r.declared).count();
            let worth = if declared > 0 {
                format!("in {declared} declared rules, graded out of {points} points")
            } else {
                format!(
                    "worth {points} point{}",
                    if points == "1" { "" } else { "s" }
                )
            };
            println!(
                "ok: {} case{} valid, {worth}",
                cases.len(),
                if cases.len() == 1 { "" } else { "s" },
            );
            Ok(0)
        }
        Err(e) => {
            eprintln!("{}", load_error(&e));
            Ok(EXIT_ERROR)
        }
    }
}
