//! PostgreSQL specifics: UUID columns are read back as text so one row type serves both.

/// The PostgreSQL migrations (`migrations/postgres`).
pub(super) const MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// How a UUID column is selected.
pub(crate) fn id_column(column: &'static str) -> &'static str {
    match column {
        "user_id" => "user_id::text AS user_id",
        "family_id" => "family_id::text AS family_id",
        _ => "id::text AS id",
    }
}
