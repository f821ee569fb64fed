//! The `harness` binary: see `harness --help` and the crate's library docs.

fn main() {
    harness::start::install_cleanup_handler();
    std::process::exit(harness::cli::main());
}
