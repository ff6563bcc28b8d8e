//! The order service over real HTTP, on SQLite (default) or PostgreSQL
//! (`SHOPCTL_TEST_DATABASE=postgres`): checkout and its saga against in-process stand-ins for
//! the catalog, inventory and payment services (`helpers::Upstreams`), which `contracts` holds to
//! those services' committed OpenAPI documents; recovery of a saga whose instance was killed
//! mid-payment (`saga`); the store contract on both backends; and the committed document.
//! Checkout across the real services runs in `tests/e2e/checkout.rs`, with the whole platform.
#![allow(clippy::unwrap_used)]

mod checkout;
mod contracts;
mod helpers;
mod openapi;
mod saga;
mod store_contract;
