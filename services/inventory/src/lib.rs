//! `shopctl-inventory`: stock per SKU and atomic reservations (`shopctl serve inventory`,
//! port 8085).
//!
//! The order service reserves all lines of an order or none, with a TTL; confirming takes the
//! units out of the warehouse, releasing returns them, and a sweeper releases reservations that
//! expired. Same inner shape as every shopctl service: [`settings`], [`routes`], [`domain`],
//! [`store`], migrations per backend, and `tests/api`.

pub mod domain;
mod error;
pub mod routes;
pub mod settings;
pub mod store;

use std::{sync::Arc, time::Duration};

use prometheus_client::metrics::{family::Family, gauge::Gauge};
use shopctl_kit::{
    ServiceContext, audit::AuditLog, auth::Auth, db::Db, http::finish, metrics::Metrics,
    service::App, settings::Environment,
};

pub use domain::Sweeper;
pub use routes::{AppState, openapi, router};
pub use settings::{Settings, load as load_settings};
pub use store::MIGRATIONS;
use store::{InventoryStore, SqlInventoryStore};

/// Service name, used in logs, metrics and the data file (`inventory.db`).
pub const NAME: &str = "inventory";

/// Units each demo SKU starts with.
pub const DEMO_STOCK: i64 = 50;

/// Opens (and migrates) the inventory database named by the settings.
pub async fn connect(settings: &Settings) -> anyhow::Result<Db> {
    Ok(Db::for_service(&settings.common, NAME, &MIGRATIONS).await?)
}

/// Stock for the demo catalog's SKUs: [`DEMO_STOCK`] units each, except every tenth SKU, which
/// starts low (3 units) so the storefront and the low-stock metric have something to show.
pub fn demo_levels(count: usize, seed: u64) -> Vec<(String, i64)> {
    shopctl_kit::demo::products(count, seed)
        .enumerate()
        .map(|(i, row)| {
            let units = if i % 10 == 9 { 3 } else { DEMO_STOCK };
            (row.sku, units)
        })
        .collect()
}

/// Gives the demo catalog's SKUs stock when the database holds none, in the dev environment
/// (when `seed_demo` is on); does nothing otherwise. Returns how many SKUs got stock.
pub async fn seed_demo_if_empty(
    settings: &Settings,
    store: &dyn InventoryStore,
) -> anyhow::Result<u64> {
    let wanted = settings.common.environment == Environment::Dev && settings.service.seed_demo;
    if !wanted || store.gauges(i64::MAX).await?.0 != 0 {
        return Ok(0);
    }
    let added = store
        .seed(
            &demo_levels(settings.service.seed_count, settings.service.seed),
            chrono::Utc::now(),
        )
        .await?;
    tracing::info!(skus = added, "gave the demo catalog stock");
    Ok(added)
}

/// Builds the whole service: database, demo stock (dev only, empty database only), routes,
/// kit's middleware, with the reservation [`Sweeper`] as its loop (and as a handle, for tests
/// that sweep by hand).
pub async fn app(settings: &Settings) -> anyhow::Result<App> {
    let db = connect(settings).await?;
    let store: Arc<dyn InventoryStore> = Arc::new(SqlInventoryStore::new(db.clone()));
    seed_demo_if_empty(settings, store.as_ref()).await?;
    let metrics = Metrics::new(NAME);
    let reservations: Family<_, _> = metrics.registered(
        "inventory_reservations",
        "Reservation requests and transitions, by result (held, refused, confirmed, released, expired)",
    );
    let low_stock: Gauge = metrics.registered(
        "inventory_low_stock_skus",
        "SKUs at or below the low-stock threshold of available units",
    );
    let reserved_units: Gauge =
        metrics.registered("inventory_reserved_units", "Units held by reservations");
    let audit = AuditLog::for_service(&settings.common, NAME, &metrics).await?;
    let auth = Auth::from_settings(&settings.common, NAME, Vec::new());
    let state = AppState {
        store: Arc::clone(&store),
        auth: auth.clone(),
        audit,
        settings: Arc::new(settings.service.clone()),
        reservations: reservations.clone(),
    };
    let ctx = ServiceContext::new(NAME, &settings.common, Some(db), metrics, auth);
    let sweeper = Sweeper {
        store,
        interval: Duration::from_millis(settings.service.sweep_interval_ms),
        threshold: settings.service.low_stock_threshold,
        low_stock,
        reserved_units,
        expired: reservations,
    };
    let sweeping = sweeper.clone();
    Ok(App::new(finish(router(state), &ctx))
        .with_loop("reservation sweeper", move |stop| sweeping.run(stop))
        .with_handle(sweeper))
}
