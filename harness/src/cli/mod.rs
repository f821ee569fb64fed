//! The `harness` command line: argument definitions shared by the subcommands, and dispatch.
//! Each subcommand lives in its own file; they all return the process exit code
//! (0 all passed, 1 some case failed, 2 usage, case-file or harness error).

mod check;
mod diff;
mod grade;
mod list;
mod load;
mod record;
mod run;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::case::{self, Case};
use crate::declared::Declared;
use crate::start::{ConfigMode, StartSpec};

/// Exit code for usage, case-file and harness errors.
pub const EXIT_ERROR: i32 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "harness",
    version,
    about = "Conformance harness for HTTP/1.x servers: fires declarative .case files over raw TCP",
    long_about = "Conformance harness for HTTP/1.x servers.\n\n\
        Reads .case files (see cases/README.md) and fires their exact bytes over raw TCP at a \
        server, reading each response by its framing. Point it at a running server with \
        --target HOST:PORT, or let it start one with --start 'CMD'.\n\n\
        Exit codes: 0 every case passed, 1 some case failed, 2 usage, case-file or harness error."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run cases at a server and report verdicts and points.
    Run(run::RunArgs),
    /// Validate case files without a server.
    Check(check::CheckArgs),
    /// List cases: id, points, tags, title.
    List(list::ListArgs),
    /// Grade every submission in a folder (each subfolder is one submission).
    Grade(grade::GradeArgs),
    /// Run the same cases at two servers and show where their responses differ.
    Diff(diff::DiffArgs),
    /// Send one request to a server and print a .case that expects what came back.
    Record(record::RecordArgs),
}

/// Parses the command line and runs the command; returns the exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(a) => run::run(a),
        Command::Check(a) => check::run(a),
        Command::List(a) => list::run(a),
        Command::Grade(a) => grade::run(a),
        Command::Diff(a) => diff::run(a),
        Command::Record(a) => record::run(a),
    };
    // Nothing the harness started outlives it.
    crate::start::process::sweep();
    match result {
        Ok(code) => code,
        Err(e) if closed_pipe(&e) => EXIT_CLOSED_PIPE,
        Err(e) => {
            let mut msg = format!("error: {e}");
            for cause in e.chain().skip(1) {
                msg.push_str(&format!("\n  caused by: {cause}"));
            }
            eprintln!("{msg}");
            EXIT_ERROR
        }
    }
}

/// Exit code when stdout was closed early (`harness list | head`): quietly, as a program killed
/// by SIGPIPE would (128 + 13).
pub const EXIT_CLOSED_PIPE: i32 = 141;

/// Whether the error is a write to a closed pipe.
fn closed_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Which cases to load and select.
#[derive(Debug, Args, Clone)]
pub struct Selection {
    /// Case files or folders (searched recursively for *.case); case ids are paths relative to
    /// the folder given. Default: the assignment corpus (the RFC corpus is `cases/rfc9112` and
    /// `cases/rfc9110`; `cases` is both).
    #[arg(value_name = "PATHS", default_value = "cases/assignment")]
    pub paths: Vec<PathBuf>,
    /// Only cases whose id or title contains TEXT (case-insensitive).
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
    /// Only cases with this tag (repeat for any of several tags).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Only the cases of this rule (repeat for several); `run` then exits 0 when every rule
    /// given holds and 1 when one does not (one grader step per rule, e.g. GitHub Classroom).
    #[arg(long = "rule", value_name = "RULE")]
    pub rules: Vec<String>,
}

impl Selection {
    /// [`Selection::load`], printing what is wrong with the case files, or that no case was
    /// selected, on stderr: `None` then, for exit code 2.
    pub fn load_or_report(&self) -> Option<Vec<Case>> {
        match self.load() {
            Ok(c) if c.is_empty() => {
                eprintln!("error: no case matches the --filter/--tag given; `harness list` shows them all");
                None
            }
            Ok(c) => Some(c),
            Err(e) => {
                eprintln!("{}", check::load_error(&e));
                None
            }
        }
    }

    /// Loads every case under the paths (printing diagnostics is the caller's job via the
    /// error's Display) and keeps those the filters select.
    pub fn load(&self) -> Result<Vec<Case>, case::LoadError> {
        let cases = case::load(&self.paths)?;
        Ok(cases.into_iter().filter(|c| self.selects(c)).collect())
    }

    fn selects(&self, c: &Case) -> bool {
        let text_ok = match &self.filter {
            None => true,
            Some(f) => {
                let f = f.to_lowercase();
                c.id.to_lowercase().contains(&f) || c.title.to_lowercase().contains(&f)
            }
        };
        let tag_ok = self.tags.is_empty() || c.tags.iter().any(|t| self.tags.contains(t));
        let rule_ok =
            self.rules.is_empty() || c.rule.as_ref().is_some_and(|r| self.rules.contains(r));
        text_ok && tag_ok && rule_ok
    }
}

