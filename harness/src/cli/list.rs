//! `harness list`: the selected cases, one a line (or as JSON).

use std::io::Write;

use clap::{Args, ValueEnum};
use serde_json::json;

use super::load::Loaded;
use super::{Selection, EXIT_ERROR};
use crate::case::{Case, Level};
use crate::report::fmt_points;
use crate::rules::{RuleBook, Scope};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ListFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub sel: Selection,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ListFormat,
    /// A rubric file (what rules are worth, and which count), as `run --rubric` takes it.
    #[arg(long, value_name = "FILE")]
    pub rubric: Option<std::path::PathBuf>,
}

pub fn run(a: ListArgs) -> anyhow::Result<i32> {
    let Some(Loaded { cases, rules, .. }) = Loaded::load(&a.sel, a.rubric.as_deref())? else {
        return Ok(EXIT_ERROR);
    };
    let mut out = std::io::stdout().lock();
    match a.format {
        ListFormat::Json => write_json(&mut out, &cases, &rules)?,
        ListFormat::Text => {
            write_cases(&mut out, &cases)?;
            write_rules(&mut out, &cases, &rules)?;
        }
    }
    Ok(0)
}

/// A JSON array of the cases, each with its rule and whether that rule counts.
fn write_json(out: &mut dyn Write, cases: &[Case], rules: &RuleBook) -> anyhow::Result<()> {
    let list: Vec<_> = cases
        .iter()
        .map(|c| {
            let rule = c.rule.as_deref().and_then(|r| rules.get(r));
            json!({
                "id": c.id, "title": c.title, "points": c.points, "tags": c.tags,
                "spec": c.spec, "level": c.level.as_str(),
                "config": c.config, "timeout": c.timeout.to_string(),
                "requires": c.requires.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
                "rule": c.rule,
                "rule_scope": rule.map(|r| r.scope),
                "rule_counted": rule.map(|r| r.counted),
                "rule_points": rule.map(|r| r.points),
            })
        })
        .collect();
    writeln!(out, "{}", serde_json::to_string_pretty(&list)?)?;
    Ok(())
}

fn write_cases(out: &mut dyn Write, cases: &[Case]) -> anyhow::Result<()> {
    let width = cases.iter().map(|c| c.id.len()).max().unwrap_or(2).max(2);
    writeln!(
        out,
        "{:<width$}  {:>6}  {:<16}  {:<24}  TITLE",
        "ID", "POINTS", "RULE", "TAGS"
    )?;
    for c in cases {
        let mut title = c.title.clone();
        if c.level != Level::Must {
            title.push_str(&format!(" [{}]", c.level.as_str()));
        }
        if c.config != "default" {
            title.push_str(&format!(" [config: {}]", c.config));
        }
        writeln!(
            out,
            "{:<width$}  {:>6}  {:<16}  {:<24}  {}",
            c.id,
            fmt_points(c.points),
            c.rule.as_deref().unwrap_or("-"),
            c.tags.join(","),
            title
        )?;
    }
    Ok(())
}

/// The rules, then the line that sums it up: `52 cases in 15 rules, graded out of 100 points`.
fn write_rules(out: &mut dyn Write, cases: &[Case], rules: &RuleBook) -> anyhow::Result<()> {
    let n = cases.len();
    let cases_word = if n == 1 { "case" } else { "cases" };
    let loose: f64 = cases
        .iter()
        .filter(|c| c.rule.is_none())
        .map(|c| c.points)
        .sum();
    if rules.rules.iter().all(|r| !r.declared) {
        writeln!(
            out,
            "{n} {cases_word}, {} points",
            fmt_points(loose + rules.total())
        )?;
        return Ok(());
    }
    writeln!(out)?;
    writeln!(
        out,
        "{:<16}  {:>6}  {:<8}  WHAT IT ASKS",
        "RULE", "POINTS", "COUNTS"
    )?;
    for r in &rules.rules {
        let counts = match (r.scope, r.counted) {
            (Scope::Handout, true) => "yes",
            (Scope::Beyond, true) => "rubric",
            (_, false) => "no",
        };
        writeln!(
            out,
            "{:<16}  {:>6}  {:<8}  {}",
            r.name,
            fmt_points(r.points),
            counts,
            r.asks
        )?;
    }
    let beyond: Vec<&str> = rules
        .rules
        .iter()
        .filter(|r| !r.counted)
        .map(|r| r.name.as_str())
        .collect();
    let uncounted = if beyond.is_empty() {
        String::new()
    } else {
        format!(
            "; not counted: {} (beyond the handout: reported with what each would cost; a \
             rubric counts them, e.g. --rubric cases/assignment/strict.rubric)",
            beyond.join(", ")
        )
    };
    writeln!(
        out,
        "{n} {cases_word} in {} rules, graded out of {} points{uncounted}",
        rules.rules.len(),
        fmt_points(loose + rules.total())
    )?;
    Ok(())
}
