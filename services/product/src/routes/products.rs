//! `/api/products`: list/search with facets, get by id or SKU, and admin writes.

use std::collections::BTreeMap;

use axum::{
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
};
use serde::Deserialize;
use shopctl_kit::{
    ApiError, AppJson, AppQuery,
    auth::{AdminOnly, Authorized},
    db::StoreError,
    json::AppPath,
};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::AppState;
use crate::{
    domain::{
        Attributes, Brand, CategorySlug, Description, FieldError, ImageUrl, ListParams, ListQuery,
        Money, NewProduct, Page, Product, ProductName, Sku,
    },
    error,
};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_products, create_product))
        .routes(routes!(get_product, replace_product, delete_product))
        .routes(routes!(get_product_by_sku))
}

/// Body of `POST /api/products` and `PUT /api/products/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProductInput {
    sku: String,
    name: String,
    #[serde(default)]
    description: String,
    price: Money,
    category: String,
    brand: String,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
    image_url: Option<String>,
    #[serde(default = "active_by_default")]
    active: bool,
}

fn active_by_default() -> bool {
    true
}

impl TryFrom<ProductInput> for NewProduct {
    type Error = FieldError;

    fn try_from(input: ProductInput) -> Result<Self, Self::Error> {
        Ok(Self {
            sku: Sku::parse(&input.sku)?,
            name: ProductName::parse(&input.name)?,
            description: Description::parse(&input.description)?,
            price: Money::parse_price("price", &input.price)?,
            category: CategorySlug::parse("category", &input.category)?,
            brand: Brand::parse("brand", &input.brand)?,
            attributes: Attributes::parse(input.attributes)?,
            image_url: input
                .image_url
                .as_deref()
                .map(ImageUrl::parse)
                .transpose()?,
            active: input.active,
        })
    }
}

fn bad_param(err: FieldError) -> ApiError {
    ApiError::bad_param(err.field, err.detail)
}

fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::bad_param("id", "must be a product UUID"))
}

/// List and search active products.
#[utoipa::path(
    get, path = "/api/products", tag = "products",
    params(ListParams),
    responses(
        (status = 200, description = "One page with total and facets", body = Page<Product>),
        (status = 400, description = "Bad parameter", body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
    )
)]
async fn list_products(
    State(state): State<AppState>,
    AppQuery(params): AppQuery<ListParams>,
) -> Result<AppJson<Page<Product>>, ApiError> {
    let query = ListQuery::parse(&params).map_err(bad_param)?;
    Ok(AppJson(state.store.list_products(&query).await?))
}

/// Create a product (admin).
#[utoipa::path(
    post, path = "/api/products", tag = "products",
    request_body = ProductInput,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = Product),
        (status = 401, description = "No credentials", body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "SKU exists", body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field", body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
    )
)]
async fn create_product(
    _admin: Authorized<AdminOnly>,
    State(state): State<AppState>,
    AppJson(input): AppJson<ProductInput>,
) -> Result<impl IntoResponse, ApiError> {
    let product = NewProduct::try_from(input)?;
    let created = state
        .store
        .create_product(&product)
        .await
        .map_err(|e| error::product_write(e, product.sku.as_ref()))?;
    let location = format!("/api/products/{}", created.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        AppJson(created),
    ))
}

/// Get a product by id.
#[utoipa::path(
    get, path = "/api/products/{id}", tag = "products",
    params(("id" = Uuid, Path, description = "Product id")),
    responses(
        (status = 200, body = Product),
        (status = 404, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
    )
)]
async fn get_product(
    State(state): State<AppState>,
    AppPath(id): AppPath<String>,
) -> Result<AppJson<Product>, ApiError> {
    let id = parse_id(&id)?;
    let product = state
        .store
        .product(id)
        .await
        .map_err(|e| error::product_write(e, ""))?;
    Ok(AppJson(product))
}

/// Get a product by SKU.
#[utoipa::path(
    get, path = "/api/products/sku/{sku}", tag = "products",
    params(("sku" = String, Path, description = "SKU (case-insensitive)")),
    responses(
        (status = 200, body = Product),
        (status = 404, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
    )
)]
async fn get_product_by_sku(
    State(state): State<AppState>,
    AppPath(sku): AppPath<String>,
) -> Result<AppJson<Product>, ApiError> {
    let sku = Sku::parse(&sku).map_err(bad_param)?;
    let product = state
        .store
        .product_by_sku(&sku)
        .await
        .map_err(|err| match err {
            StoreError::NotFound => {
                ApiError::not_found(format!("no product with SKU `{}`", sku.as_ref()))
            }
            other => other.into(),
        })?;
    Ok(AppJson(product))
}

/// Replace a product (admin).
#[utoipa::path(
    put, path = "/api/products/{id}", tag = "products",
    params(("id" = Uuid, Path, description = "Product id")),
    request_body = ProductInput,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Product),
        (status = 404, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
        (status = 409, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
        (status = 422, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
    )
)]
async fn replace_product(
    _admin: Authorized<AdminOnly>,
    State(state): State<AppState>,
    AppPath(id): AppPath<String>,
    AppJson(input): AppJson<ProductInput>,
) -> Result<AppJson<Product>, ApiError> {
    let id = parse_id(&id)?;
    let product = NewProduct::try_from(input)?;
    let updated = state
        .store
        .replace_product(id, &product)
        .await
        .map_err(|e| error::product_write(e, product.sku.as_ref()))?;
    Ok(AppJson(updated))
}

/// Delete a product (admin).
#[utoipa::path(
    delete, path = "/api/products/{id}", tag = "products",
    params(("id" = Uuid, Path, description = "Product id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
    )
)]
async fn delete_product(
    _admin: Authorized<AdminOnly>,
    State(state): State<AppState>,
    AppPath(id): AppPath<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    state
        .store
        .delete_product(id)
        .await
        .map_err(|e| error::product_write(e, ""))?;
    Ok(StatusCode::NO_CONTENT)
}
