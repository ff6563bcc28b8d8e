//! `/api/orders`: checkout (with `Idempotency-Key`), history and detail for the owner, and for
//! support and admins every order, its saga log, and cancellation.

use std::time::Duration;

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use shopctl_kit::{
    ApiError, AppJson, AppQuery,
    auth::{AnyUser, Authorized, Principal, Role, UserOrService},
    db::StoreError,
    http::Deadline,
    json::AppPath,
};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{AppState, catalog_item};
use crate::{
    domain::{Line, Order, OrderStatus, ShippingAddress, Totals, saga::Outcome},
    error,
    store::{NewOrder, OrderFilter},
};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(checkout, list_orders))
        .routes(routes!(get_order))
        .routes(routes!(cancel_order))
        .routes(routes!(saga_log))
}

/// Body of `POST /api/orders`. The card travels on to the payment service and is kept nowhere.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CheckoutInput {
    shipping_address: ShippingAddress,
    /// `{"card_number", "exp_month", "exp_year", "cvc"}`.
    #[schema(value_type = Object)]
    payment: Value,
}

/// Query of `GET /api/orders`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    /// Page size (1-100, default 20).
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<Uuid>,
    /// Only orders in this status.
    status: Option<String>,
    /// Support and admins: every customer's orders (`all`), or one customer's (a user id).
    customer: Option<String>,
    /// An order id or its first characters (as mails show them), or a SKU the order contains.
    q: Option<String>,
}

/// A page of orders.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OrderPage {
    items: Vec<Order>,
    next_cursor: Option<Uuid>,
}

/// Body of `POST /api/orders/{id}/cancel`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CancelInput {
    reason: Option<String>,
}

/// One entry of the saga log.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SagaStep {
    step: String,
    outcome: String,
    detail: Option<String>,
}

/// Support, admins, and platform services (reconciliation reads every order).
fn staff(principal: &Principal) -> bool {
    principal.has_role(Role::Support) || principal.has_role(Role::Service)
}

/// The order if the caller may see it: its owner, support and admins. 404 for anyone else.
async fn visible(state: &AppState, principal: &Principal, id: Uuid) -> Result<Order, ApiError> {
    let order = state.store.order(id).await.map_err(error::order)?;
    if order.user_id == principal.subject || staff(principal) {
        Ok(order)
    } else {
        Err(error::not_found())
    }
}

fn idempotency_key(headers: &HeaderMap) -> Result<String, ApiError> {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or_default();
    if key.is_empty() || key.len() > 200 {
        return Err(ApiError::bad_param(
            "Idempotency-Key",
            "send an Idempotency-Key header (1-200 characters, e.g. a UUID) so a retried checkout cannot order twice",
        ));
    }
    Ok(key.to_owned())
}

