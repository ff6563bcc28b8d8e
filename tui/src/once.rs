//! `shopctl dash --once`: the overview's data read once, for CI and scripts. The JSON is
//! versioned and documented in docs/dashboard.md; the verdict is the exit code (healthy or not).

use std::{fmt::Write as _, time::Duration};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::app::App;
use crate::event::{Event, Source, Update};
use crate::model::SourceState;
use crate::source::{self, Scraper, alertmanager};
use crate::{Options, ui};

/// The version of the snapshot's JSON; it changes only when a field changes meaning or goes.
pub const VERSION: u32 = 1;

/// How long `--once` waits for the Kubernetes watchers' first lists.
const KUBE_WAIT: Duration = Duration::from_secs(10);

/// The overview, once.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    /// [`VERSION`].
    pub version: u32,
    /// When it was read.
    pub generated_at: DateTime<Utc>,
    /// Every service up and no alert firing.
    pub healthy: bool,
    /// What is wrong, one sentence each; empty when healthy.
    pub problems: Vec<String>,
    /// Where the data came from: `metrics` (`prometheus`, `scrape` or why neither), `alerts`
    /// and `kube` (`ok`, `off` or why not).
    pub sources: Sources,
    /// One entry per service, what is broken first.
    pub services: Vec<ServiceSnapshot>,
    /// The alerts firing.
    pub alerts: Vec<AlertSnapshot>,
}

/// Where the data came from.
#[derive(Debug, Clone, Serialize)]
pub struct Sources {
    /// `prometheus`, `scrape`, or why there are no metrics.
    pub metrics: String,
    /// `ok`, `off`, or why not.
    pub alerts: String,
    /// `ok`, `off`, or why not.
    pub kube: String,
}

/// One service.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceSnapshot {
    /// Its name.
    pub service: String,
    /// `up`, `degraded`, `unready`, `down` or `unknown`.
    pub health: crate::model::Health,
    /// Its local pid.
    pub pid: Option<u32>,
    /// How often `shopctl up` restarted it.
    pub restarts: Option<u32>,
    /// Ready replicas (Kubernetes).
    pub ready_replicas: Option<i32>,
    /// Desired replicas (Kubernetes).
    pub desired_replicas: Option<i32>,
    /// API requests per second.
    pub requests_per_sec: f64,
    /// Share of them answered with a 5xx.
    pub error_ratio: f64,
    /// Median latency, milliseconds.
    pub p50_ms: Option<f64>,
    /// 99th percentile latency, milliseconds.
    pub p99_ms: Option<f64>,
    /// CPU in cores.
    pub cpu_cores: Option<f64>,
    /// Resident memory, bytes.
    pub rss_bytes: Option<f64>,
    /// Alerts firing for it.
    pub alerts: Vec<String>,
}

/// One firing alert.
#[derive(Debug, Clone, Serialize)]
pub struct AlertSnapshot {
    /// `alertname`.
    pub name: String,
    /// `severity`.
    pub severity: String,
    /// The service, if the alert names one.
    pub service: Option<String>,
    /// Since when.
    pub since: Option<DateTime<Utc>>,
    /// The runbook id.
    pub runbook: Option<String>,
    /// What it says.
    pub summary: String,
}

/// Reads every source once (the metrics twice, `window` apart, when scraping) and builds the
/// snapshot.
pub async fn snapshot(options: &Options, window: Duration) -> Snapshot {
    let mut app = options.app();
    let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
    let client = source::client();
    let mut scraper = Scraper::default();
    source::round_once(options, &client, &mut scraper, 0, &tx).await;
    if options.prometheus.is_none() || !matches!(first_metrics_state(&mut rx, &mut app), Some(true))
    {
        tokio::time::sleep(window).await;
        source::round_once(options, &client, &mut scraper, 1, &tx).await;
    }
    if let Some(url) = &options.alertmanager {
        let updates = match alertmanager::read(&client, url).await {
            Ok(alerts) => vec![
                Update::Alerts(alerts),
                Update::Source(Source::Alerts, SourceState::Ok),
            ],
            Err(e) => vec![Update::Source(
                Source::Alerts,
                SourceState::Failing(format!("Alertmanager at {url}: {e}")),
            )],
        };
        for update in updates {
            let _ = tx.send(Event::from(update));
        }
    }
    let kube_task = options.kube.clone().map(|kube| {
        let tx = tx.clone();
        tokio::spawn(source::kube::watch(kube.client, kube.namespace, tx))
    });
    drop(tx);
    if let Some(task) = kube_task {
        // The watchers' first lists, or as much as came within the wait.
        let _ = tokio::time::timeout(KUBE_WAIT, async {
            while let Some(event) = rx.recv().await {
                let kube = matches!(&event, Event::Update(u) if matches!(**u, Update::Kube(_)));
                app.update(event);
                if kube {
                    break;
                }
            }
        })
        .await;
        task.abort();
    }
    while let Ok(event) = rx.try_recv() {
        app.update(event);
    }
    judge(&app)
}

