//! A response that did not finish in time: judged as far as it arrived (a whole head whose body
//! never ended), or described for a timeout message (what is missing).

use super::head::scan_head;
use super::{excerpt, is_junk, junk_kind, parse_response, Framing, Parsed, Response};
use crate::form::{Defect, FormRule};
use crate::outcome::escape_bytes;

/// The response as far as it arrived, for a server that sent a whole head but never the end of
/// its body (no length and the connection left open, fewer bytes than its Content-Length, a
/// chunked body that stops) by the time the case stopped waiting. The status and headers can
/// still be judged; `unfinished` says what is missing, so checks on the body fail with the
/// reason, and a `framing` defect records the problem once. `None` while the head is incomplete.
pub fn read_what_arrived(buf: &[u8], head_request: bool) -> Option<Response> {
    let lead = buf.iter().take_while(|&&b| is_junk(b)).count();
    let head = scan_head(&buf[lead..])?;
    let missing = describe_incomplete(buf, head_request);
    let mut response = match parse_response(buf, true, head_request) {
        Parsed::Complete { mut response, .. } => {
            response.defects.retain(|d| {
                !(d.text.starts_with("no Content-Length")
                    || d.text.contains("bytes arrived before close"))
            });
            response
        }
        Parsed::Malformed { .. } | Parsed::Incomplete => {
            // A chunked body that stops: read the head alone, keep the raw bytes after it.
            let Parsed::Complete { mut response, .. } =
                parse_response(&buf[..lead + head.len], true, true)
            else {
                return None;
            };
            response.framing = Framing::Chunked;
            response.body = buf[lead + head.len..].to_vec();
            response
        }
    };
    let rule = match response.framing {
        Framing::ContentLength(_) => FormRule::ContentLength,
        _ => FormRule::Framing,
    };
    response.defects.push(Defect::new(
        rule,
        format!("the body never ended: {missing}"),
    ));
    response.unfinished = Some(missing);
    Some(response)
}

/// Says what is missing from an incomplete response, for a timeout message: "nothing arrived",
/// "the head is not complete", "only 512 of the 1024 body bytes", ...
pub fn describe_incomplete(buf: &[u8], head_request: bool) -> String {
    if buf.is_empty() {
        return "nothing arrived".to_string();
    }
    let lead = buf.iter().take_while(|&&b| is_junk(b)).count();
    let rest = &buf[lead..];
    if rest.is_empty() {
        return format!("only {} bytes ({}) arrived", buf.len(), junk_kind(buf));
    }
    let Some(head) = scan_head(rest) else {
        return format!(
            "{} bytes arrived but the head is not complete: \"{}\"",
            buf.len(),
            excerpt(rest, 200)
        );
    };
    let status = escape_bytes(head.lines[0]);
    let have = rest.len() - head.len;
    // Parse as if closed now, to learn the framing.
    match parse_response(buf, true, head_request) {
        Parsed::Complete { response, .. } => match response.framing {
            Framing::ContentLength(n) => format!(
                "the head arrived (\"{status}\") but only {have} of the {n} body bytes"
            ),
            Framing::Close => format!(
                "the head arrived (\"{status}\") with no Content-Length, and the connection stayed \
                 open: the body's end cannot be found ({have} body bytes so far)"
            ),
            _ => format!("the head arrived (\"{status}\"), then {have} bytes"),
        },
        Parsed::Malformed { why } if why.contains("in the middle of the chunked body") => format!(
            "the head arrived (\"{status}\") but the chunked body is not complete ({have} bytes of it so far)"
        ),
        Parsed::Malformed { why } => format!("the head arrived (\"{status}\"), but {why}"),
        Parsed::Incomplete => format!("the head arrived (\"{status}\")"),
    }
}
