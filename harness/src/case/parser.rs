//! The parser: reads the lexer's lines in order and builds a [`Case`]: metadata first, then
//! steps, checks attached to the `response` just above them, and blocks attached to their
//! `send`, `body is` or `open`. It recovers at the next line after a fault, so one run reports
//! every mistake of a file (at most one per line).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

use super::diagnostic::{did_you_mean, Diagnostic, Fault};
use super::duration;
use super::escape::{self, Builder};
use super::lexer::{self, Cursor, Line, LineKind};
use super::model::*;
use super::steps::{self, ParsedCheck, ParsedStep};

const METADATA: &[&str] = &[
    "title", "points", "tags", "spec", "timeout", "level", "config", "requires", "rule", "hint",
];
const STEPS: &[&str] = &[
    "connect",
    "send",
    "sleep",
    "shutdown",
    "close",
    "response",
    "no response",
    "interim",
    "closed",
    "open",
];
const CHECKS: &[&str] = &[
    "status",
    "status-line",
    "reason",
    "version",
    "header",
    "no header",
    "body",
    "no body",
    "content-length",
    "content-type",
    "form",
];
/// The case time limit when the file sets none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Every directive, for "expected one of" and "did you mean".
const DIRECTIVES: &[&str] = &[
    "connect",
    "send",
    "sleep",
    "shutdown",
    "close",
    "response",
    "no response",
    "interim",
    "closed",
    "open",
    "status",
    "status-line",
    "reason",
    "version",
    "header",
    "no header",
    "body",
    "no body",
    "content-length",
    "content-type",
    "form",
    "or closed",
    "non-strict",
];

/// Parses one case file's text; `id` and `path` are the caller's. Reports every diagnostic of
/// the file (at most one per line), in line order.
pub fn parse_case(src: &str, path: &Path, id: &str) -> Result<Case, Vec<Diagnostic>> {
    let lines = lexer::lines(src);
    let mut p = Parser {
        path,
        texts: lines.iter().map(|l| l.text).collect(),
        diags: Vec::new(),
        faulty: HashSet::new(),
        seen: HashMap::new(),
        meta: Meta::default(),
        steps: Vec::new(),
        first_step: None,
        last: Last::Nothing,
        block: None,
        prev_blank: false,
    };
    for line in &lines {
        p.line(line);
    }
    p.close_block();
    p.finish(id)
}

#[derive(Default)]
struct Meta {
    title: Option<String>,
    points: Option<f64>,
    tags: Vec<String>,
    spec: Option<String>,
    timeout: Option<DurationExpr>,
    level: Option<Level>,
    config: Option<String>,
    requires: Vec<Requirement>,
    rule: Option<String>,
    hint: Option<String>,
}

/// What a check line would attach to.
#[derive(Debug, Clone, Copy)]
enum Last {
    Nothing,
    /// The index of a `response` step.
    Response(usize),
    /// A `response` line that had a fault: its checks are parsed but dropped.
    FailedResponse,
    /// Another step, with its line and directive.
    Step(usize, &'static str),
}

/// Where the `|` lines being read go.
enum Owner {
    Send(usize),
    BodyIs {
        step: usize,
        check: usize,
    },
    Probe(usize),
    /// The directive had a fault (or the lines have no directive): check the lines, keep nothing.
    Discard,
}

struct Block {
    line: usize,
    owner: Owner,
    raw: bool,
    bytes: Builder,
    count: usize,
}

struct Parser<'a> {
    path: &'a Path,
    texts: Vec<&'a str>,
    diags: Vec<Diagnostic>,
    /// Lines that already have a diagnostic.
    faulty: HashSet<usize>,
    /// Metadata fields seen, with their line.
    seen: HashMap<&'static str, usize>,
    meta: Meta,
    steps: Vec<Step>,
    /// The line of the first step.
    first_step: Option<usize>,
    last: Last,
    block: Option<Block>,
    prev_blank: bool,
}

impl<'a> Parser<'a> {
    fn error(&mut self, line: usize, fault: Fault) {
        if !self.faulty.insert(line) {
            return;
        }
        let text = self.texts.get(line.wrapping_sub(1)).copied().unwrap_or("");
        self.diags
            .push(Diagnostic::at(self.path, line, text, fault));
    }

