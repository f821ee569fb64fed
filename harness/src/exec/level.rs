//! What a miss costs at each requirement level (RFC 2119 words, as Http11Probe scores them):
//! - `must`: the verdict stands (a miss fails);
//! - `should`: a miss is a warning, `non-strict` (its points unless `--strict-form`); with
//!   `--strict` it fails like a MUST;
//! - `may`: informational, never a failure: met, it passes; missed, it is `skip` (no points,
//!   not counted in the maximum) with what the server did instead as its messages.
//!
//! An `error` (the case could not be run) stays an error at every level.

use crate::case::Level;
use crate::outcome::{CaseResult, Verdict};

use super::RunOptions;

/// The first message of a `should` case that missed without `--strict`.
pub const SHOULD_NOTE: &str =
    "level should: a missed SHOULD is a warning (non-strict); --strict makes it a failure";
/// The first message of a `may` case that missed.
pub const MAY_NOTE: &str =
    "level may: informational, never a failure; the server did something else the RFC allows:";

/// The verdict of a run case, after its level.
pub fn apply(level: Level, opts: &RunOptions, mut r: CaseResult) -> CaseResult {
    let missed = matches!(r.verdict, Verdict::Fail | Verdict::NonStrict);
    let (verdict, note) = match level {
        Level::Should if r.verdict == Verdict::Fail && !opts.strict => {
            (Verdict::NonStrict, SHOULD_NOTE)
        }
        Level::May if missed => (Verdict::Skip, MAY_NOTE),
        _ => return r,
    };
    r.verdict = verdict;
    r.points = verdict.points(r.max_points, opts.lenient);
    r.messages.insert(0, note.to_string());
    r
}
