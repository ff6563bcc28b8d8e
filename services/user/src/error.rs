//! How identity store errors read to a client.

use shopctl_kit::{ApiError, db::StoreError};

/// The one answer to every failed sign-in: it never says whether the address exists, whether
/// the password was wrong or whether the account is locked.
pub(crate) fn invalid_credentials() -> ApiError {
    ApiError::Unauthorized
}

/// Maps a store error on an account to the client-facing error.
pub(crate) fn account(err: StoreError) -> ApiError {
    match err {
        StoreError::NotFound => ApiError::not_found("no such account"),
        StoreError::UniqueViolation { .. } => ApiError::conflict(
            "an account with this e-mail address already exists; sign in instead",
        ),
        other @ (StoreError::ForeignKeyViolation | StoreError::Db(_)) => other.into(),
    }
}
