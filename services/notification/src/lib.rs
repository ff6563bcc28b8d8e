//! `shopctl-notification`: transactional e-mail (`shopctl serve notification`, port 8087).
//!
//! The user, order and payment services' relays deliver their events to `POST /internal/events`.
//! Each event takes effect once (kit's inbox): `user.registered` remembers the user's address
//! and name as a contact and queues a welcome mail, `user.erased` forgets the contact, and
//! `order.confirmed`, `order.cancelled` and `payment.failed` queue a mail to the buyer. A mail
//! is rendered once, when its event is accepted, and queued in kit's outbox in the same
//! transaction; the mail [`Relay`] then delivers it through a [`domain::sink`]: an SMTP server when
//! `smtp_host` is set, otherwise the dev mail catcher (`GET /api/notifications/outbox`), with
//! retries, backoff and dead letters like every other event delivery.
//!
//! Same inner shape as every shopctl service: [`settings`], `error`, [`routes`], [`domain`],
//! [`store`], migrations per backend and `tests/api`.

pub mod domain;
mod error;
pub mod routes;
pub mod settings;
pub mod store;

use std::{sync::Arc, time::Duration};

use shopctl_kit::{
    ServiceContext,
    auth::Auth,
    db::Db,
    events::{self, Relay, Sink},
    http::finish,
    metrics::Metrics,
    service::App,
};

use domain::sink::{CatcherSink, MAIL_DESTINATION, SmtpSink};
pub use routes::{AppState, openapi, router};
pub use settings::{Settings, load as load_settings};
pub use store::MIGRATIONS;
use store::{NotificationStore, SqlNotificationStore};

/// Service name, used in logs, metrics, the data file (`notification.db`) and the audience of
/// the service tokens it accepts.
pub const NAME: &str = "notification";

/// How often the mail relay looks for due mail when nothing wakes it (a queued mail wakes it at
/// once; retries become due on their own schedule and are picked up within this interval).
pub const RELAY_INTERVAL: Duration = Duration::from_secs(1);

/// Opens (and migrates) the notification database named by the settings, with kit's event
/// tables (outbox, inbox, dead letters) installed.
pub async fn connect(settings: &Settings) -> anyhow::Result<Db> {
    let db = Db::for_service(&settings.common, NAME, &MIGRATIONS).await?;
    events::install(&db).await?;
    Ok(db)
}

/// Builds the whole service: database and event tables, the mail sink (SMTP or the catcher),
/// metrics, routes and kit's middleware, with the mail relay as its loop. It keeps the relay and
/// the database as handles: tests drive the relay with [`Relay::run_once`] and read outbox depths
/// and dead letters from the database.
pub async fn app(settings: &Settings) -> anyhow::Result<App> {
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
    let ctx = ServiceContext::new(NAME, &settings.common, Some(db.clone()), metrics, auth);
    let mail = relay.clone();
    Ok(App::new(finish(router(state), &ctx))
        .with_loop("mail relay", move |stop| {
            mail.run(RELAY_INTERVAL, stop.requested())
        })
        .with_handle(relay)
        .with_handle(db))
}
