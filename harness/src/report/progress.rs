//! Live output for the pretty format while cases run.
//!
//! Results arrive from worker threads in any order; [`Progress`] prints one line per case (the
//! same line as [`super::pretty::case_line`]) strictly in input order, holding back results that
//! finish early until every case before them is printed. When `interactive` (a terminal), a
//! transient status line sits below the printed lines, redrawn by [`Progress::tick`]:
//!
//! ```text
//!   [12/40] running 3 cases… slowest: assignment/keepalive/idle-close 4.2s
//! ```
//!
//! It is drawn as `\r` + clear-line + text with no line end, so nothing of it stays on screen;
//! it is cut to the terminal width (`COLUMNS`, else 80) so that it never wraps. Output errors are
//! ignored: progress is a courtesy, the report is written afterwards anyway.
//!
//! Lines show no points: a case's points are known once its whole rule has run, and the report
//! after the lines gives them. Until some case reaches the server, lines are held back: when
//! nothing listens at the target, every case fails to connect, and the report says so in one
//! line instead of a line per case.

use std::io::Write;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use anstyle::Style;

use super::escape::one_line;
use super::explain::is_connect_error;
use super::pretty::{id_width, paint, progress_line};
use crate::outcome::{CaseResult, Verdict};

const CLEAR: &str = "\r\x1b[2K";

/// Prints case lines in input order as results arrive; thread-safe.
pub struct Progress {
    inner: Mutex<Inner>,
}

struct Inner {
    ids: Vec<String>,
    started: Vec<Option<Instant>>,
    finished: Vec<bool>,
    /// Lines of finished cases not yet printed because an earlier case is still running.
    pending: Vec<Option<String>>,
    /// The first case whose line is not printed yet.
    next: usize,
    /// Ids are padded to this width so that titles line up.
    id_width: usize,
    color: bool,
    interactive: bool,
    status_shown: bool,
    /// Some case that ran got past connecting: lines flow from then on.
    reached: bool,
    /// Some case could not connect.
    refused: bool,
    created: Instant,
    out: Box<dyn Write + Send>,
}

impl Progress {
    /// `ids_and_titles` lists the cases in input order; `done` is then called with indices into it.
    pub fn new(
        ids_and_titles: Vec<(String, String)>,
        color: bool,
        interactive: bool,
        out: Box<dyn Write + Send>,
    ) -> Progress {
        let n = ids_and_titles.len();
        let width = id_width(ids_and_titles.iter().map(|(id, _)| id.as_str()));
        Progress {
            inner: Mutex::new(Inner {
                ids: ids_and_titles.into_iter().map(|(id, _)| id).collect(),
                started: vec![None; n],
                finished: vec![false; n],
                pending: vec![None; n],
                next: 0,
                id_width: width,
                color,
                interactive,
                status_shown: false,
                reached: false,
                refused: false,
                created: Instant::now(),
                out,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The case at `index` started running (optional: it makes "slowest" exact).
    pub fn started(&self, index: usize) {
        let mut p = self.lock();
        if index < p.started.len() && p.started[index].is_none() {
            p.started[index] = Some(Instant::now());
        }
    }

    /// The case at `index` finished: prints its line, and any held-back lines after it, once
    /// every earlier case is printed.
    pub fn done(&self, index: usize, result: &CaseResult) {
        let mut p = self.lock();
        if index >= p.finished.len() || p.finished[index] {
            return;
        }
        p.finished[index] = true;
        p.pending[index] = Some(progress_line(result, p.color, p.id_width));
        if is_connect_error(result) {
            p.refused = true;
        } else if result.verdict != Verdict::Skip {
            p.reached = true;
        }
        if p.reached {
            p.flush_in_order();
        }
        if p.interactive && p.next < p.ids.len() {
            p.draw_status();
        }
        let _ = p.out.flush();
    }

    /// Redraws the transient status line (when interactive); call it periodically.
    pub fn tick(&self) {
        let mut p = self.lock();
        if p.interactive && p.next < p.ids.len() {
            p.draw_status();
            let _ = p.out.flush();
        }
    }

    /// Clears the status line and prints any results still held back (in input order, when an
    /// earlier case never finished, e.g. after an interrupt), unless no case reached the server
    /// and some could not connect: the report then says so in one line.
    pub fn finish(&self) {
        let mut p = self.lock();
        p.clear_status();
        let n = p.ids.len();
        if !p.reached && p.refused {
            p.next = n;
            return;
        }
        for i in p.next..n {
            if let Some(line) = p.pending[i].take() {
                let _ = writeln!(p.out, "{line}");
            }
        }
        p.next = n;
        let _ = p.out.flush();
    }
}

impl Inner {
    fn clear_status(&mut self) {
        if self.status_shown {
            let _ = write!(self.out, "{CLEAR}");
            self.status_shown = false;
        }
    }

    fn flush_in_order(&mut self) {
        if self.next < self.pending.len() && self.pending[self.next].is_some() {
            self.clear_status();
        }
        while self.next < self.pending.len() {
            let Some(line) = self.pending[self.next].take() else {
                break;
            };
            let _ = writeln!(self.out, "{line}");
            self.next += 1;
        }
    }

    fn status_text(&self) -> String {
        let now = Instant::now();
        let total = self.ids.len();
        let done = self.finished.iter().filter(|f| **f).count();
        let any_started = self.started.iter().any(Option::is_some);
        // Running: started and not finished; if the caller never reports starts, every
        // unfinished case counts as running since the progress began.
        let running: Vec<(usize, Instant)> = (0..total)
            .filter(|&i| !self.finished[i])
            .filter_map(|i| match self.started[i] {
                Some(t) => Some((i, t)),
                None if !any_started => Some((i, self.created)),
                None => None,
            })
            .collect();
        let mut s = format!("  [{done}/{total}] ");
        match running.iter().min_by_key(|(i, t)| (*t, *i)) {
            Some(&(i, t)) => {
                let k = running.len();
                let cases = if k == 1 { "case" } else { "cases" };
                s.push_str(&format!(
                    "running {k} {cases}… slowest: {} {:.1}s",
                    one_line(&self.ids[i]),
                    now.duration_since(t).as_secs_f64()
                ));
            }
            None => s.push_str("waiting…"),
        }
        s
    }

    fn draw_status(&mut self) {
        let width = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse::<usize>().ok())
            .filter(|w| *w >= 20)
            .unwrap_or(80);
        let mut text = self.status_text();
        if text.chars().count() > width - 1 {
            text = text.chars().take(width - 2).collect::<String>() + "…";
        }
        let text = paint(self.color, Style::new().dimmed(), &text);
        let _ = write!(self.out, "{CLEAR}{text}");
        self.status_shown = true;
    }
}
