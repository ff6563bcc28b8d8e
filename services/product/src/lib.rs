//! `shopctl-product`: the product catalog service (`shopctl serve product`).
//!
//! Products and categories with full-text search (SQLite FTS5 or PostgreSQL `tsvector`), facet
//! counts and keyset pagination. Same inner shape as every shopctl service: [`settings`],
//! [`error`], [`routes`], [`domain`], [`store`] (one trait, SQLite + PostgreSQL dialects),
//! migrations per backend, and `tests/api`.

pub mod domain;
mod error;
pub mod routes;
pub mod settings;
pub mod store;

use std::sync::Arc;

use anyhow::Context as _;
use shopctl_kit::{
    ServiceContext, auth::Auth, db::Db, http::finish, metrics::Metrics, service::App,
    settings::Environment,
};

pub use routes::{AppState, openapi, router};
pub use settings::{Settings, load as load_settings};
pub use store::MIGRATIONS;
use store::{ProductStore, SqlProductStore};

/// Service name, used in logs, metrics and the data file (`product.db`).
pub const NAME: &str = "product";

/// Opens (and migrates) the catalog database named by the settings.
pub async fn connect(settings: &Settings) -> anyhow::Result<Db> {
    Ok(Db::for_service(&settings.common, NAME, &MIGRATIONS).await?)
}

/// Builds the whole service: database, demo seed (dev only, empty database only), routes and
/// kit's middleware.
pub async fn app(settings: &Settings) -> anyhow::Result<App> {
    let db = connect(settings).await?;
    let store = Arc::new(SqlProductStore::new(db.clone()));
    seed_demo_if_empty(settings, store.as_ref()).await?;
    let metrics = Metrics::new(NAME);
    let auth = Auth::from_settings(&settings.common, NAME, Vec::new());
    let ctx = ServiceContext::new(NAME, &settings.common, Some(db), metrics, auth.clone());
    let state = AppState { store, auth };
    Ok(App::new(finish(router(state), &ctx)))
}

/// Loads the demo catalog into an empty database in the dev environment (when `seed_demo` is
/// on); does nothing otherwise. Returns how many products it inserted.
pub async fn seed_demo_if_empty(
    settings: &Settings,
    store: &dyn ProductStore,
) -> anyhow::Result<u64> {
    let wanted = settings.common.environment == Environment::Dev && settings.service.seed_demo;
    if !wanted || store.count_products().await? > 0 {
        return Ok(0);
    }
    let inserted = domain::seed::load(store, settings.service.seed_count, settings.service.seed)
        .await
        .context("seeding the demo catalog")?;
    tracing::info!(
        products = inserted,
        "seeded the demo catalog into an empty database"
    );
    Ok(inserted)
}