/// How to run cases, shared by `run`, `grade` and `diff`.
#[derive(Debug, Args, Clone)]
pub struct Tuning {
    /// Define a variable for the cases: `--var keepalive=4` (the server's KeepaliveTime; default:
    /// what --ws-conf declares, else 10).
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
    /// A missed `level: should` case fails (without it, a miss is non-strict: a warning).
    #[arg(long)]
    pub strict: bool,
    /// Non-strict verdicts (the rule held, the response's form did not) earn nothing and count
    /// as failed. By default they earn their points: form rules are graded once, by the cases
    /// that name them (`form RULE`).
    #[arg(long)]
    pub strict_form: bool,
    /// How points add up: `rules` (the cases that share a `rule:` are held or lost whole, as a
    /// rubric of rules grades) or `cases` (every case earns its own points).
    #[arg(long, value_enum, default_value = "rules")]
    pub score: ScoreBy,
    /// Non-strict verdicts earn their points: the default now, kept for old scripts.
    #[arg(long, hide = true)]
    pub lenient: bool,
    /// The ws.conf the server under test runs with (with --target): cases follow what it
    /// declares (`requires:`, `content-type .EXT`) and its KeepaliveTime is the default
    /// `keepalive`. Default: ./ws.conf when it exists. With --start each server's own is read.
    /// `diff` takes one per server (A's, then B's), or one for both.
    #[arg(long, value_name = "FILE")]
    pub ws_conf: Vec<PathBuf>,
    /// The site the `body file` checks compare with (with --start: the copy given to the server).
    #[arg(long, value_name = "DIR", default_value = "www")]
    pub www: PathBuf,
    /// Time allowed to open a connection, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 3.0)]
    pub connect_timeout: f64,
    /// A rubric file: what rules are worth (`rule NAME N`; a rule beyond the handout counts when
    /// given points, e.g. cases/assignment/strict.rubric), case points (`points SELECTOR N`) and
    /// Gradescope visibility (`hidden SELECTOR`, `visibility SELECTOR VALUE`); SELECTOR is a case
    /// id or tag:NAME.
    #[arg(long, value_name = "FILE")]
    pub rubric: Option<PathBuf>,
}

impl Tuning {
    /// What the server's ws.conf declares: `--ws-conf`, else `./ws.conf`, else nothing.
    pub fn declared(&self) -> anyhow::Result<Declared> {
        match self.ws_conf.as_slice() {
            [_, _, ..] => bail!(
                "--ws-conf given {} times: one server runs with one ws.conf (only `diff` takes one \
                 per server)",
                self.ws_conf.len()
            ),
            [p] if !p.is_file() => bail!("--ws-conf {}: no such file", p.display()),
            [p] => Ok(Declared::read(p, &p.display().to_string())),
            [] if Path::new("ws.conf").is_file() => {
                Ok(Declared::read(Path::new("ws.conf"), "ws.conf"))
            }
            [] => Ok(Declared {
                source: "no ws.conf (give --ws-conf FILE)".to_string(),
                ..Declared::default()
            }),
        }
    }

    /// The variables: `keepalive` defaults to the declared KeepaliveTime (else 10), then every
    /// `--var`.
    pub fn var_map(&self) -> BTreeMap<String, String> {
        let mut vars = BTreeMap::new();
        let declared = self.declared().ok().and_then(|d| d.keepalive);
        let keepalive = declared.map_or("10".to_string(), |k| k.to_string());
        vars.insert("keepalive".to_string(), keepalive);
        for (k, v) in &self.vars {
            vars.insert(k.clone(), v.clone());
        }
        vars
    }

    /// The keepalive variable as whole seconds, for the generated ws.conf.
    pub fn keepalive(&self) -> anyhow::Result<u32> {
        let vars = self.var_map();
        let v = &vars["keepalive"];
        v.trim().parse::<u32>().with_context(|| {
            format!("--var keepalive={v}: the KeepaliveTime must be a whole number of seconds")
        })
    }

    pub fn connect_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.connect_timeout.clamp(0.05, 600.0))
    }
}

/// How points add up (`--score`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScoreBy {
    Rules,
    Cases,
}

/// The server under test: a running one, or one to start.
#[derive(Debug, Args, Clone)]
pub struct StartArgs {
    /// Start the server under test with this shell command ({port}, {config}, {root}, {dir} are
    /// filled in), in a temp copy of --dir, with a ws.conf written for the run.
    #[arg(long, value_name = "CMD")]
    pub start: Option<String>,
    /// The submission folder copied for --start.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    #[command(flatten)]
    pub how: StartOptions,
}

