//! Starting and stopping the server: read the config, bind the listener, hand both to the
//! worker pool ([`crate::pool`]).
//!
//! Shutdown: stop accepting, wake every connection waiting for its client (they close), let
//! responses being written finish (for at most [`SHUTDOWN_GRACE`]), then return.

use std::net::{SocketAddr, TcpListener};
use std::os::unix::io::AsRawFd;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::config;
use crate::context::Context;
use crate::pool::Pool;

/// How long shutdown waits for responses in flight.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// How to run the server.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Path of ws.conf; a relative `DocumentRoot` in it is taken from this file's folder.
    pub config: PathBuf,
    /// `ADDR:PORT` overriding the file's `Listen` (e.g. `127.0.0.1:0`).
    pub listen: Option<String>,
    /// Most connections served at once; past it, 503 and close.
    pub max_connections: usize,
    /// Write one Common Log Format line per request to stdout.
    pub access_log: bool,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            config: PathBuf::from("ws.conf"),
            listen: None,
            max_connections: 512,
            access_log: true,
        }
    }
}

/// Why the server could not start at all.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(
        "cannot read the config file `{}` (looked for {}): {source}\n  \
         hint: run the server from the folder that holds ws.conf, or pass --config PATH",
        .path.display(),
        absolute(.path)
    )]
    ConfigUnreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "cannot listen on {addr}: {source}\n  \
         hint: another program may be using that port; change Listen in ws.conf or pass --listen ADDR:PORT"
    )]
    Bind {
        addr: String,
        source: std::io::Error,
    },
}

/// `path` made absolute, for messages.
fn absolute(path: &std::path::Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

/// A running server. Dropping it stops it too.
pub struct Server {
    addr: SocketAddr,
    ctx: Arc<Context>,
    pool: Arc<Pool>,
    stopped: bool,
}

impl Server {
    /// Reads the config (a broken one still starts, serving 500s; a missing file is an Err),
    /// binds, starts the workers.
    pub fn start(opts: ServerOptions) -> anyhow::Result<Server> {
        Self::start_with(opts, |_| {})
    }

    /// [`Server::start`], calling `on_bound` with the bound address before the first
    /// connection is accepted (the binary prints its `listening on` line there).
    pub fn start_with(
        opts: ServerOptions,
        on_bound: impl FnOnce(SocketAddr),
    ) -> anyhow::Result<Server> {
        let loaded = config::load(&opts.config).map_err(|source| StartError::ConfigUnreadable {
            path: opts.config.clone(),
            source,
        })?;
        for w in &loaded.warnings {
            eprintln!("warning: {w}");
        }
        let config = usable(loaded.config, &opts.config);
        let addr = opts
            .listen
            .clone()
            .or(loaded.listen)
            .unwrap_or_else(|| format!("0.0.0.0:{}", config::DEFAULT_PORT));
        let listener = listen(&addr)?;
        let local = listener.local_addr()?;
        let ctx = Arc::new(Context::new(config, opts.access_log));
        on_bound(local);
        let pool = Pool::start(listener, ctx.clone(), opts.max_connections)?;
        Ok(Server {
            addr: local,
            ctx,
            pool,
            stopped: false,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stop accepting, let in-flight responses finish (bounded), stop the workers.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if std::mem::replace(&mut self.stopped, true) {
            return;
        }
        self.ctx.stopping.store(true, Ordering::SeqCst);
        self.pool.stop_accepting();
        self.ctx.live.wake_all();
        self.pool.close(SHUTDOWN_GRACE);
        crate::log::flush();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The config, or `None` (every request answered 500) after printing each of its errors.
fn usable(
    config: Result<config::Config, Vec<config::ConfigError>>,
    path: &std::path::Path,
) -> Option<config::Config> {
    match config {
        Ok(c) => Some(c),
        Err(errors) => {
            for e in &errors {
                eprintln!("error: {e}");
            }
            eprintln!(
                "error: {} problem(s) in {}: every request will be answered 500 Internal Server Error \
                 until the file is fixed and the server restarted",
                errors.len(),
                path.display()
            );
            None
        }
    }
}

/// Binds `addr` with a deep accept queue: under a flood of connections (slow clients
/// reconnecting as they are evicted) a full queue drops SYNs, and a dropped SYN costs its
/// client a 1 s retransmission. The kernel caps the queue at net.core.somaxconn.
fn listen(addr: &str) -> Result<TcpListener, StartError> {
    let listener = TcpListener::bind(addr).map_err(|source| StartError::Bind {
        addr: addr.to_string(),
        source,
    })?;
    // SAFETY: a listening socket; listen() again only changes its backlog.
    unsafe { libc::listen(listener.as_raw_fd(), 4096) };
    Ok(listener)
}
