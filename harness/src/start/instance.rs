//! One started instance of the server under test: a fresh temporary copy of the submission's
//! folder, a fresh copy of the bundled site as `www/` in it, a `ws.conf` for this run (generated,
//! or the submission's own patched), a free port, and the supervised process.
//!
//! Layout of the temporary folder (`{dir}`): the submission's files (without `.git`, `target`,
//! `node_modules`, files over [`MAX_FILE_BYTES`], and its own `www/`), `www/` = the bundled site
//! (`{root}`), `ws.conf` (`{config}`; or wherever [`StartSpec::config_file`] says, e.g.
//! `src/ws.conf`). A relative DocumentRoot in the submission's own file is kept, and the site is
//! put where it points instead (`{root}` then names that folder). The command runs in `{dir}`.

use crate::declared::{Declared, SECRET, SECRET_FILE};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

use super::files::{walk, SKIPPED_DIRS};
use super::process::{self, describe_status, show_tail, ProcessError, ServerProcess, MESSAGE_TAIL};
use super::wsconf::{self, RootMode, UnknownVariant};

/// How many times a start is tried (each on a fresh port) when the server exits at start or
/// another process holds its port.
pub const START_ATTEMPTS: u32 = 4;

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// `1 line changed`, `2 lines changed`.
fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// So that a server that strips the leading `/` of an absolute DocumentRoot (reading it as
/// relative to its folder) also finds the site: a link named after the root's first component
/// (`tmp` -> `/tmp`) in `folder`, unless that name is taken.
fn strip_slash_link(folder: &Path, root: &Path) {
    let Some(std::path::Component::Normal(first)) = root.components().nth(1) else {
        return;
    };
    let link = folder.join(first);
    if link.symlink_metadata().is_err() {
        let _ = std::os::unix::fs::symlink(Path::new("/").join(first), link);
    }
}

/// Files larger than this are not copied (core dumps, videos, build caches).
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// How the started server gets its `ws.conf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ConfigMode {
    /// Patch the submission's `ws.conf` when it has one, else generate one.
    #[default]
    Auto,
    /// Write the canonical file (for courses whose handout fixed the format).
    Generate,
    /// Keep the submission's own `ws.conf` and rewrite only the port, root and keep-alive values.
    Patch,
}

/// What to start, and how.
#[derive(Debug, Clone)]
pub struct StartSpec {
    /// The shell command, run by `sh -c` in the instance's folder, with placeholders:
    /// `{port}` (the free port chosen for this start), `{config}` (the absolute path of the
    /// `ws.conf` written for it), `{root}` (the copy of the site it must serve) and `{dir}` (the
    /// instance's folder: the copy of the submission). Paths are shell-quoted when needed.
    pub command: String,
    /// The submission's folder, copied afresh for each instance.
    pub dir: PathBuf,
    /// The bundled site, copied as `www/` into each instance's folder.
    pub site: PathBuf,
    pub config_mode: ConfigMode,
    /// Where the run's `ws.conf` goes, relative to the copy of `dir` (`ws.conf`, or where the
    /// submission keeps its own, e.g. `src/ws.conf`); `{config}` names it.
    pub config_file: PathBuf,
    /// The `KeepaliveTime` to configure: the `keepalive` variable the cases test with.
    pub keepalive: u32,
    /// How long the server may take to listen (including any build the command does).
    pub ready_timeout: Duration,
    /// Between SIGTERM and SIGKILL when stopping.
    pub grace: Duration,
}

/// Why an instance could not be started.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    UnknownConfig(#[from] UnknownVariant),
    #[error("--config patch: {0} has no ws.conf to patch (use --config generate or auto)")]
    NothingToPatch(PathBuf),
    #[error("preparing the server's folder: {what}: {source}")]
    Prepare { what: String, source: io::Error },
    #[error("`{command}` (config `{variant}`): {source}")]
    Process {
        command: String,
        variant: String,
        source: ProcessError,
    },
}

