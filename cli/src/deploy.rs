//! Kubernetes: the platform rendered from `templates/k8s/` ([`render`]) with the [`values`]
//! of one installation, and whether a cluster can take it ([`cluster`]). The commands
//! (`render`, `bootstrap --kubernetes`) stay thin; this is the engine.

pub mod apply;
pub mod cluster;
pub mod explain;
pub mod render;
pub mod secrets;
pub mod values;
pub mod wait;
