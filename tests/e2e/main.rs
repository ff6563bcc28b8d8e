//! Cross-service suites: one test binary.
#![allow(clippy::unwrap_used)]

mod conformance;
mod identity;
