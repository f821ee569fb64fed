//! Working out, without running anything, how to build and start a submission that has no
//! `START` file: where its `ws.conf` is (the server starts in that folder), what builds it (a
//! `BUILD` file, a Makefile → `make -B`, C/C++ sources → the compiler on the files that hold
//! `main`, Java → `javac`), and what starts it (a `START` file, the built executable, a Python
//! file that listens or has `__main__`, `java` on the class with `main`, or a committed binary,
//! which is also the fallback when the build fails).
//!
//! [`detect`] reads the submission's files only; [`Plan::start_command`] finishes the plan after
//! the build (a Makefile's executable is known only once it is made).

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::start::files::walk;
use crate::start::process::shell_quote;

/// The file in a submission that overrides `--start` for it.
pub const START_FILE: &str = "START";
/// The file in a submission that overrides `--build` for it.
pub const BUILD_FILE: &str = "BUILD";

/// Source files larger than this are not read for `main`.
const MAX_SOURCE: u64 = 2 << 20;

/// One step of a plan: the shell command (run in the submission's root) and how it was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub command: String,
    pub why: String,
}

/// How the server is started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// A known command, run in the submission's root.
    Command(Step),
    /// The executable the build makes (found after the build: the newest one it wrote).
    Built,
}

/// How one submission is built and started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The folder the server starts in, relative to the submission ("" for its root): the
    /// folder of its `ws.conf`, else of what starts it.
    pub workdir: PathBuf,
    /// The submission's `ws.conf`, relative to its root, if it has one.
    pub config: Option<PathBuf>,
    pub build: Option<Step>,
    pub start: Option<Start>,
    /// A committed executable, started when the build fails (or made nothing).
    pub fallback: Option<Step>,
    /// The committed executable [`Plan::fallback`] starts, relative to the submission.
    pub committed: Option<PathBuf>,
}

impl Plan {
    /// Where the harness writes the run's `ws.conf`: the submission's own place for it, or the
    /// folder the server starts in.
    pub fn config_file(&self) -> PathBuf {
        self.config
            .clone()
            .unwrap_or_else(|| self.workdir.join("ws.conf"))
    }

    /// Whether anything at all can start the submission.
    pub fn can_start(&self) -> bool {
        self.start.is_some() || self.fallback.is_some()
    }

    /// The start command once the build ran in `copy` (started at `built_at`), and how it was
    /// chosen. `Err` says why there is none.
    pub fn start_command(&self, copy: &Path, built_at: SystemTime) -> Result<Step, String> {
        match &self.start {
            Some(Start::Command(s)) => Ok(s.clone()),
            Some(Start::Built) => {
                let files = walk(copy);
                let fresh: Vec<&PathBuf> = files
                    .iter()
                    .filter(|f| is_binary(&copy.join(f)))
                    .filter(|f| {
                        fs::metadata(copy.join(f))
                            .and_then(|m| m.modified())
                            .is_ok_and(|t| t >= built_at)
                    })
                    .collect();
                match pick(&fresh, &self.workdir) {
                    Some(bin) => Ok(Step {
                        command: run_in(&self.workdir, &format!("exec {}", in_dir(bin))),
                        why: format!("the executable the build made: {}", bin.display()),
                    }),
                    None => self.fallback.clone().ok_or_else(|| {
                        let b = self
                            .build
                            .as_ref()
                            .map(|b| b.command.as_str())
                            .unwrap_or("");
                        format!(
                            "the build `{b}` made no executable, and the submission commits none"
                        )
                    }),
                }
            }
            None => self
                .fallback
                .clone()
                .ok_or_else(|| "no way to start it was found".to_string()),
        }
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.build {
            Some(b) => write!(f, "build `{}` ({})", b.command, b.why)?,
            None => write!(f, "no build")?,
        }
        match &self.start {
            Some(Start::Command(s)) => write!(f, "; start `{}` ({})", s.command, s.why)?,
            Some(Start::Built) => write!(f, "; start the executable the build makes")?,
            None if self.fallback.is_none() => {
                write!(f, "; NO START COMMAND (write one in {START_FILE})")?
            }
            None => {}
        }
        if let Some(fb) = &self.fallback {
            let role = if self.start.is_some() {
                "if the build fails"
            } else {
                "start"
            };
            write!(f, "; {role}: `{}` ({})", fb.command, fb.why)?;
        }
        match &self.config {
            Some(c) => write!(f, "; ws.conf: {}", c.display()),
            None => write!(f, "; no ws.conf (one is generated)"),
        }
    }
}

