//! Which rule of RFC 9110/9112 each form defect of a response breaks, so that every defect
//! message names its section: "head uses bare LF line ends (RFC 9112 §2.2: ...)".
//!
//! The parser (`response.rs`) names defects in plain words; [`cite`] appends the section when
//! the verdict is written, so the parser's wording and this table change independently.

/// A defect's leading words (or words it contains), and the rule it breaks.
const RULES: &[(&str, &str)] = &[
    (
        "before the status line",
        "RFC 9112 §2.1: a message starts with its start-line",
    ),
    (
        "version ",
        "RFC 9110 §2.5: a server sends HTTP/1.x with the major version it was asked in",
    ),
    (
        "no space after the status code",
        "RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ]",
    ),
    (
        "bare LF",
        "RFC 9112 §2.2: a sender generates CRLF line ends",
    ),
    (
        "obsolete line folding",
        "RFC 9112 §5.2: a sender MUST NOT generate obs-fold",
    ),
    (
        "header line without a colon",
        "RFC 9112 §5: field-line = field-name \":\" OWS field-value OWS",
    ),
    (
        "whitespace around the header name",
        "RFC 9112 §5.1: no whitespace is allowed between the field name and colon",
    ),
    (
        "both Transfer-Encoding",
        "RFC 9112 §6.2: a sender MUST NOT send Content-Length in a message with Transfer-Encoding",
    ),
    (
        "Transfer-Encoding \"",
        "RFC 9112 §6.3: chunked must be the final transfer coding",
    ),
    (
        "Content-Length \"",
        "RFC 9110 §8.6: Content-Length = 1*DIGIT",
    ),
    (
        "conflicting Content-Length",
        "RFC 9110 §8.6 and RFC 9112 §6.3: differing Content-Length values are an error",
    ),
    (
        "bytes arrived before close",
        "RFC 9112 §6.3: fewer bytes than Content-Length is an incomplete message",
    ),
    (
        "no Content-Length",
        "RFC 9112 §6.3: a close-delimited body; the length was not announced",
    ),
    (
        "reset (RST)",
        "RFC 9112 §9.6: a server closes gracefully, not with a reset",
    ),
    (
        "after a response that has no body",
        "RFC 9110 §9.3.2 and §15: HEAD, 1xx, 204 and 304 responses have no content",
    ),
    (
        "an unrequested response",
        "RFC 9112 §9.3: a server sends one response to each request, in order",
    ),
    (
        "more bytes",
        "RFC 9110 §8.6: Content-Length is the length of the content",
    ),
    (
        "extra bytes",
        "RFC 9112 §6.3: the body ends where its framing says",
    ),
];

/// Defects that break the assignment's rules but no rule of RFC 9110/9112 (a close-delimited
/// body is valid HTTP/1.1, RFC 9112 §6.3). Cases tagged `rfc` are judged by the RFCs alone, so
/// these are not defects there.
const NOT_RFC: &[&str] = &[
    "no Content-Length (and no Connection: close): body read until close",
    "no reason phrase",
];

/// Whether this defect counts for a case with these tags.
pub fn counts_for(tags: &[String], defect: &str) -> bool {
    !(tags.iter().any(|t| t == "rfc") && NOT_RFC.iter().any(|d| defect.starts_with(d)))
}

/// Defects that break a MUST of the RFCs outright: in cases tagged `rfc` they fail the case
/// instead of making it non-strict: content after a HEAD, 1xx, 204 or 304 response (RFC 9110
/// §9.3.2 "the server MUST NOT send content in the response"), a response nobody asked for,
/// and more bytes than the Content-Length (both unreadable as the next message, RFC 9112 §6.3).
/// (A status line without the space after its code is graded by the `response/status-line*`
/// cases, `form status-line`.)
const RFC_FAILS: &[&str] = &[
    "after a response that has no body",
    "an unrequested response",
    "more bytes (",
];

/// Whether this defect fails (rather than makes non-strict) a case with these tags.
pub fn fails_for(tags: &[String], defect: &str) -> bool {
    tags.iter().any(|t| t == "rfc") && RFC_FAILS.iter().any(|d| defect.contains(d))
}

/// The defect with the section it breaks appended, when one is known and not already named.
pub fn cite(defect: &str) -> String {
    if defect.contains("(RFC ") {
        return defect.to_string();
    }
    match RULES.iter().find(|(words, _)| defect.contains(words)) {
        Some((_, rule)) => format!("{defect} ({rule})"),
        None => defect.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defects_name_their_section() {
        assert_eq!(
            cite("head uses bare LF line ends"),
            "head uses bare LF line ends (RFC 9112 §2.2: a sender generates CRLF line ends)"
        );
        assert!(cite("no space after the status code").contains("RFC 9112 §4"));
        assert!(cite("version HTTP/2.1 is not HTTP/1.0 or HTTP/1.1").contains("RFC 9110 §2.5"));
        assert!(
            cite("4 bytes (text: \"body\") after a response that has no body")
                .contains("RFC 9110 §9.3.2")
        );
        assert!(
            cite("conflicting Content-Length headers (1, 2): body read until close")
                .contains("RFC 9110 §8.6")
        );
    }

    #[test]
    fn a_close_delimited_body_is_a_defect_for_the_assignment_only() {
        let d = "no Content-Length (and no Connection: close): body read until close";
        assert!(counts_for(&["keepalive".to_string()], d));
        assert!(!counts_for(&["rfc".to_string()], d));
        assert!(!counts_for(&["rfc".to_string()], "no reason phrase"));
        assert!(counts_for(
            &["rfc".to_string()],
            "head uses bare LF line ends"
        ));
    }

    #[test]
    fn bytes_nobody_asked_for_fail_rfc_cases_only() {
        let rfc = ["rfc".to_string()];
        let other = ["keepalive".to_string()];
        for d in [
            "an unrequested response followed it before anything more was sent (9 bytes: \"HTTP/1.1 \")",
            "Content-Length 5 but 4 more bytes (text: \"tail\") followed the body",
        ] {
            assert!(fails_for(&rfc, d), "{d}");
            assert!(!fails_for(&other, d), "{d}");
        }
        assert!(!fails_for(&rfc, "no space after the status code"));
    }

    #[test]
    fn content_after_head_fails_rfc_cases_only() {
        let d = "4 bytes (text: \"body\") after a response that has no body";
        assert!(fails_for(&["rfc".to_string()], d));
        assert!(!fails_for(&["head".to_string()], d));
        assert!(!fails_for(
            &["rfc".to_string()],
            "head uses bare LF line ends"
        ));
    }

    #[test]
    fn unknown_or_cited_defects_are_left_alone() {
        assert_eq!(cite("something new"), "something new");
        let once = cite("obsolete line folding in the head");
        assert_eq!(cite(&once), once);
    }
}
