//! The server under test, whichever way it is given (an address, or a command the harness starts),
//! and running a selection of cases at it. `run`, `grade` and `diff` all go through here.

use std::path::PathBuf;
use std::time::Duration;

use crate::case::{Case, Vars};
use crate::declared::Declared;
use crate::exec::{self, RunOptions, Target};
use crate::outcome::{CaseResult, Verdict};
use crate::start::{self, StartSpec};

/// Where the cases go.
#[derive(Debug, Clone)]
pub enum ServerUnderTest {
    /// A server already listening.
    Address(Target),
    /// A server the harness starts (and restarts) itself, once per configuration the cases need.
    Start(StartSpec),
}

impl ServerUnderTest {
    /// How reports name it: `HOST:PORT`, or the start command.
    pub fn describe(&self) -> String {
        match self {
            ServerUnderTest::Address(t) => t.to_string(),
            ServerUnderTest::Start(s) => format!("{} (started in {})", s.command, s.dir.display()),
        }
    }
}

/// How cases run, whatever the server.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `keepalive` and any `--var`; `host` and `port` are added per target.
    pub vars: Vars,
    /// The site `body file` checks read (with `--start`, the started instance's copy is used).
    pub www: PathBuf,
    pub strict: bool,
    /// Non-strict verdicts earn their points (the default; false with `--strict-form`).
    pub lenient: bool,
    /// What the server's ws.conf declares; with `--start`, each instance's own file is read.
    pub declared: Declared,
    /// Grade by rules (`rule:`): a rule's cases are held or lost whole (`--score rules`).
    pub by_rules: bool,
    pub jobs: usize,
    pub connect_timeout: Duration,
    pub max_response_bytes: usize,
}

impl Settings {
    /// Run options for one target.
    pub fn options_for(&self, target: Target) -> RunOptions {
        let mut vars = self.vars.clone();
        vars.insert("host".into(), target.host.clone());
        vars.insert("port".into(), target.port.to_string());
        RunOptions {
            target,
            vars,
            www: self.www.clone(),
            strict: self.strict,
            lenient: self.lenient,
            declared: self.declared.clone(),
            jobs: self.jobs,
            max_response_bytes: self.max_response_bytes,
            connect_timeout: self.connect_timeout,
        }
    }
}

/// The tag of cases that test concurrency itself: never re-run alone.
pub const CONCURRENCY_TAG: &str = "concurrency";

/// Runs the cases at the server; results come back in the order of `cases`, and `on_done` sees
/// each as it finishes; `on_note` sees what happens to a started server (its ws.conf, deaths,
/// restarts) as it happens. With an address, cases that need a configuration of their own are
/// skipped, since only a started server can be given one.
///
/// Cases run `settings.jobs` at a time, then the cases tagged [`CONCURRENCY_TAG`] one at a
/// time. So that a server that serves one connection at a time loses only the cases about
/// concurrency, a case that fails while others run beside it is run again alone, and that
/// second verdict stands (with a message saying so when it differs). With `settings.by_rules`,
/// the cases of a rule are then held or lost whole ([`crate::rules`]).
pub fn run_at(
    server: &ServerUnderTest,
    cases: &[Case],
    settings: &Settings,
    on_done: &(dyn Fn(usize, &CaseResult) + Sync),
    on_note: &(dyn Fn(String) + Sync),
) -> Vec<CaseResult> {
    let mut results = run_scheduled(server, cases, settings, on_done, on_note);
    if settings.by_rules {
        crate::rules::apply(&mut results);
    }
    results
}

/// Runs the concurrency cases one at a time, after the others: a concurrency case measures how
/// the server serves the case's own connections, and other cases beside it would make its
/// verdict depend on what else happened to run (a single-threaded server would be blocked by a
/// neighbour one run and not the next).
fn run_scheduled(
    server: &ServerUnderTest,
    cases: &[Case],
    settings: &Settings,
    on_done: &(dyn Fn(usize, &CaseResult) + Sync),
    on_note: &(dyn Fn(String) + Sync),
) -> Vec<CaseResult> {
    let (solo, shared): (Vec<usize>, Vec<usize>) =
        (0..cases.len()).partition(|&i| cases[i].tags.iter().any(|t| t == CONCURRENCY_TAG));
    if settings.jobs <= 1 || solo.is_empty() {
        return run_retrying(server, cases, settings, on_done, on_note);
    }
    let pick = |idx: &[usize]| idx.iter().map(|&i| cases[i].clone()).collect::<Vec<Case>>();
    let mut results: Vec<Option<CaseResult>> = vec![None; cases.len()];
    let first = run_retrying(
        server,
        &pick(&shared),
        settings,
        &|j, r| on_done(shared[j], r),
        on_note,
    );
    for (j, r) in first.into_iter().enumerate() {
        results[shared[j]] = Some(r);
    }
    let one_at_a_time = Settings {
        jobs: 1,
        ..settings.clone()
    };
    let then = run_once(
        server,
        &pick(&solo),
        &one_at_a_time,
        &|j, r| on_done(solo[j], r),
        on_note,
    );
    for (j, r) in then.into_iter().enumerate() {
        results[solo[j]] = Some(r);
    }
    results
        .into_iter()
        .map(|r| r.expect("every case has a result"))
        .collect()
}

