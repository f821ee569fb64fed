//! What a command runs: the selected cases, the rules they belong to (their `rules.txt`) and
//! the rubric that may change what those are worth (`--rubric`).

use std::path::Path;

use super::Selection;
use crate::case::Case;
use crate::rules::{Rubric, RuleBook};

/// The cases to run and how they are graded.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub cases: Vec<Case>,
    pub rules: RuleBook,
    pub rubric: Rubric,
}

impl Loaded {
    /// Loads the selection, its rules and the rubric. Mistakes in case files or rules files are
    /// printed on stderr (`None`: exit 2); an unreadable or invalid rubric is an error; a rubric
    /// line that matches nothing is a warning.
    pub fn load(sel: &Selection, rubric: Option<&Path>) -> anyhow::Result<Option<Loaded>> {
        let Some(mut cases) = sel.load_or_report() else {
            return Ok(None);
        };
        let rubric = match rubric {
            Some(p) => Rubric::load(p)?,
            None => Rubric::default(),
        };
        for w in rubric.apply_points(&mut cases) {
            eprintln!("warning: {w}");
        }
        let mut rules = match RuleBook::for_cases(&cases) {
            Ok(book) => book,
            Err(diags) => {
                for d in &diags {
                    eprintln!("{d}\n");
                }
                eprintln!(
                    "{} error{} in the rules of the cases",
                    diags.len(),
                    if diags.len() == 1 { "" } else { "s" }
                );
                return Ok(None);
            }
        };
        for w in rubric.apply_rules(&mut rules) {
            eprintln!("warning: {w}");
        }
        if let Some(missing) = sel.rules.iter().find(|r| rules.get(r).is_none()) {
            anyhow::bail!("--rule {missing}: no selected case belongs to this rule");
        }
        Ok(Some(Loaded {
            cases,
            rules,
            rubric,
        }))
    }
}
