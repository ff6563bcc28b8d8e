//! PostgreSQL specifics: `tsvector` columns matched with `to_tsquery('simple', …)`, UUID and
//! JSONB columns read back as text.

use super::Dialect;
use crate::domain::SearchTerms;

/// The PostgreSQL migrations (`migrations/postgres`).
pub(super) const MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

pub(crate) static DIALECT: Dialect = Dialect {
    columns: "p.id::text AS id, p.id AS key_id, p.sku AS sku, p.name AS name, p.description AS description, \
              p.price_amount AS price_amount, p.price_currency AS price_currency, \
              p.category AS category, p.brand AS brand, p.attributes::text AS attributes, \
              p.image_url AS image_url, p.active AS active, p.created_at AS created_at, \
              p.updated_at AS updated_at",
    search_filter: " AND p.search_all @@ to_tsquery('simple', ?)",
    relevance: "CAST(CASE WHEN p.name_key = ? THEN 4 \
                WHEN p.search_name @@ to_tsquery('simple', ?) THEN 3 \
                WHEN p.search_meta @@ to_tsquery('simple', ?) THEN 2 \
                ELSE 1 END AS BIGINT)",
    search_params,
};

fn search_params(terms: &SearchTerms) -> [String; 3] {
    let query = terms.tsquery();
    [query.clone(), query.clone(), query]
}
