//! What the dashboard knows about the shop: plain data that the sources fill in and the views
//! read. Nothing here does I/O.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Utc};
use serde::Serialize;

/// How many points of history a service keeps: 15 minutes at the default 2 s refresh.
pub const HISTORY_POINTS: usize = 450;

/// A service's health, worst first so that sorting puts what is broken on top.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// Does not answer at all (or no pod is ready).
    Down,
    /// Answers, but says it cannot work (readiness fails, or fewer replicas than wanted).
    Unready,
    /// Ready, but its error ratio or an alert says it is failing.
    Degraded,
    /// Ready and quiet.
    Up,
    /// Not probed yet.
    Unknown,
}

impl Health {
    /// The symbol shown next to the colour, so status never rests on colour alone.
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Down => "✖",
            Self::Unready => "◐",
            Self::Degraded => "▲",
            Self::Up => "●",
            Self::Unknown => "?",
        }
    }

    /// The word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Down => "down",
            Self::Unready => "unready",
            Self::Degraded => "degraded",
            Self::Up => "up",
            Self::Unknown => "unknown",
        }
    }
}

/// What a probe of `/readyz` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// 200.
    Ready,
    /// Any other answer.
    Unready,
    /// No answer.
    Down,
}

/// Request, error and latency figures of one service or route over the last minute.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Red {
    /// Requests per second.
    pub rate: f64,
    /// 4xx answers per second.
    pub client_errors: f64,
    /// 5xx answers per second.
    pub errors: f64,
    /// Median latency, seconds.
    pub p50: Option<f64>,
    /// 95th percentile latency, seconds.
    pub p95: Option<f64>,
    /// 99th percentile latency, seconds.
    pub p99: Option<f64>,
}

impl Red {
    /// Share of requests answered with a 5xx (0 when there was no traffic).
    pub fn error_ratio(&self) -> f64 {
        if self.rate > 0.0 {
            (self.errors / self.rate).min(1.0)
        } else {
            0.0
        }
    }
}

/// The metrics of one service, as one source computed them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceMetrics {
    /// The service's API traffic (probes, scrapes and admin calls left out).
    pub red: Red,
    /// CPU used, in cores.
    pub cpu: Option<f64>,
    /// Resident memory, bytes.
    pub rss: Option<f64>,
    /// Per route.
    pub routes: Vec<RouteRed>,
    /// Gateway circuit breakers: upstream and state.
    pub breakers: Vec<(String, Breaker)>,
    /// Database pool: connections in use and the maximum.
    pub pool: Option<(f64, f64)>,
    /// Event deliveries waiting in the outbox.
    pub outbox: Option<f64>,
    /// Event deliveries in the dead-letter table.
    pub dead_letters: Option<f64>,
    /// Points for the sparkline, oldest first, from Prometheus (scraping keeps its own).
    pub history: Option<Vec<(f64, f64)>>,
}

/// One route's RED.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouteRed {
    /// HTTP method.
    pub method: String,
    /// Route template.
    pub route: String,
    /// Its figures.
    pub red: Red,
}

/// A circuit breaker's state, as `gateway_breaker_state` tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Breaker {
    /// Passing calls.
    Closed,
    /// Refusing calls.
    Open,
    /// Letting a trial call through.
    HalfOpen,
}

impl Breaker {
    /// From the gauge's value.
    pub fn from_gauge(value: f64) -> Self {
        if value >= 1.5 {
            Self::HalfOpen
        } else if value >= 0.5 {
            Self::Open
        } else {
            Self::Closed
        }
    }

    /// Symbol and word.
    pub fn label(self) -> &'static str {
        match self {
            Self::Closed => "● closed",
            Self::Open => "✖ open",
            Self::HalfOpen => "◐ half-open",
        }
    }
}

/// Business figures of the whole shop.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Business {
    /// Checkouts per minute by result.
    pub checkouts: BTreeMap<String, f64>,
    /// Payments per minute by result (authorized, declined, …).
    pub payments: BTreeMap<String, f64>,
    /// Sagas in flight by state.
    pub sagas: BTreeMap<String, f64>,
    /// Dead letters by service.
    pub dead_letters: BTreeMap<String, f64>,
}

/// One SKU at or below its low-stock threshold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct LowStock {
    /// The SKU.
    pub sku: String,
    /// Units on hand.
    pub on_hand: i64,
    /// Units reserved by open orders.
    pub reserved: i64,
    /// Units that can still be sold.
    pub available: i64,
}

/// An alert firing in Alertmanager.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// `alertname`.
    pub name: String,
    /// `severity` label.
    pub severity: String,
    /// The service it is about (`service` label), if any.
    pub service: Option<String>,
    /// Since when it fires.
    pub since: Option<DateTime<Utc>>,
    /// The runbook id (`runbook` annotation).
    pub runbook: Option<String>,
    /// `summary` annotation.
    pub summary: String,
    /// `description` annotation.
    pub description: String,
    /// Every label.
    pub labels: BTreeMap<String, String>,
}

