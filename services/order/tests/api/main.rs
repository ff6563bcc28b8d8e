//! The order service's own surface. Checkout across services is exercised in
//! `tests/e2e/checkout.rs`, which runs the whole platform.
#![allow(clippy::unwrap_used)]

mod openapi;
mod store_contract;
