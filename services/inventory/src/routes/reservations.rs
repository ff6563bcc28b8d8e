//! `/internal/reservations…`: the order service holds, confirms and releases stock for an
//! order. Service tokens only (admins may read).

use axum::{extract::State, http::StatusCode};
use chrono::Utc;
use shopctl_kit::{
    ApiError, AppJson,
    auth::{Authorized, ServiceOnly},
    db::StoreError,
    json::AppPath,
};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::AppState;
use crate::{
    domain::{Reservation, ReservationView, ReserveRequest},
    error,
};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(reserve))
        .routes(routes!(get_reservation))
        .routes(routes!(confirm))
        .routes(routes!(release))
}

/// A transition's answer, counted under `result` when it went through.
fn answer(
    state: &AppState,
    view: Result<ReservationView, crate::store::TransitionError>,
    result: &'static str,
) -> Result<AppJson<ReservationView>, ApiError> {
    let view = view.map_err(error::transition)?;
    count(state, result);
    Ok(AppJson(view))
}

fn count(state: &AppState, result: &'static str) {
    state
        .reservations
        .get_or_create(&vec![("result", result)])
        .inc();
}

/// Hold every line for the order, or nothing (409 naming the SKU that fell short). Repeating
/// the request for the same order returns the same reservation.
#[utoipa::path(post, path = "/internal/reservations", tag = "reservations",
    request_body = ReserveRequest, security(("bearer" = [])),
    responses(
        (status = 201, body = ReservationView),
        (status = 409, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
        (status = 422, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
    ))]
async fn reserve(
    _service: Authorized<ServiceOnly>,
    State(state): State<AppState>,
    AppJson(request): AppJson<ReserveRequest>,
) -> Result<(StatusCode, AppJson<ReservationView>), ApiError> {
    let reservation = Reservation::parse(&request)?;
    let ttl = request
        .ttl_secs
        .unwrap_or(state.settings.reservation_ttl_secs);
    if ttl == 0 || ttl > state.settings.max_reservation_ttl_secs {
        return Err(ApiError::validation(
            "ttl_secs",
            format!(
                "must be 1-{} seconds",
                state.settings.max_reservation_ttl_secs
            ),
        ));
    }
    let now = Utc::now();
    let expires_at = now + chrono::Duration::seconds(i64::try_from(ttl).unwrap_or(i64::MAX));
    match state.store.reserve(&reservation, expires_at, now).await {
        Ok(view) => {
            count(&state, "held");
            Ok((StatusCode::CREATED, AppJson(view)))
        }
        Err(err) => {
            count(&state, "refused");
            Err(error::reserve(err))
        }
    }
}

/// The reservation of an order.
#[utoipa::path(get, path = "/internal/reservations/{order_id}", tag = "reservations",
    params(("order_id" = Uuid, Path, description = "Order id")), security(("bearer" = [])),
    responses(
        (status = 200, body = ReservationView),
        (status = 404, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
    ))]
async fn get_reservation(
    _service: Authorized<ServiceOnly>,
    State(state): State<AppState>,
    AppPath(order_id): AppPath<Uuid>,
) -> Result<AppJson<ReservationView>, ApiError> {
    match state.store.reservation(order_id).await {
        Ok(view) => Ok(AppJson(view)),
        Err(StoreError::NotFound) => Err(ApiError::not_found("no reservation for this order")),
        Err(other) => Err(other.into()),
    }
}

/// The order was paid: the held units leave the warehouse. Idempotent.
#[utoipa::path(post, path = "/internal/reservations/{order_id}/confirm", tag = "reservations",
    params(("order_id" = Uuid, Path, description = "Order id")), security(("bearer" = [])),
    responses(
        (status = 200, body = ReservationView),
        (status = 404, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
        (status = 409, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
    ))]
async fn confirm(
    _service: Authorized<ServiceOnly>,
    State(state): State<AppState>,
    AppPath(order_id): AppPath<Uuid>,
) -> Result<AppJson<ReservationView>, ApiError> {
    let view = state.store.confirm(order_id, Utc::now()).await;
    answer(&state, view, "confirmed")
}

/// The order was cancelled: the held units become available again. Idempotent.
#[utoipa::path(post, path = "/internal/reservations/{order_id}/release", tag = "reservations",
    params(("order_id" = Uuid, Path, description = "Order id")), security(("bearer" = [])),
    responses(
        (status = 200, body = ReservationView),
        (status = 404, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
        (status = 409, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
    ))]
async fn release(
    _service: Authorized<ServiceOnly>,
    State(state): State<AppState>,
    AppPath(order_id): AppPath<Uuid>,
) -> Result<AppJson<ReservationView>, ApiError> {
    let view = state.store.release(order_id, Utc::now()).await;
    answer(&state, view, "released")
}
