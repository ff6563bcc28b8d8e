//! The relay: due outbox rows leased, handed to a [`Sink`], deleted when delivered, retried
//! with capped, jittered exponential backoff, or moved to the dead letters.

use std::{future::Future, sync::Arc, time::Duration};

use chrono::Utc;
use prometheus_client::metrics::{counter::Counter, family::Family, gauge::Gauge};
use rand::Rng as _;

use crate::{
    db::{Db, StoreError},
    metrics::Metrics,
    sql::Param,
};

use super::{Delivery, DeliveryError, Sink, depths};

/// Retry schedule of the relay.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Failed attempts after which a delivery is dead-lettered.
    pub max_attempts: u32,
    /// Wait after the first failure.
    pub base: Duration,
    /// Longest wait between attempts.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base: Duration::from_millis(500),
            max_delay: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// Wait before attempt `failures + 1`: `base · 2^(failures-1)`, capped, then jittered down
    /// by up to half so that retries from many rows do not arrive together.
    pub fn delay(&self, failures: u32) -> Duration {
        let exponent = failures.saturating_sub(1).min(20);
        let full = self
            .base
            .saturating_mul(1u32 << exponent)
            .min(self.max_delay);
        let jitter = rand::rng().random_range(0.5..=1.0);
        full.mul_f64(jitter)
    }
}

