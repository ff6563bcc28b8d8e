//! `shopctl-kit`: the plumbing every shopctl service shares, so that eight services behave the
//! same way: layered [`settings`], JSON [`telemetry`], Prometheus [`metrics`], one problem+json
//! [`error`] type and the [`json`] extractors that produce it, the [`db`] handle (SQLite or
//! PostgreSQL with per-backend migrations), [`auth`] extractors, W3C [`trace`] context, the
//! [`http`] middleware stack, [`health`] probes, owner-only [`files`] at rest and the [`service`]
//! runner with graceful shutdown.
//! Test support lives in `testing` behind the `testing` feature.

#![warn(missing_docs)]

pub mod admin;
pub mod audit;
pub mod auth;
pub mod client;
pub mod db;
pub mod demo;
pub mod error;
pub mod events;
pub mod files;
pub mod health;
pub mod html;
pub mod http;
pub mod json;
pub mod jwt;
pub mod maintenance;
pub mod metrics;
pub mod openapi;
pub mod retry;
pub mod service;
pub mod settings;
pub mod sql;
pub mod telemetry;
pub mod trace;
pub mod vocabulary;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use error::{ApiError, Result};
pub use json::{AppJson, AppQuery};
pub use service::{ServiceContext, shutdown_signal};
