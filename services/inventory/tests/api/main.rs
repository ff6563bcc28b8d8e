//! The inventory service over real HTTP, on SQLite (default) or PostgreSQL
//! (`SHOPCTL_TEST_DATABASE=postgres`).
#![allow(clippy::unwrap_used)]

mod helpers;
mod low_stock;
mod openapi;
mod reservations;
mod stock;
mod store_contract;
