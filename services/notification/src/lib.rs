//! `shopctl-notification`: transactional e-mail (`shopctl serve notification`, port 8087).
//!
//! The user, order and payment services' relays deliver their events to `POST /internal/events`.
//! Each event takes effect once (kit's inbox): `user.registered` remembers the user's address
//! and name as a contact and queues a welcome mail, `user.erased` forgets the contact, and
//! `order.confirmed`, `order.cancelled` and `payment.failed` queue a mail to the buyer. A mail
//! is rendered once, when its event is accepted, and queued in kit's outbox in the same
//! transaction; the mail [`Relay`] then delivers it through a [`sink`]: an SMTP server when
//! `smtp_host` is set, otherwise the dev mail catcher (`GET /api/notifications/outbox`), with
//! retries, backoff and dead letters like every other event delivery.
//!
//! Same inner shape as every shopctl service: [`settings`], `error`, [`routes`], [`domain`],
//! [`store`], migrations per backend and `tests/api`; plus [`sink`] for where mail goes.

pub mod domain;
mod error;
pub mod routes;
pub mod settings;
pub mod sink;
pub mod store;

use std::{future::Future, sync::Arc, time::Duration};

use axum::Router;
use shopctl_kit::{
    ServiceContext,
    auth::Auth,
    db::{Db, Migrations},
    events::{self, Relay, Sink},
    http::finish,
    metrics::Metrics,
};

pub use routes::{AppState, openapi, router};
pub use settings::{Settings, load as load_settings};
use sink::{CatcherSink, MAIL_DESTINATION, SmtpSink};
use store::{NotificationStore, SqlNotificationStore};

/// Service name, used in logs, metrics, the data file (`notification.db`) and the audience of
/// the service tokens it accepts.
pub const NAME: &str = "notification";

/// How often the mail relay looks for due mail when nothing wakes it (a queued mail wakes it at
/// once; retries become due on their own schedule and are picked up within this interval).
pub const RELAY_INTERVAL: Duration = Duration::from_secs(1);

/// The notification migrations for both backends.
pub static MIGRATIONS: Migrations = Migrations {
    sqlite: sqlx::migrate!("./migrations/sqlite"),
    postgres: sqlx::migrate!("./migrations/postgres"),
};

/// Opens (and migrates) the notification database named by the settings, with kit's event
/// tables (outbox, inbox, dead letters) installed.
pub async fn connect(settings: &Settings) -> anyhow::Result<Db> {
    let db = Db::for_service(&settings.common, NAME, &MIGRATIONS).await?;
    events::install(&db).await?;
    Ok(db)
}

/// A built notification service: its router and the mail relay to run beside it.
pub struct Service {
    /// Routes with kit's middleware.
    pub router: Router,
    /// Delivers queued mails (outbox rows for [`MAIL_DESTINATION`]) through the configured
    /// sink. `serve` runs it until shutdown; tests call [`Relay::run_once`] to drive it.
    pub relay: Relay,
    /// The service's database (for tests and tools: outbox depths, dead letters, redrive).
    pub db: Db,
}

/// Builds the whole service: database and event tables, the mail sink (SMTP or the catcher),
/// the mail relay, metrics, routes and kit's middleware.
pub async fn build(settings: &Settings) -> anyhow::Result<Service> {
    let db = connect(settings).await?;
    let store: Arc<dyn NotificationStore> = Arc::new(SqlNotificationStore::new(db.clone()));
    let service = &settings.service;
    let sink: Arc<dyn Sink> = if let Some(host) = &service.smtp_host {
        tracing::info!(
            smtp_host = %host,
            smtp_port = service.smtp_port,
            "mail goes out over plain SMTP (no TLS)"
        );
        Arc::new(SmtpSink::new(service, Arc::clone(&store))?)
    } else {
        tracing::info!("no smtp_host: mail is caught, see GET /api/notifications/outbox");
        Arc::new(CatcherSink::new(Arc::clone(&store)))
    };
    let metrics = Metrics::new(NAME);
    let relay =
        Relay::new(db.clone(), sink, service.retry_policy(), &metrics).only(MAIL_DESTINATION);
    let auth = Auth::from_settings(&settings.common, NAME, Vec::new());
    let state = AppState::new(
        store,
        auth.clone(),
        domain::Letterhead {
            shop_name: service.shop_name.clone(),
            shop_url: service.shop_url.clone(),
        },
        relay.waker(),
        &metrics,
    );
    let ctx = ServiceContext {
        name: NAME,
        db: Some(db.clone()),
        metrics,
        settings: settings.common.clone(),
        auth,
    };
    Ok(Service {
        router: finish(router(state), &ctx),
        relay,
        db,
    })
}

/// Runs the service and its mail relay until `shutdown` resolves, then drains in-flight
/// requests and lets the relay finish the mail in hand.
pub async fn serve(
    settings: &Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let service = build(settings).await?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let relay = tokio::spawn(service.relay.run(RELAY_INTERVAL, async move {
        let mut stop_rx = stop_rx;
        let _ = stop_rx.wait_for(|stop| *stop).await;
    }));
    let result =
        shopctl_kit::service::serve(NAME, &settings.common, service.router, shutdown).await;
    let _ = stop_tx.send(true);
    let _ = relay.await;
    result?;
    Ok(())
}
