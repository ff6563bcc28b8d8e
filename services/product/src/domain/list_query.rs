//! A validated catalog listing request: filters, sort, page size and the keyset cursor.
//!
//! Pagination is keyset-based: the cursor carries the sort key and id of the last item served,
//! and the next page starts strictly after it. Items inserted while a client pages therefore
//! never shift later pages, and no item is served twice. Every sort ends with the product id as
//! a tie-breaker; relevance is a stable tier (exact name, all words in the name, in name/brand/
//! category, anywhere) rather than a corpus-statistics score, so it too is keyset-safe.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{Brand, CategorySlug, FieldError, Money, SearchTerms};

/// Raw query-string parameters of `GET /api/products`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Full-text search; every word must match (as a prefix).
    pub q: Option<String>,
    /// Category slug.
    pub category: Option<String>,
    /// Exact brand.
    pub brand: Option<String>,
    /// Lowest price, minor units, inclusive.
    pub min_price: Option<i64>,
    /// Highest price, minor units, inclusive.
    pub max_price: Option<i64>,
    /// `relevance` (default with `q`), `newest` (default otherwise), `price_asc`,
    /// `price_desc`, `name`.
    pub sort: Option<String>,
    /// Page size, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Sort orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Best match first (needs `q`).
    Relevance,
    /// Cheapest first.
    PriceAsc,
    /// Most expensive first.
    PriceDesc,
    /// Alphabetical.
    Name,
    /// Most recently created first.
    Newest,
}

/// The sort-key values of one item, as carried by a cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", content = "v", rename_all = "snake_case")]
pub enum SortKey {
    /// Relevance tier and name.
    Relevance(i64, String),
    /// Price in minor units.
    Price(i64),
    /// Name.
    Name(String),
    /// Creation time.
    Newest(DateTime<Utc>),
}

/// Position after the last item of a page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    /// The sort this cursor belongs to.
    #[serde(rename = "s")]
    pub sort: Sort,
    /// Sort key of the last item.
    #[serde(rename = "k")]
    pub key: SortKey,
    /// Id of the last item.
    pub id: Uuid,
    /// Fingerprint of the filters the cursor was issued for.
    #[serde(rename = "f")]
    pub filters: u64,
}