/// The first line of `dir/name` that is neither empty nor a `#` comment.
pub fn command_file(dir: &Path, name: &str) -> Option<String> {
    let text = fs::read_to_string(dir.join(name)).ok()?;
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
}

/// Works out the plan for the submission in `dir`. `class_start` and `class_build` are the
/// class's `--start` and `--build`: a submission's `START` and `BUILD` files override them, and
/// they override detection.
pub fn detect(dir: &Path, class_start: Option<&str>, class_build: Option<&str>) -> Plan {
    let files = walk(dir);
    let config = shallowest(
        files
            .iter()
            .filter(|f| f.file_name().is_some_and(|n| n == "ws.conf")),
    );
    let mut plan = Plan {
        workdir: config
            .as_ref()
            .and_then(|c| c.parent().map(Path::to_path_buf))
            .unwrap_or_default(),
        config,
        build: None,
        start: None,
        fallback: None,
        committed: None,
    };
    let given_start = command_file(dir, START_FILE)
        .map(|c| (c, format!("its {START_FILE} file")))
        .or_else(|| class_start.map(|c| (c.to_string(), "--start".to_string())));
    let given_build = command_file(dir, BUILD_FILE)
        .map(|c| (c, format!("its {BUILD_FILE} file")))
        .or_else(|| class_build.map(|c| (c.to_string(), "--build".to_string())));
    if let Some((command, why)) = given_build {
        plan.build = Some(Step { command, why });
    }
    if let Some((command, why)) = given_start {
        // A given command runs in the root, as it always did.
        plan.start = Some(Start::Command(Step { command, why }));
        plan.workdir = PathBuf::new();
        return plan;
    }
    let committed: Vec<&PathBuf> = files.iter().filter(|f| is_binary(&dir.join(f))).collect();
    let args = if plan.config.is_some() { "" } else { " {port}" };
    plan.committed = pick(&committed, &plan.workdir).cloned();
    plan.fallback = plan.committed.as_ref().map(|bin| Step {
        command: run_in(&plan.workdir, &format!("exec {}{args}", in_dir(bin))),
        why: format!("the committed executable {}", bin.display()),
    });
    if plan.build.is_some() {
        plan.start = Some(Start::Built);
        return plan;
    }
    if let Some(mk) = shallowest_pref(
        files.iter().filter(|f| {
            f.file_name()
                .is_some_and(|n| n == "Makefile" || n == "makefile" || n == "GNUmakefile")
        }),
        &plan.workdir,
    ) {
        let folder = mk.parent().unwrap_or(Path::new(""));
        plan.build = Some(Step {
            command: run_in(folder, "make -B"),
            why: format!("{} found; -B rebuilds every target", mk.display()),
        });
        plan.start = Some(Start::Built);
        return plan;
    }
    let has_conf = plan.config.is_some();
    if let Some((build, start)) = c_plan(dir, &files, &plan.workdir, has_conf) {
        plan.build = Some(build);
        plan.start = Some(Start::Command(start));
        return plan;
    }
    if let Some((build, start)) = java_plan(dir, &files, &plan.workdir, has_conf) {
        plan.build = Some(build);
        plan.start = Some(Start::Command(start));
        return plan;
    }
    if let Some(start) = python_plan(dir, &files, &plan.workdir, has_conf) {
        plan.start = Some(Start::Command(start));
        return plan;
    }
    if let Some(fb) = plan.fallback.take() {
        plan.start = Some(Start::Command(fb));
    }
    plan
}

