//! PostgreSQL specifics: the inventory service's PostgreSQL migrations (its queries are
//! portable SQL, in `store.rs`).

/// The PostgreSQL migrations (`migrations/postgres`).
pub(super) const MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