/// The relay's metrics.
#[derive(Clone)]
struct RelayMetrics {
    depth: Gauge,
    dead: Gauge,
    delivered: Family<Vec<(&'static str, String)>, Counter>,
    failed: Family<Vec<(&'static str, String)>, Counter>,
}

/// Delivers due outbox rows through a [`Sink`]. Clones share the database, sink and metrics.
#[derive(Clone)]
pub struct Relay {
    db: Db,
    sink: Arc<dyn Sink>,
    policy: RetryPolicy,
    /// Only rows whose destination satisfies this are taken (a service may run one relay per
    /// sink kind: HTTP subscribers, SMTP).
    filter: Option<String>,
    metrics: RelayMetrics,
    wake: Arc<tokio::sync::Notify>,
    /// How long one delivery may take before it counts as failed (and is retried).
    deliver_timeout: Duration,
}

/// How long a taken row is reserved for one relay.
const LEASE: Duration = Duration::from_secs(60);
/// How long one delivery may take by default: well inside the lease, so that another replica
/// can never take a row over while its delivery is still under way (a mail sent twice).
const DELIVER_TIMEOUT: Duration = Duration::from_secs(30);
/// Rows taken per pass.
const BATCH: i64 = 64;

impl Relay {
    /// A relay over `db`'s outbox, delivering through `sink`, counting on `metrics`.
    pub fn new(db: Db, sink: Arc<dyn Sink>, policy: RetryPolicy, metrics: &Metrics) -> Self {
        let relay_metrics = RelayMetrics {
            depth: metrics.registered(
                "events_outbox_depth",
                "Event deliveries waiting in the outbox",
            ),
            dead: metrics.registered(
                "events_dead_letters",
                "Event deliveries in the dead-letter table",
            ),
            delivered: metrics.registered(
                "events_delivered",
                "Event deliveries that succeeded, by topic",
            ),
            failed: metrics.registered(
                "events_delivery_failures",
                "Failed event delivery attempts, by topic",
            ),
        };
        Self {
            db,
            sink,
            policy,
            filter: None,
            metrics: relay_metrics,
            wake: Arc::new(tokio::sync::Notify::new()),
            deliver_timeout: DELIVER_TIMEOUT,
        }
    }

    /// How long one delivery may take before it is given up and retried (default 30 s, half
    /// the lease; longer than the lease is refused, as another relay could then take the row).
    #[must_use]
    pub fn deliver_timeout(mut self, timeout: Duration) -> Self {
        self.deliver_timeout = timeout.min(LEASE / 2);
        self
    }

    /// Only deliver rows whose destination starts with `prefix`.
    #[must_use]
    pub fn only(mut self, prefix: &str) -> Self {
        self.filter = Some(prefix.to_owned());
        self
    }

    /// A handle that makes the relay look for work now (call after committing an event).
    pub fn waker(&self) -> Arc<tokio::sync::Notify> {
        Arc::clone(&self.wake)
    }

    /// One pass: delivers every due row it can lease; returns how many were delivered.
    pub async fn run_once(&self) -> Result<usize, StoreError> {
        let now = Utc::now();
        let prefix = format!("{}%", self.filter.as_deref().unwrap_or(""));
        let due: Vec<Delivery> = self
            .db
            .fetch_all(
                "SELECT id, event_id, topic, destination, payload, occurred_at, attempts, last_error,
                  traceparent
                 FROM events_outbox
                 WHERE next_attempt_at <= ? AND (leased_until IS NULL OR leased_until < ?)
                   AND destination LIKE ?
                 ORDER BY next_attempt_at LIMIT ?",
                &[
                    Param::Time(now),
                    Param::Time(now),
                    Param::Text(prefix),
                    Param::Int(BATCH),
                ],
            )
            .await?;
        let mut delivered = 0;
        for delivery in due {
            if !self.lease(&delivery.id).await? {
                continue;
            }
            let labels = vec![("topic", delivery.topic.clone())];
            let answer = tokio::time::timeout(self.deliver_timeout, self.sink.deliver(&delivery))
                .await
                .unwrap_or_else(|_| {
                    Err(DeliveryError::Retry(format!(
                        "no answer within {} ms; given up before its lease ran out",
                        self.deliver_timeout.as_millis()
                    )))
                });
            match answer {
                Ok(()) => {
                    self.db
                        .execute(
                            "DELETE FROM events_outbox WHERE id = ?",
                            &[Param::Text(delivery.id.clone())],
                        )
                        .await?;
                    self.metrics.delivered.get_or_create(&labels).inc();
                    delivered += 1;
                }
                Err(err) => {
                    self.metrics.failed.get_or_create(&labels).inc();
                    self.failed(&delivery, &err).await?;
                }
            }
        }
        self.refresh_gauges().await?;
        Ok(delivered)
    }

    async fn lease(&self, id: &str) -> Result<bool, StoreError> {
        let now = Utc::now();
        let until = now + chrono::Duration::from_std(LEASE).unwrap_or_default();
        let taken = self
            .db
            .execute(
                "UPDATE events_outbox SET leased_until = ?
                 WHERE id = ? AND (leased_until IS NULL OR leased_until < ?) AND next_attempt_at <= ?",
                &[
                    Param::Time(until),
                    Param::Text(id.to_owned()),
                    Param::Time(now),
                    Param::Time(now),
                ],
            )
            .await?;
        Ok(taken == 1)
    }

    async fn failed(&self, delivery: &Delivery, err: &DeliveryError) -> Result<(), StoreError> {
        let attempts = delivery.attempts + 1;
        let message: String = err.message().chars().take(500).collect();
        let give_up = matches!(err, DeliveryError::Permanent(_))
            || attempts >= i64::from(self.policy.max_attempts);
        if give_up {
            tracing::warn!(
                delivery = %delivery.id, topic = %delivery.topic, destination = %delivery.destination,
                attempts, error = %message, "event delivery dead-lettered"
            );
            let mut tx = self.db.begin().await?;
            tx.execute(
                "INSERT INTO events_dead_letters
                 (id, event_id, topic, destination, payload, occurred_at, attempts, last_error,
                  traceparent, failed_at)
                 SELECT id, event_id, topic, destination, payload, occurred_at, ?, ?, traceparent, ?
                 FROM events_outbox WHERE id = ?",
                &[
                    Param::Int(attempts),
                    Param::Text(message),
                    Param::Time(Utc::now()),
                    Param::Text(delivery.id.clone()),
                ],
            )
            .await?;
            tx.execute(
                "DELETE FROM events_outbox WHERE id = ?",
                &[Param::Text(delivery.id.clone())],
            )
            .await?;
            tx.commit().await?;
        } else {
            let wait = self
                .policy
                .delay(u32::try_from(attempts).unwrap_or(u32::MAX));
            tracing::info!(
                delivery = %delivery.id, topic = %delivery.topic, attempts,
                retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                error = %message, "event delivery failed; will retry"
            );
            let next = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
            self.db
                .execute(
                    "UPDATE events_outbox
                     SET attempts = ?, last_error = ?, next_attempt_at = ?, leased_until = NULL
                     WHERE id = ?",
                    &[
                        Param::Int(attempts),
                        Param::Text(message),
                        Param::Time(next),
                        Param::Text(delivery.id.clone()),
                    ],
                )
                .await?;
        }
        Ok(())
    }

    async fn refresh_gauges(&self) -> Result<(), StoreError> {
        let (depth, dead) = depths(&self.db).await?;
        self.metrics.depth.set(depth);
        self.metrics.dead.set(dead);
        Ok(())
    }

    /// Runs passes until `shutdown` resolves: whenever woken, and at least every `interval`.
    pub async fn run(self, interval: Duration, shutdown: impl Future<Output = ()> + Send) {
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            if let Err(err) = self.run_once().await {
                tracing::warn!(error = %err, "event relay pass failed");
            }
            tokio::select! {
                () = &mut shutdown => break,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(interval) => {}
            }
        }
    }
}
