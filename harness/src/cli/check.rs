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
}

pub fn run(a: CheckArgs) -> anyhow::Result<i32> {
    match case::load(&a.paths) {
        Ok(cases) => {
            let points: f64 = cases.iter().map(|c| c.points).sum();
            println!(
                "ok: {} case{} valid, worth {} points",
                cases.len(),
                if cases.len() == 1 { "" } else { "s" },
                crate::report::fmt_points(points)
            );
            Ok(0)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(EXIT_ERROR)
        }
    }
}
