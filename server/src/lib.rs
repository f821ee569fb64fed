//! The reference server for the "multi-threaded web server with ws.conf" assignment.
//!
//! Run it with [`Server::start`]; the `server` binary is a thin CLI around it.
//!
//! | module | what it does |
//! |---|---|
//! | [`config`] | ws.conf parsing, errors with file:line |
//! | [`request`] | finding and classifying a request head, size limits |
//! | [`body`] | request bodies: Content-Length or chunked, kept for POST or discarded as they arrive |
//! | [`resolve`] | target → file under DocumentRoot, traversal safety |
//! | [`confine`] | opening a path below the root fd: `openat2(RESOLVE_BENEATH)`, or a component-wise walk |
//! | [`cache`] | small files recently served, each hit checked by fstatat (inode, size, times) |
//! | [`response`] | status lines, headers, error pages, HTML escaping, file bodies |
//! | [`post`] | what POST answers |
//! | [`connection`] | per-connection loop: keep-alive, timeouts, pipelining |
//! | [`server`] | listener, thread cap, shutdown |
//! | [`live`] | the live connections: waking them at shutdown, evicting the stalest when full |
//! | [`log`] | Common Log Format access log, cached date strings |

pub mod body;
pub mod cache;
pub mod config;
pub mod confine;
pub mod connection;
pub mod live;
pub mod log;
pub mod post;
pub mod request;
pub mod resolve;
pub mod response;
pub mod server;

pub use server::{Server, ServerOptions, StartError};
