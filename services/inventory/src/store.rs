//! Inventory persistence: the [`InventoryStore`] trait and its SQL implementation for SQLite and
//! PostgreSQL.
//!
//! Reservations are atomic on both backends the same way: inside one write transaction, each
//! line (in SKU order) is one conditional `UPDATE … SET reserved = reserved + q WHERE sku = ? AND
//! on_hand - reserved >= q`. A line that matches no row rolls the whole transaction back, so an
//! order gets all its lines or none, and stock can never be over-reserved: on PostgreSQL the
//! row lock makes a concurrent update re-check the condition against the committed row; on
//! SQLite `BEGIN IMMEDIATE` serialises writers. CHECK constraints (`0 <= reserved <= on_hand`)
//! back this up in the schema.
//!
//! The statements are the same on both backends but for one fragment: how SKUs sort
//! (`store/sqlite.rs`, `store/postgres.rs`).

mod postgres;
mod sqlite;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shopctl_kit::{
    db::Migrations,
    db::{Backend, Db, StoreError},
    sql::{Param, Tx},
};
use uuid::Uuid;

use crate::domain::{Adjustment, Line, Reservation, ReservationState, ReservationView, StockLevel};

/// The inventory service's migrations, each backend's in its own module.
pub static MIGRATIONS: Migrations = Migrations {
    sqlite: sqlite::MIGRATOR,
    postgres: postgres::MIGRATOR,
};

/// Why a reservation was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReserveError {
    /// Not enough available units of `sku` (or no such SKU).
    #[error("not enough stock of {sku}")]
    Insufficient {
        /// The first SKU that fell short.
        sku: String,
    },
    /// The order already has a reservation with other lines.
    #[error("order {0} already holds a different reservation")]
    Mismatch(Uuid),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a state change was refused.
