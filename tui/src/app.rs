//! The dashboard's state and the one function that changes it: [`App::update`] takes an event
//! and says whether the screen must be redrawn. What the state asks the outside world to do
//! (follow a log, restart a service) is queued as [`Effect`]s for the main loop to carry out,
//! so the state itself never does I/O and tests drive it event by event.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent};

use crate::event::{Event, Source, Update};
use crate::keys::{self, Action, View};
use crate::model::{
    Alert, Business, Health, History, Kube, LogLine, LowStock, Probe, Process, ServiceMetrics,
    SourceState, level_rank,
};
use crate::platform::Fault;

/// A service's error ratio at or above which it counts as degraded (the `HighErrorRatio`
/// alert's threshold).
pub const ERROR_RATIO: f64 = 0.05;

/// How many log lines the logs view keeps; older ones are dropped (and counted).
pub const LOG_LINES: usize = 2000;

/// The smallest terminal the views fit in.
pub const MIN_SIZE: (u16, u16) = (60, 12);

/// Minimum levels the logs view cycles through.
const LEVELS: [(u8, &str); 4] = [(0, "all"), (2, "info"), (3, "warn"), (4, "error")];

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

/// The logs view's state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Logs {
    /// The service followed.
    pub service: Option<String>,
    /// The newest lines, at most [`LOG_LINES`].
    pub lines: VecDeque<LogLine>,
    /// Lines dropped from the front.
    pub dropped: u64,
    /// Index into the minimum levels the logs view cycles through.
    pub level: usize,
    /// Text the lines must contain.
    pub filter: String,
    /// The selected line among the shown ones; `None` follows the end.
    pub selected: Option<usize>,
}