/// C or C++: the files that define `main`, the best one compiled with every other source of its
/// folder (none of which may define `main`).
fn c_plan(dir: &Path, files: &[PathBuf], workdir: &Path, has_conf: bool) -> Option<(Step, Step)> {
    let sources: Vec<&PathBuf> = files.iter().filter(|f| c_kind(f).is_some()).collect();
    let mains: Vec<&PathBuf> = sources
        .iter()
        .copied()
        .filter(|f| read_small(&dir.join(f)).is_some_and(|t| defines_c_main(&t)))
        .collect();
    let main = pick(&mains, workdir)?;
    let folder = main.parent().unwrap_or(Path::new("")).to_path_buf();
    let cpp = sources
        .iter()
        .any(|f| f.parent() == Some(&folder) && c_kind(f) == Some(true));
    let mut units: Vec<String> = sources
        .iter()
        .filter(|f| f.parent() == Some(folder.as_path()))
        .filter(|f| **f == main || !mains.contains(f))
        .map(|f| shell_quote(&f.file_name().unwrap_or_default().to_string_lossy()))
        .collect();
    units.sort();
    let stem = main.file_stem().unwrap_or_default().to_string_lossy();
    let out = if stem == "main" {
        "server".to_string()
    } else {
        stem.to_string()
    };
    let compiler = if cpp { "g++" } else { "gcc" };
    let build = Step {
        command: run_in(
            &folder,
            &format!(
                "{compiler} -O2 -pthread -o {} {} -lm",
                shell_quote(&out),
                units.join(" ")
            ),
        ),
        why: format!(
            "{} defines main{}",
            main.display(),
            if mains.len() > 1 {
                format!(" (chosen among {} files that do)", mains.len())
            } else {
                String::new()
            }
        ),
    };
    let bin = folder.join(&out);
    let args = args_for(&read_small(&dir.join(main)).unwrap_or_default(), has_conf);
    let start = Step {
        command: run_in(workdir, &format!("exec {}{args}", in_dir(&bin))),
        why: format!("the compiled {}", bin.display()),
    };
    Some((build, start))
}

/// Java: the class with `public static void main`, compiled with every `.java` file under its
/// source root (the folder above its package's folders).
fn java_plan(
    dir: &Path,
    files: &[PathBuf],
    workdir: &Path,
    has_conf: bool,
) -> Option<(Step, Step)> {
    let mut classes = Vec::new();
    for f in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "java"))
    {
        let Some(text) = read_small(&dir.join(f)) else {
            continue;
        };
        if !text.contains("static void main") {
            continue;
        }
        classes.push((f.clone(), java_package(&text)));
    }
    let names: Vec<&PathBuf> = classes.iter().map(|(f, _)| f).collect();
    let main = pick(&names, workdir)?.clone();
    let package = classes.iter().find(|(f, _)| *f == main)?.1.clone();
    let mut root = main.parent().unwrap_or(Path::new("")).to_path_buf();
    if let Some(p) = &package {
        for _ in p.split('.') {
            root = root.parent().map(Path::to_path_buf).unwrap_or_default();
        }
    }
    let args = args_for(&read_small(&dir.join(&main)).unwrap_or_default(), has_conf);
    let stem = main.file_stem().unwrap_or_default().to_string_lossy();
    let class = match &package {
        Some(p) => format!("{p}.{stem}"),
        None => stem.to_string(),
    };
    let build = Step {
        command: run_in(&root, "javac $(find . -name '*.java' ! -name '._*')"),
        why: format!("{} has main", main.display()),
    };
    let start = Step {
        command: run_in(
            workdir,
            &format!("exec java -cp {} {class}{args}", in_dir(&root)),
        ),
        why: format!("the class {class}"),
    };
    Some((build, start))
}

/// Python: a file that opens a listening socket (or serves HTTP) or has `__main__`, the one
/// that listens first.
fn python_plan(dir: &Path, files: &[PathBuf], workdir: &Path, has_conf: bool) -> Option<Step> {
    let mut listening = Vec::new();
    let mut mains = Vec::new();
    for f in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "py"))
    {
        let Some(text) = read_small(&dir.join(f)) else {
            continue;
        };
        if [".listen(", "serve_forever", "HTTPServer(", "create_server("]
            .iter()
            .any(|k| text.contains(k))
        {
            listening.push(f);
        } else if text.contains("__main__") {
            mains.push(f);
        }
    }
    let (file, why) = match pick(&listening, workdir) {
        Some(f) => (f, "opens a listening socket"),
        None => (pick(&mains, workdir)?, "has __main__"),
    };
    let args = args_for(&read_small(&dir.join(file)).unwrap_or_default(), has_conf);
    Some(Step {
        command: run_in(workdir, &format!("exec python3 {}{args}", in_dir(file))),
        why: format!("{} {why}", file.display()),
    })
}

/// What a start command passes the program, from how its source reads its arguments: the port
/// (`atoi(argv[1])`, `int(sys.argv[1])`, `Integer.parseInt(args[0])`), the ws.conf path
/// (`fopen(argv[1]`, `open(sys.argv[1]`, `new File(args[0])`), else the port when there is no
/// ws.conf to read it from, else nothing.
fn args_for(source: &str, has_conf: bool) -> &'static str {
    let squeezed: String = source.chars().filter(|c| !c.is_whitespace()).collect();
    const PORT: &[&str] = &[
        "atoi(argv[1])",
        "strtol(argv[1]",
        "stoi(argv[1])",
        "int(sys.argv[1])",
        "Integer.parseInt(args[0])",
        "Integer.valueOf(args[0])",
    ];
    const CONFIG: &[&str] = &[
        "fopen(argv[1]",
        "open(argv[1]",
        "ifstream(argv[1]",
        "open(sys.argv[1]",
        "newFile(args[0])",
        "Paths.get(args[0])",
        "Path.of(args[0])",
        "FileReader(args[0])",
    ];
    if PORT.iter().any(|p| squeezed.contains(p)) {
        " {port}"
    } else if CONFIG.iter().any(|p| squeezed.contains(p)) {
        " {config}"
    } else if has_conf {
        ""
    } else {
        " {port}"
    }
}

