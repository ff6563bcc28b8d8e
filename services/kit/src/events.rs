//! Reliable events between services: a transactional outbox, a relay that delivers with
//! exponential backoff and jitter, a consumer inbox, and dead letters.
//!
//! - **Outbox.** A producer writes its event with [`Outbox::enqueue`] inside the same [`Tx`] as the
//!   state change, one row per destination: either both commit or neither does.
//! - **Relay.** [`Relay`] takes due rows (leased, so several replicas never deliver the same row
//!   at once), hands each to a [`Sink`] (HTTP to a subscriber, or SMTP for mails), deletes it on
//!   success, and on failure schedules the next attempt after `base · 2^(n-1)` (capped, with
//!   jitter). After `max_attempts` failures, or at once on a permanent refusal (a 4xx: the event
//!   itself is wrong), the row moves to the dead-letter table.
//! - **Inbox.** A consumer calls [`first_time`] inside the transaction that applies the event's
//!   effect: a repeated delivery finds its id there and changes nothing, so redelivery (which
//!   at-least-once relaying does) has exactly-once effect.
//! - **Dead letters.** [`dead_letters`], [`dead_letter`] and [`redrive`] back `shopctl events dlq
//!   list|show|redrive`; outbox and dead-letter depths are gauges on `/metrics`.
//!
//! The tables belong to kit, not to a service's migrations: [`install`] creates them (idempotent)
//! in whichever database the service owns.

use std::{collections::BTreeMap, future::Future, pin::Pin, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use prometheus_client::metrics::{counter::Counter, family::Family, gauge::Gauge};
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    db::{Backend, Db, StoreError},
    metrics::Metrics,
    sql::{Param, Tx},
};

/// What a subscriber receives: the event and its identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Envelope {
    /// Event id: the same on every delivery of this event (the inbox key).
    pub id: Uuid,
    /// Topic, e.g. `order.confirmed`.
    pub topic: String,
    /// When the state change happened.
    pub occurred_at: DateTime<Utc>,
    /// Topic-specific body.
    pub data: serde_json::Value,
}

/// Where a topic's events go: topic → destinations (subscriber URLs, or sink names).
pub type Routes = BTreeMap<String, Vec<String>>;

/// Creates the outbox, dead-letter and inbox tables when missing.
pub async fn install(db: &Db) -> Result<(), StoreError> {
    let (time, int) = match db.backend() {
        Backend::Sqlite => ("TEXT", "INTEGER"),
        Backend::Postgres => ("TIMESTAMPTZ", "BIGINT"),
    };
    let columns = format!(
        "id TEXT PRIMARY KEY,
         event_id TEXT NOT NULL,
         topic TEXT NOT NULL,
         destination TEXT NOT NULL,
         payload TEXT NOT NULL,
         occurred_at {time} NOT NULL,
         attempts {int} NOT NULL DEFAULT 0,
         last_error TEXT"
    );
    let statements = [
        format!(
            "CREATE TABLE IF NOT EXISTS events_outbox ({columns},
             next_attempt_at {time} NOT NULL,
             leased_until {time})"
        ),
        "CREATE INDEX IF NOT EXISTS events_outbox_due ON events_outbox (next_attempt_at)"
            .to_owned(),
        format!(
            "CREATE TABLE IF NOT EXISTS events_dead_letters ({columns},
             failed_at {time} NOT NULL)"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS events_inbox (
             consumer TEXT NOT NULL,
             event_id TEXT NOT NULL,
             processed_at {time} NOT NULL,
             PRIMARY KEY (consumer, event_id))"
        ),
    ];
    for statement in &statements {
        db.execute(statement, &[]).await?;
    }
    Ok(())
}

/// Writes events in the producer's transaction.
#[derive(Debug, Clone)]
pub struct Outbox {
    routes: Arc<Routes>,
}

impl Outbox {
    /// An outbox sending each topic to the destinations `routes` name.
    pub fn new(routes: Routes) -> Self {
        Self {
            routes: Arc::new(routes),
        }
    }

