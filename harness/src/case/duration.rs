//! Durations as written in case files: `250ms`, `1.5s`, and sums or differences of such terms,
//! which may use variables (`{keepalive}s - 500ms`). Parsed from a [`Cursor`], so that a
//! duration can sit in the middle of a line (`closed after 1s within 3s`).

use std::str::FromStr;

use super::diagnostic::Fault;
use super::lexer::Cursor;
use super::model::{Amount, DurationExpr, DurationTerm};

const HELP: &str = "a duration is a number and a unit, `ms` or `s` (`250ms`, `1.5s`), or a sum of them (`{keepalive}s + 500ms`)";

/// Reads a duration expression at the cursor (after spaces). Stops before the first word that
/// is not part of it.
pub(crate) fn parse(cur: &mut Cursor<'_>) -> Result<DurationExpr, Fault> {
    cur.skip_spaces();
    let mut terms = Vec::new();
    let mut negative = false;
    if cur.peek() == Some('-') {
        cur.pos += 1;
        cur.skip_spaces();
        negative = true;
    }
    loop {
        terms.push(term(cur, negative)?);
        let save = cur.pos;
        cur.skip_spaces();
        match cur.peek() {
            Some(op @ ('+' | '-')) => {
                cur.pos += 1;
                cur.skip_spaces();
                negative = op == '-';
            }
            _ => {
                cur.pos = save;
                return Ok(DurationExpr { terms });
            }
        }
    }
}

fn term(cur: &mut Cursor<'_>, negative: bool) -> Result<DurationTerm, Fault> {
    let start = cur.pos;
    let amount = if cur.eat("{") {
        let (_, name) = cur.take_while(|c| c == '_' || c.is_ascii_alphanumeric());
        let valid = name.starts_with(|c: char| c == '_' || c.is_ascii_alphabetic());
        if !valid || !cur.eat("}") {
            return Err(Fault::new(
                start..cur.pos + cur.peek().map_or(0, char::len_utf8),
                "expected a variable `{name}`",
            )
            .help(HELP));
        }
        Amount::Var(name.to_string())
    } else {
        let (_, int) = cur.take_while(|c| c.is_ascii_digit());
        if int.is_empty() {
            let end = start + cur.rest().find(' ').unwrap_or(cur.rest().len());
            let message = if start == end {
                "expected a duration".to_string()
            } else {
                format!("expected a duration, found `{}`", &cur.text[start..end])
            };
            return Err(Fault::new(start..end, message).help(HELP));
        }
        if cur.eat(".") {
            let (_, frac) = cur.take_while(|c| c.is_ascii_digit());
            if frac.is_empty() {
                return Err(
                    Fault::new(start..cur.pos, "expected digits after the decimal point")
                        .help(HELP),
                );
            }
        }
        let number: f64 = cur.text[start..cur.pos].parse().expect("digits");
        if !number.is_finite() {
            return Err(Fault::new(start..cur.pos, "number too large"));
        }
        Amount::Number(number)
    };
    let (unit_start, unit) = cur.take_while(|c| c.is_ascii_alphabetic());
    let unit_ms = match unit {
        "ms" => 1.0,
        "s" => 1000.0,
        "" => {
            return Err(
                Fault::new(start..cur.pos, "a duration needs a unit").help(format!(
                    "write `{}s` or `{}ms`",
                    &cur.text[start..cur.pos],
                    &cur.text[start..cur.pos]
                )),
            )
        }
        other => {
            return Err(
                Fault::new(unit_start..cur.pos, format!("unknown unit `{other}`"))
                    .help("use `s` or `ms`"),
            );
        }
    };
    if !matches!(cur.peek(), None | Some(' ' | '+' | '-')) {
        let end = cur.pos + cur.rest().find(' ').unwrap_or(cur.rest().len());
        return Err(Fault::new(
            cur.pos..end,
            format!(
                "unexpected `{}` after the duration",
                &cur.text[cur.pos..end]
            ),
        )
        .help(HELP));
    }
    Ok(DurationTerm {
        negative,
        amount,
        unit_ms,
    })
}

/// True when the expression uses no variables and sums to less than zero.
pub(crate) fn is_negative_constant(d: &DurationExpr) -> bool {
    let mut total = 0.0;
    for t in &d.terms {
        match t.amount {
            Amount::Number(n) => total += (if t.negative { -n } else { n }) * t.unit_ms,
            Amount::Var(_) => return false,
        }
    }
    total < 0.0
}

impl FromStr for DurationExpr {
    type Err = String;

    /// Parses a whole string as a duration (`"1.5s"`, `"{keepalive}s + 3s"`), e.g. for options.
    fn from_str(s: &str) -> Result<DurationExpr, String> {
        let mut cur = Cursor::new(s);
        let d = parse(&mut cur).map_err(|f| f.message)?;
        cur.skip_spaces();
        if !cur.at_end() {
            return Err(format!("unexpected `{}` after the duration", cur.rest()));
        }
        Ok(d)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::case::model::Vars;

    fn eval(s: &str) -> Duration {
        let vars: Vars = [("keepalive".to_string(), "5".to_string())].into();
        s.parse::<DurationExpr>().unwrap().eval(&vars).unwrap()
    }

    #[test]
    fn parses_terms_sums_and_variables() {
        assert_eq!(eval("250ms"), Duration::from_millis(250));
        assert_eq!(eval("1.5s"), Duration::from_millis(1500));
        assert_eq!(eval("{keepalive}s + 3s"), Duration::from_secs(8));
        assert_eq!(eval("{keepalive}s - 500ms"), Duration::from_millis(4500));
        assert_eq!(eval("1s+1s-500ms"), Duration::from_millis(1500));
        assert_eq!(eval("-1s + 2s"), Duration::from_secs(1));
        assert_eq!(
            "{keepalive}s - 500ms"
                .parse::<DurationExpr>()
                .unwrap()
                .to_string(),
            "{keepalive}s - 500ms"
        );
    }

    #[test]
    fn stops_before_the_next_word() {
        let mut cur = Cursor::new("after 1s + 2s within 3s");
        cur.pos = 5;
        let d = parse(&mut cur).unwrap();
        assert_eq!(d.terms.len(), 2);
        assert_eq!(cur.rest(), " within 3s");
    }

    #[test]
    fn faults() {
        let fault = |s: &str| {
            let mut cur = Cursor::new(s);
            parse(&mut cur).unwrap_err()
        };
        assert_eq!(fault("10").span, 0..2);
        assert!(fault("10").help.unwrap().contains("`10s`"));
        assert_eq!(fault("10min").span, 2..5);
        assert_eq!(fault("1. s").span, 0..2);
        assert_eq!(fault("{k s").span, 0..3);
        assert_eq!(fault("{1}s").span, 0..3);
        assert_eq!(fault("1s + x").span, 5..6);
        assert_eq!(fault("1s, 2s").span, 2..3);
        assert_eq!(fault("").message, "expected a duration");
        assert!("1s 2s".parse::<DurationExpr>().is_err());
    }

    #[test]
    fn negative_constants() {
        assert!(is_negative_constant(&"1s - 2s".parse().unwrap()));
        assert!(!is_negative_constant(&"2s - 1s".parse().unwrap()));
        assert!(!is_negative_constant(&"{k}s - 2s".parse().unwrap()));
    }
}
