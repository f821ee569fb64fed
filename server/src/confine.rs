//! Opening a path under `DocumentRoot` so that no lookup can leave it, even while the tree
//! changes: there is no gap between checking a path and opening it, because the check *is*
//! the open, and the caller serves from the descriptor it got.
//!
//! - First choice: `openat2(root_fd, path, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)`. The
//!   kernel refuses any step (`..`, a symlink) that would leave the root.
//! - When the kernel has no `openat2` (`ENOSYS`, Linux < 5.6), or refuses a path it cannot
//!   prove safe (`EXDEV`: an absolute symlink, which may still point inside the root;
//!   `EAGAIN`: a rename raced with a `..`), a component-wise walk decides: each name is opened
//!   with `openat(dir_fd, name, O_PATH | O_NOFOLLOW)` (nginx's `disable_symlinks` way), a
//!   symlink is read from its own descriptor and followed only within the root, `..` from a
//!   link never goes above the root. A swapped component is thus seen either as the folder it
//!   was or as the link it became, never followed blindly.

use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Most symlinks followed in one lookup (the kernel's own limit).
const MAX_LINKS: usize = 40;

/// Whether `openat2` is known to be missing (set after the first `ENOSYS`).
static NO_OPENAT2: AtomicBool = AtomicBool::new(false);

/// Why a path could not be opened under the root.
#[derive(Debug)]
pub enum OpenError {
    /// The lookup would leave the root (a symlink pointing outside).
    Escape,
    /// Too many symlinks on the way (a loop).
    Loop,
    /// Any other failure (`ENOENT`, `ENOTDIR`, `EACCES`, ...).
    Io(io::Error),
}

/// The document root, held open: every lookup starts from this descriptor.
#[derive(Debug)]
pub struct Root {
    fd: OwnedFd,
    /// The canonical path of the root (absolute symlinks are judged against it).
    path: PathBuf,
}

/// A file or folder opened under the root, with what `fstat` said about it.
pub struct Opened {
    pub file: File,
    pub meta: std::fs::Metadata,
}

impl Root {
    /// Opens the folder `path` (which should be canonical).
    pub fn open(path: &Path) -> io::Result<Root> {
        let c = CString::new(path.as_os_str().as_bytes())?;
        let fd = cvt(unsafe {
            libc::open(
                c.as_ptr(),
                libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        })?;
        Ok(Root {
            // SAFETY: `open` returned a fresh descriptor that nothing else owns.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            path: path.to_path_buf(),
        })
    }

    /// Opens `segments` (names without `/` or NUL, none of them `..`) below the root, for
    /// reading. No name on the way may lead out of the root.
    pub fn open_beneath(&self, segments: &[&[u8]]) -> Result<Opened, OpenError> {
        if !NO_OPENAT2.load(Ordering::Relaxed) {
            match self.openat2(segments) {
                Ok(o) => return Ok(o),
                Err(e) => match e.raw_os_error() {
                    Some(libc::ENOSYS | libc::EPERM | libc::E2BIG) => {
                        NO_OPENAT2.store(true, Ordering::Relaxed)
                    }
                    Some(libc::EXDEV | libc::EAGAIN) => {}
                    Some(libc::ELOOP) => return Err(OpenError::Loop),
                    _ => return Err(OpenError::Io(e)),
                },
            }
        }
        self.walk(segments)
    }

    fn openat2(&self, segments: &[&[u8]]) -> io::Result<Opened> {
        #[repr(C)]
        struct OpenHow {
            flags: u64,
            mode: u64,
            resolve: u64,
        }
        let path = join(segments)?;
        let how = OpenHow {
            flags: (libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC) as u64,
            mode: 0,
            resolve: libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS,
        };
        // SAFETY: a valid path string and `open_how` of the size passed.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                self.fd.as_raw_fd(),
                path.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        };
        opened(cvt(fd as libc::c_int)?)
    }

    /// The component-wise lookup: `openat(O_PATH | O_NOFOLLOW)` one name at a time, symlinks
    /// read from their own descriptor and followed only within the root.
    fn walk(&self, segments: &[&[u8]]) -> Result<Opened, OpenError> {
        let mut dirs: Vec<OwnedFd> = vec![self.fd.try_clone().map_err(OpenError::Io)?];
        // Names still to look up, last one first.
        let mut todo: Vec<Vec<u8>> = segments.iter().rev().map(|s| s.to_vec()).collect();
        let mut links = 0;
        while let Some(name) = todo.pop() {
            match name.as_slice() {
                b"" | b"." => continue,
                b".." => {
                    if dirs.len() == 1 {
                        return Err(OpenError::Escape);
                    }
                    dirs.pop();
                    continue;
                }
                _ => {}
            }
            let dir = dirs.last().expect("the root is never popped");
            let c = CString::new(name.clone()).map_err(|e| OpenError::Io(e.into()))?;
            let flags = libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC;
            // SAFETY: a valid directory descriptor and path string.
            let fd = cvt(unsafe { libc::openat(dir.as_raw_fd(), c.as_ptr(), flags) })
                .map_err(OpenError::Io)?;
            // SAFETY: a fresh descriptor.
            let fd = unsafe { OwnedFd::from_raw_fd(fd) };
            let meta = File::from(fd.try_clone().map_err(OpenError::Io)?)
                .metadata()
                .map_err(OpenError::Io)?;
            let kind = meta.file_type();
            if kind.is_symlink() {
                links += 1;
                if links > MAX_LINKS {
                    return Err(OpenError::Loop);
                }
                let target = read_link(&fd).map_err(OpenError::Io)?;
                if target.first() == Some(&b'/') {
                    let rest = self.inside(&target).ok_or(OpenError::Escape)?;
                    dirs.truncate(1);
                    push_names(&mut todo, rest);
                } else {
                    push_names(&mut todo, &target);
                }
            } else if kind.is_dir() {
                dirs.push(fd);
            } else if !todo.iter().all(|n| n.is_empty() || n == b".") {
                return Err(OpenError::Io(io::Error::from_raw_os_error(libc::ENOTDIR)));
            } else {
                return reopen(dir, &c, &meta);
            }
        }
        let top = dirs.pop().expect("the root is never popped");
        let file = File::from(top);
        let meta = file.metadata().map_err(OpenError::Io)?;
        Ok(Opened { file, meta })
    }

    /// `fstatat(root, path, AT_SYMLINK_NOFOLLOW)`: what is at `path` now (a final symlink is
    /// described, not followed). Only for checking a cached file: never opens anything.
    pub fn stat_nofollow(&self, path: &std::ffi::CStr) -> io::Result<libc::stat> {
        // SAFETY: a zeroed `stat` is a valid out-parameter.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: a valid directory descriptor, path string and out-parameter.
        let r = unsafe {
            libc::fstatat(
                self.fd.as_raw_fd(),
                path.as_ptr(),
                &mut st,
                libc::AT_SYMLINK_NOFOLLOW,
            )
        };
        cvt(r)?;
        Ok(st)
    }

    /// The part of an absolute symlink target below the root, if it is inside it.
    fn inside<'t>(&self, target: &'t [u8]) -> Option<&'t [u8]> {
        let rest = target.strip_prefix(self.path.as_os_str().as_bytes())?;
        (rest.is_empty() || rest[0] == b'/').then_some(rest)
    }
}

