//! `server [--config PATH] [--listen ADDR:PORT] [--max-connections N] [--no-access-log]`
//!
//! Prints `listening on ADDR:PORT` once started, serves until SIGINT/SIGTERM, then finishes
//! the responses in flight and exits 0. Exit 2: the config file cannot be read; exit 1: the
//! server cannot start for another reason (e.g. the port is taken).

use std::io::Write;
use std::path::PathBuf;

use clap::Parser;
use server::{Server, ServerOptions, StartError};

/// Reference HTTP/1.x server for the ws.conf assignment.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    /// ws.conf to use (a relative DocumentRoot is taken from its folder)
    #[arg(long, short, value_name = "PATH", default_value = "ws.conf")]
    config: PathBuf,
    /// listen on ADDR:PORT instead of the config's Listen (port 0: any free port)
    #[arg(long, value_name = "ADDR:PORT")]
    listen: Option<String>,
    /// most connections served at once; past it, new ones get 503
    #[arg(long, value_name = "N", default_value_t = ServerOptions::default().max_connections as u64,
          value_parser = clap::value_parser!(u64).range(1..))]
    max_connections: u64,
    /// do not write the access log to stdout
    #[arg(long)]
    no_access_log: bool,
}

fn main() {
    let cli = Cli::parse();
    let opts = ServerOptions {
        config: cli.config,
        listen: cli.listen,
        max_connections: cli.max_connections as usize,
        access_log: !cli.no_access_log,
    };
    // Block the signals before any thread starts, so only the waiting thread receives them.
    let mut signals = match signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
    ]) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot install signal handlers: {e}");
            std::process::exit(1);
        }
    };
    let server = Server::start_with(opts, |addr| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on {addr}");
        let _ = out.flush();
    });
    let server = match server {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            let code = match e.downcast_ref::<StartError>() {
                Some(StartError::ConfigUnreadable { .. }) => 2,
                _ => 1,
            };
            std::process::exit(code);
        }
    };
    if let Some(sig) = signals.forever().next() {
        eprintln!("received signal {sig}: finishing responses in flight, then exiting");
    }
    server.shutdown();
    let _ = std::io::stdout().flush();
}
