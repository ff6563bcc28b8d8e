//! The dashboard's state and the one function that changes it: [`App::update`] takes an event
//! and says whether the screen must be redrawn. What the state asks the outside world to do
//! (follow a log, restart a service) is queued as [`Effect`]s for the main loop to carry out,
//! so the state itself never does I/O and tests drive it event by event.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::event::{Event, Source, Update};
use crate::keys::View;
use crate::model::{
    Alert, Business, Health, History, Kube, LowStock, Probe, Process, ServiceMetrics, SourceState,
};
use crate::platform::Fault;

mod command;
mod input;
mod logs;

pub use logs::Logs;

/// A service's error ratio at or above which it counts as degraded (the `HighErrorRatio`
/// alert's threshold).
pub const ERROR_RATIO: f64 = 0.05;

/// How many log lines the logs view keeps; older ones are dropped (and counted).
pub const LOG_LINES: usize = 2000;

/// The smallest terminal the views fit in.
pub const MIN_SIZE: (u16, u16) = (60, 12);

/// One service, as the overview shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Its name.
    pub name: String,
    /// What its `/readyz` said last.
    pub probe: Option<Probe>,
    /// Its local process.
    pub process: Option<Process>,
    /// Ready and desired replicas (Kubernetes).
    pub replicas: Option<(i32, i32)>,
    /// Its metrics.
    pub metrics: ServiceMetrics,
    /// Requests/s and errors/s, oldest first.
    pub history: History,
    /// Names of the alerts firing for it.
    pub alerts: Vec<String>,
    /// Its health as last computed, and since when it has been so.
    pub health: Health,
    /// When the health last changed.
    pub since: Option<DateTime<Utc>>,
}

impl Row {
    fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            probe: None,
            process: None,
            replicas: None,
            metrics: ServiceMetrics::default(),
            history: History::default(),
            alerts: Vec::new(),
            health: Health::Unknown,
            since: None,
        }
    }

    /// Its health from what is known: no answer or no ready pod is down, a failing probe or
    /// missing replicas unready, errors or alerts degraded.
    pub fn assess(&self) -> Health {
        let base = match (self.probe, self.replicas) {
            (Some(Probe::Down), _) => Health::Down,
            (_, Some((0, desired))) if desired > 0 => Health::Down,
            (Some(Probe::Unready), _) => Health::Unready,
            (_, Some((ready, desired))) if ready < desired => Health::Unready,
            (Some(Probe::Ready), _) | (None, Some(_)) => Health::Up,
            (None, None) => Health::Unknown,
        };
        if base == Health::Up
            && (self.metrics.red.error_ratio() >= ERROR_RATIO || !self.alerts.is_empty())
        {
            Health::Degraded
        } else {
            base
        }
    }

    /// Whether it needs someone.
    pub fn is_unhealthy(&self) -> bool {
        matches!(
            self.health,
            Health::Down | Health::Unready | Health::Degraded
        )
    }
}

/// What the main loop is asked to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Follow this service's log (replacing the one followed).
    FollowLogs(String),
    /// Read a trace.
    Trace(String),
    /// Read a runbook.
    Runbook(String),
    /// Restart a service.
    Restart(String),
    /// Inject or clear a fault.
    Fault(String, Fault),
    /// Copy text to the clipboard (OSC 52).
    Copy(String),
    /// Record an action that changes nothing.
    Record(&'static str, String),
}

/// A dialog over the view.
#[derive(Debug, Clone, PartialEq)]
pub enum Modal {
    /// The key bindings.
    Help,
    /// An action waiting for `y`.
    Confirm {
        /// What will happen.
        prompt: String,
        /// The action.
        effect: Effect,
    },
    /// Text to read: a runbook or a trace.
    Text {
        /// The title.
        title: String,
        /// The lines.
        lines: Vec<String>,
    },
}

/// What is being typed at the bottom line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A `:` command.
    Command(String),
    /// A `/` filter.
    Filter(String),
}

