//! `--start`: the supervised server process and the started instance, with tiny shell and
//! python3 servers (`fixtures/start/mini_server.py`) on loopback. Every test checks that nothing
//! it started is left running.

mod common;

use common::processes_with;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use harness::start::process::{self, group_alive, group_members, ServerProcess, TAIL_CAP};
use harness::start::{ConfigMode, Instance, StartError, StartSpec};

fn mini() -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/start/mini_server.py");
    format!("python3 {}", process::shell_quote(&p.display().to_string()))
}

fn site() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("index.html"),
        "<h1>hello from the site</h1>\n",
    )
    .unwrap();
    std::fs::create_dir(d.path().join("css")).unwrap();
    std::fs::write(d.path().join("css/style.css"), "h1 { color: red }\n").unwrap();
    d
}

fn submission(conf: Option<&str>) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    if let Some(c) = conf {
        std::fs::write(d.path().join("ws.conf"), c).unwrap();
    }
    std::fs::write(d.path().join("README"), "a submission\n").unwrap();
    d
}

fn spec(command: &str, dir: &Path, site: &Path, mode: ConfigMode) -> StartSpec {
    StartSpec {
        command: command.to_string(),
        dir: dir.to_path_buf(),
        site: site.to_path_buf(),
        config_mode: mode,
        config_file: "ws.conf".into(),
        keepalive: 2,
        ready_timeout: Duration::from_secs(10),
        grace: Duration::from_millis(500),
    }
}

/// One request, `Connection: close`, the whole answer as text.
fn get(port: u16, path: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Asserts that no process of the group runs (zombies awaiting init excepted), waiting a little.
fn assert_group_gone(pgid: i32) {
    let start = Instant::now();
    while group_alive(pgid) && start.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let left: Vec<_> = group_members(pgid)
        .into_iter()
        .filter(|&(_, s)| s != 'Z')
        .collect();
    assert!(
        left.is_empty(),
        "processes of group {pgid} still running: {left:?}"
    );
}

#[test]
fn generated_config_start_serve_stop_leaves_nothing() {
    let (site, sub) = (site(), submission(None));
    let inst = Instance::start(
        &spec(&mini(), sub.path(), site.path(), ConfigMode::Auto),
        "default",
    )
    .unwrap();
    let port = inst.port();
    let conf = std::fs::read_to_string(inst.config_path()).unwrap();
    assert!(conf.contains(&format!("\nListen {port}\n")), "{conf}");
    assert!(
        conf.contains(&format!("DocumentRoot \"{}\"", inst.root().display())),
        "{conf}"
    );
    assert!(conf.contains("\nKeepaliveTime 2\n"));
    assert_eq!(inst.root(), inst.dir().join("www"));
    assert!(inst.root().join("css/style.css").is_file());
    assert!(inst.dir().join("README").is_file());
    assert!(
        inst.config_notes().iter().any(|n| n.contains("generated")),
        "{:?}",
        inst.config_notes()
    );

    let answer = get(port, "/index.html");
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with("<h1>hello from the site</h1>\n"));
    assert!(inst.alive() && !inst.dead());

    let pgid = inst.pgid().unwrap();
    let dir = inst.dir().to_path_buf();
    drop(inst);
    assert_group_gone(pgid);
    assert!(!dir.exists(), "the temporary folder is removed");
}

#[test]
fn patched_config_keeps_layout_and_reports_changes() {
    let own = "#service port number\r\nListen\t8888\r\n#document root\r\nDocumentRoot \"www\"\r\n.html text/html\r\nKeepaliveTime 10\r\n";
    let (site, sub) = (site(), submission(Some(own)));
    std::fs::create_dir(sub.path().join("www")).unwrap();
    std::fs::write(
        sub.path().join("www/index.html"),
        "the submission's own page",
    )
    .unwrap();
    let inst = Instance::start(
        &spec(&mini(), sub.path(), site.path(), ConfigMode::Auto),
        "default",
    )
    .unwrap();
    let conf = std::fs::read_to_string(inst.config_path()).unwrap();
    // a relative DocumentRoot is kept as written, and the site put where it points
    let want = format!(
        "#service port number\r\nListen\t{}\r\n#document root\r\nDocumentRoot \"www\"\r\n.html text/html\r\nKeepaliveTime 2\r\n",
        inst.port(),
    );
    assert_eq!(conf, want);
    assert_eq!(inst.root(), inst.dir().join("www"));
    assert_eq!(inst.config_file().1, want);
    let notes = inst.config_notes().join("\n");
    assert!(notes.contains("patched (2 lines changed)"), "{notes}");
    assert!(notes.contains("line 2: \"Listen\\t8888\""), "{notes}");
    assert!(notes.contains("own www/ is replaced"), "{notes}");
    assert!(inst.warnings().is_empty());
    // the bundled site is served, not the submission's own www/
    assert!(get(inst.port(), "/").contains("hello from the site"));
    // the original is untouched
    assert_eq!(
        std::fs::read_to_string(sub.path().join("ws.conf")).unwrap(),
        own
    );
}

