//! The one channel into the main loop: keys, resizes, ticks and what the sources found.

use std::collections::BTreeMap;

use crossterm::event::KeyEvent;

use crate::model::{
    Alert, Business, Kube, LogLine, LowStock, Probe, Process, Runbook, ServiceMetrics, SourceState,
};

/// Something the main loop reacts to.
#[derive(Debug)]
pub enum Event {
    /// A key was pressed.
    Key(KeyEvent),
    /// The terminal changed size.
    Resize,
    /// Time passed (ages and "since" shown on screen move on).
    Tick,
    /// A source found something.
    Update(Box<Update>),
    /// Stop (Ctrl-C, SIGTERM, or the key reader ended).
    Quit,
}

impl From<Update> for Event {
    fn from(update: Update) -> Self {
        Self::Update(Box::new(update))
    }
}

/// A source of data, for saying which one is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// The services' `/readyz`.
    Probes,
    /// Prometheus, or the services' `/metrics` when scraped directly.
    Metrics,
    /// Alertmanager.
    Alerts,
    /// The Kubernetes API.
    Kube,
    /// `shopctl up`'s processes.
    Processes,
    /// The inventory's low-stock list.
    Inventory,
    /// Logs.
    Logs,
}

/// What a source found.
#[derive(Debug)]
pub enum Update {
    /// A source's state changed (or was confirmed).
    Source(Source, SourceState),
    /// How metrics are read now: `prometheus` or `scrape`.
    MetricsVia(&'static str),
    /// Each service's `/readyz`.
    Probes(BTreeMap<String, Probe>),
    /// Each service's metrics.
    Metrics(BTreeMap<String, ServiceMetrics>),
    /// Business figures.
    Business(Business),
    /// The low-stock SKUs.
    LowStock(Vec<LowStock>),
    /// Firing alerts.
    Alerts(Vec<Alert>),
    /// The local processes (pid, restarts) of `shopctl up`.
    Processes(BTreeMap<String, Process>),
    /// The Kubernetes side.
    Kube(Kube),
    /// New log lines of the service followed.
    Logs(Vec<LogLine>),
    /// The lines of a trace asked for.
    Trace {
        /// Its id.
        trace_id: String,
        /// Its lines, or why it could not be read.
        lines: Result<Vec<String>, String>,
    },
    /// A runbook asked for (None: there is no file for it).
    Runbook {
        /// Its id.
        id: String,
        /// Its steps.
        runbook: Option<Runbook>,
    },
    /// How an action ended: what to tell the operator.
    Done(Result<String, String>),
}

/// The sending half of the channel.
pub type Sender = tokio::sync::mpsc::UnboundedSender<Event>;
