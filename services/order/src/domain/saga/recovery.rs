//! What a cancelled or interrupted saga still owes: its compensations carried out, a
//! cancellation asked for by the customer or staff, and every saga that stopped moving resumed
//! (on start, and then periodically) to its end.

use std::time::Duration;

use serde_json::json;
use shopctl_kit::{client::CallError, maintenance::Maintenance, service::Stop};
use uuid::Uuid;

use super::{Saga, SagaError, card_summary};
use crate::{
    domain::{Order, SagaState},
    store::{Compensation, Event},
};

impl Saga {
    /// Carries out what a cancelled order still owes; finishes the saga when nothing is left.
    pub async fn compensate(&self, id: Uuid) -> Result<(), SagaError> {
        let _step = self.metrics.step("compensate");
        let order = self.store.order(id).await?;
        for owed in self.store.owed(id).await? {
            let result = match owed {
                Compensation::ReleaseStock => self
                    .inventory
                    .post::<()>(
                        &format!("/internal/reservations/{id}/release"),
                        None,
                        Some(&id.to_string()),
                        None,
                    )
                    .await
                    // Nothing held, or already confirmed and shipped out: nothing to release.
                    .map(|a| a.ok() || a.status == 404 || a.status == 409),
                Compensation::VoidPayment => match self.payment_to_void(&order).await {
                    Err(err) => Err(err),
                    Ok(None) => Ok(true),
                    Ok(Some(payment)) => self
                        .payment
                        .post::<()>(
                            &format!("/internal/payments/{payment}/void"),
                            None,
                            Some(&format!("void-{id}")),
                            None,
                        )
                        .await
                        .map(|a| a.ok() || a.status == 404),
                },
                Compensation::RefundPayment => match &order.payment_id {
                    None => Ok(true),
                    Some(payment) => self
                        .payment
                        .post(
                            &format!("/api/payments/{payment}/refund"),
                            Some(&json!({"reason": format!("order {id} cancelled")})),
                            Some(&format!("refund-{id}")),
                            None,
                        )
                        .await
                        // 409: already refunded in full.
                        .map(|a| a.ok() || a.status == 409),
                },
            };
            let error = match result {
                Ok(true) => None,
                Ok(false) => Some("refused".to_owned()),
                Err(err) => Some(err.to_string()),
            };
            if let Some(error) = &error {
                tracing::warn!(order = %id, compensation = owed.as_str(), %error, "compensation failed; will retry");
            }
            self.store.compensated(id, owed, error.as_deref()).await?;
        }
        self.store.finish_compensation(id).await?;
        Ok(())
    }

    /// Cancels an order on request (owner, support, admin): before payment it only releases the
    /// stock; a confirmed order is refunded. Returns `false` when the order can no longer be
    /// cancelled.
    pub async fn cancel(&self, id: Uuid, reason: &str) -> Result<bool, SagaError> {
        if self.is_driven(id) {
            return Ok(false);
        }
        let order = self.store.order(id).await?;
        let saga = self.store.saga(id).await?;
        let owed: &[Compensation] = match saga {
            SagaState::Pending | SagaState::StockReserved => &[Compensation::ReleaseStock],
            SagaState::PaymentAuthorized => {
                &[Compensation::VoidPayment, Compensation::ReleaseStock]
            }
            SagaState::Confirmed if order.status == crate::domain::OrderStatus::Confirmed => {
                &[Compensation::RefundPayment]
            }
            _ => return Ok(false),
        };
        let event = Event {
            topic: "order.cancelled",
            data: json!({"order_id": id, "user_id": order.user_id, "reason": reason}),
        };
        if !self
            .store
            .cancel(id, saga, reason, owed, Some(&event))
            .await?
        {
            return Ok(false);
        }
        self.wake();
        self.compensate(id).await?;
        Ok(true)
    }

