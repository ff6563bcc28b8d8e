//! The gateway has no routes of its own, so no `router(state)` as the other services have: every
//! request kit's routes (probes, metrics, admin) do not claim goes through [`forward`], the
//! catch-all handler `app()` hands to `kit::http::finish_catch_all` with the state. (A router
//! with `forward` as its fallback, guarded as a whole, costs two more boxed layers per request:
//! 4 % of the gateway's instructions.)

pub mod pool;
mod proxy;
mod replicas;

pub use proxy::forward;
pub use replicas::{Replica, Upstream};

use pool::Pool;

use std::{collections::HashMap, sync::Arc, time::Duration};

use prometheus_client::metrics::{
    counter::Counter, family::Family, gauge::Gauge, histogram::Histogram,
};
use shopctl_kit::{
    auth::Auth,
    client::Rotation,
    metrics::{LATENCY_BUCKETS, Metrics},
    settings::replicas,
};

use crate::{
    domain::{
        Breaker, BreakerState, RateLimiter, ResponseCache, SERVICE_DOCUMENTS, Target,
        public_document,
    },
    settings::GatewaySettings,
    store::{Cache, Limiter, Shared},
};

/// Labels of the gateway's own metrics.
pub type UpstreamLabels = Vec<(&'static str, String)>;

/// Shared state of the proxy: one allocation, so handing it to a request is one reference count.
#[derive(Clone)]
pub struct AppState(Arc<Proxy>);

impl std::ops::Deref for AppState {
    type Target = Proxy;

    fn deref(&self) -> &Proxy {
        &self.0
    }
}

/// What the proxy shares between requests.
pub struct Proxy {
    /// The upstreams, by service name.
    pub upstreams: HashMap<String, Upstream, foldhash::fast::RandomState>,
    /// Edge authentication.
    pub auth: Auth,
    /// Rate limiter.
    pub limiter: Arc<Limiter>,
    /// Settings.
    pub settings: Arc<GatewaySettings>,
    /// Largest accepted request body in bytes.
    pub body_limit: usize,
    /// `gateway_rate_limited_total{class}`.
    pub rate_limited: Family<Vec<(&'static str, &'static str)>, Counter>,
    /// `gateway_upstream_errors_total{upstream}`.
    pub upstream_errors: Family<UpstreamLabels, Counter>,
    /// `gateway_upstream_retries_total{upstream}`: attempts after a failed first one.
    pub upstream_retries: Family<UpstreamLabels, Counter>,
    /// `gateway_breaker_state{upstream}`: 0 closed, 1 open, 2 half-open ([`Upstream::state`]).
    pub breaker_state: Family<UpstreamLabels, Gauge>,
    /// Cache of anonymous catalog reads.
    pub cache: Arc<Cache>,
    /// `gateway_cache_requests_total{result}`: hit or miss.
    pub cache_requests: Family<Vec<(&'static str, &'static str)>, Counter>,
    /// The public API document served at [`crate::domain::OPENAPI_PATH`], serialized once.
    pub document: axum::body::Bytes,
}

impl AppState {
    /// State for `settings`, registering the gateway's metrics in `metrics`.
    pub fn new(
        settings: &GatewaySettings,
        body_limit: usize,
        auth: Auth,
        metrics: &Metrics,
    ) -> Self {
        let upstream_latency =
            Family::<UpstreamLabels, Histogram, fn() -> Histogram>::new_with_constructor(|| {
                Histogram::new(LATENCY_BUCKETS)
            });
        // The URLs were checked when the settings were loaded.
        let upstreams = settings
            .upstreams
            .iter()
            .filter_map(|(name, bases)| {
                let replicas: Box<[Replica]> = replicas(bases)
                    .filter_map(Target::parse)
                    .map(|target| Replica {
                        pool: Pool::new(target.authority(), pool::MAX_IDLE, pool::IDLE_TIMEOUT),
                        target,
                        breaker: Breaker::new(
                            settings.breaker_failures,
                            Duration::from_secs(settings.breaker_open_secs),
                        ),
                        refused: std::sync::atomic::AtomicBool::new(false),
                    })
                    .collect();
                let upstream = Upstream {
                    replicas,
                    turn: Rotation::default(),
                    latency: upstream_latency
                        .get_or_create(&vec![("upstream", name.clone())])
                        .clone(),
                };
                (!upstream.replicas.is_empty()).then(|| (name.clone(), upstream))
            })
            .collect();
        // The URL was checked when the settings were loaded.
        let shared = settings
            .redis_url
            .as_deref()
            .and_then(|url| Shared::open(url, &settings.redis_prefix).ok())
            .map(Arc::new);
        let ttl = Duration::from_millis(settings.cache_ttl_ms);
        let cache = match &shared {
            Some(shared) => Cache::Redis {
                ttl,
                shared: Arc::clone(shared),
            },
            None => Cache::Memory(ResponseCache::new(ttl, settings.cache_max_entries)),
        };
        let state = Proxy {
            upstreams,
            auth,
            limiter: Arc::new(limiter(settings, shared)),
            settings: Arc::new(settings.clone()),
            body_limit,
            // Registered in the order `/metrics` lists them.
            rate_limited: metrics.registered(
                "gateway_rate_limited",
                "Requests refused by the rate limiter",
            ),
            upstream_errors: metrics.registered(
                "gateway_upstream_errors",
                "Upstream calls that failed or timed out",
            ),
            upstream_retries: metrics.registered(
                "gateway_upstream_retries",
                "Upstream calls repeated after a failed attempt (body-less GET, HEAD and OPTIONS only)",
            ),
            cache_requests: metrics.registered(
                "gateway_cache_requests",
                "Cacheable catalog reads, by result (hit or miss)",
            ),
            breaker_state: metrics.registered(
                "gateway_breaker_state",
                "Circuit breaker state per upstream: 0 closed, 1 open, 2 half-open",
            ),
            cache: Arc::new(cache),
            // The documents are compiled in and their merge is tested: failing here is a bug.
            document: public_document(&SERVICE_DOCUMENTS, env!("CARGO_PKG_VERSION"))
                .map(|doc| axum::body::Bytes::from(doc.to_string()))
                .expect("the services' committed OpenAPI documents merge"),
        };
        metrics.register(
            "gateway_upstream_duration_seconds",
            "Latency of the upstreams' answers, seen from the gateway, by upstream",
            upstream_latency,
        );
        // Every label value known from the start, so rates begin at zero rather than at the
        // first event.
        for class in ["auth", "api", "web"] {
            let _ = state.rate_limited.get_or_create(&vec![("class", class)]);
        }
        for upstream in state.upstreams.keys() {
            state
                .breaker_state
                .get_or_create(&vec![("upstream", upstream.clone())])
                .set(0);
        }
        Self(Arc::new(state))
    }
}

/// `gateway_breaker_state`'s value for `state`.
fn breaker_gauge(state: BreakerState) -> i64 {
    match state {
        BreakerState::Closed => 0,
        BreakerState::Open => 1,
        BreakerState::HalfOpen => 2,
    }
}

fn limiter(settings: &GatewaySettings, shared: Option<Arc<Shared>>) -> Limiter {
    let shape = RateLimiter::new(
        settings.rate_limit_per_minute,
        settings.rate_limit_burst,
        settings.auth_rate_limit_per_minute,
    );
    match shared {
        Some(shared) => Limiter::redis(shape, shared),
        None => Limiter::Memory(shape),
    }
}
