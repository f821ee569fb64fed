//! `harness record`: send one request (from stdin or a file) to a running server and print a
//! `.case` that expects what came back.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;

use crate::record::{self, LineEnds, Request, Settings};

#[derive(Debug, Args)]
#[command(after_help = "Example:\n  \
    printf 'GET /index.html HTTP/1.1\\nHost: 127.0.0.1:8888\\nConnection: close\\n\\n' \\\n    \
    | harness record --target 127.0.0.1:8888 > cases/mine/index.case\n\n\
    The request is sent once; when the connection is still open 2 s after the response, one \
    probe request (GET /index.html) is sent on it, as the case's `open for` step will.")]
pub struct RecordArgs {
    /// The running server to record from.
    #[arg(long, value_name = "HOST:PORT")]
    pub target: String,
    /// The file holding the request; `-` or nothing: stdin.
    #[arg(value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// How the input's line ends are sent.
    #[arg(long, value_enum, value_name = "MODE", default_value = "crlf")]
    pub line_ends: LineEnds,
    /// The site: a body equal to one of its files is checked with `body file PATH` [default:
    /// www, when there is one]
    #[arg(long, value_name = "DIR")]
    pub www: Option<PathBuf>,
    /// The case's title (default: the request line and the status).
    #[arg(long, value_name = "TEXT")]
    pub title: Option<String>,
    /// What the case is worth.
    #[arg(long, value_name = "N", default_value_t = 1.0, value_parser = parse_points)]
    pub points: f64,
    /// The case's tags, comma-separated.
    #[arg(
        long,
        value_name = "TAGS",
        default_value = "recorded",
        value_delimiter = ','
    )]
    pub tags: Vec<String>,
    /// Seconds to wait for the response.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub wait: f64,
    /// Seconds allowed to open the connection.
    #[arg(long, value_name = "SECS", default_value_t = 3.0)]
    pub connect_timeout: f64,
}

pub fn run(a: RecordArgs) -> anyhow::Result<i32> {
    let target = super::parse_target(&a.target)?;
    if let Some(t) = &a.title {
        check_title(t)?;
    }
    let www = a.www.clone().unwrap_or_else(|| PathBuf::from("www"));
    if !www.is_dir() {
        if a.www.is_some() {
            bail!("--www {}: no such folder", www.display());
        }
        eprintln!(
            "note: no site folder `www` here: bodies are written out, not matched with files \
             (give --www DIR)"
        );
    }
    let input = read_input(a.input.as_ref())?;
    if input.is_empty() {
        bail!(
            "no request: the input is empty; pipe or type one, e.g. printf 'GET / \
             HTTP/1.1\\nHost: {}\\n\\n' | harness record --target {}",
            target.host,
            a.target
        );
    }
    let request = Request::new(&input, a.line_ends);
    let settings = Settings {
        target,
        wait: secs(a.wait),
        connect_timeout: secs(a.connect_timeout),
    };
    let meta = record::meta(a.title, a.points, tags(&a.tags)?);
    let recorded = record::record(&request, &settings, &www, &meta)?;
    for w in &recorded.warnings {
        eprintln!("warning: {w}");
    }
    let mut out = std::io::stdout().lock();
    out.write_all(recorded.text.as_bytes())?;
    out.flush()?;
    Ok(0)
}

/// The request's bytes: the file, or stdin (with a hint when a person types it).
fn read_input(path: Option<&PathBuf>) -> anyhow::Result<Vec<u8>> {
    match path {
        Some(p) if p.as_os_str() != "-" => {
            std::fs::read(p).with_context(|| format!("reading the request from {}", p.display()))
        }
        _ => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                eprintln!("Type the request, end its head with an empty line, then press Ctrl-D.");
            }
            let mut buf = Vec::new();
            stdin
                .lock()
                .read_to_end(&mut buf)
                .context("reading the request from stdin")?;
            Ok(buf)
        }
    }
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.clamp(0.05, 600.0))
}

/// A title is one line of text.
fn check_title(t: &str) -> anyhow::Result<()> {
    if t.trim().is_empty() {
        bail!("--title is empty: say what the case checks");
    }
    if t.chars().any(char::is_control) {
        bail!("--title {t:?}: a title is one line, without tabs or control characters");
    }
    if t.trim() != t {
        bail!("--title {t:?}: remove the spaces around it");
    }
    Ok(())
}

fn parse_points(s: &str) -> Result<f64, String> {
    let bad = || format!("`{s}` is not a number of points (e.g. 1, 2 or 0.5)");
    let p: f64 = s.trim().parse().map_err(|_| bad())?;
    if !p.is_finite() || p < 0.0 {
        return Err(bad());
    }
    Ok(p)
}

/// The tags given, trimmed, each one word.
fn tags(given: &[String]) -> anyhow::Result<Vec<String>> {
    let tags: Vec<String> = given
        .iter()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    if let Some(t) = tags
        .iter()
        .find(|t| t.chars().any(|c| c.is_whitespace() || c.is_control()))
    {
        bail!("--tags: `{t}` is not one word (tags are separated by commas: --tags errors,method)");
    }
    Ok(tags)
}
