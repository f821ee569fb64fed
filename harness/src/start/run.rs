//! Running cases on started servers: one [`Instance`] per distinct `config:` the selected cases
//! need (one after another, `default` first), each group's cases on `jobs` workers, and a
//! restart on a fresh port whenever the server dies, so that one crash costs one case.
//!
//! After each case the instance is checked: if its processes are gone (or, after a case that did
//! not pass, its port refuses connections), that case fails with "server died during this case",
//! its exit status and output tail (its own messages kept), and the server is restarted once for
//! that death. A generation
//! counter under the instance's lock makes sure concurrent workers restart it only once, and that
//! a case that was running against the dead generation fails the same way.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::case::Case;
use crate::exec::{self, RunOptions, Target};
use crate::outcome::{CaseResult, Verdict};
use crate::read_cap::read_cap;

use super::instance::{Instance, StartError, StartSpec};
use super::process::install_cleanup_handler;
use super::wsconf;

/// How long to wait after a case that did not pass before checking whether the server died.
const SETTLE: Duration = Duration::from_millis(100);

/// What happened to the started servers, for whoever shows progress.
#[derive(Debug, Clone, PartialEq)]
pub enum StartEvent {
    /// An instance listens (`restart`: after a death).
    Started {
        variant: String,
        port: u16,
        dir: PathBuf,
        notes: Vec<String>,
        restart: bool,
        /// The `ws.conf` it runs with: its path and text (what the server reads).
        config: (PathBuf, String),
    },
    /// An instance died during a case.
    Died {
        variant: String,
        case_id: String,
        message: String,
    },
    /// An instance could not be started (all its remaining cases get the message).
    StartFailed { variant: String, message: String },
}

impl std::fmt::Display for StartEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartEvent::Started {
                variant,
                port,
                dir,
                notes,
                restart,
                ..
            } => {
                let verb = if *restart { "restarted" } else { "started" };
                write!(
                    f,
                    "server {verb} for config `{variant}` on port {port} in {}",
                    dir.display()
                )?;
                for n in notes {
                    write!(f, "\n  {n}")?;
                }
                Ok(())
            }
            StartEvent::Died {
                variant,
                case_id,
                message,
            } => {
                write!(
                    f,
                    "server (config `{variant}`) died during {case_id}: {message}"
                )
            }
            StartEvent::StartFailed { variant, message } => {
                write!(
                    f,
                    "server (config `{variant}`) could not be started: {message}"
                )
            }
        }
    }
}

/// [`run_started_with`], reporting start events on stderr (`harness: ...`).
pub fn run_started(
    cases: &[Case],
    spec: &StartSpec,
    base: &RunOptions,
    on_done: &(dyn Fn(usize, &CaseResult) + Sync),
) -> Vec<CaseResult> {
    run_started_with(cases, spec, base, on_done, &|e| eprintln!("harness: {e}"))
}

/// Runs `cases` on servers started per `spec`; results come back in the order of `cases`, and
/// `on_done` sees each (with its index) as it finishes. `base` gives everything but the target,
/// the `port` variable and the site root, which come from the instance running the case.
pub fn run_started_with(
    cases: &[Case],
    spec: &StartSpec,
    base: &RunOptions,
    on_done: &(dyn Fn(usize, &CaseResult) + Sync),
    on_event: &(dyn Fn(&StartEvent) + Sync),
) -> Vec<CaseResult> {
    install_cleanup_handler();
    let results: Mutex<Vec<Option<CaseResult>>> = Mutex::new(vec![None; cases.len()]);
    let finish = |i: usize, r: CaseResult| {
        on_done(i, &r);
        results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
    };

    let mut default_failed: Option<String> = None;
    // Each configuration's instance is started in turn (`default` first), and its cases run
    // beside the other configurations' cases: a slow or silent server costs its slowest case,
    // not the sum over configurations.
    std::thread::scope(|scope| {
        for (variant, idxs) in groups(cases) {
            if let Some(why) = &default_failed {
                // Its other configurations would not start either: no second wait.
                let message = format!(
                    "not tried with the `{variant}` configuration: the server could not be started with the default one: {why}"
                );
                for &i in &idxs {
                    finish(i, exec::not_run(&cases[i], Verdict::Error, &message));
                }
                continue;
            }
            if let Err(e) = wsconf::apply_variant("", &variant) {
                for &i in &idxs {
                    finish(i, exec::not_run(&cases[i], Verdict::Error, &e.to_string()));
                }
                continue;
            }
            match Instance::start(spec, &variant) {
                Err(e) => {
                    if variant == "default" {
                        default_failed =
                            Some(e.to_string().lines().next().unwrap_or("").to_string());
                    }
                    let (verdict, message) = start_failure(&variant, &e);
                    on_event(&StartEvent::StartFailed {
                        variant: variant.clone(),
                        message: e.to_string(),
                    });
                    for &i in &idxs {
                        finish(i, exec::not_run(&cases[i], verdict, &message));
                    }
                }
                Ok(inst) => {
                    let mut notes = inst.config_notes().to_vec();
                    notes.extend(inst.retries().iter().cloned());
                    on_event(&StartEvent::Started {
                        variant: variant.clone(),
                        port: inst.port(),
                        dir: inst.dir().to_path_buf(),
                        notes,
                        restart: false,
                        config: config_of(&inst),
                    });
                    let finish = &finish;
                    scope.spawn(move || run_group(cases, &idxs, inst, base, finish, on_event));
                }
            }
        }
    });
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results
        .into_iter()
        .map(|r| r.expect("every case has a result"))
        .collect()
}

