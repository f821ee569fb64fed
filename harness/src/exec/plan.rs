//! Planning a case for one run: every step's templates rendered, durations evaluated, regexes
//! compiled and `body file`s read, so that an unknown variable or a missing file is an error
//! before a byte is sent.

use std::time::Duration;

use crate::case::{Case, Step, StepKind};

use super::check::{resolve, Expect};
use super::RunOptions;

/// A step with everything resolved for this run.
#[derive(Debug)]
pub(super) enum Act {
    Connect,
    Send {
        data: Vec<u8>,
        split: Option<usize>,
        delay: Duration,
    },
    Sleep(Duration),
    Shutdown,
    Close,
    Response {
        within: Option<Duration>,
        checks: Vec<Expect>,
    },
    NoResponse(Duration),
    Interim {
        codes: Vec<u16>,
        within: Option<Duration>,
    },
    Closed {
        after: Option<Duration>,
        within: Duration,
    },
    Open {
        for_: Duration,
        probe: Vec<u8>,
    },
}

pub(super) struct Planned<'a> {
    pub(super) step: &'a Step,
    pub(super) act: Act,
}

pub(super) fn step_name(k: &StepKind) -> &'static str {
    match k {
        StepKind::Connect => "connect",
        StepKind::Send { .. } => "send",
        StepKind::Sleep(_) => "sleep",
        StepKind::Shutdown => "shutdown",
        StepKind::Close => "close",
        StepKind::Response { .. } => "response",
        StepKind::NoResponse { .. } => "no response",
        StepKind::Interim { .. } => "interim",
        StepKind::Closed { .. } => "closed",
        StepKind::Open { .. } => "open",
    }
}

pub(super) fn plan<'a>(case: &'a Case, opts: &RunOptions) -> Result<Vec<Planned<'a>>, String> {
    let vars = &opts.vars;
    let file = case.path.display().to_string();
    let mut out = Vec::new();
    for step in &case.steps {
        let at = |e: &dyn std::fmt::Display| format!("{file}:{}: {e}", step.line);
        let act = match &step.kind {
            StepKind::Connect => Act::Connect,
            StepKind::Send { data, split, delay } => Act::Send {
                data: data.render(vars).map_err(|e| at(&e))?,
                split: split.filter(|&n| n > 0),
                delay: delay.eval(vars).map_err(|e| at(&e))?,
            },
            StepKind::Sleep(d) => Act::Sleep(d.eval(vars).map_err(|e| at(&e))?),
            StepKind::Shutdown => Act::Shutdown,
            StepKind::Close => Act::Close,
            StepKind::Response { within, checks } => Act::Response {
                within: within
                    .as_ref()
                    .map(|w| w.eval(vars))
                    .transpose()
                    .map_err(|e| at(&e))?,
                checks: checks
                    .iter()
                    .map(|c| {
                        resolve(c, vars, &opts.www, &opts.declared)
                            .map_err(|e| format!("{file}:{e}"))
                    })
                    .collect::<Result<_, _>>()?,
            },
            StepKind::NoResponse { for_ } => Act::NoResponse(for_.eval(vars).map_err(|e| at(&e))?),
            StepKind::Interim { codes, within } => Act::Interim {
                codes: codes.clone(),
                within: within
                    .as_ref()
                    .map(|w| w.eval(vars))
                    .transpose()
                    .map_err(|e| at(&e))?,
            },
            StepKind::Closed { after, within } => Act::Closed {
                after: after
                    .as_ref()
                    .map(|a| a.eval(vars))
                    .transpose()
                    .map_err(|e| at(&e))?,
                within: within.eval(vars).map_err(|e| at(&e))?,
            },
            StepKind::Open { for_, probe } => Act::Open {
                for_: for_.eval(vars).map_err(|e| at(&e))?,
                probe: match probe {
                    Some(t) => t.render(vars).map_err(|e| at(&e))?,
                    None => {
                        let host = vars
                            .get("host")
                            .cloned()
                            .unwrap_or_else(|| opts.target.host.clone());
                        format!("GET /index.html HTTP/1.1\r\nHost: {host}\r\nConnection: keep-alive\r\n\r\n")
                            .into_bytes()
                    }
                },
            },
        };
        out.push(Planned { step, act });
    }
    Ok(out)
}
