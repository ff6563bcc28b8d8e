//! The notification service over real HTTP, on SQLite (default) or PostgreSQL
//! (`SHOPCTL_TEST_DATABASE=postgres`). The SMTP tests (`delivery`) run a real SMTP server,
//! Python's aiosmtpd, as a child process; the helper installs it with pip when it is missing.

// Test code panics on unexpected values by design.
#![allow(clippy::unwrap_used)]

mod delivery;
mod events;
mod helpers;
mod openapi;
mod store_contract;
