//! The reference server for the "multi-threaded web server with ws.conf" assignment.
//!
//! Run it with [`Server::start`]; the `server` binary is a thin CLI around it.
//!
//! | module | what it does |
//! |---|---|
//! | [`config`] | ws.conf parsing, errors with file:line |
//! | [`request`] | finding and classifying a request head, size limits |
//! | [`input`] | a connection's socket and unconsumed input: reads that wait (bodies) or not (heads) |
//! | [`body`] | request bodies: Content-Length or chunked, kept for POST or discarded as they arrive |
//! | [`resolve`] | target → file under DocumentRoot, traversal safety |
//! | [`confine`] | opening a path below the root fd: `openat2(RESOLVE_BENEATH)`, or a component-wise walk |
//! | [`conditional`] | entity tags, If-Match and If-None-Match: 304, 412 or the file (RFC 9110 §13) |
//! | [`cache`] | small files recently served, each hit checked by fstatat (inode, size, times) |
//! | [`response`] | status lines, headers, error pages, HTML escaping, file bodies |
//! | [`post`] | what POST answers |
//! | [`answer`] | what a well-formed request gets: file, cached copy, POST page, redirect, error page |
//! | [`context`] | what every connection shares: config, root, cache, live registry |
//! | [`connection`] | one connection's requests: keep-alive, pipelining, timeouts, lingering close |
//! | [`blocking`] | a worker about to wait for a client says so; writes that try without waiting first |
//! | [`poll`] | the epoll instance where connections wait for their clients |
//! | [`pool`] | worker threads, connection slots (cap, eviction, 503), the timer |
//! | [`server`] | start (config, listener) and graceful stop |
//! | [`live`] | the live connections: waking them at shutdown, evicting the stalest when full, expiring parked ones |
//! | [`log`] | Common Log Format access log, cached date strings |

pub mod answer;
pub mod blocking;
pub mod body;
pub mod cache;
pub mod conditional;
pub mod config;
pub mod confine;
pub mod connection;
pub mod context;
pub mod input;
pub mod live;
pub mod log;
pub mod poll;
pub mod pool;
pub mod post;
pub mod request;
pub mod resolve;
pub mod response;
pub mod server;

pub use server::{Server, ServerOptions, StartError};
