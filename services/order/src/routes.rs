//! The order service's HTTP surface: `/api/cart…` and `/api/orders…`, plus `/openapi.json`.

mod cart;
mod orders;

use std::sync::Arc;

use prometheus_client::metrics::{counter::Counter, family::Family};
use shopctl_kit::{auth::Auth, client::ServiceClient};

use crate::{
    domain::{Pricing, saga::Saga},
    store::OrderStore,
};

/// Shared state of the order handlers.
#[derive(Clone)]
pub struct AppState {
    /// Persistence.
    pub store: Arc<dyn OrderStore>,
    /// Caller authentication.
    pub auth: Auth,
    /// The catalog (names and prices).
    pub catalog: ServiceClient,
    /// The checkout saga.
    pub saga: Saga,
    /// Tax and shipping.
    pub pricing: Pricing,
    /// `orders_checkouts_total{result}`: confirmed, declined, refused (409, 422), failed (an upstream could not answer), pending, replayed.
    pub checkouts: Family<Vec<(&'static str, &'static str)>, Counter>,
    /// Writes paused for a backup: a checkout's saga holds the pause off until it ends.
    pub maintenance: shopctl_kit::maintenance::Maintenance,
}

shopctl_kit::service_routes! {
    state: AppState,
    title: "shopctl orders",
    description: "Carts, checkout and order history. Errors are RFC 9457 problem+json.",
    tags: ((name = "cart"), (name = "orders")),
    routes: [cart, orders],
}

/// A product as the catalog answers it (the fields the order service uses).
#[derive(Debug, Clone, serde::Deserialize)]
pub(crate) struct CatalogItem {
    pub(crate) sku: String,
    pub(crate) name: String,
    pub(crate) price: crate::domain::Money,
    pub(crate) active: bool,
}

/// Looks a SKU up in the catalog: `Ok(None)` when the catalog does not know it.
pub(crate) async fn catalog_item(
    state: &AppState,
    sku: &str,
) -> Result<Option<CatalogItem>, shopctl_kit::ApiError> {
    let answer = state
        .catalog
        .get(&format!("/api/products/sku/{sku}"), None)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "catalog lookup failed");
            shopctl_kit::ApiError::Unavailable {
                detail: "the catalog is not answering; try again shortly".to_owned(),
            }
        })?;
    match answer.status {
        200 => answer
            .json()
            .map(Some)
            .map_err(|e| shopctl_kit::ApiError::Internal(anyhow::anyhow!("catalog answer: {e}"))),
        404 => Ok(None),
        _ => Err(shopctl_kit::ApiError::Unavailable {
            detail: "the catalog is not answering; try again shortly".to_owned(),
        }),
    }
}
