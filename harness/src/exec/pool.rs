//! Running many cases (or anything else, [`parallel_map`]) at once: `jobs` worker threads take
//! items from a shared queue; results come back in input order, and a callback hears of each case
//! as it finishes (for progress output).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::case::Case;
use crate::outcome::{CaseResult, Verdict};

use super::runner::run_case;
use super::RunOptions;

/// Runs cases `jobs` at a time; results in input order. `on_done(index, &result)` is called from
/// the worker threads as each case finishes. A panic in a case is that case's `error`.
pub fn run_cases(
    cases: &[Case],
    opts: &RunOptions,
    on_done: &(dyn Fn(usize, &CaseResult) + Sync),
) -> Vec<CaseResult> {
    parallel_map(cases, opts.jobs, |i, case| {
        let result = catch_unwind(AssertUnwindSafe(|| run_case(case, opts)))
            .unwrap_or_else(|panic| crashed(case, panic));
        on_done(i, &result);
        result
    })
}

/// Applies `f` to every item on `jobs` worker threads taking items from a shared queue in
/// order; the results come back in the order of `items`.
pub fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    f: impl Fn(usize, &T) -> R + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    let workers = jobs.max(1).min(items.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(item) = items.get(i) else { break };
                let r = f(i, item);
                results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|r| r.expect("every item was mapped"))
        .collect()
}

fn crashed(case: &Case, panic: Box<dyn std::any::Any + Send>) -> CaseResult {
    let what = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into());
    super::not_run(
        case,
        Verdict::Error,
        &format!("harness bug: running the case panicked: {what}"),
    )
}
