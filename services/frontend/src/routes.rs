//! The storefront's pages. Every page is rendered on the server from a compiled template and
//! works without JavaScript; every form posts back here with the page's CSRF token (checked
//! by [`crate::routes::session::middleware`] before any handler runs) and answers with a redirect
//! (303, post/redirect/get) or the same form with its errors inline.
//!
//! Paths are part of the interface (DESIGN.md §11): `/`, `/c/{category}`, `/search?q=`,
//! `/p/{sku}`, `/cart`, `/checkout`, `/orders`, `/orders/{id}`, `/login`, `/register`,
//! `/account`, `/admin/...`.

mod account;
mod admin;
mod assets;
mod cart;
mod catalog;
mod checkout;
mod orders;
pub mod pages;
pub mod session;

use axum::{Router, middleware};
use shopctl_kit::auth::Auth;

use crate::{domain::Signer, store::Services};

/// Shared state of the storefront's handlers.
#[derive(Clone)]
pub struct AppState {
    /// The services behind the pages.
    pub services: Services,
    /// Verifies shoppers' access tokens.
    pub auth: Auth,
    /// Signs CSRF tokens and the guest cart.
    pub signer: Signer,
    /// Whether cookies are always `Secure`.
    pub secure_cookies: bool,
    /// Products on the home page.
    pub featured_count: u32,
    /// Products per listing page.
    pub page_size: u32,
}

/// The storefront's routes with `state` applied and the session resolved for each request
/// (without kit's middleware).
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(catalog::router())
        .merge(cart::router())
        .merge(account::router())
        .merge(checkout::router())
        .merge(orders::router())
        .merge(admin::router())
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            crate::routes::session::middleware,
        ))
        .merge(assets::router())
        .with_state(state)
}
