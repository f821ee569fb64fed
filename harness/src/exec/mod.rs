//! Running cases against a target: connections, reading responses by framing, checks.
