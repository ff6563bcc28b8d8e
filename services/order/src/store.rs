//! Order persistence: carts, orders, the saga's step log and compensations, and the outbox
//! events written in the same transactions ([`OrderStore`], one SQL implementation for SQLite and
//! PostgreSQL).
//!
//! Every saga move is one conditional update (`… WHERE saga = <expected>`) plus a step-log row in
//! one transaction, so two workers (a request and the resumer) can never both take a step.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shopctl_kit::{
    db::{Db, StoreError},
    events::Outbox,
    sql::{Param, Tx},
};
use uuid::Uuid;

use crate::domain::{CartItem, Line, Money, Order, OrderStatus, SagaState, ShippingAddress};

/// A compensation a cancelled saga owes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compensation {
    /// Release the order's stock reservation.
    ReleaseStock,
    /// Void the payment authorization.
    VoidPayment,
    /// Refund the captured payment.
    RefundPayment,
}

impl Compensation {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReleaseStock => "release_stock",
            Self::VoidPayment => "void_payment",
            Self::RefundPayment => "refund_payment",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        match value {
            "release_stock" => Some(Self::ReleaseStock),
            "void_payment" => Some(Self::VoidPayment),
            "refund_payment" => Some(Self::RefundPayment),
            _ => None,
        }
    }
}

/// An order to write.
#[derive(Debug, Clone)]
pub struct NewOrder {
    /// Id.
    pub id: Uuid,
    /// Buyer.
    pub user_id: String,
    /// Lines priced from the catalog.
    pub lines: Vec<Line>,
    /// Totals.
    pub subtotal: i64,
    /// Tax.
    pub tax: i64,
    /// Shipping.
    pub shipping: i64,
    /// Total.
    pub total: i64,
    /// Currency.
    pub currency: String,
    /// Address.
    pub address: ShippingAddress,
    /// The client's idempotency key.
    pub idempotency_key: String,
    /// Fingerprint of the request.
    pub fingerprint: String,
}

/// Which orders a listing shows.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    /// One customer's, or everyone's.
    pub user: Option<String>,
    /// Only this status.
    pub status: Option<OrderStatus>,
    /// An order id or its beginning, or a SKU the order contains.
    pub search: Option<String>,
}

/// An event to write with a state change.
#[derive(Debug, Clone)]
pub struct Event {
    /// Topic.
    pub topic: &'static str,
    /// Body.
    pub data: serde_json::Value,
}

/// What the order service needs from its database.
#[async_trait]
pub trait OrderStore: Send + Sync + 'static {
    /// The user's cart lines, by SKU.
    async fn cart(&self, user: &str) -> Result<Vec<CartItem>, StoreError>;
    /// Adds units of a SKU (creating the line); returns the line's new quantity, or `None` when
    /// it would pass `max_quantity` or the cart would hold more than `max_items` SKUs.
    async fn add_to_cart(
        &self,
        user: &str,
        sku: &str,
        quantity: i64,
        max_quantity: i64,
        max_items: usize,
    ) -> Result<Option<i64>, StoreError>;
    /// Sets a line's quantity; `false` when the SKU is not in the cart.
    async fn set_cart_quantity(
        &self,
        user: &str,
        sku: &str,
        quantity: i64,
    ) -> Result<bool, StoreError>;
    /// Removes a line; `false` when it was not there.
    async fn remove_from_cart(&self, user: &str, sku: &str) -> Result<bool, StoreError>;
    /// The order a user created with an idempotency key, and the request fingerprint.
    async fn order_by_key(
        &self,
        user: &str,
        key: &str,
    ) -> Result<Option<(Order, String)>, StoreError>;
    /// Writes a new order in saga state `pending`; `UniqueViolation` when the user already used
    /// the key.
    async fn create_order(&self, order: &NewOrder) -> Result<Order, StoreError>;
    /// An order by id.
    async fn order(&self, id: Uuid) -> Result<Order, StoreError>;
    /// Orders, newest first: of one user, or (user `None`) everyone's, optionally of one status;
    /// after the cursor (an order id).
    async fn orders(
        &self,
        filter: &OrderFilter,
        before: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<Order>, StoreError>;
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
    /// The step log of an order: (step, outcome, detail).
    async fn steps(&self, id: Uuid) -> Result<Vec<(String, String, Option<String>)>, StoreError>;
}

