//! `/api/cart`: a signed-in customer's cart, priced from the catalog when shown.

use axum::{extract::State, http::StatusCode};
use serde::Deserialize;
use shopctl_kit::{
    ApiError, AppJson,
    auth::{AnyUser, Authorized},
    json::AppPath,
};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{AppState, catalog_item};
use crate::domain::{CartLine, CartView, MAX_ITEMS, MAX_QUANTITY, Money, Quantity, Sku};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_cart))
        .routes(routes!(add_item))
        .routes(routes!(change_item, remove_item))
        .routes(routes!(merge_cart))
}

/// Body of `POST /api/cart/items`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AddInput {
    sku: String,
    quantity: i64,
}

/// Body of `PATCH /api/cart/items/{sku}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChangeInput {
    quantity: i64,
}

/// Body of `POST /api/cart/merge`: a guest's cart, added at sign-in.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MergeInput {
    items: Vec<AddInput>,
}

fn sku(value: &str, field: &str) -> Result<Sku, ApiError> {
    Sku::parse(value).map_err(|e| ApiError::validation(field, e.detail))
}

/// The cart priced from the catalog.
pub(crate) async fn view(state: &AppState, user: &str) -> Result<CartView, ApiError> {
    let items = state.store.cart(user).await?;
    let mut lines = Vec::with_capacity(items.len());
    let mut currency = "USD".to_owned();
    let mut subtotal = 0i64;
    let mut count = 0i64;
    for item in items {
        let line = match catalog_item(state, &item.sku).await? {
            Some(product) => {
                currency.clone_from(&product.price.currency);
                let total = product.price.amount.saturating_mul(item.quantity);
                if product.active {
                    subtotal = subtotal.saturating_add(total);
                }
                CartLine {
                    sku: item.sku,
                    name: product.name,
                    quantity: item.quantity,
                    line_total: Money {
                        amount: total,
                        currency: product.price.currency.clone(),
                    },
                    unit_price: product.price,
                    available: product.active,
                }
            }
            None => CartLine {
                name: item.sku.clone(),
                sku: item.sku,
                quantity: item.quantity,
                unit_price: Money {
                    amount: 0,
                    currency: currency.clone(),
                },
                line_total: Money {
                    amount: 0,
                    currency: currency.clone(),
                },
                available: false,
            },
        };
        count += line.quantity;
        lines.push(line);
    }
    Ok(CartView {
        items: lines,
        subtotal: Money {
            amount: subtotal,
            currency,
        },
        item_count: count,
    })
}

/// The caller's cart.
#[utoipa::path(get, path = "/api/cart", tag = "cart", security(("bearer" = [])),
    responses((status = 200, body = CartView)))]
async fn get_cart(
    Authorized(user, ..): Authorized<AnyUser>,
    State(state): State<AppState>,
) -> Result<AppJson<CartView>, ApiError> {
    Ok(AppJson(view(&state, &user.subject).await?))
}

async fn add(state: &AppState, user: &str, input: &AddInput, field: &str) -> Result<(), ApiError> {
    let sku = sku(&input.sku, &format!("{field}sku"))?;
    let quantity = Quantity::parse(input.quantity)
        .map_err(|_| ApiError::validation(format!("{field}quantity"), "must be 1-99"))?;
    match catalog_item(state, sku.as_ref()).await? {
        Some(product) if product.active => {}
        _ => {
            return Err(ApiError::validation(
                format!("{field}sku"),
                format!("{} is not for sale", sku.as_ref()),
            ));
        }
    }
    let added = state
        .store
        .add_to_cart(user, sku.as_ref(), quantity.get(), MAX_QUANTITY, MAX_ITEMS)
        .await?;
    if added.is_none() {
        return Err(ApiError::conflict(format!(
            "a cart holds at most {MAX_ITEMS} products and {MAX_QUANTITY} of each"
        )));
    }
    Ok(())
}

/// Add units of a product (adds to what is already there).
#[utoipa::path(post, path = "/api/cart/items", tag = "cart", request_body = AddInput,
    security(("bearer" = [])),
    responses(
        (status = 201, body = CartView),
        (status = 409, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
        (status = 422, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
    ))]
async fn add_item(
    Authorized(user, ..): Authorized<AnyUser>,
    State(state): State<AppState>,
    AppJson(input): AppJson<AddInput>,
) -> Result<(StatusCode, AppJson<CartView>), ApiError> {
    add(&state, &user.subject, &input, "").await?;
    Ok((
        StatusCode::CREATED,
        AppJson(view(&state, &user.subject).await?),
    ))
}

/// Set a line's quantity.
#[utoipa::path(patch, path = "/api/cart/items/{sku}", tag = "cart", request_body = ChangeInput,
    params(("sku" = String, Path, description = "SKU")), security(("bearer" = [])),
    responses(
        (status = 200, body = CartView),
        (status = 404, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
    ))]
async fn change_item(
    Authorized(user, ..): Authorized<AnyUser>,
    State(state): State<AppState>,
    AppPath(raw): AppPath<String>,
    AppJson(input): AppJson<ChangeInput>,
) -> Result<AppJson<CartView>, ApiError> {
    let sku = Sku::parse(&raw).map_err(|e| ApiError::bad_param("sku", e.detail))?;
    let quantity = Quantity::parse(input.quantity)?;
    if !state
        .store
        .set_cart_quantity(&user.subject, sku.as_ref(), quantity.get())
        .await?
    {
        return Err(ApiError::not_found(format!(
            "{} is not in the cart",
            sku.as_ref()
        )));
    }
    Ok(AppJson(view(&state, &user.subject).await?))
}

/// Remove a line.
#[utoipa::path(delete, path = "/api/cart/items/{sku}", tag = "cart",
    params(("sku" = String, Path, description = "SKU")), security(("bearer" = [])),
    responses(
        (status = 200, body = CartView),
        (status = 404, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
    ))]
async fn remove_item(
    Authorized(user, ..): Authorized<AnyUser>,
    State(state): State<AppState>,
    AppPath(raw): AppPath<String>,
) -> Result<AppJson<CartView>, ApiError> {
    let sku = Sku::parse(&raw).map_err(|e| ApiError::bad_param("sku", e.detail))?;
    if !state
        .store
        .remove_from_cart(&user.subject, sku.as_ref())
        .await?
    {
        return Err(ApiError::not_found(format!(
            "{} is not in the cart",
            sku.as_ref()
        )));
    }
    Ok(AppJson(view(&state, &user.subject).await?))
}

/// Add a guest's cart to the caller's (at sign-in); quantities add up, capped at 99.
#[utoipa::path(post, path = "/api/cart/merge", tag = "cart", request_body = MergeInput,
    security(("bearer" = [])),
    responses(
        (status = 200, body = CartView),
        (status = 422, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
    ))]
async fn merge_cart(
    Authorized(user, ..): Authorized<AnyUser>,
    State(state): State<AppState>,
    AppJson(input): AppJson<MergeInput>,
) -> Result<AppJson<CartView>, ApiError> {
    if input.items.len() > MAX_ITEMS {
        return Err(ApiError::validation(
            "items",
            format!("at most {MAX_ITEMS} lines"),
        ));
    }
    for (i, item) in input.items.iter().enumerate() {
        match add(&state, &user.subject, item, &format!("items[{i}].")).await {
            // A guest line that would pass the caps is dropped, not an error: the signed-in
            // cart already holds the most it can.
            Ok(()) | Err(ApiError::Conflict { .. }) => {}
            Err(other) => return Err(other),
        }
    }
    Ok(AppJson(view(&state, &user.subject).await?))
}
