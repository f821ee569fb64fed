//! Getting one submission ready to grade: its plan ([`detect`](super::detect)), a private copy,
//! the build (with the committed executable as the fallback when it fails), and the
//! [`StartSpec`] its server starts with, plus notes that say, for its report, what was detected
//! and done.

use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

use super::build;
use super::detect::{self, Plan};
use super::ClassSpec;
use crate::start::StartSpec;

/// A submission ready to start: the spec, the private copy it lives in (removed on drop) and
/// what was detected and done.
#[derive(Debug)]
pub struct Prepared {
    pub start: StartSpec,
    pub notes: Vec<String>,
    pub _work: tempfile::TempDir,
}

/// Why a submission could not be made ready, with the notes gathered so far.
#[derive(Debug)]
pub struct NotReady {
    pub why: String,
    pub notes: Vec<String>,
}

/// The plan for the submission in `dir` under the class's options.
pub fn plan(dir: &Path, spec: &ClassSpec) -> Plan {
    detect::detect(dir, spec.start.as_deref(), spec.build.as_deref())
}

/// Copies, builds and plans the start of the submission `name` in `dir`.
pub fn prepare(name: &str, dir: &Path, spec: &ClassSpec) -> Result<Prepared, NotReady> {
    let plan = plan(dir, spec);
    let mut notes = vec![format!("plan: {plan}")];
    let fail = |why: String, notes: &[String]| NotReady {
        why,
        notes: notes.to_vec(),
    };
    if !plan.can_start() {
        return Err(fail(
            format!(
                "no start command: nothing to start was found (no {0} file, no Makefile, no C, \
                 C++, Java or Python server, no executable); write one in {0} or pass --start",
                dir.join(detect::START_FILE).display()
            ),
            &notes,
        ));
    }
    let work = tempfile::Builder::new()
        .prefix("harness-build-")
        .tempdir()
        .map_err(|e| fail(format!("cannot make a temp folder: {e}"), &notes))?;
    let copy = work.path().join(name);
    copy_tree(dir, &copy)
        .map_err(|e| fail(format!("cannot copy {}: {e}", dir.display()), &notes))?;

    // A second before, so that a file written in the same second as the start still counts.
    let built_at = SystemTime::now() - Duration::from_secs(1);
    let mut use_fallback = false;
    if let Some(b) = &plan.build {
        match build::build(&b.command, &copy, spec.build_timeout) {
            Ok(_) => notes.push(format!("built with `{}`", b.command)),
            Err(e) => match &plan.fallback {
                Some(fb) if plan.start.is_some() => {
                    notes.push(format!(
                        "the build failed, so {} is started instead: {}",
                        fb.why,
                        build_summary(&e.to_string())
                    ));
                    restore(dir, &copy, &plan);
                    use_fallback = true;
                }
                _ => return Err(fail(e.to_string(), &notes)),
            },
        }
    }
    let step = if use_fallback {
        plan.fallback.clone().expect("checked above")
    } else {
        plan.start_command(&copy, built_at)
            .map_err(|why| fail(why, &notes))?
    };
    notes.push(format!("started with `{}` ({})", step.command, step.why));
    let start = StartSpec {
        command: step.command,
        dir: copy,
        site: spec.site.clone(),
        config_mode: spec.config_mode,
        config_file: plan.config_file(),
        keepalive: spec.keepalive,
        ready_timeout: spec.ready_timeout,
        grace: Duration::from_secs(2),
    };
    Ok(Prepared {
        start,
        notes,
        _work: work,
    })
}

/// Puts the committed executables back as the class folder has them (a failed build may have
/// removed or half-written them).
fn restore(dir: &Path, copy: &Path, plan: &Plan) {
    if let Some(rel) = &plan.committed {
        let _ = fs::copy(dir.join(rel), copy.join(rel));
    }
}

/// The useful end of a build error: its first line, and the last line of its output that
/// names an error (else its last line).
pub fn build_summary(message: &str) -> String {
    let mut lines = message.lines();
    let head = lines.next().unwrap_or("").trim_end_matches(':').to_string();
    let head = head
        .split("; its last output")
        .next()
        .and_then(|h| h.split("; last output").next())
        .unwrap_or(&head)
        .to_string();
    let rest: Vec<&str> = lines
        .map(|l| l.trim().trim_start_matches('|').trim())
        .filter(|l| !l.is_empty())
        .collect();
    let lower: Vec<String> = rest.iter().map(|l| l.to_lowercase()).collect();
    let key = lower
        .iter()
        .position(|l| l.contains("error:") || l.contains("undefined reference"))
        .or_else(|| {
            lower
                .iter()
                .rposition(|l| l.contains("error") || l.contains("no such file"))
        })
        .map(|i| rest[i])
        .or(rest.last().copied());
    match key {
        Some(k) => format!("{head}: {k}"),
        None => head,
    }
}

/// Copies a folder recursively, leaving out `.git` and `target`, keeping permissions. A link to
/// a file is copied as the file; a link to a folder is left out (it could loop, or lead out of
/// the submission).
pub fn copy_tree(src: &Path, dst: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dst)?;
    for entry in fs::read_dir(src)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == ".git" || name == "target" {
            continue;
        }
        let from = entry.path();
        let to = dst.join(&name);
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_tree(&from, &to)?;
        } else if kind.is_file() || (kind.is_symlink() && from.is_file()) {
            fs::copy(&from, &to)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_summary_keeps_the_error_line() {
        let msg = "the build `make -B` failed (exit status: 2); its last output:\n\
                   gcc -o ws ws.c\n\
                   ws.c:3:1: error: expected ';' before '}' token\n\
                   make: *** [Makefile:2: ws] Error 1\n";
        assert_eq!(
            build_summary(msg),
            "the build `make -B` failed (exit status: 2): ws.c:3:1: error: expected ';' before '}' token"
        );
        let msg = "the build `x` failed (exit status: 1); its last output:\nws.c:3:1: error: bad\nlinking\n";
        assert_eq!(
            build_summary(msg),
            "the build `x` failed (exit status: 1): ws.c:3:1: error: bad"
        );
    }
}
