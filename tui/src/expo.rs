//! Reads the Prometheus text exposition format (what every service's `/metrics` answers) into
//! samples, and computes from two scrapes what Prometheus's recording rules would: rates,
//! error rates and latency quantiles. This is how the dashboard works without Prometheus.

use std::collections::BTreeMap;

use crate::model::{Breaker, Red, RouteRed, ServiceMetrics};

/// One sample: a metric name, its labels (sorted) and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The metric name, with its suffix (`_total`, `_bucket`).
    pub name: String,
    /// Labels, sorted by name.
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: f64,
}

impl Sample {
    /// A label's value.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses an exposition; lines that are not samples (comments, garbage) are skipped.
pub fn parse(text: &str) -> Vec<Sample> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<Sample> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let (name, rest) = match line.find(['{', ' ']) {
        Some(at) => line.split_at(at),
        None => return None,
    };
    let (labels, rest) = if let Some(body) = rest.strip_prefix('{') {
        let end = closing_brace(body)?;
        (parse_labels(&body[..end])?, &body[end + 1..])
    } else {
        (Vec::new(), rest)
    };
    let value = rest.split_whitespace().next()?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        other => other.parse().ok()?,
    };
    Some(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// Where the label set that `body` starts inside ends (quotes may hold braces).
fn closing_brace(body: &str) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    for (at, c) in body.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '}' if !quoted => return Some(at),
            _ => {}
        }
    }
    None
}

fn parse_labels(body: &str) -> Option<Vec<(String, String)>> {
    let mut labels = Vec::new();
    let mut rest = body.trim_start_matches([',', ' ']);
    while !rest.is_empty() {
        let eq = rest.find('=')?;
        let name = rest[..eq].trim().to_owned();
        let after = rest[eq + 1..].trim_start().strip_prefix('"')?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = None;
        while let Some((at, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, other)) => value.push(other),
                    None => return None,
                },
                '"' => {
                    end = Some(at);
                    break;
                }
                other => value.push(other),
            }
        }
        labels.push((name, value));
        rest = after[end? + 1..].trim_start_matches([',', ' ']);
    }
    labels.sort();
    Some(labels)
}

/// Routes whose requests are the platform talking to itself, not traffic: probes, scrapes and
/// the admin API. `shopctl status` leaves out the same ones.
pub fn is_operational(route: &str) -> bool {
    !(matches!(route, "/livez" | "/readyz" | "/metrics") || route.starts_with("/admin"))
}

/// Counters of one scrape, summed per route and status class, ready to be subtracted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counters {
    /// (method, route) → requests by status class (`2`, `4`, `5`, …).
    requests: BTreeMap<(String, String), BTreeMap<char, f64>>,
    /// (method, route) → cumulative bucket counts by upper bound, as text.
    buckets: BTreeMap<(String, String), BTreeMap<String, f64>>,
    /// CPU seconds of the process.
    cpu: Option<f64>,
    /// Everything else: gauges read as they are.
    gauges: Vec<Sample>,
}

impl Counters {
    /// Sums one scrape's samples.
    pub fn from_samples(samples: Vec<Sample>) -> Self {
        let mut counters = Self::default();
        for sample in samples {
            let key = || {
                (
                    sample.label("method").unwrap_or("-").to_owned(),
                    sample.label("route").unwrap_or("-").to_owned(),
                )
            };
            match sample.name.as_str() {
                "http_requests_total" => {
                    let class = sample
                        .label("status")
                        .and_then(|s| s.chars().next())
                        .unwrap_or('?');
                    *counters
                        .requests
                        .entry(key())
                        .or_default()
                        .entry(class)
                        .or_default() += sample.value;
                }
                "http_request_duration_seconds_bucket" => {
                    let le = sample.label("le").unwrap_or("+Inf").to_owned();
                    *counters
                        .buckets
                        .entry(key())
                        .or_default()
                        .entry(le)
                        .or_default() += sample.value;
                }
                "process_cpu_seconds_total" => {
                    *counters.cpu.get_or_insert(0.0) += sample.value;
                }
                _ => counters.gauges.push(sample),
            }
        }
        counters
    }

    fn gauge(&self, name: &str) -> impl Iterator<Item = &Sample> {
        let name = name.to_owned();
        self.gauges.iter().filter(move |s| s.name == name)
    }

    fn gauge_sum(&self, name: &str) -> Option<f64> {
        self.gauge(name).map(|s| s.value).reduce(|a, b| a + b)
    }
}

