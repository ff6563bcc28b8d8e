//! `shopctl-user`: the identity service (`shopctl serve user`).
//!
//! Accounts with argon2id passwords, Ed25519-signed access tokens and rotating refresh tokens,
//! lockout after repeated failures, roles, GDPR export and erase, a JWKS endpoint, and a
//! hash-chained audit log of every security event. Same inner shape as every shopctl service:
//! [`settings`], `error`, [`routes`], [`domain`], [`store`] (SQLite + PostgreSQL), migrations
//! per backend and `tests/api`.

pub mod domain;
mod error;
pub mod routes;
pub mod settings;
pub mod store;

use std::{sync::Arc, time::Duration};

use shopctl_kit::{
    ServiceContext, audit::AuditLog, auth::Auth, db::Db, http::finish, jwt::TrustedIssuer,
    metrics::Metrics, service::App,
};

pub use routes::{AppState, openapi, router};
pub use settings::{Settings, load as load_settings};
pub use store::MIGRATIONS;
use store::SqlUserStore;

/// Service name, used in logs, metrics and the data file (`user.db`).
pub const NAME: &str = "user";

/// Opens (and migrates) the identity database named by the settings.
pub async fn connect(settings: &Settings) -> anyhow::Result<Db> {
    let db = Db::for_service(&settings.common, NAME, &MIGRATIONS).await?;
    shopctl_kit::events::install(&db).await?;
    Ok(db)
}

/// The identity store with its outbox, as the service and the CLI use it.
pub fn store(settings: &Settings, db: Db) -> SqlUserStore {
    SqlUserStore::new(db).with_outbox(shopctl_kit::events::Outbox::new(
        settings.service.subscribers.clone(),
    ))
}

/// How often the service picks up signing keys rotated by `shopctl user rotate-keys` or by
/// another replica.
const KEY_RELOAD_INTERVAL: Duration = Duration::from_secs(30);

/// Builds the whole service: database, signing keys, audit log, routes and kit's middleware,
/// with its loops: the event relay (`user.registered`, `user.erased`) and the signing-key reload.
pub async fn app(settings: &Settings) -> anyhow::Result<App> {
    let db = connect(settings).await?;
    let store = Arc::new(store(settings, db.clone()));
    let metrics = Metrics::new(NAME);
    let relay = shopctl_kit::events::http_relay(
        &db,
        NAME,
        &settings.common,
        &settings.service.subscribers,
        settings.service.event_max_attempts,
        Duration::from_millis(settings.service.event_retry_base_ms),
        &metrics,
    );
    let issuer = domain::tokens::Issuer::load(store.as_ref(), &settings.service).await?;
    let audit = AuditLog::for_service(&settings.common, NAME, &metrics).await?;
    let own = TrustedIssuer::platform(
        &settings.service.issuer,
        &settings.service.audience,
        issuer.key_source(),
    );
    let auth = Auth::from_settings(&settings.common, NAME, vec![own]);
    let state = AppState {
        store: store.clone(),
        auth: auth.clone(),
        issuer: issuer.clone(),
        hasher: domain::PasswordHasher::new(),
        audit,
        settings: settings.service.clone(),
    };
    let ctx = ServiceContext::new(NAME, &settings.common, Some(db.clone()), metrics, auth);
    let events = relay.clone();
    Ok(App::new(finish(router(state), &ctx))
        .with_loop("event relay", move |stop| {
            events.run(Duration::from_millis(500), stop.requested())
        })
        .with_loop("signing-key reload", move |stop| async move {
            let mut every = tokio::time::interval(KEY_RELOAD_INTERVAL);
            every.tick().await;
            loop {
                tokio::select! {
                    () = stop.clone().requested() => break,
                    _ = every.tick() => {}
                }
                if let Err(err) = issuer.reload(store.as_ref()).await {
                    tracing::warn!(error = %err, "reloading signing keys failed");
                }
            }
        })
        .with_handle(relay)
        .with_handle(db))
}