    /// The `|` lines after line `n` are read silently (its directive had a fault).
    fn discard_block(&mut self, n: usize) {
        self.block = Some(Block {
            line: n,
            owner: Owner::Discard,
            raw: true,
            bytes: Builder::default(),
            count: 1,
        });
    }

    fn line(&mut self, line: &Line<'a>) {
        if let Some(f) = &line.lint {
            self.error(line.number, f.clone());
        }
        match line.kind {
            LineKind::Block(content) => self.block_line(line, content),
            other => {
                self.close_block();
                if other == LineKind::Directive {
                    self.directive(line);
                }
            }
        }
        self.prev_blank = line.kind == LineKind::Blank;
    }

    fn block_line(&mut self, line: &Line<'a>, content: Result<&'a str, ()>) {
        let Some(block) = &mut self.block else {
            let help = if self.prev_blank {
                "a block cannot hold blank lines: write an empty line as `|` alone"
            } else {
                "`|` lines hold the bytes of the `send`, `body is` or `open` line just above them"
            };
            self.error(
                line.number,
                Fault::new(0..1, "a block line must follow `send`, `body is` or `open`").help(help),
            );
            self.block = Some(Block {
                line: line.number,
                owner: Owner::Discard,
                raw: true,
                bytes: Builder::default(),
                count: 1,
            });
            return;
        };
        block.count += 1;
        let Ok(content) = content else {
            let end = line.text.chars().nth(1).map_or(1, |c| 1 + c.len_utf8());
            self.error(
                line.number,
                Fault::new(0..end, "expected a space after `|`").help(
                    "a block line is `| ` then its content; a line that is only `|` is empty",
                ),
            );
            return;
        };
        match escape::block(content, 2) {
            // Lines under a faulty directive are still checked, but kept nowhere.
            Ok(_) if matches!(block.owner, Owner::Discard) => {}
            Ok((template, open_end)) => {
                block.bytes.template(template);
                if !block.raw && !open_end {
                    block.bytes.bytes(b"\r\n");
                }
            }
            Err(f) => self.error(line.number, f),
        }
    }

    fn close_block(&mut self) {
        let Some(block) = self.block.take() else {
            return;
        };
        let template = block.bytes.finish();
        let text_len = self.texts.get(block.line - 1).map_or(0, |t| t.len());
        match block.owner {
            Owner::Send(_) | Owner::BodyIs { .. } if block.count == 0 => {
                let (what, help) = match block.owner {
                    Owner::Send(_) => (
                        "`send` needs a block",
                        "write the bytes to send on `| ` lines right below it",
                    ),
                    _ => (
                        "`body is` needs a block",
                        "write the body on `| ` lines right below it, or use `body is empty`",
                    ),
                };
                self.error(block.line, Fault::new(0..text_len, what).help(help));
            }
            Owner::Send(i) => {
                if let StepKind::Send { data, .. } = &mut self.steps[i].kind {
                    *data = template;
                }
            }
            Owner::BodyIs { step, check } => {
                if let StepKind::Response { checks, .. } = &mut self.steps[step].kind {
                    checks[check].kind = CheckKind::BodyIs(template);
                }
            }
            Owner::Probe(i) => {
                if let StepKind::Open { probe, .. } = &mut self.steps[i].kind {
                    if block.count > 0 {
                        *probe = Some(template);
                    }
                }
            }
            Owner::Discard => {}
        }
    }

