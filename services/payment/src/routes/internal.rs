//! `/internal/payments…` for the order service (service tokens only): authorize a card for an
//! order, capture or void the authorization, and list an order's payments for reconciliation.
//!
//! Authorization is idempotent per `Idempotency-Key`: the key is unique in the database, so of
//! any number of concurrent requests with one key exactly one payment is stored, and every
//! request gets that payment back. The simulated processor may be asked more than once in such
//! a race, which charges nothing: only the stored payment counts.

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
};
use serde::{Deserialize, Serialize};
use shopctl_kit::{
    ApiError, AppJson, AppQuery,
    auth::{Authorized, ServiceOnly},
    db::StoreError,
    json::AppPath,
};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{AppState, parse_id};
use crate::{
    domain::{CardSummary, Charge, Money, Outcome, Payment, Status, Transition, today},
    error::{self, IDEMPOTENCY_KEY},
    store::{KeyedPayment, NewPayment},
};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(authorize_payment, list_order_payments))
        .routes(routes!(capture_payment))
        .routes(routes!(void_payment))
}

/// Longest accepted idempotency key, in characters.
const MAX_KEY: usize = 200;

/// Body of `POST /internal/payments`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuthorizeInput {
    /// The order being paid for.
    order_id: Uuid,
    /// The buyer's user id (the subject of their access token).
    customer_id: String,
    /// How much to authorize.
    amount: Money,
    /// `{"card_number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}`;
    /// the number and code may be strings or numbers. Neither is ever stored, logged or echoed
    /// in an error.
    #[schema(value_type = Object)]
    card: serde_json::Value,
}

/// Query of `GET /internal/payments`.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct OrderQuery {
    /// The order whose payments to list.
    order_id: String,
}

/// An order's payments, oldest first (always one page).
#[derive(Serialize, ToSchema)]
pub(crate) struct PaymentList {
    items: Vec<Payment>,
    next_cursor: Option<String>,
}

/// The `Idempotency-Key` header: 1 to 200 characters of visible ASCII.
fn idempotency_key(headers: &HeaderMap) -> Result<String, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Err(ApiError::bad_param(
            IDEMPOTENCY_KEY,
            "is required: send a key unique to this payment attempt, and the same key on retries",
        ));
    };
    let key = value.to_str().map(str::trim).unwrap_or_default();
    if key.is_empty() || key.chars().count() > MAX_KEY {
        return Err(ApiError::bad_param(
            IDEMPOTENCY_KEY,
            format!("must be 1 to {MAX_KEY} characters of visible ASCII"),
        ));
    }
    Ok(key.to_owned())
}

/// The stored payment for a repeated key: the same payment when the request is the same.
fn replay(
    existing: KeyedPayment,
    fingerprint: &str,
) -> Result<(StatusCode, AppJson<Payment>), ApiError> {
    if existing.fingerprint == fingerprint {
        Ok((StatusCode::OK, AppJson(existing.payment)))
    } else {
        Err(error::key_reused())
    }
}

/// The payment to record for `charge` after the processor answered `outcome`.
fn new_payment(charge: &Charge, outcome: Outcome, key: String, fingerprint: String) -> NewPayment {
    let decline_code = outcome.decline_code();
    NewPayment {
        order_id: charge.order_id,
        customer_id: charge.customer_id.clone(),
        status: if decline_code.is_some() {
            Status::Declined
        } else {
            Status::Authorized
        },
        amount: charge.amount.clone(),
        card: CardSummary {
            brand: charge.card.number.brand().as_str().to_owned(),
            last4: charge.card.number.last4().to_owned(),
            exp_month: charge.card.expiry.month,
            exp_year: charge.card.expiry.year,
            // Random, so that it says nothing about the number.
            token: format!("tok_{}", Uuid::new_v4().simple()),
        },
        decline_code: decline_code.map(str::to_owned),
        idempotency_key: key,
        fingerprint,
    }
}

/// Authorize a card for an order (services only). A declined card is a stored payment too:
/// `201` with `status: declined` and a `decline_code`; the caller decides what follows. The same
/// `Idempotency-Key` with the same request returns the stored payment with `200`.
#[utoipa::path(post, path = "/internal/payments", tag = "internal",
    request_body = AuthorizeInput,
    params(("Idempotency-Key" = String, Header, description = "Unique per payment attempt; repeat it on retries")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Authorized or declined", body = Payment),
        (status = 200, description = "The payment already stored for this key", body = Payment),
        (status = 400, description = "Missing or malformed Idempotency-Key", body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a service token", body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field, or the key was used for a different request", body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
    ))]
