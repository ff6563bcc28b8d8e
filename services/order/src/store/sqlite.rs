//! SQLite specifics: the order service's SQLite migrations.

/// The SQLite migrations (`migrations/sqlite`).
pub(super) const MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
