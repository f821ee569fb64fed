//! Conditional requests (RFC 9110 §13): the entity tag this server gives a file, the
//! `If-Match` and `If-None-Match` fields of a request, and what they make of an answer that
//! would otherwise be `200` with that file (§13.2.2: If-Match first, then If-None-Match).
//!
//! Pure: bytes and numbers in, values out. The tag is formatted on the stack, and a request
//! without these fields costs two flag tests; their values are kept in buffers that a
//! connection reuses for all its requests.
//!
//! A field value that is not `"*" / #entity-tag` (a bare word, an unclosed quote, `*` inside
//! a list, a lowercase `w/`) names no tag, so nothing matches it: `If-Match` is then false
//! (`412`: the method stays unperformed when the client's guard cannot be checked, RFC 9110
//! §13.1.1 "MUST NOT perform the requested method if the condition evaluates to false"), and
//! `If-None-Match` true (the file is served, as if the field were absent). RFC 9110 says
//! nothing of invalid values of these two fields (unlike the dates', which §13.1.3 says to
//! ignore), and §2.4 lets a recipient "attempt to recover a usable protocol element from an
//! invalid construct"; this recovery never performs a guarded method and never withholds
//! content, and it is what nginx and Apache answer to a value whose tags they cannot read.
//! The value is judged whole: `"<current>", junk` is invalid too, not a match.

use std::os::unix::fs::MetadataExt;

/// A file's entity tag, strong (RFC 9110 §8.8.3): `"<mtime s>.<mtime ns>-<size>"`, the
/// numbers in hex. nginx sends `"<mtime s>-<size>"`; the nanoseconds are here so that a file
/// rewritten within the same second at the same size still gets a new tag, as a strong
/// validator must (§8.8.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ETag {
    buf: [u8; ETAG_MAX],
    len: u8,
}

/// Two quotes, 16 hex digits of seconds, `.`, 8 of nanoseconds, `-`, 16 of size.
const ETAG_MAX: usize = 2 + 16 + 1 + 8 + 1 + 16;

impl ETag {
    /// The tag of the file `meta` describes (no system call: the fields of its stat).
    pub fn of(meta: &std::fs::Metadata) -> ETag {
        ETag::new(meta.mtime(), meta.mtime_nsec(), meta.size())
    }

    /// The tag of a file modified at `secs`.`nanos` (since the epoch), of `size` bytes.
    pub fn new(secs: i64, nanos: i64, size: u64) -> ETag {
        let mut tag = ETag {
            buf: [0; ETAG_MAX],
            len: 0,
        };
        tag.push(b'"');
        tag.hex(secs as u64);
        tag.push(b'.');
        tag.hex(nanos as u32 as u64);
        tag.push(b'-');
        tag.hex(size);
        tag.push(b'"');
        tag
    }

    /// The field value, quotes included: `"6571a2b3.1dcd6500-6df"`.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.opaque()).expect("ASCII")
    }

    /// The opaque-tag (quotes included), what comparisons look at.
    fn opaque(&self) -> &[u8] {
        &self.buf[..self.len as usize]
    }

    fn push(&mut self, b: u8) {
        self.buf[self.len as usize] = b;
        self.len += 1;
    }

    fn hex(&mut self, n: u64) {
        let digits = (64 - n.leading_zeros()).div_ceil(4).max(1);
        for i in (0..digits).rev() {
            self.push(b"0123456789abcdef"[(n >> (4 * i)) as usize & 0xf]);
        }
    }
}

/// One entity tag as a client sent it (RFC 9110 §8.8.3): `[ "W/" ] DQUOTE *etagc DQUOTE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag<'a> {
    /// `W/` before it: a weak validator.
    pub weak: bool,
    /// The opaque-tag, quotes included.
    pub opaque: &'a [u8],
}