/// How every started server is given its configuration and awaited (`run`, `grade`, `diff`).
#[derive(Debug, Args, Clone)]
pub struct StartOptions {
    /// How a started server gets its ws.conf: patch the submission's own, generate one, or auto
    /// (patch when the submission has a ws.conf).
    #[arg(
        long = "config",
        value_name = "MODE",
        value_enum,
        default_value = "auto"
    )]
    pub config_mode: ConfigMode,
    /// The site copied for each started server (a fresh copy per start).
    #[arg(long, value_name = "DIR", default_value = "www")]
    pub site: PathBuf,
    /// Seconds to wait for a started server to accept connections.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub ready_timeout: f64,
    /// Start servers only on ports in LO-HI (for machines shared with other jobs); by default
    /// any free port.
    #[arg(long, value_name = "LO-HI", value_parser = parse_ports)]
    pub ports: Option<(u16, u16)>,
}

impl StartOptions {
    /// A start spec for `cmd` run in a copy of `dir`.
    pub fn spec(
        &self,
        cmd: &str,
        dir: &std::path::Path,
        tuning: &Tuning,
    ) -> anyhow::Result<StartSpec> {
        if !dir.is_dir() {
            bail!("--dir {}: no such folder", dir.display());
        }
        self.check_site()?;
        self.apply_ports()?;
        Ok(StartSpec {
            command: cmd.to_string(),
            dir: dir.to_path_buf(),
            site: self.site.clone(),
            config_mode: self.config_mode,
            config_file: "ws.conf".into(),
            keepalive: tuning.keepalive()?,
            ready_timeout: self.ready_timeout(),
            grace: Duration::from_secs(2),
        })
    }

    /// Makes every start use `--ports`, when given.
    pub fn apply_ports(&self) -> anyhow::Result<()> {
        if let Some((lo, hi)) = self.ports {
            crate::start::process::set_port_range(lo, hi);
        }
        Ok(())
    }

    pub fn ready_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.ready_timeout.clamp(0.1, 600.0))
    }

    pub fn check_site(&self) -> anyhow::Result<()> {
        if !self.site.is_dir() {
            bail!(
                "--site {}: no such folder (the site copied for each started server; run from the \
                 repo root or pass --site)",
                self.site.display()
            );
        }
        Ok(())
    }
}

/// `--color`.
#[derive(Debug, Clone, Copy, ValueEnum, Default)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Colour on when asked, or on auto when the output is a terminal and NO_COLOR is unset.
    pub fn enabled(self, is_terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        }
    }
}

fn parse_ports(s: &str) -> Result<(u16, u16), String> {
    let bad = || format!("`{s}` is not a port range LO-HI (e.g. --ports 20000-20999)");
    let (lo, hi) = s.split_once('-').ok_or_else(bad)?;
    let lo: u16 = lo.trim().parse().map_err(|_| bad())?;
    let hi: u16 = hi.trim().parse().map_err(|_| bad())?;
    if lo == 0 || hi < lo {
        return Err(bad());
    }
    Ok((lo, hi))
}

fn parse_var(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not NAME=VALUE (e.g. --var keepalive=2)"))?;
    let valid = !k.is_empty()
        && k.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(format!(
            "`{k}` is not a variable name (letters, digits, _; not starting with a digit)"
        ));
    }
    Ok((k.to_string(), v.to_string()))
}

/// Splits `HOST:PORT` (also `[::1]:PORT`).
pub fn parse_target(s: &str) -> anyhow::Result<crate::exec::Target> {
    let Some((host, port)) = s.rsplit_once(':') else {
        bail!("--target {s}: expected HOST:PORT, e.g. 127.0.0.1:8888");
    };
    let port: u16 = port
        .parse()
        .ok()
        .filter(|p| *p != 0)
        .with_context(|| format!("--target {s}: `{port}` is not a port number (1-65535)"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        bail!("--target {s}: the host is empty; e.g. 127.0.0.1:{port}");
    }
    Ok(crate::exec::Target {
        host: host.to_string(),
        port,
    })
}

/// Whether stdout is a terminal.
pub fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_ranges_parse_and_bad_ones_say_what_is_expected() {
        assert_eq!(parse_ports("20000-20999"), Ok((20000, 20999)));
        assert_eq!(parse_ports("8080-8080"), Ok((8080, 8080)));
        for bad in ["", "8080", "9-8", "0-10", "a-b", "1-70000"] {
            let e = parse_ports(bad).unwrap_err();
            assert!(e.contains("LO-HI"), "{bad}: {e}");
        }
    }
}