    /// Records `data` as an event of `topic` for every destination of the topic, in `tx`.
    /// Returns the event id (also when the topic has no subscriber and nothing was written).
    pub async fn enqueue(
        &self,
        tx: &mut Tx,
        topic: &str,
        data: &impl Serialize,
    ) -> Result<Uuid, StoreError> {
        let id = Uuid::now_v7();
        let destinations = self.routes.get(topic).map_or(&[][..], Vec::as_slice);
        for destination in destinations {
            enqueue_to(tx, id, topic, destination, data).await?;
        }
        Ok(id)
    }
}

/// Records one delivery of event `event_id` to `destination`, in `tx`.
pub async fn enqueue_to(
    tx: &mut Tx,
    event_id: Uuid,
    topic: &str,
    destination: &str,
    data: &impl Serialize,
) -> Result<(), StoreError> {
    let now = Utc::now();
    let payload =
        serde_json::to_string(data).map_err(|e| StoreError::Db(sqlx::Error::Encode(e.into())))?;
    tx.execute(
        "INSERT INTO events_outbox
         (id, event_id, topic, destination, payload, occurred_at, attempts, next_attempt_at)
         VALUES (?, ?, ?, ?, ?, ?, 0, ?)",
        &[
            Param::Text(Uuid::now_v7().to_string()),
            Param::Text(event_id.to_string()),
            Param::Text(topic.to_owned()),
            Param::Text(destination.to_owned()),
            Param::Text(payload),
            Param::Time(now),
            Param::Time(now),
        ],
    )
    .await?;
    Ok(())
}

/// Whether `consumer` sees event `event_id` for the first time; records it in `tx` if so. Apply
/// the event's effect in the same transaction only when this returns `true`.
pub async fn first_time(tx: &mut Tx, consumer: &str, event_id: Uuid) -> Result<bool, StoreError> {
    let inserted = tx
        .execute(
            "INSERT INTO events_inbox (consumer, event_id, processed_at) VALUES (?, ?, ?)
             ON CONFLICT DO NOTHING",
            &[
                Param::Text(consumer.to_owned()),
                Param::Text(event_id.to_string()),
                Param::Time(Utc::now()),
            ],
        )
        .await?;
    Ok(inserted == 1)
}

/// One delivery, as the sink sees it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Delivery {
    /// Row id.
    pub id: String,
    /// Event id.
    pub event_id: String,
    /// Topic.
    pub topic: String,
    /// Destination.
    pub destination: String,
    /// JSON body.
    pub payload: String,
    /// When the event happened.
    pub occurred_at: DateTime<Utc>,
    /// Failed attempts so far.
    pub attempts: i64,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
}

impl Delivery {
    /// The envelope a subscriber receives.
    pub fn envelope(&self) -> Result<Envelope, String> {
        Ok(Envelope {
            id: self
                .event_id
                .parse()
                .map_err(|_| "corrupt event id".to_owned())?,
            topic: self.topic.clone(),
            occurred_at: self.occurred_at,
            data: serde_json::from_str(&self.payload)
                .map_err(|e| format!("corrupt payload: {e}"))?,
        })
    }
}

/// Why a delivery failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryError {
    /// Try again later (the destination is down, slow or overloaded).
    Retry(String),
    /// The destination refused this event for good: straight to the dead letters.
    Permanent(String),
}

impl DeliveryError {
    fn message(&self) -> &str {
        match self {
            Self::Retry(m) | Self::Permanent(m) => m,
        }
    }
}

/// Boxed future of [`Sink::deliver`].
pub type DeliverFuture<'a> = Pin<Box<dyn Future<Output = Result<(), DeliveryError>> + Send + 'a>>;

/// Delivers one row: HTTP to a subscriber, SMTP, …
pub trait Sink: Send + Sync + 'static {
    /// Delivers `delivery`.
    fn deliver<'a>(&'a self, delivery: &'a Delivery) -> DeliverFuture<'a>;
}

/// Posts envelopes as JSON to the destination URL, with a service token for the destination's
/// audience when one is configured. 2xx is delivered; 408, 429 and 5xx are retried; other 4xx
/// are permanent (the subscriber says this event can never be accepted).
pub struct HttpSink {
    client: reqwest::Client,
    tokens: Option<crate::jwt::ServiceTokens>,
    /// Destination URL → audience (service name) for the token.
    audiences: BTreeMap<String, String>,
}

