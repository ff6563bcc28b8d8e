//! PostgreSQL specifics: UUID columns are read back as text so one row type serves both
//! backends.

use super::Dialect;

/// The PostgreSQL migrations (`migrations/postgres`).
pub(super) const MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

pub(crate) static DIALECT: Dialect = Dialect {
    columns: "id::text AS id, order_id::text AS order_id, customer_id, status, amount, currency, \
              captured_amount, refunded_amount, brand, last4, \
              CAST(exp_month AS BIGINT) AS exp_month, CAST(exp_year AS BIGINT) AS exp_year, \
              card_token, decline_code, fingerprint, created_at, updated_at",
};
