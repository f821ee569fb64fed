//! The conformance harness: reads declarative `.case` files and fires them over raw TCP at any
//! HTTP/1.x server, then reports verdicts, points and transcripts.
//!
//! - [`case`]: the `.case` format: lexing, parsing, diagnostics, the parsed model.
//! - [`exec`]: running cases: connections, reading responses by framing, checks, concurrency.
//! - [`outcome`]: verdicts and results, the input of every report.
//! - [`report`]: pretty, json, tap, junit, gradescope and html output.
//! - [`start`]: starting the server under test (`--start`): its config, its process, restarts.
//! - [`grade`]: grading a whole class of submissions.
//! - [`diff`]: comparing two servers case by case.
//! - [`cli`]: the command line.

pub mod case;
pub mod cli;
pub mod exec;
pub mod outcome;
pub mod report;
pub mod start;
