//! The storefront's own behaviour, with no service behind it (every upstream points at a closed
//! port): assets, the friendly error pages, the session cookies, CSRF enforcement and the
//! guest cart. The journeys through the whole shop are in `tests/e2e/storefront.rs`.
#![allow(clippy::unwrap_used)]

mod helpers;
mod session;