/// `Some(true)` for C++ sources, `Some(false)` for C, `None` otherwise.
fn c_kind(f: &Path) -> Option<bool> {
    match f.extension()?.to_str()? {
        "c" => Some(false),
        "cpp" | "cc" | "cxx" | "C" => Some(true),
        _ => None,
    }
}

/// Whether C source text defines `main` (not merely mentions it in a comment or a string, in
/// the usual layouts).
fn defines_c_main(text: &str) -> bool {
    text.lines().any(|l| {
        let t = l.trim_start();
        if t.starts_with("//") || t.starts_with('*') || t.starts_with("/*") {
            return false;
        }
        let Some(i) = t.find("main") else {
            return false;
        };
        let before = t[..i].trim_end();
        let after = t[i + 4..].trim_start();
        after.starts_with('(')
            && (before.ends_with("int") || before.ends_with("void") || before.is_empty())
            && !t.ends_with(';')
    })
}

fn java_package(text: &str) -> Option<String> {
    text.lines().map(str::trim).find_map(|l| {
        l.strip_prefix("package ")
            .map(|p| p.trim_end_matches(';').trim().to_string())
    })
}

/// Whether `path` is an ELF executable with an execute bit (not a library or an object).
fn is_binary(path: &Path) -> bool {
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    if name.ends_with(".o") || name.ends_with(".a") || name.contains(".so") {
        return false;
    }
    let Ok(meta) = fs::metadata(path) else {
        return false;
    };
    if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
        return false;
    }
    let mut magic = [0u8; 4];
    fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok_and(|_| magic == *b"\x7fELF")
}

fn read_small(path: &Path) -> Option<String> {
    let meta = fs::metadata(path).ok()?;
    if meta.len() > MAX_SOURCE {
        return None;
    }
    Some(String::from_utf8_lossy(&fs::read(path).ok()?).into_owned())
}

/// The best candidate: in `workdir` first, then named like a server, then the shallowest, then
/// by name.
fn pick<'a>(candidates: &[&'a PathBuf], workdir: &Path) -> Option<&'a PathBuf> {
    candidates.iter().copied().min_by_key(|f| {
        let name = f
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .to_lowercase();
        let serverish = ["server", "httpd", "web", "ws", "main", "http"]
            .iter()
            .any(|k| name.contains(k));
        let testish = name.contains("test") || name.contains("client");
        (
            f.parent() != Some(workdir),
            testish,
            !serverish,
            f.components().count(),
            (*f).clone(),
        )
    })
}

fn shallowest<'a>(files: impl Iterator<Item = &'a PathBuf>) -> Option<PathBuf> {
    files
        .min_by_key(|f| (f.components().count(), (*f).clone()))
        .cloned()
}

/// The shallowest of `files`, one in `workdir` first.
fn shallowest_pref<'a>(
    files: impl Iterator<Item = &'a PathBuf>,
    workdir: &Path,
) -> Option<PathBuf> {
    files
        .min_by_key(|f| {
            (
                f.parent() != Some(workdir),
                f.components().count(),
                (*f).clone(),
            )
        })
        .cloned()
}

/// `cd FOLDER && CMD`, or CMD for the root.
fn run_in(folder: &Path, cmd: &str) -> String {
    if folder.as_os_str().is_empty() {
        cmd.to_string()
    } else {
        format!("cd {} && {cmd}", shell_quote(&folder.to_string_lossy()))
    }
}

