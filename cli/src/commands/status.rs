//! `shopctl status`: each service's health, version, uptime, request rate and error rate, read
//! from the running services themselves (`/readyz`, `/admin/info`, two `/metrics` scrapes a
//! window apart). Exit 0 when every service is ready, 1 when any is not. When `shopctl up` runs
//! from the data directory, each service's restarts come from its `run/processes.json`.

use std::{fmt::Write as _, time::Duration};

use clap::Args;
use serde::Serialize;
use serde_json::Value;

use super::GlobalArgs;
use crate::ExitStatus;
use crate::platform::target::{Target, client, parse_duration};

/// Show the health and traffic of every service.
#[derive(Debug, Args)]
pub(crate) struct Status {
    /// How long to watch traffic for the request and error rates (`2s`, `500ms`).
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    window: Duration,
    #[command(flatten)]
    target: Target,
}

/// One service's row of the report.
#[derive(Debug, Serialize)]
struct ServiceStatus {
    service: &'static str,
    url: String,
    /// `ready`, `unready` (answers, but cannot work) or `down` (does not answer).
    health: &'static str,
    version: Option<String>,
    uptime_secs: Option<u64>,
    /// API requests per second over the window (probes, scrapes and admin calls excluded).
    requests_per_sec: Option<f64>,
    /// Share of those requests answered with a 5xx.
    error_rate: Option<f64>,
    /// Injected faults in force, when any.
    faults: Option<Value>,
    /// How many times `shopctl up` restarted it (only when `up` runs from the data directory).
    #[serde(skip_serializing_if = "Option::is_none")]
    restarts: Option<u32>,
}

#[derive(Debug, Serialize)]
struct StatusReport {
    healthy: bool,
    window_ms: u128,
    services: Vec<ServiceStatus>,
    /// Prometheus and Alertmanager of `up --monitor`, where they would listen.
    monitoring: Vec<ToolStatus>,
}

/// A monitoring tool of `up --monitor` and whether it answers.
#[derive(Debug, Serialize)]
struct ToolStatus {
    tool: &'static str,
    url: String,
    ready: bool,
}

/// Where `up --monitor` runs Prometheus and Alertmanager for the shop whose gateway is at
/// `gateway`, and whether each answers its readiness probe.
async fn monitoring(client: &reqwest::Client, gateway: &str) -> Vec<ToolStatus> {
    let Some(port) = gateway
        .rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse::<u16>().ok())
    else {
        return Vec::new();
    };
    let mut tools = Vec::new();
    for (tool, offset) in [
        ("prometheus", crate::platform::monitor::PROMETHEUS_OFFSET),
        (
            "alertmanager",
            crate::platform::monitor::ALERTMANAGER_OFFSET,
        ),
    ] {
        let url = format!("http://127.0.0.1:{}", port.saturating_add(offset));
        let ready = client
            .get(format!("{url}/-/ready"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        tools.push(ToolStatus { tool, url, ready });
    }
    tools
}

/// API request totals from one scrape: (all, 5xx).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Totals {
    all: f64,
    errors: f64,
}

/// Sums `http_requests_total` over the routes that are real traffic.
fn totals(metrics: &str) -> Totals {
    let mut totals = Totals::default();
    for line in metrics.lines() {
        let Some(rest) = line.strip_prefix("http_requests_total{") else {
            continue;
        };
        let Some((labels, value)) = rest.rsplit_once("} ") else {
            continue;
        };
        let Ok(value) = value.trim().parse::<f64>() else {
            continue;
        };
        let route = label(labels, "route").unwrap_or_default();
        if matches!(route, "/livez" | "/readyz" | "/metrics") || route.starts_with("/admin/") {
            continue;
        }
        totals.all += value;
        if label(labels, "status").is_some_and(|s| s.starts_with('5')) {
            totals.errors += value;
        }
    }
    totals
}

/// The value of label `name` in `a="x",b="y"` (values here never hold quotes).
fn label<'a>(labels: &'a str, name: &str) -> Option<&'a str> {
    labels.split("\",").find_map(|pair| {
        let (key, value) = pair.split_once("=\"")?;
        (key.trim_start_matches(',') == name).then(|| value.trim_end_matches('"'))
    })
}

async fn scrape(client: &reqwest::Client, url: &str) -> Option<Totals> {
    let text = client
        .get(format!("{url}/metrics"))
        .send()
        .await
        .ok()?
        .error_for_status()
        .ok()?
        .text()
        .await
        .ok()?;
    Some(totals(&text))
}

async fn probe(
    client: &reqwest::Client,
    service: &'static str,
    url: String,
    token: Option<&str>,
    window: Duration,
) -> ServiceStatus {
    let before = scrape(client, &url).await;
    let health = match client.get(format!("{url}/readyz")).send().await {
        Ok(answer) if answer.status().is_success() => "ready",
        Ok(_) => "unready",
        Err(_) => "down",
    };
    let info: Option<Value> = match token {
        Some(token) if health != "down" => match client
            .get(format!("{url}/admin/info"))
            .bearer_auth(token)
            .send()
            .await
        {
            Ok(answer) if answer.status().is_success() => answer.json().await.ok(),
            _ => None,
        },
        _ => None,
    };
    tokio::time::sleep(window).await;
    let after = scrape(client, &url).await;
    let (requests_per_sec, error_rate) = match (before, after) {
        (Some(before), Some(after)) => {
            let all = (after.all - before.all).max(0.0);
            let errors = (after.errors - before.errors).max(0.0);
            let rate = if all > 0.0 { errors / all } else { 0.0 };
            (Some(all / window.as_secs_f64().max(0.001)), Some(rate))
        }
        _ => (None, None),
    };
    let faults = info
        .as_ref()
        .map(|i| i["faults"].clone())
        .filter(|f| f["latency_ms"] != 0 || f["error_rate"] != 0.0);
    ServiceStatus {
        service,
        url,
        health,
        version: info
            .as_ref()
            .and_then(|i| i["version"].as_str().map(str::to_owned)),
        uptime_secs: info.as_ref().and_then(|i| i["uptime_secs"].as_u64()),
        requests_per_sec,
        error_rate,
        faults,
        restarts: None,
    }
}

