//! `shopctl-order`: carts, checkout and orders (`shopctl serve order`, port 8084).
//!
//! The checkout saga ([`domain::saga`]) reserves stock with the inventory service, authorizes and
//! captures with the payment service, and confirms — or cancels with compensations — persisting
//! every step, so a restarted service resumes every saga that had not ended. Events
//! (`order.confirmed`, `order.cancelled`, `payment.failed`) leave through kit's outbox. Same inner
//! shape as every shopctl service: [`settings`], [`routes`], [`domain`], [`store`], migrations
//! per backend, and `tests/api`.

pub mod domain;
mod error;
pub mod routes;
pub mod settings;
pub mod store;

use std::{sync::Arc, time::Duration};

use prometheus_client::metrics::family::Family;
use shopctl_kit::{
    ServiceContext,
    auth::Auth,
    client::ServiceClient,
    db::Db,
    events::{self, Outbox},
    http::finish,
    jwt::ServiceTokens,
    metrics::Metrics,
    service::App,
};

pub use routes::{AppState, openapi, router};
pub use settings::{Settings, load as load_settings};
pub use store::MIGRATIONS;
use store::SqlOrderStore;

use crate::domain::{Pricing, saga::Saga};

/// Service name, used in logs, metrics and the data file (`order.db`).
pub const NAME: &str = "order";

/// Opens (and migrates) the order database named by the settings, with kit's event tables.
pub async fn connect(settings: &Settings) -> anyhow::Result<Db> {
    let db = Db::for_service(&settings.common, NAME, &MIGRATIONS).await?;
    events::install(&db).await?;
    Ok(db)
}

/// Builds the whole service: database and event tables, the saga, metrics, routes and kit's
/// middleware, with its loops: the event relay and the saga resumer. It keeps the database, the
/// saga and the relay as handles for tests and tools.
pub async fn app(settings: &Settings) -> anyhow::Result<App> {
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
    )
    .with_metrics(&metrics);
    let checkouts: Family<_, _> = metrics.registered(
        "orders_checkouts",
        "Checkouts by result: confirmed, declined, refused (cart or card refused), failed (an upstream could not answer), pending, replayed",
    );
    // Every result from the start, so its rate begins at zero rather than at its first checkout.
    for result in [
        "confirmed",
        "declined",
        "refused",
        "failed",
        "pending",
        "replayed",
    ] {
        let _ = checkouts.get_or_create(&vec![("result", result)]);
    }
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
        maintenance: shopctl_kit::maintenance::Maintenance::default(),
    };
    let maintenance = state.maintenance.clone();
    let ctx = ServiceContext::new(NAME, &settings.common, Some(db.clone()), metrics, auth)
        .with_maintenance(maintenance.clone());
    let (events, resumer) = (relay.clone(), saga.clone());
    let (interval, idle) = (
        Duration::from_millis(s.resume_interval_ms),
        Duration::from_millis(s.resume_after_ms),
    );
    Ok(App::new(finish(router(state), &ctx))
        .with_loop("event relay", move |stop| {
            events.run(Duration::from_millis(500), stop.requested())
        })
        .with_loop("saga resumer", move |stop| {
            resumer.keep_resuming(interval, idle, maintenance, stop)
        })
        .with_handle(db)
        .with_handle(saga)
        .with_handle(relay))
}
