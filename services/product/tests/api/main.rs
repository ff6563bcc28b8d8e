//! Product service tests: one binary, one module per concern.
//!
//! `SHOPCTL_TEST_DATABASE=postgres` runs the API suites on the local PostgreSQL; the store
//! contract always runs on both backends.

// Test code panics on unexpected values by design.
#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_wrap,
    clippy::too_many_lines
)]

mod helpers;
mod lifecycle;
mod openapi;
mod products;
mod search;
mod store_contract;
mod validation;
