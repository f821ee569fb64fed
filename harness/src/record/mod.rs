//! `harness record`: a case made by doing it. A request (raw bytes, or text typed like a
//! telnet session) is sent to a server, and what came back is written as a `.case` that
//! expects it: the status, the headers that matter, the body (`body file` when it is a file of
//! the site) and the connection's fate.
//!
//! - [`input`]: the request's bytes and the `send` block that sends them.
//! - [`capture`]: sending it and reading the response and the fate, with `exec`'s reader.
//! - [`site`]: the file of the site a body equals.
//! - [`write`]: the case's text.

pub mod capture;
pub mod input;
pub mod site;
pub mod write;

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::bail;

pub use capture::{Capture, Fate, Settings};
pub use input::{LineEnds, Request};
pub use write::Meta;

/// A recorded case: its text, and what the user should know about it.
#[derive(Debug)]
pub struct Recorded {
    pub text: String,
    pub warnings: Vec<String>,
}

/// Sends `request` as `settings` say and writes the case that expects what came back, its
/// body compared with the files of `www`.
pub fn record(
    request: &Request,
    settings: &Settings,
    www: &Path,
    meta: &Meta,
) -> anyhow::Result<Recorded> {
    let mut warnings = Vec::new();
    if !request.head_ends() {
        warnings.push(
            "the request's head has no empty line at its end: a server waits for the rest \
             (end the input with an empty line)"
                .to_string(),
        );
    }
    let head = request.method() == b"HEAD";
    let capture = capture::capture(&request.bytes, head, settings)?;
    let body_file = capture.response.as_ref().and_then(|r| {
        let whole = r.unfinished.is_none() && !r.body.is_empty();
        whole
            .then(|| site::find(www, request.target(), &r.body))
            .flatten()
    });
    let recording = write::Recording {
        target: &settings.target,
        request,
        capture: &capture,
        body_file,
        meta,
    };
    let (text, more) = write::case_text(&recording);
    warnings.extend(more);
    validate(&text)?;
    Ok(Recorded { text, warnings })
}

/// The metadata of a case recorded now.
pub fn meta(title: Option<String>, points: f64, tags: Vec<String>) -> Meta {
    Meta {
        title,
        points,
        tags,
        recorded_at: SystemTime::now(),
    }
}

/// Checks that the written case is valid, as `harness check` would.
fn validate(text: &str) -> anyhow::Result<()> {
    let path = PathBuf::from("recorded.case");
    match crate::case::parse_case(text, &path, "recorded") {
        Ok(_) => Ok(()),
        Err(diags) => {
            let shown: Vec<String> = diags.iter().map(|d| d.to_string()).collect();
            bail!(
                "the recorded case is not valid (a bug of `harness record`; please report it \
                 with the request):\n{}\n{text}",
                shown.join("\n")
            )
        }
    }
}
