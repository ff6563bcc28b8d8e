//! PostgreSQL specifics: the order service's PostgreSQL migrations.

/// The PostgreSQL migrations (`migrations/postgres`).
pub(super) const MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