impl Cursor {
    /// Opaque text form.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// Parses a cursor issued for `sort` and the filters fingerprinted as `filters`.
    pub fn decode(text: &str, sort: Sort, filters: u64) -> Result<Self, FieldError> {
        let bad = || {
            FieldError::new(
                "cursor",
                "is not a cursor issued by this endpoint; start again without it",
            )
        };
        if text.len() > 1024 {
            return Err(bad());
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
        let cursor: Self = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        let key_fits = matches!(
            (&cursor.sort, &cursor.key),
            (Sort::Relevance, SortKey::Relevance(..))
                | (Sort::PriceAsc | Sort::PriceDesc, SortKey::Price(_))
                | (Sort::Name, SortKey::Name(_))
                | (Sort::Newest, SortKey::Newest(_))
        );
        if cursor.sort != sort || !key_fits {
            return Err(FieldError::new(
                "cursor",
                "belongs to a different sort order; start again without it",
            ));
        }
        if cursor.filters != filters {
            return Err(FieldError::new(
                "cursor",
                "was issued for different filters; start again without it",
            ));
        }
        Ok(cursor)
    }
}

/// A validated listing request.
#[derive(Debug, Clone)]
pub struct ListQuery {
    /// Search words, when `q` was given.
    pub terms: Option<SearchTerms>,
    /// Category filter.
    pub category: Option<CategorySlug>,
    /// Brand filter.
    pub brand: Option<Brand>,
    /// Lowest price.
    pub min_price: Option<i64>,
    /// Highest price.
    pub max_price: Option<i64>,
    /// Sort order.
    pub sort: Sort,
    /// Page size.
    pub limit: u32,
    /// Where to start.
    pub cursor: Option<Cursor>,
    /// Fingerprint of the filters, carried by the cursors of this listing.
    pub filters: u64,
}

/// FNV-1a over the filter values: stable across builds, so cursors survive a server upgrade.
fn fingerprint(params: &ListParams) -> u64 {
    let text = format!(
        "{:?}|{:?}|{:?}|{:?}|{:?}",
        params.q.as_deref().map(str::trim),
        params.category,
        params.brand,
        params.min_price,
        params.max_price
    );
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl ListQuery {
    /// Default page size.
    pub const DEFAULT_LIMIT: u32 = 20;
    /// Largest page size.
    pub const MAX_LIMIT: u32 = 100;

    /// Validates raw parameters.
    pub fn parse(params: &ListParams) -> Result<Self, FieldError> {
        let terms = params.q.as_deref().map(SearchTerms::parse).transpose()?;
        let category = params
            .category
            .as_deref()
            .map(|c| CategorySlug::parse("category", c))
            .transpose()?;
        let brand = params
            .brand
            .as_deref()
            .map(|b| Brand::parse("brand", b))
            .transpose()?;
        for (field, value) in [
            ("min_price", params.min_price),
            ("max_price", params.max_price),
        ] {
            if let Some(v) = value
                && !(0..=Money::MAX_PRICE).contains(&v)
            {
                return Err(FieldError::new(
                    field,
                    format!("must be between 0 and {}", Money::MAX_PRICE),
                ));
            }
        }
        if let (Some(min), Some(max)) = (params.min_price, params.max_price)
            && min > max
        {
            return Err(FieldError::new(
                "min_price",
                "must not be greater than max_price",
            ));
        }
        let sort = match params.sort.as_deref() {
            None | Some("") => {
                if terms.is_some() {
                    Sort::Relevance
                } else {
                    Sort::Newest
                }
            }
            // Relevance without a query has nothing to rank by: newest is the sensible order.
            Some("relevance") if terms.is_none() => Sort::Newest,
            Some(s) => {
                serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(|_| {
                    FieldError::new(
                        "sort",
                        "must be one of relevance, newest, price_asc, price_desc, name",
                    )
                })?
            }
        };
        let limit = params.limit.unwrap_or(Self::DEFAULT_LIMIT);
        if !(1..=Self::MAX_LIMIT).contains(&limit) {
            return Err(FieldError::new(
                "limit",
                format!("must be between 1 and {}", Self::MAX_LIMIT),
            ));
        }
        let filters = fingerprint(params);
        let cursor = params
            .cursor
            .as_deref()
            .map(|c| Cursor::decode(c, sort, filters))
            .transpose()?;
        Ok(Self {
            terms,
            category,
            brand,
            min_price: params.min_price,
            max_price: params.max_price,
            sort,
            limit,
            cursor,
            filters,
        })
    }
}

/// One facet value and how many matching products have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FacetCount {
    /// Category slug or brand.
    pub value: String,
    /// Matching products.
    pub count: i64,
}

/// Facet counts over the whole filtered result (not just the page).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, ToSchema)]
pub struct Facets {
    /// By category.
    pub category: Vec<FacetCount>,
    /// By brand (the 50 most frequent).
    pub brand: Vec<FacetCount>,
}

/// One page of a listing.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Cursor for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    /// Matching products in total.
    pub total: i64,
    /// Facet counts over all matching products.
    pub facets: Facets,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_tampering() {
        let cursor = Cursor {
            sort: Sort::PriceAsc,
            key: SortKey::Price(1999),
            id: Uuid::now_v7(),
            filters: 7,
        };
        let text = cursor.encode();
        assert_eq!(Cursor::decode(&text, Sort::PriceAsc, 7).unwrap(), cursor);
        assert!(Cursor::decode(&text, Sort::Name, 7).is_err());
        assert!(
            Cursor::decode(&text, Sort::PriceAsc, 8).is_err(),
            "other filters"
        );
        assert!(Cursor::decode("not-a-cursor", Sort::PriceAsc, 7).is_err());
        assert!(
            Cursor::decode(
                &URL_SAFE_NO_PAD.encode(b"{\"s\":\"name\",\"k\":5,\"id\":\"x\"}"),
                Sort::Name,
                7
            )
            .is_err()
        );
    }

    #[test]
    fn limits_and_prices_are_checked() {
        let parse = |p: ListParams| ListQuery::parse(&p).map_err(|e| e.field);
        assert_eq!(
            parse(ListParams {
                limit: Some(0),
                ..Default::default()
            })
            .unwrap_err(),
            "limit"
        );
        assert_eq!(
            parse(ListParams {
                limit: Some(101),
                ..Default::default()
            })
            .unwrap_err(),
            "limit"
        );
        assert_eq!(
            parse(ListParams {
                min_price: Some(-1),
                ..Default::default()
            })
            .unwrap_err(),
            "min_price"
        );
        assert_eq!(
            parse(ListParams {
                min_price: Some(10),
                max_price: Some(5),
                ..Default::default()
            })
            .unwrap_err(),
            "min_price"
        );
        assert_eq!(
            parse(ListParams {
                sort: Some("cheap".into()),
                ..Default::default()
            })
            .unwrap_err(),
            "sort"
        );
        let q = ListQuery::parse(&ListParams {
            q: Some("shoe".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(q.sort, Sort::Relevance);
    }
}
