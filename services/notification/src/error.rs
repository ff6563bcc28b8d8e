//! How refusals read to a client. Every one is a kit [`ApiError`] (problem+json). On
//! `POST /internal/events` a 422 makes the producer's relay dead-letter the event at once (it can
//! never be accepted); a 503 makes it retry with backoff (it may be accepted later).

use shopctl_kit::ApiError;
use uuid::Uuid;

/// An order or payment event for a user this service has no contact for (yet): 503, so the
/// producer retries. Events of two producers race — an order can be confirmed before the
/// identity service's `user.registered` arrives — and after the retries run out the event is
/// dead-lettered at the producer, to be redriven.
pub(crate) fn no_contact(user_id: Uuid) -> ApiError {
    ApiError::Unavailable {
        detail: format!(
            "no contact is known for user {user_id} yet: its user.registered event has not \
             arrived (or the user was erased); retry later"
        ),
    }
}

/// A page size outside `1..=max`.
pub(crate) fn bad_limit(max: u32) -> ApiError {
    ApiError::bad_param("limit", format!("must be between 1 and {max}"))
}

/// A cursor that no page handed out.
pub(crate) fn bad_cursor() -> ApiError {
    ApiError::bad_param("cursor", "must be the `next_cursor` of a previous page")
}
