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

use std::{collections::BTreeMap, sync::Arc};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    db::{Backend, Db, StoreError},
    sql::{Param, Tx},
};

mod delivery;
mod relay;

pub use delivery::{
    DeliverFuture, Delivery, DeliveryError, HttpSink, SUBSCRIBER, Sink, http_relay,
};
pub use relay::{Relay, RetryPolicy};

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
    // Added after the tables first shipped: the `traceparent` of the request that wrote the
    // event, so its delivery continues that request's trace.
    for table in ["events_outbox", "events_dead_letters"] {
        let probe = format!("SELECT traceparent FROM {table} WHERE 1 = 0");
        if db.execute(&probe, &[]).await.is_err() {
            let add = format!("ALTER TABLE {table} ADD COLUMN traceparent TEXT");
            // Another process may have added it meanwhile; then the probe passes now.
            if let Err(err) = db.execute(&add, &[]).await {
                db.execute(&probe, &[]).await.map_err(|_| err)?;
            }
        }
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
         (id, event_id, topic, destination, payload, occurred_at, attempts, next_attempt_at,
          traceparent)
         VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)",
        &[
            Param::Text(Uuid::now_v7().to_string()),
            Param::Text(event_id.to_string()),
            Param::Text(topic.to_owned()),
            Param::Text(destination.to_owned()),
            Param::Text(payload),
            Param::Time(now),
            Param::Time(now),
            Param::OptText(crate::trace::current_traceparent()),
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

/// A dead-lettered delivery: the [`Delivery`] as it was given up on (its `id` is the row id
/// [`redrive`] takes, its `attempts` and `last_error` those it ended with), and when. It reads as
/// its delivery (`letter.topic`); its JSON is the delivery's fields and `failed_at`.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct DeadLetter {
    /// The delivery given up on.
    #[serde(flatten)]
    #[sqlx(flatten)]
    pub delivery: Delivery,
    /// When it was given up on.
    pub failed_at: DateTime<Utc>,
}

impl std::ops::Deref for DeadLetter {
    type Target = Delivery;

    fn deref(&self) -> &Delivery {
        &self.delivery
    }
}

const DEAD_COLUMNS: &str = "id, event_id, topic, destination, payload, occurred_at, attempts, last_error, traceparent, failed_at";

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
                 (id, event_id, topic, destination, payload, occurred_at, attempts, last_error,
                  traceparent, next_attempt_at)
                 SELECT id, event_id, topic, destination, payload, occurred_at, 0, last_error,
                  traceparent, ?
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
