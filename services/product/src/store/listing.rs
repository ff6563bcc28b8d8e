//! How a listing is asked for and read back: the WHERE clause of its filters, the keyset
//! condition and ORDER BY of its sort and cursor, the next cursor's key, and the category and
//! brand facets folded from (category, brand) counts. SQL text shared by both backends; the
//! dialect supplies the search filter.

use std::collections::BTreeMap;

use shopctl_kit::sql::Param;

use super::Dialect;
use crate::domain::{Cursor, FacetCount, Facets, ListQuery, Product, Sort, SortKey};

#[derive(Debug, sqlx::FromRow)]
pub(super) struct PairRow {
    category: String,
    brand: String,
    count: i64,
}

/// Most brands listed in the brand facet.
const BRAND_FACETS: usize = 50;

/// Category and brand facets (by count, then value) and the total from (category, brand)
/// counts.
pub(super) fn fold_facets(pairs: &[PairRow]) -> (Facets, i64) {
    let mut categories: BTreeMap<&str, i64> = BTreeMap::new();
    let mut brands: BTreeMap<&str, i64> = BTreeMap::new();
    for pair in pairs {
        *categories.entry(&pair.category).or_default() += pair.count;
        *brands.entry(&pair.brand).or_default() += pair.count;
    }
    let ranked = |counts: BTreeMap<&str, i64>, most: usize| {
        let mut list: Vec<FacetCount> = counts
            .into_iter()
            .map(|(value, count)| FacetCount {
                value: value.to_owned(),
                count,
            })
            .collect();
        // Stable sort keeps the BTreeMap's value order among equal counts.
        list.sort_by_key(|f| std::cmp::Reverse(f.count));
        list.truncate(most);
        list
    };
    let total = categories.values().sum();
    let facets = Facets {
        category: ranked(categories, usize::MAX),
        brand: ranked(brands, BRAND_FACETS),
    };
    (facets, total)
}

/// WHERE clause (without keyset) and its parameters for a listing.
pub(super) fn filters(dialect: &Dialect, query: &ListQuery) -> (String, Vec<Param>) {
    let mut sql = String::from(" WHERE p.active");
    let mut params = Vec::new();
    if let Some(terms) = &query.terms {
        let [all, _, _] = (dialect.search_params)(terms);
        sql.push_str(dialect.search_filter);
        params.push(Param::Text(all));
    }
    if let Some(category) = &query.category {
        sql.push_str(" AND p.category = ?");
        params.push(category.as_ref().into());
    }
    if let Some(brand) = &query.brand {
        sql.push_str(" AND p.brand = ?");
        params.push(brand.as_ref().into());
    }
    if let Some(min) = query.min_price {
        sql.push_str(" AND p.price_amount >= ?");
        params.push(Param::Int(min));
    }
    if let Some(max) = query.max_price {
        sql.push_str(" AND p.price_amount <= ?");
        params.push(Param::Int(max));
    }
    (sql, params)
}

/// Keyset condition after `cursor` and the ORDER BY for `sort`.
pub(super) fn keyset(
    sort: Sort,
    cursor: Option<&Cursor>,
    params: &mut Vec<Param>,
) -> (String, &'static str) {
    let order = match sort {
        Sort::Relevance => " ORDER BY t.score DESC, t.name ASC, t.key_id ASC",
        Sort::PriceAsc => " ORDER BY t.price_amount ASC, t.key_id ASC",
        Sort::PriceDesc => " ORDER BY t.price_amount DESC, t.key_id DESC",
        Sort::Name => " ORDER BY t.name ASC, t.key_id ASC",
        Sort::Newest => " ORDER BY t.created_at DESC, t.key_id DESC",
    };
    let Some(cursor) = cursor else {
        return (String::new(), order);
    };
    let id = Param::Uuid(cursor.id);
    let condition = match &cursor.key {
        SortKey::Relevance(score, name) => {
            params.extend([
                Param::Int(*score),
                Param::Int(*score),
                name.clone().into(),
                name.clone().into(),
                id,
            ]);
            " WHERE (t.score < ? OR (t.score = ? AND (t.name > ? OR (t.name = ? AND t.key_id > ?))))"
        }
        SortKey::Price(price) => {
            params.extend([Param::Int(*price), Param::Int(*price), id]);
            if sort == Sort::PriceAsc {
                " WHERE (t.price_amount > ? OR (t.price_amount = ? AND t.key_id > ?))"
            } else {
                " WHERE (t.price_amount < ? OR (t.price_amount = ? AND t.key_id < ?))"
            }
        }
        SortKey::Name(name) => {
            params.extend([name.clone().into(), name.clone().into(), id]);
            " WHERE (t.name > ? OR (t.name = ? AND t.key_id > ?))"
        }
        SortKey::Newest(at) => {
            params.extend([Param::Time(*at), Param::Time(*at), id]);
            " WHERE (t.created_at < ? OR (t.created_at = ? AND t.key_id < ?))"
        }
    };
    (condition.to_owned(), order)
}

pub(super) fn sort_key(sort: Sort, product: &Product, score: i64) -> SortKey {
    match sort {
        Sort::Relevance => SortKey::Relevance(score, product.name.clone()),
        Sort::PriceAsc | Sort::PriceDesc => SortKey::Price(product.price.amount),
        Sort::Name => SortKey::Name(product.name.clone()),
        Sort::Newest => SortKey::Newest(product.created_at),
    }
}
