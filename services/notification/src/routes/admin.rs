//! `/api/notifications/…` for administrators: the dev mail catcher (`outbox`: the mails kept
//! because no SMTP server is configured) and the delivery log (`deliveries`: every mail that
//! left). Both are newest first, in keyset pages.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use shopctl_kit::{
    ApiError, AppJson, AppQuery,
    auth::{AdminOnly, Authorized},
};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::AppState;
use crate::{
    domain::{CaughtMail, DeliveryRecord},
    error,
    store::Page,
};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_caught_mail))
        .routes(routes!(list_deliveries))
}

/// Page size when `limit` is not given.
const DEFAULT_LIMIT: u32 = 50;
/// Largest page.
const MAX_LIMIT: u32 = 500;

/// Query of the admin lists.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListParams {
    /// Page size, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

impl ListParams {
    fn page(&self) -> Result<Page, ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(error::bad_limit(MAX_LIMIT));
        }
        let before = self
            .cursor
            .as_deref()
            .map(|cursor| Uuid::parse_str(cursor).map(|id| id.to_string()))
            .transpose()
            .map_err(|_| error::bad_cursor())?;
        Ok(Page {
            limit: i64::from(limit),
            before,
        })
    }
}

/// One page of a list: the items, and the cursor of the next page (`null` on the last).
#[derive(Serialize, ToSchema)]
pub(crate) struct List<T> {
    /// The items, newest first.
    items: Vec<T>,
    /// Cursor for the next page; `null` on the last page.
    next_cursor: Option<String>,
}

/// The cursor after a page of `len` items ending with `last_id`; `None` when the page is not
/// full, so it was the last.
fn next_cursor(page: &Page, len: usize, last_id: Option<&str>) -> Option<String> {
    let full = i64::try_from(len).is_ok_and(|n| n == page.limit);
    last_id.filter(|_| full).map(str::to_owned)
}

/// Mails the dev mail catcher kept, newest first (admin). Filled only while no `smtp_host` is
/// configured.
#[utoipa::path(get, path = "/api/notifications/outbox", tag = "notifications",
    params(ListParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = List<CaughtMail>),
        (status = 400, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
        (status = 403, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
    ))]
async fn list_caught_mail(
    _admin: Authorized<AdminOnly>,
    State(state): State<AppState>,
    AppQuery(params): AppQuery<ListParams>,
) -> Result<AppJson<List<CaughtMail>>, ApiError> {
    let page = params.page()?;
    let items = state.store.caught_mail(&page).await?;
    let next_cursor = next_cursor(&page, items.len(), items.last().map(|m| m.id.as_str()));
    Ok(AppJson(List { items, next_cursor }))
}

/// The delivery log: every mail that left (sent over SMTP or caught), newest first (admin).
/// Failed attempts are in the event outbox and dead letters (`shopctl events dlq`).
#[utoipa::path(get, path = "/api/notifications/deliveries", tag = "notifications",
    params(ListParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = List<DeliveryRecord>),
        (status = 400, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
        (status = 403, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
    ))]
async fn list_deliveries(
    _admin: Authorized<AdminOnly>,
    State(state): State<AppState>,
    AppQuery(params): AppQuery<ListParams>,
) -> Result<AppJson<List<DeliveryRecord>>, ApiError> {
    let page = params.page()?;
    let items = state.store.deliveries(&page).await?;
    let next_cursor = next_cursor(&page, items.len(), items.last().map(|d| d.id.as_str()));
    Ok(AppJson(List { items, next_cursor }))
}
