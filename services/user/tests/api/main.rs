//! Identity service tests: one binary, one module per concern.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

mod accounts;
mod helpers;
mod openapi;
mod sessions;
mod store_contract;
