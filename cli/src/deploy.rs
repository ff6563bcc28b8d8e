//! Kubernetes: the platform rendered from `templates/k8s/` ([`render`]) with the [`values`]
//! of one installation. The commands (`render`) stay thin; this is the engine.

pub mod render;
pub mod values;