impl HttpSink {
    /// A sink sending with `tokens` (when the platform service key is configured); `audiences`
    /// names the service behind each destination URL.
    pub fn new(
        tokens: Option<crate::jwt::ServiceTokens>,
        audiences: BTreeMap<String, String>,
    ) -> Self {
        Self {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            tokens,
            audiences,
        }
    }
}

impl Sink for HttpSink {
    fn deliver<'a>(&'a self, delivery: &'a Delivery) -> DeliverFuture<'a> {
        Box::pin(async move {
            let envelope = delivery.envelope().map_err(DeliveryError::Permanent)?;
            let mut request = self
                .client
                .post(&delivery.destination)
                .header("event-id", envelope.id.to_string())
                .header("event-topic", &envelope.topic)
                .json(&envelope);
            if let (Some(tokens), Some(audience)) =
                (&self.tokens, self.audiences.get(&delivery.destination))
            {
                let token = tokens
                    .mint(audience)
                    .map_err(|e| DeliveryError::Retry(e.to_string()))?;
                request = request.bearer_auth(token);
            }
            let response = request
                .send()
                .await
                .map_err(|e| DeliveryError::Retry(format!("{}: {e}", delivery.destination)))?;
            let status = response.status();
            if status.is_success() {
                Ok(())
            } else if status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429 {
                Err(DeliveryError::Retry(format!("answered {status}")))
            } else {
                Err(DeliveryError::Permanent(format!("refused with {status}")))
            }
        })
    }
}

/// The service every producer's events go to today; its name is the audience of the service
/// tokens the HTTP relay sends.
pub const SUBSCRIBER: &str = "notification";