/// Everything the dashboard shows.
#[derive(Debug, Clone)]
pub struct App {
    /// The services, in the shop's order.
    pub rows: Vec<Row>,
    /// The view shown.
    pub view: View,
    /// Index of the selected row in the overview's order.
    pub selected: usize,
    /// The service the service view shows.
    pub service: Option<String>,
    /// Business figures.
    pub business: Business,
    /// Low-stock SKUs.
    pub low_stock: Vec<LowStock>,
    /// Firing alerts, worst first.
    pub alerts: Vec<Alert>,
    /// The selected alert.
    pub alert_selected: usize,
    /// The Kubernetes side.
    pub kube: Kube,
    /// `context/namespace`, when Kubernetes is watched.
    pub context: Option<String>,
    /// The logs view.
    pub logs: Logs,
    /// Each source's state.
    pub sources: BTreeMap<Source, SourceState>,
    /// How metrics are read: `prometheus` or `scrape`.
    pub metrics_via: Option<&'static str>,
    /// The overview's text filter.
    pub filter: String,
    /// What is being typed.
    pub input: Option<Input>,
    /// The dialog shown.
    pub modal: Option<Modal>,
    /// The last message to the operator, and whether it is an error.
    pub message: Option<(String, bool)>,
    /// No actions.
    pub read_only: bool,
    /// Now, for ages.
    pub now: DateTime<Utc>,
    /// Set when the operator quits.
    pub quit: bool,
    /// What the main loop must do.
    pub effects: Vec<Effect>,
}

impl App {
    /// A state for `services` that knows nothing yet.
    pub fn new(services: &[String], read_only: bool) -> Self {
        Self {
            rows: services.iter().map(|s| Row::new(s)).collect(),
            view: View::Overview,
            selected: 0,
            service: None,
            business: Business::default(),
            low_stock: Vec::new(),
            alerts: Vec::new(),
            alert_selected: 0,
            kube: Kube::default(),
            context: None,
            logs: Logs::default(),
            sources: [
                (Source::Probes, SourceState::Waiting),
                (Source::Metrics, SourceState::Waiting),
            ]
            .into_iter()
            .collect(),
            metrics_via: None,
            filter: String::new(),
            input: None,
            modal: None,
            message: None,
            read_only,
            now: Utc::now(),
            quit: false,
            effects: Vec::new(),
        }
    }

    /// Sets a source's state.
    pub fn set_source(&mut self, source: Source, state: SourceState) {
        self.sources.insert(source, state);
    }

    /// A source's state.
    pub fn source(&self, source: Source) -> &SourceState {
        self.sources.get(&source).unwrap_or(&SourceState::Off)
    }