/// The metrics of one service between two scrapes `seconds` apart.
pub fn between(older: &Counters, newer: &Counters, seconds: f64) -> ServiceMetrics {
    let seconds = seconds.max(0.001);
    let mut routes = Vec::new();
    let mut total = Red::default();
    let mut all_buckets: BTreeMap<String, f64> = BTreeMap::new();
    for ((method, route), classes) in &newer.requests {
        if !is_operational(route) {
            continue;
        }
        let before = older.requests.get(&(method.clone(), route.clone()));
        let delta = |class: Option<char>| -> f64 {
            classes
                .iter()
                .filter(|(c, _)| class.is_none_or(|want| **c == want))
                .map(|(c, now)| {
                    let then = before.and_then(|b| b.get(c)).copied().unwrap_or(0.0);
                    // A counter that went down was reset by a restart: count from zero.
                    if *now >= then { now - then } else { *now }
                })
                .sum()
        };
        let key = (method.clone(), route.clone());
        let buckets = bucket_deltas(older.buckets.get(&key), newer.buckets.get(&key));
        for (le, n) in &buckets {
            *all_buckets.entry(le.clone()).or_default() += n;
        }
        let red = Red {
            rate: delta(None) / seconds,
            client_errors: delta(Some('4')) / seconds,
            errors: delta(Some('5')) / seconds,
            p50: quantile(0.50, &buckets),
            p95: quantile(0.95, &buckets),
            p99: quantile(0.99, &buckets),
        };
        total.rate += red.rate;
        total.client_errors += red.client_errors;
        total.errors += red.errors;
        routes.push(RouteRed {
            method: method.clone(),
            route: route.clone(),
            red,
        });
    }
    total.p50 = quantile(0.50, &all_buckets);
    total.p95 = quantile(0.95, &all_buckets);
    total.p99 = quantile(0.99, &all_buckets);
    routes.sort_by(|a, b| {
        b.red
            .rate
            .total_cmp(&a.red.rate)
            .then(a.route.cmp(&b.route))
    });
    let cpu = match (older.cpu, newer.cpu) {
        (Some(then), Some(now)) if now >= then => Some((now - then) / seconds),
        _ => None,
    };
    let pool = match (
        newer.gauge_sum("db_pool_connections"),
        newer.gauge_sum("db_pool_max_connections"),
    ) {
        (Some(used), Some(max)) => Some((in_use(newer).unwrap_or(used), max)),
        _ => None,
    };
    ServiceMetrics {
        red: total,
        cpu,
        rss: newer.gauge_sum("process_resident_memory_bytes"),
        routes,
        breakers: newer
            .gauge("gateway_breaker_state")
            .map(|s| {
                (
                    s.label("upstream").unwrap_or("-").to_owned(),
                    Breaker::from_gauge(s.value),
                )
            })
            .collect(),
        pool,
        outbox: newer.gauge_sum("events_outbox_depth"),
        dead_letters: newer.gauge_sum("events_dead_letters"),
        history: None,
    }
}

/// Connections in use, where the pool gauge says which are idle (`state` label).
fn in_use(counters: &Counters) -> Option<f64> {
    let busy: Vec<f64> = counters
        .gauge("db_pool_connections")
        .filter(|s| s.label("state").is_some_and(|state| state != "idle"))
        .map(|s| s.value)
        .collect();
    (!busy.is_empty()).then(|| busy.iter().sum())
}

/// Samples of a gauge with a label, summed per label value (sagas by state, checkouts by
/// result, …).
pub fn by_label(counters: &Counters, name: &str, label: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for sample in counters.gauge(name) {
        *out.entry(sample.label(label).unwrap_or("-").to_owned())
            .or_default() += sample.value;
    }
    out
}

/// Per-minute increase of a counter family by a label between two scrapes.
pub fn per_minute(
    older: &Counters,
    newer: &Counters,
    name: &str,
    label: &str,
    seconds: f64,
) -> BTreeMap<String, f64> {
    let before = by_label(older, name, label);
    by_label(newer, name, label)
        .into_iter()
        .map(|(key, now)| {
            let then = before.get(&key).copied().unwrap_or(0.0);
            let delta = if now >= then { now - then } else { now };
            (key, delta * 60.0 / seconds.max(0.001))
        })
        .collect()
}

fn bucket_deltas(
    older: Option<&BTreeMap<String, f64>>,
    newer: Option<&BTreeMap<String, f64>>,
) -> BTreeMap<String, f64> {
    let Some(newer) = newer else {
        return BTreeMap::new();
    };
    newer
        .iter()
        .map(|(le, now)| {
            let then = older.and_then(|o| o.get(le)).copied().unwrap_or(0.0);
            (le.clone(), if *now >= then { now - then } else { *now })
        })
        .collect()
}

