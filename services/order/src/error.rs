//! How order store errors read to a client.

use shopctl_kit::{ApiError, db::StoreError};

/// An order that does not exist, or is not the caller's: the same 404 either way.
pub(crate) fn not_found() -> ApiError {
    ApiError::not_found("no such order")
}

/// Maps a store error from an order read.
pub(crate) fn order(err: StoreError) -> ApiError {
    match err {
        StoreError::NotFound => not_found(),
        other => other.into(),
    }
}
