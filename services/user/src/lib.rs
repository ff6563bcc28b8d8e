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
pub mod tokens;

use std::{future::Future, sync::Arc};

use axum::Router;
use shopctl_kit::{
    ServiceContext,
    audit::AuditLog,
    auth::Auth,
    db::{Db, Migrations},
    http::finish,
    jwt::TrustedIssuer,
    metrics::Metrics,
};

pub use routes::{AppState, openapi, router};
pub use settings::{Settings, load as load_settings};
use store::SqlUserStore;

/// Service name, used in logs, metrics and the data file (`user.db`).
pub const NAME: &str = "user";

/// The identity migrations for both backends.
pub static MIGRATIONS: Migrations = Migrations {
    sqlite: sqlx::migrate!("./migrations/sqlite"),
    postgres: sqlx::migrate!("./migrations/postgres"),
};

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

/// Builds the whole service: database, signing keys, audit log, routes and kit's middleware.
pub async fn app(settings: &Settings) -> anyhow::Result<Router> {
    let db = connect(settings).await?;
    let store = Arc::new(store(settings, db.clone()));
    let metrics = Metrics::new(NAME);
    spawn_relay(settings, &db, &metrics);
    let issuer = tokens::Issuer::load(store.as_ref(), &settings.service).await?;
    // Pick up keys rotated by `shopctl user rotate-keys` or another replica.
    let (reload_issuer, reload_store) = (issuer.clone(), store.clone());
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(30));
        every.tick().await;
        loop {
            every.tick().await;
            if let Err(err) = reload_issuer.reload(reload_store.as_ref()).await {
                tracing::warn!(error = %err, "reloading signing keys failed");
            }
        }
    });
    let audit = AuditLog::open(
        &settings.common.data_dir.join("audit").join("user.jsonl"),
        NAME,
    )
    .await?;
    let own = TrustedIssuer::platform(
        &settings.service.issuer,
        &settings.service.audience,
        issuer.key_source(),
    );
    let auth = Auth::from_settings(&settings.common, NAME, vec![own]);
    let state = AppState {
        store,
        auth: auth.clone(),
        issuer,
        hasher: domain::PasswordHasher::new(),
        audit,
        settings: settings.service.clone(),
    };
    let ctx = ServiceContext {
        name: NAME,
        db: Some(db),
        metrics,
        settings: settings.common.clone(),
        auth,
    };
    Ok(finish(router(state), &ctx))
}

/// Delivers the identity service's events (`user.registered`, `user.erased`) in the background,
/// as the key reload runs: for as long as the runtime lives.
fn spawn_relay(settings: &Settings, db: &Db, metrics: &Metrics) {
    let relay = shopctl_kit::events::http_relay(
        db,
        NAME,
        &settings.common,
        &settings.service.subscribers,
        settings.service.event_max_attempts,
        std::time::Duration::from_millis(settings.service.event_retry_base_ms),
        metrics,
    );
    tokio::spawn(relay.run(
        std::time::Duration::from_millis(500),
        std::future::pending::<()>(),
    ));
}

/// Runs the service until `shutdown` resolves, then drains in-flight requests.
pub async fn serve(
    settings: &Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let router = app(settings).await?;
    shopctl_kit::service::serve(NAME, &settings.common, router, shutdown).await?;
    Ok(())
}
