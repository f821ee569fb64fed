//! The supervised server process: `sh -c CMD` in its own process group, with an open stdin that
//! never sends, its stdout and stderr drained into a bounded tail, a readiness wait on its port,
//! and a stop that takes the whole group (TERM, a grace period, then KILL), grandchildren too.
//!
//! Every live group is kept in a global registry; [`install_cleanup_handler`] makes SIGINT,
//! SIGTERM and SIGHUP to the harness kill every registered group before the harness exits, so an
//! interrupted run leaves no server behind. Dropping a [`ServerProcess`] stops it.

use std::collections::{BTreeSet, VecDeque};
use std::fmt;
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

/// How much of the server's output is kept (the last bytes of stdout and stderr together).
pub const TAIL_CAP: usize = 64 * 1024;

/// How much of the tail goes into an error message.
pub const MESSAGE_TAIL: usize = 2000;

/// The last [`TAIL_CAP`] bytes a process wrote, and how many it wrote in all.
#[derive(Debug, Default)]
struct Tail {
    buf: VecDeque<u8>,
    total: u64,
}

impl Tail {
    fn push(&mut self, data: &[u8]) {
        self.total += data.len() as u64;
        let data = if data.len() > TAIL_CAP {
            &data[data.len() - TAIL_CAP..]
        } else {
            data
        };
        let over = (self.buf.len() + data.len()).saturating_sub(TAIL_CAP);
        self.buf.drain(..over);
        self.buf.extend(data);
    }
}

/// The registry of live process groups, and whether the harness is shutting down.
struct Registry {
    groups: BTreeSet<i32>,
    shutting_down: bool,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    groups: BTreeSet::new(),
    shutting_down: false,
});

/// Temporary folders to remove when the harness is interrupted (destructors do not run then).
static CLEANUP_DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Has `dir` removed by [`kill_all_registered`] (on Ctrl-C) unless unregistered first.
pub fn register_cleanup_dir(dir: &Path) {
    CLEANUP_DIRS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(dir.to_path_buf());
}

pub fn unregister_cleanup_dir(dir: &Path) {
    CLEANUP_DIRS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|d| d != dir);
}

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// Why a process could not be started or did not become ready.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("could not run `sh -c {command}`: {source}")]
    Spawn {
        command: String,
        source: std::io::Error,
    },
    #[error("the harness is shutting down")]
    ShuttingDown,
    #[error("the server exited before listening on port {port} ({status}){}", show_tail(.tail))]
    Exited {
        port: u16,
        status: String,
        tail: String,
    },
    #[error("another process already listens on port {port}: the harness refuses to grade it")]
    PortTaken { port: u16 },
    #[error("the server did not listen on port {port} within {}s{}", fmt_secs(*.timeout), show_tail(.tail))]
    NotListening {
        port: u16,
        timeout: Duration,
        tail: String,
    },
}

impl ProcessError {
    /// The output tail the error carries, if any.
    pub fn tail(&self) -> &str {
        match self {
            ProcessError::Exited { tail, .. } | ProcessError::NotListening { tail, .. } => tail,
            _ => "",
        }
    }
}

fn fmt_secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{}", s as u64)
    } else {
        format!("{s:.1}")
    }
}

/// `; last output:` and the tail, indented, or `; it printed nothing`.
pub fn show_tail(tail: &str) -> String {
    if tail.trim().is_empty() {
        "; it printed nothing".to_string()
    } else {
        let body: Vec<String> = tail
            .trim_end()
            .lines()
            .map(|l| format!("  | {l}"))
            .collect();
        format!("; last output:\n{}", body.join("\n"))
    }
}

/// An exit status in words: `exit status 3`, `killed by signal 11 (SIGSEGV)`.
pub fn describe_status(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        match super::crash::shell_signal(code) {
            Some(sig) => format!("exit status {code}: killed by {sig}"),
            None => format!("exit status {code}"),
        }
    } else if let Some(sig) = status.signal() {
        format!("killed by signal {sig} ({})", signal_name(sig))
    } else {
        status.to_string()
    }
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        _ => "signal",
    }
}

/// Quotes `s` for `sh` when it holds anything but plain path characters.
pub fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+:,@%=".contains(&b));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Replaces each `{name}` of `vars` in `command` by its value, shell-quoted when needed. Other
/// braces are left alone (a shell command may use `${VAR}` or `{a,b}`).
pub fn substitute(command: &str, vars: &[(&str, String)]) -> String {
    let mut out = command.to_string();
    for (name, value) in vars {
        out = out.replace(&format!("{{{name}}}"), &shell_quote(value));
    }
    out
}

