//! Running many cases at once: `jobs` worker threads take cases from a shared queue; results
//! come back in input order, and a callback hears of each as it finishes (for progress output).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::case::Case;
use crate::outcome::{CaseResult, Transcript, Verdict};

use super::runner::run_case;
use super::RunOptions;

/// Runs cases `jobs` at a time; results in input order. `on_done(index, &result)` is called from
/// the worker threads as each case finishes. A panic in a case is that case's `error`.
pub fn run_cases(
    cases: &[Case],
    opts: &RunOptions,
    on_done: &(dyn Fn(usize, &CaseResult) + Sync),
) -> Vec<CaseResult> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<CaseResult>>> = Mutex::new(vec![None; cases.len()]);
    let workers = opts.jobs.max(1).min(cases.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(case) = cases.get(i) else { break };
                let result = catch_unwind(AssertUnwindSafe(|| run_case(case, opts)))
                    .unwrap_or_else(|panic| crashed(case, panic));
                on_done(i, &result);
                results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(result);
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|r| r.expect("every case ran"))
        .collect()
}

fn crashed(case: &Case, panic: Box<dyn std::any::Any + Send>) -> CaseResult {
    let what = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into());
    CaseResult {
        id: case.id.clone(),
        title: case.title.clone(),
        tags: case.tags.clone(),
        spec: case.spec.clone(),
        verdict: Verdict::Error,
        points: 0.0,
        max_points: case.points,
        duration: Duration::ZERO,
        messages: vec![format!("harness bug: running the case panicked: {what}")],
        transcript: Transcript::default(),
        reproducer: None,
    }
}