/// The entity tag at the start of `b`, and the bytes after it; `None` when `b` does not start
/// with one. `W/` is case-sensitive (`%s"W/"`); inside the quotes any visible byte but `"`,
/// and obs-text (`etagc = %x21 / %x23-7E / obs-text`): no whitespace, no escapes.
pub fn entity_tag(b: &[u8]) -> Option<(Tag<'_>, &[u8])> {
    let (weak, tag) = match b.strip_prefix(b"W/") {
        Some(rest) => (true, rest),
        None => (false, b),
    };
    let inside = tag.strip_prefix(b"\"")?;
    let n = inside.iter().take_while(|&&c| is_etagc(c)).count();
    if inside.get(n) != Some(&b'"') {
        return None;
    }
    let opaque = &tag[..n + 2];
    Some((Tag { weak, opaque }, &tag[n + 2..]))
}

fn is_etagc(c: u8) -> bool {
    c == 0x21 || (0x23..=0x7e).contains(&c) || c >= 0x80
}

/// How two entity tags are compared (RFC 9110 §8.8.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// Neither weak, and the same opaque-tag (If-Match, §13.1.1).
    Strong,
    /// The same opaque-tag, weak or not (If-None-Match, §13.1.2).
    Weak,
}

impl Comparison {
    /// Whether `tag` matches `current`, the opaque-tag of a strong tag.
    fn matches(self, tag: Tag, current: &[u8]) -> bool {
        tag.opaque == current && (self == Comparison::Weak || !tag.weak)
    }
}

/// Whether an If-Match or If-None-Match field value names `current` (the opaque-tag of a
/// current, strong tag; `*` names any), compared as `cmp` says. `None` when the value is not
/// `"*" / #entity-tag`: a comma-separated list (RFC 9110 §5.6.1) whose elements are entity
/// tags, with optional whitespace around the commas and empty elements allowed (so an empty
/// value is an empty list, naming nothing).
pub fn names(value: &[u8], current: &[u8], cmp: Comparison) -> Option<bool> {
    let mut rest = trim(value);
    if rest == b"*" {
        return Some(true);
    }
    let mut found = false;
    loop {
        while let Some(after) = rest.strip_prefix(b",") {
            rest = ows(after);
        }
        if rest.is_empty() {
            return Some(found);
        }
        let (tag, after) = entity_tag(rest)?;
        found |= cmp.matches(tag, current);
        rest = ows(after);
        if !rest.is_empty() && rest[0] != b',' {
            return None;
        }
    }
}

/// `b` without the spaces and tabs it starts with (OWS).
fn ows(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|&&c| c == b' ' || c == b'\t').count();
    &b[n..]
}

/// `b` without the spaces and tabs it starts or ends with.
fn trim(b: &[u8]) -> &[u8] {
    let b = ows(b);
    let n = b
        .iter()
        .rev()
        .take_while(|&&c| c == b' ' || c == b'\t')
        .count();
    &b[..b.len() - n]
}

/// What the preconditions make of an answer that would otherwise be `200` with a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Serve the file.
    Perform,
    /// `304 Not Modified`: If-None-Match names the file's tag, on GET or HEAD.
    NotModified,
    /// `412 Precondition Failed`, with why.
    Failed(&'static str),
}

/// The conditional fields of a request: `If-Match` and `If-None-Match`, each its field lines'
/// values joined into one list (RFC 9110 §5.3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preconditions {
    if_match: Field,
    if_none_match: Field,
}

impl Preconditions {
    /// None, for the next request (keeping the buffers).
    pub fn clear(&mut self) {
        self.if_match.clear();
        self.if_none_match.clear();
    }

    /// Takes the field line `name: value` if it is one of these fields; `false` if it is not.
    pub fn add(&mut self, name: &[u8], value: &[u8]) -> bool {
        let field = if name.eq_ignore_ascii_case(b"if-match") {
            &mut self.if_match
        } else if name.eq_ignore_ascii_case(b"if-none-match") {
            &mut self.if_none_match
        } else {
            return false;
        };
        field.add(value);
        true
    }

