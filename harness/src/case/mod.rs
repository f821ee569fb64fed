//! The `.case` format (reference: `cases/README.md`): finding case files, parsing them into
//! [`model::Case`], and reporting mistakes in them with `file:line:col` and a caret.

mod diagnostic;
mod discover;
mod duration;
mod escape;
mod lexer;
pub mod model;
mod parser;
mod steps;
mod template;
pub mod timing;

pub use diagnostic::Diagnostic;
pub use discover::{discover, load, LoadError};
pub use model::*;
pub use parser::{parse_case, DEFAULT_TIMEOUT};
pub use steps::DEFAULT_DELAY;
pub use template::variables_in_source;
