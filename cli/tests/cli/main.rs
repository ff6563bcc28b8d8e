//! The `shopctl` binary as a user and a CI pipeline meet it: exit codes, one-line errors,
//! JSON output, configuration mistakes, seeding and clean shutdown.
#![allow(clippy::unwrap_used)]

mod config;
mod events;
mod helpers;
mod seed;
mod serve;
mod user;