/// A path of the submission as the start command names it: under `{dir}` (the instance's
/// folder, filled in at start), so that it works from any working folder.
fn in_dir(rel: &Path) -> String {
    if rel.as_os_str().is_empty() {
        "{dir}".to_string()
    } else {
        format!("{{dir}}/{}", shell_quote(&rel.to_string_lossy()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (p, text) in files {
            let path = d.path().join(p);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        d
    }

    #[test]
    fn c_main_is_recognised_in_the_usual_layouts() {
        assert!(defines_c_main("int main(int argc, char **argv) {"));
        assert!(defines_c_main("int\nmain (void)\n{"));
        assert!(defines_c_main("void main() {"));
        assert!(!defines_c_main("int main(void);"));
        assert!(!defines_c_main("// int main() {"));
        assert!(!defines_c_main("int domain(int x) {"));
    }

    #[test]
    fn a_makefile_wins_and_the_built_executable_starts_in_the_conf_folder() {
        let d = sub(&[
            ("src/Makefile", "all:\n\tgcc -o ws ws.c\n"),
            ("src/ws.c", "int main() {}\n"),
            ("src/ws.conf", "Listen 8888\n"),
        ]);
        let p = detect(d.path(), None, None);
        assert_eq!(p.build.as_ref().unwrap().command, "cd src && make -B");
        assert_eq!(p.start, Some(Start::Built));
        assert_eq!(p.config_file(), PathBuf::from("src/ws.conf"));
        assert_eq!(p.workdir, PathBuf::from("src"));
    }

    #[test]
    fn c_without_a_makefile_compiles_the_main_file_with_its_folder() {
        let d = sub(&[
            (
                "server.c",
                "#include \"util.h\"\nint main(int c, char **v) {}\n",
            ),
            ("util.c", "int f() { return 1; }\n"),
            ("client.c", "int main() {}\n"),
        ]);
        let p = detect(d.path(), None, None);
        assert_eq!(
            p.build.unwrap().command,
            "gcc -O2 -pthread -o server server.c util.c -lm"
        );
        match p.start.unwrap() {
            Start::Command(s) => assert_eq!(s.command, "exec {dir}/server {port}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn java_uses_the_package_and_its_root() {
        let d = sub(&[
            (
                "src/edu/ws/WebServer.java",
                "package edu.ws;\nclass WebServer { public static void main(String[] a) {} }\n",
            ),
            ("src/edu/ws/Util.java", "package edu.ws;\nclass Util {}\n"),
            ("ws.conf", "Listen 1\n"),
        ]);
        let p = detect(d.path(), None, None);
        assert_eq!(
            p.build.unwrap().command,
            "cd src && javac $(find . -name '*.java' ! -name '._*')"
        );
        match p.start.unwrap() {
            Start::Command(s) => assert_eq!(s.command, "exec java -cp {dir}/src edu.ws.WebServer"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn python_prefers_the_file_that_listens() {
        let d = sub(&[
            (
                "tools/test_client.py",
                "if __name__ == '__main__':\n    pass\n",
            ),
            ("app/server.py", "s.listen(5)\n"),
            ("app/ws.conf", "Listen 1\n"),
        ]);
        let p = detect(d.path(), None, None);
        assert!(p.build.is_none());
        match p.start.unwrap() {
            Start::Command(s) => {
                assert_eq!(s.command, "cd app && exec python3 {dir}/app/server.py")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn start_and_build_files_override_everything() {
        let d = sub(&[
            ("START", "# mine\n./run.sh {port}\n"),
            ("BUILD", "sh build.sh\n"),
            ("Makefile", "all:\n"),
        ]);
        let p = detect(d.path(), Some("./other"), Some("make"));
        assert_eq!(p.build.unwrap().command, "sh build.sh");
        assert_eq!(
            p.start,
            Some(Start::Command(Step {
                command: "./run.sh {port}".into(),
                why: "its START file".into()
            }))
        );
    }

    #[test]
    fn arguments_follow_how_the_source_reads_them() {
        assert_eq!(args_for("port = atoi( argv[1] );", true), " {port}");
        assert_eq!(args_for("f = open(sys.argv[1])", true), " {config}");
        assert_eq!(args_for("new File(args[0])", false), " {config}");
        assert_eq!(args_for("read('ws.conf')", true), "");
        assert_eq!(args_for("nothing", false), " {port}");
    }

    #[test]
    fn zip_leftovers_are_ignored() {
        let d = sub(&[
            ("server.py", "s.listen(1)\n"),
            ("._server.c", "\0\0int main() {"),
            ("__MACOSX/._ws.conf", "junk"),
        ]);
        let p = detect(d.path(), None, None);
        assert!(p.build.is_none() && p.config.is_none(), "{p}");
    }

    #[test]
    fn nothing_startable_says_so() {
        let d = sub(&[("README.md", "hello")]);
        let p = detect(d.path(), None, None);
        assert!(!p.can_start());
        assert!(p.to_string().contains("NO START COMMAND"), "{p}");
    }
}
