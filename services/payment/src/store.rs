//! Payment persistence: the [`PaymentStore`] trait and its SQL implementation for SQLite and
//! PostgreSQL. The statements are shared; the backends differ only in how UUID columns are
//! read back ([`sqlite::DIALECT`] / [`postgres::DIALECT`]).
//!
//! Every state change is one conditional statement (`… WHERE status = 'authorized'`,
//! `… AND refunded_amount + ? <= captured_amount`), so concurrent callers cannot capture twice or
//! refund more than was captured: the loser's statement changes nothing and it gets `None`.

mod postgres;
mod sqlite;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shopctl_kit::{
    db::Migrations,
    db::{Backend, Db, StoreError},
    sql::Param,
};
use uuid::Uuid;

use crate::domain::{CardSummary, Money, Payment, Status};

/// The payment service's migrations, each backend's in its own module.
pub static MIGRATIONS: Migrations = Migrations {
    sqlite: sqlite::MIGRATOR,
    postgres: postgres::MIGRATOR,
};

/// A payment to record. The card is already reduced to what may be kept.
#[derive(Debug, Clone)]
pub struct NewPayment {
    /// The order it pays for.
    pub order_id: Uuid,
    /// The buyer's user id.
    pub customer_id: String,
    /// `authorized` or `declined`.
    pub status: Status,
    /// The authorized amount.
    pub amount: Money,
    /// Brand, last four digits, expiry and token.
    pub card: CardSummary,
    /// Why the processor refused, for declined payments.
    pub decline_code: Option<String>,
    /// The caller's `Idempotency-Key` (unique).
    pub idempotency_key: String,
    /// SHA-256 of the request's non-secret fields, to tell a replay from a key reused for a
    /// different request.
    pub fingerprint: String,
}

/// A payment with the fingerprint of the request that created it.
#[derive(Debug, Clone)]
pub struct KeyedPayment {
    /// The payment.
    pub payment: Payment,
    /// Fingerprint of the creating request.
    pub fingerprint: String,
}

/// A refund to record.
#[derive(Debug, Clone)]
pub struct NewRefund {
    /// Amount to pay back, in the payment's currency (minor units, more than zero).
    pub amount: i64,
    /// Why, as support wrote it.
    pub reason: String,
    /// Who refunded (the caller's subject).
    pub actor: String,
}

/// What the payment service needs from its database.
#[async_trait]
pub trait PaymentStore: Send + Sync + 'static {
    /// Records a payment with a new id; `UniqueViolation` naming `idempotency_key` when the key
    /// was used before.
    async fn insert_payment(&self, payment: &NewPayment) -> Result<Payment, StoreError>;
    /// A payment by id.
    async fn payment(&self, id: Uuid) -> Result<Payment, StoreError>;
    /// The payment created with idempotency key `key`, if any.
    async fn payment_by_idempotency_key(
        &self,
        key: &str,
    ) -> Result<Option<KeyedPayment>, StoreError>;
    /// The payments of an order, oldest first.
    async fn payments_for_order(&self, order_id: Uuid) -> Result<Vec<Payment>, StoreError>;
    /// Captures the whole amount of an `authorized` payment; `None` when the payment is not
    /// (or no longer) authorized.
    async fn capture(&self, id: Uuid) -> Result<Option<Payment>, StoreError>;
    /// Releases an `authorized` payment; `None` when it is not (or no longer) authorized.
    async fn void(&self, id: Uuid) -> Result<Option<Payment>, StoreError>;
    /// Pays back `refund.amount` of a captured or partially refunded payment and records the
    /// refund, atomically; `None` (and nothing written) when the payment cannot be refunded or
    /// the amount exceeds what is left.
    async fn refund(&self, id: Uuid, refund: &NewRefund) -> Result<Option<Payment>, StoreError>;
}

/// Where the SQL of the two backends differs.
#[derive(Debug)]
pub(crate) struct Dialect {
    /// Select (and `RETURNING`) list producing a [`PaymentRow`].
    columns: &'static str,
}