#[test]
fn patch_warns_when_a_value_is_missing_and_port_placeholder_works() {
    let (site, sub) = (site(), submission(Some("Listen 8888\n.html text/html\n")));
    let cmd = format!("{} --port {{port}}", mini());
    let inst = Instance::start(
        &spec(&cmd, sub.path(), site.path(), ConfigMode::Patch),
        "default",
    )
    .unwrap();
    let w = inst.warnings();
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(w[0].contains("no document root line"));
    assert!(w[1].contains("no keep-alive time line"));
    assert!(get(inst.port(), "/missing.html").starts_with("HTTP/1.1 404"));
}

#[test]
fn generate_mode_replaces_the_submissions_file() {
    let (site, sub) = (site(), submission(Some("Keep-Alive time 10\nport=1\n")));
    let inst = Instance::start(
        &spec(&mini(), sub.path(), site.path(), ConfigMode::Generate),
        "default",
    )
    .unwrap();
    let conf = std::fs::read_to_string(inst.config_path()).unwrap();
    assert!(conf.starts_with("# ws.conf written by the conformance harness"));
    assert!(get(inst.port(), "/").contains("200 OK"));
}

#[test]
fn placeholders_are_substituted_and_quoted() {
    let (site, sub) = (site(), submission(None));
    // a server that only proves what it was given, then serves
    let cmd = format!(
        "echo \"port={{port}} config={{config}} root={{root}} dir={{dir}}\"; exec {}",
        mini()
    );
    let inst = Instance::start(
        &spec(&cmd, sub.path(), site.path(), ConfigMode::Auto),
        "default",
    )
    .unwrap();
    let tail = inst.output_tail();
    let want = format!(
        "port={} config={} root={} dir={}",
        inst.port(),
        inst.config_path().display(),
        inst.root().display(),
        inst.dir().display()
    );
    assert!(tail.contains(&want), "{tail}");
    assert_eq!(process::shell_quote("/tmp/a b/it's"), "'/tmp/a b/it'\\''s'");
    assert_eq!(
        process::shell_quote("/tmp/plain-dir_1.x"),
        "/tmp/plain-dir_1.x"
    );
}

#[test]
fn a_server_that_never_listens_is_an_error_within_the_timeout() {
    let (site, sub) = (site(), submission(None));
    // unique to this test process: `sleep 37.PID`
    let marker = format!("37.{}", std::process::id());
    let marker = marker.as_str();
    let mut sp = spec(
        &format!("echo waiting; sleep {marker}"),
        sub.path(),
        site.path(),
        ConfigMode::Auto,
    );
    sp.ready_timeout = Duration::from_secs(1);
    let t = Instant::now();
    let err = Instance::start(&sp, "default").unwrap_err();
    assert!(
        t.elapsed() < Duration::from_secs(4),
        "took {:?}",
        t.elapsed()
    );
    let msg = err.to_string();
    assert!(
        msg.contains("did not listen on port") && msg.contains("within 1s"),
        "{msg}"
    );
    assert!(msg.contains("waiting"), "the output tail is shown: {msg}");
    assert!(!err.server_exited());
    assert!(processes_with(marker).is_empty(), "the sleep is killed");
}

#[test]
fn a_server_that_exits_at_once_is_an_error_with_status_and_output() {
    let (site, sub) = (site(), submission(None));
    let sp = spec(
        "echo 'cannot open ws.conf: boom' >&2; exit 3",
        sub.path(),
        site.path(),
        ConfigMode::Auto,
    );
    let t = Instant::now();
    let err = Instance::start(&sp, "default").unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(3));
    let msg = err.to_string();
    assert!(err.server_exited());
    assert!(
        msg.contains("exited before listening") && msg.contains("exit status 3"),
        "{msg}"
    );
    assert!(msg.contains("cannot open ws.conf: boom"), "{msg}");
    assert!(err.output_tail().contains("boom"));
}

