//! The catalog's HTTP surface: `/api/products…` and `/api/categories…`, plus `/openapi.json`.

mod categories;
mod products;

use axum::{Json, Router, extract::FromRef, routing::get};
use shopctl_kit::auth::Auth;
use std::sync::Arc;
use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};
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

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

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
    let (router, doc) = api().split_for_parts();
    let doc = Arc::new(doc);
    router
        .route(
            "/openapi.json",
            get(move || async move { Json(doc.as_ref().clone()) }),
        )
        .with_state(state)
}