/// The relay every producing service runs: its outbox delivered over HTTP to the subscriber
/// URLs of `routes`, with service tokens minted as `service` (when the platform service key is
/// configured), retried `max_attempts` times from `retry_base`.
pub fn http_relay(
    db: &Db,
    service: &str,
    common: &crate::settings::CommonSettings,
    routes: &Routes,
    max_attempts: u32,
    retry_base: Duration,
    metrics: &Metrics,
) -> Relay {
    let audiences = routes
        .values()
        .flatten()
        .map(|url| (url.clone(), SUBSCRIBER.to_owned()))
        .collect();
    let tokens = crate::jwt::ServiceTokens::from_settings(service, common);
    Relay::new(
        db.clone(),
        Arc::new(HttpSink::new(tokens, audiences)),
        RetryPolicy {
            max_attempts,
            base: retry_base,
            ..RetryPolicy::default()
        },
        metrics,
    )
}

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
#[derive(Clone, Default)]
struct RelayMetrics {
    depth: Gauge,
    dead: Gauge,
    delivered: Family<Vec<(&'static str, String)>, Counter>,
    failed: Family<Vec<(&'static str, String)>, Counter>,
}

/// Delivers due outbox rows through a [`Sink`].
pub struct Relay {
    db: Db,
    sink: Arc<dyn Sink>,
    policy: RetryPolicy,
    /// Only rows whose destination satisfies this are taken (a service may run one relay per
    /// sink kind: HTTP subscribers, SMTP).
    filter: Option<String>,
    metrics: RelayMetrics,
    wake: Arc<tokio::sync::Notify>,
}

/// How long a taken row is reserved for one relay.
const LEASE: Duration = Duration::from_secs(60);
/// Rows taken per pass.
const BATCH: i64 = 64;

impl Relay {
    /// A relay over `db`'s outbox, delivering through `sink`, counting on `metrics`.
    pub fn new(db: Db, sink: Arc<dyn Sink>, policy: RetryPolicy, metrics: &Metrics) -> Self {
        let relay_metrics = RelayMetrics::default();
        metrics.register(
            "events_outbox_depth",
            "Event deliveries waiting in the outbox",
            relay_metrics.depth.clone(),
        );
        metrics.register(
            "events_dead_letters",
            "Event deliveries in the dead-letter table",
            relay_metrics.dead.clone(),
        );
        metrics.register(
            "events_delivered",
            "Event deliveries that succeeded, by topic",
            relay_metrics.delivered.clone(),
        );
        metrics.register(
            "events_delivery_failures",
            "Failed event delivery attempts, by topic",
            relay_metrics.failed.clone(),
        );
        Self {
            db,
            sink,
            policy,
            filter: None,
            metrics: relay_metrics,
            wake: Arc::new(tokio::sync::Notify::new()),
        }
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
                "SELECT id, event_id, topic, destination, payload, occurred_at, attempts, last_error
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
            match self.sink.deliver(&delivery).await {
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
                 WHERE id = ? AND (leased_until IS NULL OR leased_until < ?)",
                &[
                    Param::Time(until),
                    Param::Text(id.to_owned()),
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
                 (id, event_id, topic, destination, payload, occurred_at, attempts, last_error, failed_at)
                 SELECT id, event_id, topic, destination, payload, occurred_at, ?, ?, ?
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

#[derive(sqlx::FromRow)]
struct Count {
    n: i64,
}

/// Rows waiting in the outbox and in the dead letters.
pub async fn depths(db: &Db) -> Result<(i64, i64), StoreError> {
    let depth: Count = db
        .fetch_one("SELECT COUNT(*) AS n FROM events_outbox", &[])
        .await?;
    let dead: Count = db
        .fetch_one("SELECT COUNT(*) AS n FROM events_dead_letters", &[])
        .await?;
    Ok((depth.n, dead.n))
}

/// A dead-lettered delivery.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct DeadLetter {
    /// Row id (what `redrive` takes).
    pub id: String,
    /// Event id.
    pub event_id: String,
    /// Topic.
    pub topic: String,
    /// Destination.
    pub destination: String,
    /// JSON body.
    pub payload: String,
    /// When the event happened.
    pub occurred_at: DateTime<Utc>,
    /// Attempts made.
    pub attempts: i64,
    /// The last error.
    pub last_error: Option<String>,
    /// When it was given up on.
    pub failed_at: DateTime<Utc>,
}

const DEAD_COLUMNS: &str =
    "id, event_id, topic, destination, payload, occurred_at, attempts, last_error, failed_at";

/// Dead letters, oldest first.
pub async fn dead_letters(db: &Db, limit: i64) -> Result<Vec<DeadLetter>, StoreError> {
    db.fetch_all(
        &format!("SELECT {DEAD_COLUMNS} FROM events_dead_letters ORDER BY failed_at, id LIMIT ?"),
        &[Param::Int(limit)],
    )
    .await
}

/// One dead letter by row id.
pub async fn dead_letter(db: &Db, id: &str) -> Result<DeadLetter, StoreError> {
    db.fetch_one(
        &format!("SELECT {DEAD_COLUMNS} FROM events_dead_letters WHERE id = ?"),
        &[Param::Text(id.to_owned())],
    )
    .await
}

/// Moves dead letters back into the outbox, due now with a fresh attempt count: the one named
/// `id`, or all of them. Returns how many.
pub async fn redrive(db: &Db, id: Option<&str>) -> Result<u64, StoreError> {
    let now = Utc::now();
    let (filter, mut params) = match id {
        Some(id) => (" WHERE id = ?", vec![Param::Text(id.to_owned())]),
        None => ("", Vec::new()),
    };
    let mut tx = db.begin().await?;
    let mut insert_params = vec![Param::Time(now)];
    insert_params.append(&mut params.clone());
    let moved = tx
        .execute(
            &format!(
                "INSERT INTO events_outbox
                 (id, event_id, topic, destination, payload, occurred_at, attempts, last_error, next_attempt_at)
                 SELECT id, event_id, topic, destination, payload, occurred_at, 0, last_error, ?
                 FROM events_dead_letters{filter}"
            ),
            &insert_params,
        )
        .await?;
    tx.execute(
        &format!("DELETE FROM events_dead_letters{filter}"),
        &std::mem::take(&mut params),
    )
    .await?;
    tx.commit().await?;
    Ok(moved)
}