/// The SQL implementation of [`OrderStore`].
#[derive(Debug, Clone)]
pub struct SqlOrderStore {
    db: Db,
    outbox: Outbox,
}

impl SqlOrderStore {
    /// Wraps a migrated database; events go through `outbox`.
    pub fn new(db: Db, outbox: Outbox) -> Self {
        Self { db, outbox }
    }
}

#[derive(sqlx::FromRow)]
struct CartRow {
    sku: String,
    quantity: i64,
}

#[derive(sqlx::FromRow)]
struct OrderRow {
    id: String,
    user_id: String,
    status: String,
    reason: Option<String>,
    currency: String,
    subtotal: i64,
    tax: i64,
    shipping: i64,
    total: i64,
    shipping_address: String,
    card_summary: String,
    payment_id: Option<String>,
    fingerprint: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct LineRow {
    sku: String,
    name: String,
    unit_price: i64,
    quantity: i64,
}

#[derive(sqlx::FromRow)]
struct SagaRow {
    id: String,
    saga: String,
}

#[derive(sqlx::FromRow)]
struct OwedRow {
    action: String,
}

#[derive(sqlx::FromRow)]
struct StepRow {
    step: String,
    outcome: String,
    detail: Option<String>,
}

#[derive(sqlx::FromRow)]
struct Count {
    n: i64,
}

const ORDER_COLUMNS: &str = "id, user_id, status, reason, currency, subtotal, tax, shipping, total, \
    shipping_address, card_summary, payment_id, fingerprint, created_at, updated_at";

fn corrupt(what: &str) -> StoreError {
    StoreError::Db(sqlx::Error::Decode(
        format!("corrupt {what} in orders").into(),
    ))
}

fn text(value: &str) -> Param {
    Param::Text(value.to_owned())
}

fn id_param(id: Uuid) -> Param {
    Param::Text(id.to_string())
}

impl OrderRow {
    fn into_order(self, lines: Vec<LineRow>) -> Result<Order, StoreError> {
        let money = |amount| Money {
            amount,
            currency: self.currency.clone(),
        };
        Ok(Order {
            id: self.id.parse().map_err(|_| corrupt("id"))?,
            status: OrderStatus::parse(&self.status).ok_or_else(|| corrupt("status"))?,
            reason: self.reason.clone(),
            lines: lines
                .into_iter()
                .map(|l| Line {
                    sku: l.sku,
                    name: l.name,
                    quantity: l.quantity,
                    unit_price: money(l.unit_price),
                })
                .collect(),
            subtotal: money(self.subtotal),
            tax: money(self.tax),
            shipping: money(self.shipping),
            total: money(self.total),
            shipping_address: serde_json::from_str(&self.shipping_address)
                .map_err(|_| corrupt("shipping_address"))?,
            card: self.card_summary.clone(),
            payment_id: self.payment_id.clone(),
            user_id: self.user_id,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// Appends a step to the log inside `tx`.
async fn log_step(
    tx: &mut Tx,
    id: Uuid,
    step: &str,
    outcome: &str,
    detail: Option<&str>,
) -> Result<(), StoreError> {
    let next: Option<Count> = tx
        .fetch_optional(
            "SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM saga_steps WHERE order_id = ?",
            &[id_param(id)],
        )
        .await?;
    tx.execute(
        "INSERT INTO saga_steps (order_id, seq, step, outcome, detail, at) VALUES (?, ?, ?, ?, ?, ?)",
        &[
            id_param(id),
            Param::Int(next.map_or(1, |c| c.n)),
            text(step),
            text(outcome),
            Param::OptText(detail.map(str::to_owned)),
            Param::Time(Utc::now()),
        ],
    )
    .await?;
    Ok(())
}

impl SqlOrderStore {
    async fn load(&self, rows: Vec<OrderRow>) -> Result<Vec<Order>, StoreError> {
        let mut orders = Vec::with_capacity(rows.len());
        for row in rows {
            let lines: Vec<LineRow> = self
                .db
                .fetch_all(
                    "SELECT sku, name, unit_price, quantity FROM order_lines WHERE order_id = ? ORDER BY sku",
                    &[text(&row.id)],
                )
                .await?;
            orders.push(row.into_order(lines)?);
        }
        Ok(orders)
    }
}

#[async_trait]
impl OrderStore for SqlOrderStore {
    async fn cart(&self, user: &str) -> Result<Vec<CartItem>, StoreError> {
        let rows: Vec<CartRow> = self
            .db
            .fetch_all(
                "SELECT sku, quantity FROM cart_items WHERE user_id = ? ORDER BY added_at, sku",
                &[text(user)],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| CartItem {
                sku: r.sku,
                quantity: r.quantity,
            })
            .collect())
    }

    async fn add_to_cart(
        &self,
        user: &str,
        sku: &str,
        quantity: i64,
        max_quantity: i64,
        max_items: usize,
    ) -> Result<Option<i64>, StoreError> {
        let mut tx = self.db.begin_write().await?;
        let existing: Option<CartRow> = tx
            .fetch_optional(
                "SELECT sku, quantity FROM cart_items WHERE user_id = ? AND sku = ?",
                &[text(user), text(sku)],
            )
            .await?;
        let new_quantity = if let Some(row) = existing {
            let total = row.quantity + quantity;
            if total > max_quantity {
                return Ok(None);
            }
            tx.execute(
                "UPDATE cart_items SET quantity = ? WHERE user_id = ? AND sku = ?",
                &[Param::Int(total), text(user), text(sku)],
            )
            .await?;
            total
        } else {
            let count: Option<Count> = tx
                .fetch_optional(
                    "SELECT COUNT(*) AS n FROM cart_items WHERE user_id = ?",
                    &[text(user)],
                )
                .await?;
            if count.map_or(0, |c| c.n) >= i64::try_from(max_items).unwrap_or(i64::MAX)
                || quantity > max_quantity
            {
                return Ok(None);
            }
            tx.execute(
                "INSERT INTO cart_items (user_id, sku, quantity, added_at) VALUES (?, ?, ?, ?)",
                &[
                    text(user),
                    text(sku),
                    Param::Int(quantity),
                    Param::Time(Utc::now()),
                ],
            )
            .await?;
            quantity
        };
        tx.commit().await?;
        Ok(Some(new_quantity))
    }

    async fn set_cart_quantity(
        &self,
        user: &str,
        sku: &str,
        quantity: i64,
    ) -> Result<bool, StoreError> {
        let changed = self
            .db
            .execute(
                "UPDATE cart_items SET quantity = ? WHERE user_id = ? AND sku = ?",
                &[Param::Int(quantity), text(user), text(sku)],
            )
            .await?;
        Ok(changed == 1)
    }

    async fn remove_from_cart(&self, user: &str, sku: &str) -> Result<bool, StoreError> {
        let removed = self
            .db
            .execute(
                "DELETE FROM cart_items WHERE user_id = ? AND sku = ?",
                &[text(user), text(sku)],
            )
            .await?;
        Ok(removed == 1)
    }

    async fn order_by_key(
        &self,
        user: &str,
        key: &str,
    ) -> Result<Option<(Order, String)>, StoreError> {
        let rows: Vec<OrderRow> = self
            .db
            .fetch_all(
                &format!(
                    "SELECT {ORDER_COLUMNS} FROM orders WHERE user_id = ? AND idempotency_key = ?"
                ),
                &[text(user), text(key)],
            )
            .await?;
        let Some(row) = rows.into_iter().next() else {
            return Ok(None);
        };
        let fingerprint = row.fingerprint.clone();
        let order = self
            .load(vec![row])
            .await?
            .pop()
            .ok_or(StoreError::NotFound)?;
        Ok(Some((order, fingerprint)))
    }

    async fn create_order(&self, order: &NewOrder) -> Result<Order, StoreError> {
        let now = Utc::now();
        let address = serde_json::to_string(&order.address)
            .map_err(|e| StoreError::Db(sqlx::Error::Encode(e.into())))?;
        let mut tx = self.db.begin_write().await?;
        tx.execute(
            "INSERT INTO orders (id, user_id, status, saga, reason, currency, subtotal, tax, shipping, total,
             shipping_address, card_summary, payment_id, idempotency_key, fingerprint, created_at, updated_at)
             VALUES (?, ?, 'pending', 'pending', NULL, ?, ?, ?, ?, ?, ?, '', NULL, ?, ?, ?, ?)",
            &[
                id_param(order.id),
                text(&order.user_id),
                text(&order.currency),
                Param::Int(order.subtotal),
                Param::Int(order.tax),
                Param::Int(order.shipping),
                Param::Int(order.total),
                Param::Text(address),
                text(&order.idempotency_key),
                text(&order.fingerprint),
                Param::Time(now),
                Param::Time(now),
            ],
        )
        .await?;
        for line in &order.lines {
            tx.execute(
                "INSERT INTO order_lines (order_id, sku, name, unit_price, quantity) VALUES (?, ?, ?, ?, ?)",
                &[
                    id_param(order.id),
                    text(&line.sku),
                    text(&line.name),
                    Param::Int(line.unit_price.amount),
                    Param::Int(line.quantity),
                ],
            )
            .await?;
        }
        log_step(&mut tx, order.id, "created", "ok", None).await?;
        tx.commit().await?;
        self.order(order.id).await
    }

    async fn order(&self, id: Uuid) -> Result<Order, StoreError> {
        let rows: Vec<OrderRow> = self
            .db
            .fetch_all(
                &format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = ?"),
                &[id_param(id)],
            )
            .await?;
        self.load(rows).await?.pop().ok_or(StoreError::NotFound)
    }

    async fn orders(
        &self,
        filter: &OrderFilter,
        before: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<Order>, StoreError> {
        let mut sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE 1 = 1");
        let mut params = Vec::new();
        if let Some(user) = &filter.user {
            sql.push_str(" AND user_id = ?");
            params.push(text(user));
        }
        if let Some(status) = filter.status {
            sql.push_str(" AND status = ?");
            params.push(text(status.as_str()));
        }
        if let Some(q) = &filter.search {
            // An order id (or its first characters, as mails show them), or a SKU ordered.
            sql.push_str(
                " AND (id LIKE ? OR id IN (SELECT order_id FROM order_lines WHERE sku = ?))",
            );
            params.push(Param::Text(format!("{}%", q.to_ascii_lowercase())));
            params.push(Param::Text(q.to_ascii_uppercase()));
        }
        if let Some(before) = before {
            // Ids are UUID v7: their text order is creation order.
            sql.push_str(" AND id < ?");
            params.push(id_param(before));
        }
        sql.push_str(" ORDER BY id DESC LIMIT ?");
        params.push(Param::Int(limit));
        let rows: Vec<OrderRow> = self.db.fetch_all(&sql, &params).await?;
        self.load(rows).await
    }

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
        if !from.can_move_to(to) {
            tracing::error!(order = %id, from = from.as_str(), to = to.as_str(), "refused an invalid saga move");
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
        if !from.can_move_to(next) {
            tracing::error!(order = %id, from = from.as_str(), to = next.as_str(), "refused an invalid saga move");
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
