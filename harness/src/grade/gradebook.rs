//! The class gradebook: `gradebook.csv`, one row per submission and one column per case.

use std::io::Write;

use crate::case::Case;
use crate::outcome::Verdict;

use super::Graded;

/// Writes `submission,score,max_score,notes,<case id>...`; `notes` holds every reason the
/// submission lost points, whole, biggest first (`losses::summary`); a case cell holds the
/// points earned, empty where it was skipped.
pub fn write_csv(cases: &[Case], graded: &[Graded], out: &mut dyn Write) -> std::io::Result<()> {
    let mut header = vec![
        "submission".to_string(),
        "score".into(),
        "max_score".into(),
        "notes".into(),
    ];
    header.extend(cases.iter().map(|c| c.id.clone()));
    write_row(out, &header)?;
    for g in graded {
        let mut row = vec![
            g.name.clone(),
            crate::report::fmt_points(g.report.score),
            crate::report::fmt_points(g.report.max_score),
            g.notes(),
        ];
        for c in cases {
            let cell = match g.report.cases.iter().find(|r| r.id == c.id) {
                Some(r) if r.verdict == Verdict::Skip => String::new(),
                Some(r) => crate::report::fmt_points(r.points),
                None => String::new(),
            };
            row.push(cell);
        }
        write_row(out, &row)?;
    }
    Ok(())
}

fn write_row(out: &mut dyn Write, cells: &[String]) -> std::io::Result<()> {
    let line: Vec<String> = cells.iter().map(|c| quote(c)).collect();
    writeln!(out, "{}", line.join(","))
}

/// RFC 4180 quoting, and a leading `'` for cells a spreadsheet would run as a formula.
fn quote(cell: &str) -> String {
    let cell = if cell.starts_with(['=', '+', '-', '@']) && cell.parse::<f64>().is_err() {
        format!("'{cell}")
    } else {
        cell.to_string()
    };
    if cell.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell
    }
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn cells_are_quoted_for_spreadsheets() {
        assert_eq!(quote("alice"), "alice");
        assert_eq!(quote("a,b"), "\"a,b\"");
        assert_eq!(quote("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(quote("=cmd()"), "'=cmd()");
        assert_eq!(quote("-3"), "-3");
    }
}
