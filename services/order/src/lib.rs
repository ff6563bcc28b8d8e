//! `shopctl-order`: carts, checkout and orders (`shopctl serve order`, port 8084).
//!
//! The checkout saga ([`saga`]) reserves stock with the inventory service, authorizes and
//! captures with the payment service, and confirms — or cancels with compensations — persisting
//! every step, so a restarted service resumes every saga that had not ended. Events
//! (`order.confirmed`, `order.cancelled`, `payment.failed`) leave through kit's outbox. Same inner
//! shape as every shopctl service: [`settings`], [`routes`], [`domain`], [`store`], migrations
//! per backend, and `tests/api`.

pub mod domain;
mod error;
pub mod reconcile;
pub mod routes;
pub mod saga;
pub mod settings;
pub mod store;

use std::{future::Future, sync::Arc, time::Duration};

use axum::Router;
use prometheus_client::metrics::family::Family;
use shopctl_kit::{
    ServiceContext,
    auth::Auth,
    client::ServiceClient,
    db::{Db, Migrations},
    events::{self, Outbox, Relay},
    http::finish,
    jwt::ServiceTokens,
    metrics::Metrics,
};

pub use routes::{AppState, openapi, router};
pub use settings::{Settings, load as load_settings};
use store::SqlOrderStore;

use crate::{domain::Pricing, saga::Saga};

/// Service name, used in logs, metrics and the data file (`order.db`).
pub const NAME: &str = "order";

/// The order service's migrations for both backends.
pub static MIGRATIONS: Migrations = Migrations {
    sqlite: sqlx::migrate!("./migrations/sqlite"),
    postgres: sqlx::migrate!("./migrations/postgres"),
};

/// Opens (and migrates) the order database named by the settings, with kit's event tables.
pub async fn connect(settings: &Settings) -> anyhow::Result<Db> {
    let db = Db::for_service(&settings.common, NAME, &MIGRATIONS).await?;
    events::install(&db).await?;
    Ok(db)
}

/// A built order service: its router and the loops to run beside it.
pub struct Service {
    /// Routes with kit's middleware.
    pub router: Router,
    /// The saga orchestrator (the resumer runs it).
    pub saga: Saga,
    /// Delivers the outbox's events.
    pub relay: Relay,
    /// The database.
    pub db: Db,
    resume_interval: Duration,
    resume_after: Duration,
}

impl Service {
    /// Runs the relay and the saga resumer until `shutdown` resolves: every saga that has not
    /// moved for `resume_after_ms` is finished or compensated, at start (after that long) and
    /// then periodically.
    pub async fn run_background(self_parts: Background, shutdown: impl Future<Output = ()> + Send) {
        let Background {
            saga,
            relay,
            resume_interval,
            resume_after,
        } = self_parts;
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let relay_stop = {
            let mut rx = stop_rx.clone();
            async move {
                let _ = rx.wait_for(|stop| *stop).await;
            }
        };
        let relay = tokio::spawn(relay.run(Duration::from_millis(500), relay_stop));
        let resumer = tokio::spawn(async move {
            let mut rx = stop_rx;
            // Even after a crash, wait until a saga has been still for `resume_after`: a call the
            // dead process left in flight (an authorization) has ended by then. A stop during
            // that wait ends the loop at once (it used to hold shutdown until the wait was over).
            tokio::select! {
                _ = rx.wait_for(|stop| *stop) => return,
                () = tokio::time::sleep(resume_after) => {}
            }
            match saga.resume(resume_after).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(sagas = n, "resumed open sagas after start"),
                Err(err) => tracing::warn!(error = %err, "resuming sagas failed"),
            }
            loop {
                tokio::select! {
                    _ = rx.wait_for(|stop| *stop) => break,
                    () = tokio::time::sleep(resume_interval) => {}
                }
                if let Err(err) = saga.resume(resume_after).await {
                    tracing::warn!(error = %err, "resuming sagas failed");
                }
            }
        });
        shutdown.await;
        let _ = stop_tx.send(true);
        let _ = relay.await;
        let _ = resumer.await;
    }

    /// Splits off the background loops, leaving the router to serve.
    pub fn split(self) -> (Router, Background) {
        (
            self.router,
            Background {
                saga: self.saga,
                relay: self.relay,
                resume_interval: self.resume_interval,
                resume_after: self.resume_after,
            },
        )
    }
}

/// The loops beside the router: the event relay and the saga resumer.
pub struct Background {
    saga: Saga,
    relay: Relay,
    resume_interval: Duration,
    resume_after: Duration,
}

/// Builds the whole service.
pub async fn build(settings: &Settings) -> anyhow::Result<Service> {
    let db = connect(settings).await?;
    let s = &settings.service;
    let metrics = Metrics::new(NAME);
    let tokens = ServiceTokens::from_settings(NAME, &settings.common);
    let timeout = Duration::from_millis(s.call_timeout_ms);
    let relay = events::http_relay(
        &db,
        NAME,
        &settings.common,
        &s.subscribers,
        s.event_max_attempts,
        Duration::from_millis(s.event_retry_base_ms),
        &metrics,
    );
    let store = Arc::new(SqlOrderStore::new(
        db.clone(),
        Outbox::new(s.subscribers.clone()),
    ));
    let saga = Saga::new(
        store.clone(),
        ServiceClient::new(&s.inventory_url, "inventory", tokens.clone(), timeout),
        ServiceClient::new(&s.payment_url, "payment", tokens.clone(), timeout),
        s.reservation_ttl_secs,
        Some(relay.waker()),
    );
    let checkouts = Family::default();
    metrics.register(
        "orders_checkouts",
        "Checkouts by result: confirmed, declined, refused, pending, replayed",
        checkouts.clone(),
    );
    let auth = Auth::from_settings(&settings.common, NAME, Vec::new());
    let state = AppState {
        store,
        auth: auth.clone(),
        catalog: ServiceClient::new(&s.product_url, "product", tokens, timeout),
        saga: saga.clone(),
        pricing: Pricing {
            tax_rate_bps: s.tax_rate_bps,
            shipping: s.shipping_fee,
        },
        checkouts,
    };
    let ctx = ServiceContext {
        name: NAME,
        db: Some(db.clone()),
        metrics,
        settings: settings.common.clone(),
        auth,
    };
    Ok(Service {
        router: finish(router(state), &ctx),
        saga,
        relay,
        db,
        resume_interval: Duration::from_millis(s.resume_interval_ms),
        resume_after: Duration::from_millis(s.resume_after_ms),
    })
}

/// Runs the service, its relay and its saga resumer until `shutdown` resolves.
pub async fn serve(
    settings: &Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (router, background) = build(settings).await?.split();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let loops = tokio::spawn(Service::run_background(background, async move {
        let mut rx = stop_rx;
        let _ = rx.wait_for(|stop| *stop).await;
    }));
    let result = shopctl_kit::service::serve(NAME, &settings.common, router, shutdown).await;
    let _ = stop_tx.send(true);
    let _ = loops.await;
    result?;
    Ok(())
}
