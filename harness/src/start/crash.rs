//! Naming how a server died, for messages a student can act on: the signal behind a shell's
//! `exit status 139`, and the exception or crash line from the server's own output
//! (`IndexError: list index out of range`, `Segmentation fault`).

/// The signal a shell's exit code 128+N reports, when N is a signal that kills (`SIGSEGV`).
pub fn shell_signal(code: i32) -> Option<&'static str> {
    let name = match code - 128 {
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGILL => "SIGILL",
        libc::SIGKILL => "SIGKILL",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGTERM => "SIGTERM",
        _ => return None,
    };
    Some(name)
}

/// The last line of the output that says why the program died: a Python or Java exception, a
/// C runtime's crash report, a Go panic. `None` when there is none.
pub fn exception_line(output: &str) -> Option<String> {
    output
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| is_exception(l))
        .map(|l| {
            if l.len() > 160 {
                format!("{}…", &l[..l.floor_char_boundary(159)])
            } else {
                l.to_string()
            }
        })
}

fn is_exception(line: &str) -> bool {
    const CRASHES: &[&str] = &[
        "Segmentation fault",
        "stack smashing detected",
        "double free",
        "free(): invalid",
        "malloc(): ",
        "Aborted",
        "panic: ",
        "Exception in thread",
        "AddressSanitizer",
    ];
    if CRASHES.iter().any(|c| line.contains(c))
        || line.contains("Assertion") && line.contains("failed")
    {
        return true;
    }
    // Python: `ValueError: ...`, `socket.timeout: timed out`, `KeyboardInterrupt`.
    let name = line.split(':').next().unwrap_or("");
    let ident = !name.is_empty()
        && !name.contains(' ')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    let last = name.rsplit('.').next().unwrap_or("");
    ident
        && (last.ends_with("Error") || last.ends_with("Exception") || last == "timeout")
        && (line.len() == name.len() || line[name.len()..].starts_with(':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_exception_line() {
        let py = "Traceback (most recent call last):\n  File \"server.py\", line 40, in handle\n    \
                  method, path, version = line.split()\nValueError: not enough values to unpack (expected 3, got 1)\n";
        assert_eq!(
            exception_line(py).as_deref(),
            Some("ValueError: not enough values to unpack (expected 3, got 1)")
        );
        assert_eq!(
            exception_line("serving on 8080\nSegmentation fault (core dumped)\n").as_deref(),
            Some("Segmentation fault (core dumped)")
        );
        assert_eq!(
            exception_line("Exception in thread \"main\" java.lang.NullPointerException\n\tat Server.main(Server.java:10)").as_deref(),
            Some("Exception in thread \"main\" java.lang.NullPointerException")
        );
        assert_eq!(
            exception_line("listening on port 8080\nGET /index.html 200\n"),
            None
        );
        assert_eq!(exception_line("Error handling request: 400\n"), None);
    }

    #[test]
    fn names_the_signal_behind_a_shell_exit_code() {
        assert_eq!(shell_signal(139), Some("SIGSEGV"));
        assert_eq!(shell_signal(134), Some("SIGABRT"));
        assert_eq!(shell_signal(1), None);
    }
}