    /// The overview's rows: filtered, what is broken on top (down, unready, degraded; then by
    /// error ratio and alerts), the shop's order otherwise.
    pub fn ordered(&self) -> Vec<&Row> {
        let needle = self.filter.to_lowercase();
        let mut rows: Vec<(usize, &Row)> = self
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| needle.is_empty() || r.name.contains(&needle))
            .collect();
        rows.sort_by(|(ia, a), (ib, b)| {
            a.health
                .cmp(&b.health)
                .then(
                    b.metrics
                        .red
                        .error_ratio()
                        .total_cmp(&a.metrics.red.error_ratio()),
                )
                .then(b.alerts.len().cmp(&a.alerts.len()))
                .then(ia.cmp(ib))
        });
        rows.into_iter().map(|(_, r)| r).collect()
    }

    /// The row of `name`.
    pub fn row(&self, name: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.name == name)
    }

    /// The service the actions apply to: the one shown (service and logs views) or selected.
    pub fn target(&self) -> Option<String> {
        match self.view {
            View::Service => self.service.clone(),
            View::Logs => self.logs.service.clone(),
            _ => self.ordered().get(self.selected).map(|r| r.name.clone()),
        }
    }

    /// Whether anything needs someone: a service not up, or an alert firing.
    pub fn unhealthy(&self) -> bool {
        self.rows.iter().any(Row::is_unhealthy) || !self.alerts.is_empty()
    }

    /// Takes one event; true when the screen must be redrawn.
    pub fn update(&mut self, event: Event) -> bool {
        match event {
            Event::Key(key) => {
                self.key(key);
                true
            }
            Event::Resize => true,
            Event::Tick => {
                self.now = Utc::now();
                // Ages on screen are shown to the second only where something is wrong.
                self.unhealthy()
            }
            Event::Update(update) => self.apply(*update),
            Event::Quit => {
                self.quit = true;
                true
            }
        }
    }

    fn apply(&mut self, update: Update) -> bool {
        match update {
            Update::Source(source, state) => {
                let changed = self.source(source) != &state;
                self.set_source(source, state);
                return changed;
            }
            Update::MetricsVia(via) => self.metrics_via = Some(via),
            Update::Probes(probes) => {
                for row in &mut self.rows {
                    row.probe = probes.get(&row.name).copied();
                }
                self.set_source(Source::Probes, SourceState::Ok);
            }
            Update::Metrics(metrics) => {
                for row in &mut self.rows {
                    let m = metrics.get(&row.name).cloned().unwrap_or_default();
                    match &m.history {
                        Some(points) => row.history.replace(points.iter().copied()),
                        None => row.history.push(m.red.rate, m.red.errors),
                    }
                    row.metrics = m;
                }
            }
            Update::Business(business) => self.business = business,
            Update::LowStock(skus) => self.low_stock = skus,
            Update::Alerts(mut alerts) => {
                alerts.sort_by(|a, b| {
                    severity_rank(&a.severity)
                        .cmp(&severity_rank(&b.severity))
                        .then(a.since.cmp(&b.since))
                        .then(a.name.cmp(&b.name))
                });
                for row in &mut self.rows {
                    row.alerts = alerts
                        .iter()
                        .filter(|a| a.service.as_deref() == Some(row.name.as_str()))
                        .map(|a| a.name.clone())
                        .collect();
                }
                self.alerts = alerts;
                self.alert_selected = self.alert_selected.min(self.alerts.len().saturating_sub(1));
            }
            Update::Processes(processes) => {
                for row in &mut self.rows {
                    row.process = processes.get(&row.name).copied();
                }
            }
            Update::Kube(kube) => {
                for row in &mut self.rows {
                    row.replicas = kube
                        .deployments
                        .iter()
                        .find(|d| d.service == row.name)
                        .map(|d| (d.ready, d.desired));
                }
                self.kube = kube;
            }
            Update::Logs(lines) => self.logs.push(lines),
            Update::Trace { trace_id, lines } => {
                self.modal = Some(Modal::Text {
                    title: format!("trace {trace_id}"),
                    lines: lines.unwrap_or_else(|e| vec![e]),
                });
            }
            Update::Runbook { id, runbook } => self.show_runbook(&id, runbook),
            Update::Done(result) => {
                self.message = Some(match result {
                    Ok(text) => (text, false),
                    Err(text) => (text, true),
                });
            }
        }
        self.assess();
        true
    }

    /// Recomputes each row's health, noting when it changed.
    fn assess(&mut self) {
        let now = self.now;
        for row in &mut self.rows {
            let health = row.assess();
            if health != row.health {
                row.health = health;
                row.since = Some(now);
            }
        }
    }

    fn show_runbook(&mut self, id: &str, runbook: Option<crate::model::Runbook>) {
        let (title, lines) = if let Some(runbook) = runbook {
            (
                format!("runbook {id}: {}", runbook.title),
                runbook
                    .steps
                    .iter()
                    .enumerate()
                    .map(|(i, s)| format!("{}. {s}", i + 1))
                    .collect(),
            )
        } else {
            // No runbook file: the alert's own annotations say what to look at.
            let alert = self
                .alerts
                .iter()
                .find(|a| a.runbook.as_deref() == Some(id));
            let mut lines = vec![format!("No runbook file for `{id}`; the alert says:")];
            if let Some(alert) = alert {
                lines.push(String::new());
                lines.push(alert.summary.clone());
                if !alert.description.is_empty() {
                    lines.push(alert.description.clone());
                }
            }
            (format!("runbook {id}"), lines)
        };
        self.modal = Some(Modal::Text { title, lines });
    }
}

fn severity_rank(severity: &str) -> u8 {
    match severity {
        "critical" | "page" => 0,
        "warning" | "ticket" => 1,
        _ => 2,
    }
}