#[derive(Debug, thiserror::Error)]
pub enum TransitionError {
    /// No reservation for the order.
    #[error("no reservation for this order")]
    NotFound,
    /// The reservation is in a state that does not allow it (e.g. confirming a released one).
    #[error("the reservation is {0:?}")]
    Invalid(ReservationState),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the inventory service needs from its database.
#[async_trait]
pub trait InventoryStore: Send + Sync + 'static {
    /// The stock of one SKU.
    async fn stock(&self, sku: &str) -> Result<StockLevel, StoreError>;
    /// Sets on-hand stock for SKUs that have none yet (seeding); returns how many were added.
    async fn seed(&self, levels: &[(String, i64)], now: DateTime<Utc>) -> Result<u64, StoreError>;
    /// Adds `delta` to on-hand stock (creating the SKU on a positive delta), never below what
    /// is reserved; `None` when it would go below. Records the adjustment.
    async fn adjust(
        &self,
        sku: &str,
        adjustment: &Adjustment,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<StockLevel>, StoreError>;
    /// Holds every line for the order until `expires_at`, or nothing. Repeating a reservation
    /// for the same order with the same lines returns the existing one.
    async fn reserve(
        &self,
        reservation: &Reservation,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<ReservationView, ReserveError>;
    /// The reservation of an order.
    async fn reservation(&self, order_id: Uuid) -> Result<ReservationView, StoreError>;
    /// Held → confirmed: the units leave `on_hand` and `reserved`. Idempotent.
    async fn confirm(
        &self,
        order_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<ReservationView, TransitionError>;
    /// Held → released: the units become available again. Idempotent.
    async fn release(
        &self,
        order_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<ReservationView, TransitionError>;
    /// Releases held reservations that expired before `now`; returns how many.
    async fn release_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
    /// SKUs with at most `threshold` available units, and units held in all reservations.
    async fn gauges(&self, threshold: i64) -> Result<(i64, i64), StoreError>;
    /// The SKUs [`gauges`](Self::gauges) counts as low for `threshold`, fewest available units
    /// first, then by SKU (byte order on both backends); at most `limit` of them.
    async fn low_stock(&self, threshold: i64, limit: i64) -> Result<Vec<StockLevel>, StoreError>;
}

/// The SQL implementation of [`InventoryStore`].
#[derive(Debug, Clone)]
pub struct SqlInventoryStore {
    db: Db,
}

impl SqlInventoryStore {
    /// Wraps a migrated database.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    fn sku_order(&self) -> &'static str {
        match self.db.backend() {
            Backend::Sqlite => sqlite::SKU_ORDER,
            Backend::Postgres => postgres::SKU_ORDER,
        }
    }
}

/// The low-stock rule, shared by the gauge and the list so they cannot disagree: a SKU is low
/// when its available units (`on_hand - reserved`, never negative by the schema's CHECKs) are at
/// most the threshold bound to the `?`.
const LOW_STOCK: &str = "FROM stock WHERE on_hand - reserved <= ?";

#[derive(sqlx::FromRow)]
struct StockRow {
    sku: String,
    on_hand: i64,
    reserved: i64,
}

#[derive(sqlx::FromRow)]
struct ReservationRow {
    status: String,
    expires_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct LineRow {
    sku: String,
    quantity: i64,
}

#[derive(sqlx::FromRow)]
struct Count {
    n: i64,
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Db(sqlx::Error::Decode(
        format!("corrupt {what} in reservations").into(),
    ))
}

async fn view_in(tx: &mut Tx, order_id: Uuid) -> Result<Option<ReservationView>, StoreError> {
    let id = Param::Text(order_id.to_string());
    let Some(row): Option<ReservationRow> = tx
        .fetch_optional(
            "SELECT status, expires_at FROM reservations WHERE order_id = ?",
            std::slice::from_ref(&id),
        )
        .await?
    else {
        return Ok(None);
    };
    let lines: Vec<LineRow> = tx
        .fetch_all(
            "SELECT sku, quantity FROM reservation_lines WHERE order_id = ? ORDER BY sku",
            &[id],
        )
        .await?;
    Ok(Some(ReservationView {
        order_id,
        status: ReservationState::parse(&row.status).ok_or_else(|| corrupt("status"))?,
        expires_at: row.expires_at,
        lines: lines
            .into_iter()
            .map(|l| Line {
                sku: l.sku,
                quantity: l.quantity,
            })
            .collect(),
    }))
}

/// A way out of `held`: the state it ends in, and the stock update applied to each line (bound
/// with the line's quantity once per `?` before the last two, then the time, then the SKU).
struct Settlement {
    to: ReservationState,
    stock_sql: &'static str,
}

/// Held → confirmed: the units leave `on_hand` and `reserved`.
const CONFIRM: Settlement = Settlement {
    to: ReservationState::Confirmed,
    stock_sql: "UPDATE stock SET reserved = reserved - ?, on_hand = on_hand - ?, updated_at = ? \
                WHERE sku = ?",
};

/// Held → released: the units become available again.
const RELEASE: Settlement = Settlement {
    to: ReservationState::Released,
    stock_sql: "UPDATE stock SET reserved = reserved - ?, updated_at = ? WHERE sku = ?",
};

/// Settles a held reservation as `settlement` says, and says whether this call moved it.
/// Already in its end state: unchanged (not moved). Any other state: refused.
async fn transition(
    db: &Db,
    order_id: Uuid,
    settlement: &Settlement,
    now: DateTime<Utc>,
) -> Result<(ReservationView, bool), TransitionError> {
    let Settlement { to, stock_sql } = *settlement;
    let mut tx = db.begin_write().await?;
    let view = view_in(&mut tx, order_id)
        .await?
        .ok_or(TransitionError::NotFound)?;
    if view.status == to {
        return Ok((view, false));
    }
    if view.status != ReservationState::Held {
        return Err(TransitionError::Invalid(view.status));
    }
    let moved = tx
        .execute(
            "UPDATE reservations SET status = ?, updated_at = ? WHERE order_id = ? AND status = 'held'",
            &[
                Param::Text(to.as_str().to_owned()),
                Param::Time(now),
                Param::Text(order_id.to_string()),
            ],
        )
        .await?;
    if moved != 1 {
        return Err(TransitionError::Invalid(view.status));
    }
    let quantities = stock_sql.matches('?').count().saturating_sub(2);
    for line in &view.lines {
        let mut params = vec![Param::Int(line.quantity); quantities];
        params.push(Param::Time(now));
        params.push(Param::Text(line.sku.clone()));
        tx.execute(stock_sql, &params).await?;
    }
    let view = view_in(&mut tx, order_id)
        .await?
        .ok_or(TransitionError::NotFound)?;
    tx.commit().await?;
    Ok((view, true))
}

#[async_trait]
impl InventoryStore for SqlInventoryStore {
    async fn stock(&self, sku: &str) -> Result<StockLevel, StoreError> {
        let row: StockRow = self
            .db
            .fetch_one(
                "SELECT sku, on_hand, reserved FROM stock WHERE sku = ?",
                &[Param::Text(sku.to_owned())],
            )
            .await?;
        Ok(StockLevel::new(row.sku, row.on_hand, row.reserved))
    }

    async fn seed(&self, levels: &[(String, i64)], now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut tx = self.db.begin_write().await?;
        let mut added = 0;
        for (sku, on_hand) in levels {
            added += tx
                .execute(
                    "INSERT INTO stock (sku, on_hand, reserved, updated_at) VALUES (?, ?, 0, ?)
                     ON CONFLICT (sku) DO NOTHING",
                    &[
                        Param::Text(sku.clone()),
                        Param::Int(*on_hand),
                        Param::Time(now),
                    ],
                )
                .await?;
        }
        tx.commit().await?;
        Ok(added)
    }

    async fn adjust(
        &self,
        sku: &str,
        adjustment: &Adjustment,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<StockLevel>, StoreError> {
        let mut tx = self.db.begin_write().await?;
        let sku_param = Param::Text(sku.to_owned());
        if adjustment.delta > 0 {
            tx.execute(
                "INSERT INTO stock (sku, on_hand, reserved, updated_at) VALUES (?, 0, 0, ?)
                 ON CONFLICT (sku) DO NOTHING",
                &[sku_param.clone(), Param::Time(now)],
            )
            .await?;
        }
        let changed = tx
            .execute(
                "UPDATE stock SET on_hand = on_hand + ?, updated_at = ?
                 WHERE sku = ? AND on_hand + ? >= reserved",
                &[
                    Param::Int(adjustment.delta),
                    Param::Time(now),
                    sku_param.clone(),
                    Param::Int(adjustment.delta),
                ],
            )
            .await?;
        if changed == 0 {
            let exists: Option<StockRow> = tx
                .fetch_optional(
                    "SELECT sku, on_hand, reserved FROM stock WHERE sku = ?",
                    &[sku_param],
                )
                .await?;
            return match exists {
                Some(_) => Ok(None),
                None => Err(StoreError::NotFound),
            };
        }
        tx.execute(
            "INSERT INTO adjustments (id, sku, delta, reason, actor, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            &[
                Param::Text(Uuid::now_v7().to_string()),
                sku_param.clone(),
                Param::Int(adjustment.delta),
                Param::Text(adjustment.reason.clone()),
                Param::Text(actor.to_owned()),
                Param::Time(now),
            ],
        )
        .await?;
        let row: Option<StockRow> = tx
            .fetch_optional(
                "SELECT sku, on_hand, reserved FROM stock WHERE sku = ?",
                &[sku_param],
            )
            .await?;
        tx.commit().await?;
        Ok(row.map(|r| StockLevel::new(r.sku, r.on_hand, r.reserved)))
    }

    async fn reserve(
        &self,
        reservation: &Reservation,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<ReservationView, ReserveError> {
        let mut tx = self.db.begin_write().await?;
        if let Some(existing) = view_in(&mut tx, reservation.order_id).await? {
            let same = existing.lines.len() == reservation.lines.len()
                && existing
                    .lines
                    .iter()
                    .zip(&reservation.lines)
                    .all(|(a, (sku, q))| a.sku == *sku && a.quantity == *q);
            return if same {
                Ok(existing)
            } else {
                Err(ReserveError::Mismatch(reservation.order_id))
            };
        }
        for (sku, quantity) in &reservation.lines {
            let held = tx
                .execute(
                    "UPDATE stock SET reserved = reserved + ?, updated_at = ?
                     WHERE sku = ? AND on_hand - reserved >= ?",
                    &[
                        Param::Int(*quantity),
                        Param::Time(now),
                        Param::Text(sku.clone()),
                        Param::Int(*quantity),
                    ],
                )
                .await?;
            if held != 1 {
                // Dropping the transaction rolls back the lines already held.
                return Err(ReserveError::Insufficient { sku: sku.clone() });
            }
        }
        let id = Param::Text(reservation.order_id.to_string());
        let inserted = tx
            .execute(
                "INSERT INTO reservations (order_id, status, expires_at, created_at, updated_at)
                 VALUES (?, 'held', ?, ?, ?)",
                &[
                    id.clone(),
                    Param::Time(expires_at),
                    Param::Time(now),
                    Param::Time(now),
                ],
            )
            .await;
        match inserted {
            Ok(_) => {}
            // A concurrent request for the same order won: answer with its reservation.
            Err(StoreError::UniqueViolation { .. }) => {
                drop(tx);
                return self
                    .reservation(reservation.order_id)
                    .await
                    .map_err(ReserveError::Store);
            }
            Err(other) => return Err(other.into()),
        }
        for (sku, quantity) in &reservation.lines {
            tx.execute(
                "INSERT INTO reservation_lines (order_id, sku, quantity) VALUES (?, ?, ?)",
                &[id.clone(), Param::Text(sku.clone()), Param::Int(*quantity)],
            )
            .await?;
        }
        let view = view_in(&mut tx, reservation.order_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(view)
    }

    async fn reservation(&self, order_id: Uuid) -> Result<ReservationView, StoreError> {
        let mut tx = self.db.begin().await?;
        let view = view_in(&mut tx, order_id).await?;
        tx.commit().await?;
        view.ok_or(StoreError::NotFound)
    }

    async fn confirm(
        &self,
        order_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<ReservationView, TransitionError> {
        transition(&self.db, order_id, &CONFIRM, now)
            .await
            .map(|(view, _)| view)
    }

    async fn release(
        &self,
        order_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<ReservationView, TransitionError> {
        transition(&self.db, order_id, &RELEASE, now)
            .await
            .map(|(view, _)| view)
    }

    async fn release_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Expired {
            order_id: String,
        }
        let expired: Vec<Expired> = self
            .db
            .fetch_all(
                "SELECT order_id FROM reservations WHERE status = 'held' AND expires_at < ? LIMIT 500",
                &[Param::Time(now)],
            )
            .await?;
        let mut released = 0;
        for row in expired {
            let Ok(order_id) = row.order_id.parse() else {
                continue;
            };
            // Another sweeper (another replica) may release it first: count only our moves.
            match transition(&self.db, order_id, &RELEASE, now).await {
                Ok((_, true)) => released += 1,
                // Released by another sweeper, or confirmed meanwhile (the order won the
                // race): both fine, neither ours to count.
                Ok((_, false)) | Err(TransitionError::Invalid(_) | TransitionError::NotFound) => {}
                Err(TransitionError::Store(err)) => return Err(err),
            }
        }
        Ok(released)
    }

    async fn gauges(&self, threshold: i64) -> Result<(i64, i64), StoreError> {
        let low: Count = self
            .db
            .fetch_one(
                &format!("SELECT COUNT(*) AS n {LOW_STOCK}"),
                &[Param::Int(threshold)],
            )
            .await?;
        let held: Count = self
            .db
            .fetch_one(
                "SELECT CAST(COALESCE(SUM(reserved), 0) AS BIGINT) AS n FROM stock",
                &[],
            )
            .await?;
        Ok((low.n, held.n))
    }

    async fn low_stock(&self, threshold: i64, limit: i64) -> Result<Vec<StockLevel>, StoreError> {
        let rows: Vec<StockRow> = self
            .db
            .fetch_all(
                &format!(
                    "SELECT sku, on_hand, reserved {LOW_STOCK} \
                     ORDER BY on_hand - reserved, {} LIMIT ?",
                    self.sku_order()
                ),
                &[Param::Int(threshold), Param::Int(limit)],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| StockLevel::new(r.sku, r.on_hand, r.reserved))
            .collect())
    }
}