/// A runbook's steps, as the runbook files give them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runbook {
    /// Its title.
    pub title: String,
    /// Its steps, in order.
    pub steps: Vec<String>,
}

/// A local process of `shopctl up`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Process {
    /// Its pid.
    pub pid: u32,
    /// How often `up` restarted it.
    pub restarts: u32,
}

/// One line of a service's log, as the logs view shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// The service that wrote it.
    pub service: String,
    /// Severity, upper case (`INFO`), when known.
    pub level: Option<String>,
    /// The line as a person reads it.
    pub text: String,
    /// The trace it belongs to.
    pub trace_id: Option<String>,
}

/// A level's rank, for filtering by level (unknown levels rank as INFO).
pub fn level_rank(level: Option<&str>) -> u8 {
    match level.map(str::to_ascii_uppercase).as_deref() {
        Some("TRACE") => 0,
        Some("DEBUG") => 1,
        Some("WARN" | "WARNING") => 3,
        Some("ERROR" | "FATAL") => 4,
        _ => 2,
    }
}

/// The Kubernetes side of the shop.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Kube {
    /// Deployments of the shop.
    pub deployments: Vec<Deployment>,
    /// Pods of the shop.
    pub pods: Vec<Pod>,
    /// Horizontal pod autoscalers.
    pub autoscalers: Vec<Autoscaler>,
    /// Recent warning events, newest first.
    pub events: Vec<Warning>,
}

/// A deployment and its rollout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    /// Name.
    pub name: String,
    /// The service it runs (`app.kubernetes.io/name`).
    pub service: String,
    /// Replicas wanted.
    pub desired: i32,
    /// Replicas ready.
    pub ready: i32,
    /// Replicas on the newest template.
    pub updated: i32,
    /// `complete`, `progressing`, `failed: <reason>` or `paused`.
    pub rollout: String,
}

/// A pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pod {
    /// Name.
    pub name: String,
    /// The service it runs.
    pub service: String,
    /// Phase (a waiting reason such as CrashLoopBackOff wins over `Running`).
    pub phase: String,
    /// Whether every container is ready.
    pub ready: bool,
    /// Container restarts, summed.
    pub restarts: i32,
    /// Why its containers last terminated, if they did.
    pub last_termination: Option<String>,
}

/// A horizontal pod autoscaler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Autoscaler {
    /// Name.
    pub name: String,
    /// Current replicas.
    pub current: i32,
    /// Desired replicas.
    pub desired: i32,
    /// Bounds.
    pub min: i32,
    /// Bounds.
    pub max: i32,
}

/// A warning event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// When it was last seen.
    pub at: Option<DateTime<Utc>>,
    /// `Kind/name` of the object.
    pub object: String,
    /// Reason.
    pub reason: String,
    /// Message.
    pub message: String,
    /// How often.
    pub count: i32,
}

/// The state of one source of data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SourceState {
    /// Not asked for.
    #[default]
    Off,
    /// Not heard from yet.
    Waiting,
    /// Answering.
    Ok,
    /// Not answering; the text says what and where.
    Failing(String),
}

impl SourceState {
    /// Whether it answers.
    pub fn is_ok(&self) -> bool {
        matches!(self, Self::Ok)
    }
}

/// A bounded history of (requests/s, errors/s), oldest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    points: VecDeque<(f64, f64)>,
}

impl History {
    /// Adds a point, forgetting the oldest past [`HISTORY_POINTS`].
    pub fn push(&mut self, rate: f64, errors: f64) {
        if self.points.len() == HISTORY_POINTS {
            self.points.pop_front();
        }
        self.points.push_back((rate, errors));
    }

    /// Replaces every point.
    pub fn replace(&mut self, points: impl IntoIterator<Item = (f64, f64)>) {
        self.points = points.into_iter().collect();
        while self.points.len() > HISTORY_POINTS {
            self.points.pop_front();
        }
    }

    /// The points, oldest first.
    pub fn points(&self) -> impl DoubleEndedIterator<Item = (f64, f64)> + ExactSizeIterator + '_ {
        self.points.iter().copied()
    }

    /// How many points there are.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_keeps_the_newest_points() {
        let mut history = History::default();
        for i in 0..HISTORY_POINTS + 10 {
            history.push(f64::from(u32::try_from(i).unwrap_or(0)), 0.0);
        }
        assert_eq!(history.len(), HISTORY_POINTS);
        assert_eq!(history.points().next(), Some((10.0, 0.0)));
    }

    #[test]
    fn health_sorts_broken_first() {
        let mut all = vec![Health::Up, Health::Degraded, Health::Down, Health::Unready];
        all.sort();
        assert_eq!(
            all,
            [Health::Down, Health::Unready, Health::Degraded, Health::Up]
        );
    }
}
