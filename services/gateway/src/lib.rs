//! `shopctl-gateway`: the edge of the platform (`shopctl serve gateway`, port 8080).
//!
//! Routes `/api/<resource>` to the owning service and everything else to the storefront,
//! verifies bearer tokens (JWKS of the user service, or an external OIDC issuer) against a
//! per-route policy before anything reaches a service, limits each client's rate per route
//! class, opens a circuit breaker on a failing upstream, and adds security headers. Stateless:
//! no database of its own.

pub mod domain;
pub mod routes;
pub mod settings;

use std::{future::Future, net::SocketAddr};

use axum::Router;
use shopctl_kit::{ServiceContext, auth::Auth, http::finish, metrics::Metrics, service::Server};

pub use routes::{AppState, router};
pub use settings::{Settings, load as load_settings};

/// Service name.
pub const NAME: &str = "gateway";

/// Builds the gateway with kit's middleware.
pub fn app(settings: &Settings) -> Router {
    let metrics = Metrics::new(NAME);
    let auth = Auth::from_settings(&settings.common, NAME, Vec::new());
    let state = AppState::new(
        &settings.service,
        settings.common.body_limit_bytes,
        auth,
        &metrics,
    );
    let ctx = ServiceContext {
        name: NAME,
        db: None,
        metrics,
        settings: settings.common.clone(),
    };
    finish(router(state), &ctx)
}

/// Runs the gateway until `shutdown` resolves, then drains in-flight requests.
pub async fn serve(
    settings: &Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let addr = SocketAddr::new(settings.common.host, settings.common.port);
    Server::bind(NAME, addr, app(settings))
        .await?
        .run(shutdown)
        .await?;
    Ok(())
}
