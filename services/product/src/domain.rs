//! Catalog domain types. Each newtype parses untrusted input once (`parse`) and is valid from
//! then on; a failure is a [`FieldError`] that names the field, which becomes a 422 or 400.

mod category;
mod list_query;
mod money;
mod product;
mod search;
mod text;

pub use category::{Category, CategoryCount, CategorySlug, NewCategory};
pub use list_query::{Cursor, FacetCount, Facets, ListParams, ListQuery, Page, Sort, SortKey};
pub use money::{Currency, Money};
pub use product::{Attributes, Brand, ImageUrl, NewProduct, Product, ProductName, Sku};
pub use search::SearchTerms;
pub use text::Description;

/// A rejected value: which field, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Field path as the client sent it (`price.amount`).
    pub field: String,
    /// What is wrong.
    pub detail: String,
}

impl FieldError {
    /// A new error for `field`.
    pub fn new(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            detail: detail.into(),
        }
    }
}

impl From<FieldError> for shopctl_kit::ApiError {
    fn from(err: FieldError) -> Self {
        Self::validation(err.field, err.detail)
    }
}