/// A server started with `sh -c`, leading its own process group.
pub struct ServerProcess {
    command: String,
    /// The value of [`INSTANCE_ENV`] in its environment, which its descendants inherit.
    marker: String,
    port: u16,
    /// The pid of `sh`, which is also the process group id.
    pgid: i32,
    child: Mutex<Child>,
    status: Mutex<Option<ExitStatus>>,
    /// Kept open and never written: some servers exit when stdin closes.
    stdin: Mutex<Option<ChildStdin>>,
    tail: Arc<Mutex<Tail>>,
    stopped: Mutex<bool>,
    /// How many of the two output readers reached end-of-file.
    drained: Arc<AtomicUsize>,
    /// Set once the group was seen gone: its id may then be reused, so it is never signalled again.
    gone: AtomicBool,
}

impl fmt::Debug for ServerProcess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerProcess")
            .field("command", &self.command)
            .field("port", &self.port)
            .field("pgid", &self.pgid)
            .finish()
    }
}

impl ServerProcess {
    /// Runs `sh -c command` in `dir`, in a new process group, registered for cleanup. `port` is
    /// where it is expected to listen (the command has its placeholders substituted already).
    pub fn spawn(command: &str, dir: &Path, port: u16) -> Result<ServerProcess, ProcessError> {
        let mut reg = registry();
        if reg.shutting_down {
            return Err(ProcessError::ShuttingDown);
        }
        let marker = format!(
            "{}-{}",
            std::process::id(),
            NEXT_MARK.fetch_add(1, Ordering::SeqCst)
        );
        let mut child = spawn_noted(
            Command::new("sh")
                .arg("-c")
                .arg(command)
                .current_dir(dir)
                .env(OWNER_ENV, std::process::id().to_string())
                .env(INSTANCE_ENV, &marker)
                .process_group(0)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped()),
        )
        .map_err(|source| ProcessError::Spawn {
            command: command.to_string(),
            source,
        })?;
        let pgid = child.id() as i32;
        reg.groups.insert(pgid);
        drop(reg);