/// The SQL implementation of [`PaymentStore`].
#[derive(Debug, Clone)]
pub struct SqlPaymentStore {
    db: Db,
}

impl SqlPaymentStore {
    /// Ends the authorization of payment `id` with `set` (its new status and amounts), only
    /// while it is `authorized`; `None` when it is not (any more).
    async fn settle(&self, id: Uuid, set: &str) -> Result<Option<Payment>, StoreError> {
        let sql = format!(
            "UPDATE payments SET {set}, updated_at = ? \
             WHERE id = ? AND status = 'authorized' RETURNING {}",
            self.columns()
        );
        self.db
            .fetch_optional::<PaymentRow>(&sql, &[Param::Time(now()), Param::Uuid(id)])
            .await?
            .map(into_payment)
            .transpose()
    }

    /// Wraps a migrated database.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    fn columns(&self) -> &'static str {
        match self.db.backend() {
            Backend::Sqlite => sqlite::DIALECT.columns,
            Backend::Postgres => postgres::DIALECT.columns,
        }
    }
}

#[derive(Debug, sqlx::FromRow)]
struct PaymentRow {
    id: String,
    order_id: String,
    customer_id: String,
    status: String,
    amount: i64,
    currency: String,
    captured_amount: i64,
    refunded_amount: i64,
    brand: String,
    last4: String,
    exp_month: i64,
    exp_year: i64,
    card_token: String,
    decline_code: Option<String>,
    fingerprint: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Db(sqlx::Error::Decode(
        format!("corrupt {what} in payments").into(),
    ))
}

impl TryFrom<PaymentRow> for KeyedPayment {
    type Error = StoreError;

    fn try_from(row: PaymentRow) -> Result<Self, StoreError> {
        let payment = Payment {
            id: row.id.parse().map_err(|_| corrupt("id"))?,
            order_id: row.order_id.parse().map_err(|_| corrupt("order_id"))?,
            customer_id: row.customer_id,
            status: Status::parse(&row.status).ok_or_else(|| corrupt("status"))?,
            amount: Money::new(row.amount, &row.currency),
            captured_amount: Money::new(row.captured_amount, &row.currency),
            refunded_amount: Money::new(row.refunded_amount, &row.currency),
            card: CardSummary {
                brand: row.brand,
                last4: row.last4,
                exp_month: u8::try_from(row.exp_month).map_err(|_| corrupt("exp_month"))?,
                exp_year: u16::try_from(row.exp_year).map_err(|_| corrupt("exp_year"))?,
                token: row.card_token,
            },
            decline_code: row.decline_code,
            created_at: row.created_at,
            updated_at: row.updated_at,
        };
        Ok(Self {
            payment,
            fingerprint: row.fingerprint,
        })
    }
}

fn into_payment(row: PaymentRow) -> Result<Payment, StoreError> {
    KeyedPayment::try_from(row).map(|keyed| keyed.payment)
}

/// Now, truncated to the microsecond precision both backends store.
fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