    fn directive(&mut self, line: &Line<'a>) {
        let n = line.number;
        let text = line.text;
        if text.starts_with(' ') {
            let end = text.len() - text.trim_start_matches(' ').len();
            let fault = Fault::new(0..end, "a line must not start with a space")
                .help("directives start at the beginning of the line; block lines start with `|`");
            return self.error(n, fault);
        }
        let mut cur = Cursor::new(text);
        let (_, name) = cur.take_while(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        let name_span = 0..name.len();
        if cur.peek() == Some(':') && !name.is_empty() {
            cur.pos += 1;
            return self.metadata(n, name, name_span, cur);
        }
        if name.is_empty() || !matches!(cur.peek(), None | Some(' ')) {
            let word = text.split(' ').next().unwrap_or("");
            self.discard_block(n);
            return self.error(n, unknown_directive(word, 0..word.len()));
        }
        match name {
            "connect" | "send" | "sleep" | "shutdown" | "close" | "response" | "closed"
            | "open" | "interim" => {
                let name = STEPS.iter().find(|s| **s == name).expect("a step");
                self.step(n, name, name_span, &mut cur);
            }
            "no" => self.negated(n, &mut cur),
            "or" => match cur.word() {
                Some((_, "closed")) => self.check(n, false, "or closed", 0..cur.pos, &mut cur),
                _ => self.error(
                    n,
                    Fault::new(0..cur.pos, "expected `or closed`")
                        .help("usage: `or closed` under a `response`: a close instead of an answer is allowed"),
                ),
            },
            "non-strict" => self.non_strict(n, &mut cur),
            _ => match CHECKS.iter().find(|c| **c == name) {
                Some(check) => self.check(n, false, check, name_span, &mut cur),
                None => {
                    self.discard_block(n);
                    self.error(n, unknown_directive(name, name_span))
                }
            },
        }
    }

    /// `no response`, `no header`, `no body`: the word after `no` says which.
    fn negated(&mut self, n: usize, cur: &mut Cursor<'a>) {
        match cur.word() {
            Some((_, "response")) => self.step(n, "no response", 0..cur.pos, cur),
            Some((_, "header")) => self.check(n, false, "no header", 0..cur.pos, cur),
            Some((_, "body")) => self.check(n, false, "no body", 0..cur.pos, cur),
            _ => {
                self.discard_block(n);
                self.error(
                    n,
                    Fault::new(0..cur.pos, "expected `no response`, `no header` or `no body`")
                        .help("usage: `no response [@c] for D`, `no header NAME` or `no body contains \"TEXT\"`"),
                )
            }
        }
    }

    /// `non-strict CHECK ...`: any check but `form`, whose miss makes the case non-strict.
    fn non_strict(&mut self, n: usize, cur: &mut Cursor<'a>) {
        let Some((start, word)) = cur.word() else {
            let fault = Fault::new(cur.here(), "`non-strict` must be followed by a check")
                .help(format!("expected one of: {}", CHECKS.join(", ")));
            return self.error(n, fault);
        };
        let negated = cur.peek_word().map(|w| w.1);
        let check = if word == "no" && matches!(negated, Some("header" | "body")) {
            cur.word();
            if negated == Some("header") {
                "no header"
            } else {
                "no body"
            }
        } else if word == "form" {
            let fault = Fault::new(start..start + word.len(), "`form` cannot be non-strict")
                .help("a form defect is already non-strict; `form RULE` makes it fail this case");
            return self.error(n, fault);
        } else {
            match CHECKS.iter().find(|c| **c == word) {
                Some(c) => *c,
                None => {
                    let mut help = format!("expected one of: {}", CHECKS.join(", "));
                    if let Some(s) = did_you_mean(word, CHECKS) {
                        help.push_str(&format!(" (did you mean `{s}`?)"));
                    }
                    let fault = Fault::new(
                        start..start + word.len(),
                        format!("`non-strict` must be followed by a check, found `{word}`"),
                    );
                    self.discard_block(n);
                    return self.error(n, fault.help(help));
                }
            }
        };
        self.check(n, true, check, start..cur.pos, cur);
    }

    fn metadata(
        &mut self,
        n: usize,
        name: &str,
        name_span: std::ops::Range<usize>,
        mut cur: Cursor<'a>,
    ) {
        let field = match self.metadata_field(n, name, name_span) {
            Some(field) => field,
            None => return,
        };
        cur.skip_spaces();
        let value_start = cur.pos;
        let value = cur.rest();
        if value.is_empty() {
            return self.error(
                n,
                Fault::new(cur.here(), format!("`{field}:` needs a value")).help(meta_help(field)),
            );
        }
        let result = self.field_value(field, value, value_start, &mut cur);
        if let Err(f) = result {
            let f = if f.help.is_none() {
                f.help(meta_help(field))
            } else {
                f
            };
            self.error(n, f);
        }
    }

    /// Reads the value of `field:` (it starts at byte `start` of the line) into the metadata.
    fn field_value(
        &mut self,
        field: &str,
        value: &str,
        start: usize,
        cur: &mut Cursor<'a>,
    ) -> Result<(), Fault> {
        let span = start..start + value.len();
        let invalid = |what: String| Err(Fault::new(span.clone(), what));
        let text = Some(value.to_string());
        match field {
            "title" => self.meta.title = text,
            "spec" => self.meta.spec = text,
            "hint" => self.meta.hint = text,
            "points" => match parse_decimal(value) {
                Some(p) => self.meta.points = Some(p),
                None => return invalid(format!("expected a non-negative number, found `{value}`")),
            },
            "tags" => return self.tags(value, start),
            "requires" => return self.requires(value, start),
            "timeout" => return self.timeout(cur),
            "level" => match parse_level(value) {
                Some(level) => self.meta.level = Some(level),
                None => {
                    return invalid(format!(
                        "expected `must`, `should` or `may`, found `{value}`"
                    ))
                }
            },
            "rule" if valid_rule(value) => self.meta.rule = text,
            "rule" => return invalid(format!("invalid rule name `{value}`")),
            "config" if valid_config(value) => self.meta.config = text,
            "config" => return invalid(format!("invalid configuration name `{value}`")),
            _ => unreachable!("all metadata fields are handled"),
        }
        Ok(())
    }

    /// The metadata field `name` names, if it is one, it comes before the steps and it is not
    /// set yet; else the fault is reported and `None` returned.
    fn metadata_field(
        &mut self,
        n: usize,
        name: &str,
        name_span: std::ops::Range<usize>,
    ) -> Option<&'static str> {
        let Some(&field) = METADATA.iter().find(|m| **m == name) else {
            let mut help = format!("metadata fields are: {}", METADATA.join(", "));
            if let Some(s) = did_you_mean(name, METADATA) {
                help.push_str(&format!(" (did you mean `{s}`?)"));
            } else if DIRECTIVES.contains(&name) {
                help = format!("`{name}` is a step or a check: write it without `:`");
            }
            let fault = Fault::new(name_span, format!("unknown metadata field `{name}`"));
            self.error(n, fault.help(help));
            return None;
        };
        if let Some(first) = self.first_step {
            let fault = Fault::new(name_span, "metadata must come before the first step").help(
                format!("move `{field}:` above line {first}, the first step"),
            );
            self.error(n, fault);
            return None;
        }
        if let Some(first) = self.seen.get(field) {
            let fault = Fault::new(name_span, format!("duplicate `{field}:`"))
                .help(format!("`{field}:` is already set on line {first}"));
            self.error(n, fault);
            return None;
        }
        self.seen.insert(field, n);
        Some(field)
    }