/// What identifies a checkout request without keeping card data: the address and the card's
/// last four digits and expiry.
fn fingerprint(user: &str, address: &ShippingAddress, payment: &Value) -> String {
    let number = match &payment["card_number"] {
        Value::String(s) => s.chars().filter(char::is_ascii_digit).collect::<String>(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    let last4 = &number[number.len().saturating_sub(4)..];
    let canonical = serde_json::json!({
        "user": user,
        "address": address,
        "last4": last4,
        "exp_month": payment["exp_month"],
        "exp_year": payment["exp_year"],
    });
    let digest = Sha256::digest(canonical.to_string().as_bytes());
    digest.iter().fold(String::with_capacity(64), |mut out, b| {
        use std::fmt::Write as _;
        let _ = write!(out, "{b:02x}");
        out
    })
}

fn replay(
    order: Order,
    stored: &str,
    fingerprint: &str,
) -> Result<(StatusCode, AppJson<Order>), ApiError> {
    if stored == fingerprint {
        Ok((StatusCode::OK, AppJson(order)))
    } else {
        Err(ApiError::validation(
            "Idempotency-Key",
            "was already used for a different checkout; use a new key for a new order",
        ))
    }
}

/// The caller's cart priced from the catalog (names and prices never come from the client).
async fn price_cart(state: &AppState, user: &str) -> Result<(Vec<Line>, Totals), ApiError> {
    let cart = state.store.cart(user).await?;
    if cart.is_empty() {
        return Err(ApiError::validation(
            "cart",
            "is empty; add something first",
        ));
    }
    let mut lines = Vec::with_capacity(cart.len());
    let mut currency: Option<String> = None;
    for item in &cart {
        let Some(product) = catalog_item(state, &item.sku).await?.filter(|p| p.active) else {
            return Err(ApiError::conflict(format!(
                "{} is no longer for sale; remove it from the cart",
                item.sku
            )));
        };
        if currency.get_or_insert_with(|| product.price.currency.clone()) != &product.price.currency
        {
            return Err(ApiError::conflict(
                "the cart mixes currencies; check out one currency at a time",
            ));
        }
        lines.push(Line {
            sku: product.sku,
            name: product.name,
            quantity: item.quantity,
            unit_price: product.price,
        });
    }
    let currency = currency.unwrap_or_else(|| "USD".to_owned());
    let priced: Vec<(i64, i64)> = lines
        .iter()
        .map(|l| (l.unit_price.amount, l.quantity))
        .collect();
    let totals = state
        .pricing
        .totals(&currency, &priced)
        .ok_or_else(|| ApiError::validation("cart", "the total is too large"))?;
    Ok((lines, totals))
}

fn count(state: &AppState, result: &'static str) {
    state
        .checkouts
        .get_or_create(&vec![("result", result)])
        .inc();
}

/// How long before the request deadline a checkout stops waiting for its saga and answers 202.
const ANSWER_MARGIN: Duration = Duration::from_secs(1);

/// Check out the cart: prices from the catalog, stock reserved, card authorized and captured.
/// The same `Idempotency-Key` with the same request returns the same order (200); with a
/// different request, 422. Out of stock is a 409 and nothing is charged; a declined card gives
/// the order in `cancelled` with the reason.
#[utoipa::path(post, path = "/api/orders", tag = "orders", request_body = CheckoutInput,
    params(("Idempotency-Key" = String, Header, description = "Unique per checkout attempt")),
    security(("bearer" = [])),
    responses(
        (status = 201, body = Order),
        (status = 200, body = Order, description = "A repeat of an earlier checkout"),
        (status = 202, body = Order, description = "Accepted; still being processed"),
        (status = 400, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
        (status = 409, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
        (status = 422, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
    ))]
async fn checkout(
    Authorized(user, ..): Authorized<AnyUser>,
    State(state): State<AppState>,
    deadline: Deadline,
    headers: HeaderMap,
    AppJson(input): AppJson<CheckoutInput>,
) -> Result<(StatusCode, AppJson<Order>), ApiError> {
    let key = idempotency_key(&headers)?;
    let address = input.shipping_address.checked()?;
    if !input.payment.is_object() {
        return Err(ApiError::validation(
            "payment",
            "must hold card_number, exp_month, exp_year and cvc",
        ));
    }
    let fingerprint = fingerprint(&user.subject, &address, &input.payment);
    if let Some((order, stored)) = state.store.order_by_key(&user.subject, &key).await? {
        count(&state, "replayed");
        return replay(order, &stored, &fingerprint);
    }

    let (lines, totals) = price_cart(&state, &user.subject).await?;
    let new = NewOrder {
        id: Uuid::now_v7(),
        user_id: user.subject.clone(),
        lines,
        subtotal: totals.subtotal.amount,
        tax: totals.tax.amount,
        shipping: totals.shipping.amount,
        total: totals.total.amount,
        currency: totals.total.currency.clone(),
        address,
        idempotency_key: key.clone(),
        fingerprint: fingerprint.clone(),
    };
    let order = match state.store.create_order(&new).await {
        Ok(order) => order,
        // A concurrent request with the same key won the insert: answer as a replay.
        Err(StoreError::UniqueViolation { .. }) => {
            let (order, stored) = state
                .store
                .order_by_key(&user.subject, &key)
                .await?
                .ok_or(StoreError::NotFound)?;
            count(&state, "replayed");
            return replay(order, &stored, &fingerprint);
        }
        Err(other) => return Err(other.into()),
    };
    // The saga runs on its own task, so the request deadline never cuts it off half-way: if it
    // has not ended a moment before the deadline, the client gets the order as it stands (202)
    // and the saga carries on; the resumer picks it up should this process die.
    let id = order.id;
    let saga = state.saga.clone();
    // The saga may outlive the request: it keeps the request's trace (its calls and events are
    // part of the checkout's) and its span (its lines are the checkout's).
    // A backup's pause waits for the saga, not only for this request.
    let busy = state.maintenance.hold();
    let running = shopctl_kit::trace::propagate(async move {
        let outcome = saga.checkout(&order, &input.payment).await;
        drop(busy);
        outcome
    });
    let mut running = tokio::spawn(tracing::Instrument::in_current_span(running));
    let outcome =
        match tokio::time::timeout(deadline.remaining_less(ANSWER_MARGIN), &mut running).await {
            Ok(joined) => joined
                .map_err(|e| ApiError::Internal(e.into()))?
                .map_err(|e| ApiError::Internal(e.into()))?,
            Err(_) => Outcome::Pending(state.store.order(id).await?),
        };
    match outcome {
        Outcome::Confirmed(order) => {
            count(&state, "confirmed");
            Ok((StatusCode::CREATED, AppJson(order)))
        }
        Outcome::Declined(order) => {
            count(&state, "declined");
            Ok((StatusCode::CREATED, AppJson(order)))
        }
        Outcome::Pending(order) => {
            count(&state, "pending");
            Ok((StatusCode::ACCEPTED, AppJson(order)))
        }
        Outcome::Refused {
            status,
            detail,
            field,
        } => {
            // A cart or card the shop refused is the customer's outcome; an upstream that
            // could not answer is the shop's failure, and alerts count it apart.
            count(
                &state,
                if matches!(status, 409 | 422) {
                    "refused"
                } else {
                    "failed"
                },
            );
            Err(match (status, field) {
                (409, _) => ApiError::conflict(detail),
                (422, Some(field)) => ApiError::validation(field, detail),
                (422, None) => ApiError::validation("payment", detail),
                _ => ApiError::Unavailable { detail },
            })
        }
    }
}

/// The caller's orders, newest first; support and admins may list everyone's
/// (`customer=all`) or one customer's (`customer=<user id>`).
#[utoipa::path(get, path = "/api/orders", tag = "orders", params(ListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = OrderPage),
        (status = 400, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
    ))]
async fn list_orders(
    Authorized(user, ..): Authorized<UserOrService>,
    State(state): State<AppState>,
    AppQuery(query): AppQuery<ListQuery>,
) -> Result<AppJson<OrderPage>, ApiError> {
    let limit = query.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::bad_param("limit", "must be 1-100"));
    }
    let status = match query.status.as_deref() {
        None => None,
        Some(s) => Some(OrderStatus::parse(s).ok_or_else(|| {
            ApiError::bad_param(
                "status",
                "must be pending, confirmed, cancelled, shipped or delivered",
            )
        })?),
    };
    let customer = match query.customer.as_deref() {
        None => Some(user.subject.as_str()),
        Some(_) if !staff(&user) => {
            return Err(ApiError::Forbidden {
                detail: "only support and admins list other customers' orders".to_owned(),
            });
        }
        Some("all") => None,
        Some(other) => Some(other),
    };
    let search = match query.q.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(q)
            if q.len() <= 64
                && q.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            Some(q.to_owned())
        }
        Some(_) => {
            return Err(ApiError::bad_param(
                "q",
                "must be an order id (or its beginning) or a SKU: letters, digits, '-' or '_'",
            ));
        }
    };
    let filter = OrderFilter {
        user: customer.map(str::to_owned),
        status,
        search,
    };
    let mut items = state.store.orders(&filter, query.cursor, limit + 1).await?;
    let next_cursor = if items.len() > usize::try_from(limit).unwrap_or(usize::MAX) {
        items.pop();
        items.last().map(|o| o.id)
    } else {
        None
    };
    Ok(AppJson(OrderPage { items, next_cursor }))
}

