//! Grading a class: every subfolder of a submissions folder is one submission, built (optionally)
//! in a private copy, started with `--start` like `harness run`, graded, and written out as
//! Gradescope `results.json`, `report.json` and `report.html` per submission, plus a class
//! `gradebook.csv` and `index.html`. A submission that does not build, never starts or crashes is
//! graded with the reason, and the others go on.

pub mod build;
pub mod detect;
pub mod gradebook;
pub mod losses;
pub mod prepare;

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::case::Case;
use crate::outcome::{CaseResult, Verdict};
use crate::report::RunReport;
use crate::report::{self, Format, IndexEntry, ReportOptions};
use crate::start::ConfigMode;
use crate::target::{run_at, Scored, ServerUnderTest, Settings};

pub use crate::rules::Rubric;

pub use detect::{BUILD_FILE, START_FILE};

/// How to grade a class.
#[derive(Debug, Clone)]
pub struct ClassSpec {
    /// Start command for submissions without a `START` file.
    pub start: Option<String>,
    /// Run once per submission, in its private copy, before starting it.
    pub build: Option<String>,
    pub build_timeout: Duration,
    pub site: PathBuf,
    pub config_mode: ConfigMode,
    pub keepalive: u32,
    pub ready_timeout: Duration,
    /// How cases run (`jobs` is cases at once within one submission).
    pub settings: Settings,
    /// Submissions graded at once.
    pub jobs: usize,
}

/// One submission's grade.
#[derive(Debug, Clone)]
pub struct Graded {
    pub name: String,
    pub report: RunReport,
    /// Why the whole submission scored nothing (no start command, the build failed), if so.
    pub error: Option<String>,
}

impl Graded {
    /// Every reason it lost points, biggest first, whole, on one line (empty for full marks).
    pub fn notes(&self) -> String {
        match self.zero_reason() {
            Some(why) => why.lines().next().unwrap_or("").to_string(),
            None => losses::summary(&self.report),
        }
    }

    /// Why the submission scored nothing, if it did: its own error, or the one every case that
    /// ran hit (typically: the server never started).
    pub fn zero_reason(&self) -> Option<String> {
        if let Some(e) = &self.error {
            return Some(e.clone());
        }
        let r = &self.report;
        let all_errors = r.count(Verdict::Error) > 0
            && r.cases
                .iter()
                .all(|c| matches!(c.verdict, Verdict::Error | Verdict::Skip));
        if !all_errors {
            return None;
        }
        r.cases
            .iter()
            .find(|c| c.verdict == Verdict::Error)
            .and_then(|c| c.messages.first().cloned())
    }
}

/// The submissions in a folder: its subfolders, sorted by name, hidden ones left out.
pub fn submissions(dir: &Path) -> anyhow::Result<Vec<(String, PathBuf)>> {
    let mut subs = Vec::new();
    for entry in fs::read_dir(dir)
        .with_context(|| format!("cannot read the submissions folder {}", dir.display()))?
    {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !entry.file_type()?.is_dir() {
            continue;
        }
        subs.push((name, entry.path()));
    }
    subs.sort();
    if subs.is_empty() {
        anyhow::bail!(
            "{} holds no submission: each submission is a subfolder of it",
            dir.display()
        );
    }
    Ok(subs)
}

/// Grades one submission. Never fails: what goes wrong is the grade's `error` and its cases'
/// messages.
pub fn grade_one(name: &str, dir: &Path, spec: &ClassSpec, cases: &[Case]) -> Graded {
    let started = Instant::now();
    let zero = |why: String| {
        let results = cases
            .iter()
            .map(|c| crate::exec::not_run(c, Verdict::Error, &why))
            .collect();
        let scored = Scored::new(results, &spec.settings);
        Graded {
            name: name.to_string(),
            report: RunReport::new(
                name.to_string(),
                started.elapsed(),
                scored.cases,
                scored.rules,
            ),
            error: Some(why),
        }
    };
    let prepared = match prepare::prepare(name, dir, spec) {
        Ok(p) => p,
        Err(e) => {
            let mut g = zero(e.why);
            g.report.notes = e.notes;
            return g;
        }
    };
    let start = prepared.start.clone();
    let server = ServerUnderTest::Start(start);
    let notes = Mutex::new(Vec::new());
    let results = run_at(&server, cases, &spec.settings, &|_, _| {}, &|n| {
        notes.lock().unwrap_or_else(|e| e.into_inner()).push(n)
    });
    let mut report = RunReport::new(
        name.to_string(),
        started.elapsed(),
        results.cases,
        results.rules,
    );
    report.notes = prepared.notes.clone();
    report
        .notes
        .extend(notes.into_inner().unwrap_or_else(|e| e.into_inner()));
    Graded {
        name: name.to_string(),
        report,
        error: None,
    }
}

/// Grades every submission, `spec.jobs` at a time; `on_done` sees each grade as it is made.
/// Grades come back in the order of `subs`.
pub fn grade_class(
    subs: &[(String, PathBuf)],
    spec: &ClassSpec,
    cases: &[Case],
    on_done: &(dyn Fn(&Graded) + Sync),
) -> Vec<Graded> {
    crate::exec::parallel_map(subs, spec.jobs, |_, (name, dir)| {
        let g = grade_one(name, dir, spec, cases);
        on_done(&g);
        g
    })
}

/// Writes `out/gradebook.csv`, `out/index.html` and, per submission, `out/NAME/results.json`
/// (Gradescope), `report.json` and `report.html`.
pub fn write_outputs(
    out: &Path,
    cases: &[Case],
    graded: &[Graded],
    visibility: &HashMap<String, &'static str>,
    lenient: bool,
) -> anyhow::Result<()> {
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let opts = ReportOptions {
        color: false,
        lenient,
        show_transcripts: true,
    };
    let vis = |c: &CaseResult| visibility.get(&c.id).copied().unwrap_or("visible");
    let mut entries = Vec::new();
    for g in graded {
        let dir = out.join(&g.name);
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        write_file(&dir.join("results.json"), |w| {
            report::write_gradescope_with(&g.report, &opts, &vis, w)
        })?;
        write_file(&dir.join("report.json"), |w| {
            report::write_report(Format::Json, &g.report, &opts, w)
        })?;
        write_file(&dir.join("report.html"), |w| {
            report::write_report(Format::Html, &g.report, &opts, w)
        })?;
        entries.push(IndexEntry {
            name: g.name.clone(),
            score: g.report.score,
            max_score: g.report.max_score,
            report_href: format!("{}/report.html", url_segment(&g.name)),
            error: g.zero_reason(),
            notes: g.notes(),
        });
    }
    write_file(&out.join("gradebook.csv"), |w| {
        gradebook::write_csv(cases, graded, w)
    })?;
    write_file(&out.join("index.html"), |w| {
        report::write_html_index("Class grades", &entries, w)
    })?;
    Ok(())
}

fn write_file(
    path: &Path,
    f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    let file = File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    let mut w = BufWriter::new(file);
    f(&mut w)
        .and_then(|_| w.flush())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Percent-encodes what a folder name may hold that a relative URL may not.
fn url_segment(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