    /// What they make of serving the file whose tag is `current` (RFC 9110 §13.2.2, steps 1
    /// and 3; this server evaluates neither date condition nor Range). `get_or_head`: the
    /// method is GET or HEAD, which a false If-None-Match answers 304 (else 412).
    pub fn outcome(&self, current: &ETag, get_or_head: bool) -> Outcome {
        let current = current.opaque();
        if let Some(v) = self.if_match.value() {
            if names(v, current, Comparison::Strong) != Some(true) {
                return Outcome::Failed("If-Match names no current entity tag of");
            }
        }
        if let Some(v) = self.if_none_match.value() {
            if names(v, current, Comparison::Weak) == Some(true) {
                if get_or_head {
                    return Outcome::NotModified;
                }
                return Outcome::Failed("If-None-Match names the current entity tag of");
            }
        }
        Outcome::Perform
    }
}

/// One field's value, lines joined by commas; `present` even when empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Field {
    present: bool,
    value: Vec<u8>,
}

/// A field's buffer kept between requests up to this size (a larger one is freed).
const KEEP: usize = 1024;

impl Field {
    fn clear(&mut self) {
        self.present = false;
        if self.value.capacity() > KEEP {
            self.value = Vec::new();
        }
        self.value.clear();
    }

    fn add(&mut self, value: &[u8]) {
        if self.present {
            self.value.push(b',');
        }
        self.present = true;
        self.value.extend_from_slice(value);
    }

    fn value(&self) -> Option<&[u8]> {
        self.present.then_some(self.value.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rstest::rstest;

    const CUR: &[u8] = b"\"5f.0-1a\"";

    #[rstest]
    #[case::epoch(0, 0, 0, "\"0.0-0\"")]
    #[case::typical(0x6571a2b3, 500_000_000, 1759, "\"6571a2b3.1dcd6500-6df\"")]
    #[case::largest(
        i64::MAX,
        999_999_999,
        u64::MAX,
        "\"7fffffffffffffff.3b9ac9ff-ffffffffffffffff\""
    )]
    #[case::before_1970(-1, 0, 1, "\"ffffffffffffffff.0-1\"")]
    fn tags_of_files(#[case] s: i64, #[case] ns: i64, #[case] size: u64, #[case] tag: &str) {
        assert_eq!(ETag::new(s, ns, size).as_str(), tag);
    }

    #[test]
    fn each_of_time_nanoseconds_and_size_changes_the_tag() {
        let base = ETag::new(100, 5, 10);
        assert_ne!(base, ETag::new(101, 5, 10));
        assert_ne!(base, ETag::new(100, 6, 10));
        assert_ne!(base, ETag::new(100, 5, 11));
        // No two fields run together: "1.23-4" is not "12.3-4".
        assert_ne!(ETag::new(1, 0x23, 4), ETag::new(0x12, 3, 4));
    }

