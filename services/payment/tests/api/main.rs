//! Payment service tests: one binary, one module per concern.
//!
//! `SHOPCTL_TEST_DATABASE=postgres` runs the API suites on the local PostgreSQL (the check of
//! the SQLite file's bytes then has nothing to read); the store contract always runs on both.

// Test code panics on unexpected values by design.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

mod authorize;
mod helpers;
mod openapi;
mod payments;
mod store_contract;
