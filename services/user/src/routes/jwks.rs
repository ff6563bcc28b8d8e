//! `/.well-known/jwks.json`: the public keys that verify this service's tokens.

use axum::{extract::State, http::header, response::IntoResponse};
use shopctl_kit::{ApiError, AppJson, jwt::JwkSet};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(jwks))
}

/// The active key and keys retired recently enough that tokens they signed are still valid.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "keys", responses((status = 200, body = JwkSet)))]
async fn jwks(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let set = state.issuer.jwks(state.store.as_ref()).await?;
    Ok((
        [(header::CACHE_CONTROL, "public, max-age=60")],
        AppJson(set),
    ))
}
