//! Kubernetes: the platform rendered from `templates/k8s/` ([`render`]) with the [`values`]
//! of one installation, and whether a cluster can take it ([`cluster`]). The commands
//! (`render`, `bootstrap --kubernetes`) stay thin; this is the engine.

pub mod apply;
pub mod cluster;
pub mod diff;
pub mod engine;
pub mod explain;
#[cfg(test)]
mod fake;
pub mod release;
pub mod render;
pub mod secrets;
pub mod values;
pub mod wait;