impl StartError {
    /// Whether the server ran and exited by itself (as opposed to never listening, or the
    /// harness failing to prepare it).
    pub fn server_exited(&self) -> bool {
        matches!(
            self,
            StartError::Process {
                source: ProcessError::Exited { .. },
                ..
            }
        )
    }

    /// The server's output tail, if it got that far.
    pub fn output_tail(&self) -> &str {
        match self {
            StartError::Process { source, .. } => source.tail(),
            _ => "",
        }
    }
}

/// Plants [`SECRET_FILE`] beside the site root, so that the traversal cases can tell a file
/// from outside the root by its content (`requires: planted`).
fn plant_secret(root: &Path) -> Result<(), StartError> {
    let Some(parent) = root.parent() else {
        return Ok(());
    };
    let path = parent.join(SECRET_FILE);
    let page = format!("<html><body>{SECRET}: this file is outside DocumentRoot</body></html>\n");
    fs::write(&path, page).map_err(prep(format!("writing {}", path.display())))
}

fn prep(what: impl Into<String>) -> impl FnOnce(io::Error) -> StartError {
    let what = what.into();
    move |source| StartError::Prepare { what, source }
}

/// A running server, in a folder of its own, removed when the instance is dropped.
#[derive(Debug)]
pub struct Instance {
    spec: StartSpec,
    variant: String,
    /// Removed on drop (after the process is stopped: field order).
    proc_: Option<ServerProcess>,
    temp: tempfile::TempDir,
    port: u16,
    notes: Vec<String>,
    /// How many times it was (re)started: 1 after `start`.
    starts: u32,
    /// The site's copy it serves now.
    root: PathBuf,
    /// The `ws.conf` text it runs with now.
    config_text: String,
    /// Start attempts that failed before one succeeded.
    retries: Vec<String>,
}

impl Instance {
    /// Prepares a fresh folder and starts the server in it with the configuration `variant`
    /// (`default`, `broken`, ...), waiting until it listens.
    pub fn start(spec: &StartSpec, variant: &str) -> Result<Instance, StartError> {
        // Fail on an unknown variant before copying anything.
        wsconf::apply_variant("", variant)?;
        let temp = tempfile::Builder::new()
            .prefix("harness-start-")
            .tempdir()
            .map_err(prep("creating a temporary folder"))?;
        process::register_cleanup_dir(temp.path());
        let mut notes = Vec::new();
        copy_tree(&spec.dir, temp.path(), true, &mut notes)
            .map_err(prep(format!("copying {}", spec.dir.display())))?;
        let mut inst = Instance {
            spec: spec.clone(),
            variant: variant.to_string(),
            proc_: None,
            temp,
            port: 0,
            notes,
            starts: 0,
            root: PathBuf::new(),
            config_text: String::new(),
            retries: Vec::new(),
        };
        inst.launch()?;
        Ok(inst)
    }

    /// Stops the server and starts it again in the same folder on a fresh port, with a fresh
    /// copy of the site and a freshly written `ws.conf` (any build the command did is kept).
    pub fn restart(&mut self) -> Result<(), StartError> {
        self.stop();
        self.proc_ = None;
        self.launch()
    }

    /// [`Instance::launch_once`], tried again on a fresh port when the server exits at start,
    /// or another process holds its port ([`START_ATTEMPTS`] in all), or does not listen in time
    /// (once more: a server that never listens should not cost the whole timeout many times).
    fn launch(&mut self) -> Result<(), StartError> {
        let mut attempt = 1;
        loop {
            match self.launch_once() {
                Ok(()) => {
                    if attempt > 1 {
                        self.retries.push(format!(
                            "the server started at attempt {attempt} (each on a fresh port)"
                        ));
                    }
                    return Ok(());
                }
                Err(e) => {
                    let retry = match &e {
                        StartError::Process { source, .. } => match source {
                            ProcessError::Exited { .. } | ProcessError::PortTaken { .. } => {
                                attempt < START_ATTEMPTS
                            }
                            ProcessError::NotListening { .. } => attempt < 2,
                            _ => false,
                        },
                        _ => false,
                    };
                    if !retry {
                        return Err(e);
                    }
                    self.retries.push(format!(
                        "start attempt {attempt} failed: {}",
                        first_line(&e.to_string())
                    ));
                    attempt += 1;
                }
            }
        }
    }

