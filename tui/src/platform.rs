//! What the dashboard asks of the shop beyond reading metrics: the local processes, the logs, a
//! trace, the low-stock list, the runbooks and the actions. The command that starts the
//! dashboard implements it (for a local shop or a Kubernetes deployment); tests implement it
//! with a fake.

use std::collections::BTreeMap;

use crate::model::{LogLine, LowStock, Process, Runbook};

/// A fault to inject into, or clear from, a local service.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    /// Answer this share of API requests with 503.
    Errors(f64),
    /// Delay every API request by this many milliseconds.
    Latency(u64),
    /// Remove every injected fault.
    Clear,
}

/// The shop, for what is not a metric.
#[async_trait::async_trait]
pub trait Platform: Send + Sync + 'static {
    /// Each local service's pid and restarts (`None`: no local supervisor to ask).
    async fn processes(&self) -> Option<BTreeMap<String, Process>>;

    /// Follows `service`'s log: every batch of new lines goes to `each` until it returns false.
    async fn follow_logs(
        &self,
        service: &str,
        each: Box<dyn FnMut(Vec<LogLine>) -> bool + Send>,
    ) -> Result<(), String>;

    /// The lines of `trace_id` across services, as `shopctl logs --trace` shows them.
    async fn trace(&self, trace_id: &str) -> Result<Vec<String>, String>;

    /// The SKUs at or below the low-stock threshold.
    async fn low_stock(&self) -> Result<Vec<LowStock>, String>;

    /// The runbook `id`, if there is a file for it.
    async fn runbook(&self, id: &str) -> Option<Runbook>;

    /// Restarts `service`; says what happened. Recorded in the audit trail.
    async fn restart(&self, service: &str) -> Result<String, String>;

    /// Injects or clears a fault in `service`. Recorded in the audit trail.
    async fn fault(&self, service: &str, fault: Fault) -> Result<String, String>;

    /// Records an action that changes nothing in the shop (a runbook opened, a trace id
    /// copied) in the audit trail.
    async fn record(&self, action: &str, target: &str);
}
