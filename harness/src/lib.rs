//! The conformance harness: reads declarative `.case` files and fires them over raw TCP at any
//! HTTP/1.x server, then reports verdicts, points and transcripts.
//!
//! - [`case`]: the `.case` format: lexing, parsing, diagnostics, the parsed model.
//! - [`exec`]: running cases: connections, reading responses by framing, checks, concurrency.
//! - [`form`]: the rules of a response's form, and the defects that break them.
//! - [`outcome`]: verdicts and results, the input of every report.
//! - [`report`]: pretty, json, tap, junit, gradescope and html output.
//! - [`rules`]: grading by rules: the cases of one `rule:` are held or lost whole.
//! - [`start`]: starting the server under test (`--start`): its config, its process, restarts.
//! - [`read_cap`]: how much a case's connections may read (raised for a large `body file`).
//! - [`target`]: the server under test (an address or a command) and running cases at it.
//! - [`grade`]: grading a whole class of submissions.
//! - [`declared`]: what the server's ws.conf declares (types, methods, DirectoryIndex), which
//!   cases follow.
//! - [`diff`]: comparing two servers case by case.
//! - [`record`]: `harness record`: a case written from what a server answered.
//! - [`cli`]: the command line.

pub mod case;
pub mod cli;
pub mod declared;
pub mod diff;
pub mod exec;
pub mod form;
pub mod grade;
pub mod outcome;
pub mod read_cap;
pub mod record;
pub mod report;
pub mod rules;
pub mod start;
pub mod target;