    #[test]
    fn a_files_tag_is_its_stat() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, b"12345").unwrap();
        let meta = std::fs::metadata(&f).unwrap();
        let tag = ETag::of(&meta);
        assert!(tag.as_str().ends_with("-5\""), "{}", tag.as_str());
        assert_eq!(tag, ETag::of(&std::fs::metadata(&f).unwrap()));
        let (parsed, rest) = entity_tag(tag.as_str().as_bytes()).unwrap();
        assert_eq!(
            (parsed.weak, parsed.opaque, rest),
            (false, tag.opaque(), &b""[..])
        );
    }

    #[rstest]
    #[case::strong("\"a\"", Some((false, "\"a\"", "")))]
    #[case::weak("W/\"a\" , x", Some((true, "\"a\"", " , x")))]
    #[case::empty_tag("\"\"", Some((false, "\"\"", "")))]
    #[case::comma_inside("\"a,b\"", Some((false, "\"a,b\"", "")))]
    #[case::obs_text("\"\u{e9}\"", Some((false, "\"\u{e9}\"", "")))]
    #[case::lowercase_weak("w/\"a\"", None)]
    #[case::unquoted("abc", None)]
    #[case::unclosed("\"abc", None)]
    #[case::space_inside("\"a b\"", None)]
    #[case::space_after_w("W/ \"a\"", None)]
    #[case::star("*", None)]
    #[case::nothing("", None)]
    fn entity_tags(#[case] input: &str, #[case] want: Option<(bool, &str, &str)>) {
        let got = entity_tag(input.as_bytes()).map(|(t, rest)| (t.weak, t.opaque, rest));
        let want = want.map(|(w, o, r)| (w, o.as_bytes(), r.as_bytes()));
        assert_eq!(got, want, "{input:?}");
    }

    #[rstest]
    #[case::star("*", Some(true), Some(true))]
    #[case::star_padded(" * ", Some(true), Some(true))]
    #[case::same("\"5f.0-1a\"", Some(true), Some(true))]
    #[case::other("\"no-such-etag\"", Some(false), Some(false))]
    #[case::weak_same("W/\"5f.0-1a\"", Some(false), Some(true))]
    #[case::in_list("\"x\", \"5f.0-1a\"", Some(true), Some(true))]
    #[case::list_tabs_no_space("\"x\"\t,\"5f.0-1a\"", Some(true), Some(true))]
    #[case::empty_elements(", ,\"x\",,", Some(false), Some(false))]
    #[case::empty_value("", Some(false), Some(false))]
    #[case::commas_only(" , ", Some(false), Some(false))]
    #[case::prefix_only("\"5f.0-1\"", Some(false), Some(false))]
    #[case::case_matters("\"5F.0-1A\"", Some(false), Some(false))]
    #[case::unquoted("5f.0-1a", None, None)]
    #[case::star_in_list("*, \"5f.0-1a\"", None, None)]
    #[case::two_stars("*,*", None, None)]
    #[case::no_comma("\"x\" \"5f.0-1a\"", None, None)]
    #[case::junk_after_match("\"5f.0-1a\", junk", None, None)]
    #[case::unclosed("\"5f.0-1a", None, None)]
    #[case::lowercase_weak("w/\"5f.0-1a\"", None, None)]
    fn lists(#[case] value: &str, #[case] strong: Option<bool>, #[case] weak: Option<bool>) {
        let v = value.as_bytes();
        assert_eq!(
            names(v, CUR, Comparison::Strong),
            strong,
            "strong {value:?}"
        );
        assert_eq!(names(v, CUR, Comparison::Weak), weak, "weak {value:?}");
    }

    /// Preconditions from `(name, value)` lines.
    fn pre(lines: &[(&str, &str)]) -> Preconditions {
        let mut p = Preconditions::default();
        for (n, v) in lines {
            p.add(n.as_bytes(), v.as_bytes());
        }
        p
    }

    const FAILED_IM: Outcome = Outcome::Failed("If-Match names no current entity tag of");
    const FAILED_INM: Outcome = Outcome::Failed("If-None-Match names the current entity tag of");

    #[rstest]
    #[case::none(&[], Outcome::Perform, Outcome::Perform)]
    #[case::other_fields(&[("X-If-Match", "\"x\""), ("Host", "a")], Outcome::Perform, Outcome::Perform)]
    #[case::im_star(&[("If-Match", "*")], Outcome::Perform, Outcome::Perform)]
    #[case::im_current(&[("if-match", "\"5f.0-1a\"")], Outcome::Perform, Outcome::Perform)]
    #[case::im_other(&[("If-Match", "\"no-such-etag\"")], FAILED_IM, FAILED_IM)]
    #[case::im_weak_current(&[("If-Match", "W/\"5f.0-1a\"")], FAILED_IM, FAILED_IM)]
    #[case::im_empty(&[("If-Match", "")], FAILED_IM, FAILED_IM)]
    #[case::im_invalid(&[("If-Match", "5f.0-1a")], FAILED_IM, FAILED_IM)]
    #[case::im_two_lines(&[("If-Match", "\"x\""), ("If-Match", "\"5f.0-1a\"")], Outcome::Perform, Outcome::Perform)]
    #[case::inm_star(&[("If-None-Match", "*")], Outcome::NotModified, FAILED_INM)]
    #[case::inm_current(&[("IF-NONE-MATCH", "\"5f.0-1a\"")], Outcome::NotModified, FAILED_INM)]
    #[case::inm_weak_current(&[("If-None-Match", "W/\"5f.0-1a\"")], Outcome::NotModified, FAILED_INM)]
    #[case::inm_other(&[("If-None-Match", "\"no-such-etag\"")], Outcome::Perform, Outcome::Perform)]
    #[case::inm_empty(&[("If-None-Match", "")], Outcome::Perform, Outcome::Perform)]
    #[case::inm_invalid(&[("If-None-Match", "5f.0-1a")], Outcome::Perform, Outcome::Perform)]
    #[case::inm_two_lines(&[("If-None-Match", "\"x\""), ("If-None-Match", "\"5f.0-1a\"")], Outcome::NotModified, FAILED_INM)]
    #[case::inm_star_twice(&[("If-None-Match", "*"), ("If-None-Match", "*")], Outcome::Perform, Outcome::Perform)]
    // §13.2.2: If-Match is evaluated first; a false one is 412 whatever If-None-Match says.
    #[case::im_first(&[("If-None-Match", "*"), ("If-Match", "\"x\"")], FAILED_IM, FAILED_IM)]
    #[case::both_true(&[("If-Match", "*"), ("If-None-Match", "\"x\"")], Outcome::Perform, Outcome::Perform)]
    #[case::im_true_inm_false(&[("If-Match", "*"), ("If-None-Match", "*")], Outcome::NotModified, FAILED_INM)]
    fn outcomes(
        #[case] lines: &[(&str, &str)],
        #[case] get_or_head: Outcome,
        #[case] other_method: Outcome,
    ) {
        let p = pre(lines);
        let current = ETag::new(0x5f, 0, 0x1a);
        assert_eq!(current.opaque(), CUR);
        assert_eq!(p.outcome(&current, true), get_or_head, "{lines:?}");
        assert_eq!(p.outcome(&current, false), other_method, "{lines:?}");
    }

    #[test]
    fn cleared_preconditions_are_none_and_large_buffers_are_freed() {
        let mut p = pre(&[("If-Match", "\"x\""), ("If-None-Match", "*")]);
        p.clear();
        assert_eq!(p, Preconditions::default());
        assert_eq!(p.outcome(&ETag::new(1, 2, 3), true), Outcome::Perform);
        let big = "\"a\",".repeat(KEEP);
        p.add(b"If-Match", big.as_bytes());
        p.clear();
        assert_eq!(p.if_match.value.capacity(), 0);
        p.add(b"If-Match", b"\"a\"");
        let cap = p.if_match.value.capacity();
        p.clear();
        assert_eq!(p.if_match.value.capacity(), cap, "a small buffer is kept");
    }

    proptest! {
        /// A list of well-formed tags, however spaced and padded with empty elements, is valid,
        /// and names the current tag exactly when one of its members is it (weakly: any
        /// `W/` ignored; strongly: only an unprefixed one).
        #[test]
        fn lists_of_tags(
            members in proptest::collection::vec(
                (any::<bool>(), prop_oneof![Just("5f.0-1a".to_string()), "[!#-~]{0,6}"]), 0..5),
            seps in proptest::collection::vec("[ \t]{0,2},[ \t]{0,2}(,[ \t]{0,2}){0,2}", 5),
        ) {
            let mut value = String::new();
            for (i, (weak, opaque)) in members.iter().enumerate() {
                if i > 0 {
                    value.push_str(&seps[i]);
                }
                value.push_str(if *weak { "W/\"" } else { "\"" });
                value.push_str(opaque);
                value.push('"');
            }
            let is_cur = |o: &String| format!("\"{o}\"").as_bytes() == CUR;
            let weak = members.iter().any(|(_, o)| is_cur(o));
            let strong = members.iter().any(|(w, o)| !w && is_cur(o));
            prop_assert_eq!(names(value.as_bytes(), CUR, Comparison::Weak), Some(weak));
            prop_assert_eq!(names(value.as_bytes(), CUR, Comparison::Strong), Some(strong));
        }

        /// Any bytes: never a panic; a valid value stays valid with a bare word appended.
        #[test]
        fn any_value(value in proptest::collection::vec(any::<u8>(), 0..64)) {
            let got = names(&value, CUR, Comparison::Weak);
            if got.is_some() && value.iter().all(|&b| b != b'*') {
                let mut bad = value.clone();
                bad.extend_from_slice(b",x");
                prop_assert_eq!(names(&bad, CUR, Comparison::Weak), None);
            }
        }
    }
}
