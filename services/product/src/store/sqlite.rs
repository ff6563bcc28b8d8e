//! SQLite specifics: FTS5 `MATCH` over the `products_fts` external-content table.

use super::Dialect;
use crate::domain::SearchTerms;

/// The SQLite migrations (`migrations/sqlite`).
pub(super) const MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

pub(crate) static DIALECT: Dialect = Dialect {
    columns: "p.id AS id, p.id AS key_id, p.sku AS sku, p.name AS name, p.description AS description, \
              p.price_amount AS price_amount, p.price_currency AS price_currency, \
              p.category AS category, p.brand AS brand, p.attributes AS attributes, \
              p.image_url AS image_url, p.active AS active, p.created_at AS created_at, \
              p.updated_at AS updated_at",
    search_filter: " AND p.seq IN (SELECT rowid FROM products_fts WHERE products_fts MATCH ?)",
    relevance: "CAST(CASE WHEN p.name_key = ? THEN 4 \
                WHEN p.seq IN (SELECT rowid FROM products_fts WHERE products_fts MATCH ?) THEN 3 \
                WHEN p.seq IN (SELECT rowid FROM products_fts WHERE products_fts MATCH ?) THEN 2 \
                ELSE 1 END AS BIGINT)",
    search_params,
};

fn search_params(terms: &SearchTerms) -> [String; 3] {
    [
        terms.fts5(None),
        terms.fts5(Some("name")),
        terms.fts5(Some("{name brand category}")),
    ]
}
