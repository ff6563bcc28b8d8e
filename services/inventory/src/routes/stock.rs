//! `/api/inventory/{sku}`: stock for anyone; adjustments for admins, audited. And
//! `/api/inventory/low-stock` for admins: which SKUs the `inventory_low_stock_skus` gauge counts.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use shopctl_kit::{
    ApiError, AppJson, AppQuery,
    audit::{AuditEvent, Outcome},
    auth::{AdminOnly, Authorized},
    db::StoreError,
    json::AppPath,
};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::AppState;
use crate::domain::{Adjustment, Sku, StockLevel};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_stock))
        .routes(routes!(adjust_stock))
        // A static segment wins over `{sku}` whatever the order, so `low-stock` is never read as
        // a SKU here; the SKU `LOW-STOCK` stays readable as `/api/inventory/LOW-STOCK`.
        .routes(routes!(list_low_stock))
}

/// Body of `POST /api/inventory/{sku}/adjust`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AdjustInput {
    delta: i64,
    reason: String,
}

fn sku(value: &str) -> Result<Sku, ApiError> {
    Sku::parse(value).map_err(|e| ApiError::bad_param("sku", e.detail))
}

/// Stock of one SKU.
#[utoipa::path(get, path = "/api/inventory/{sku}", tag = "inventory",
    params(("sku" = String, Path, description = "SKU")),
    responses(
        (status = 200, body = StockLevel),
        (status = 404, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
    ))]
async fn get_stock(
    State(state): State<AppState>,
    AppPath(raw): AppPath<String>,
) -> Result<AppJson<StockLevel>, ApiError> {
    let sku = sku(&raw)?;
    match state.store.stock(sku.as_ref()).await {
        Ok(level) => Ok(AppJson(level)),
        Err(StoreError::NotFound) => Err(ApiError::not_found(format!(
            "no stock is kept for {}",
            sku.as_ref()
        ))),
        Err(other) => Err(other.into()),
    }
}

/// Change on-hand stock (admin). A positive delta creates the SKU's stock if it had none; the
/// result can never drop below what is reserved.
#[utoipa::path(post, path = "/api/inventory/{sku}/adjust", tag = "inventory",
    params(("sku" = String, Path, description = "SKU")),
    request_body = AdjustInput, security(("bearer" = [])),
    responses(
        (status = 200, body = StockLevel),
        (status = 404, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
        (status = 409, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
        (status = 422, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
    ))]
async fn adjust_stock(
    Authorized(admin, ..): Authorized<AdminOnly>,
    State(state): State<AppState>,
    AppPath(raw): AppPath<String>,
    AppJson(input): AppJson<AdjustInput>,
) -> Result<AppJson<StockLevel>, ApiError> {
    let sku = sku(&raw)?;
    let adjustment = Adjustment::parse(input.delta, &input.reason)?;
    let result = state
        .store
        .adjust(
            sku.as_ref(),
            &adjustment,
            &admin.subject,
            chrono::Utc::now(),
        )
        .await;
    let (outcome, answer) = match result {
        Ok(Some(level)) => (Outcome::Success, Ok(level)),
        Ok(None) => (
            Outcome::Denied,
            Err(ApiError::conflict(format!(
                "removing {} units would leave {} with less than is reserved",
                -adjustment.delta,
                sku.as_ref()
            ))),
        ),
        Err(StoreError::NotFound) => (
            Outcome::Denied,
            Err(ApiError::not_found(format!(
                "no stock is kept for {}; add some with a positive delta",
                sku.as_ref()
            ))),
        ),
        Err(other) => return Err(other.into()),
    };
    let event = AuditEvent {
        actor: admin.subject.clone(),
        action: "stock_adjustment".to_owned(),
        target: Some(sku.as_ref().to_owned()),
        outcome,
        details: serde_json::json!({"delta": adjustment.delta, "reason": adjustment.reason}),
    };
    if let Err(err) = state.audit.append(event).await {
        tracing::error!(error = %err, "audit log write failed");
    }
    answer.map(AppJson)
}

/// Length of the low-stock list when `limit` is not given.
const DEFAULT_LIMIT: u32 = 20;
/// Longest low-stock list.
const MAX_LIMIT: u32 = 200;

/// Query of `GET /api/inventory/low-stock`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct LowStockParams {
    /// How many SKUs at most, 1–200 (default 20).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
}

impl LowStockParams {
    fn limit(&self) -> Result<i64, ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::bad_param(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            ));
        }
        Ok(i64::from(limit))
    }
}

/// Answer of `GET /api/inventory/low-stock`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LowStock {
    /// The service's `low_stock_threshold`: a SKU with at most this many available units is low.
    threshold: i64,
    /// The low SKUs, fewest available units first, then by SKU.
    skus: Vec<StockLevel>,
}

/// The SKUs at or below the low-stock threshold of available units (admin): the ones the
/// `inventory_low_stock_skus` gauge counts, fewest available first, then by SKU.
#[utoipa::path(get, path = "/api/inventory/low-stock", tag = "inventory",
    params(LowStockParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = LowStock),
        (status = 400, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
        (status = 403, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
    ))]
async fn list_low_stock(
    _admin: Authorized<AdminOnly>,
    State(state): State<AppState>,
    AppQuery(params): AppQuery<LowStockParams>,
) -> Result<AppJson<LowStock>, ApiError> {
    let limit = params.limit()?;
    let threshold = state.settings.low_stock_threshold;
    let skus = state.store.low_stock(threshold, limit).await?;
    Ok(AppJson(LowStock { threshold, skus }))
}
