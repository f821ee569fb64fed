//! Run-time side of the model: rendering a [`Template`] against the run's [`Vars`], evaluating a
//! [`DurationExpr`], and printing a duration back in its source form.

use std::fmt;
use std::time::Duration;

use super::model::{Amount, DurationExpr, DurationTerm, Piece, Template, VarError, Vars};

impl Template {
    /// A template of fixed bytes, with no variables.
    pub fn literal(bytes: impl Into<Vec<u8>>) -> Template {
        let bytes = bytes.into();
        if bytes.is_empty() {
            Template::default()
        } else {
            Template {
                pieces: vec![Piece::Bytes(bytes)],
            }
        }
    }

    /// Fills in variables; `Repeat` pieces expand. An unknown variable is [`VarError::Unknown`].
    pub fn render(&self, vars: &Vars) -> Result<Vec<u8>, VarError> {
        let mut out = Vec::new();
        self.render_into(vars, &mut out)?;
        Ok(out)
    }

    fn render_into(&self, vars: &Vars, out: &mut Vec<u8>) -> Result<(), VarError> {
        for piece in &self.pieces {
            match piece {
                Piece::Bytes(b) => out.extend_from_slice(b),
                Piece::Var(name) => match vars.get(name) {
                    Some(v) => out.extend_from_slice(v.as_bytes()),
                    None => return Err(VarError::Unknown(name.clone())),
                },
                Piece::Repeat(n, inner) => {
                    let once = inner.render(vars)?;
                    out.reserve(once.len().saturating_mul(*n));
                    for _ in 0..*n {
                        out.extend_from_slice(&once);
                    }
                }
            }
        }
        Ok(())
    }

    /// The names of the variables the template uses, in order of first use.
    pub fn vars(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for piece in &self.pieces {
            match piece {
                Piece::Bytes(_) => {}
                Piece::Var(name) => {
                    if !names.contains(&name.as_str()) {
                        names.push(name);
                    }
                }
                Piece::Repeat(_, inner) => {
                    for name in inner.vars() {
                        if !names.contains(&name) {
                            names.push(name);
                        }
                    }
                }
            }
        }
        names
    }
}

/// Every variable a case file's text uses, as (line, column, name), 1-based, in order: each
/// `{name}` not escaped as `\{` and not in a `#` comment line (`{repeat N ...}` is not a
/// variable, but the variables inside it are). For checking a file's variables without running
/// it, at the place they are written.
pub fn variables_in_source(text: &str) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        let chars: Vec<(usize, char)> = line.char_indices().collect();
        let mut k = 0;
        while k < chars.len() {
            match chars[k].1 {
                '\\' => k += 2,
                '{' => {
                    let name: String = chars[k + 1..]
                        .iter()
                        .map(|&(_, c)| c)
                        .take_while(|&c| c == '_' || c.is_ascii_alphanumeric())
                        .collect();
                    let closed = chars
                        .get(k + 1 + name.chars().count())
                        .is_some_and(|&(_, c)| c == '}');
                    let valid = name.chars().next().is_some_and(|c| !c.is_ascii_digit());
                    if closed && valid {
                        let col = line[..chars[k].0].chars().count() + 1;
                        out.push((n + 1, col, name));
                    }
                    k += 1;
                }
                _ => k += 1,
            }
        }
    }
    out
}

impl DurationExpr {
    /// A constant duration: whole seconds are written `Ns`, anything else in milliseconds.
    pub fn from_duration(d: Duration) -> DurationExpr {
        let term = if d.subsec_nanos() == 0 {
            DurationTerm {
                negative: false,
                amount: Amount::Number(d.as_secs() as f64),
                unit_ms: 1000.0,
            }
        } else {
            DurationTerm {
                negative: false,
                amount: Amount::Number(d.as_secs_f64() * 1000.0),
                unit_ms: 1.0,
            }
        };
        DurationExpr { terms: vec![term] }
    }

    /// Sums the terms. A variable must parse as a number ([`VarError::NotANumber`]); a negative
    /// total is [`VarError::Negative`]. A total too large for a `Duration` saturates.
    pub fn eval(&self, vars: &Vars) -> Result<Duration, VarError> {
        let mut total_ms = 0.0f64;
        for term in &self.terms {
            let amount = match &term.amount {
                Amount::Number(n) => *n,
                Amount::Var(name) => {
                    let value = vars
                        .get(name)
                        .ok_or_else(|| VarError::Unknown(name.clone()))?;
                    match value.trim().parse::<f64>() {
                        Ok(n) if n.is_finite() => n,
                        _ => {
                            return Err(VarError::NotANumber {
                                name: name.clone(),
                                value: value.clone(),
                            })
                        }
                    }
                }
            };
            let ms = amount * term.unit_ms;
            total_ms += if term.negative { -ms } else { ms };
        }
        if total_ms < 0.0 {
            return Err(VarError::Negative(self.to_string()));
        }
        Ok(Duration::try_from_secs_f64(total_ms / 1000.0).unwrap_or(Duration::MAX))
    }

    /// The value when the expression uses no variables (`None` if it does).
    pub fn constant(&self) -> Option<Duration> {
        if self
            .terms
            .iter()
            .any(|t| matches!(t.amount, Amount::Var(_)))
        {
            return None;
        }
        self.eval(&Vars::new()).ok()
    }
}

