//! The server under test, whichever way it is given (an address, or a command the harness starts),
//! and running a selection of cases at it. `run`, `grade` and `diff` all go through here.

use std::path::PathBuf;
use std::time::Duration;

use crate::case::{Case, Vars};
use crate::declared::Declared;
use crate::exec::{self, RunOptions, Target};
use crate::outcome::{CaseResult, EventKind, Verdict};
use crate::read_cap::read_cap;
use crate::rules::{RuleBook, RuleResult};
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
    /// The rules the cases belong to, with what each is worth (after any rubric).
    pub rules: RuleBook,
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

/// The tag of cases that test concurrency itself: run one at a time, after the others.
pub const CONCURRENCY_TAG: &str = "concurrency";

/// Runs the cases at the server; results come back in the order of `cases`, and `on_done` sees
/// each as it finishes; `on_note` sees what happens to a started server (its ws.conf, deaths,
/// restarts) as it happens. With an address, cases that need a configuration of their own are
/// skipped, since only a started server can be given one.
///
/// Cases run `settings.jobs` at a time, and the cases tagged [`CONCURRENCY_TAG`] one at a
/// time on their own ([`run_scheduled`]). So that a server that serves one connection at a time loses only the cases about
/// concurrency, a case that fails while others run beside it is run again alone, and that
/// second verdict stands (with a message saying so when it differs): every case the server died
/// during, and of the others at most [`MAX_RERUNS`], unless nothing at all arrived in the whole
/// run or the first few run alone all failed again. With `settings.by_rules`, the cases of a
/// rule are then held or lost whole ([`crate::rules`]).
pub fn run_at(
    server: &ServerUnderTest,
    cases: &[Case],
    settings: &Settings,
    on_done: &(dyn Fn(usize, &CaseResult) + Sync),
    on_note: &(dyn Fn(String) + Sync),
) -> Scored {
    let mut results = run_scheduled(server, cases, settings, on_done, on_note);
    for (c, r) in cases.iter().zip(results.iter_mut()) {
        name_the_file(c, r);
    }
    Scored::new(results, settings)
}

/// The results of a run, scored by their rules.
#[derive(Debug, Clone)]
pub struct Scored {
    pub cases: Vec<CaseResult>,
    pub rules: Vec<RuleResult>,
}

impl Scored {
    /// Scores the results by the settings' rules ([`crate::rules::score`]).
    pub fn new(mut cases: Vec<CaseResult>, settings: &Settings) -> Scored {
        let rules = crate::rules::score(
            &mut cases,
            &settings.rules,
            settings.by_rules,
            settings.lenient,
        );
        Scored { cases, rules }
    }
}

/// Runs the concurrency cases one at a time, away from the others: a concurrency case measures
/// how the server serves the case's own connections, and other cases beside it would make its
/// verdict depend on what else happened to run (a single-threaded server is blocked by a
/// neighbour in one run and not the next, or passes by luck). A started server gets a second
/// instance of its own for them, run alongside the others; a server at an address gets them
/// after the others (side by side when it sent nothing at all: nothing to protect).
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
        return run_with_reruns(server, cases, settings, on_done, on_note);
    }
    let pick = |idx: &[usize]| idx.iter().map(|&i| cases[i].clone()).collect::<Vec<Case>>();
    let (solo_cases, shared_cases) = (pick(&solo), pick(&shared));
    let one_at_a_time = |responsive: bool| Settings {
        jobs: if responsive { 1 } else { settings.jobs },
        ..settings.clone()
    };
    let run_shared = || {
        run_with_reruns(
            server,
            &shared_cases,
            settings,
            &|j, r| on_done(shared[j], r),
            on_note,
        )
    };
    let run_solo = |responsive: bool| {
        run_once(
            server,
            &solo_cases,
            &one_at_a_time(responsive),
            &|j, r| on_done(solo[j], r),
            on_note,
        )
    };
    let (first, then) = match server {
        ServerUnderTest::Start(_) => std::thread::scope(|s| {
            let solo_run = s.spawn(|| run_solo(true));
            let first = run_shared();
            (
                first,
                solo_run.join().expect("the concurrency cases' thread"),
            )
        }),
        ServerUnderTest::Address(_) => {
            let first = run_shared();
            let responsive = first.iter().any(received_anything);
            (first, run_solo(responsive))
        }
    };
    let mut results: Vec<Option<CaseResult>> = vec![None; cases.len()];
    for (j, r) in first.into_iter().enumerate() {
        results[shared[j]] = Some(r);
    }
    for (j, r) in then.into_iter().enumerate() {
        results[solo[j]] = Some(r);
    }
    results
        .into_iter()
        .map(|r| r.expect("every case has a result"))
        .collect()
}

