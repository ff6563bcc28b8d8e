//! `/api/payments/{id}` for people: the buyer (or support) reads a payment; support or an
//! administrator refunds it.

use axum::extract::State;
use serde::Deserialize;
use serde_json::json;
use shopctl_kit::{
    ApiError, AppJson,
    audit::{AuditEvent, Outcome},
    auth::{AnyUser, Authorized, Principal, Role, SupportAdminOrService},
    json::AppPath,
};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{AppState, parse_id};
use crate::{
    domain::{Money, Payment},
    error,
    store::NewRefund,
};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_payment))
        .routes(routes!(refund_payment))
}

/// Longest accepted refund reason, in characters.
const MAX_REASON: usize = 500;

/// Body of `POST /api/payments/{id}/refund`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RefundInput {
    /// How much to pay back, in the payment's currency; absent means everything not yet
    /// refunded.
    amount: Option<Money>,
    /// Why (kept with the refund).
    reason: String,
}

/// Whether `principal` may see `payment`: its buyer, support staff and administrators.
fn may_read(principal: &Principal, payment: &Payment) -> bool {
    principal.subject == payment.customer_id || principal.has_role(Role::Support)
}

/// A payment (its buyer, support or admin; anyone else is told it does not exist).
#[utoipa::path(get, path = "/api/payments/{id}", tag = "payments",
    params(("id" = Uuid, Path, description = "Payment id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Payment),
        (status = 401, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such payment, or not the caller's", body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
    ))]
async fn get_payment(
    Authorized(principal, ..): Authorized<AnyUser>,
    State(state): State<AppState>,
    AppPath(id): AppPath<String>,
) -> Result<AppJson<Payment>, ApiError> {
    let id: Uuid = parse_id(&id)?;
    let payment = state.load(id).await?;
    // 404 rather than 403: a stranger must not learn that the payment exists.
    if !may_read(&principal, &payment) {
        return Err(error::not_found());
    }
    Ok(AppJson(payment))
}

/// Refund part or all of a captured payment (support or admin). Concurrent refunds can never
/// pay back more than was captured.
#[utoipa::path(post, path = "/api/payments/{id}/refund", tag = "payments",
    params(("id" = Uuid, Path, description = "Payment id")),
    request_body = RefundInput,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Refunded; the payment is `partially_refunded` or `refunded`", body = Payment),
        (status = 403, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
        (status = 404, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The payment is not captured", body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid amount or more than is left to refund", body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
    ))]
async fn refund_payment(
    Authorized(principal, ..): Authorized<SupportAdminOrService>,
    State(state): State<AppState>,
    AppPath(id): AppPath<String>,
    AppJson(input): AppJson<RefundInput>,
) -> Result<AppJson<Payment>, ApiError> {
    let id: Uuid = parse_id(&id)?;
    let reason = input.reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON {
        return Err(ApiError::validation(
            "reason",
            format!("must say why, in 1 to {MAX_REASON} characters"),
        ));
    }
    let payment = state.load(id).await?;
    if !payment.status.can_refund() {
        return Err(error::refused("refund", payment.status));
    }
    let amount = if let Some(requested) = &input.amount {
        let requested = Money::parse_charge("amount", requested)?;
        if requested.currency != payment.amount.currency {
            return Err(ApiError::validation(
                "amount.currency",
                format!(
                    "must be the payment's currency, {}",
                    payment.amount.currency
                ),
            ));
        }
        requested.amount
    } else {
        payment.refundable()
    };
    if amount > payment.refundable() {
        return Err(too_much(&payment));
    }
    let refund = NewRefund {
        amount,
        reason: reason.to_owned(),
        actor: principal.subject.clone(),
    };
    let Some(refunded) = state.store.refund(id, &refund).await? else {
        // Another refund got there first: explain against the payment as it is now.
        let now = state.load(id).await?;
        return Err(if now.status.can_refund() {
            too_much(&now)
        } else {
            error::refused("refund", now.status)
        });
    };
    state.count("refunded");
    tracing::info!(payment_id = %id, amount, status = %refunded.status, "payment refunded");
    let event = AuditEvent {
        actor: principal.subject,
        action: "refund".to_owned(),
        target: Some(id.to_string()),
        outcome: Outcome::Success,
        details: json!({"amount": amount, "currency": refunded.amount.currency}),
    };
    if let Err(err) = state.audit.append(event).await {
        tracing::error!(error = %err, payment_id = %id, "audit log write failed");
    }
    Ok(AppJson(refunded))
}

fn too_much(payment: &Payment) -> ApiError {
    ApiError::validation(
        "amount.amount",
        format!(
            "is more than is left to refund: {} {}",
            payment.refundable(),
            payment.amount.currency
        ),
    )
}