impl Logs {
    /// The minimum level's name.
    pub fn level_name(&self) -> &'static str {
        LEVELS[self.level].1
    }

    /// The lines the filters let through.
    pub fn shown(&self) -> Vec<&LogLine> {
        let min = LEVELS[self.level].0;
        let needle = self.filter.to_lowercase();
        self.lines
            .iter()
            .filter(|l| min == 0 || level_rank(l.level.as_deref()) >= min)
            .filter(|l| needle.is_empty() || l.text.to_lowercase().contains(&needle))
            .collect()
    }

    fn push(&mut self, lines: Vec<LogLine>) {
        for line in lines {
            if self.lines.len() == LOG_LINES {
                self.lines.pop_front();
                self.dropped += 1;
            }
            self.lines.push_back(line);
        }
    }
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

    fn key(&mut self, key: KeyEvent) {
        if let Some(input) = self.input.take() {
            self.typing(input, key);
            return;
        }
        if let Some(modal) = self.modal.take() {
            self.in_modal(modal, key);
            return;
        }
        let Some(action) = keys::lookup(key, self.read_only) else {
            return;
        };
        self.message = None;
        match action {
            Action::Help => self.modal = Some(Modal::Help),
            Action::Command => self.input = Some(Input::Command(String::new())),
            Action::Filter => {
                let current = if self.view == View::Logs {
                    self.logs.filter.clone()
                } else {
                    self.filter.clone()
                };
                self.input = Some(Input::Filter(current));
            }
            Action::NextView | Action::PreviousView => {
                let at = View::ALL.iter().position(|v| *v == self.view).unwrap_or(0);
                let step = if action == Action::NextView {
                    1
                } else {
                    View::ALL.len() - 1
                };
                let next = View::ALL[(at + step) % View::ALL.len()];
                self.show(next);
            }
            Action::Up => self.step(-1),
            Action::Down => self.step(1),
            Action::Open => self.open(),
            Action::Back => {
                if self.view == View::Logs && !self.logs.filter.is_empty() {
                    self.logs.filter.clear();
                } else if !self.filter.is_empty() {
                    self.filter.clear();
                } else {
                    self.view = View::Overview;
                }
            }
            Action::Logs => {
                if let Some(service) = self.target() {
                    self.follow(&service);
                    self.view = View::Logs;
                }
            }
            Action::Level => {
                self.logs.level = (self.logs.level + 1) % LEVELS.len();
                self.logs.selected = None;
            }
            Action::CopyTrace => self.copy_trace(),
            Action::Restart => self.confirm_restart(None),
            Action::InjectErrors => self.confirm_fault(None, Fault::Errors(0.5)),
            Action::InjectLatency => self.confirm_fault(None, Fault::Latency(2000)),
            Action::ClearFaults => self.confirm_fault(None, Fault::Clear),
            Action::Quit => self.quit = true,
        }
    }

    /// Shows `view`; the service and logs views start on the selected service.
    fn show(&mut self, view: View) {
        if matches!(view, View::Service | View::Logs) {
            let service = self
                .service
                .clone()
                .or_else(|| self.ordered().first().map(|r| r.name.clone()));
            if let Some(service) = service {
                self.service = Some(service.clone());
                if self.logs.service.as_deref() != Some(service.as_str()) {
                    self.follow(&service);
                }
            }
        }
        self.view = view;
    }

    fn follow(&mut self, service: &str) {
        if self.logs.service.as_deref() == Some(service) {
            return;
        }
        self.logs = Logs {
            service: Some(service.to_owned()),
            level: self.logs.level,
            ..Logs::default()
        };
        self.effects.push(Effect::FollowLogs(service.to_owned()));
    }

    fn step(&mut self, by: isize) {
        let (at, len) = match self.view {
            View::Alerts => (&mut self.alert_selected, self.alerts.len()),
            View::Logs => {
                let len = self.logs.shown().len();
                let current = self.logs.selected.unwrap_or(len.saturating_sub(1));
                let next = current.saturating_add_signed(by);
                // Moving past the end follows the log again.
                self.logs.selected = (next < len.saturating_sub(1)).then_some(next);
                return;
            }
            _ => {
                let len = self.ordered().len();
                (&mut self.selected, len)
            }
        };
        *at = at.saturating_add_signed(by).min(len.saturating_sub(1));
    }

    fn open(&mut self) {
        match self.view {
            View::Overview => {
                if let Some(service) = self.target() {
                    self.service = Some(service.clone());
                    self.follow(&service);
                    self.view = View::Service;
                }
            }
            View::Alerts => {
                if let Some(id) = self
                    .alerts
                    .get(self.alert_selected)
                    .and_then(|a| a.runbook.clone())
                {
                    self.effects.push(Effect::Runbook(id.clone()));
                    self.effects.push(Effect::Record("runbook_open", id));
                }
            }
            View::Logs => {
                if let Some(trace) = self.selected_line().and_then(|l| l.trace_id.clone()) {
                    self.effects.push(Effect::Trace(trace));
                } else {
                    self.message = Some(("this line has no trace id".to_owned(), true));
                }
            }
            _ => {}
        }
    }

    /// The log line selected (the newest when following).
    pub fn selected_line(&self) -> Option<&LogLine> {
        let shown = self.logs.shown();
        let at = self.logs.selected.unwrap_or(shown.len().saturating_sub(1));
        shown.get(at).copied()
    }

    fn copy_trace(&mut self) {
        match self.selected_line().and_then(|l| l.trace_id.clone()) {
            Some(trace) if self.view == View::Logs => {
                self.effects.push(Effect::Copy(trace.clone()));
                self.effects
                    .push(Effect::Record("trace_id_copy", trace.clone()));
                self.message = Some((format!("copied trace id {trace}"), false));
            }
            _ => self.message = Some(("no trace id to copy here".to_owned(), true)),
        }
    }

    fn confirm_restart(&mut self, service: Option<String>) {
        let Some(service) = service.or_else(|| self.target()) else {
            return;
        };
        self.modal = Some(Modal::Confirm {
            prompt: format!("Restart {service}?"),
            effect: Effect::Restart(service),
        });
    }

    fn confirm_fault(&mut self, service: Option<String>, fault: Fault) {
        let Some(service) = service.or_else(|| self.target()) else {
            return;
        };
        let what = match fault {
            Fault::Errors(rate) => format!(
                "Inject errors into {service} ({:.0}% of requests fail)?",
                rate * 100.0
            ),
            Fault::Latency(ms) => format!("Inject {ms} ms of latency into {service}?"),
            Fault::Clear => format!("Clear the faults of {service}?"),
        };
        self.modal = Some(Modal::Confirm {
            prompt: what,
            effect: Effect::Fault(service, fault),
        });
    }

    fn in_modal(&mut self, modal: Modal, key: KeyEvent) {
        match (modal, key.code) {
            (Modal::Confirm { effect, .. }, KeyCode::Char('y' | 'Y') | KeyCode::Enter) => {
                let what = match &effect {
                    Effect::Restart(s) => format!("restarting {s}…"),
                    Effect::Fault(s, _) => format!("sending the fault to {s}…"),
                    _ => String::new(),
                };
                self.message = Some((what, false));
                self.effects.push(effect);
            }
            (Modal::Confirm { .. }, _) => {
                self.message = Some(("cancelled".to_owned(), false));
            }
            (_, KeyCode::Char('q')) => self.quit = true,
            // Help and text close on esc, enter or `?`; other keys keep them open.
            (_, KeyCode::Esc | KeyCode::Enter | KeyCode::Char('?')) => {}
            (modal, _) => self.modal = Some(modal),
        }
    }

    fn typing(&mut self, input: Input, key: KeyEvent) {
        let (mut text, is_command) = match input {
            Input::Command(t) => (t, true),
            Input::Filter(t) => (t, false),
        };
        match key.code {
            KeyCode::Esc => {
                if !is_command {
                    self.set_filter(String::new());
                }
                return;
            }
            KeyCode::Enter => {
                if is_command {
                    self.command(&text);
                }
                return;
            }
            KeyCode::Backspace => {
                text.pop();
            }
            KeyCode::Char(c) => text.push(c),
            _ => {}
        }
        if is_command {
            self.input = Some(Input::Command(text));
        } else {
            self.set_filter(text.clone());
            self.input = Some(Input::Filter(text));
        }
    }

    fn set_filter(&mut self, text: String) {
        if self.view == View::Logs {
            self.logs.filter = text;
            self.logs.selected = None;
        } else {
            self.filter = text;
            self.selected = 0;
        }
    }

    /// Runs a `:` command.
    pub fn command(&mut self, line: &str) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let service = |i: usize| -> Result<Option<String>, String> {
            match words.get(i) {
                None => Ok(None),
                Some(name) if self.row(name).is_some() => Ok(Some((*name).to_owned())),
                Some(name) => Err(format!(
                    "no service `{name}`; the services are {}",
                    self.rows
                        .iter()
                        .map(|r| r.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            }
        };
        let changes = matches!(words.first(), Some(&("restart" | "fault")));
        if changes && self.read_only {
            self.message = Some((
                "read-only: actions are off (started with --read-only)".to_owned(),
                true,
            ));
            return;
        }
        let result = match words.first().copied() {
            None => Ok(()),
            Some("q" | "quit") => {
                self.quit = true;
                Ok(())
            }
            Some("help") => {
                self.modal = Some(Modal::Help);
                Ok(())
            }
            Some("overview" | "o") => {
                self.view = View::Overview;
                Ok(())
            }
            Some("business" | "b") => {
                self.view = View::Business;
                Ok(())
            }
            Some("alerts" | "a") => {
                self.view = View::Alerts;
                Ok(())
            }
            Some("kube" | "k8s" | "k") => {
                self.view = View::Kube;
                Ok(())
            }
            Some(view @ ("svc" | "service" | "logs")) => service(1).map(|named| {
                if let Some(name) = named {
                    self.service = Some(name);
                }
                self.show(if view == "logs" {
                    View::Logs
                } else {
                    View::Service
                });
            }),
            Some("restart") => service(1).and_then(|s| {
                s.ok_or_else(|| "say which: :restart <service>".to_owned())
                    .map(|s| self.confirm_restart(Some(s)))
            }),
            Some("fault") => service(1).and_then(|s| {
                let s =
                    s.ok_or_else(|| "say which: :fault <service> errors|latency|clear".to_owned())?;
                let fault = parse_fault(&words[2..])?;
                self.confirm_fault(Some(s), fault);
                Ok(())
            }),
            Some("runbook") => match words.get(1) {
                Some(id) => {
                    self.effects.push(Effect::Runbook((*id).to_owned()));
                    self.effects
                        .push(Effect::Record("runbook_open", (*id).to_owned()));
                    Ok(())
                }
                None => Err("say which: :runbook <id>".to_owned()),
            },
            Some(other) => Err(format!(
                "unknown command `{other}`; try :svc, :logs, :alerts, :business, :kube, :overview, :restart, :fault, :runbook, :q"
            )),
        };
        if let Err(e) = result {
            self.message = Some((e, true));
        }
    }
}

/// `errors [rate]`, `latency [ms]` or `clear`.
fn parse_fault(words: &[&str]) -> Result<Fault, String> {
    let amount = words.get(1).copied();
    match words.first().copied() {
        Some("errors") => Ok(Fault::Errors(
            amount
                .and_then(|r| r.parse().ok())
                .filter(|r| (0.0..=1.0).contains(r))
                .unwrap_or(0.5),
        )),
        Some("latency") => Ok(Fault::Latency(
            amount
                .and_then(|ms| ms.trim_end_matches("ms").parse().ok())
                .unwrap_or(2000),
        )),
        Some("clear") => Ok(Fault::Clear),
        _ => Err("say what: :fault <service> errors [rate]|latency [ms]|clear".to_owned()),
    }
}

fn severity_rank(severity: &str) -> u8 {
    match severity {
        "critical" | "page" => 0,
        "warning" | "ticket" => 1,
        _ => 2,
    }
}