    fn tags(&mut self, value: &str, start: usize) -> Result<(), Fault> {
        let mut pos = start;
        for raw in value.split(',') {
            let lead = raw.len() - raw.trim_start().len();
            let tag = raw.trim();
            let at = pos + lead;
            if tag.is_empty() {
                return Err(Fault::new(at..at, "empty tag")
                    .help("tags are words separated by commas: `tags: errors, method`"));
            }
            if let Some(i) = tag.find(' ') {
                return Err(Fault::new(
                    at + i..at + i + 1,
                    format!("a tag cannot contain a space: `{tag}`"),
                )
                .help("tags are words separated by commas: `tags: errors, method`"));
            }
            self.meta.tags.push(tag.to_string());
            pos += raw.len() + 1;
        }
        Ok(())
    }

    fn timeout(&mut self, cur: &mut Cursor<'a>) -> Result<(), Fault> {
        let start = cur.pos;
        let d = duration::parse(cur)?;
        cur.expect_end("`timeout: D`, e.g. `timeout: 15s` or `timeout: {keepalive}s + 10s`")?;
        if duration::is_negative_constant(&d) {
            return Err(Fault::new(start..cur.pos, "the timeout is negative"));
        }
        self.meta.timeout = Some(d);
        Ok(())
    }

    /// `requires: type .json, method HEAD`: comma-separated requirements.
    fn requires(&mut self, value: &str, start: usize) -> Result<(), Fault> {
        let mut pos = start;
        for raw in value.split(',') {
            let lead = raw.len() - raw.trim_start().len();
            let at = pos + lead;
            let text = raw.trim();
            let req = Requirement::parse(text)
                .map_err(|e| Fault::new(at..at + text.len(), e).help(meta_help("requires")))?;
            self.meta.requires.push(req);
            pos += raw.len() + 1;
        }
        Ok(())
    }

