//! Administration: list accounts, change roles.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::json;
use shopctl_kit::{
    ApiError, AppJson, AppQuery,
    audit::Outcome,
    auth::{AdminOnly, Authorized, Role},
    json::AppPath,
};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{AppState, sessions::audit};
use crate::{domain::User, error};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users))
        .routes(routes!(set_roles))
}

/// Query of `GET /api/users`.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListParams {
    /// Page size, 1–100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// A page of accounts.
#[derive(Serialize, ToSchema)]
pub(crate) struct UserPage {
    items: Vec<User>,
    next_cursor: Option<String>,
}

/// Body of `PUT /api/users/{id}/roles`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RolesInput {
    #[schema(value_type = Vec<String>)]
    roles: Vec<Role>,
}

/// List accounts (admin).
#[utoipa::path(get, path = "/api/users", tag = "admin", params(ListParams), security(("bearer" = [])),
    responses((status = 200, body = UserPage), (status = 403, body = shopctl_kit::error::Problem, content_type = "application/problem+json")))]
async fn list_users(
    _admin: Authorized<AdminOnly>,
    State(state): State<AppState>,
    AppQuery(params): AppQuery<ListParams>,
) -> Result<AppJson<UserPage>, ApiError> {
    let limit = params.limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::bad_param("limit", "must be between 1 and 100"));
    }
    let after = params
        .cursor
        .as_deref()
        .map(|c| {
            c.parse::<Uuid>()
                .map_err(|_| ApiError::bad_param("cursor", "is not a cursor of this listing"))
        })
        .transpose()?;
    let mut items = state.store.list_users(after, limit + 1).await?;
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next_cursor = if more {
        items.last().map(|u| u.id.to_string())
    } else {
        None
    };
    Ok(AppJson(UserPage { items, next_cursor }))
}

/// Replace an account's roles (admin).
#[utoipa::path(put, path = "/api/users/{id}/roles", tag = "admin", request_body = RolesInput,
    params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = User), (status = 404, body = shopctl_kit::error::Problem, content_type = "application/problem+json")))]
async fn set_roles(
    Authorized(admin, ..): Authorized<AdminOnly>,
    State(state): State<AppState>,
    AppPath(id): AppPath<String>,
    AppJson(input): AppJson<RolesInput>,
) -> Result<AppJson<User>, ApiError> {
    let id: Uuid = id
        .parse()
        .map_err(|_| ApiError::bad_param("id", "must be an account UUID"))?;
    if input.roles.is_empty() || input.roles.contains(&Role::Service) {
        return Err(ApiError::validation(
            "roles",
            "must name one or more of customer, support, admin",
        ));
    }
    let mut roles = input.roles;
    roles.sort_by_key(|r| format!("{r:?}"));
    roles.dedup();
    let user = state
        .store
        .set_roles(id, &roles)
        .await
        .map_err(error::account)?;
    audit(
        &state,
        &admin.subject,
        "role_change",
        Some(id.to_string()),
        Outcome::Success,
        json!({"roles": roles}),
    )
    .await;
    Ok(AppJson(user))
}
