//! Per-route statistics while the load runs, and the report they make: req/s, nearest-rank
//! p50/p95/p99, ok, refused and errors per route, and the orders by outcome.

use std::{collections::BTreeMap, time::Duration};

use serde::Serialize;

use super::{Plan, shopper::Shopper};

/// Latencies and outcomes of one route.
#[derive(Debug, Default, Clone)]
pub(super) struct RouteStats {
    pub(super) latencies_us: Vec<u32>,
    pub(super) ok: u64,
    pub(super) refused: u64,
    pub(super) errors: BTreeMap<String, u64>,
}

/// One route's line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct RouteReport {
    /// The route (task step) name.
    pub route: &'static str,
    /// Requests sent.
    pub requests: u64,
    /// Requests per second over the run.
    pub requests_per_sec: f64,
    /// Median latency in milliseconds.
    pub p50_ms: f64,
    /// 95th percentile latency in milliseconds.
    pub p95_ms: f64,
    /// 99th percentile latency in milliseconds.
    pub p99_ms: f64,
    /// 2xx answers.
    pub ok: u64,
    /// Rightful refusals (409).
    pub refused: u64,
    /// Errors by status code or transport failure.
    pub errors: BTreeMap<String, u64>,
}

/// The outcome of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Gateway the load went to.
    pub target: String,
    /// Shoppers.
    pub users: u32,
    /// Seconds the load ran.
    pub duration_secs: f64,
    /// Requests sent.
    pub requests: u64,
    /// Requests per second, all routes.
    pub requests_per_sec: f64,
    /// Errors, all routes (unexpected cancellations and unsettled orders included).
    pub errors: u64,
    /// Orders confirmed.
    pub orders: u64,
    /// Checkouts paid with the declined test card and cancelled for it, as expected.
    pub declined: u64,
    /// Orders cancelled although nothing should have cancelled them (also in `errors`).
    pub cancelled: u64,
    /// Orders still pending [`SETTLE_FOR`] after the run (also in `errors`).
    pub unsettled: u64,
    /// Per route, in a fixed order.
    pub routes: Vec<RouteReport>,
}

/// The nearest-rank `p`th percentile (`p` in 1..=100) of `sorted` microseconds, in ms.
fn percentile(sorted: &[u32], p: usize) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p * sorted.len()).div_ceil(100);
    f64::from(sorted[rank.clamp(1, sorted.len()) - 1]) / 1000.0
}

/// The order routes appear in.
const ROUTES: [&str; 7] = [
    "home",
    "browse_product",
    "browse_category",
    "view_cart",
    "add_to_cart",
    "checkout",
    "remove_from_cart",
];

// Request counts stay far below 2^52, so counting in f64 loses nothing.
#[allow(clippy::cast_precision_loss)]
pub(super) fn report(plan: &Plan, shoppers: Vec<Shopper>, elapsed: Duration) -> Report {
    let mut merged: BTreeMap<&'static str, RouteStats> = BTreeMap::new();
    let (mut orders, mut declined, mut cancelled, mut unsettled) = (0, 0, 0, 0);
    for shopper in shoppers {
        orders += shopper.checkouts.confirmed;
        declined += shopper.checkouts.declined;
        cancelled += shopper.checkouts.cancelled;
        unsettled += shopper.checkouts.unsettled;
        for (route, stats) in shopper.stats {
            let into = merged.entry(route).or_default();
            into.latencies_us.extend(stats.latencies_us);
            into.ok += stats.ok;
            into.refused += stats.refused;
            for (kind, count) in stats.errors {
                *into.errors.entry(kind).or_default() += count;
            }
        }
    }
    let seconds = elapsed.as_secs_f64().max(0.001);
    let routes: Vec<RouteReport> = ROUTES
        .iter()
        .filter_map(|route| {
            let mut stats = merged.remove(route)?;
            stats.latencies_us.sort_unstable();
            let requests = stats.latencies_us.len() as u64;
            Some(RouteReport {
                route,
                requests,
                requests_per_sec: requests as f64 / seconds,
                p50_ms: percentile(&stats.latencies_us, 50),
                p95_ms: percentile(&stats.latencies_us, 95),
                p99_ms: percentile(&stats.latencies_us, 99),
                ok: stats.ok,
                refused: stats.refused,
                errors: stats.errors,
            })
        })
        .collect();
    let requests = routes.iter().map(|r| r.requests).sum();
    Report {
        target: plan.gateway.clone(),
        users: plan.users,
        duration_secs: seconds,
        requests,
        requests_per_sec: requests as f64 / seconds,
        errors: routes.iter().map(|r| r.errors.values().sum::<u64>()).sum(),
        orders,
        declined,
        cancelled,
        unsettled,
        routes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let sorted: Vec<u32> = (1..=100).map(|ms| ms * 1000).collect();
        assert!((percentile(&sorted, 50) - 50.0).abs() < f64::EPSILON);
        assert!((percentile(&sorted, 95) - 95.0).abs() < f64::EPSILON);
        assert!((percentile(&sorted, 99) - 99.0).abs() < f64::EPSILON);
        assert!((percentile(&[7000], 99) - 7.0).abs() < f64::EPSILON);
        assert!(percentile(&[], 50).abs() < f64::EPSILON);
    }
}