/// [`run_at`] before rules are applied.
fn run_retrying(
    server: &ServerUnderTest,
    cases: &[Case],
    settings: &Settings,
    on_done: &(dyn Fn(usize, &CaseResult) + Sync),
    on_note: &(dyn Fn(String) + Sync),
) -> Vec<CaseResult> {
    if settings.jobs <= 1 || cases.len() <= 1 {
        return run_once(server, cases, settings, on_done, on_note);
    }
    // A concurrency case that ran beside others (only when the caller runs concurrency cases
    // alone is this not so) is run again alone only when the server died while it ran: the
    // crash may have come from another case beside it, and that case must lose the points.
    let retryable = |i: usize, r: &CaseResult| {
        r.verdict == Verdict::Fail
            && (!cases[i].tags.iter().any(|t| t == CONCURRENCY_TAG) || died_during(r))
    };
    // Hold back the results that will be retried, so progress shows only final verdicts.
    let mut results = run_once(
        server,
        cases,
        settings,
        &|i, r| {
            if !retryable(i, r) {
                on_done(i, r)
            }
        },
        on_note,
    );
    let again: Vec<usize> = (0..cases.len())
        .filter(|&i| retryable(i, &results[i]))
        .collect();
    if again.is_empty() {
        return results;
    }
    let alone_cases: Vec<Case> = again.iter().map(|&i| cases[i].clone()).collect();
    let alone_settings = Settings {
        jobs: 1,
        ..settings.clone()
    };
    let alone = run_once(server, &alone_cases, &alone_settings, &|_, _| {}, on_note);
    let crashers: Vec<&str> = again
        .iter()
        .zip(&alone)
        .filter(|(_, r)| died_during(r))
        .map(|(&i, _)| cases[i].id.as_str())
        .collect();
    for (k, mut r) in alone.into_iter().enumerate() {
        let i = again[k];
        if matches!(r.verdict, Verdict::Pass | Verdict::NonStrict) {
            let first = results[i].messages.first().cloned().unwrap_or_default();
            r.messages
                .push(alone_note(&first, settings.jobs, &crashers));
        }
        on_done(i, &r);
        results[i] = r;
    }
    results
}

/// Whether the server died while this case ran (the start module's "server died" failures).
fn died_during(r: &CaseResult) -> bool {
    r.verdict == Verdict::Fail
        && r.messages.first().is_some_and(|m| {
            m.starts_with("server died")
                || (m.starts_with("server (config") && m.contains(" died during "))
        })
}

/// What a case that failed beside others and passed alone says about the server: another case
/// crashed it, it crashed under concurrent requests, or it serves one connection at a time.
fn alone_note(first: &str, jobs: usize, crashers: &[&str]) -> String {
    let died = first.starts_with("server died") || first.starts_with("server (config");
    if died && !crashers.is_empty() {
        format!(
            "this case passed run alone; the server died while it ran beside other cases \
             ({first}), and {} crash it even alone",
            crashers.join(", ")
        )
    } else if died {
        format!(
            "this case passed run alone, but the server crashed while up to {jobs} cases ran at \
             once ({first}): is it safe when requests are handled in parallel (shared buffers, \
             unlocked state)?"
        )
    } else {
        format!(
            "this case failed while other cases ran beside it ({first}) and passed run alone: \
             does the server serve one connection at a time?"
        )
    }
}

fn run_once(
    server: &ServerUnderTest,
    cases: &[Case],
    settings: &Settings,
    on_done: &(dyn Fn(usize, &CaseResult) + Sync),
    on_note: &(dyn Fn(String) + Sync),
) -> Vec<CaseResult> {
    match server {
        ServerUnderTest::Address(target) => {
            let opts = settings.options_for(target.clone());
            let (runnable, skipped): (Vec<usize>, Vec<usize>) =
                (0..cases.len()).partition(|&i| cases[i].config == "default");
            let mut results: Vec<Option<CaseResult>> = vec![None; cases.len()];
            for &i in &skipped {
                let reason = format!(
                    "needs the server configuration `{}`, which only --start can provide",
                    cases[i].config
                );
                let r = exec::skipped(&cases[i], &reason);
                on_done(i, &r);
                results[i] = Some(r);
            }
            let chosen: Vec<Case> = runnable.iter().map(|&i| cases[i].clone()).collect();
            let ran = exec::run_cases(&chosen, &opts, &|j, r| on_done(runnable[j], r));
            for (j, r) in ran.into_iter().enumerate() {
                results[runnable[j]] = Some(r);
            }
            results
                .into_iter()
                .map(|r| r.expect("every case has a result"))
                .collect()
        }
        ServerUnderTest::Start(spec) => {
            let base = settings.options_for(Target {
                host: "127.0.0.1".into(),
                port: 0,
            });
            start::run_started_with(cases, spec, &base, on_done, &|e| on_note(e.to_string()))
        }
    }
}
