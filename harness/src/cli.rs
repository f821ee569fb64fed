//! The `harness` command line.
