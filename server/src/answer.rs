//! What a well-formed request gets, in the order the assignment checks it: `501` for a
//! method not supported, `OPTIONS`, a cached small file, else the target resolved under the
//! root: the file (or, for POST, the page with the data), a redirect, or an error page. A
//! file, cached or not, is first held against the request's preconditions (`304`, `412`).

use std::ffi::CString;
use std::fs::File;
use std::io::{self, Read};
use std::net::TcpStream;

use crate::blocking::send_parts;
use crate::body::MAX_BODY;
use crate::cache::Cached;
use crate::conditional::{ETag, Outcome};
use crate::config::Config;
use crate::context::Context;
use crate::request::{Method, Request};
use crate::resolve::{resolve, Miss, Resolved};
use crate::response::{error_page_with, head, send_file, Persist, Sent, Status, Streaming};

/// One response being written: where to, the buffer its head is built in, and how the
/// connection continues.
pub(crate) struct Reply<'a> {
    pub(crate) sock: &'a mut TcpStream,
    pub(crate) out: &'a mut Vec<u8>,
    pub(crate) persist: Persist,
    /// Set when a large file's body is not all out yet (the socket was full): the rest.
    pub(crate) rest: Option<Streaming>,
}

/// A regular file the target resolved to, open.
struct Found<'c> {
    file: File,
    meta: std::fs::Metadata,
    content_type: &'c str,
    cache_path: Option<CString>,
}

/// Answers `req` (whose body, kept only for a supported POST, is `body`). Returns the status
/// and the body bytes sent.
pub(crate) fn answer(
    ctx: &Context,
    cfg: &Config,
    req: &Request,
    body: &[u8],
    reply: &mut Reply,
) -> io::Result<(Status, u64)> {
    reply.out.clear();
    let with_body = req.method != Method::Head;
    if !cfg.methods.contains(&req.method) {
        let why = format!("Method Not Implemented: {}", req.method.as_str());
        return reply.error(Status::NotImplemented, &why, &[], with_body);
    }
    if req.method == Method::Options {
        head(
            reply.out,
            Status::Ok,
            &[("Allow", &ctx.allow)],
            0,
            reply.persist,
        );
        reply.send(&[])?;
        return Ok((Status::Ok, 0));
    }
    let root = ctx.root.as_ref().expect("a root whenever a config");
    let key = path_of(&req.target);
    if req.method != Method::Post {
        if let Some(hit) = ctx.cache.get(key, root) {
            return reply.cached(&hit, req, with_body);
        }
    }
    match resolve(&req.target, cfg, root) {
        Ok(Resolved::File {
            file,
            meta,
            content_type,
            cache_path,
        }) => {
            let found = Found {
                file,
                meta,
                content_type,
                cache_path,
            };
            let etag = ETag::of(&found.meta);
            if let Some(unmet) = reply.unmet(req, &etag, found.meta.len())? {
                return Ok(unmet);
            }
            if req.method == Method::Post && shows_posted_data(&found) {
                return reply.page_with_data(&found, body);
            }
            reply.file(ctx, req, found, &etag, with_body)
        }
        Ok(Resolved::Redirect(location)) => {
            let why = format!("moved to {location}");
            let extra = [("Location", location.as_str())];
            reply.error(Status::MovedPermanently, &why, &extra, with_body)
        }
        Err(miss) => reply.miss(&req.target, miss, with_body),
    }
}

/// The path part of a target: what the cache is keyed by.
fn path_of(target: &str) -> &str {
    target.split(['?', '#']).next().unwrap_or("")
}

/// Whether a POST to this file gets the page with the posted data (an HTML page small enough
/// to read whole); any other file is answered as GET.
fn shows_posted_data(found: &Found) -> bool {
    found.content_type.starts_with("text/html") && found.meta.len() <= MAX_BODY
}

