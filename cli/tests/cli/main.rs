//! The `shopctl` binary as a user and a CI pipeline meet it: exit codes, one-line errors,
//! JSON output, configuration mistakes, seeding and clean shutdown.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

mod backup;
mod bootstrap;
mod config;
mod dash;
mod docs;
mod events;
mod helpers;
mod logs;
mod monitor;
mod ops;
mod render;
mod replicas;
mod saga;
mod seed;
mod serve;
mod up;
mod user;
mod velero;
