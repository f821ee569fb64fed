//! The parsed form of a `.case` file: metadata, steps and checks, with the source line of each,
//! so that every failure at run time can point back to `file:line`.
//!
//! Byte templates and durations keep their variables unresolved: they are rendered against the
//! run's [`Vars`] when the case runs, so one parsed case serves any target.

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use crate::declared::Requirement;
pub use crate::form::FormRule;

/// The name of the connection a step uses when it names none.
pub const DEFAULT_CONN: &str = "main";

/// Variables available to templates: `host`, `port`, `keepalive` and any `--var name=value`.
pub type Vars = BTreeMap<String, String>;

/// One case file, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// Path relative to the folder given on the command line, without `.case`.
    pub id: String,
    /// The file it was read from, as given (for `file:line` messages).
    pub path: PathBuf,
    pub title: String,
    pub points: f64,
    pub tags: Vec<String>,
    pub spec: Option<String>,
    /// The rule of the assignment it belongs to (`rule:`): the cases of a rule are graded whole.
    pub rule: Option<String>,
    /// What a student should change when the case fails (`hint:`), in the handout's terms.
    pub hint: Option<String>,
    /// The whole case's time limit; it may use variables (`{keepalive}s + 10s`).
    pub timeout: DurationExpr,
    pub level: Level,
    /// The server configuration the case needs; `"default"` unless the file says otherwise.
    pub config: String,
    /// What the submission's ws.conf must declare for the case to run (`requires:`); when it
    /// does not, the case is skipped with the reason.
    pub requires: Vec<Requirement>,
    pub steps: Vec<Step>,
}

/// The requirement's strength (RFC 2119), which sets what a miss costs: a `must` miss fails;
/// a `should` miss is `non-strict` (a warning), and fails under `--strict`; a `may` case is
/// informational: met, it passes; missed, it is `skip` with what the server did instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Must,
    Should,
    May,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Must => "must",
            Level::Should => "should",
            Level::May => "may",
        }
    }
}

/// A step and the line it was written on (1-based).
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub line: usize,
    pub conn: String,
    pub kind: StepKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StepKind {
    Connect,
    Send {
        data: Template,
        /// Write in pieces of this many bytes, sleeping `delay` between them.
        split: Option<usize>,
        delay: DurationExpr,
    },
    Sleep(DurationExpr),
    Shutdown,
    Close,
    Response {
        within: Option<DurationExpr>,
        checks: Vec<Check>,
    },
    NoResponse {
        for_: DurationExpr,
    },
    /// Reads one interim (1xx) response; `codes` lists the allowed ones (empty: any 1xx).
    Interim {
        codes: Vec<u16>,
        within: Option<DurationExpr>,
    },
    Closed {
        after: Option<DurationExpr>,
        within: DurationExpr,
    },
    Open {
        for_: DurationExpr,
        /// `None`: the default probe (`GET /` with keep-alive).
        probe: Option<Template>,
    },
}

/// A check on one response, with its line and what a miss costs.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub line: usize,
    /// Written with the `non-strict` prefix: a miss makes the case non-strict, not failed.
    pub non_strict: bool,
    pub kind: CheckKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CheckKind {
    Status(Vec<u16>),
    StatusLine(String),
    Reason(String),
    Header {
        name: String,
        test: HeaderTest,
    },
    NoHeader(String),
    BodyIs(Template),
    BodyEmpty,
    BodyContains(String),
    /// A regex source, checked with `regex::bytes::Regex` (validated at parse time).
    BodyMatches(String),
    /// A path under the site root (`--www`).
    BodyFile(String),
    ContentLength,
    /// `content-type .EXT`: the media type is the one the submission's ws.conf maps to `.EXT`.
    ContentType(String),
    /// `no body contains "TEXT"`.
    BodyLacks(String),
    /// `form RULE...`: a defect of these form rules fails the case instead of making it
    /// non-strict (the rule is what this case grades).
    Form(Vec<FormRule>),
    /// `or closed`: the server may close the connection instead of answering (RFC 9112 lets a
    /// server close after an invalid request); a close before any byte meets the step.
    OrClosed,
    /// `version "HTTP/1.1"`: the status line's HTTP-version is exactly this.
    Version(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum HeaderTest {
    Present,
    Equals(String),
    Contains(String),
    /// A regex source (validated at parse time).
    Matches(String),
}

/// Bytes with variables left to fill in at run time.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Template {
    pub pieces: Vec<Piece>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Bytes(Vec<u8>),
    Var(String),
    Repeat(usize, Template),
}

/// A duration such as `{keepalive}s - 500ms`: a signed sum of terms.
#[derive(Debug, Clone, PartialEq)]
pub struct DurationExpr {
    pub terms: Vec<DurationTerm>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DurationTerm {
    pub negative: bool,
    pub amount: Amount,
    /// Milliseconds per unit: 1 for `ms`, 1000 for `s`.
    pub unit_ms: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Amount {
    Number(f64),
    Var(String),
}

/// A variable a template or duration used that the run does not define, or that is not a number.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VarError {
    #[error("unknown variable {{{0}}}: define it with --var {0}=VALUE")]
    Unknown(String),
    #[error("variable {{{name}}} is {value:?}, not a number, but it is used in a duration")]
    NotANumber { name: String, value: String },
    #[error("duration {0} is negative")]
    Negative(String),
}