/// Applies what the first round sent; whether Prometheus answered.
fn first_metrics_state(rx: &mut mpsc::UnboundedReceiver<Event>, app: &mut App) -> Option<bool> {
    while let Ok(event) = rx.try_recv() {
        app.update(event);
    }
    match app.source(Source::Metrics) {
        SourceState::Ok => Some(true),
        SourceState::Failing(_) => Some(false),
        _ => None,
    }
}

fn state_text(state: &SourceState) -> String {
    match state {
        SourceState::Off => "off".to_owned(),
        SourceState::Waiting => "no answer yet".to_owned(),
        SourceState::Ok => "ok".to_owned(),
        SourceState::Failing(reason) => reason.clone(),
    }
}

/// The snapshot of a state.
pub fn judge(app: &App) -> Snapshot {
    let mut problems = Vec::new();
    let services: Vec<ServiceSnapshot> = app
        .ordered()
        .into_iter()
        .map(|row| {
            if row.is_unhealthy() {
                let red = row.metrics.red;
                let mut why = format!("{} is {}", row.name, row.health.as_str());
                if red.error_ratio() > 0.0 {
                    let _ = write!(why, " ({} errors)", ui::percent(red.error_ratio()));
                }
                problems.push(why);
            }
            ServiceSnapshot {
                service: row.name.clone(),
                health: row.health,
                pid: row.process.map(|p| p.pid),
                restarts: row.process.map(|p| p.restarts),
                ready_replicas: row.replicas.map(|r| r.0),
                desired_replicas: row.replicas.map(|r| r.1),
                requests_per_sec: row.metrics.red.rate,
                error_ratio: row.metrics.red.error_ratio(),
                p50_ms: row.metrics.red.p50.map(|s| s * 1000.0),
                p99_ms: row.metrics.red.p99.map(|s| s * 1000.0),
                cpu_cores: row.metrics.cpu,
                rss_bytes: row.metrics.rss,
                alerts: row.alerts.clone(),
            }
        })
        .collect();
    for alert in &app.alerts {
        problems.push(format!(
            "alert {} ({}) is firing{}",
            alert.name,
            alert.severity,
            alert
                .service
                .as_ref()
                .map(|s| format!(" for {s}"))
                .unwrap_or_default()
        ));
    }
    let metrics = match (app.source(Source::Metrics), app.metrics_via) {
        (SourceState::Ok, Some(via)) => via.to_owned(),
        (SourceState::Failing(reason), Some("scrape")) => format!("scrape ({reason})"),
        (state, _) => state_text(state),
    };
    Snapshot {
        version: VERSION,
        generated_at: app.now,
        healthy: problems.is_empty(),
        problems,
        sources: Sources {
            metrics,
            alerts: state_text(app.source(Source::Alerts)),
            kube: state_text(app.source(Source::Kube)),
        },
        services,
        alerts: app
            .alerts
            .iter()
            .map(|a| AlertSnapshot {
                name: a.name.clone(),
                severity: a.severity.clone(),
                service: a.service.clone(),
                since: a.since,
                runbook: a.runbook.clone(),
                summary: a.summary.clone(),
            })
            .collect(),
    }
}

impl Snapshot {
    /// The snapshot for a person: one line per service, then the alerts and the verdict.
    pub fn text(&self) -> String {
        let mut out = format!(
            "{:<10} {:<13} {:>8} {:>7} {:>7} {:>7}  {}\n",
            "HEALTH", "SERVICE", "REQ/S", "ERR%", "P50", "P99", "ALERTS"
        );
        for s in &self.services {
            let _ = writeln!(
                out,
                "{:<10} {:<13} {:>8} {:>7} {:>7} {:>7}  {}",
                format!("{} {}", s.health.symbol(), s.health.as_str()),
                s.service,
                ui::rate(s.requests_per_sec),
                ui::percent(s.error_ratio),
                ui::latency(s.p50_ms.map(|m| m / 1000.0)),
                ui::latency(s.p99_ms.map(|m| m / 1000.0)),
                s.alerts.join(",")
            );
        }
        let _ = write!(
            out,
            "\nmetrics: {}; alerts: {}; kube: {}\n",
            self.sources.metrics, self.sources.alerts, self.sources.kube
        );
        if self.healthy {
            out.push_str("healthy: every service is up and no alert is firing");
        } else {
            let _ = write!(out, "unhealthy: {}", self.problems.join("; "));
        }
        out
    }
}
