//! Starting the server under test (`harness run --start 'CMD'`): the harness copies the
//! submission to a fresh folder, writes a `ws.conf` for the run there, starts CMD through the
//! shell on a free port (within `--ports`, never one another process listens on), runs the
//! cases, restarts the server when it dies (each start tried again on fresh ports when it fails),
//! and stops its whole process group at the end (or on Ctrl-C), with every descendant that left
//! the group (`setsid`, double fork): the harness is their subreaper and finds them by an
//! environment marker.
//!
//! - [`wsconf`]: generating or patching `ws.conf`, and the `config:` variants (pure text).
//! - [`process`]: the supervised process group, its output tail, readiness, stop, cleanup.
//! - [`instance`]: one prepared folder + config + process ([`Instance`], [`StartSpec`]).
//! - [`crash`]: naming how a server died (the signal, the exception line).
//! - [`files`]: a submission's files: the folders never copied nor searched, the bounded walk.
//! - [`run`]: running cases on started instances, one per configuration, with restarts.

pub mod crash;
pub mod files;
pub mod instance;
pub mod process;
pub mod run;
pub mod wsconf;

pub use instance::{ConfigMode, Instance, StartError, StartSpec};
pub use process::install_cleanup_handler;
pub use run::{run_started, run_started_with, StartEvent};