    /// The saga resumer, the order service's loop: every saga that has not moved for `idle` is
    /// finished or compensated, first after `idle` has passed since start, then every
    /// `interval`, until the service stops. No pass starts while writes are paused for a
    /// backup (`maintenance`), and a pass under way holds the pause off until it ends.
    pub async fn keep_resuming(
        self,
        interval: Duration,
        idle: Duration,
        maintenance: Maintenance,
        stop: Stop,
    ) {
        // Even after a crash, wait until a saga has been still for `idle`: a call the dead
        // process left in flight (an authorization) has ended by then. A stop during that wait
        // ends the loop at once.
        tokio::select! {
            () = stop.clone().requested() => return,
            () = tokio::time::sleep(idle) => {}
        }
        if let Some(_busy) = maintenance.enter() {
            match self.resume(idle).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(sagas = n, "resumed open sagas after start"),
                Err(err) => tracing::warn!(error = %err, "resuming sagas failed"),
            }
        }
        loop {
            tokio::select! {
                () = stop.clone().requested() => break,
                () = tokio::time::sleep(interval) => {}
            }
            let Some(_busy) = maintenance.enter() else {
                continue;
            };
            if let Err(err) = self.resume(idle).await {
                tracing::warn!(error = %err, "resuming sagas failed");
            }
        }
    }

    /// Finishes or compensates every saga that has not moved for `idle` (all of them on start)
    /// and that no other resumer holds: each is claimed for `idle`, so a replica that dies while
    /// resuming leaves it to another after that. Returns how many were claimed.
    pub async fn resume(&self, idle: Duration) -> Result<usize, SagaError> {
        let now = chrono::Utc::now();
        let idle_for = chrono::Duration::from_std(idle).unwrap_or_default();
        let open = self
            .store
            .claim_sagas(now - idle_for, now + idle_for)
            .await?;
        for (id, state) in &open {
            if self.is_driven(*id) {
                continue;
            }
            if let Err(err) = self.resume_one(*id, *state).await {
                tracing::warn!(order = %id, error = %err, "resuming a saga failed; will retry");
            }
        }
        Ok(open.len())
    }

    async fn resume_one(&self, id: Uuid, state: SagaState) -> Result<(), SagaError> {
        tracing::info!(order = %id, saga = state.as_str(), "resuming saga");
        let interrupted = "checkout was interrupted before payment; nothing was charged";
        match state {
            SagaState::Pending => {
                // The card is gone with the request: this order cannot be paid.
                self.store
                    .cancel(id, state, interrupted, &[Compensation::ReleaseStock], None)
                    .await?;
                self.compensate(id).await?;
            }
            SagaState::StockReserved => {
                // Did the authorization go through before the interruption?
                match self.payment_of(id).await {
                    Ok(Some((payment_id, card))) => {
                        self.store
                            .advance(
                                id,
                                state,
                                SagaState::PaymentAuthorized,
                                "authorize_payment",
                                Some("found on resume"),
                                Some((&payment_id, &card)),
                            )
                            .await?;
                        self.finish(id).await?;
                    }
                    Ok(None) => {
                        // An authorization may still land late: void whatever appears.
                        self.store
                            .cancel(
                                id,
                                state,
                                interrupted,
                                &[Compensation::VoidPayment, Compensation::ReleaseStock],
                                None,
                            )
                            .await?;
                        self.compensate(id).await?;
                    }
                    Err(err) => {
                        tracing::warn!(order = %id, error = %err, "payment service unavailable; will retry");
                    }
                }
            }
            SagaState::PaymentAuthorized => {
                self.finish(id).await?;
            }
            SagaState::Compensating => self.compensate(id).await?,
            SagaState::Confirmed | SagaState::Cancelled => {}
        }
        Ok(())
    }

    /// The payment a cancelled order must void: the one it recorded, or — when the saga was
    /// interrupted before recording it — any the payment service holds for the order.
    async fn payment_to_void(&self, order: &Order) -> Result<Option<String>, CallError> {
        match &order.payment_id {
            Some(payment) => Ok(Some(payment.clone())),
            None => Ok(self.payment_of(order.id).await?.map(|(id, _)| id)),
        }
    }

    /// The authorized (or captured) payment of an order, if any.
    async fn payment_of(&self, id: Uuid) -> Result<Option<(String, String)>, CallError> {
        let answer = self
            .payment
            .get(&format!("/internal/payments?order_id={id}"), None)
            .await?;
        let items = answer.body["items"].as_array().cloned().unwrap_or_default();
        Ok(items
            .iter()
            .find(|p| matches!(p["status"].as_str(), Some("authorized" | "captured")))
            .map(|p| {
                (
                    p["id"].as_str().unwrap_or_default().to_owned(),
                    card_summary(p),
                )
            }))
    }
}
