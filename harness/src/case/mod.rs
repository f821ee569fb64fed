//! The `.case` format (reference: `cases/README.md`): finding case files, parsing them into
//! [`model::Case`], and reporting mistakes in them with `file:line:col` and a caret.

pub mod model;

pub use model::*;