    /// Writes `ws.conf` for a fresh port, copies the site where it says, spawns and waits.
    fn launch_once(&mut self) -> Result<(), StartError> {
        let dir = self.temp.path().to_path_buf();
        let port = process::pick_port().map_err(prep("finding a free port"))?;
        self.port = port;
        let config = dir.join(&self.spec.config_file);
        let first = self.starts == 0;
        let root = match self.write_config(&config, port, first) {
            Ok(root) => root,
            Err(e) => {
                process::release_port(port);
                return Err(e);
            }
        };
        self.root = root.clone();
        self.starts += 1;

        let command = process::substitute(
            &self.spec.command,
            &[
                ("port", port.to_string()),
                ("config", config.display().to_string()),
                ("root", root.display().to_string()),
                ("dir", dir.display().to_string()),
            ],
        );
        let wrap = |source| StartError::Process {
            command: self.spec.command.clone(),
            variant: self.variant.clone(),
            source,
        };
        let p = match ServerProcess::spawn(&command, &dir, port) {
            Ok(p) => p,
            Err(e) => {
                process::release_port(port);
                return Err(wrap(e));
            }
        };
        let ready = p.wait_ready(self.spec.ready_timeout).and_then(|()| {
            if p.owns_port() == Some(false) {
                return Err(ProcessError::PortTaken { port });
            }
            Ok(())
        });
        let grace = self.spec.grace;
        self.proc_ = Some(p);
        if let Err(e) = ready {
            if let Some(p) = &self.proc_ {
                p.stop(grace);
            }
            return Err(wrap(e));
        }
        Ok(())
    }

    /// Puts a fresh copy of the site at `root` (removing what was there).
    fn copy_site(&self, root: &Path) -> Result<(), StartError> {
        if root.exists() {
            fs::remove_dir_all(root).map_err(prep(format!("removing {}", root.display())))?;
        }
        fs::create_dir_all(root).map_err(prep(format!("creating {}", root.display())))?;
        let mut ignored = Vec::new();
        copy_tree(&self.spec.site, root, false, &mut ignored).map_err(prep(format!(
            "copying the site {}",
            self.spec.site.display()
        )))?;
        plant_secret(root)
    }

    /// Where a relative document root `rel`, read from the folder of `config`, lands in the
    /// copy; `None` when it would leave the copy (also through a symbolic link), or is the copy
    /// itself or a folder holding the submission's code (replacing it by the site would delete
    /// that code).
    fn relative_site(&self, config: &Path, rel: &str) -> Option<PathBuf> {
        let dir = self.temp.path();
        let mut path = config.parent()?.to_path_buf();
        for part in Path::new(rel).components() {
            match part {
                std::path::Component::Normal(p) => path.push(p),
                std::path::Component::ParentDir => {
                    path.pop();
                }
                _ => {}
            }
        }
        if !path.starts_with(dir) || path == dir || config.starts_with(&path) {
            return None;
        }
        // Never through a link: the site is copied there after removing what is there.
        let mut at = dir.to_path_buf();
        for part in path.strip_prefix(dir).ok()?.components() {
            at.push(part);
            if at
                .symlink_metadata()
                .is_ok_and(|m| m.file_type().is_symlink())
            {
                return None;
            }
        }
        let has_code = walk(&path).iter().any(|f| {
            let ext = f.extension().and_then(|e| e.to_str()).unwrap_or("");
            matches!(
                ext,
                "c" | "cc" | "cpp" | "h" | "py" | "java" | "rs" | "go" | "conf"
            )
        });
        (!has_code).then_some(path)
    }

