//! Inventory's HTTP surface: `/api/inventory/{sku}` (public stock, admin adjustments),
//! `/api/inventory/low-stock` (admin) and `/internal/reservations…` for the order service
//! (service tokens only; the gateway does not route `/internal`).

mod reservations;
mod stock;

use std::sync::Arc;

use prometheus_client::metrics::{counter::Counter, family::Family};
use shopctl_kit::{audit::AuditLog, auth::Auth};

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

shopctl_kit::service_routes! {
    state: AppState,
    title: "shopctl inventory",
    description: "Stock per SKU and atomic reservations. Errors are RFC 9457 problem+json.",
    tags: ((name = "inventory"), (name = "reservations")),
    routes: [stock, reservations],
}
