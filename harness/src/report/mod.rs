//! Writing a [`crate::outcome::RunReport`] in each output format.
