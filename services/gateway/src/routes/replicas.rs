//! An upstream's replicas: taken in turn, each with its breaker and pool, and the loop that
//! gives a restarted replica its traffic back as soon as it is ready.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use http::Request;
use http_body_util::{BodyExt as _, Empty};
use prometheus_client::metrics::histogram::Histogram;
use shopctl_kit::{client::Rotation, service::Stop};

use super::{
    AppState,
    pool::{OutgoingBody, Pool},
};
use crate::domain::{Breaker, BreakerState, Target};

/// One upstream service: its replicas, taken in turn, and its answers' latency. In a cluster it
/// has one address (its Kubernetes Service spreads the calls); on one machine
/// (`shopctl up --replicas`) its base URL lists every replica.
pub struct Upstream {
    /// Its replicas, at least one.
    pub replicas: Box<[Replica]>,
    /// Whose turn it is.
    pub turn: Rotation,
    /// `gateway_upstream_duration_seconds{upstream}`: its answers' latency, seen from here.
    pub latency: Histogram,
}

/// One replica of an upstream: where it is, its kept-alive connections and its breaker.
pub struct Replica {
    /// Its base URL, parsed once.
    pub target: Target,
    /// Its idle connections.
    pub pool: Arc<Pool>,
    /// Its circuit breaker.
    pub breaker: Breaker,
    /// Whether its last call found no process listening (refused connection): then its
    /// breaker may be closed by a ready `/readyz` ([`AppState::probe_replicas`]).
    pub refused: AtomicBool,
}

impl Replica {
    /// Notes whether a call found the replica listening; cheap when nothing changes.
    pub fn listening(&self, yes: bool) {
        if self.refused.load(Ordering::Relaxed) == yes {
            self.refused.store(!yes, Ordering::Relaxed);
        }
    }

    /// Whether its `/readyz` answers 200 within a second.
    async fn ready(&self) -> bool {
        let request: Request<OutgoingBody> = Request::get("/readyz")
            .body(Empty::new().map_err(|never| match never {}).boxed_unsync())
            .expect("a fixed request is valid");
        let answer = tokio::time::timeout(Duration::from_secs(1), self.pool.send(request)).await;
        matches!(answer, Ok(Ok(response)) if response.status() == http::StatusCode::OK)
    }
}

impl Upstream {
    /// The breaker state of the upstream as a whole: closed while any replica's breaker is,
    /// open when every one is, half-open otherwise.
    pub fn state(&self) -> BreakerState {
        let mut state = BreakerState::Open;
        for replica in &self.replicas {
            match replica.breaker.state() {
                BreakerState::Closed => return BreakerState::Closed,
                BreakerState::HalfOpen => state = BreakerState::HalfOpen,
                BreakerState::Open => {}
            }
        }
        state
    }
}

impl AppState {
    /// Every `every`, asks `/readyz` of each upstream replica whose breaker opened because it
    /// refused connections (its process was gone); a ready answer closes the breaker at once, so
    /// a restarted replica has its share of traffic back within `every` rather than after the
    /// breaker's open period, as a Kubernetes Service takes a pod back once it is ready. A
    /// replica that answers but fails is left to its breaker. Ends when `stop` fires.
    pub async fn probe_replicas(self, every: Duration, stop: Stop) {
        let mut stopping = std::pin::pin!(stop.requested());
        loop {
            tokio::select! {
                () = &mut stopping => return,
                () = tokio::time::sleep(every) => {}
            }
            for (name, upstream) in &self.upstreams {
                for replica in &upstream.replicas {
                    if !replica.refused.load(Ordering::Relaxed)
                        || replica.breaker.state() == BreakerState::Closed
                        || !replica.ready().await
                    {
                        continue;
                    }
                    let before = upstream.state();
                    replica.breaker.record(true, Instant::now());
                    replica.listening(true);
                    tracing::info!(
                        upstream = %name,
                        replica = %replica.target.authority(),
                        "upstream replica is ready again; its breaker is closed"
                    );
                    if upstream.state() != before {
                        self.breaker_state
                            .get_or_create(&vec![("upstream", name.clone())])
                            .set(super::breaker_gauge(upstream.state()));
                    }
                }
            }
        }
    }
}