/// The distinct configurations, `default` first then in order of first appearance, each with
/// the indices of its cases.
fn groups(cases: &[Case]) -> Vec<(String, Vec<usize>)> {
    let mut out: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        match out.iter_mut().find(|(v, _)| *v == c.config) {
            Some((_, idxs)) => idxs.push(i),
            None => out.push((c.config.clone(), vec![i])),
        }
    }
    out.sort_by_key(|(v, _)| v != "default");
    out
}

/// The verdict and message for the cases of an instance that could not start. With a
/// configuration of its own (e.g. `broken`), a server that exits instead of answering fails the
/// cases: answering (500) is what they check. Otherwise the harness could not run them: error.
fn start_failure(variant: &str, e: &StartError) -> (Verdict, String) {
    if variant != "default" && e.server_exited() {
        (
            Verdict::Fail,
            format!("with the `{variant}` configuration the server did not answer: it exited at start: {e}"),
        )
    } else {
        (
            Verdict::Error,
            format!("the server could not be started: {e}"),
        )
    }
}

/// The instance a group's workers share.
struct Slot {
    inst: Instance,
    /// Bumped at each restart.
    generation: u64,
    /// Why each past generation died.
    deaths: BTreeMap<u64, String>,
    /// Set when a restart failed: the group's remaining cases get it as an error.
    broken: Option<String>,
}

/// One configuration's cases and the instance they run on, shared by the group's workers.
struct Group<'a> {
    cases: &'a [Case],
    base: &'a RunOptions,
    variant: String,
    slot: Mutex<Slot>,
    on_event: &'a (dyn Fn(&StartEvent) + Sync),
}

/// What a worker takes from the slot before a case: the generation it runs against, its run
/// options, and the instance's warnings (added to the messages of a case that does not pass).
struct Prepared {
    generation: u64,
    opts: RunOptions,
    warnings: Vec<String>,
}

/// Runs one configuration's cases (`idxs`) on `inst` with `base.jobs` workers, the longest
/// first, and more workers once the server proves silent; stops the instance at the end.
fn run_group(
    cases: &[Case],
    idxs: &[usize],
    inst: Instance,
    base: &RunOptions,
    finish: &(dyn Fn(usize, CaseResult) + Sync),
    on_event: &(dyn Fn(&StartEvent) + Sync),
) {
    let group = Group {
        cases,
        base,
        variant: inst.variant().to_string(),
        slot: Mutex::new(Slot {
            inst,
            generation: 0,
            deaths: BTreeMap::new(),
            broken: None,
        }),
        on_event,
    };
    let order = longest_first(cases, idxs, &base.vars);
    let workers = base.jobs.max(1).min(order.len());
    let silence = Silence::new(workers);
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for w in 0..workers + silence.extra(order.len()) {
            let (group, order, silence, next) = (&group, &order[..], &silence, &next);
            s.spawn(move || {
                let all_taken = || next.load(Ordering::SeqCst) >= order.len();
                if w >= workers && !silence.wait_unleashed(all_taken) {
                    return;
                }
                while let Some(&i) = order.get(next.fetch_add(1, Ordering::SeqCst)) {
                    finish(i, group.run_one(i, silence));
                }
            });
        }
    });
    let slot = group.slot.into_inner().unwrap_or_else(|e| e.into_inner());
    slot.inst.stop();
}

/// The cases `idxs`, the longest first, so that the run ends soon after its slowest case.
fn longest_first(cases: &[Case], idxs: &[usize], vars: &crate::case::Vars) -> Vec<usize> {
    let mut order = idxs.to_vec();
    order.sort_by_key(|&i| std::cmp::Reverse(cases[i].timeout.eval(vars).unwrap_or_default()));
    order
}

