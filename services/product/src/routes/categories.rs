//! `/api/categories`: list with product counts; admins create and delete.

use axum::{extract::State, http::StatusCode, response::IntoResponse};
use serde::Deserialize;
use shopctl_kit::{
    ApiError, AppJson,
    auth::{AdminOnly, Authorized},
    json::AppPath,
};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::AppState;
use crate::{
    domain::{Category, CategoryCount, CategorySlug, NewCategory},
    error,
};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_categories, create_category))
        .routes(routes!(delete_category))
}

/// Body of `POST /api/categories`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CategoryInput {
    slug: String,
    name: String,
}

/// Every category with its number of active products.
#[utoipa::path(get, path = "/api/categories", tag = "categories",
    responses((status = 200, body = Vec<CategoryCount>)))]
async fn list_categories(
    State(state): State<AppState>,
) -> Result<AppJson<Vec<CategoryCount>>, ApiError> {
    Ok(AppJson(state.store.categories().await?))
}

/// Create a category (admin).
#[utoipa::path(post, path = "/api/categories", tag = "categories",
    request_body = CategoryInput, security(("bearer" = [])),
    responses(
        (status = 201, body = Category),
        (status = 409, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
        (status = 422, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
    ))]
async fn create_category(
    _admin: Authorized<AdminOnly>,
    State(state): State<AppState>,
    AppJson(input): AppJson<CategoryInput>,
) -> Result<impl IntoResponse, ApiError> {
    let category = NewCategory::parse(&input.slug, &input.name)?;
    let created = state
        .store
        .create_category(&category)
        .await
        .map_err(|e| error::category_write(e, category.slug.as_ref()))?;
    Ok((StatusCode::CREATED, AppJson(created)))
}

/// Delete an empty category (admin).
#[utoipa::path(delete, path = "/api/categories/{slug}", tag = "categories",
    params(("slug" = String, Path)), security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
        (status = 409, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
    ))]
async fn delete_category(
    _admin: Authorized<AdminOnly>,
    State(state): State<AppState>,
    AppPath(slug): AppPath<String>,
) -> Result<StatusCode, ApiError> {
    let slug =
        CategorySlug::parse("slug", &slug).map_err(|e| ApiError::bad_param(e.field, e.detail))?;
    state
        .store
        .delete_category(&slug)
        .await
        .map_err(|e| error::category_write(e, slug.as_ref()))?;
    Ok(StatusCode::NO_CONTENT)
}
