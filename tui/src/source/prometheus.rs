//! Prometheus's HTTP API: instant queries over the recording rules of
//! `templates/monitoring/rules/recording.yml` (the same series the alerts use), and a range
//! query for the 15-minute sparklines.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::model::{Breaker, Business, RouteRed, ServiceMetrics};

/// Per-service figures: (what the overview calls it, the query).
const SERVICE_QUERIES: [(&str, &str); 11] = [
    ("rate", "service:http_requests:rate1m"),
    ("errors", "service:http_errors:rate1m"),
    (
        "client_errors",
        r#"sum by (service) (rate(http_requests_total{status=~"4.."}[1m]))"#,
    ),
    ("p50", "service:http_request_duration_seconds:p50"),
    ("p95", "service:http_request_duration_seconds:p95"),
    ("p99", "service:http_request_duration_seconds:p99"),
    (
        "cpu",
        "sum by (service) (rate(process_cpu_seconds_total[1m]))",
    ),
    ("rss", "sum by (service) (process_resident_memory_bytes)"),
    (
        "pool_used",
        r#"sum by (service) (db_pool_connections{state="in_use"})"#,
    ),
    ("pool_max", "sum by (service) (db_pool_max_connections)"),
    ("outbox", "sum by (service) (events_outbox_depth)"),
];

/// Per-route figures.
const ROUTE_QUERIES: [(&str, &str); 6] = [
    ("rate", "service_route:http_requests:rate1m"),
    (
        "client_errors",
        r#"sum by (service, route, method) (rate(http_requests_total{status=~"4.."}[1m]))"#,
    ),
    (
        "errors",
        r#"sum by (service, route, method) (rate(http_requests_total{status=~"5.."}[1m]))"#,
    ),
    ("p50", "service_route:http_request_duration_seconds:p50"),
    ("p95", "service_route:http_request_duration_seconds:p95"),
    ("p99", "service_route:http_request_duration_seconds:p99"),
];

/// Checkouts per minute by result.
const CHECKOUTS: &str = "result:orders_checkouts:rate5m * 60";
/// Payments per minute by result.
const PAYMENTS: &str = "result:payments:rate5m * 60";
/// The sparklines' two series.
const HISTORY_QUERIES: [&str; 2] = ["service:http_requests:rate1m", "service:http_errors:rate1m"];

/// How far back the sparklines go, and their step.
const HISTORY: (u32, u32) = (15 * 60, 10);

/// One sample of a query's answer.
#[derive(Debug, Clone)]
struct Series {
    labels: BTreeMap<String, String>,
    values: Vec<f64>,
}

impl Series {
    fn label(&self, name: &str) -> &str {
        self.labels.get(name).map_or("-", String::as_str)
    }

    fn last(&self) -> f64 {
        self.values.last().copied().unwrap_or(0.0)
    }
}

async fn query(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    params: &[(&str, String)],
) -> Result<Vec<Series>, String> {
    let response = client
        .get(format!("{}/api/v1/{path}", base.trim_end_matches('/')))
        .query(params)
        .send()
        .await
        .map_err(|e| format!("not answering ({e})"))?;
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .map_err(|e| format!("answered {status} without JSON ({e})"))?;
    if body["status"] != "success" {
        return Err(format!(
            "query refused: {}",
            body["error"].as_str().unwrap_or("no reason given")
        ));
    }
    Ok(body["data"]["result"]
        .as_array()
        .map(|results| results.iter().map(series).collect())
        .unwrap_or_default())
}