#[async_trait]
impl PaymentStore for SqlPaymentStore {
    #[tracing::instrument(name = "Insert payment", skip_all, fields(order_id = %new.order_id))]
    async fn insert_payment(&self, new: &NewPayment) -> Result<Payment, StoreError> {
        let (id, at) = (Uuid::now_v7(), now());
        self.db
            .execute(
                "INSERT INTO payments (id, order_id, customer_id, status, amount, currency, \
                 captured_amount, refunded_amount, brand, last4, exp_month, exp_year, card_token, \
                 decline_code, idempotency_key, fingerprint, created_at, updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                &[
                    Param::Uuid(id),
                    Param::Uuid(new.order_id),
                    new.customer_id.clone().into(),
                    new.status.as_str().into(),
                    Param::Int(new.amount.amount),
                    new.amount.currency.clone().into(),
                    new.card.brand.clone().into(),
                    new.card.last4.clone().into(),
                    Param::Int(i64::from(new.card.exp_month)),
                    Param::Int(i64::from(new.card.exp_year)),
                    new.card.token.clone().into(),
                    Param::OptText(new.decline_code.clone()),
                    new.idempotency_key.clone().into(),
                    new.fingerprint.clone().into(),
                    Param::Time(at),
                    Param::Time(at),
                ],
            )
            .await?;
        let currency = &new.amount.currency;
        Ok(Payment {
            id,
            order_id: new.order_id,
            customer_id: new.customer_id.clone(),
            status: new.status,
            amount: new.amount.clone(),
            captured_amount: Money::new(0, currency),
            refunded_amount: Money::new(0, currency),
            card: new.card.clone(),
            decline_code: new.decline_code.clone(),
            created_at: at,
            updated_at: at,
        })
    }

    async fn payment(&self, id: Uuid) -> Result<Payment, StoreError> {
        let sql = format!("SELECT {} FROM payments WHERE id = ?", self.columns());
        into_payment(
            self.db
                .fetch_one::<PaymentRow>(&sql, &[Param::Uuid(id)])
                .await?,
        )
    }

    async fn payment_by_idempotency_key(
        &self,
        key: &str,
    ) -> Result<Option<KeyedPayment>, StoreError> {
        let sql = format!(
            "SELECT {} FROM payments WHERE idempotency_key = ?",
            self.columns()
        );
        self.db
            .fetch_optional::<PaymentRow>(&sql, &[key.into()])
            .await?
            .map(KeyedPayment::try_from)
            .transpose()
    }

    async fn payments_for_order(&self, order_id: Uuid) -> Result<Vec<Payment>, StoreError> {
        let sql = format!(
            "SELECT {} FROM payments WHERE order_id = ? ORDER BY created_at, id",
            self.columns()
        );
        let rows: Vec<PaymentRow> = self.db.fetch_all(&sql, &[Param::Uuid(order_id)]).await?;
        rows.into_iter().map(into_payment).collect()
    }

    #[tracing::instrument(name = "Capture payment", skip_all, fields(%id))]
    async fn capture(&self, id: Uuid) -> Result<Option<Payment>, StoreError> {
        self.settle(id, "status = 'captured', captured_amount = amount")
            .await
    }

    #[tracing::instrument(name = "Void payment", skip_all, fields(%id))]
    async fn void(&self, id: Uuid) -> Result<Option<Payment>, StoreError> {
        self.settle(id, "status = 'voided'").await
    }

    #[tracing::instrument(name = "Refund payment", skip_all, fields(%id, amount = refund.amount))]
    async fn refund(&self, id: Uuid, refund: &NewRefund) -> Result<Option<Payment>, StoreError> {
        let at = now();
        // SET expressions see the row as it was, so the CASE compares the new total.
        let sql = format!(
            "UPDATE payments SET refunded_amount = refunded_amount + ?, \
             status = CASE WHEN refunded_amount + ? >= captured_amount \
                 THEN 'refunded' ELSE 'partially_refunded' END, \
             updated_at = ? \
             WHERE id = ? AND status IN ('captured', 'partially_refunded') \
             AND refunded_amount + ? <= captured_amount RETURNING {}",
            self.columns()
        );
        let mut tx = self.db.begin_write().await?;
        let updated: Option<PaymentRow> = tx
            .fetch_optional(
                &sql,
                &[
                    Param::Int(refund.amount),
                    Param::Int(refund.amount),
                    Param::Time(at),
                    Param::Uuid(id),
                    Param::Int(refund.amount),
                ],
            )
            .await?;
        let Some(row) = updated else {
            // Nothing was changed: end the transaction (and release SQLite's write lock) now
            // rather than leave the rollback to the drop.
            tx.commit().await?;
            return Ok(None);
        };
        tx.execute(
            "INSERT INTO refunds (id, payment_id, amount, reason, actor, created_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
            &[
                Param::Uuid(Uuid::now_v7()),
                Param::Uuid(id),
                Param::Int(refund.amount),
                refund.reason.clone().into(),
                refund.actor.clone().into(),
                Param::Time(at),
            ],
        )
        .await?;
        tx.commit().await?;
        into_payment(row).map(Some)
    }
}
