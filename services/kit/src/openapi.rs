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

/// The part of a service's `routes.rs` that is the same in every service: caller
/// authentication taken from the state (`FromRef<AppState> for Auth`), the OpenAPI document
/// (title, description, tags; the problem schema and the bearer scheme), and the public
/// `openapi()` and `router(state)` built from the route modules named, each with a
/// `router() -> OpenApiRouter<AppState>`.
///
/// ```ignore
/// shopctl_kit::service_routes! {
///     state: AppState,
///     title: "shopctl orders",
///     description: "Carts, checkout and order history.",
///     tags: ((name = "cart"), (name = "orders")),
///     routes: [cart, orders],
/// }
/// ```
#[macro_export]
macro_rules! service_routes {
    (
        state: $state:ty,
        title: $title:tt,
        description: $description:tt,
        tags: ($($tags:tt)*),
        routes: [$($module:ident),+ $(,)?] $(,)?
    ) => {
        impl ::axum::extract::FromRef<$state> for $crate::auth::Auth {
            fn from_ref(state: &$state) -> Self {
                state.auth.clone()
            }
        }

        use shopctl_kit::openapi::BearerAuth as ServiceBearerAuth;

        #[derive(::utoipa::OpenApi)]
        #[openapi(
            info(title = $title, description = $description, license(name = "Apache-2.0")),
            components(schemas(shopctl_kit::error::Problem)),
            modifiers(&ServiceBearerAuth),
            tags($($tags)*)
        )]
        struct ApiDoc;

        fn api() -> ::utoipa_axum::router::OpenApiRouter<$state> {
            ::utoipa_axum::router::OpenApiRouter::with_openapi(<ApiDoc as ::utoipa::OpenApi>::openapi())
                $(.merge($module::router()))+
        }

        /// The OpenAPI 3.1 document of the service's API.
        pub fn openapi() -> ::utoipa::openapi::OpenApi {
            api().split_for_parts().1
        }

        /// The service's routes with `state` applied (without kit's middleware).
        pub fn router(state: $state) -> ::axum::Router {
            $crate::openapi::router_with_document(api(), state)
        }
    };
}
