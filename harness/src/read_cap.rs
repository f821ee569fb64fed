//! How much one case's connections may read: the run's cap
//! (`RunOptions::max_response_bytes`), raised for a case whose `body file` check expects a
//! large file of the site. Used wherever cases run: at an address ([`crate::target`]) and on
//! started servers ([`crate::start::run`]).

use std::path::Path;

use crate::case::{Case, CheckKind, StepKind};

/// The most a connection of `case` may read: `default`, raised for a case whose `body file`
/// check expects a larger file of the site `www` (twice its size, and room for the head).
pub fn read_cap(case: &Case, default: usize, www: &Path) -> usize {
    let mut cap = default;
    for step in &case.steps {
        let StepKind::Response { checks, .. } = &step.kind else {
            continue;
        };
        for c in checks {
            if let CheckKind::BodyFile(path) = &c.kind {
                let size = std::fs::metadata(www.join(path.trim_start_matches('/')))
                    .map(|m| m.len() as usize)
                    .unwrap_or(0);
                cap = cap.max(size.saturating_mul(2).saturating_add(64 << 10));
            }
        }
    }
    cap
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(src: &str) -> Case {
        crate::case::parse_case(&format!("title: t\n\n{src}"), Path::new("t.case"), "t").unwrap()
    }

    #[test]
    fn a_case_expecting_a_big_file_raises_the_read_cap() {
        let www = tempfile::tempdir().unwrap();
        std::fs::write(www.path().join("big.bin"), vec![0u8; 3 << 20]).unwrap();
        let big = case("send\n| GET /big.bin HTTP/1.1\n|\n\nresponse\nbody file big.bin\n");
        let small = case("send\n| GET / HTTP/1.1\n|\n\nresponse\nstatus 200\n");
        assert_eq!(read_cap(&small, 2 << 20, www.path()), 2 << 20);
        assert_eq!(read_cap(&big, 2 << 20, www.path()), (6 << 20) + (64 << 10));
    }
}
