//! SQLite specifics: UUIDs are stored as text, so id columns are read as they are.

use super::Dialect;

/// The SQLite migrations (`migrations/sqlite`).
pub(super) const MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

pub(crate) static DIALECT: Dialect = Dialect {
    columns: "id, order_id, customer_id, status, amount, currency, captured_amount, \
              refunded_amount, brand, last4, CAST(exp_month AS BIGINT) AS exp_month, \
              CAST(exp_year AS BIGINT) AS exp_year, card_token, decline_code, fingerprint, \
              created_at, updated_at",
};