    /// Writes `ws.conf` at `config` (generated, or patched per the spec's mode, then the
    /// variant applied), copies the site where it points, and returns that folder. The notes
    /// (lines changed, warnings) are recorded on the first start only.
    fn write_config(
        &mut self,
        config: &Path,
        port: u16,
        record: bool,
    ) -> Result<PathBuf, StartError> {
        let dir = self.temp.path().to_path_buf();
        let default_root = dir.join("www");
        let original = self.spec.dir.join(&self.spec.config_file);
        let has_own = original.is_file();
        let patching = match self.spec.config_mode {
            ConfigMode::Generate => false,
            ConfigMode::Patch if !has_own => {
                return Err(StartError::NothingToPatch(self.spec.dir.clone()))
            }
            ConfigMode::Patch => true,
            ConfigMode::Auto => has_own,
        };
        let mut notes = Vec::new();
        let mut root = default_root.clone();
        let text = if patching {
            self.patched(&original, config, port, &mut root, &mut notes)?
        } else {
            notes.push(format!(
                "ws.conf: generated{}",
                if has_own {
                    " (the submission's own is replaced: --config generate)"
                } else {
                    " (the submission has none)"
                }
            ));
            wsconf::generate(port, &root, self.spec.keepalive)
        };
        let (text, changes) = wsconf::apply_variant(&text, &self.variant)?;
        if !changes.is_empty() {
            notes.push(format!("ws.conf: configuration `{}`:", self.variant));
            notes.extend(changes.iter().map(|c| format!("  {c}")));
        }
        self.copy_site(&root)?;
        if let Some(parent) = config.parent() {
            fs::create_dir_all(parent).map_err(prep(format!("creating {}", parent.display())))?;
            if root == default_root {
                strip_slash_link(parent, &root);
            }
        }
        fs::write(config, &text).map_err(prep(format!("writing {}", config.display())))?;
        self.config_text = text;
        if record {
            self.notes.extend(notes);
        }
        Ok(root)
    }

