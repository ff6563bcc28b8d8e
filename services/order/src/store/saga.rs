//! The saga's persistence: where each order's saga stands, its moves (each one conditional
//! update plus a step-log row in one transaction), the confirmation and cancellation with their
//! outbox events, the compensations still owed, and the sagas that stopped moving.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shopctl_kit::{db::StoreError, sql::Param};
use uuid::Uuid;

use super::{
    Compensation, Event, OwedRow, SagaRow, SqlOrderStore, StepRow, corrupt, id_param, log_step,
    text,
};
use crate::domain::SagaState;

/// What the checkout saga needs from the order database; every [`super::OrderStore`] is one.
#[async_trait]
pub trait SagaStore: Send + Sync + 'static {
    /// Where an order's saga stands.
    async fn saga(&self, id: Uuid) -> Result<SagaState, StoreError>;
    /// Moves the saga from `from` to `to` and logs the step; `false` when it was not at `from`.
    async fn advance(
        &self,
        id: Uuid,
        from: SagaState,
        to: SagaState,
        step: &str,
        detail: Option<&str>,
        payment: Option<(&str, &str)>,
    ) -> Result<bool, StoreError>;
    /// `payment_authorized → confirmed`: the order is confirmed, its SKUs leave the cart, and
    /// `event` is written, all at once; `false` when it was not at `payment_authorized`.
    async fn confirm(&self, id: Uuid, event: &Event) -> Result<bool, StoreError>;
    /// Cancels from `from` with `reason`: owed compensations recorded (saga `compensating`) or
    /// none (saga `cancelled`), and `event` written, all at once; `false` when it was not at
    /// `from`.
    async fn cancel(
        &self,
        id: Uuid,
        from: SagaState,
        reason: &str,
        owed: &[Compensation],
        event: Option<&Event>,
    ) -> Result<bool, StoreError>;
    /// Compensations an order still owes.
    async fn owed(&self, id: Uuid) -> Result<Vec<Compensation>, StoreError>;
    /// Marks a compensation done (or records a failed attempt with `error`).
    async fn compensated(
        &self,
        id: Uuid,
        what: Compensation,
        error: Option<&str>,
    ) -> Result<(), StoreError>;
    /// `compensating → cancelled` once nothing is owed; `false` otherwise.
    async fn finish_compensation(&self, id: Uuid) -> Result<bool, StoreError>;
    /// Orders whose saga has not ended and has not moved since `before`.
    async fn open_sagas(&self, before: DateTime<Utc>)
    -> Result<Vec<(Uuid, SagaState)>, StoreError>;
    /// The open sagas of [`SagaStore::open_sagas`] that no resumer has claimed (or whose claim
    /// has lapsed), claimed until `until`: with several replicas on one database, each
    /// stalled saga goes to one resumer at a time.
    async fn claim_sagas(
        &self,
        before: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<(Uuid, SagaState)>, StoreError>;
    /// The step log of an order: (step, outcome, detail).
    async fn steps(&self, id: Uuid) -> Result<Vec<(String, String, Option<String>)>, StoreError>;
}

/// Whether order `id`'s saga may move `from` → `to`; an invalid move is a bug, logged as one.
fn valid_move(id: Uuid, from: SagaState, to: SagaState) -> bool {
    let valid = from.can_move_to(to);
    if !valid {
        tracing::error!(order = %id, from = from.as_str(), to = to.as_str(), "refused an invalid saga move");
    }
    valid
}

#[async_trait]
impl SagaStore for SqlOrderStore {
    async fn saga(&self, id: Uuid) -> Result<SagaState, StoreError> {
        let row: SagaRow = self
            .db
            .fetch_one("SELECT id, saga FROM orders WHERE id = ?", &[id_param(id)])
            .await?;
        SagaState::parse(&row.saga).ok_or_else(|| corrupt("saga"))
    }

