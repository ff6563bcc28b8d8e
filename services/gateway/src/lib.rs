//! `shopctl-gateway`: the edge of the platform (`shopctl serve gateway`, port 8080).
//!
//! Routes `/api/<resource>` to the owning service and everything else to the storefront,
//! verifies bearer tokens (JWKS of the user service, or an external OIDC issuer) against a
//! per-route policy before anything reaches a service, limits each client's rate per route
//! class, opens a circuit breaker on a failing upstream, and adds security headers. Stateless:
//! no database of its own.

pub mod domain;
mod error;
pub mod routes;
pub mod settings;
pub mod store;

use std::time::Duration;

use axum::Router;
use shopctl_kit::{
    ServiceContext, auth::Auth, http::finish_catch_all, metrics::Metrics, service::App,
};

pub use routes::{AppState, forward};
pub use settings::{Settings, load as load_settings};

/// Service name.
pub const NAME: &str = "gateway";

/// Builds the gateway with kit's middleware. Its one loop asks a replica that was gone whether
/// it is ready again ([`AppState::probe_replicas`]); otherwise every upstream is reached per
/// request.
// Async like every service's entry point, so that `up`, `serve` and the tests start all alike.
#[allow(clippy::unused_async)]
pub async fn app(settings: &Settings) -> anyhow::Result<App> {
    let metrics = Metrics::new(NAME);
    let auth = Auth::from_settings(&settings.common, NAME, Vec::new());
    let state = AppState::new(
        &settings.service,
        settings.common.body_limit_bytes,
        auth.clone(),
        &metrics,
    );
    let ctx = ServiceContext::new(NAME, &settings.common, None, metrics, auth);
    let probing = state.clone();
    // Every path is forwarded; the route label stays the one dashboards know the gateway by.
    let app = finish_catch_all(Router::new(), &ctx, "/{*path}", forward, state);
    let app = match cors(&settings.service) {
        // Outermost, so that refusals (401, 429, 503) carry the CORS headers browsers need to
        // read them, and preflights are answered without touching the upstreams.
        Some(layer) => app.layer(layer),
        None => app,
    };
    let app = App::new(app);
    Ok(match settings.service.replica_probe_ms {
        0 => app,
        every => app.with_loop("replica probe", move |stop| {
            probing.probe_replicas(Duration::from_millis(every), stop)
        }),
    })
}

/// The CORS policy, when any origin is allowed.
fn cors(settings: &settings::GatewaySettings) -> Option<tower_http::cors::CorsLayer> {
    use axum::http::{HeaderName, HeaderValue, Method, header};
    use tower_http::cors::{AllowOrigin, CorsLayer};
    if settings.cors_allowed_origins.is_empty() {
        return None;
    }
    let origins = if settings.cors_allowed_origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            settings
                .cors_allowed_origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o).ok()),
        )
    };
    Some(
        CorsLayer::new()
            .allow_origin(origins)
            .allow_methods([
                Method::GET,
                Method::HEAD,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::IF_NONE_MATCH,
                HeaderName::from_static("idempotency-key"),
            ])
            .expose_headers([
                header::ETAG,
                header::RETRY_AFTER,
                HeaderName::from_static("ratelimit-limit"),
                HeaderName::from_static("ratelimit-remaining"),
                HeaderName::from_static("ratelimit-reset"),
                HeaderName::from_static("x-request-id"),
            ])
            .max_age(std::time::Duration::from_secs(settings.cors_max_age_secs)),
    )
}
