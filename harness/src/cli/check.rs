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

pub fn run(a: CheckArgs) -> anyhow::Result<i32> {
    match case::load(&a.paths) {
        Ok(cases) => {
            let unknown = unknown_variables(&cases, &a.vars);
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
            eprintln!("{e}");
            Ok(EXIT_ERROR)
        }
    }
}