#[test]
fn a_killed_server_reports_its_signal() {
    let port = process::free_port().unwrap();
    let p = ServerProcess::spawn("kill -SEGV $$", Path::new("/"), port).unwrap();
    let err = p.wait_ready(Duration::from_secs(5)).unwrap_err();
    assert!(
        err.to_string().contains("killed by signal 11 (SIGSEGV)"),
        "{err}"
    );
    assert!(err.to_string().contains("it printed nothing"), "{err}");
}

#[test]
fn a_forked_grandchild_holding_the_port_is_killed_too() {
    let (site, sub) = (site(), submission(None));
    let cmd = format!("{} --fork", mini());
    let inst = Instance::start(
        &spec(&cmd, sub.path(), site.path(), ConfigMode::Auto),
        "default",
    )
    .unwrap();
    let port = inst.port();
    let pgid = inst.pgid().unwrap();
    // the parent exits; the group (the forked child) still serves
    let t = Instant::now();
    while inst.exit_status().is_none() && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(inst.status_text(), "exit status 0");
    assert!(inst.alive(), "the forked child keeps the group alive");
    assert!(!inst.dead());
    assert!(get(port, "/").contains("200 OK"));
    let members = group_members(pgid);
    assert!(
        members.iter().any(|&(pid, s)| pid != pgid && s != 'Z'),
        "{members:?}"
    );
    inst.stop();
    assert_group_gone(pgid);
}

#[test]
fn a_server_printing_megabytes_does_not_block_and_its_tail_is_bounded() {
    let (site, sub) = (site(), submission(None));
    let cmd = format!("{} --spam 24", mini());
    let mut sp = spec(&cmd, sub.path(), site.path(), ConfigMode::Auto);
    sp.ready_timeout = Duration::from_secs(30);
    let inst = Instance::start(&sp, "default").unwrap();
    assert!(get(inst.port(), "/").contains("200 OK"));
    let tail = inst.output_tail();
    assert!(tail.len() <= TAIL_CAP + 100, "tail is {} bytes", tail.len());
    assert!(tail.starts_with("[... "), "{}", &tail[..80]);
    assert!(tail.contains("listening on"));
}

#[test]
fn stdin_stays_open_and_silent() {
    let (site, sub) = (site(), submission(None));
    let cmd = format!("{} --exit-on-eof", mini());
    let inst = Instance::start(
        &spec(&cmd, sub.path(), site.path(), ConfigMode::Auto),
        "default",
    )
    .unwrap();
    // No event to wait for: a closed stdin would end it at once, so it has 1 s to show.
    std::thread::sleep(Duration::from_secs(1));
    assert!(inst.alive(), "exited: {}", inst.output_tail());
    assert!(!inst.output_tail().contains("stdin closed"));
}

#[test]
fn a_crash_is_seen_as_dead_and_restart_uses_a_fresh_port() {
    let (site, sub) = (site(), submission(None));
    let cmd = format!("{} --crash-path /crash", mini());
    let mut inst = Instance::start(
        &spec(&cmd, sub.path(), site.path(), ConfigMode::Auto),
        "default",
    )
    .unwrap();
    let (port1, pgid1) = (inst.port(), inst.pgid().unwrap());
    let _ = get(port1, "/crash");
    let t = Instant::now();
    while !inst.dead() && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(inst.dead());
    // its port closes a moment before it can be reaped
    assert!(inst.settle(Duration::from_secs(2)).is_some());
    assert_eq!(inst.status_text(), "exit status 3");
    assert!(
        inst.short_tail().contains("crashing on /crash"),
        "{}",
        inst.short_tail()
    );

    inst.restart().unwrap();
    assert_ne!(inst.port(), port1);
    assert_eq!(inst.starts(), 2);
    assert_group_gone(pgid1);
    assert!(get(inst.port(), "/").contains("200 OK"));
    let conf = std::fs::read_to_string(inst.config_path()).unwrap();
    assert!(conf.contains(&format!("Listen {}\n", inst.port())));
    let pgid2 = inst.pgid().unwrap();
    drop(inst);
    assert_group_gone(pgid2);
}

