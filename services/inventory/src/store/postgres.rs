//! PostgreSQL specifics: the inventory service's PostgreSQL migrations, and how SKUs sort (its
//! other queries are portable SQL, in `store.rs`).

/// The PostgreSQL migrations (`migrations/postgres`).
pub(super) const MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// SKUs in byte order, as on SQLite: the database's default collation may be a locale's, in
/// which `-` and `_` need not sort as their bytes do.
pub(super) const SKU_ORDER: &str = r#"sku COLLATE "C""#;
