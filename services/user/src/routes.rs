//! The identity service's HTTP surface: `/api/users…`, `/.well-known/jwks.json`, `/openapi.json`.

mod accounts;
mod admin;
mod jwks;
mod sessions;

use std::sync::Arc;

use shopctl_kit::{audit::AuditLog, auth::Auth};

use crate::{
    domain::{PasswordHasher, tokens::Issuer},
    settings::UserSettings,
    store::UserStore,
};

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

shopctl_kit::service_routes! {
    state: AppState,
    title: "shopctl identity",
    description: "Accounts, sign-in, tokens, roles, GDPR export and erase. Errors are RFC 9457 problem+json.",
    tags: ((name = "sessions"), (name = "accounts"), (name = "admin"), (name = "keys")),
    routes: [sessions, accounts, admin, jwks],
}
