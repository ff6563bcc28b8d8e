//! The catalog's HTTP surface: `/api/products…` and `/api/categories…`, plus `/openapi.json`.

mod categories;
mod products;

use axum::{Router, extract::FromRef};
use shopctl_kit::auth::Auth;
use shopctl_kit::openapi::BearerAuth;
use std::sync::Arc;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::store::ProductStore;

/// Shared state of the catalog's handlers.
#[derive(Clone)]
pub struct AppState {
    /// Catalog persistence.
    pub store: Arc<dyn ProductStore>,
    /// Caller authentication.
    pub auth: Auth,
}

impl FromRef<AppState> for Auth {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "shopctl product catalog",
        description = "Products, categories, search with facets. Errors are RFC 9457 problem+json.",
        license(name = "Apache-2.0")
    ),
    components(schemas(shopctl_kit::error::Problem)),
    modifiers(&BearerAuth),
    tags((name = "products"), (name = "categories"))
)]
struct ApiDoc;

fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(products::router())
        .merge(categories::router())
}

/// The OpenAPI 3.1 document of the catalog API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api().split_for_parts().1
}

/// The catalog routes with `state` applied (without kit's middleware).
pub fn router(state: AppState) -> Router {
    shopctl_kit::openapi::router_with_document(api(), state)
}
