//! `harness diff`: run the same cases at two servers and show, case by case, where their
//! responses differ.

use std::path::PathBuf;

use clap::Args;

use super::load::Loaded;
use super::{parse_target, run::settings, Selection, StartOptions, Tuning, EXIT_ERROR};
use crate::diff;
use crate::target::{run_at, ServerUnderTest};

#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub sel: Selection,
    /// A running server to compare (give two, or one and a --start).
    #[arg(long = "target", value_name = "HOST:PORT")]
    pub targets: Vec<String>,
    /// A server to start and compare ({port}, {config}, {root}, {dir} filled in). Sides are the
    /// --target values first, then the --start ones, in the order given.
    #[arg(long = "start", value_name = "CMD")]
    pub starts: Vec<String>,
    /// The folder copied for each --start, in the same order (default: `.`).
    #[arg(long = "dir", value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    #[command(flatten)]
    pub how: StartOptions,
    /// Cases run at once (at each server).
    #[arg(long, short = 'j', value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub jobs: u16,
    /// Also list the cases where both agree.
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub tuning: Tuning,
}

pub fn run(a: DiffArgs) -> anyhow::Result<i32> {
    if a.targets.len() + a.starts.len() != 2 {
        anyhow::bail!(
            "diff compares exactly two servers: give two of --target HOST:PORT / --start 'CMD' (got {})",
            a.targets.len() + a.starts.len()
        );
    }
    if a.dirs.len() > a.starts.len() {
        anyhow::bail!(
            "--dir goes with a --start: {} --dir for {} --start",
            a.dirs.len(),
            a.starts.len()
        );
    }
    let Some(Loaded { cases, rules, .. }) = Loaded::load(&a.sel, a.tuning.rubric.as_deref())?
    else {
        return Ok(EXIT_ERROR);
    };
    let mut sides = Vec::new();
    for t in &a.targets {
        sides.push(ServerUnderTest::Address(parse_target(t)?));
    }
    for (i, cmd) in a.starts.iter().enumerate() {
        let dir = a.dirs.get(i).cloned().unwrap_or_else(|| PathBuf::from("."));
        sides.push(ServerUnderTest::Start(a.how.spec(cmd, &dir, &a.tuning)?));
    }
    let settings = settings(&a.tuning, a.jobs as usize, rules)?;
    let (ra, rb) = std::thread::scope(|s| {
        let ha = s.spawn(|| run_at(&sides[0], &cases, &settings, &|_, _| {}, &|_| {}));
        let hb = s.spawn(|| run_at(&sides[1], &cases, &settings, &|_, _| {}, &|_| {}));
        (
            ha.join().expect("side A ran").cases,
            hb.join().expect("side B ran").cases,
        )
    });
    println!("A: {}", sides[0].describe());
    println!("B: {}", sides[1].describe());
    let mut differing = 0;
    for ((x, y), case) in ra.iter().zip(&rb).zip(&cases) {
        let mut lines = diff::compare(x, y, &diff::fate_checked(case));
        if let Some(change) = diff::verdict_change(x, y) {
            lines.insert(0, change);
        }
        if lines.is_empty() {
            if a.all {
                println!("same     {}", x.id);
            }
            continue;
        }
        differing += 1;
        println!("differs  {}  ({})", x.id, x.title);
        for l in lines {
            println!("    {l}");
        }
    }
    println!(
        "{} {}: {} differ, {} agree",
        ra.len(),
        if ra.len() == 1 { "case" } else { "cases" },
        differing,
        ra.len() - differing
    );
    Ok(if differing == 0 { 0 } else { 1 })
}
