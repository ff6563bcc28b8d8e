//! The checkout saga (DESIGN §5), orchestrated here and persisted in the order database:
//! reserve stock → authorize payment → confirm the reservation → capture → confirmed; or cancel
//! with compensations (release the reservation, void or refund the payment).
//!
//! Every step is recorded before the next starts ([`OrderStore::advance`]), and every call to
//! another service is idempotent on the order id, so a saga interrupted anywhere — the process
//! killed, a service down — is finished or compensated by [`Saga::resume`], which the service
//! runs on start and then periodically for sagas that stopped moving. Card data exists only in
//! the checkout request: a saga that lost it before authorizing cannot pay and is compensated.

use std::sync::Arc;

use serde_json::{Value, json};
use shopctl_kit::{
    client::{Answer, CallError, ServiceClient},
    db::StoreError,
};
use uuid::Uuid;

mod metrics;
mod recovery;

pub use metrics::SagaMetrics;

use crate::{
    domain::{Order, SagaState},
    store::{Compensation, Event, OrderStore},
};

/// How a checkout ended for the client.
#[derive(Debug)]
pub enum Outcome {
    /// Paid and confirmed.
    Confirmed(Order),
    /// Refused before payment (out of stock, an invalid card): the order is cancelled and the
    /// client gets this status and detail as a problem.
    Refused {
        /// HTTP status for the client (409, 422, 503).
        status: u16,
        /// What happened.
        detail: String,
        /// The field at fault, for 422s.
        field: Option<String>,
    },
    /// The card was declined: the order is cancelled with the reason.
    Declined(Order),
    /// Not finished yet (a service did not answer); the resumer will finish or compensate it.
    Pending(Order),
}

/// Errors that stop a saga step (the database failed); the saga stays where it was.
#[derive(Debug, thiserror::Error)]
pub enum SagaError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The orchestrator.
#[derive(Clone)]
pub struct Saga {
    store: Arc<dyn OrderStore>,
    inventory: ServiceClient,
    payment: ServiceClient,
    reservation_ttl_secs: u64,
    waker: Option<Arc<tokio::sync::Notify>>,
    /// Orders whose saga a request of this process is driving right now: the resumer leaves
    /// them alone (it would otherwise take a slow payment call for an interruption).
    active: Arc<std::sync::Mutex<std::collections::HashSet<Uuid>>>,
    metrics: SagaMetrics,
}

/// Marks an order's saga as driven by a live request until dropped.
struct Driving {
    active: Arc<std::sync::Mutex<std::collections::HashSet<Uuid>>>,
    id: Uuid,
}

impl Drop for Driving {
    fn drop(&mut self) {
        if let Ok(mut active) = self.active.lock() {
            active.remove(&self.id);
        }
    }
}

/// What the payment service answered to an authorization.
enum Authorization {
    Authorized {
        id: String,
        card: String,
    },
    Declined {
        code: String,
    },
    Invalid {
        detail: String,
        field: Option<String>,
    },
    Unknown(String),
}

fn card_summary(payment: &Value) -> String {
    format!(
        "{} •••• {}",
        payment["card"]["brand"].as_str().unwrap_or("card"),
        payment["card"]["last4"].as_str().unwrap_or("????")
    )
}

impl Saga {
    /// A saga over `store` calling `inventory` and `payment`; `waker` nudges the event relay
    /// after an event is written.
    pub fn new(
        store: Arc<dyn OrderStore>,
        inventory: ServiceClient,
        payment: ServiceClient,
        reservation_ttl_secs: u64,
        waker: Option<Arc<tokio::sync::Notify>>,
    ) -> Self {
        Self {
            store,
            inventory,
            payment,
            reservation_ttl_secs,
            waker,
            active: Arc::default(),
            metrics: SagaMetrics::default(),
        }
    }

    /// Exports the saga's step metrics in `metrics`.
    #[must_use]
    pub fn with_metrics(mut self, metrics: &shopctl_kit::metrics::Metrics) -> Self {
        self.metrics = SagaMetrics::register(metrics);
        self
    }

    fn driving(&self, id: Uuid) -> Driving {
        if let Ok(mut active) = self.active.lock() {
            active.insert(id);
        }
        Driving {
            active: Arc::clone(&self.active),
            id,
        }
    }