impl Group<'_> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs case `i` on the instance as it is now, then finds out whether the server died
    /// during it (and restarts it if so).
    fn run_one(&self, i: usize, silence: &Silence) -> CaseResult {
        let case = &self.cases[i];
        let prepared = match self.prepare(case) {
            Ok(p) => p,
            Err(why) => return exec::not_run(case, Verdict::Error, &why),
        };
        let mut r = exec::run_case(case, &prepared.opts);
        silence.saw(&r);
        let port = prepared.opts.target.port;
        r.reproducer = r.reproducer.map(|rep| port_placeholder(&rep, port));
        if r.verdict == Verdict::Skip {
            return r;
        }
        if r.verdict != Verdict::Pass {
            // A server that is crashing may still hold its port for a moment.
            std::thread::sleep(SETTLE);
        }
        self.check_for_death(case, prepared.generation, &mut r);
        if !matches!(r.verdict, Verdict::Pass | Verdict::Skip) {
            let notes = prepared.warnings.iter().map(|w| format!("note: {w}"));
            r.messages.extend(notes);
        }
        r
    }

    /// What a case needs from the slot, or why it cannot run (the server could not be restarted).
    fn prepare(&self, case: &Case) -> Result<Prepared, String> {
        let sl = self.lock();
        if let Some(why) = &sl.broken {
            return Err(why.clone());
        }
        let mut opts = options_for(self.base, &sl.inst);
        opts.max_response_bytes = read_cap(case, opts.max_response_bytes, &opts.www);
        Ok(Prepared {
            generation: sl.generation,
            opts,
            warnings: sl.inst.warnings().iter().map(|w| w.to_string()).collect(),
        })
    }

    /// Fails `r` as "server died" when the instance died while it ran: in an earlier
    /// generation (another worker saw it and restarted the server), or now (this worker
    /// reports the death and restarts it).
    fn check_for_death(&self, case: &Case, generation: u64, r: &mut CaseResult) {
        let mut sl = self.lock();
        if sl.generation != generation {
            let why = sl.deaths.get(&generation).cloned().unwrap_or_default();
            mark_died(r, &why);
        } else if sl.broken.is_none() && died(&sl.inst, r.verdict) {
            let why = format!(
                "server died during this case ({}){}",
                death_status(&sl.inst),
                sl.inst.short_tail()
            );
            (self.on_event)(&StartEvent::Died {
                variant: self.variant.clone(),
                case_id: case.id.clone(),
                message: why.clone(),
            });
            mark_died(r, &why);
            self.restart_after_death(&mut sl, case, why);
        }
    }

    /// Records the death of the current generation and starts the next one on a fresh port;
    /// when that fails, the slot is broken and the group's remaining cases get the reason.
    fn restart_after_death(&self, sl: &mut Slot, case: &Case, why: String) {
        let because = format!(
            "because it died during {}: {}",
            case.id,
            why.lines().next().unwrap_or("")
        );
        sl.deaths.insert(sl.generation, why);
        sl.generation += 1;
        match sl.inst.restart() {
            Ok(()) => (self.on_event)(&StartEvent::Started {
                variant: self.variant.clone(),
                port: sl.inst.port(),
                dir: sl.inst.dir().to_path_buf(),
                notes: vec![because],
                restart: true,
                config: config_of(&sl.inst),
            }),
            Err(e) => {
                (self.on_event)(&StartEvent::StartFailed {
                    variant: self.variant.clone(),
                    message: e.to_string(),
                });
                sl.broken = Some(format!("the server died and could not be restarted: {e}"));
            }
        }
    }
}

/// Whether the server has sent anything at all yet. When the first cases (one per worker) all
/// ended with nothing received, the server is silent or hung: every remaining case then runs at
/// once (each still waits its own time for a response), so that a silent server costs about its
/// slowest case rather than the sum of them all.
struct Silence {
    state: Mutex<(usize, bool, bool)>,
    cond: std::sync::Condvar,
    threshold: usize,
}

/// At most this many extra workers are let loose on a silent server.
const MAX_EXTRA_WORKERS: usize = 64;

impl Silence {
    fn new(workers: usize) -> Silence {
        Silence {
            state: Mutex::new((0, false, false)),
            cond: std::sync::Condvar::new(),
            threshold: workers.max(1),
        }
    }

    /// How many extra workers to keep ready for `cases` cases.
    fn extra(&self, cases: usize) -> usize {
        cases.saturating_sub(self.threshold).min(MAX_EXTRA_WORKERS)
    }

