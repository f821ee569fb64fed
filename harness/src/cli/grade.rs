//! `harness grade`: grade every submission of a class, with a progress bar and a summary table.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use clap::Args;

use super::load::Loaded;
use super::{run::settings, Selection, StartOptions, Tuning, EXIT_ERROR};
use crate::grade::losses::losses;
use crate::grade::{self, ClassSpec, Graded};
use crate::outcome::Verdict;
use crate::report::fmt_points;

#[derive(Debug, Args)]
// Each submission's own ws.conf is read: --ws-conf (for --target) means nothing here.
#[command(
    mut_arg("ws_conf", |a| a.hide(true)),
    mut_arg("vars", |a| a.help(
        "Define a variable for the cases: `--var keepalive=4` is the KeepaliveTime each \
         submission's ws.conf is patched to (default: ./ws.conf's, else 10)"
    ))
)]
pub struct GradeArgs {
    /// The folder of submissions: each subfolder is one submission.
    #[arg(value_name = "SUBMISSIONS")]
    pub submissions: PathBuf,
    #[command(flatten)]
    pub sel: Selection,
    /// How to start a submission's server ({port}, {config}, {root}, {dir} are filled in); a
    /// submission's own START file overrides it.
    #[arg(long, value_name = "CMD")]
    pub start: Option<String>,
    /// Run once per submission, in a private copy, before starting it (e.g. `make`).
    #[arg(long, value_name = "CMD")]
    pub build: Option<String>,
    /// Seconds a build may take before it is killed and the submission graded zero.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub build_timeout: u64,
    /// Submissions graded at once.
    #[arg(long, short = 'j', value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// Cases run at once within one submission.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub case_jobs: u16,
    /// Print how each submission would be built and started (one line each), and run nothing.
    #[arg(long)]
    pub plan: bool,
    /// Where the gradebook and reports go.
    #[arg(long, value_name = "DIR", default_value = "grades")]
    pub out: PathBuf,
    #[command(flatten)]
    pub how: StartOptions,
    #[command(flatten)]
    pub tuning: Tuning,
}

pub fn run(a: GradeArgs) -> anyhow::Result<i32> {
    let Some(Loaded {
        cases,
        rules,
        rubric,
    }) = Loaded::load(&a.sel, a.tuning.rubric.as_deref())?
    else {
        return Ok(EXIT_ERROR);
    };
    let visibility = rubric.visibility(&cases);
    a.how.check_site()?;
    let subs = grade::submissions(&a.submissions)?;
    let spec = ClassSpec {
        start: a.start.clone(),
        build: a.build.clone(),
        build_timeout: Duration::from_secs(a.build_timeout),
        site: a.how.site.clone(),
        config_mode: a.how.config_mode,
        keepalive: a.tuning.keepalive()?,
        ready_timeout: a.how.ready_timeout(),
        settings: settings(&a.tuning, a.case_jobs as usize, rules)?,
        jobs: a.jobs as usize,
    };

    if let Some(w) = super::run::timer_warning(&cases, &spec.settings) {
        eprintln!("warning: {w}");
    }
    a.how.apply_ports()?;
    let plans: Vec<_> = subs
        .iter()
        .map(|(name, dir)| (name, grade::prepare::plan(dir, &spec)))
        .collect();
    if a.plan {
        let mut out = std::io::stdout().lock();
        for (name, plan) in &plans {
            if writeln!(out, "{name}: {plan}").is_err() {
                break; // a closed pipe: stop quietly
            }
        }
        return Ok(0);
    }
    if plans.iter().all(|(_, p)| !p.can_start()) {
        eprintln!(
            "error: no submission can be started: none has a START file or anything the harness \
             knows how to build and start (see `harness grade --plan {}`); pass --start 'CMD'",
            a.submissions.display()
        );
        return Ok(EXIT_ERROR);
    }

    let bar = Bar::new(subs.len(), std::io::stderr().is_terminal());
    let mut graded = grade::grade_class(&subs, &spec, &cases, &|g| bar.done(g));
    bar.finish();
    for (g, (_, dir)) in graded.iter_mut().zip(&subs) {
        name_the_ws_conf(g, dir, &a);
    }
    let lenient = !a.tuning.strict_form;
    grade::write_outputs(&a.out, &cases, &graded, &visibility, lenient)?;
    let mut out = std::io::stdout().lock();
    print_summary(&mut out, &graded, lenient)?;
    writeln!(
        out,
        "wrote {}, {} and a folder per submission",
        a.out.join("gradebook.csv").display(),
        a.out.join("index.html").display()
    )?;
    Ok(exit_code(&graded))
}

