//! Running cases against a target: connections, reading responses by framing, checks.
//!
//! - [`conn`]: one TCP connection, bounded reads and writes, FIN versus RST, the transcript.
//! - [`response`]: the pure, incremental response parser and the form defects it names.
//! - [`check`]: a case's checks, resolved for the run and evaluated on a response.
//! - [`runner`]: one case: its connections, timeout, verdict, messages and reproducer; with
//!   `plan` (templates and durations resolved before a byte is sent), `steps` (what each step
//!   does) and `requests` (which requests were sent, so a response to `HEAD` has no body).
//! - [`pool`]: many cases over worker threads.
//! - `interim`: 1xx responses skipped before a final one, and the `interim` step; [`rfc`]: the
//!   RFC section each form defect breaks; [`level`]: what a miss costs at `must`/`should`/`may`.

pub mod check;
pub mod conn;
mod interim;
pub mod level;
mod plan;
pub mod pool;
mod requests;
pub mod response;
pub mod rfc;
pub mod runner;
mod state;
mod steps;

use std::path::PathBuf;
use std::time::Duration;

use crate::case::{Case, Vars};
use crate::declared::Declared;
use crate::outcome::{CaseResult, Transcript, Verdict};

pub use pool::{parallel_map, run_cases};
pub use runner::run_case;
pub use state::PROBE_TIMEOUT;

/// The server under test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// How to run cases.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub target: Target,
    /// Variables for templates and durations; already includes `host`, `port` and `keepalive`.
    pub vars: Vars,
    /// The site root for `body file PATH`.
    pub www: PathBuf,
    /// A missed `level: should` case fails (else it is `non-strict`).
    pub strict: bool,
    /// A non-strict verdict earns the case's points: true unless `--strict-form`.
    pub lenient: bool,
    /// What the server's ws.conf declares (`requires:`, `content-type .EXT`).
    pub declared: Declared,
    /// How many cases run at once.
    pub jobs: usize,
    /// The most kept from one connection's input; the excess is read, discarded and noted.
    pub max_response_bytes: usize,
    pub connect_timeout: Duration,
}

/// A result with `Verdict::Skip` and `reason` as its message.
pub fn skipped(case: &Case, reason: &str) -> CaseResult {
    not_run(case, Verdict::Skip, reason)
}

/// The result of a case that was not run (or not run to its end), with one message: skipped,
/// or an error such as a server that never started. (A case that ran fills in the rest.)
pub fn not_run(case: &Case, verdict: Verdict, message: &str) -> CaseResult {
    CaseResult {
        id: case.id.clone(),
        title: case.title.clone(),
        tags: case.tags.clone(),
        spec: case.spec.clone(),
        rule: case.rule.clone(),
        hint: case.hint.clone(),
        verdict,
        points: 0.0,
        max_points: case.points,
        duration: Duration::ZERO,
        messages: vec![message.to_string()],
        transcript: Transcript::default(),
        reproducer: None,
    }
}