    fn is_driven(&self, id: Uuid) -> bool {
        self.active.lock().is_ok_and(|active| active.contains(&id))
    }

    fn wake(&self) {
        if let Some(waker) = &self.waker {
            waker.notify_one();
        }
    }

    fn confirmed_event(order: &Order) -> Event {
        Event {
            topic: "order.confirmed",
            data: json!({
                "order_id": order.id,
                "user_id": order.user_id,
                "lines": order.lines,
                "subtotal": order.subtotal,
                "tax": order.tax,
                "shipping": order.shipping,
                "total": order.total,
            }),
        }
    }

    /// Runs a new order's saga with the card from the request.
    pub async fn checkout(&self, order: &Order, card: &Value) -> Result<Outcome, SagaError> {
        let id = order.id;
        let _driving = self.driving(id);
        if let Some(ended) = self.reserve(order).await? {
            return Ok(ended);
        }

        // 2. Payment.
        match self.authorize(order, card).await {
            Authorization::Authorized {
                id: payment_id,
                card,
            } => {
                let moved = self
                    .store
                    .advance(
                        id,
                        SagaState::StockReserved,
                        SagaState::PaymentAuthorized,
                        "authorize_payment",
                        None,
                        Some((&payment_id, &card)),
                    )
                    .await?;
                if !moved {
                    // Moved by someone else meanwhile (cancelled): the authorization must not
                    // be left holding the customer's money.
                    let _ = self
                        .payment
                        .post::<()>(
                            &format!("/internal/payments/{payment_id}/void"),
                            None,
                            Some(&format!("void-{id}")),
                            None,
                        )
                        .await;
                    return Ok(Outcome::Pending(self.store.order(id).await?));
                }
            }
            Authorization::Declined { code } => {
                let reason = format!("payment declined: {code}");
                let event = Event {
                    topic: "payment.failed",
                    data: json!({"order_id": id, "user_id": order.user_id, "reason": reason}),
                };
                self.store
                    .cancel(
                        id,
                        SagaState::StockReserved,
                        &reason,
                        &[Compensation::ReleaseStock],
                        Some(&event),
                    )
                    .await?;
                self.wake();
                self.compensate(id).await?;
                return Ok(Outcome::Declined(self.store.order(id).await?));
            }
            Authorization::Invalid { detail, field } => {
                self.store
                    .cancel(
                        id,
                        SagaState::StockReserved,
                        "the card details were not valid",
                        &[Compensation::ReleaseStock],
                        None,
                    )
                    .await?;
                self.compensate(id).await?;
                return Ok(Outcome::Refused {
                    status: 422,
                    detail,
                    field,
                });
            }
            Authorization::Unknown(why) => {
                tracing::warn!(order = %id, error = %why, "authorizing payment got no answer; the resumer decides");
                return Ok(Outcome::Pending(self.store.order(id).await?));
            }
        }
        self.finish(id).await
    }

    /// Holds the order's stock; `Some` when the checkout ended here (refused).
    async fn reserve(&self, order: &Order) -> Result<Option<Outcome>, SagaError> {
        let _step = self.metrics.step("reserve");
        let id = order.id;
        let lines: Vec<Value> = order
            .lines
            .iter()
            .map(|l| json!({"sku": l.sku, "quantity": l.quantity}))
            .collect();
        let reserved = self
            .inventory
            .post(
                "/internal/reservations",
                Some(
                    &json!({"order_id": id, "lines": lines, "ttl_secs": self.reservation_ttl_secs}),
                ),
                Some(&id.to_string()),
                None,
            )
            .await;
        match reserved {
            Ok(answer) if answer.ok() => {
                let moved = self
                    .store
                    .advance(
                        id,
                        SagaState::Pending,
                        SagaState::StockReserved,
                        "reserve_stock",
                        None,
                        None,
                    )
                    .await?;
                if !moved {
                    // Moved by someone else meanwhile (cancelled): its compensation, or the
                    // hold's TTL, releases the stock.
                    return Ok(Some(Outcome::Pending(self.store.order(id).await?)));
                }
            }
            Ok(answer) if answer.status == 409 => {
                let detail = answer.detail();
                self.store
                    .cancel(
                        id,
                        SagaState::Pending,
                        &format!("out of stock: {detail}"),
                        &[],
                        None,
                    )
                    .await?;
                return Ok(Some(Outcome::Refused {
                    status: 409,
                    detail,
                    field: None,
                }));
            }
            other => {
                let why = describe(&other);
                tracing::warn!(order = %id, error = %why, "reserving stock failed");
                // It may have been reserved before the answer was lost: release to be sure.
                self.store
                    .cancel(
                        id,
                        SagaState::Pending,
                        "the inventory service was unavailable",
                        &[Compensation::ReleaseStock],
                        None,
                    )
                    .await?;
                self.compensate(id).await?;
                return Ok(Some(Outcome::Refused {
                    status: 503,
                    detail:
                        "stock could not be checked just now; nothing was charged, please try again"
                            .to_owned(),
                    field: None,
                }));
            }
        }

        Ok(None)
    }

