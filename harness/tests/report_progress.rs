//! Live progress: lines in input order whatever order results arrive in, and a transient status
//! line only when interactive.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use harness::outcome::{CaseResult, Transcript, Verdict};
use harness::report::Progress;

#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Shared {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

fn result(id: &str, verdict: Verdict) -> CaseResult {
    CaseResult {
        id: id.to_string(),
        title: format!("title of {id}"),
        tags: vec![],
        spec: None,
        rule: None,
        hint: None,
        verdict,
        points: verdict.points(1.0, false),
        max_points: 1.0,
        duration: Duration::from_millis(3),
        messages: vec![],
        transcript: Transcript::default(),
        reproducer: None,
    }
}

fn ids(n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|i| (format!("case/{i}"), format!("title of case/{i}")))
        .collect()
}

/// The case ids in the order their lines were printed.
fn printed(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            l.split_whitespace()
                .find(|w| w.starts_with("case/"))
                .map(str::to_string)
        })
        .collect()
}

#[test]
fn lines_come_in_input_order_when_results_do_not() {
    let buf = Shared::default();
    let p = Progress::new(ids(4), false, false, Box::new(buf.clone()));
    p.done(2, &result("case/2", Verdict::Fail));
    p.done(1, &result("case/1", Verdict::Pass));
    assert_eq!(buf.text(), "", "nothing before case 0 is done");
    p.done(0, &result("case/0", Verdict::Pass));
    assert_eq!(printed(&buf.text()), ["case/0", "case/1", "case/2"]);
    p.done(3, &result("case/3", Verdict::Skip));
    p.finish();
    let text = buf.text();
    assert_eq!(printed(&text), ["case/0", "case/1", "case/2", "case/3"]);
    assert!(text.lines().nth(2).unwrap().starts_with("FAIL"));
    assert!(
        !text.contains('\r') && !text.contains('\x1b'),
        "not interactive, no colour: {text:?}"
    );
}

#[test]
fn duplicate_and_out_of_range_results_are_ignored() {
    let buf = Shared::default();
    let p = Progress::new(ids(2), false, false, Box::new(buf.clone()));
    p.done(0, &result("case/0", Verdict::Pass));
    p.done(0, &result("case/0", Verdict::Fail));
    p.done(7, &result("case/7", Verdict::Fail));
    p.done(1, &result("case/1", Verdict::Pass));
    p.finish();
    assert_eq!(printed(&buf.text()), ["case/0", "case/1"]);
}

#[test]
fn results_from_threads_print_in_order() {
    let n = 12;
    let buf = Shared::default();
    let p = Arc::new(Progress::new(ids(n), false, false, Box::new(buf.clone())));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let p = Arc::clone(&p);
            std::thread::spawn(move || {
                p.started(i);
                // Later cases finish first.
                std::thread::sleep(Duration::from_millis(((n - i) * 7) as u64));
                p.done(i, &result(&format!("case/{i}"), Verdict::Pass));
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    p.finish();
    let want: Vec<String> = (0..n).map(|i| format!("case/{i}")).collect();
    assert_eq!(printed(&buf.text()), want);
}

#[test]
fn interactive_status_line_is_transient() {
    let buf = Shared::default();
    let p = Progress::new(ids(3), false, true, Box::new(buf.clone()));
    p.started(0);
    p.started(1);
    p.tick();
    let text = buf.text();
    assert!(text.starts_with("\r\x1b[2K"), "{text:?}");
    assert!(
        text.contains("[0/3] running 2 cases… slowest: case/0"),
        "{text:?}"
    );
    assert!(!text.contains('\n'), "the status line has no line end");
    p.done(1, &result("case/1", Verdict::Pass));
    p.done(0, &result("case/0", Verdict::Pass));
    p.done(2, &result("case/2", Verdict::Pass));
    p.finish();
    let text = buf.text();
    assert_eq!(printed(&text), ["case/0", "case/1", "case/2"]);
    // Every case line starts on a cleared line, and the output ends cleared.
    assert!(
        text.ends_with('\n') || text.ends_with("\r\x1b[2K"),
        "{text:?}"
    );
    let last_status = text.rfind("running").unwrap();
    let last_line = text.rfind("case/2").unwrap();
    assert!(
        last_status < last_line,
        "no status left after the last line: {text:?}"
    );
}

#[test]
fn finish_prints_held_back_results_after_an_interrupt() {
    let buf = Shared::default();
    let p = Progress::new(ids(3), false, false, Box::new(buf.clone()));
    p.done(2, &result("case/2", Verdict::Pass));
    p.finish();
    assert_eq!(printed(&buf.text()), ["case/2"]);
}