#[test]
fn the_broken_configuration_is_applied() {
    let (site, sub) = (site(), submission(None));
    let inst = Instance::start(
        &spec(&mini(), sub.path(), site.path(), ConfigMode::Auto),
        "broken",
    )
    .unwrap();
    let conf = std::fs::read_to_string(inst.config_path()).unwrap();
    assert!(conf.contains("\n.html\n"), "{conf}");
    assert!(
        inst.config_notes()
            .iter()
            .any(|n| n.contains("\".html text/html\" -> \".html\"")),
        "{:?}",
        inst.config_notes()
    );
    assert!(get(inst.port(), "/index.html").starts_with("HTTP/1.1 500"));
}

#[test]
fn unknown_configuration_and_nothing_to_patch_are_errors() {
    let (site, sub) = (site(), submission(None));
    let err = Instance::start(
        &spec(&mini(), sub.path(), site.path(), ConfigMode::Auto),
        "nosuch",
    )
    .unwrap_err();
    assert!(matches!(err, StartError::UnknownConfig(_)));
    assert!(err.to_string().contains("default, broken, post"), "{err}");
    let err = Instance::start(
        &spec(&mini(), sub.path(), site.path(), ConfigMode::Patch),
        "default",
    )
    .unwrap_err();
    assert!(matches!(err, StartError::NothingToPatch(_)), "{err}");
}

/// Re-run by `ctrl_c_kills_the_started_servers` in a child process: installs the handler,
/// starts a server, prints its group id and port, then waits to be interrupted.
#[test]
fn cleanup_child() {
    let Ok(sub) = std::env::var("START_CLEANUP_CHILD_DIR") else {
        return;
    };
    harness::start::install_cleanup_handler();
    let site = PathBuf::from(std::env::var("START_CLEANUP_CHILD_SITE").unwrap());
    let cmd = format!("{} --fork", mini());
    let inst = Instance::start(
        &spec(&cmd, Path::new(&sub), &site, ConfigMode::Auto),
        "default",
    )
    .unwrap();
    println!(
        "READY {} {} {}",
        inst.pgid().unwrap(),
        inst.port(),
        inst.dir().display()
    );
    std::io::stdout().flush().unwrap();
    std::thread::sleep(Duration::from_secs(30));
    panic!("not interrupted");
}

#[test]
fn ctrl_c_kills_the_started_servers() {
    let (site, sub) = (site(), submission(None));
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "cleanup_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("START_CLEANUP_CHILD_DIR", sub.path())
        .env("START_CLEANUP_CHILD_SITE", site.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Killed (and reaped) if the test fails before it ends.
    struct Reap(std::process::Child);
    impl Drop for Reap {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut out = child.stdout.take().unwrap();
    let mut child = Reap(child);
    // The pipe is read on a thread, so that every wait for it has a time limit.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 256];
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = String::new();
    let t = Instant::now();
    // libtest prints `test cleanup_child ... ` before the line
    let ready = |s: &str| {
        s.find("READY ")
            .and_then(|i| s[i..].find('\n').map(|j| s[i..i + j].to_string()))
    };
    while ready(&seen).is_none() {
        let left = Duration::from_secs(20).saturating_sub(t.elapsed());
        match rx.recv_timeout(left) {
            Ok(bytes) => seen.push_str(&String::from_utf8_lossy(&bytes)),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                panic!("the child never got ready within 20 s: {seen}")
            }
            Err(_) => panic!("the child ended early: {seen}"),
        }
    }
    let line = ready(&seen).unwrap();
    let mut words = line.split_whitespace().skip(1);
    let pgid: i32 = words.next().unwrap().parse().unwrap();
    let _port: u16 = words.next().unwrap().parse().unwrap();
    let dir = PathBuf::from(words.next().unwrap());
    assert!(
        group_alive(pgid),
        "group {pgid}: {:?}; child said: {seen}",
        group_members(pgid)
    );
    assert!(dir.is_dir());
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.0.id() as i32, libc::SIGINT) };
    let t = Instant::now();
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "still running 20 s after SIGINT"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130), "{status:?}");
    assert_group_gone(pgid);
    assert!(
        !dir.exists(),
        "the temporary folder is removed on Ctrl-C too"
    );
}