    fn step(
        &mut self,
        n: usize,
        name: &'static str,
        name_span: std::ops::Range<usize>,
        cur: &mut Cursor<'a>,
    ) {
        self.first_step.get_or_insert(n);
        let index = self.steps.len();
        let result = steps::step(name, name_span, cur);
        let is_response = name == "response";
        match result {
            Ok(ParsedStep { conn, kind, raw }) => {
                let owner = match &kind {
                    StepKind::Send { .. } => Some(Owner::Send(index)),
                    StepKind::Open { .. } => Some(Owner::Probe(index)),
                    _ => None,
                };
                self.steps.push(Step {
                    line: n,
                    conn: conn.unwrap_or_else(|| DEFAULT_CONN.to_string()),
                    kind,
                });
                if let Some(owner) = owner {
                    self.block = Some(Block {
                        line: n,
                        owner,
                        raw,
                        bytes: Builder::default(),
                        count: 0,
                    });
                }
                self.last = if is_response {
                    Last::Response(index)
                } else {
                    Last::Step(n, name)
                };
            }
            Err(f) => {
                self.error(n, f);
                if matches!(name, "send" | "open") {
                    self.discard_block(n);
                }
                self.last = if is_response {
                    Last::FailedResponse
                } else {
                    Last::Step(n, name)
                };
            }
        }
    }
}

fn unknown_directive(word: &str, span: std::ops::Range<usize>) -> Fault {
    let mut help = format!("expected one of: {}", DIRECTIVES.join(", "));
    if METADATA.contains(&word) {
        help = format!("metadata is written with a colon: `{word}: VALUE`");
    } else if let Some(s) = did_you_mean(word, DIRECTIVES) {
        help.push_str(&format!(" (did you mean `{s}`?)"));
    }
    Fault::new(span, format!("unknown directive `{word}`")).help(help)
}

fn meta_help(field: &str) -> &'static str {
    match field {
        "title" => "e.g. `title: GRT is not a method: 400 Invalid Method`",
        "points" => "e.g. `points: 2` or `points: 0.5`",
        "tags" => "tags are words separated by commas: `tags: errors, method`",
        "spec" => "e.g. `spec: RFC 9112 section 9.3`",
        "timeout" => "e.g. `timeout: 15s` or `timeout: {keepalive}s + 10s`",
        "requires" => "e.g. `requires: type .json`, `requires: method HEAD, index index.htm`; also `no method M` and `planted`",
        "level" => "`level: must` (a miss fails), `level: should` (a miss is non-strict; fails with --strict) or `level: may` (informational: a miss is skip)",
        "config" => "a configuration name such as `default` or `broken`",
        "rule" => "a rule name of lower-case words joined by `-`, e.g. `rule: keep-alive`",
        "hint" => "one or two sentences telling a student what to change, e.g. `hint: Check the URL before looking for the file: a path that does not start with / gets 400 Invalid URL.`",
        _ => "",
    }
}

fn parse_level(value: &str) -> Option<Level> {
    match value {
        "must" => Some(Level::Must),
        "should" => Some(Level::Should),
        "may" => Some(Level::May),
        _ => None,
    }
}

