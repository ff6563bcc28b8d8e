//! `shopctl-payment`: the payment service (`shopctl serve payment`).
//!
//! A simulated card processor behind payment intents: the order service authorizes a card for
//! an order (idempotently, per `Idempotency-Key`), then captures or voids the authorization;
//! support refunds captured payments, and every refund goes to the audit log. Card numbers and
//! security codes are checked and dropped: only the brand, the last four digits, the expiry and
//! a random token are kept. Same inner shape as every shopctl service: [`settings`], `error`,
//! [`routes`], [`domain`], [`store`] (SQLite + PostgreSQL), migrations per backend and
//! `tests/api`.

pub mod domain;
mod error;
pub mod routes;
pub mod settings;
pub mod store;

use std::{sync::Arc, time::Duration};

use shopctl_kit::{
    ServiceContext, audit::AuditLog, auth::Auth, db::Db, http::finish, metrics::Metrics,
    service::App,
};

pub use routes::{AppState, openapi, router};
pub use settings::{Settings, load as load_settings};
pub use store::MIGRATIONS;
use store::SqlPaymentStore;

/// Service name, used in logs, metrics, the data file (`payment.db`) and the audience of the
/// service tokens it accepts.
pub const NAME: &str = "payment";

/// Opens (and migrates) the payment database named by the settings.
pub async fn connect(settings: &Settings) -> anyhow::Result<Db> {
    Ok(Db::for_service(&settings.common, NAME, &MIGRATIONS).await?)
}

/// Builds the whole service: database, audit log, simulated processor, metrics, routes and
/// kit's middleware.
pub async fn app(settings: &Settings) -> anyhow::Result<App> {
    let db = connect(settings).await?;
    let store = Arc::new(SqlPaymentStore::new(db.clone()));
    let processor = domain::Simulator::new(
        settings.service.failure_rate,
        Duration::from_millis(settings.service.latency_ms),
    );
    let metrics = Metrics::new(NAME);
    let audit = AuditLog::for_service(&settings.common, NAME, &metrics).await?;
    let auth = Auth::from_settings(&settings.common, NAME, Vec::new());
    let state = AppState::new(store, auth.clone(), audit, processor, &metrics);
    let ctx = ServiceContext::new(NAME, &settings.common, Some(db), metrics, auth);
    Ok(App::new(finish(router(state), &ctx)))
}