    async fn advance(
        &self,
        id: Uuid,
        from: SagaState,
        to: SagaState,
        step: &str,
        detail: Option<&str>,
        payment: Option<(&str, &str)>,
    ) -> Result<bool, StoreError> {
        if !valid_move(id, from, to) {
            return Ok(false);
        }
        let mut tx = self.db.begin_write().await?;
        let moved = match payment {
            Some((payment_id, card)) => {
                tx.execute(
                    "UPDATE orders SET saga = ?, payment_id = ?, card_summary = ?, updated_at = ?
                     WHERE id = ? AND saga = ?",
                    &[
                        text(to.as_str()),
                        text(payment_id),
                        text(card),
                        Param::Time(Utc::now()),
                        id_param(id),
                        text(from.as_str()),
                    ],
                )
                .await?
            }
            None => {
                tx.execute(
                    "UPDATE orders SET saga = ?, updated_at = ? WHERE id = ? AND saga = ?",
                    &[
                        text(to.as_str()),
                        Param::Time(Utc::now()),
                        id_param(id),
                        text(from.as_str()),
                    ],
                )
                .await?
            }
        };
        if moved != 1 {
            return Ok(false);
        }
        log_step(&mut tx, id, step, "ok", detail).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn confirm(&self, id: Uuid, event: &Event) -> Result<bool, StoreError> {
        let mut tx = self.db.begin_write().await?;
        let moved = tx
            .execute(
                "UPDATE orders SET saga = 'confirmed', status = 'confirmed', updated_at = ?
                 WHERE id = ? AND saga = 'payment_authorized'",
                &[Param::Time(Utc::now()), id_param(id)],
            )
            .await?;
        if moved != 1 {
            return Ok(false);
        }
        tx.execute(
            "DELETE FROM cart_items WHERE user_id = (SELECT user_id FROM orders WHERE id = ?)
             AND sku IN (SELECT sku FROM order_lines WHERE order_id = ?)",
            &[id_param(id), id_param(id)],
        )
        .await?;
        log_step(&mut tx, id, "confirmed", "ok", None).await?;
        self.outbox
            .enqueue(&mut tx, event.topic, &event.data)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn cancel(
        &self,
        id: Uuid,
        from: SagaState,
        reason: &str,
        owed: &[Compensation],
        event: Option<&Event>,
    ) -> Result<bool, StoreError> {
        let next = if owed.is_empty() {
            SagaState::Cancelled
        } else {
            SagaState::Compensating
        };
        if !valid_move(id, from, next) {
            return Ok(false);
        }
        let now = Utc::now();
        let mut tx = self.db.begin_write().await?;
        let moved = tx
            .execute(
                "UPDATE orders SET saga = ?, status = 'cancelled', reason = ?, updated_at = ?
                 WHERE id = ? AND saga = ?",
                &[
                    text(next.as_str()),
                    text(reason),
                    Param::Time(now),
                    id_param(id),
                    text(from.as_str()),
                ],
            )
            .await?;
        if moved != 1 {
            return Ok(false);
        }
        for what in owed {
            tx.execute(
                "INSERT INTO compensations (order_id, action, status, attempts, updated_at)
                 VALUES (?, ?, 'pending', 0, ?) ON CONFLICT DO NOTHING",
                &[id_param(id), text(what.as_str()), Param::Time(now)],
            )
            .await?;
        }
        log_step(&mut tx, id, "cancelled", "ok", Some(reason)).await?;
        if let Some(event) = event {
            self.outbox
                .enqueue(&mut tx, event.topic, &event.data)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn owed(&self, id: Uuid) -> Result<Vec<Compensation>, StoreError> {
        let rows: Vec<OwedRow> = self
            .db
            .fetch_all(
                "SELECT action FROM compensations WHERE order_id = ? AND status = 'pending' ORDER BY action",
                &[id_param(id)],
            )
            .await?;
        rows.iter()
            .map(|r| Compensation::parse(&r.action).ok_or_else(|| corrupt("compensation")))
            .collect()
    }

    async fn compensated(
        &self,
        id: Uuid,
        what: Compensation,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut tx = self.db.begin_write().await?;
        match error {
            None => {
                tx.execute(
                    "UPDATE compensations SET status = 'done', attempts = attempts + 1, updated_at = ?
                     WHERE order_id = ? AND action = ?",
                    &[Param::Time(Utc::now()), id_param(id), text(what.as_str())],
                )
                .await?;
            }
            Some(error) => {
                tx.execute(
                    "UPDATE compensations SET attempts = attempts + 1, last_error = ?, updated_at = ?
                     WHERE order_id = ? AND action = ?",
                    &[
                        text(error),
                        Param::Time(Utc::now()),
                        id_param(id),
                        text(what.as_str()),
                    ],
                )
                .await?;
            }
        }
        log_step(
            &mut tx,
            id,
            what.as_str(),
            if error.is_none() { "ok" } else { "failed" },
            error,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn finish_compensation(&self, id: Uuid) -> Result<bool, StoreError> {
        let mut tx = self.db.begin_write().await?;
        let moved = tx
            .execute(
                "UPDATE orders SET saga = 'cancelled', updated_at = ?
                 WHERE id = ? AND saga = 'compensating'
                 AND NOT EXISTS (SELECT 1 FROM compensations WHERE order_id = ? AND status = 'pending')",
                &[Param::Time(Utc::now()), id_param(id), id_param(id)],
            )
            .await?;
        if moved == 1 {
            log_step(&mut tx, id, "compensated", "ok", None).await?;
        }
        tx.commit().await?;
        Ok(moved == 1)
    }

    async fn open_sagas(
        &self,
        before: DateTime<Utc>,
    ) -> Result<Vec<(Uuid, SagaState)>, StoreError> {
        let rows: Vec<SagaRow> = self
            .db
            .fetch_all(
                "SELECT id, saga FROM orders WHERE saga NOT IN ('confirmed', 'cancelled') AND updated_at < ?
                 ORDER BY updated_at LIMIT 200",
                &[Param::Time(before)],
            )
            .await?;
        rows.into_iter()
            .map(|r| {
                Ok((
                    r.id.parse().map_err(|_| corrupt("id"))?,
                    SagaState::parse(&r.saga).ok_or_else(|| corrupt("saga"))?,
                ))
            })
            .collect()
    }

    async fn claim_sagas(
        &self,
        before: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<(Uuid, SagaState)>, StoreError> {
        // One statement claims: on PostgreSQL the rows another resumer is claiming are skipped,
        // not waited for; SQLite has one writer at a time.
        let lock = match self.db.backend() {
            shopctl_kit::db::Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            shopctl_kit::db::Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE orders SET resume_claimed_until = ?
             WHERE id IN (SELECT id FROM orders
                 WHERE saga NOT IN ('confirmed', 'cancelled') AND updated_at < ?
                 AND (resume_claimed_until IS NULL OR resume_claimed_until < ?)
                 ORDER BY updated_at LIMIT 200 {lock})
             RETURNING id, saga"
        );
        let rows: Vec<SagaRow> = self
            .db
            .fetch_all(
                &sql,
                &[
                    Param::Time(until),
                    Param::Time(before),
                    Param::Time(Utc::now()),
                ],
            )
            .await?;
        rows.into_iter()
            .map(|r| {
                Ok((
                    r.id.parse().map_err(|_| corrupt("id"))?,
                    SagaState::parse(&r.saga).ok_or_else(|| corrupt("saga"))?,
                ))
            })
            .collect()
    }

    async fn steps(&self, id: Uuid) -> Result<Vec<(String, String, Option<String>)>, StoreError> {
        let rows: Vec<StepRow> = self
            .db
            .fetch_all(
                "SELECT step, outcome, detail FROM saga_steps WHERE order_id = ? ORDER BY seq",
                &[id_param(id)],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.step, r.outcome, r.detail))
            .collect())
    }
}
