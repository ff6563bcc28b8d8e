//! How payment store errors and refused state changes read to a client.

use shopctl_kit::{ApiError, db::StoreError};

use crate::domain::Status;

/// The header carrying the caller's idempotency key.
pub(crate) const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// Maps a store error on one payment to the client-facing error.
pub(crate) fn payment(err: StoreError) -> ApiError {
    match err {
        StoreError::NotFound => not_found(),
        other @ (StoreError::UniqueViolation { .. }
        | StoreError::ForeignKeyViolation
        | StoreError::Db(_)) => other.into(),
    }
}

/// The answer for a payment that does not exist or that the caller may not see: the same, so
/// that ids cannot be probed.
pub(crate) fn not_found() -> ApiError {
    ApiError::not_found("no payment with this id")
}

/// An idempotency key presented again with a different request.
pub(crate) fn key_reused() -> ApiError {
    ApiError::validation(
        IDEMPOTENCY_KEY,
        "was already used for a different payment request; use a new key for a new request",
    )
}

/// A state change the payment's status does not allow.
pub(crate) fn refused(action: &str, status: Status) -> ApiError {
    let hint = if action == "void" && status.can_refund() {
        "; refund it instead"
    } else {
        ""
    };
    ApiError::conflict(format!("cannot {action} a payment that is {status}{hint}"))
}
