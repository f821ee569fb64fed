//! `harness diff`: run the same cases at two servers and show, case by case, where their
//! responses differ.

use std::path::PathBuf;

use clap::Args;

use super::load::Loaded;
use super::{parse_target, run::settings, Selection, StartOptions, Tuning, EXIT_ERROR};
use crate::case::Case;
use crate::diff;
use crate::outcome::CaseResult;
use crate::target::{run_at, ServerUnderTest, Settings};

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
    check_counts(&a)?;
    let Some(Loaded { cases, rules, .. }) = Loaded::load(&a.sel, a.tuning.rubric.as_deref())?
    else {
        return Ok(EXIT_ERROR);
    };
    let tunings = side_tunings(&a)?;
    let sides = sides(&a, &tunings)?;
    let settings = [
        settings(&tunings[0], a.jobs as usize, rules.clone())?,
        settings(&tunings[1], a.jobs as usize, rules)?,
    ];
    let (ra, rb) = std::thread::scope(|s| {
        let ha = s.spawn(|| run_at(&sides[0], &cases, &settings[0], &|_, _| {}, &|_| {}));
        let hb = s.spawn(|| run_at(&sides[1], &cases, &settings[1], &|_, _| {}, &|_| {}));
        (
            ha.join().expect("side A ran").cases,
            hb.join().expect("side B ran").cases,
        )
    });
    for (name, (side, set)) in ["A", "B"].iter().zip(sides.iter().zip(&settings)) {
        println!("{name}: {}", describe(side, set));
    }
    Ok(report(&cases, &ra, &rb, a.all))
}

/// Two servers, `--dir`s only for `--start`s, at most one `--ws-conf` a server.
fn check_counts(a: &DiffArgs) -> anyhow::Result<()> {
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
    if a.tuning.ws_conf.len() > 2 {
        anyhow::bail!(
            "--ws-conf given {} times: give one for both servers, or two (A's, then B's)",
            a.tuning.ws_conf.len()
        );
    }
    Ok(())
}

/// The settings each side is run with: the shared ones, with the ws.conf that side is judged
/// by. No --ws-conf: each --target side reads ./ws.conf (if any); one: every --target side runs
/// with it; two: one a side, in the order of the sides (the --target values first, then the
/// --start ones). A --start side always runs with (and is judged by) the ws.conf of its own
/// --dir, patched for the run, so a second --ws-conf that falls on it is a usage error.
fn side_tunings(a: &DiffArgs) -> anyhow::Result<[Tuning; 2]> {
    let given = &a.tuning.ws_conf;
    let side = |i: usize| -> anyhow::Result<Tuning> {
        let mut t = a.tuning.clone();
        t.ws_conf = match given.len() {
            2 if i >= a.targets.len() => anyhow::bail!(
                "--ws-conf {}: side {} is a --start, which runs with the ws.conf of its --dir \
                 (patched for the run); give a --ws-conf for each --target only, or put that \
                 file in its --dir",
                given[i].display(),
                ["A", "B"][i]
            ),
            2 => vec![given[i].clone()],
            _ => given.clone(),
        };
        Ok(t)
    };
    Ok([side(0)?, side(1)?])
}

/// The two servers, in order: the --target values, then the --start ones (each with its --dir).
fn sides(a: &DiffArgs, tunings: &[Tuning; 2]) -> anyhow::Result<Vec<ServerUnderTest>> {
    let mut sides = Vec::new();
    for t in &a.targets {
        sides.push(ServerUnderTest::Address(parse_target(t)?));
    }
    for (i, cmd) in a.starts.iter().enumerate() {
        let dir = a.dirs.get(i).cloned().unwrap_or_else(|| PathBuf::from("."));
        let tuning = &tunings[sides.len()];
        sides.push(ServerUnderTest::Start(a.how.spec(cmd, &dir, tuning)?));
    }
    Ok(sides)
}

/// The side's header line: the server, and for a running one the ws.conf it is judged by.
fn describe(side: &ServerUnderTest, settings: &Settings) -> String {
    match side {
        ServerUnderTest::Address(_) => {
            format!("{}, ws.conf: {}", side.describe(), settings.declared.source)
        }
        ServerUnderTest::Start(_) => side.describe(),
    }
}

/// Prints every case where the two differ (every case with `all`) and the tally; the exit
/// code: 0 when they agree on every case, else 1.
fn report(cases: &[Case], ra: &[CaseResult], rb: &[CaseResult], all: bool) -> i32 {
    let mut differing = 0;
    for ((x, y), case) in ra.iter().zip(rb).zip(cases) {
        let mut lines = diff::compare(x, y, &diff::fate_checked(case));
        if let Some(change) = diff::verdict_change(x, y) {
            lines.insert(0, change);
        }
        if lines.is_empty() {
            if all {
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
    if differing == 0 {
        0
    } else {
        1
    }
}
