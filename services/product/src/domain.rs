//! Catalog domain types. Each newtype parses untrusted input once (`parse`) and is valid from
//! then on; a failure is a [`FieldError`] that names the field, which becomes a 422 or 400.

mod category;
mod list_query;
mod product;
mod search;
pub mod seed;
mod text;

pub use category::{Category, CategoryCount, CategorySlug, NewCategory};
pub use list_query::{Cursor, FacetCount, Facets, ListParams, ListQuery, Page, Sort, SortKey};
pub use product::{Attributes, Brand, ImageUrl, NewProduct, Product, ProductName};
pub use search::SearchTerms;
pub use text::Description;

pub use shopctl_kit::vocabulary::{Currency, FieldError, Money, Sku};