/// 0 when every submission was graded, else 1, said on stderr.
fn exit_code(graded: &[Graded]) -> i32 {
    let failed = graded
        .iter()
        .filter(|g| g.error.is_some() || g.zero_reason().is_some())
        .count();
    if failed == 0 {
        return 0;
    }
    eprintln!(
        "{} could not be built, started or graded (see the NOTE column)",
        if failed == 1 {
            "1 submission".to_string()
        } else {
            format!("{failed} submissions")
        }
    );
    1
}

/// Says in a submission's reports which ws.conf its expectations followed (its own, patched, or
/// one generated), and replays its cases at the port its own ws.conf listens on.
fn name_the_ws_conf(g: &mut Graded, dir: &std::path::Path, a: &GradeArgs) {
    let plan = grade::detect::detect(dir, a.start.as_deref(), a.build.as_deref());
    let own = plan.config.as_ref().map(|c| dir.join(c));
    let followed = super::run::started_ws_conf(
        &own.unwrap_or_else(|| dir.join("ws.conf")),
        &dir.display().to_string(),
        a.how.config_mode,
    );
    g.report.ws_conf = Some(followed.what);
    g.report.replay_port = followed.replay_port;
}

fn print_summary(out: &mut dyn Write, graded: &[Graded], lenient: bool) -> std::io::Result<()> {
    let width = graded
        .iter()
        .map(|g| g.name.len())
        .max()
        .unwrap_or(10)
        .max(10);
    writeln!(
        out,
        "{:<width$}  {:>13}  {:>4} {:>4} {:>4} {:>4}  NOTE",
        "SUBMISSION", "SCORE", "PASS", "NS", "FAIL", "ERR"
    )?;
    for g in graded {
        let r = &g.report;
        // Every reason, whole: the first on the row, the others under it.
        let notes = match g.zero_reason() {
            Some(r) => vec![first_line(&note_text(&r))],
            None => losses(&g.report).iter().map(|l| l.to_string()).collect(),
        };
        writeln!(
            out,
            "{:<width$}  {:>13}  {:>4} {:>4} {:>4} {:>4}  {}",
            g.name,
            format!("{} / {}", fmt_points(r.score), fmt_points(r.max_score)),
            r.count(Verdict::Pass),
            r.count(Verdict::NonStrict),
            r.count(Verdict::Fail),
            r.count(Verdict::Error),
            notes.first().map_or("", String::as_str)
        )?;
        for more in notes.iter().skip(1) {
            writeln!(out, "{:width$}  {more}", "", width = width + 36)?;
        }
    }
    let non_strict: usize = graded
        .iter()
        .map(|g| g.report.count(Verdict::NonStrict))
        .sum();
    if !lenient && non_strict > 0 {
        writeln!(
            out,
            "note: {non_strict} non-strict (NS) verdicts earned no points (--strict-form): the rule \
             held but the response's form did not (see each report)"
        )?;
    }
    Ok(())
}

/// The useful part of why a submission scored nothing, for the NOTE column: the error line of a
/// build log, or why the server did not start without the command that the report shows.
fn note_text(reason: &str) -> String {
    let reason = grade::prepare::build_summary(reason);
    // `the build `CMD` failed (...): ERROR` -> `build failed (...): ERROR` (the report has CMD)
    if let Some(rest) = reason.strip_prefix("the build `") {
        if let Some(i) = rest
            .find("` failed")
            .or_else(|| rest.find("` did not finish"))
        {
            return format!("build {}", &rest[i + 2..]);
        }
    }
    if let Some(rest) = reason.strip_prefix("the server could not be started: ") {
        if let Some(i) = rest.find("): ") {
            if rest[..i].contains("(config `") {
                return format!("not started: {}", &rest[i + 3..]);
            }
        }
    }
    reason
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_string()
}

/// A progress bar on stderr (a line per submission when stderr is not a terminal).
struct Bar {
    total: usize,
    done: Mutex<usize>,
    interactive: bool,
}

impl Bar {
    fn new(total: usize, interactive: bool) -> Bar {
        let b = Bar {
            total,
            done: Mutex::new(0),
            interactive,
        };
        b.draw(0, "");
        b
    }

    fn done(&self, g: &Graded) {
        let mut n = self.done.lock().unwrap();
        *n += 1;
        let what = format!(
            "{}: {} / {}",
            g.name,
            fmt_points(g.report.score),
            fmt_points(g.report.max_score)
        );
        if self.interactive {
            self.draw(*n, &what);
        } else {
            eprintln!("graded {}/{} {what}", *n, self.total);
        }
    }

    fn draw(&self, n: usize, last: &str) {
        if !self.interactive {
            return;
        }
        let width = 30;
        let filled = (n * width).checked_div(self.total).unwrap_or(0);
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[2K[{}{}] {n}/{} graded  {last}",
            "#".repeat(filled),
            "-".repeat(width - filled),
            self.total
        );
        let _ = err.flush();
    }

    fn finish(&self) {
        if self.interactive {
            eprintln!();
        }
    }
}
