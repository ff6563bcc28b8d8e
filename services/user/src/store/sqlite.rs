//! SQLite specifics: UUIDs are stored as text, so id columns are read as they are.

/// The SQLite migrations (`migrations/sqlite`).
pub(super) const MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// How a UUID column is selected.
pub(crate) fn id_column(column: &'static str) -> &'static str {
    column
}
