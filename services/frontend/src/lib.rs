//! `shopctl-frontend`: the storefront (`shopctl serve frontend`, port 8081, served at `/`
//! through the gateway).
//!
//! Pages are rendered on the server from compiled askama templates and work without
//! JavaScript; the one small script and the style sheet are served from the binary, product
//! pictures are SVG drawn from the product, so the shop loads nothing from anywhere else.
//!
//! The storefront keeps no database: its data are the platform's services ([`store`]), called
//! with the shopper's own token so every role and ownership check applies as for a direct API
//! call. The browser session ([`routes::session`]) is a handful of HttpOnly, SameSite=Lax cookies: the
//! tokens (refreshed transparently), a browser id that CSRF tokens are bound to, and the guest
//! cart (signed). Same inner shape as every shopctl service: [`settings`], `error`, [`routes`],
//! [`domain`], [`store`] (the services instead of SQL), `tests/api`.

pub mod domain;
pub mod error;
pub mod routes;
pub mod settings;
pub mod store;

use std::time::Duration;

use secrecy::ExposeSecret as _;
use shopctl_kit::{
    ServiceContext, auth::Auth, http::finish_with_fallback, jwt::ServiceTokens, metrics::Metrics,
    service::App,
};

pub use error::PageError;
pub use routes::{AppState, router};
pub use settings::{Settings, load as load_settings};

use crate::{domain::Signer, store::Services};

/// Service name.
pub const NAME: &str = "frontend";

/// Builds the storefront with kit's middleware (probes, metrics, request ids, deadline); an
/// unknown path gets the friendly 404 page rather than problem+json. It has no loops: the
/// services behind it are called per request.
// Async like every service's entry point, so that `up`, `serve` and the tests start all alike.
#[allow(clippy::unused_async)]
pub async fn app(settings: &Settings) -> anyhow::Result<App> {
    let service = &settings.service;
    routes::pages::set_shop_name(&service.shop_name);
    let metrics = Metrics::new(NAME);
    let auth = Auth::from_settings(&settings.common, NAME, Vec::new());
    let tokens = ServiceTokens::from_settings(NAME, &settings.common);
    let signer = if let Some(key) = &settings.common.service_key {
        Signer::from_secret(key.expose_secret().as_bytes())
    } else {
        tracing::warn!("no service_key: sessions and carts end when the storefront restarts");
        Signer::random()
    };
    let state = AppState {
        services: Services::new(
            &service.upstreams,
            tokens.as_ref(),
            Duration::from_millis(service.upstream_timeout_ms),
        ),
        auth: auth.clone(),
        signer,
        secure_cookies: service.secure_cookies,
        featured_count: service.featured_count,
        page_size: service.page_size,
    };
    let ctx = ServiceContext::new(NAME, &settings.common, None, metrics, auth);
    Ok(App::new(finish_with_fallback(
        router(state),
        &ctx,
        || async { PageError::NotFound },
    )))
}
