//! The identity service's HTTP surface: `/api/users…`, `/.well-known/jwks.json`, `/openapi.json`.

mod accounts;
mod admin;
mod jwks;
mod sessions;

use std::sync::Arc;

use axum::{Router, extract::FromRef};
use shopctl_kit::openapi::BearerAuth;
use shopctl_kit::{audit::AuditLog, auth::Auth};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::{domain::PasswordHasher, settings::UserSettings, store::UserStore, tokens::Issuer};

/// Shared state of the identity handlers.
#[derive(Clone)]
pub struct AppState {
    /// Accounts, sessions and keys.
    pub store: Arc<dyn UserStore>,
    /// Caller authentication.
    pub auth: Auth,
    /// Token issuing.
    pub issuer: Issuer,
    /// Password hashing.
    pub hasher: PasswordHasher,
    /// Security events.
    pub audit: AuditLog,
    /// Service settings.
    pub settings: UserSettings,
}

impl FromRef<AppState> for Auth {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "shopctl identity",
        description = "Accounts, sign-in, tokens, roles, GDPR export and erase. Errors are RFC 9457 problem+json.",
        license(name = "Apache-2.0")
    ),
    components(schemas(shopctl_kit::error::Problem)),
    modifiers(&BearerAuth),
    tags((name = "sessions"), (name = "accounts"), (name = "admin"), (name = "keys"))
)]
struct ApiDoc;

fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(sessions::router())
        .merge(accounts::router())
        .merge(admin::router())
        .merge(jwks::router())
}

/// The OpenAPI 3.1 document of the identity API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api().split_for_parts().1
}

/// The identity routes with `state` applied (without kit's middleware).
pub fn router(state: AppState) -> Router {
    shopctl_kit::openapi::router_with_document(api(), state)
}
