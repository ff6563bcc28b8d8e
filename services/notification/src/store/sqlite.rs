//! SQLite specifics: the notification service's SQLite migrations (its queries are
//! portable SQL, in `store.rs`).

/// The SQLite migrations (`migrations/sqlite`).
pub(super) const MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
