//! A small cache of small files (up to [`MAX_FILE`]), so that a repeated `GET` costs one
//! `fstatat` instead of `openat2` + `fstat` + `pread` + `close`.
//!
//! Every hit is checked against the file system: the cached entry remembers the device,
//! inode, size, and modification and change times of the file it was read from, and a hit
//! stands only if `fstatat(root, path, AT_SYMLINK_NOFOLLOW)` still reports the same ones.
//! The bytes served always come from a descriptor that [`crate::confine`] opened below the
//! root; the `fstatat` only decides whether they are still the file's current bytes. If a
//! folder on the way has become a symlink out of the root, the inode differs, the hit fails,
//! and the request takes the full, confined path (which refuses it).
//!
//! Bounded: at most [`MAX_ENTRIES`] files and [`MAX_BYTES`] in all; when full, it starts over.

use std::collections::HashMap;
use std::ffi::CString;
use std::os::unix::fs::MetadataExt;
use std::sync::{Arc, RwLock};

use crate::conditional::ETag;
use crate::confine::Root;

/// Largest file cached.
pub const MAX_FILE: u64 = 64 * 1024;
const MAX_ENTRIES: usize = 1024;
const MAX_BYTES: usize = 8 * 1024 * 1024;

/// What identifies one version of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    dev: u64,
    ino: u64,
    size: i64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    pub fn of(m: &std::fs::Metadata) -> Stamp {
        Stamp {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size() as i64,
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        }
    }

    fn of_stat(s: &libc::stat) -> Stamp {
        Stamp {
            dev: s.st_dev,
            ino: s.st_ino,
            size: s.st_size,
            mtime: (s.st_mtime, s.st_mtime_nsec),
            ctime: (s.st_ctime, s.st_ctime_nsec),
        }
    }
}

/// One cached file.
#[derive(Debug)]
pub struct Cached {
    /// Its path below the root, as looked up by `fstatat`.
    path: CString,
    stamp: Stamp,
    /// Its entity tag (of the same stat as `stamp`).
    pub etag: ETag,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// The cache, shared by every connection; keyed by the path part of the request target.
#[derive(Default)]
pub struct FileCache {
    inner: RwLock<Inner>,
}

#[derive(Default)]
struct Inner {
    map: HashMap<String, Arc<Cached>>,
    bytes: usize,
}

impl FileCache {
    /// The cached file for `key`, if it is still the file at its path.
    pub fn get(&self, key: &str, root: &Root) -> Option<Arc<Cached>> {
        let hit = self
            .inner
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .map
            .get(key)
            .cloned()?;
        (stat(root, &hit.path) == Some(hit.stamp)).then_some(hit)
    }

    /// Remembers `body`, read from the file `meta` describes, found at `path` below the root
    /// for the target `key` — unless `path` does not lead to that same file without following
    /// a final symlink (then every later check would fail anyway).
    pub fn put(
        &self,
        key: &str,
        path: CString,
        meta: &std::fs::Metadata,
        content_type: &str,
        body: &[u8],
        root: &Root,
    ) {
        let stamp = Stamp::of(meta);
        if body.len() as u64 > MAX_FILE || stat(root, &path) != Some(stamp) {
            return;
        }
        let entry = Arc::new(Cached {
            path,
            stamp,
            etag: ETag::of(meta),
            content_type: content_type.to_string(),
            body: body.to_vec(),
        });
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if inner.map.len() >= MAX_ENTRIES || inner.bytes + body.len() > MAX_BYTES {
            inner.map.clear();
            inner.bytes = 0;
        }
        inner.bytes += body.len();
        if let Some(old) = inner.map.insert(key.to_string(), entry) {
            inner.bytes -= old.body.len();
        }
    }
}

fn stat(root: &Root, path: &CString) -> Option<Stamp> {
    root.stat_nofollow(path).ok().map(|s| Stamp::of_stat(&s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hit_stands_only_while_the_file_is_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(d.join("www/a")).unwrap();
        std::fs::create_dir_all(d.join("out")).unwrap();
        std::fs::write(d.join("www/a/f.txt"), "one").unwrap();
        std::fs::write(d.join("out/f.txt"), "one").unwrap();
        let root = Root::open(&d.join("www")).unwrap();
        let cache = FileCache::default();
        let put = |cache: &FileCache| {
            let meta = std::fs::metadata(d.join("www/a/f.txt")).unwrap();
            let body = std::fs::read(d.join("www/a/f.txt")).unwrap();
            let path = CString::new("a/f.txt").unwrap();
            cache.put("/a/f.txt", path, &meta, "text/plain", &body, &root);
        };
        put(&cache);
        assert_eq!(cache.get("/a/f.txt", &root).unwrap().body, b"one");
        assert!(cache.get("/other", &root).is_none());
        // Rewritten in place: a miss.
        std::fs::write(d.join("www/a/f.txt"), "two").unwrap();
        assert!(cache.get("/a/f.txt", &root).is_none());
        put(&cache);
        assert_eq!(cache.get("/a/f.txt", &root).unwrap().body, b"two");
        // The folder swapped for a symlink out of the root: a miss.
        std::fs::rename(d.join("www/a"), d.join("www/a.old")).unwrap();
        std::os::unix::fs::symlink(d.join("out"), d.join("www/a")).unwrap();
        assert!(cache.get("/a/f.txt", &root).is_none());
    }

    #[test]
    fn a_final_symlink_is_not_cached() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().canonicalize().unwrap();
        std::fs::write(d.join("f.txt"), "x").unwrap();
        std::os::unix::fs::symlink("f.txt", d.join("l.txt")).unwrap();
        let root = Root::open(&d).unwrap();
        let cache = FileCache::default();
        let meta = std::fs::metadata(d.join("f.txt")).unwrap();
        let path = CString::new("l.txt").unwrap();
        cache.put("/l.txt", path, &meta, "text/plain", b"x", &root);
        assert!(cache.get("/l.txt", &root).is_none());
    }
}