    /// Records a finished case: (silent cases, anything received, unleashed).
    fn saw(&self, r: &CaseResult) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if r.verdict == Verdict::Skip {
            return;
        }
        let received = r.transcript.events.iter().any(
            |e| matches!(&e.kind, crate::outcome::EventKind::Received { data } if !data.is_empty()),
        );
        if received || r.verdict == Verdict::Pass {
            st.1 = true;
        } else {
            st.0 += 1;
        }
        if !st.1 && st.0 >= self.threshold {
            st.2 = true;
        }
        self.cond.notify_all();
    }

    /// Blocks an extra worker until the server proved silent (true) or `done()` (false).
    fn wait_unleashed(&self, done: impl Fn() -> bool) -> bool {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if st.2 {
                return true;
            }
            if st.1 || done() {
                return false;
            }
            st = self
                .cond
                .wait_timeout(st, Duration::from_millis(200))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// Whether the instance died during a case that ended with `verdict`. After a pass only the
/// processes are checked; otherwise a connection to its port is tried too (a server may keep
/// running with its port closed). Probing after every pass would cost fragile servers, which
/// crash on a connection closed without a request, far more than the case they were running.
fn died(inst: &Instance, verdict: Verdict) -> bool {
    if verdict == Verdict::Pass {
        !inst.alive()
    } else {
        inst.dead()
    }
}

/// `exit status N`, `killed by signal ...`, or why a still-running server counts as dead. A
/// server whose port closed may still be exiting: it gets a moment to finish.
fn death_status(inst: &Instance) -> String {
    match inst.settle(Duration::from_secs(1)) {
        Some(_) => match super::crash::exception_line(&inst.output_tail()) {
            Some(line) => format!("{}: {line}", inst.status_text()),
            None => inst.status_text(),
        },
        None if inst.alive() => format!(
            "the process still runs but port {} refuses connections",
            inst.port()
        ),
        None => "exited; its exit status could not be read".to_string(),
    }
}

/// The run options for a case on `inst`: its port, its copy of the site.
fn options_for(base: &RunOptions, inst: &Instance) -> RunOptions {
    let mut o = base.clone();
    o.target = Target {
        host: "127.0.0.1".to_string(),
        port: inst.port(),
    };
    o.vars.insert("host".to_string(), "127.0.0.1".to_string());
    o.vars.insert("port".to_string(), inst.port().to_string());
    o.www = inst.root();
    o.declared = inst.declared();
    o.vars.insert("planted".to_string(), "yes".to_string());
    o
}

fn config_of(inst: &Instance) -> (PathBuf, String) {
    let (path, text) = inst.config_file();
    (path, text.to_string())
}

/// A reproducer for a server the harness started on a temporary port names the port `PORT`,
/// since that port is gone when anyone reads it: `... | nc 127.0.0.1 PORT`.
fn port_placeholder(reproducer: &str, port: u16) -> String {
    let tail = format!(" {port}");
    match reproducer.strip_suffix(&tail) {
        Some(head) => format!("{head} PORT"),
        None => reproducer.to_string(),
    }
}

/// Turns a result into a "server died" failure, keeping its own messages after the reason.
fn mark_died(r: &mut CaseResult, why: &str) {
    r.verdict = Verdict::Fail;
    r.points = 0.0;
    r.messages.insert(0, why.to_string());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(id: &str, config: &str) -> Case {
        Case {
            id: id.into(),
            path: PathBuf::from(format!("{id}.case")),
            title: id.into(),
            points: 1.0,
            tags: vec![],
            spec: None,
            timeout: crate::case::DurationExpr::from_duration(Duration::from_secs(1)),
            requires: vec![],
            rule: None,
            hint: None,
            level: crate::case::Level::Must,
            config: config.into(),
            steps: vec![],
        }
    }

    #[test]
    fn reproducers_name_a_placeholder_port() {
        assert_eq!(
            port_placeholder(
                "printf 'GET / HTTP/1.1\\r\\n\\r\\n' | nc 127.0.0.1 40123",
                40123
            ),
            "printf 'GET / HTTP/1.1\\r\\n\\r\\n' | nc 127.0.0.1 PORT"
        );
        assert_eq!(port_placeholder("nc 127.0.0.1 1", 2), "nc 127.0.0.1 1");
    }

    #[test]
    fn groups_put_default_first_and_keep_order() {
        let cs = [
            case("a", "broken"),
            case("b", "default"),
            case("c", "post"),
            case("d", "broken"),
        ];
        let g = groups(&cs);
        assert_eq!(
            g,
            vec![
                ("default".into(), vec![1]),
                ("broken".into(), vec![0, 3]),
                ("post".into(), vec![2])
            ]
        );
    }

    #[test]
    fn mark_died_keeps_the_case_messages() {
        let mut r = exec::not_run(&case("a", "default"), Verdict::Pass, "own");
        r.points = 1.0;
        mark_died(&mut r, "server died during this case (exit status 1)");
        assert_eq!(r.verdict, Verdict::Fail);
        assert_eq!(r.points, 0.0);
        assert_eq!(
            r.messages,
            vec![
                "server died during this case (exit status 1)".to_string(),
                "own".into()
            ]
        );
    }
}