/// `histogram_quantile` over cumulative bucket counts keyed by their upper bound: linear
/// interpolation inside the bucket the rank falls in, as Prometheus does. `None` without
/// observations.
pub fn quantile(q: f64, buckets: &BTreeMap<String, f64>) -> Option<f64> {
    let mut bounds: Vec<(f64, f64)> = buckets
        .iter()
        .filter_map(|(le, n)| {
            let bound = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((bound, *n))
        })
        .collect();
    bounds.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total = bounds.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let mut lower = (0.0, 0.0);
    for (bound, count) in &bounds {
        if *count >= rank {
            if bound.is_infinite() {
                // Prometheus answers the highest finite bound.
                return Some(lower.0);
            }
            let inside = count - lower.1;
            let share = if inside > 0.0 {
                (rank - lower.1) / inside
            } else {
                1.0
            };
            return Some(lower.0 + (bound - lower.0) * share);
        }
        lower = (*bound, *count);
    }
    Some(lower.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCRAPE_A: &str = r#"# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{service="payment",route="/api/payments",method="POST",status="201"} 10
http_requests_total{service="payment",route="/api/payments",method="POST",status="503"} 0
http_requests_total{service="payment",route="/readyz",method="GET",status="200"} 50
http_request_duration_seconds_bucket{service="payment",route="/api/payments",method="POST",le="0.01"} 5
http_request_duration_seconds_bucket{service="payment",route="/api/payments",method="POST",le="0.1"} 10
http_request_duration_seconds_bucket{service="payment",route="/api/payments",method="POST",le="+Inf"} 10
process_cpu_seconds_total{scope="service"} 1.5
process_resident_memory_bytes{scope="service"} 1048576
"#;

    const SCRAPE_B: &str = r#"http_requests_total{service="payment",route="/api/payments",method="POST",status="201"} 30
http_requests_total{service="payment",route="/api/payments",method="POST",status="503"} 20
http_requests_total{service="payment",route="/readyz",method="GET",status="200"} 90
http_request_duration_seconds_bucket{service="payment",route="/api/payments",method="POST",le="0.01"} 15
http_request_duration_seconds_bucket{service="payment",route="/api/payments",method="POST",le="0.1"} 50
http_request_duration_seconds_bucket{service="payment",route="/api/payments",method="POST",le="+Inf"} 50
process_cpu_seconds_total{scope="service"} 2.5
process_resident_memory_bytes{scope="service"} 2097152
gateway_breaker_state{upstream="payment"} 1
"#;

    #[test]
    fn labels_with_escapes_and_braces_parse() {
        let samples = parse(r#"m{a="x\"}y",b="2"} 3.5"#);
        assert_eq!(samples.len(), 1);
        assert_eq!(samples[0].label("a"), Some("x\"}y"));
        assert!((samples[0].value - 3.5).abs() < f64::EPSILON);
        assert!(parse("garbage line without value\n# comment").is_empty());
    }

    #[test]
    fn rates_errors_and_quantiles_match_what_prometheus_would_compute() {
        let a = Counters::from_samples(parse(SCRAPE_A));
        let b = Counters::from_samples(parse(SCRAPE_B));
        let m = between(&a, &b, 10.0);
        // 40 API requests in 10 s; the probes are not traffic.
        assert!((m.red.rate - 4.0).abs() < 1e-9, "{m:?}");
        assert!((m.red.errors - 2.0).abs() < 1e-9);
        assert!((m.red.error_ratio() - 0.5).abs() < 1e-9);
        // 40 observations: 10 under 10 ms, 30 between 10 and 100 ms. The median's rank 20 is
        // the 10th of 30 in the second bucket.
        let p50 = m.red.p50.expect("a median");
        assert!((p50 - (0.01 + 0.09 * 10.0 / 30.0)).abs() < 1e-9, "{p50}");
        assert!((m.cpu.expect("cpu") - 0.1).abs() < 1e-9);
        assert_eq!(m.rss, Some(2_097_152.0));
        assert_eq!(m.breakers, vec![("payment".to_owned(), Breaker::Open)]);
        assert_eq!(m.routes.len(), 1);
    }

    #[test]
    fn a_restarted_service_counts_from_zero() {
        let a = Counters::from_samples(parse(SCRAPE_B));
        let b = Counters::from_samples(parse(SCRAPE_A));
        let m = between(&a, &b, 10.0);
        assert!((m.red.rate - 1.0).abs() < 1e-9, "{m:?}");
    }

    #[test]
    fn quantile_of_no_observations_is_none() {
        assert_eq!(quantile(0.5, &BTreeMap::new()), None);
    }
}
