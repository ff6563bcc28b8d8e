//! How catalog store errors read to a client: which constraint means which field.

use shopctl_kit::{ApiError, db::StoreError};

/// Maps a store error from a product write to the client-facing error.
pub(crate) fn product_write(err: StoreError, sku: &str) -> ApiError {
    match err {
        StoreError::UniqueViolation { constraint } if constraint.contains("sku") => {
            ApiError::conflict(format!("a product with SKU `{sku}` already exists"))
        }
        StoreError::ForeignKeyViolation => ApiError::validation(
            "category",
            "no such category; create it first with POST /api/categories",
        ),
        StoreError::NotFound => ApiError::not_found("no product with this id"),
        other @ (StoreError::Db(_) | StoreError::UniqueViolation { .. }) => other.into(),
    }
}

/// Maps a store error from a category write.
pub(crate) fn category_write(err: StoreError, slug: &str) -> ApiError {
    match err {
        StoreError::UniqueViolation { .. } => {
            ApiError::conflict(format!("category `{slug}` already exists"))
        }
        StoreError::ForeignKeyViolation => ApiError::conflict(format!(
            "category `{slug}` still has products; move or delete them first"
        )),
        StoreError::NotFound => ApiError::not_found(format!("no category `{slug}`")),
        other @ StoreError::Db(_) => other.into(),
    }
}