/// Every message that starts `line N` names the case file too (`cases/x.case:N: ...`), and an
/// unknown variable is placed at its line and column.
fn name_the_file(case: &Case, r: &mut CaseResult) {
    let path = case.path.display().to_string();
    for m in r.messages.iter_mut() {
        if let Some(rest) = m.strip_prefix("line ") {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits > 0 {
                *m = format!("{path}:{}", rest);
                continue;
            }
        }
        if let Some(name) = m
            .split("unknown variable {")
            .nth(1)
            .and_then(|s| s.split('}').next())
        {
            let text = std::fs::read_to_string(&case.path).unwrap_or_default();
            if let Some((l, col, _)) = crate::case::variables_in_source(&text)
                .into_iter()
                .find(|(_, _, n)| n == name)
            {
                *m = format!("{path}:{l}:{col}: unknown variable {{{name}}}: define it with --var {name}=VALUE");
            }
        }
    }
}

fn run_with_reruns(
    server: &ServerUnderTest,
    cases: &[Case],
    settings: &Settings,
    on_done: &(dyn Fn(usize, &CaseResult) + Sync),
    on_note: &(dyn Fn(String) + Sync),
) -> Vec<CaseResult> {
    if settings.jobs <= 1 || cases.len() <= 1 {
        return run_once(server, cases, settings, on_done, on_note);
    }
    // A concurrency case that ran beside others is run again alone only when the server died
    // while it ran: the crash may have come from another case beside it.
    let retryable = |i: usize, r: &CaseResult| {
        (r.verdict == Verdict::Fail || refused_beside_others(r))
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
    let retry: Vec<usize> = (0..cases.len())
        .filter(|&i| retryable(i, &results[i]))
        .collect();
    let (order, alone) = run_alone(server, cases, settings, &results, retry, on_done, on_note);
    let crashers: Vec<&str> = order
        .iter()
        .zip(&alone)
        .filter(|(_, r)| died_during(r))
        .map(|(&i, _)| cases[i].id.as_str())
        .collect();
    for (&i, mut r) in order.iter().zip(alone) {
        let first = &results[i];
        if let Some(note) = crash_count(first, &r) {
            r.messages.push(note);
        }
        if matches!(r.verdict, Verdict::Pass | Verdict::NonStrict) {
            let why = first.messages.first().cloned().unwrap_or_default();
            r.messages.push(alone_note(&why, settings.jobs, &crashers));
        }
        on_done(i, &r);
        results[i] = r;
    }
    results
}

/// Runs again alone, one at a time, the cases of `retry` worth it: every one the server died
/// during (a neighbour may have crashed it), and of the others the quickest first; when none of
/// those first few ([`RERUN_PROBE`]) passes, failing was not about running beside others, and
/// the rest keep their first verdict, as do all past [`MAX_RERUNS`] and, but those it died
/// during, all of a server that sent nothing at all in the whole run. Returns the cases run again, and their new results,
/// in the same order; `on_done` sees the others' first results.
#[allow(clippy::too_many_arguments)]
fn run_alone(
    server: &ServerUnderTest,
    cases: &[Case],
    settings: &Settings,
    first: &[CaseResult],
    retry: Vec<usize>,
    on_done: &(dyn Fn(usize, &CaseResult) + Sync),
    on_note: &(dyn Fn(String) + Sync),
) -> (Vec<usize>, Vec<CaseResult>) {
    let responsive = first.iter().any(received_anything);
    let (mut died, mut others): (Vec<usize>, Vec<usize>) =
        retry.into_iter().partition(|&i| died_during(&first[i]));
    let timeout = |i: usize| cases[i].timeout.eval(&settings.vars).unwrap_or_default();
    others.sort_by_key(|&i| (timeout(i), i));
    // A crash is no silence: the cases the server died during are run again even when nothing
    // at all arrived in the whole run (a server that crashed during every case sent nothing).
    let keep = if responsive { MAX_RERUNS } else { 0 };
    for &i in died.iter().skip(MAX_RERUNS).chain(others.iter().skip(keep)) {
        on_done(i, &first[i]);
    }
    died.truncate(MAX_RERUNS);
    others.truncate(keep);
    let alone_settings = Settings {
        jobs: 1,
        ..settings.clone()
    };
    let (probe, rest) = others.split_at(others.len().min(RERUN_PROBE));
    let mut order: Vec<usize> = died.iter().chain(probe).copied().collect();
    let mut alone = rerun(server, cases, &order, &alone_settings, on_note);
    let helped = alone[died.len()..]
        .iter()
        .any(|r| matches!(r.verdict, Verdict::Pass | Verdict::NonStrict));
    if helped {
        alone.extend(rerun(server, cases, rest, &alone_settings, on_note));
        order.extend_from_slice(rest);
    } else {
        for &i in rest {
            on_done(i, &first[i]);
        }
    }
    (order, alone)
}

/// "the server crashed in 1 of 2 runs of this case (...)", when it died in either run of a
/// case that was run twice (beside others, then alone). The second verdict stands; this says
/// why the same server may get another verdict in another grading.
fn crash_count(first: &CaseResult, alone: &CaseResult) -> Option<String> {
    let died: Vec<&CaseResult> = [first, alone]
        .into_iter()
        .filter(|r| died_during(r))
        .collect();
    let how = died.first()?.messages.first()?;
    // The death itself, without the server's last output (the first run's result shows it).
    let how = how.split("; last output:").next().unwrap_or(how).trim_end();
    Some(format!(
        "the server crashed in {} of 2 runs of this case (\"{how}\"); the verdict is that of \
         the run alone, so a server that crashes at random may get another verdict in another run",
        died.len()
    ))
}

/// Whether the case could not even connect (an `error`): a server that serves one connection at
/// a time, held by a case beside it, leaves new connections waiting in its backlog until they
/// time out. Alone, such a case may run.
fn refused_beside_others(r: &CaseResult) -> bool {
    r.verdict == Verdict::Error
        && r.messages
            .first()
            .is_some_and(|m| m.starts_with("could not connect to "))
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

/// At most this many failed cases are run again alone: more than the assignment corpus holds,
/// so that a server that serves one connection at a time (whose every case may fail beside
/// others) gets each one run alone, while the probe ([`RERUN_PROBE`]) spares a server that
/// fails them anyway the wait.
pub const MAX_RERUNS: usize = 64;

/// How many failed cases are run alone first, to see whether running alone helps at all.
const RERUN_PROBE: usize = 3;

fn rerun(
    server: &ServerUnderTest,
    cases: &[Case],
    idxs: &[usize],
    settings: &Settings,
    on_note: &(dyn Fn(String) + Sync),
) -> Vec<CaseResult> {
    if idxs.is_empty() {
        return Vec::new();
    }
    let chosen: Vec<Case> = idxs.iter().map(|&i| cases[i].clone()).collect();
    let n = chosen.len();
    let what = if n == 1 { "case" } else { "cases" };
    run_once(server, &chosen, settings, &|_, _| {}, &|note| {
        on_note(format!("for the {n} {what} run again alone: {note}"))
    })
}

/// Whether the server sent anything at all during the case: a case where nothing arrived (a
/// silent or dead server) would fail the same way alone, after the same wait.
fn received_anything(r: &CaseResult) -> bool {
    r.transcript
        .events
        .iter()
        .any(|e| matches!(&e.kind, EventKind::Received { data } if !data.is_empty()))
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
            let mut opts = settings.options_for(target.clone());
            opts.max_response_bytes = cases
                .iter()
                .map(|c| read_cap(c, opts.max_response_bytes, &opts.www))
                .max()
                .unwrap_or(opts.max_response_bytes);
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn case(src: &str) -> Case {
        crate::case::parse_case(&format!("title: t\n\n{src}"), Path::new("t.case"), "t").unwrap()
    }

    #[test]
    fn a_case_that_could_not_connect_is_run_again_alone_but_not_one_that_could_not_start() {
        let c = case("send\n| GET / HTTP/1.1\n|\n\nresponse\nstatus 200\n");
        let refused = crate::exec::not_run(
            &c,
            Verdict::Error,
            "could not connect to 127.0.0.1:9: timed out",
        );
        assert!(refused_beside_others(&refused));
        let never = crate::exec::not_run(
            &c,
            Verdict::Error,
            "the server could not be started: it did not listen",
        );
        assert!(!refused_beside_others(&never));
    }

    #[test]
    fn messages_name_the_case_file() {
        let mut c = case("send\n| GET / HTTP/1.1\n|\n\nresponse\nstatus 200\n");
        c.path = "cases/x.case".into();
        let mut r = crate::exec::not_run(&c, Verdict::Fail, "line 8: expected status 200");
        name_the_file(&c, &mut r);
        assert_eq!(r.messages, vec!["cases/x.case:8: expected status 200"]);
    }
}
