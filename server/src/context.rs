//! What every connection shares: the configuration and the open document root, the file
//! cache, the registry of live connections, and whether the server is stopping.

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use crate::cache::FileCache;
use crate::config::Config;
use crate::confine::Root;
use crate::live::Live;

/// Idle time used when keep-alive is off (`KeepaliveTime 0`) or the config is broken.
pub const IDLE_FALLBACK: Duration = Duration::from_secs(10);
/// Longest time allowed for a request's head and body once its first byte arrived.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What every connection shares.
pub struct Context {
    /// `None` when ws.conf is broken: every request gets 500.
    pub config: Option<Config>,
    /// `DocumentRoot`, held open (present whenever `config` is).
    pub root: Option<Root>,
    pub access_log: bool,
    pub stopping: AtomicBool,
    /// Live connections: shutdown wakes them; when full, the stalest is evicted; a parked
    /// one whose time is up is woken to close.
    pub live: Live,
    /// Small files recently served, checked against the file system at every hit.
    pub cache: FileCache,
    /// `Allow` header value: the supported methods.
    pub allow: String,
}

impl Context {
    /// The shared state for `config` (`None`: broken), opening its `DocumentRoot` (a root
    /// that cannot be opened makes every answer 500, as a broken config does).
    pub fn new(config: Option<Config>, access_log: bool) -> Context {
        let root = config
            .as_ref()
            .and_then(|c| match Root::open(&c.document_root) {
                Ok(r) => Some(r),
                Err(e) => {
                    eprintln!(
                    "error: cannot open DocumentRoot {}: {e}; every request will be answered 500",
                    c.document_root.display()
                );
                    None
                }
            });
        let config = config.filter(|_| root.is_some());
        let allow = config
            .as_ref()
            .map(|c| {
                c.methods
                    .iter()
                    .map(|m| m.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        Context {
            config,
            root,
            access_log,
            stopping: AtomicBool::new(false),
            live: Live::default(),
            cache: FileCache::default(),
            allow,
        }
    }

    /// How long a connection may stay idle between requests.
    pub fn idle(&self) -> Duration {
        match &self.config {
            Some(c) if !c.keepalive.is_zero() => c.keepalive,
            _ => IDLE_FALLBACK,
        }
    }

    /// How long a request's head and body may take once its first byte arrived.
    pub fn request_timeout(&self) -> Duration {
        self.idle().min(REQUEST_TIMEOUT)
    }
}