impl Reply<'_> {
    /// Sends the head or page built in `out`, then `body`. When the connection closes after
    /// this answer, its end may leave in the same packet.
    fn send(&mut self, body: &[u8]) -> io::Result<()> {
        let close = self.persist == Persist::Close;
        send_parts(self.sock, self.out, body, close)
    }

    /// A small file from the cache: head and body in one write.
    fn cached(
        &mut self,
        hit: &Cached,
        req: &Request,
        with_body: bool,
    ) -> io::Result<(Status, u64)> {
        let len = hit.body.len() as u64;
        if let Some(unmet) = self.unmet(req, &hit.etag, len)? {
            return Ok(unmet);
        }
        let fields = [
            ("Content-Type", hit.content_type.as_str()),
            ("ETag", hit.etag.as_str()),
        ];
        head(self.out, Status::Ok, &fields, len, self.persist);
        let body: &[u8] = if with_body { &hit.body } else { &[] };
        self.send(body)?;
        Ok((Status::Ok, body.len() as u64))
    }

    /// POST to an HTML page: the page with the posted data inserted (the extra credit).
    fn page_with_data(&mut self, found: &Found, body: &[u8]) -> io::Result<(Status, u64)> {
        let len = found.meta.len();
        let mut page = Vec::with_capacity(len as usize);
        (&found.file).take(len).read_to_end(&mut page)?;
        let page = crate::post::page_with_data(&page, body);
        let ct = [("Content-Type", found.content_type)];
        head(self.out, Status::Ok, &ct, page.len() as u64, self.persist);
        self.out.extend_from_slice(&page);
        self.send(&[])?;
        Ok((Status::Ok, page.len() as u64))
    }

    /// A file: head and body (small ones read whole, and cached on their way out; large
    /// ones streamed), or `500` when it cannot be read whole before its head goes out.
    fn file(
        &mut self,
        ctx: &Context,
        req: &Request,
        found: Found,
        etag: &ETag,
        with_body: bool,
    ) -> io::Result<(Status, u64)> {
        let len = found.meta.len();
        let fields = [
            ("Content-Type", found.content_type),
            ("ETag", etag.as_str()),
        ];
        head(self.out, Status::Ok, &fields, len, self.persist);
        let at = self.out.len();
        let close = self.persist == Persist::Close;
        match send_file(self.sock, self.out, found.file, len, with_body, close)? {
            Sent::Started(rest) => {
                self.rest = Some(rest);
                self.out.clear();
                Ok((Status::Ok, len))
            }
            Sent::All => {
                let read_whole = with_body && len <= crate::cache::MAX_FILE;
                if let (Some(path), true) = (found.cache_path, read_whole) {
                    let root = ctx.root.as_ref().expect("a root whenever a config");
                    let (key, body) = (path_of(&req.target), &self.out[at..]);
                    ctx.cache
                        .put(key, path, &found.meta, found.content_type, body, root);
                }
                self.out.clear();
                Ok((Status::Ok, if with_body { len } else { 0 }))
            }
            Sent::Nothing(e) => {
                eprintln!("error: cannot read {}: {e}", req.target);
                self.out.clear();
                let why = "the file could not be read";
                self.error(Status::InternalServerError, why, &[], with_body)
            }
        }
    }

    /// `304` or `412` when the request's preconditions say that the file whose tag is `etag`
    /// and length `len` is not to be served (RFC 9110 §13.2.2); `None`: serve it. A `304`
    /// has no content and the fields a `200` would have that §15.4.5 keeps: `ETag`, and the
    /// `Content-Length` of the `200` (§8.6 allows exactly that one), not `Content-Type`.
    fn unmet(&mut self, req: &Request, etag: &ETag, len: u64) -> io::Result<Option<(Status, u64)>> {
        let get_or_head = matches!(req.method, Method::Get | Method::Head);
        match req.preconditions.outcome(etag, get_or_head) {
            Outcome::Perform => Ok(None),
            Outcome::NotModified => {
                let tag = [("ETag", etag.as_str())];
                head(self.out, Status::NotModified, &tag, len, self.persist);
                self.send(&[])?;
                Ok(Some((Status::NotModified, 0)))
            }
            Outcome::Failed(why) => {
                let why = format!("{why} {}", req.target);
                let with_body = req.method != Method::Head;
                let failed = self.error(Status::PreconditionFailed, &why, &[], with_body)?;
                Ok(Some(failed))
            }
        }
    }

    /// Why the target cannot be served, as an error page.
    fn miss(&mut self, target: &str, miss: Miss, with_body: bool) -> io::Result<(Status, u64)> {
        let (status, why) = match miss {
            Miss::NotFound => (Status::NotFound, format!("URL does not exist: {target}")),
            Miss::Forbidden(what) => (Status::Forbidden, format!("{what}: {target}")),
            Miss::Unmapped => (
                Status::NotImplemented,
                format!("File type not supported: {target}"),
            ),
            Miss::Failed(why) => {
                eprintln!("error: {target}: {why}");
                let why = "the file could not be opened".to_string();
                (Status::InternalServerError, why)
            }
        };
        self.error(status, &why, &[], with_body)
    }

    /// An error page (its body only when `with_body`).
    fn error(
        &mut self,
        status: Status,
        why: &str,
        extra: &[(&str, &str)],
        with_body: bool,
    ) -> io::Result<(Status, u64)> {
        let n = error_page_with(self.out, status, why, extra, self.persist, with_body);
        self.send(&[])?;
        Ok((status, if with_body { n } else { 0 }))
    }
}