fn uptime(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60),
    }
}

fn table(report: &StatusReport, has_token: bool, supervised: bool) -> String {
    let mut text = format!(
        "{:<13} {:<24} {:<8} {:<8} {:>8} {:>8} {:>7}",
        "SERVICE", "URL", "HEALTH", "VERSION", "UPTIME", "REQ/S", "ERRORS"
    );
    if supervised {
        text.push_str(" RESTARTS");
    }
    for row in &report.services {
        let _ = write!(
            text,
            "\n{:<13} {:<24} {:<8} {:<8} {:>8} {:>8} {:>7}",
            row.service,
            row.url,
            row.health,
            row.version.as_deref().unwrap_or("-"),
            row.uptime_secs.map_or_else(|| "-".to_owned(), uptime),
            row.requests_per_sec
                .map_or_else(|| "-".to_owned(), |r| format!("{r:.1}")),
            row.error_rate
                .map_or_else(|| "-".to_owned(), |r| format!("{:.1}%", r * 100.0)),
        );
        if supervised {
            let restarts = row
                .restarts
                .map_or_else(|| "-".to_owned(), |r| r.to_string());
            let _ = write!(text, " {restarts:>8}");
        }
        if let Some(faults) = &row.faults {
            let _ = write!(text, "  FAULTS {faults}");
        }
    }
    let down: Vec<&str> = report
        .services
        .iter()
        .filter(|r| r.health != "ready")
        .map(|r| r.service)
        .collect();
    if down.is_empty() {
        text.push_str("\n\nevery service is ready");
    } else {
        let _ = write!(
            text,
            "\n\nnot ready: {}; see the services' logs (`.shopctl/logs/` under shopctl up)",
            down.join(", ")
        );
    }
    for tool in report.monitoring.iter().filter(|t| t.ready) {
        let _ = write!(text, "\n{:<13} {}", tool.tool, tool.url);
    }
    if !has_token {
        text.push_str(
            "\n(version and uptime need an admin token: --admin-token, or --data-dir of shopctl up)",
        );
    }
    text
}

impl Status {
    pub(crate) async fn run(self, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        let shop = self.target.resolve(global)?;
        let client = client(Duration::from_secs(3))?;
        let token = shop.admin_token.clone();
        // Concurrently: each probe mostly waits out its window, so all take about one window.
        let probes: Vec<_> = shop
            .services
            .iter()
            .map(|&(name, ref url)| {
                let (client, url, token) = (client.clone(), url.clone(), token.clone());
                let window = self.window;
                tokio::spawn(
                    async move { probe(&client, name, url, token.as_deref(), window).await },
                )
            })
            .collect();
        let mut services = Vec::with_capacity(probes.len());
        for probe in probes {
            services.push(probe.await?);
        }
        let processes = crate::platform::processes::read(&self.target.data_dir);
        if let Some(processes) = &processes {
            for service in &mut services {
                service.restarts = processes.services.get(service.service).map(|p| p.restarts);
            }
        }
        let report = StatusReport {
            healthy: services.iter().all(|s| s.health == "ready"),
            window_ms: self.window.as_millis(),
            services,
            monitoring: monitoring(&client, shop.gateway()).await,
        };
        global.printer().result(
            &table(&report, token.is_some(), processes.is_some()),
            &report,
        )?;
        Ok(if report.healthy {
            ExitStatus::Success
        } else {
            ExitStatus::Failure
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_count_api_traffic_and_5xx_only() {
        let text = r#"# TYPE http_requests_total counter
http_requests_total{service="order",route="/api/orders",method="POST",status="201"} 7
http_requests_total{service="order",route="/api/orders/{id}",method="GET",status="503"} 2
http_requests_total{service="order",route="/readyz",method="GET",status="200"} 40
http_requests_total{service="order",route="/admin/info",method="GET",status="200"} 3
http_requests_total{service="order",route="unmatched",method="GET",status="404"} 1
http_request_duration_seconds_count{service="order",route="/api/orders",method="POST"} 7
"#;
        assert_eq!(
            totals(text),
            Totals {
                all: 10.0,
                errors: 2.0
            }
        );
    }

    #[test]
    fn labels_are_found_by_name() {
        let labels = r#"service="order",route="/api/orders",method="POST",status="201""#;
        assert_eq!(label(labels, "service"), Some("order"));
        assert_eq!(label(labels, "route"), Some("/api/orders"));
        assert_eq!(label(labels, "status"), Some("201"));
        assert_eq!(label(labels, "missing"), None);
    }

    #[test]
    fn uptimes_read_naturally() {
        assert_eq!(uptime(42), "42s");
        assert_eq!(uptime(125), "2m05s");
        assert_eq!(uptime(7_260), "2h01m");
    }
}