impl fmt::Display for DurationExpr {
    /// The source form: `250ms`, `1.5s`, `{keepalive}s - 500ms`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.terms.is_empty() {
            return f.write_str("0ms");
        }
        for (i, term) in self.terms.iter().enumerate() {
            match (i, term.negative) {
                (0, false) => {}
                (0, true) => f.write_str("-")?,
                (_, false) => f.write_str(" + ")?,
                (_, true) => f.write_str(" - ")?,
            }
            match &term.amount {
                Amount::Number(n) => write!(f, "{n}")?,
                Amount::Var(name) => write!(f, "{{{name}}}")?,
            }
            if term.unit_ms == 1000.0 {
                f.write_str("s")?;
            } else if term.unit_ms == 1.0 {
                f.write_str("ms")?;
            } else {
                // Not produced by the parser; keep the value readable.
                write!(f, "*{}ms", term.unit_ms)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_in_source_at_their_line_and_column() {
        let text = "title: t\n# {commented}\nsend\n| GET / HTTP/1.1\n| Host: {host}\n| X: \\{not} {repeat 3 {inner}}\nresponse within {keepalive}s\n";
        assert_eq!(
            variables_in_source(text),
            vec![
                (5, 9, "host".to_string()),
                (6, 23, "inner".to_string()),
                (7, 17, "keepalive".to_string())
            ]
        );
    }

    fn vars(pairs: &[(&str, &str)]) -> Vars {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn term(negative: bool, amount: Amount, unit_ms: f64) -> DurationTerm {
        DurationTerm {
            negative,
            amount,
            unit_ms,
        }
    }

    #[test]
    fn literal_renders_its_bytes() {
        assert_eq!(
            Template::literal("GET /\r\n").render(&Vars::new()).unwrap(),
            b"GET /\r\n"
        );
        assert_eq!(Template::literal(Vec::new()), Template::default());
    }

    #[test]
    fn render_fills_variables_and_repeats() {
        let t = Template {
            pieces: vec![
                Piece::Bytes(b"Host: ".to_vec()),
                Piece::Var("host".into()),
                Piece::Bytes(b":".to_vec()),
                Piece::Var("port".into()),
                Piece::Repeat(
                    3,
                    Template {
                        pieces: vec![Piece::Bytes(b"a".to_vec()), Piece::Var("x".into())],
                    },
                ),
            ],
        };
        let v = vars(&[("host", "localhost"), ("port", "8080"), ("x", "-")]);
        assert_eq!(t.render(&v).unwrap(), b"Host: localhost:8080a-a-a-");
        assert_eq!(t.vars(), vec!["host", "port", "x"]);
    }

    #[test]
    fn render_unknown_variable_is_an_error() {
        let t = Template {
            pieces: vec![Piece::Repeat(
                2,
                Template {
                    pieces: vec![Piece::Var("nope".into())],
                },
            )],
        };
        assert_eq!(
            t.render(&Vars::new()),
            Err(VarError::Unknown("nope".into()))
        );
    }

    #[test]
    fn repeat_zero_times_is_empty() {
        let t = Template {
            pieces: vec![Piece::Repeat(0, Template::literal("abc"))],
        };
        assert_eq!(t.render(&Vars::new()).unwrap(), b"");
    }

    #[test]
    fn eval_sums_terms_with_variables() {
        let e = DurationExpr {
            terms: vec![
                term(false, Amount::Var("keepalive".into()), 1000.0),
                term(true, Amount::Number(500.0), 1.0),
            ],
        };
        assert_eq!(
            e.eval(&vars(&[("keepalive", "5")])).unwrap(),
            Duration::from_millis(4500)
        );
        assert_eq!(
            e.eval(&vars(&[("keepalive", " 1.5 ")])).unwrap(),
            Duration::from_millis(1000)
        );
        assert_eq!(e.to_string(), "{keepalive}s - 500ms");
        assert_eq!(e.constant(), None);
    }

    #[test]
    fn eval_errors() {
        let e = DurationExpr {
            terms: vec![
                term(false, Amount::Var("k".into()), 1000.0),
                term(true, Amount::Number(2.0), 1000.0),
            ],
        };
        assert_eq!(e.eval(&Vars::new()), Err(VarError::Unknown("k".into())));
        assert_eq!(
            e.eval(&vars(&[("k", "ten")])),
            Err(VarError::NotANumber {
                name: "k".into(),
                value: "ten".into()
            })
        );
        assert!(matches!(
            e.eval(&vars(&[("k", "inf")])),
            Err(VarError::NotANumber { .. })
        ));
        assert_eq!(
            e.eval(&vars(&[("k", "1")])),
            Err(VarError::Negative("{k}s - 2s".into()))
        );
        assert_eq!(e.eval(&vars(&[("k", "2")])).unwrap(), Duration::ZERO);
    }

    #[test]
    fn from_duration_round_trips_through_eval() {
        for d in [
            Duration::ZERO,
            Duration::from_secs(10),
            Duration::from_millis(1500),
            Duration::from_micros(1),
        ] {
            let e = DurationExpr::from_duration(d);
            let back = e.eval(&Vars::new()).unwrap();
            let diff = (back.as_secs_f64() - d.as_secs_f64()).abs();
            assert!(diff < 2e-9, "{d:?} -> {e} -> {back:?}");
        }
        assert_eq!(
            DurationExpr::from_duration(Duration::from_secs(10)).to_string(),
            "10s"
        );
        assert_eq!(
            DurationExpr::from_duration(Duration::from_millis(1500)).to_string(),
            "1500ms"
        );
        assert_eq!(
            DurationExpr::from_duration(Duration::from_millis(100)).constant(),
            Some(Duration::from_millis(100))
        );
    }

    #[test]
    fn display_forms() {
        let e = DurationExpr {
            terms: vec![
                term(true, Amount::Number(1.5), 1000.0),
                term(false, Amount::Var("a".into()), 1.0),
                term(false, Amount::Number(250.0), 1.0),
            ],
        };
        assert_eq!(e.to_string(), "-1.5s + {a}ms + 250ms");
    }
}
