//! The catalog's HTTP surface: `/api/products…` and `/api/categories…`, plus `/openapi.json`.

mod categories;
mod products;

use shopctl_kit::auth::Auth;
use std::sync::Arc;

use crate::store::ProductStore;

/// Shared state of the catalog's handlers.
#[derive(Clone)]
pub struct AppState {
    /// Catalog persistence.
    pub store: Arc<dyn ProductStore>,
    /// Caller authentication.
    pub auth: Auth,
}

shopctl_kit::service_routes! {
    state: AppState,
    title: "shopctl product catalog",
    description: "Products, categories, search with facets. Errors are RFC 9457 problem+json.",
    tags: ((name = "products"), (name = "categories")),
    routes: [products, categories],
}