async fn authorize_payment(
    Authorized(caller, ..): Authorized<ServiceOnly>,
    State(state): State<AppState>,
    headers: HeaderMap,
    AppJson(input): AppJson<AuthorizeInput>,
) -> Result<(StatusCode, AppJson<Payment>), ApiError> {
    let key = idempotency_key(&headers)?;
    let charge = Charge::parse(
        input.order_id,
        &input.customer_id,
        &input.amount,
        &input.card,
        today(),
    )?;
    let fingerprint = charge.fingerprint();
    if let Some(existing) = state.store.payment_by_idempotency_key(&key).await? {
        return replay(existing, &fingerprint);
    }
    let outcome = state.authorize(&charge.card.number).await;
    let new = new_payment(&charge, outcome, key, fingerprint);
    match state.store.insert_payment(&new).await {
        Ok(payment) => {
            state.count(if payment.status == Status::Declined {
                "declined"
            } else {
                "authorized"
            });
            tracing::info!(
                payment_id = %payment.id,
                order_id = %payment.order_id,
                caller = %caller.subject,
                status = %payment.status,
                amount = payment.amount.amount,
                currency = %payment.amount.currency,
                decline_code = payment.decline_code.as_deref().unwrap_or(""),
                "payment authorization stored"
            );
            Ok((StatusCode::CREATED, AppJson(payment)))
        }
        // A concurrent request with the same key won: answer with its payment.
        Err(StoreError::UniqueViolation { constraint })
            if constraint.contains("idempotency_key") =>
        {
            let winner = state
                .store
                .payment_by_idempotency_key(&new.idempotency_key)
                .await?
                .ok_or_else(|| {
                    ApiError::Internal(anyhow::anyhow!(
                        "idempotency key conflict without a stored payment"
                    ))
                })?;
            replay(winner, &new.fingerprint)
        }
        Err(other) => Err(other.into()),
    }
}

/// The payments of an order, for reconciliation (services only).
#[utoipa::path(get, path = "/internal/payments", tag = "internal",
    params(OrderQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = PaymentList),
        (status = 400, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
        (status = 403, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
    ))]
async fn list_order_payments(
    _service: Authorized<ServiceOnly>,
    State(state): State<AppState>,
    AppQuery(query): AppQuery<OrderQuery>,
) -> Result<AppJson<PaymentList>, ApiError> {
    let order_id: Uuid = query
        .order_id
        .parse()
        .map_err(|_| ApiError::bad_param("order_id", "must be an order UUID"))?;
    let items = state.store.payments_for_order(order_id).await?;
    Ok(AppJson(PaymentList {
        items,
        next_cursor: None,
    }))
}

/// Capture the whole authorized amount (services only). Capturing a captured payment again
/// answers it unchanged.
#[utoipa::path(post, path = "/internal/payments/{id}/capture", tag = "internal",
    params(("id" = Uuid, Path, description = "Payment id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Captured (now or before)", body = Payment),
        (status = 404, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Declined, voided or refunded", body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
    ))]
async fn capture_payment(
    _service: Authorized<ServiceOnly>,
    State(state): State<AppState>,
    AppPath(id): AppPath<String>,
) -> Result<AppJson<Payment>, ApiError> {
    settle(&state, &id, Settle::Capture).await.map(AppJson)
}

/// Release the authorization (services only). Voiding a voided or declined payment answers it
/// unchanged; a captured payment must be refunded instead.
#[utoipa::path(post, path = "/internal/payments/{id}/void", tag = "internal",
    params(("id" = Uuid, Path, description = "Payment id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Voided (now or before), or declined", body = Payment),
        (status = 404, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Captured: refund it instead", body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
    ))]
async fn void_payment(
    _service: Authorized<ServiceOnly>,
    State(state): State<AppState>,
    AppPath(id): AppPath<String>,
) -> Result<AppJson<Payment>, ApiError> {
    settle(&state, &id, Settle::Void).await.map(AppJson)
}

/// Where an authorization ends: captured, or released.
#[derive(Debug, Clone, Copy)]
enum Settle {
    Capture,
    Void,
}

impl Settle {
    /// What `status` makes of this change.
    fn transition(self, status: Status) -> Transition {
        match self {
            Self::Capture => status.capture(),
            Self::Void => status.void(),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Capture => "capture",
            Self::Void => "void",
        }
    }
}

/// Captures or voids payment `id` once: a payment already there is answered unchanged, one the
/// change cannot apply to is refused (409), and a payment that changed between the read and the
/// write (a concurrent capture or void) is answered for its new status.
async fn settle(state: &AppState, id: &str, change: Settle) -> Result<Payment, ApiError> {
    let id: Uuid = parse_id(id)?;
    let payment = state.load(id).await?;
    match change.transition(payment.status) {
        Transition::Unchanged => return Ok(payment),
        Transition::Refuse => return Err(error::refused(change.name(), payment.status)),
        Transition::Apply => {}
    }
    let changed = match change {
        Settle::Capture => state.store.capture(id).await?,
        Settle::Void => state.store.void(id).await?,
    };
    if let Some(changed) = changed {
        match change {
            Settle::Capture => {
                state.count("captured");
                let amount = changed.captured_amount.amount;
                tracing::info!(payment_id = %id, amount, "payment captured");
            }
            Settle::Void => {
                state.count("voided");
                tracing::info!(payment_id = %id, "payment voided");
            }
        }
        return Ok(changed);
    }
    let now = state.load(id).await?;
    match change.transition(now.status) {
        Transition::Unchanged => Ok(now),
        Transition::Apply | Transition::Refuse => Err(error::refused(change.name(), now.status)),
    }
}