        let tail = Arc::new(Mutex::new(Tail::default()));
        let drained = Arc::new(AtomicUsize::new(0));
        let outs: Vec<Box<dyn Read + Send>> = vec![
            Box::new(child.stdout.take().expect("piped stdout")),
            Box::new(child.stderr.take().expect("piped stderr")),
        ];
        for (i, mut out) in outs.into_iter().enumerate() {
            let tail = Arc::clone(&tail);
            let drained = Arc::clone(&drained);
            // Detached: a reader ends when every holder of the pipe has exited.
            let _ = std::thread::Builder::new()
                .name(format!("server-out-{pgid}-{i}"))
                .spawn(move || {
                    let mut buf = vec![0u8; 16 * 1024];
                    loop {
                        match out.read(&mut buf) {
                            Ok(0) => break,
                            Ok(n) => tail
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .push(&buf[..n]),
                            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                            Err(_) => break,
                        }
                    }
                    drained.fetch_add(1, Ordering::SeqCst);
                });
        }
        let stdin = child.stdin.take();
        Ok(ServerProcess {
            command: command.to_string(),
            marker,
            port,
            pgid,
            child: Mutex::new(child),
            status: Mutex::new(None),
            stdin: Mutex::new(stdin),
            tail,
            stopped: Mutex::new(false),
            drained,
            gone: AtomicBool::new(false),
        })
    }

    pub fn command(&self) -> &str {
        &self.command
    }

    /// The value of [`INSTANCE_ENV`] its processes carry.
    pub fn marker(&self) -> &str {
        &self.marker
    }

    /// Whether the socket listening on its port belongs to one of its processes: `Some(false)`
    /// when another process holds the port, `None` when `/proc` cannot tell.
    pub fn owns_port(&self) -> Option<bool> {
        let inodes = listening_inodes(self.port)?;
        if inodes.is_empty() {
            return None;
        }
        let mine = marked_pids(INSTANCE_ENV, &self.marker);
        Some(mine.iter().any(|&pid| holds_socket(pid, &inodes)))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The process group id (the pid of `sh`).
    pub fn pgid(&self) -> i32 {
        self.pgid
    }

    /// The exit status of `sh` (the server itself when `sh` executed it directly), once it has
    /// exited.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        let mut status = self.status.lock().unwrap_or_else(|e| e.into_inner());
        if status.is_none() {
            if let Ok(Some(s)) = self
                .child
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .try_wait()
            {
                *status = Some(s);
            }
        }
        *status
    }

    /// Waits up to `limit` for `sh` to have exited and been reaped, and returns its status. A
    /// multi-threaded server that is exiting (its port already closed) is not reapable until
    /// every thread is gone: this bridges that moment.
    pub fn settle(&self, limit: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        loop {
            if let Some(s) = self.exit_status() {
                return Some(s);
            }
            if start.elapsed() >= limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Whether anything of the group still runs: `sh` or anything it started (a server that
    /// forks and lets its parent exit is still alive, also when it left the group with `setsid`).
    pub fn alive(&self) -> bool {
        if self.gone.load(Ordering::SeqCst) {
            return false;
        }
        let _ = self.exit_status();
        // A server that daemonized (setsid, double fork) lives on outside its group.
        let alive = group_alive(self.pgid)
            || marked_pids(INSTANCE_ENV, &self.marker)
                .into_iter()
                .any(pid_running);
        if !alive {
            self.gone.store(true, Ordering::SeqCst);
        }
        alive
    }

    /// The output so far: the last [`TAIL_CAP`] bytes of stdout and stderr, as text, preceded by
    /// a note when earlier output was dropped.
    pub fn output_tail(&self) -> String {
        self.tail_bytes(TAIL_CAP)
    }

    /// At most the last `max` bytes of output, as text.
    pub fn tail_bytes(&self, max: usize) -> String {
        let t = self.tail.lock().unwrap_or_else(|e| e.into_inner());
        let kept = t.buf.len().min(max);
        let bytes: Vec<u8> = t.buf.iter().skip(t.buf.len() - kept).copied().collect();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let dropped = t.total - kept as u64;
        if dropped > 0 {
            format!("[... {dropped} earlier bytes not shown]\n{text}")
        } else {
            text
        }
    }

    /// At most the last `max` bytes of output, once the output pipes are closed (every writer
    /// exited) or `limit` has passed: what a dead server printed last is then all there.
    pub fn final_tail(&self, max: usize, limit: Duration) -> String {
        let start = Instant::now();
        while self.drained.load(Ordering::SeqCst) < 2 && start.elapsed() < limit {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.tail_bytes(max)
    }

    /// The total number of bytes the process wrote to stdout and stderr.
    pub fn output_len(&self) -> u64 {
        self.tail.lock().unwrap_or_else(|e| e.into_inner()).total
    }

    /// Waits until `127.0.0.1:port` accepts a connection, polling every 50 ms. Fails as soon as
    /// the process group is gone, or after `timeout`, with the output tail.
    pub fn wait_ready(&self, timeout: Duration) -> Result<(), ProcessError> {
        let start = Instant::now();
        loop {
            if port_accepts(self.port, Duration::from_millis(200)) {
                return Ok(());
            }
            if !self.alive() {
                // Let it finish exiting, and the drain threads read what it wrote last.
                let status = self.settle(Duration::from_secs(1));
                let status = status
                    .map(describe_status)
                    .unwrap_or_else(|| "exited".into());
                return Err(ProcessError::Exited {
                    port: self.port,
                    status,
                    tail: self.final_tail(MESSAGE_TAIL, Duration::from_millis(500)),
                });
            }
            if start.elapsed() >= timeout {
                return Err(ProcessError::NotListening {
                    port: self.port,
                    timeout,
                    tail: self.tail_bytes(MESSAGE_TAIL),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the whole group: SIGTERM, up to `grace` for it to go, then SIGKILL, and reaps `sh`.
    /// Idempotent.
    pub fn stop(&self, grace: Duration) {
        let mut stopped = self.stopped.lock().unwrap_or_else(|e| e.into_inner());
        if *stopped {
            return;
        }
        if self.alive() {
            kill_group(self.pgid, grace);
        }
        kill_marked(INSTANCE_ENV, &self.marker, grace);
        self.gone.store(true, Ordering::SeqCst);
        // Reap sh (it is dead by now: SIGKILL cannot be ignored).
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        if let Ok(s) = child.wait() {
            let mut status = self.status.lock().unwrap_or_else(|e| e.into_inner());
            status.get_or_insert(s);
        }
        drop(child);
        self.stdin.lock().unwrap_or_else(|e| e.into_inner()).take();
        registry().groups.remove(&self.pgid);
        forget_spawned(self.pgid);
        release_port(self.port);
        reap_orphans();
        *stopped = true;
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop(Duration::from_millis(500));
    }
}

/// TERM to the group, up to `grace` for it to go, then KILL, then up to 2 s for it to go.
fn kill_group(pgid: i32, grace: Duration) {
    if !group_alive(pgid) {
        return;
    }
    // SAFETY: plain syscall; pgid is a group this module created.
    unsafe { libc::killpg(pgid, libc::SIGTERM) };
    if wait_group_gone(pgid, grace) {
        return;
    }
    unsafe { libc::killpg(pgid, libc::SIGKILL) };
    wait_group_gone(pgid, Duration::from_secs(2));
}

fn wait_group_gone(pgid: i32, limit: Duration) -> bool {
    let start = Instant::now();
    loop {
        if !group_alive(pgid) {
            return true;
        }
        if start.elapsed() >= limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether a process of group `pgid` still runs. Zombies do not count (`sh` is reaped by
/// [`ServerProcess::exit_status`], but a container's init may be slow to reap orphaned
/// grandchildren).
pub fn group_alive(pgid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    let r = unsafe { libc::kill(-pgid, 0) };
    if r != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH) {
        return false;
    }
    if !Path::new("/proc/self/stat").exists() {
        return true;
    }
    // Listing /proc then reading each entry races with fork: a member seen as a zombie may have
    // forked a child after the listing was taken. So "only zombies" counts only once a fresh
    // listing finds the same members.
    let mut previous: Option<Vec<i32>> = None;
    for _ in 0..10 {
        let members = group_members(pgid);
        if members
            .iter()
            .any(|&(_, state)| state != 'Z' && state != 'X')
        {
            return true;
        }
        let pids: Vec<i32> = members.iter().map(|&(pid, _)| pid).collect();
        if previous.as_ref() == Some(&pids) {
            return false;
        }
        previous = Some(pids);
    }
    false
}

/// The processes of group `pgid` and their states (`R`, `S`, `Z`, ...), read from `/proc`.
pub fn group_members(pgid: i32) -> Vec<(i32, char)> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        if fields.len() < 3 {
            continue;
        }
        let state = fields[0].chars().next().unwrap_or('?');
        if fields[2].parse::<i32>() == Ok(pgid) {
            out.push((pid, state));
        }
    }
    out
}

/// Whether `127.0.0.1:port` accepts a TCP connection within `timeout`.
pub fn port_accepts(port: u16, timeout: Duration) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&addr, timeout).is_ok()
}

/// Whether a connection to `127.0.0.1:port` is refused outright (nothing listens). A timeout is
/// not a refusal: a busy or hung server still holds its port.
pub fn port_refused(port: u16, timeout: Duration) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    match TcpStream::connect_timeout(&addr, timeout) {
        Ok(_) => false,
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionRefused,
    }
}

/// A port that is free now on every address (bound on `0.0.0.0:0`, then released).
pub fn free_port() -> std::io::Result<u16> {
    let l = std::net::TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0))?;
    Ok(l.local_addr()?.port())
}

/// The process groups registered now (started and not yet stopped).
pub fn registered_groups() -> Vec<i32> {
    registry().groups.iter().copied().collect()
}

/// Kills every registered group (TERM, a short grace, KILL), removes the registered temporary
/// folders, and refuses new starts from then on. For the harness's own exit paths;
/// [`install_cleanup_handler`] calls it on a signal.
pub fn kill_all_registered() {
    let groups: Vec<i32> = {
        let mut reg = registry();
        reg.shutting_down = true;
        reg.groups.iter().copied().collect()
    };
    for &g in &groups {
        // SAFETY: plain syscall on groups this module created.
        unsafe { libc::killpg(g, libc::SIGTERM) };
    }
    let start = Instant::now();
    while groups.iter().any(|&g| group_alive(g)) && start.elapsed() < Duration::from_millis(500) {
        std::thread::sleep(Duration::from_millis(20));
    }
    for &g in &groups {
        if group_alive(g) {
            unsafe { libc::killpg(g, libc::SIGKILL) };
        }
    }
    kill_marked(OWNER_ENV, &std::process::id().to_string(), Duration::ZERO);
    let dirs = std::mem::take(&mut *CLEANUP_DIRS.lock().unwrap_or_else(|e| e.into_inner()));
    for d in dirs {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// Makes SIGINT, SIGTERM and SIGHUP to the harness kill every registered server group, then exit
/// with 128 + the signal number (130 for Ctrl-C). Installed once; later calls do nothing. The
/// signals are handled on a thread of their own, not in signal context.
pub fn install_cleanup_handler() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        become_subreaper();
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let mut signals = match signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("warning: cannot handle signals, an interrupted run may leave servers running: {e}");
                return;
            }
        };
        let _ = std::thread::Builder::new().name("start-cleanup".into()).spawn(move || {
            if let Some(sig) = signals.forever().next() {
                kill_all_registered();
                std::process::exit(128 + sig);
            }
        });
    });
}