/// Opens for reading the regular file that the walk found as `name` in `dir` (an `O_PATH`
/// descriptor cannot be read); if something else has taken its place since, refuses.
fn reopen(dir: &OwnedFd, name: &CString, seen: &std::fs::Metadata) -> Result<Opened, OpenError> {
    use std::os::unix::fs::MetadataExt;
    let flags =
        libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC;
    // SAFETY: a valid directory descriptor and path string.
    let fd =
        cvt(unsafe { libc::openat(dir.as_raw_fd(), name.as_ptr(), flags) }).map_err(|e| match e
            .raw_os_error()
        {
            Some(libc::ELOOP) => OpenError::Escape,
            _ => OpenError::Io(e),
        })?;
    let o = opened(fd).map_err(OpenError::Io)?;
    if (o.meta.dev(), o.meta.ino()) != (seen.dev(), seen.ino()) {
        return Err(OpenError::Io(io::Error::other(
            "the file was replaced while being opened",
        )));
    }
    Ok(o)
}

fn opened(fd: libc::c_int) -> io::Result<Opened> {
    // SAFETY: a fresh descriptor that nothing else owns.
    let file = unsafe { File::from_raw_fd(fd) };
    let meta = file.metadata()?;
    Ok(Opened { file, meta })
}

/// The target of the symlink open as `fd` (`O_PATH | O_NOFOLLOW`).
fn read_link(fd: &OwnedFd) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: `buf` has the length passed; an empty path reads the link `fd` names.
    let n = unsafe {
        libc::readlinkat(
            fd.as_raw_fd(),
            c"".as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    buf.truncate(n as usize);
    Ok(buf)
}

/// Queues the names of `path` so that its first name is looked up next.
fn push_names(todo: &mut Vec<Vec<u8>>, path: &[u8]) {
    todo.extend(path.split(|&b| b == b'/').rev().map(<[u8]>::to_vec));
}

/// `a/b/c` from the segments, `.` for none.
pub fn join(segments: &[&[u8]]) -> io::Result<CString> {
    if segments.is_empty() {
        return Ok(CString::new(".")?);
    }
    let mut p = Vec::with_capacity(segments.iter().map(|s| s.len() + 1).sum());
    for (i, s) in segments.iter().enumerate() {
        if i > 0 {
            p.push(b'/');
        }
        p.extend_from_slice(s);
    }
    Ok(CString::new(p)?)
}

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// The name's extension, lower-cased (`"a.TXT"` → `txt`).
pub fn extension(name: &[u8]) -> Option<String> {
    Path::new(OsStr::from_bytes(name))
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn tree() -> (tempfile::TempDir, Root) {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().canonicalize().unwrap();
        std::fs::write(d.join("secret"), "outside").unwrap();
        let root = d.join("www");
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/b/f.txt"), "inside").unwrap();
        let link = |t: &Path, at: &str| std::os::unix::fs::symlink(t, root.join(at)).unwrap();
        link(Path::new("a/b/f.txt"), "rel.txt");
        link(&root.join("a/b/f.txt"), "abs.txt");
        link(Path::new("../secret"), "out.txt");
        link(&d.join("secret"), "absout.txt");
        link(Path::new("../../.."), "a/b/up");
        link(Path::new("../b/f.txt"), "a/b/sib.txt");
        link(Path::new("loop"), "loop");
        (dir, Root::open(&root).unwrap())
    }

    fn read(r: Result<Opened, OpenError>) -> String {
        let mut s = String::new();
        r.unwrap().file.read_to_string(&mut s).unwrap();
        s
    }

    fn segs(p: &str) -> Vec<&[u8]> {
        p.split('/').map(str::as_bytes).collect()
    }

    /// Swaps `www/d` (a folder) and `www/dl` (a symlink out of the root) for 1 s while
    /// `lookup` opens `d/f.txt`: whatever it opens must be the inside file.
    fn race(lookup: impl Fn(&Root) -> Result<Opened, OpenError>) -> (usize, usize) {
        use std::sync::atomic::AtomicBool;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(d.join("www/d")).unwrap();
        std::fs::create_dir_all(d.join("out")).unwrap();
        std::fs::write(d.join("www/d/f.txt"), "inside").unwrap();
        std::fs::write(d.join("out/f.txt"), "OUTSIDE").unwrap();
        std::os::unix::fs::symlink(d.join("out"), d.join("www/dl")).unwrap();
        let root = Root::open(&d.join("www")).unwrap();
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let swapper = {
            let stop = stop.clone();
            let a = CString::new(d.join("www/d").as_os_str().as_bytes()).unwrap();
            let b = CString::new(d.join("www/dl").as_os_str().as_bytes()).unwrap();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    // SAFETY: valid path strings.
                    unsafe {
                        libc::syscall(
                            libc::SYS_renameat2,
                            libc::AT_FDCWD,
                            a.as_ptr(),
                            libc::AT_FDCWD,
                            b.as_ptr(),
                            libc::RENAME_EXCHANGE,
                        )
                    };
                }
            })
        };
        let (mut opened, mut refused) = (0, 0);
        let until = std::time::Instant::now() + std::time::Duration::from_secs(1);
        while std::time::Instant::now() < until {
            match lookup(&root) {
                Ok(o) => {
                    assert_eq!(read(Ok(o)), "inside", "a file from outside the root");
                    opened += 1;
                }
                Err(_) => refused += 1,
            }
        }
        stop.store(true, Ordering::Relaxed);
        swapper.join().unwrap();
        (opened, refused)
    }

    #[test]
    fn neither_lookup_escapes_while_a_folder_is_swapped_for_a_symlink() {
        let path: [&[u8]; 2] = [b"d", b"f.txt"];
        for (name, counts) in [
            ("openat2", race(|r| r.open_beneath(&path))),
            ("walk", race(|r| r.walk(&path))),
        ] {
            assert!(
                counts.0 > 0 && counts.1 > 0,
                "{name}: the race did not run both ways: {counts:?}"
            );
        }
    }

    #[test]
    fn both_lookups_agree() {
        let (_d, root) = tree();
        for openat2 in [true, false] {
            let open = |p: &str| {
                if openat2 {
                    root.open_beneath(&segs(p))
                } else {
                    root.walk(&segs(p))
                }
            };
            for ok in ["a/b/f.txt", "rel.txt", "abs.txt", "a/b/sib.txt"] {
                assert_eq!(read(open(ok)), "inside", "{ok} (openat2 {openat2})");
            }
            for out in [
                "out.txt",
                "absout.txt",
                "a/b/up/secret",
                "a/b/up/www/a/b/f.txt",
            ] {
                assert!(
                    matches!(open(out), Err(OpenError::Escape)),
                    "{out} (openat2 {openat2})"
                );
            }
            assert!(matches!(open("loop"), Err(OpenError::Loop)));
            assert!(
                matches!(open("nope"), Err(OpenError::Io(e)) if e.kind() == io::ErrorKind::NotFound)
            );
            assert!(
                matches!(open("a/b/f.txt/x"), Err(OpenError::Io(e)) if e.raw_os_error() == Some(libc::ENOTDIR))
            );
            assert!(open("a").unwrap().meta.is_dir());
        }
    }
}