/// Lower-case words joined by `-`.
fn valid_rule(value: &str) -> bool {
    value
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn valid_config(value: &str) -> bool {
    value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

/// `12` or `0.5`: digits with an optional fraction, nothing else.
fn parse_decimal(s: &str) -> Option<f64> {
    let (int, frac) = s.split_once('.').unwrap_or((s, "0"));
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || !digits(frac) {
        return None;
    }
    s.parse::<f64>().ok().filter(|f| f.is_finite())
}

impl<'a> Parser<'a> {
    fn check(
        &mut self,
        n: usize,
        non_strict: bool,
        name: &'static str,
        name_span: std::ops::Range<usize>,
        cur: &mut Cursor<'a>,
    ) {
        let target = match self.last {
            Last::Response(i) => Some(i),
            Last::FailedResponse => None,
            Last::Nothing => {
                let fault = Fault::new(name_span, "a check must follow a `response` step").help(
                    "add a `response` line above it: checks apply to the response read there",
                );
                self.error(n, fault);
                self.discard_block(n);
                return;
            }
            Last::Step(line, step) => {
                let fault = Fault::new(name_span, "a check must follow a `response` step").help(format!(
                    "checks come right after their `response`, before the next step (line {line} is `{step}`)"
                ));
                self.error(n, fault);
                self.discard_block(n);
                return;
            }
        };
        match (steps::check(name, name_span, cur), target) {
            (Ok(ParsedCheck { kind, block }), Some(step)) => {
                let StepKind::Response { checks, .. } = &mut self.steps[step].kind else {
                    unreachable!("Last::Response points at a response step")
                };
                checks.push(Check {
                    line: n,
                    non_strict,
                    kind,
                });
                if let Some(raw) = block {
                    let owner = Owner::BodyIs {
                        step,
                        check: checks.len() - 1,
                    };
                    self.block = Some(Block {
                        line: n,
                        owner,
                        raw,
                        bytes: Builder::default(),
                        count: 0,
                    });
                }
            }
            (Ok(ParsedCheck { block, .. }), None) => {
                if block.is_some() {
                    self.discard_block(n);
                }
            }
            (Err(f), _) => {
                self.error(n, f);
                self.discard_block(n);
            }
        }
    }

    fn finish(mut self, id: &str) -> Result<Case, Vec<Diagnostic>> {
        if !self.seen.contains_key("title") {
            self.error(
                1,
                Fault::new(0..0, "missing `title:`")
                    .help("every case starts with `title: what it checks`"),
            );
        } else if self.steps.is_empty() && self.first_step.is_none() {
            let last = self.texts.len().max(1);
            let end = self.texts.last().map_or(0, |t| t.len());
            self.error(
                last,
                Fault::new(end..end, "the case has no steps").help(
                    "add steps after the metadata, e.g. `send` with a `|` block and `response`",
                ),
            );
        }
        if !self.diags.is_empty() {
            self.diags.sort_by_key(|d| (d.line, d.col));
            return Err(self.diags);
        }
        let meta = self.meta;
        Ok(Case {
            id: id.to_string(),
            path: self.path.to_path_buf(),
            title: meta.title.unwrap_or_default(),
            points: meta.points.unwrap_or(1.0),
            tags: meta.tags,
            spec: meta.spec,
            rule: meta.rule,
            hint: meta.hint,
            timeout: meta
                .timeout
                .unwrap_or_else(|| DurationExpr::from_duration(DEFAULT_TIMEOUT)),
            level: meta.level.unwrap_or(Level::Must),
            config: meta.config.unwrap_or_else(|| "default".to_string()),
            requires: meta.requires,
            steps: self.steps,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals() {
        assert_eq!(parse_decimal("2"), Some(2.0));
        assert_eq!(parse_decimal("0.5"), Some(0.5));
        for bad in ["", ".5", "5.", "-1", "1e3", "inf", "1.2.3", " 1"] {
            assert_eq!(parse_decimal(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn every_directive_is_a_step_a_check_or_non_strict() {
        // `or closed` goes under a `response` like a check, but `non-strict` cannot prefix it.
        for d in DIRECTIVES {
            assert!(
                STEPS.contains(d) || CHECKS.contains(d) || ["non-strict", "or closed"].contains(d),
                "{d}"
            );
        }
        assert_eq!(DIRECTIVES.len(), STEPS.len() + CHECKS.len() + 2);
    }

    #[test]
    fn a_block_belongs_to_the_step_it_follows() {
        let c = parse_case(
            "title: t\nsend @a\n| x\nopen @a for 1s\n| y\n",
            Path::new("t.case"),
            "t",
        )
        .unwrap();
        assert_eq!(
            c.steps[0].kind,
            StepKind::Send {
                data: Template::literal("x\r\n"),
                split: None,
                delay: DurationExpr::from_duration(Duration::from_millis(100))
            }
        );
        assert_eq!(
            c.steps[1].kind,
            StepKind::Open {
                for_: "1s".parse().unwrap(),
                probe: Some(Template::literal("y\r\n"))
            }
        );
    }
}