/// The environment variable every started server (and all it starts) carries: the harness's pid.
pub const OWNER_ENV: &str = "HARNESS_OWNER";
/// The environment variable naming one started server: `PID-N`.
pub const INSTANCE_ENV: &str = "HARNESS_INSTANCE";

static NEXT_MARK: AtomicUsize = AtomicUsize::new(1);

/// The pids the harness spawned itself (whose `Child` reaps them): never reaped by
/// [`reap_orphans`].
static SPAWNED: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

/// Spawns `cmd`, noting its pid so that [`reap_orphans`] never reaps it (under the same lock,
/// so no reaping happens between the spawn and the note).
pub fn spawn_noted(cmd: &mut Command) -> std::io::Result<Child> {
    let mut spawned = SPAWNED.lock().unwrap_or_else(|e| e.into_inner());
    let child = cmd.spawn()?;
    spawned.insert(child.id() as i32);
    Ok(child)
}

/// Forgets a pid noted with [`note_spawned`], once its `Child` reaped it.
pub fn forget_spawned(pid: i32) {
    SPAWNED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&pid);
}

/// Reaps the zombies the harness adopted as subreaper (a daemonizing server's intermediate
/// processes), leaving its own spawned children to their `Child`.
pub fn reap_orphans() {
    let me = std::process::id() as i32;
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return;
    };
    // Held throughout, so that a child spawned meanwhile is never taken for an orphan.
    let spawned = SPAWNED.lock().unwrap_or_else(|e| e.into_inner());
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(i) = stat.rfind(')') else { continue };
        let f: Vec<&str> = stat[i + 1..].split_whitespace().collect();
        if f.len() > 1 && f[0] == "Z" && f[1].parse::<i32>() == Ok(me) && !spawned.contains(&pid) {
            let mut status = 0;
            // SAFETY: reaps exactly this zombie child, without blocking.
            unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        }
    }
}

