//! How inventory store errors read to a client.

use shopctl_kit::ApiError;

use crate::store::{ReserveError, TransitionError};

/// A refused reservation: 409 naming the SKU that fell short.
pub(crate) fn reserve(err: ReserveError) -> ApiError {
    match err {
        ReserveError::Insufficient { sku } => {
            ApiError::conflict(format!("not enough stock of {sku}: nothing was reserved"))
        }
        ReserveError::Mismatch(order) => ApiError::conflict(format!(
            "order {order} already holds a reservation with other lines"
        )),
        ReserveError::Store(err) => err.into(),
    }
}

/// A refused confirm or release.
pub(crate) fn transition(err: TransitionError) -> ApiError {
    match err {
        TransitionError::NotFound => ApiError::not_found("no reservation for this order"),
        TransitionError::Invalid(state) => {
            ApiError::conflict(format!("the reservation is already {}", state.as_str()))
        }
        TransitionError::Store(err) => err.into(),
    }
}
