//! SQLite specifics: UUIDs are stored as text, so id columns are read as they are.

/// How a UUID column is selected.
pub(crate) fn id_column(column: &'static str) -> &'static str {
    column
}