/// Stops whatever still carries this harness's [`OWNER_ENV`] marker (a server or a build's
/// daemon that outlived its own stop): for the harness's normal exit.
pub fn sweep() {
    kill_marked(
        OWNER_ENV,
        &std::process::id().to_string(),
        Duration::from_millis(200),
    );
}

/// Makes the harness the reaper of every orphan among its descendants
/// (`PR_SET_CHILD_SUBREAPER`): a server that forks, calls `setsid` or double-forks stays below
/// the harness, where [`kill_marked`] finds and reaps it. Once per process; harmless when the
/// kernel refuses.
pub fn become_subreaper() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: plain prctl with integer arguments.
        unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    });
}

/// The processes whose environment holds `name=value` (read from `/proc/PID/environ`; a
/// process that cleared its environment is not found). The harness itself is never included.
pub fn marked_pids(name: &str, value: &str) -> Vec<i32> {
    let needle = format!("{name}={value}");
    let me = std::process::id() as i32;
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(env) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        if env.split(|&b| b == 0).any(|v| v == needle.as_bytes()) {
            out.push(pid);
        }
    }
    out
}

/// Whether `pid` runs (a zombie does not).
fn pid_running(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().next())
            .is_some_and(|st| st != "Z" && st != "X"),
        Err(_) => false,
    }
}

/// Stops every process marked `name=value` that escaped its process group (a `setsid`, a
/// double fork): TERM, up to `grace`, KILL; then reaps those that became the harness's children.
pub fn kill_marked(name: &str, value: &str, grace: Duration) {
    let pids: Vec<i32> = marked_pids(name, value)
        .into_iter()
        .filter(|&p| pid_running(p))
        .collect();
    if pids.is_empty() {
        reap(&marked_pids(name, value));
        return;
    }
    for &p in &pids {
        // SAFETY: plain syscall on a process carrying this harness's marker.
        unsafe { libc::kill(p, libc::SIGTERM) };
    }
    let start = Instant::now();
    while pids.iter().any(|&p| pid_running(p)) && start.elapsed() < grace {
        std::thread::sleep(Duration::from_millis(20));
    }
    for &p in &pids {
        if pid_running(p) {
            unsafe { libc::kill(p, libc::SIGKILL) };
        }
    }
    let start = Instant::now();
    while pids.iter().any(|&p| pid_running(p)) && start.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(10));
    }
    reap(&pids);
}

