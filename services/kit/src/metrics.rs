//! Prometheus metrics with the uniform names every dashboard, alert and ops command relies on:
//! `http_requests_total{service,route,method,status}` and
//! `http_request_duration_seconds{service,route,method}` (histogram), plus `shopctl_build_info`
//! and whatever business metrics a service registers. Each service owns its registry, so several
//! services in one process (`shopctl up --in-process`, tests) never mix their series. The
//! process metrics ([`process`]) come from the first registry of a process only; the database
//! pool's ([`register_pool`]) from each service with a database.

mod pool;
mod process;

pub use pool::register_pool;
pub use process::share_process;

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, RwLock},
};

use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::{Metric, Registry},
};

/// Histogram buckets for request latency, in seconds.
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Labels of `http_requests_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// Service name.
    pub service: &'static str,
    /// Matched route template (`/api/products/{id}`), or `unmatched`.
    pub route: &'static str,
    /// HTTP method.
    pub method: &'static str,
    /// Response status code.
    pub status: u16,
}

/// Labels of `http_request_duration_seconds`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DurationLabels {
    /// Service name.
    pub service: &'static str,
    /// Matched route template, or `unmatched`.
    pub route: &'static str,
    /// HTTP method.
    pub method: &'static str,
}

/// Most distinct label texts kept; past it, new ones are counted as `other`.
const MAX_INTERNED: usize = 1_024;

/// The route templates and methods seen, kept for the life of the process so that label values
/// are borrowed rather than allocated on every request. The set is small and bounded: one entry
/// per route of the service, `unmatched` and the methods in use.
#[derive(Debug, Default)]
struct Interner(RwLock<HashSet<&'static str, foldhash::fast::RandomState>>);

impl Interner {
    fn get(&self, text: &str) -> &'static str {
        if let Ok(set) = self.0.read()
            && let Some(found) = set.get(text)
        {
            return found;
        }
        let Ok(mut set) = self.0.write() else {
            return "other";
        };
        if let Some(found) = set.get(text) {
            return found;
        }
        if set.len() >= MAX_INTERNED {
            return "other";
        }
        let kept: &'static str = Box::leak(text.to_owned().into_boxed_str());
        set.insert(kept);
        kept
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    service: &'static str,
    version: &'static str,
}

/// The request series seen, by route, method and status: handles into the two families, so a
/// request after the first of its kind costs one lookup under a fast hash instead of one per
/// family under SipHash (the families' own hash). Bounded as the interner is.
type Series =
    HashMap<(&'static str, &'static str, u16), (Counter, Histogram), foldhash::fast::RandomState>;

/// A service's metrics registry and its HTTP RED metrics.
#[derive(Clone)]
pub struct Metrics {
    service: &'static str,
    registry: Arc<RwLock<Registry>>,
    requests: Family<RequestLabels, Counter>,
    durations: Family<DurationLabels, Histogram>,
    labels: Arc<Interner>,
    series: Arc<RwLock<Series>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

impl Metrics {
    /// A fresh registry for `service` with the HTTP metrics and build info registered.
    pub fn new(service: &'static str) -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let durations = Family::<DurationLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        registry.register(
            "http_requests",
            "HTTP requests served, by route, method and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency, by route and method",
            durations.clone(),
        );
        let build = Family::<BuildLabels, Gauge>::default();
        build
            .get_or_create(&BuildLabels {
                service,
                version: env!("CARGO_PKG_VERSION"),
            })
            .set(1);
        registry.register("shopctl_build_info", "Build information", build);
        if let Some(process) = process::ProcessCollector::claim() {
            registry.register_collector(Box::new(process));
        }
        Self {
            service,
            registry: Arc::new(RwLock::new(registry)),
            requests,
            durations,
            labels: Arc::default(),
            series: Arc::default(),
        }
    }

    /// The service these metrics belong to.
    pub fn service(&self) -> &'static str {
        self.service
    }

    /// Registers a business metric (`name` without the `_total` suffix for counters).
    pub fn register(&self, name: &str, help: &str, metric: impl Metric) {
        if let Ok(mut registry) = self.registry.write() {
            registry.register(name, help, metric);
        }
    }

    /// A new business metric, registered as `name` (see [`Metrics::register`]): the handle to
    /// count with, which shares its value with the registered one.
    pub fn registered<M: Metric + Clone + Default>(&self, name: &str, help: &str) -> M {
        let metric = M::default();
        self.register(name, help, metric.clone());
        metric
    }

    /// Registers metrics read at each scrape.
    pub fn register_collector(&self, collector: impl prometheus_client::collector::Collector) {
        if let Ok(mut registry) = self.registry.write() {
            registry.register_collector(Box::new(collector));
        }
    }

    /// Records one served request.
    pub fn observe_request(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let route = self.labels.get(route);
        let method = self.labels.get(method);
        let key = (route, method, status);
        if let Ok(series) = self.series.read()
            && let Some((count, latency)) = series.get(&key)
        {
            count.inc();
            latency.observe(seconds);
            return;
        }
        let count = self
            .requests
            .get_or_create(&RequestLabels {
                service: self.service,
                route,
                method,
                status,
            })
            .clone();
        let latency = self
            .durations
            .get_or_create(&DurationLabels {
                service: self.service,
                route,
                method,
            })
            .clone();
        count.inc();
        latency.observe(seconds);
        if let Ok(mut series) = self.series.write() {
            series.insert(key, (count, latency));
        }
    }

    /// The registry in the OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Ok(registry) = self.registry.read() {
            // Writing into a String cannot fail.
            let _ = encode(&mut out, &registry);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_uniform_names() {
        let metrics = Metrics::new("product");
        metrics.observe_request("/api/products", "GET", 200, 0.003);
        let text = metrics.render();
        assert!(
            text.contains(
                r#"http_requests_total{service="product",route="/api/products",method="GET",status="200"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains("http_request_duration_seconds_bucket{"),
            "{text}"
        );
        assert!(text.contains("shopctl_build_info{"), "{text}");
    }

    #[test]
    fn repeated_requests_add_to_the_same_series() {
        let metrics = Metrics::new("product");
        for _ in 0..3 {
            metrics.observe_request("/api/products/{id}", "GET", 200, 0.002);
        }
        metrics.observe_request("/api/products/{id}", "GET", 404, 0.001);
        metrics.observe_request("/api/products/{id}", "PUT", 200, 0.004);
        let text = metrics.render();
        for (series, count) in [
            (r#"route="/api/products/{id}",method="GET",status="200""#, 3),
            (r#"route="/api/products/{id}",method="GET",status="404""#, 1),
            (r#"route="/api/products/{id}",method="PUT",status="200""#, 1),
        ] {
            let line = format!(r#"http_requests_total{{service="product",{series}}} {count}"#);
            assert!(text.contains(&line), "{line} in {text}");
        }
        let line = r#"http_request_duration_seconds_count{service="product",route="/api/products/{id}",method="GET"} 4"#;
        assert!(text.contains(line), "{line} in {text}");
    }
}
