//! Delivering one outbox row: what a [`Sink`] is handed, how a delivery fails, and the HTTP
//! sink every producing service's relay posts envelopes with.

use std::{collections::BTreeMap, future::Future, pin::Pin, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{db::Db, metrics::Metrics};

use super::{Envelope, Relay, RetryPolicy, Routes};

/// One delivery, as the sink sees it (and as a [`super::DeadLetter`] keeps it).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
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
    /// The `traceparent` of the request that wrote the event: its delivery continues that trace.
    pub traceparent: Option<String>,
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
    pub(super) fn message(&self) -> &str {
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
/// are permanent (the subscriber says this event can never be accepted). A destination naming
/// the subscriber's replicas (URLs separated by commas) is served by them in turn; a replica
/// that refuses the connection is passed over for the next.
pub struct HttpSink {
    client: reqwest::Client,
    /// Whose turn it is among a destination's replicas.
    turn: crate::client::Rotation,
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
            turn: crate::client::Rotation::default(),
            tokens,
            audiences,
        }
    }
}

impl Sink for HttpSink {
    fn deliver<'a>(&'a self, delivery: &'a Delivery) -> DeliverFuture<'a> {
        Box::pin(async move {
            let envelope = delivery.envelope().map_err(DeliveryError::Permanent)?;
            let token = match (&self.tokens, self.audiences.get(&delivery.destination)) {
                (Some(tokens), Some(audience)) => Some(
                    tokens
                        .mint(audience)
                        .map_err(|e| DeliveryError::Retry(e.to_string()))?,
                ),
                _ => None,
            };
            let replicas: Vec<&str> = crate::settings::replicas(&delivery.destination).collect();
            let mut refused = format!("{}: no URL", delivery.destination);
            let mut answer = None;
            for &url in self.turn.order(&replicas) {
                let mut request = self
                    .client
                    .post(url)
                    .header("event-id", envelope.id.to_string())
                    .header("event-topic", &envelope.topic)
                    .json(&envelope);
                if let Some(traceparent) = &delivery.traceparent {
                    request = request.header(crate::trace::TRACEPARENT, traceparent);
                }
                if let Some(token) = &token {
                    request = request.bearer_auth(token);
                }
                match request.send().await {
                    Err(e) if e.is_connect() => refused = format!("{url}: {e}"),
                    Err(e) => return Err(DeliveryError::Retry(format!("{url}: {e}"))),
                    Ok(response) => {
                        answer = Some(response);
                        break;
                    }
                }
            }
            let response = answer.ok_or(DeliveryError::Retry(refused))?;
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
