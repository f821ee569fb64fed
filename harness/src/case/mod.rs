//! The `.case` format (reference: `cases/README.md`): finding case files, parsing them into
//! [`model::Case`], and reporting mistakes in them with `file:line:col` and a caret.

mod diagnostic;
mod duration;
mod escape;
mod lexer;
pub mod model;
mod template;

pub use diagnostic::Diagnostic;
pub use model::*;