/// One order: its owner, support and admins see it; anyone else gets 404.
#[utoipa::path(get, path = "/api/orders/{id}", tag = "orders",
    params(("id" = Uuid, Path, description = "Order id")), security(("bearer" = [])),
    responses(
        (status = 200, body = Order),
        (status = 404, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
    ))]
async fn get_order(
    Authorized(user, ..): Authorized<AnyUser>,
    State(state): State<AppState>,
    AppPath(id): AppPath<Uuid>,
) -> Result<AppJson<Order>, ApiError> {
    Ok(AppJson(visible(&state, &user, id).await?))
}

/// Cancel an order (owner, support, admin): the stock is released and the payment voided, or a
/// confirmed order refunded. 409 once shipped or already cancelled.
#[utoipa::path(post, path = "/api/orders/{id}/cancel", tag = "orders",
    params(("id" = Uuid, Path, description = "Order id")), request_body = CancelInput,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Order),
        (status = 404, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
        (status = 409, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
    ))]
async fn cancel_order(
    Authorized(user, ..): Authorized<AnyUser>,
    State(state): State<AppState>,
    AppPath(id): AppPath<Uuid>,
    body: axum::body::Bytes,
) -> Result<AppJson<Order>, ApiError> {
    // The body is optional: no body cancels with the default reason.
    let input: CancelInput = if body.iter().all(u8::is_ascii_whitespace) {
        CancelInput::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::MalformedJson {
            detail: format!("the body is not a cancellation: {e}"),
        })?
    };
    let order = visible(&state, &user, id).await?;
    if !order.status.cancellable() {
        return Err(ApiError::conflict(format!(
            "the order is {} and can no longer be cancelled",
            order.status.as_str()
        )));
    }
    let reason = input
        .reason
        .map(|r| r.trim().chars().take(200).collect::<String>())
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| {
            if staff(&user) && order.user_id != user.subject {
                "cancelled by customer support".to_owned()
            } else {
                "cancelled by the customer".to_owned()
            }
        });
    let cancelled = state
        .saga
        .cancel(id, &reason)
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    if !cancelled {
        return Err(ApiError::conflict(
            "the order is being processed or has ended; try again shortly",
        ));
    }
    Ok(AppJson(state.store.order(id).await.map_err(error::order)?))
}

/// The checkout saga's step log of an order (support and admins).
#[utoipa::path(get, path = "/api/orders/{id}/saga", tag = "orders",
    params(("id" = Uuid, Path, description = "Order id")), security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<SagaStep>),
        (status = 404, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
    ))]
async fn saga_log(
    Authorized(user, ..): Authorized<AnyUser>,
    State(state): State<AppState>,
    AppPath(id): AppPath<Uuid>,
) -> Result<AppJson<Vec<SagaStep>>, ApiError> {
    if !staff(&user) {
        return Err(error::not_found());
    }
    state.store.order(id).await.map_err(error::order)?;
    let steps = state.store.steps(id).await?;
    Ok(AppJson(
        steps
            .into_iter()
            .map(|(step, outcome, detail)| SagaStep {
                step,
                outcome,
                detail,
            })
            .collect(),
    ))
}