/// Reaps those of `pids` that are zombie children of the harness (orphans it adopted as
/// subreaper), never waiting.
fn reap(pids: &[i32]) {
    let me = std::process::id() as i32;
    for &p in pids {
        let parent = std::fs::read_to_string(format!("/proc/{p}/stat"))
            .ok()
            .and_then(|s| {
                let i = s.rfind(')')?;
                s[i + 1..].split_whitespace().nth(1)?.parse::<i32>().ok()
            });
        if parent == Some(me) && !registry().groups.contains(&p) {
            let mut status = 0;
            // SAFETY: waits only for this exact child, without blocking.
            unsafe { libc::waitpid(p, &mut status, libc::WNOHANG) };
        }
    }
}

/// The inodes of the sockets listening on TCP `port` (IPv4 and IPv6), from `/proc/net`; `None`
/// when it cannot be read.
fn listening_inodes(port: u16) -> Option<Vec<u64>> {
    let mut out = Vec::new();
    let mut readable = false;
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        readable = true;
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 10 || f[3] != "0A" {
                continue;
            }
            let local_port = f[1]
                .rsplit_once(':')
                .and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
            if local_port == Some(port) {
                if let Ok(inode) = f[9].parse() {
                    out.push(inode);
                }
            }
        }
    }
    readable.then_some(out)
}

/// Whether `pid` has one of the socket `inodes` open.
fn holds_socket(pid: i32, inodes: &[u64]) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten().any(|fd| {
        std::fs::read_link(fd.path()).is_ok_and(|l| {
            l.to_str()
                .and_then(|s| s.strip_prefix("socket:["))
                .and_then(|s| s.strip_suffix(']'))
                .and_then(|s| s.parse::<u64>().ok())
                .is_some_and(|i| inodes.contains(&i))
        })
    })
}

/// The ports `--ports LO-HI` allows, if given.
static PORT_RANGE: Mutex<Option<(u16, u16)>> = Mutex::new(None);
/// Ports handed out and not yet released, so that two instances never share one.
static PORTS_IN_USE: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
static NEXT_PORT: AtomicUsize = AtomicUsize::new(0);

/// Restricts every port chosen from now on to `lo..=hi` (`--ports`).
pub fn set_port_range(lo: u16, hi: u16) {
    *PORT_RANGE.lock().unwrap_or_else(|e| e.into_inner()) = Some((lo.min(hi), lo.max(hi)));
}

/// A port for a new start: free on every address, nothing listening on it, not handed to
/// another instance; within the `--ports` range when one was set. Reserved until the process
/// started on it is stopped ([`release_port`]).
pub fn pick_port() -> std::io::Result<u16> {
    let range = *PORT_RANGE.lock().unwrap_or_else(|e| e.into_inner());
    let usable = |p: u16, in_use: &BTreeSet<u16>| {
        !in_use.contains(&p)
            && std::net::TcpListener::bind((Ipv4Addr::UNSPECIFIED, p)).is_ok()
            && !port_accepts(p, Duration::from_millis(100))
    };
    let mut in_use = PORTS_IN_USE.lock().unwrap_or_else(|e| e.into_inner());
    let port = match range {
        None => (0..50)
            .map(|_| free_port())
            .find(|p| p.as_ref().map_or(true, |&p| usable(p, &in_use)))
            .unwrap_or_else(|| Err(std::io::Error::other("no free port found in 50 tries")))?,
        Some((lo, hi)) => {
            let n = (hi - lo) as usize + 1;
            let first = NEXT_PORT.fetch_add(1, Ordering::SeqCst);
            (0..n)
                .map(|k| lo + ((first + k) % n) as u16)
                .find(|&p| usable(p, &in_use))
                .ok_or_else(|| {
                    std::io::Error::other(format!(
                        "no free port in --ports {lo}-{hi}: each is taken or listened on"
                    ))
                })?
        }
    };
    in_use.insert(port);
    Ok(port)
}

/// Gives back a port [`pick_port`] handed out.
pub fn release_port(port: u16) {
    PORTS_IN_USE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&port);
}
