//! `harness list`: the selected cases, one a line (or as JSON).

use std::io::Write;

use clap::{Args, ValueEnum};
use serde_json::json;

use super::{Selection, EXIT_ERROR};
use crate::case::Level;
use crate::report::fmt_points;

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
}

pub fn run(a: ListArgs) -> anyhow::Result<i32> {
    let Some(cases) = a.sel.load_or_report() else {
        return Ok(EXIT_ERROR);
    };
    let mut out = std::io::stdout().lock();
    match a.format {
        ListFormat::Json => {
            let list: Vec<_> = cases
                .iter()
                .map(|c| {
                    json!({
                        "id": c.id, "title": c.title, "points": c.points, "tags": c.tags,
                        "spec": c.spec, "level": c.level.as_str(),
                        "config": c.config, "timeout": c.timeout.to_string(),
                        "requires": c.requires.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
                        "rule": c.rule,
                    })
                })
                .collect();
            writeln!(out, "{}", serde_json::to_string_pretty(&list)?)?;
        }
        ListFormat::Text => {
            let width = cases.iter().map(|c| c.id.len()).max().unwrap_or(2).max(2);
            writeln!(
                out,
                "{:<width$}  {:>6}  {:<24}  TITLE",
                "ID", "POINTS", "TAGS"
            )?;
            for c in &cases {
                let mut title = c.title.clone();
                if c.level != Level::Must {
                    title.push_str(&format!(" [{}]", c.level.as_str()));
                }
                if c.config != "default" {
                    title.push_str(&format!(" [config: {}]", c.config));
                }
                writeln!(
                    out,
                    "{:<width$}  {:>6}  {:<24}  {}",
                    c.id,
                    fmt_points(c.points),
                    c.tags.join(","),
                    title
                )?;
            }
            let total: f64 = cases.iter().map(|c| c.points).sum();
            writeln!(
                out,
                "{} {}, {} points",
                cases.len(),
                if cases.len() == 1 { "case" } else { "cases" },
                fmt_points(total)
            )?;
        }
    }
    Ok(0)
}