    async fn authorize(&self, order: &Order, card: &Value) -> Authorization {
        let _step = self.metrics.step("authorize");
        let body = json!({
            "order_id": order.id,
            "customer_id": order.user_id,
            "amount": order.total,
            "card": card,
        });
        match self
            .payment
            .post(
                "/internal/payments",
                Some(&body),
                Some(&order.id.to_string()),
                None,
            )
            .await
        {
            Ok(answer) if answer.ok() => match answer.body["status"].as_str() {
                Some("authorized" | "captured") => Authorization::Authorized {
                    id: answer.body["id"].as_str().unwrap_or_default().to_owned(),
                    card: card_summary(&answer.body),
                },
                _ => Authorization::Declined {
                    code: answer.body["decline_code"]
                        .as_str()
                        .unwrap_or("card_declined")
                        .to_owned(),
                },
            },
            Ok(answer) if answer.status == 422 || answer.status == 400 => {
                let field = answer.body["errors"][0]["field"]
                    .as_str()
                    .or_else(|| answer.body["field"].as_str())
                    .map(|f| format!("payment.{}", f.trim_start_matches("card.")));
                Authorization::Invalid {
                    detail: answer.detail(),
                    field,
                }
            }
            other => Authorization::Unknown(describe(&other)),
        }
    }

    /// From `payment_authorized`: confirm the reservation, capture, confirm the order.
    async fn finish(&self, id: Uuid) -> Result<Outcome, SagaError> {
        let _step = self.metrics.step("finish");
        let order = self.store.order(id).await?;
        let Some(payment_id) = order.payment_id.clone() else {
            return Ok(Outcome::Pending(order));
        };
        let confirmed = self
            .inventory
            .post::<()>(
                &format!("/internal/reservations/{id}/confirm"),
                None,
                Some(&id.to_string()),
                None,
            )
            .await;
        match confirmed {
            Ok(answer) if answer.ok() => {}
            Ok(answer) if answer.status == 409 || answer.status == 404 => {
                // The hold lapsed (released by the sweeper): the stock may be gone. Undo.
                self.store
                    .cancel(
                        id,
                        SagaState::PaymentAuthorized,
                        "the stock reservation expired before payment completed",
                        &[Compensation::VoidPayment, Compensation::ReleaseStock],
                        Some(&Event {
                            topic: "order.cancelled",
                            data: json!({"order_id": id, "user_id": order.user_id,
                                "reason": "the stock reservation expired before payment completed"}),
                        }),
                    )
                    .await?;
                self.wake();
                self.compensate(id).await?;
                return Ok(Outcome::Declined(self.store.order(id).await?));
            }
            other => {
                tracing::warn!(order = %id, error = %describe(&other), "confirming the reservation failed; will retry");
                return Ok(Outcome::Pending(order));
            }
        }
        let captured = self
            .payment
            .post::<()>(
                &format!("/internal/payments/{payment_id}/capture"),
                None,
                Some(&format!("capture-{id}")),
                None,
            )
            .await;
        if !matches!(&captured, Ok(answer) if answer.ok()) {
            tracing::warn!(order = %id, error = %describe(&captured), "capture failed; will retry");
            return Ok(Outcome::Pending(order));
        }
        if self
            .store
            .confirm(id, &Self::confirmed_event(&order))
            .await?
        {
            self.wake();
        }
        Ok(Outcome::Confirmed(self.store.order(id).await?))
    }
}

fn describe(result: &Result<Answer, CallError>) -> String {
    match result {
        Ok(answer) => answer.detail(),
        Err(err) => err.to_string(),
    }
}