    /// The submission's own ws.conf (`original`) patched for `port`; `root` becomes where its
    /// relative DocumentRoot points, when that is kept. Notes what was changed.
    fn patched(
        &self,
        original: &Path,
        config: &Path,
        port: u16,
        root: &mut PathBuf,
        notes: &mut Vec<String>,
    ) -> Result<String, StartError> {
        let dir = self.temp.path();
        let bytes = fs::read(original).map_err(prep(format!("reading {}", original.display())))?;
        let own = match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => {
                notes.push(
                    "warning: ws.conf is not valid UTF-8; invalid bytes were replaced".to_string(),
                );
                String::from_utf8_lossy(e.as_bytes()).into_owned()
            }
        };
        let ka = self.spec.keepalive;
        let mut p = wsconf::patch_with(&own, port, &*root, ka, RootMode::KeepRelative);
        match p
            .relative_root
            .as_deref()
            .map(|r| (r, self.relative_site(config, r)))
        {
            Some((rel, Some(at))) => {
                let folder = config
                    .parent()
                    .and_then(|c| c.strip_prefix(dir).ok())
                    .map(|c| c.display().to_string())
                    .filter(|c| !c.is_empty())
                    .unwrap_or_else(|| "the submission's root".into());
                notes.push(format!(
                    "ws.conf: the document root {rel:?} is kept as the submission wrote it \
                     (relative to {folder}); the site is put there"
                ));
                *root = at;
            }
            Some((rel, None)) => {
                notes.push(format!(
                    "ws.conf: the relative document root {rel:?} points outside the copy or at \
                     its code; replaced by an absolute path"
                ));
                p = wsconf::patch_with(&own, port, &*root, ka, RootMode::Absolute);
            }
            None => {}
        }
        notes.push(format!(
            "ws.conf: the submission's own {}, patched ({})",
            self.spec.config_file.display(),
            plural(p.changes.len(), "line changed", "lines changed")
        ));
        notes.extend(p.changes.iter().map(|c| format!("  {c}")));
        notes.extend(p.warnings.iter().map(|w| format!("warning: {w}")));
        Ok(p.text)
    }

    /// The `ws.conf` the server runs with now: its path and its text (after patching and the
    /// configuration variant).
    pub fn config_file(&self) -> (PathBuf, &str) {
        (self.config_path(), &self.config_text)
    }

    /// Notes about start attempts that failed before one succeeded.
    pub fn retries(&self) -> &[String] {
        &self.retries
    }

    /// The port it listens on now.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The copy of the site it serves (what `body file` checks must read).
    pub fn root(&self) -> PathBuf {
        self.root.clone()
    }

    /// The folder it runs in (the copy of the submission).
    pub fn dir(&self) -> &Path {
        self.temp.path()
    }

    pub fn config_path(&self) -> PathBuf {
        self.temp.path().join(&self.spec.config_file)
    }

    /// What the ws.conf it runs with declares (types, methods, DirectoryIndex).
    pub fn declared(&self) -> Declared {
        Declared::parse(&self.config_text, "the submission's ws.conf")
    }

    /// The `config:` it was started with.
    pub fn variant(&self) -> &str {
        &self.variant
    }

    /// What was done to prepare it: files skipped, how `ws.conf` was made, each line changed,
    /// each warning (those start with `warning:`).
    pub fn config_notes(&self) -> &[String] {
        &self.notes
    }

    /// The warnings among [`Instance::config_notes`].
    pub fn warnings(&self) -> Vec<&str> {
        self.notes
            .iter()
            .filter(|n| n.starts_with("warning:"))
            .map(|s| s.as_str())
            .collect()
    }

    /// How many times it has been started (1, plus one per restart).
    pub fn starts(&self) -> u32 {
        self.starts
    }

    /// The process group of the server (for checks that nothing is left).
    pub fn pgid(&self) -> Option<i32> {
        self.proc_.as_ref().map(|p| p.pgid())
    }

    pub fn output_tail(&self) -> String {
        self.proc_
            .as_ref()
            .map(|p| p.output_tail())
            .unwrap_or_default()
    }

    /// The last [`MESSAGE_TAIL`] bytes of output, formatted for a message. For a dead server,
    /// waits a moment (at most 500 ms) for the last of its output to be read.
    pub fn short_tail(&self) -> String {
        let tail = match &self.proc_ {
            Some(p) if !p.alive() => p.final_tail(MESSAGE_TAIL, Duration::from_millis(500)),
            Some(p) => p.tail_bytes(MESSAGE_TAIL),
            None => String::new(),
        };
        show_tail(&tail)
    }

    pub fn exit_status(&self) -> Option<ExitStatus> {
        self.proc_.as_ref().and_then(|p| p.exit_status())
    }

    /// Waits up to `limit` for the process to finish exiting; its exit status, if it did.
    pub fn settle(&self, limit: Duration) -> Option<ExitStatus> {
        self.proc_.as_ref().and_then(|p| p.settle(limit))
    }

    /// `exit status 3`, `killed by signal 11 (SIGSEGV)`, or `still running`.
    pub fn status_text(&self) -> String {
        self.exit_status()
            .map(describe_status)
            .unwrap_or_else(|| "still running".to_string())
    }

    /// Whether its process group still runs.
    pub fn alive(&self) -> bool {
        self.proc_.as_ref().is_some_and(|p| p.alive())
    }

    /// Whether it is dead for the cases: its processes are gone, or its port refuses connections
    /// (this opens and closes one connection when the processes still run).
    pub fn dead(&self) -> bool {
        !self.alive() || process::port_refused(self.port, Duration::from_secs(1))
    }

    /// Stops the whole process group (TERM, the spec's grace, KILL). The folder stays until drop.
    pub fn stop(&self) {
        if let Some(p) = &self.proc_ {
            p.stop(self.spec.grace);
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.stop();
        // the folder itself is removed by `temp`'s own drop, right after
        process::unregister_cleanup_dir(self.temp.path());
    }
}

