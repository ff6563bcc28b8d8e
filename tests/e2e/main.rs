//! Cross-service suites: one test binary.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

mod bench_scripts;
mod checkout;
mod conformance;
mod edge;
mod house;
mod identity;
mod monitoring;
mod storefront;
