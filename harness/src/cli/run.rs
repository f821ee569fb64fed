//! `harness run`: run cases at one server and write a report.

use std::fs::File;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
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
use crate::outcome::CaseResult;
use crate::report::RunReport;
use crate::report::{self, Format, Progress, ReportOptions};
use crate::rules::{RuleBook, RuleStatus};
use crate::start::ConfigMode;
use crate::target::{run_at, ServerUnderTest, Settings};

#[derive(Debug, Args)]
#[command(
    override_usage = "harness run [PATHS]... --target HOST:PORT [OPTIONS]\n       harness run [PATHS]... --start CMD [--dir FOLDER] [OPTIONS]"
)]
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
    let followed = WsConfFollowed::of(&server, &a.start, &a.tuning);
    if let Some(w) = &followed.warning {
        eprintln!("warning: {w}");
    }
    let mut report = run_with_progress(&server, &cases, &settings, live_on_stdout, color);
    report.notes.extend(timer);
    report.notes.extend(followed.warning);
    report.ws_conf = Some(followed.what);
    report.replay_port = followed.replay_port;

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

/// The ws.conf a run's expectations follow (`requires:`, `content-type .EXT`, the default
/// KeepaliveTime), said in every report; and the port a reader replays a case at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsConfFollowed {
    /// What it is, for the reports: `--ws-conf FILE`, `./ws.conf`, each started server's own.
    pub what: String,
    /// Said on stderr and in the report when the file was not given (`--target` without
    /// `--ws-conf`): which one was taken, and how to give the right one.
    pub warning: Option<String>,
    /// The port the submission's own ws.conf listens on (with `--start`), for reproducers.
    pub replay_port: Option<u16>,
}

impl WsConfFollowed {
    pub fn of(server: &ServerUnderTest, start: &StartArgs, tuning: &Tuning) -> WsConfFollowed {
        match server {
            ServerUnderTest::Address(t) => target_ws_conf(&t.to_string(), tuning),
            ServerUnderTest::Start(_) => {
                let own = start.dir.join("ws.conf");
                started_ws_conf(
                    &own,
                    &start.dir.display().to_string(),
                    start.how.config_mode,
                )
            }
        }
    }
}

/// With `--target`: `--ws-conf`, else `./ws.conf` (said so, since it is the file of the folder
/// the harness runs in, the bundled reference server's when that is this repository), else
/// none (also said).
fn target_ws_conf(target: &str, tuning: &Tuning) -> WsConfFollowed {
    if let Some(p) = tuning.ws_conf.first() {
        return WsConfFollowed {
            what: format!("{} (--ws-conf)", p.display()),
            warning: None,
            replay_port: None,
        };
    }
    let how = format!(
        "if the server at {target} runs with another ws.conf (a student's), give that file with \
         --ws-conf PATH/ws.conf, or let the harness start the server from its folder with \
         --start CMD --dir FOLDER"
    );
    let here = Path::new("ws.conf");
    if here.is_file() {
        let whose = if Path::new("server/Cargo.toml").is_file() && Path::new("harness").is_dir() {
            ", the bundled reference server's file"
        } else {
            ""
        };
        return WsConfFollowed {
            what: format!("./ws.conf{whose} (no --ws-conf given)"),
            warning: Some(format!(
                "--target without --ws-conf: the cases follow ./ws.conf{whose} (its content \
                 types, RequestMethodSupport, DirectoryIndex, KeepaliveTime); {how}"
            )),
            replay_port: None,
        };
    }
    WsConfFollowed {
        what: "no ws.conf (none given, none in this folder): the handout's defaults".to_string(),
        warning: Some(format!(
            "--target without --ws-conf, and no ./ws.conf: the cases follow the handout's \
             defaults (GET only, no declared types, so the type cases skip); {how}"
        )),
        replay_port: None,
    }
}

/// With `--start`: the submission's own ws.conf patched for each start, or one generated.
pub fn started_ws_conf(own: &Path, folder: &str, mode: ConfigMode) -> WsConfFollowed {
    let text = std::fs::read_to_string(own).ok();
    match (mode, &text) {
        (ConfigMode::Generate, _) | (ConfigMode::Auto, None) => WsConfFollowed {
            what: format!(
                "the ws.conf the harness generated for each start (the handout's canonical file{})",
                if text.is_none() {
                    format!("; {folder} has no ws.conf")
                } else {
                    String::new()
                }
            ),
            warning: None,
            replay_port: None,
        },
        _ => WsConfFollowed {
            what: format!(
                "the submission's own ws.conf ({}), its port, DocumentRoot and KeepaliveTime \
                 patched for each start",
                own.display()
            ),
            warning: None,
            replay_port: text.as_deref().and_then(listen_port),
        },
    }
}

/// The port a ws.conf listens on, in any spelling the patcher knows (`Listen 8888`, `port=80`,
/// `Listen 127.0.0.1:8888`): where its two patches with different ports first differ.
pub fn listen_port(text: &str) -> Option<u16> {
    let root = Path::new("/");
    let one = crate::start::wsconf::patch(text, 1, root, 1);
    let two = crate::start::wsconf::patch(text, 2, root, 1);
    let (a, b) = one
        .changes
        .iter()
        .zip(&two.changes)
        .find(|(a, b)| a.after != b.after && !a.before.is_empty())?;
    let at = a
        .after
        .bytes()
        .zip(b.after.bytes())
        .take_while(|(x, y)| x == y)
        .count();
    let digits: String = a
        .before
        .get(at..)?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok().filter(|p| *p != 0)
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
            r.note
                .as_deref()
                .unwrap_or("not graded: none of its cases could run")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_port_of_a_ws_conf_is_read_in_its_spellings() {
        assert_eq!(
            listen_port("# port\nListen 8888\nDocumentRoot www\n"),
            Some(8888)
        );
        assert_eq!(listen_port("Listen 127.0.0.1:8123\n"), Some(8123));
        assert_eq!(listen_port("port=\"8080\"\n"), Some(8080));
        assert_eq!(listen_port("Listen\n8000\n"), Some(8000));
        assert_eq!(listen_port("DocumentRoot www\n"), None);
    }
}