/// Copies `from` into the existing folder `to`: files with their permissions, symlinks as
/// symlinks. Skips [`SKIPPED_DIRS`], files over [`MAX_FILE_BYTES`] and files it cannot read,
/// noting each; with `skip_www`, also a top-level `www` (the bundled site replaces it). Never
/// copies `to` into itself (a `--dir` that holds the temporary folder, such as `/tmp`).
fn copy_tree(from: &Path, to: &Path, skip_www: bool, notes: &mut Vec<String>) -> io::Result<()> {
    let dest = fs::canonicalize(to)?;
    copy_dir(from, to, &dest, skip_www, notes)
}

fn copy_dir(
    from: &Path,
    to: &Path,
    dest: &Path,
    skip_www: bool,
    notes: &mut Vec<String>,
) -> io::Result<()> {
    let mut entries: Vec<_> = fs::read_dir(from)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        let src = entry.path();
        let dst = to.join(&name);
        let ty = entry.file_type()?;
        let name_str = name.to_string_lossy();
        if ty.is_dir() {
            if SKIPPED_DIRS.contains(&name_str.as_ref()) {
                continue;
            }
            if skip_www && name_str == "www" {
                notes.push("the submission's own www/ is replaced by the bundled site".to_string());
                continue;
            }
            if fs::canonicalize(&src).is_ok_and(|c| c == dest) {
                continue;
            }
            fs::create_dir(&dst)?;
            copy_dir(&src, &dst, dest, false, notes)?;
        } else if ty.is_symlink() {
            let target = fs::read_link(&src)?;
            std::os::unix::fs::symlink(target, &dst)?;
        } else if ty.is_file() {
            let len = entry.metadata()?.len();
            if len > MAX_FILE_BYTES {
                notes.push(format!(
                    "not copied (over {} MiB): {}",
                    MAX_FILE_BYTES >> 20,
                    src.display()
                ));
                continue;
            }
            if let Err(e) = fs::copy(&src, &dst) {
                notes.push(format!("warning: not copied ({e}): {}", src.display()));
            }
        }
        // sockets, fifos, devices: not copied
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_tree_skips_vcs_build_and_huge_and_own_www() {
        let src = tempfile::tempdir().unwrap();
        let s = src.path();
        fs::create_dir_all(s.join(".git/objects")).unwrap();
        fs::write(s.join(".git/HEAD"), "x").unwrap();
        fs::create_dir_all(s.join("target/debug")).unwrap();
        fs::create_dir_all(s.join("www")).unwrap();
        fs::write(s.join("www/index.html"), "theirs").unwrap();
        fs::create_dir_all(s.join("src/www")).unwrap();
        fs::write(s.join("src/www/keep"), "nested www is kept").unwrap();
        fs::write(s.join("server.py"), "print(1)").unwrap();
        std::os::unix::fs::symlink("server.py", s.join("link.py")).unwrap();
        let big = fs::File::create(s.join("core")).unwrap();
        big.set_len(MAX_FILE_BYTES + 1).unwrap();
        let dst = tempfile::tempdir().unwrap();
        let mut notes = Vec::new();
        copy_tree(s, dst.path(), true, &mut notes).unwrap();
        let d = dst.path();
        assert!(d.join("server.py").is_file());
        assert_eq!(
            fs::read_link(d.join("link.py")).unwrap(),
            PathBuf::from("server.py")
        );
        assert!(d.join("src/www/keep").is_file());
        assert!(!d.join(".git").exists() && !d.join("target").exists() && !d.join("www").exists());
        assert!(!d.join("core").exists());
        assert_eq!(notes.len(), 2, "{notes:?}");
    }

    #[test]
    fn copy_tree_never_copies_the_destination_into_itself() {
        let src = tempfile::tempdir().unwrap();
        fs::write(src.path().join("a"), "a").unwrap();
        let dst = src.path().join("copy");
        fs::create_dir(&dst).unwrap();
        let mut notes = Vec::new();
        copy_tree(src.path(), &dst, false, &mut notes).unwrap();
        assert!(dst.join("a").is_file());
        assert!(!dst.join("copy").exists());
    }
}
