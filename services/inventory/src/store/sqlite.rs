//! SQLite specifics: the inventory service's SQLite migrations, and how SKUs sort (its other
//! queries are portable SQL, in `store.rs`).

/// The SQLite migrations (`migrations/sqlite`).
pub(super) const MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// SKUs in byte order: SQLite's default `BINARY` collation already is.
pub(super) const SKU_ORDER: &str = "sku";
