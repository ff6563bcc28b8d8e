//! OpenAPI plumbing every service shares: the bearer security scheme its secured routes refer
//! to, and serving the document at `/openapi.json` next to the routes it describes.

use std::sync::Arc;

use axum::{Json, Router, routing::get};
use utoipa::{
    Modify,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};
use utoipa_axum::router::OpenApiRouter;

/// Adds the `bearer` HTTP security scheme (`security(("bearer" = []))` on a route refers to it).
#[derive(Debug)]
pub struct BearerAuth;

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

/// The routes of `api` with `state` applied, plus `GET /openapi.json` serving their document.
pub fn router_with_document<S>(api: OpenApiRouter<S>, state: S) -> Router
where
    S: Clone + Send + Sync + 'static,
{
    let (router, doc) = api.split_for_parts();
    let doc = Arc::new(doc);
    router
        .route(
            "/openapi.json",
            get(move || async move { Json(doc.as_ref().clone()) }),
        )
        .with_state(state)
}