fn series(result: &Value) -> Series {
    let labels = result["metric"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let number = |pair: &Value| pair[1].as_str().and_then(|v| v.parse::<f64>().ok());
    let values = match result.get("values").and_then(Value::as_array) {
        Some(pairs) => pairs.iter().filter_map(number).collect(),
        None => number(&result["value"]).into_iter().collect(),
    };
    Series { labels, values }
}

async fn instant(client: &reqwest::Client, base: &str, q: &str) -> Result<Vec<Series>, String> {
    query(client, base, "query", &[("query", q.to_owned())]).await
}

/// Reads every service's metrics and the business figures.
pub async fn read(
    client: &reqwest::Client,
    base: &str,
    services: &[String],
) -> Result<(BTreeMap<String, ServiceMetrics>, Business), String> {
    let mut metrics: BTreeMap<String, ServiceMetrics> = services
        .iter()
        .map(|s| (s.clone(), ServiceMetrics::default()))
        .collect();
    let mut pools: BTreeMap<String, (Option<f64>, Option<f64>)> = BTreeMap::new();
    for (what, q) in SERVICE_QUERIES {
        for s in instant(client, base, q).await? {
            let Some(m) = metrics.get_mut(s.label("service")) else {
                continue;
            };
            let v = s.last();
            let finite = v.is_finite().then_some(v);
            match what {
                "rate" => m.red.rate = v,
                "errors" => m.red.errors = v,
                "client_errors" => m.red.client_errors = v,
                "p50" => m.red.p50 = finite,
                "p95" => m.red.p95 = finite,
                "p99" => m.red.p99 = finite,
                "cpu" => m.cpu = Some(v),
                "rss" => m.rss = Some(v),
                "pool_used" => pools.entry(s.label("service").to_owned()).or_default().0 = Some(v),
                "pool_max" => pools.entry(s.label("service").to_owned()).or_default().1 = Some(v),
                _ => m.outbox = Some(v),
            }
        }
    }
    for (service, pool) in pools {
        if let (Some(m), (Some(used), Some(max))) = (metrics.get_mut(&service), pool) {
            m.pool = Some((used, max));
        }
    }
    read_routes(client, base, &mut metrics).await?;
    for s in instant(client, base, "gateway_breaker_state").await? {
        if let Some(m) = metrics.get_mut("gateway") {
            m.breakers.push((
                s.label("upstream").to_owned(),
                Breaker::from_gauge(s.last()),
            ));
        }
    }
    let mut business = Business::default();
    for s in instant(client, base, "sum by (service) (events_dead_letters)").await? {
        let service = s.label("service").to_owned();
        if let Some(m) = metrics.get_mut(&service) {
            m.dead_letters = Some(s.last());
        }
        business.dead_letters.insert(service, s.last());
    }
    for s in instant(client, base, CHECKOUTS).await? {
        business
            .checkouts
            .insert(s.label("result").to_owned(), s.last());
    }
    for s in instant(client, base, PAYMENTS).await? {
        business
            .payments
            .insert(s.label("result").to_owned(), s.last());
    }
    for s in instant(client, base, "sum by (state) (orders_saga_in_flight)").await? {
        business.sagas.insert(s.label("state").to_owned(), s.last());
    }
    read_history(client, base, &mut metrics).await?;
    Ok((metrics, business))
}

async fn read_routes(
    client: &reqwest::Client,
    base: &str,
    metrics: &mut BTreeMap<String, ServiceMetrics>,
) -> Result<(), String> {
    let mut routes: BTreeMap<(String, String, String), RouteRed> = BTreeMap::new();
    for (what, q) in ROUTE_QUERIES {
        for s in instant(client, base, q).await? {
            let route = s.label("route").to_owned();
            if !crate::expo::is_operational(&route) {
                continue;
            }
            let key = (
                s.label("service").to_owned(),
                route.clone(),
                s.label("method").to_owned(),
            );
            let entry = routes.entry(key).or_insert_with(|| RouteRed {
                method: s.label("method").to_owned(),
                route,
                red: crate::model::Red::default(),
            });
            let v = s.last();
            let finite = v.is_finite().then_some(v);
            match what {
                "rate" => entry.red.rate = v,
                "client_errors" => entry.red.client_errors = v,
                "errors" => entry.red.errors = v,
                "p50" => entry.red.p50 = finite,
                "p95" => entry.red.p95 = finite,
                _ => entry.red.p99 = finite,
            }
        }
    }
    for ((service, _, _), route) in routes {
        if let Some(m) = metrics.get_mut(&service) {
            m.routes.push(route);
        }
    }
    for m in metrics.values_mut() {
        m.routes.sort_by(|a, b| {
            b.red
                .rate
                .total_cmp(&a.red.rate)
                .then(a.route.cmp(&b.route))
        });
    }
    Ok(())
}

async fn read_history(
    client: &reqwest::Client,
    base: &str,
    metrics: &mut BTreeMap<String, ServiceMetrics>,
) -> Result<(), String> {
    let end = chrono::Utc::now().timestamp();
    let params = |q: &str| {
        vec![
            ("query", q.to_owned()),
            ("start", (end - i64::from(HISTORY.0)).to_string()),
            ("end", end.to_string()),
            ("step", HISTORY.1.to_string()),
        ]
    };
    let rates = query(client, base, "query_range", &params(HISTORY_QUERIES[0])).await?;
    let errors = query(client, base, "query_range", &params(HISTORY_QUERIES[1])).await?;
    for (service, m) in metrics.iter_mut() {
        let of = |all: &[Series]| {
            all.iter()
                .find(|s| s.label("service") == service)
                .map(|s| s.values.clone())
                .unwrap_or_default()
        };
        let (r, e) = (of(&rates), of(&errors));
        let points = r
            .iter()
            .enumerate()
            .map(|(i, rate)| {
                (
                    *rate,
                    e.get(i).copied().filter(|v| v.is_finite()).unwrap_or(0.0),
                )
            })
            .collect();
        m.history = Some(points);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The recording rules the dashboard reads, as the rules file defines them: a rule renamed
    /// there and not here (or the reverse) fails this test, not an on-call engineer's screen.
    #[test]
    fn every_recording_rule_read_is_defined() {
        let rules = include_str!("../../../templates/monitoring/rules/recording.yml");
        let defined: Vec<&str> = rules
            .lines()
            .filter_map(|l| l.trim().strip_prefix("- record: "))
            .collect();
        let queries = SERVICE_QUERIES
            .iter()
            .chain(ROUTE_QUERIES.iter())
            .map(|(_, q)| *q)
            .chain([CHECKOUTS, PAYMENTS])
            .chain(HISTORY_QUERIES);
        let mut read = 0;
        for query in queries {
            for word in query.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')) {
                if word.contains(':') && !word.starts_with(':') && word.len() > 3 {
                    assert!(defined.contains(&word), "`{word}` is not a recording rule");
                    read += 1;
                }
            }
        }
        assert!(read >= 10, "only {read} rules found in the queries");
    }
}
