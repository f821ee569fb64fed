//! The waiting windows of a case (`response within`, `no response for`, `closed after ...
//! within`, `open for`, `interim ... within`) and how close each comes to the server's
//! keep-alive timer. A window that ends within a second of KeepaliveTime decides its verdict
//! by luck for a server that answers, or closes, only when that timer fires; so windows keep at
//! least [`MARGIN_MS`] from it. `harness check` warns about windows written against
//! `{keepalive}` that come near it for some KeepaliveTime ([`near_the_timer`]); a run warns
//! about any window near the KeepaliveTime it runs with ([`near_the_timer_at`]).

use super::model::{Amount, Case, DurationExpr, StepKind, Vars};

/// The least distance, in milliseconds, between a window and the keep-alive timer.
pub const MARGIN_MS: f64 = 1000.0;

/// The variable that holds the server's KeepaliveTime, in seconds.
pub const KEEPALIVE: &str = "keepalive";

/// One waiting window: its line, the step that waits, its duration.
#[derive(Debug, Clone, PartialEq)]
pub struct Window<'a> {
    pub line: usize,
    pub what: &'static str,
    pub expr: &'a DurationExpr,
}

/// Every window of the case, in order.
pub fn windows(case: &Case) -> Vec<Window<'_>> {
    let mut out = Vec::new();
    for step in &case.steps {
        let found: [(&'static str, Option<&DurationExpr>); 2] = match &step.kind {
            StepKind::Response { within, .. } => [("a response", within.as_ref()), ("", None)],
            StepKind::Interim { within, .. } => {
                [("an interim response", within.as_ref()), ("", None)]
            }
            StepKind::NoResponse { for_ } => [("silence", Some(for_)), ("", None)],
            StepKind::Closed { after, within } => {
                [("no close", after.as_ref()), ("the close", Some(within))]
            }
            StepKind::Open { for_, .. } => [("the connection open", Some(for_)), ("", None)],
            _ => continue,
        };
        for (what, expr) in found {
            if let Some(expr) = expr {
                out.push(Window {
                    line: step.line,
                    what,
                    expr,
                });
            }
        }
    }
    out
}

/// The expression as `a + c·k` in milliseconds, `k` the KeepaliveTime in seconds: `None` when
/// it uses another variable.
pub fn linear_in_keepalive(expr: &DurationExpr) -> Option<(f64, f64)> {
    let (mut a, mut c) = (0.0, 0.0);
    for t in &expr.terms {
        let sign = if t.negative { -1.0 } else { 1.0 };
        match &t.amount {
            Amount::Number(n) => a += sign * n * t.unit_ms,
            Amount::Var(v) if v == KEEPALIVE => c += sign * t.unit_ms,
            Amount::Var(_) => return None,
        }
    }
    Some((a, c))
}

/// Windows written against `{keepalive}` that come within [`MARGIN_MS`] of the timer for some
/// KeepaliveTime of at least one second: `file:line: warning ...` each. (A fixed window is
/// judged at run time, against the KeepaliveTime of the run.)
pub fn near_the_timer(case: &Case) -> Vec<String> {
    let mut out = Vec::new();
    for w in windows(case) {
        let Some((a, c)) = linear_in_keepalive(w.expr) else {
            continue;
        };
        if c == 0.0 {
            continue;
        }
        // distance(k) = |a + (c - 1000)·k|: constant when c = 1000, else zero at one k.
        let slope = c - 1000.0;
        let near = if slope == 0.0 {
            a.abs() < MARGIN_MS
        } else {
            let crossing = -a / slope;
            crossing >= 1.0 - MARGIN_MS / slope.abs()
        };
        if near {
            out.push(format!(
                "{}:{}: waiting for {} for {} comes within 1s of the keep-alive timer ({{keepalive}}s): \
                 a server that acts only when that timer fires passes or fails by luck; keep 1s \
                 from it, e.g. `{{keepalive}}s - 1s` or `{{keepalive}}s + 2s`",
                case.path.display(),
                w.line,
                w.what,
                w.expr
            ));
        }
    }
    out
}

/// The windows of these cases that end within [`MARGIN_MS`] of a KeepaliveTime of `vars`'
/// `keepalive`: `(case id, line, the window's length in seconds)`.
pub fn near_the_timer_at(cases: &[Case], vars: &Vars) -> Vec<(String, usize, f64)> {
    let Some(k) = vars
        .get(KEEPALIVE)
        .and_then(|v| v.trim().parse::<f64>().ok())
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for case in cases {
        for w in windows(case) {
            let Ok(d) = w.expr.eval(vars) else { continue };
            let ms = d.as_secs_f64() * 1000.0;
            if (ms - k * 1000.0).abs() < MARGIN_MS {
                out.push((case.id.clone(), w.line, ms / 1000.0));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn case(steps: &str) -> Case {
        crate::case::parse_case(
            &format!("title: t\n\nsend\n| GET / HTTP/1.1\n|\n\n{steps}"),
            Path::new("t.case"),
            "t",
        )
        .expect("a valid case")
    }

    #[test]
    fn windows_written_against_the_timer_keep_a_second_from_it() {
        for clear in [
            "response within {keepalive}s - 1s\n",
            "response within {keepalive}s + 2s\n",
            "closed after {keepalive}s - 1s within {keepalive}s + 3s\n",
            "open for {keepalive}s - 1s\n",
            "response within 2s\n",
            "response within {keepalive}s + {keepalive}s + 1s\n",
        ] {
            assert_eq!(
                near_the_timer(&case(clear)),
                Vec::<String>::new(),
                "{clear}"
            );
        }
        for near in [
            "response within {keepalive}s\n",
            "response within {keepalive}s - 500ms\n",
            "closed within {keepalive}s + 900ms\n",
            "no response for {keepalive}s + {keepalive}s - 2s\n",
        ] {
            let w = near_the_timer(&case(near));
            assert_eq!(w.len(), 1, "{near}: {w:?}");
            assert!(w[0].starts_with("t.case:7: waiting for"), "{}", w[0]);
        }
    }

    #[test]
    fn a_run_names_the_windows_near_its_keepalive() {
        let cases = vec![case("response within 2s\n"), case("response within 5s\n")];
        let at = |k: &str| {
            let vars: Vars = [("keepalive".to_string(), k.to_string())].into();
            near_the_timer_at(&cases, &vars)
        };
        assert_eq!(at("2").len(), 1);
        assert_eq!(at("3").len(), 0, "1s clear of 2s, 2s clear of 5s");
        assert_eq!(at("5.5").len(), 1);
    }
}
