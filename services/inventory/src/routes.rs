//! Inventory's HTTP surface: `/api/inventory/{sku}` (public stock, admin adjustments) and
//! `/internal/reservations…` for the order service (service tokens only; the gateway does not
//! route `/internal`).

mod reservations;
mod stock;

use std::sync::Arc;

use axum::{Router, extract::FromRef};
use prometheus_client::metrics::{counter::Counter, family::Family};
use shopctl_kit::{audit::AuditLog, auth::Auth, openapi::BearerAuth};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::{settings::InventorySettings, store::InventoryStore};

/// Labels of `inventory_reservations_total`.
pub type ResultLabels = Vec<(&'static str, &'static str)>;

/// Shared state of the inventory handlers.
#[derive(Clone)]
pub struct AppState {
    /// Persistence.
    pub store: Arc<dyn InventoryStore>,
    /// Caller authentication.
    pub auth: Auth,
    /// Audit trail of adjustments.
    pub audit: AuditLog,
    /// Settings.
    pub settings: Arc<InventorySettings>,
    /// `inventory_reservations_total{result}`: held, refused, confirmed, released.
    pub reservations: Family<ResultLabels, Counter>,
}

impl FromRef<AppState> for Auth {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "shopctl inventory",
        description = "Stock per SKU and atomic reservations. Errors are RFC 9457 problem+json.",
        license(name = "Apache-2.0")
    ),
    components(schemas(shopctl_kit::error::Problem)),
    modifiers(&BearerAuth),
    tags((name = "inventory"), (name = "reservations"))
)]
struct ApiDoc;

fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(stock::router())
        .merge(reservations::router())
}

/// The OpenAPI 3.1 document of the inventory API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api().split_for_parts().1
}

/// The inventory routes with `state` applied (without kit's middleware).
pub fn router(state: AppState) -> Router {
    shopctl_kit::openapi::router_with_document(api(), state)
}
