//! `harness run`: run cases at one server and write a report.

use std::fs::File;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;

use super::load::Loaded;
use super::{
    parse_target, stdout_is_terminal, ColorChoice, Selection, StartArgs, Tuning, EXIT_ERROR,
};
use crate::case::Case;
use crate::outcome::{CaseResult, RunReport};
use crate::report::{self, Format, Progress, ReportOptions};
use crate::rules::{RuleBook, RuleStatus};
use crate::target::{run_at, ServerUnderTest, Settings};

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub sel: Selection,
    /// The server under test, already running.
    #[arg(
        long,
        value_name = "HOST:PORT",
        conflicts_with = "start",
        required_unless_present = "start"
    )]
    pub target: Option<String>,
    #[command(flatten)]
    pub start: StartArgs,
    #[command(flatten)]
    pub tuning: Tuning,
    /// Cases run at once.
    #[arg(long, short = 'j', value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub jobs: u16,
    /// Report format.
    #[arg(long, value_enum, default_value = "pretty")]
    pub format: Format,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Colour in the pretty format.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorChoice,
}

pub fn run(a: RunArgs) -> anyhow::Result<i32> {
    let Some(Loaded { cases, rules, .. }) = Loaded::load(&a.sel, a.tuning.rubric.as_deref())?
    else {
        return Ok(EXIT_ERROR);
    };
    let server = server_under_test(a.target.as_deref(), &a.start, &a.tuning)?;
    let settings = settings(&a.tuning, a.jobs as usize, rules)?;
    let to_stdout = a.output.is_none();
    let color = a.color.enabled(to_stdout && stdout_is_terminal());
    let live_on_stdout = a.format == Format::Pretty && to_stdout;

    let timer = timer_warning(&cases, &settings);
    if let Some(w) = &timer {
        eprintln!("warning: {w}");
    }
    let mut report = run_with_progress(&server, &cases, &settings, live_on_stdout, color);
    report.notes.extend(timer);

    let opts = ReportOptions {
        color,
        lenient: settings.lenient,
        show_transcripts: true,
    };
    let mut out: Box<dyn Write> = match &a.output {
        Some(p) => Box::new(
            File::create(p)
                .with_context(|| format!("cannot write the report to {}", p.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    if live_on_stdout {
        report::write_pretty_details(&report, &opts, &mut out)?;
    } else {
        report::write_report(a.format, &report, &opts, &mut out)?;
    }
    out.flush()?;
    if let Some(p) = &a.output {
        eprintln!(
            "score {} / {}; report written to {}",
            report::fmt_points(report.score),
            report::fmt_points(report.max_score),
            p.display()
        );
    }
    if !a.sel.rules.is_empty() {
        return Ok(rules_exit_code(&report));
    }
    Ok(report.exit_code(settings.lenient))
}

/// With `--rule`: 1 when a rule run is lost, else 2 when one could not be graded here (its
/// cases need `--start`, say), else 0: every rule holds.
fn rules_exit_code(report: &RunReport) -> i32 {
    if report.rules.iter().any(|r| r.status == RuleStatus::Lost) {
        return 1;
    }
    if let Some(r) = report
        .rules
        .iter()
        .find(|r| r.status == RuleStatus::NotGraded)
    {
        eprintln!(
            "error: rule {}: {}",
            r.rule,
            r.note.as_deref().unwrap_or("not graded: none of its cases could run")
        );
        return EXIT_ERROR;
    }
    0
}

/// The server from `--target` or `--start`.
pub fn server_under_test(
    target: Option<&str>,
    start: &StartArgs,
    tuning: &Tuning,
) -> anyhow::Result<ServerUnderTest> {
    match (target, &start.start) {
        (Some(t), _) => Ok(ServerUnderTest::Address(parse_target(t)?)),
        (None, Some(cmd)) => Ok(ServerUnderTest::Start(
            start.how.spec(cmd, &start.dir, tuning)?,
        )),
        (None, None) => {
            anyhow::bail!("give the server under test: --target HOST:PORT or --start 'CMD'")
        }
    }
}

/// What one connection may read by default: twice the corpus's largest response (1 MiB), so a
/// server that floods costs little memory, even with many submissions graded at once.
pub const MAX_RESPONSE_BYTES: usize = 2 << 20;

pub fn settings(t: &Tuning, jobs: usize, rules: RuleBook) -> anyhow::Result<Settings> {
    Ok(Settings {
        vars: t.var_map(),
        www: t.www.clone(),
        strict: t.strict,
        lenient: !t.strict_form,
        declared: t.declared()?,
        by_rules: t.score == super::ScoreBy::Rules,
        rules,
        jobs,
        connect_timeout: t.connect_timeout(),
        max_response_bytes: MAX_RESPONSE_BYTES,
    })
}

/// A warning when some of the cases wait for a time within a second of the KeepaliveTime they
/// run with: a server that answers or closes only when its timer fires would pass one run and
/// fail the next (see `case::timing`).
pub fn timer_warning(cases: &[Case], settings: &Settings) -> Option<String> {
    let near = crate::case::timing::near_the_timer_at(cases, &settings.vars);
    let (id, line, secs) = near.first()?;
    let k = &settings.vars["keepalive"];
    Some(format!(
        "{} waiting window{} of the cases end{} within 1s of the KeepaliveTime {k}s (e.g. {id}, line \
         {line}: {secs}s): a server that answers or closes only when its keep-alive timer fires \
         could pass one run and fail the next; run it with a KeepaliveTime at least 1s away from \
         every window (--var keepalive=N; the assignment corpus is written for 3 or more)",
        near.len(),
        if near.len() == 1 { "" } else { "s" },
        if near.len() == 1 { "s" } else { "" },
    ))
}

/// Runs the cases, showing progress: per-case lines on stdout when the pretty report goes there,
/// else a transient status on stderr when that is a terminal.
pub fn run_with_progress(
    server: &ServerUnderTest,
    cases: &[Case],
    settings: &Settings,
    live_on_stdout: bool,
    color: bool,
) -> RunReport {
    let names: Vec<(String, String)> = cases
        .iter()
        .map(|c| (c.id.clone(), c.title.clone()))
        .collect();
    let progress = if live_on_stdout {
        Some(Progress::new(
            names,
            color,
            stdout_is_terminal(),
            Box::new(std::io::stdout()),
        ))
    } else if std::io::stderr().is_terminal() {
        let color = ColorChoice::Auto.enabled(true);
        Some(Progress::new(
            names,
            color,
            true,
            Box::new(std::io::stderr()),
        ))
    } else {
        None
    };
    let started = Instant::now();
    let finished = AtomicBool::new(false);
    let notes = Mutex::new(Vec::new());
    let results = std::thread::scope(|s| {
        if let Some(p) = &progress {
            s.spawn(|| {
                while !finished.load(Ordering::Relaxed) {
                    p.tick();
                    std::thread::sleep(Duration::from_millis(250));
                }
            });
        }
        let on_done = |i: usize, r: &CaseResult| {
            if let Some(p) = &progress {
                p.done(i, r);
            }
        };
        let on_note = |n: String| {
            eprintln!("harness: {n}");
            notes.lock().unwrap_or_else(|e| e.into_inner()).push(n);
        };
        let results = run_at(server, cases, settings, &on_done, &on_note);
        finished.store(true, Ordering::Relaxed);
        results
    });
    if let Some(p) = &progress {
        p.finish();
    }
    let mut report = RunReport::new(
        server.describe(),
        started.elapsed(),
        results.cases,
        results.rules,
    );
    report.notes = notes.into_inner().unwrap_or_else(|e| e.into_inner());
    report
}
