//! The notification service's HTTP surface: `POST /internal/events` where the other services'
//! relays deliver their events (service tokens only; the gateway does not route `/internal`),
//! `/api/notifications/{outbox,deliveries}` for administrators (the dev mail catcher and the
//! delivery log), and `/openapi.json`.

mod admin;
mod events;

use std::sync::Arc;

use prometheus_client::metrics::{counter::Counter, family::Family};
use shopctl_kit::{auth::Auth, metrics::Metrics};
use tokio::sync::Notify;

use crate::{
    domain::{Letterhead, Topic},
    store::NotificationStore,
};

/// Labels of `notifications_received_total`: `topic` (a handled topic, or `other`) and
/// `result` (`accepted`, `duplicate`, `ignored`, `rejected`).
pub type ReceivedLabels = Vec<(&'static str, &'static str)>;

/// Shared state of the notification handlers.
#[derive(Clone)]
pub struct AppState {
    /// Contacts, the mail catcher and the delivery log.
    pub store: Arc<dyn NotificationStore>,
    /// Caller authentication.
    pub auth: Auth,
    /// The shop's name and URL, for rendering mails.
    pub letterhead: Arc<Letterhead>,
    /// Wakes the mail relay after a mail was queued.
    pub mail_waker: Arc<Notify>,
    /// `notifications_received_total{topic,result}`.
    pub received: Family<ReceivedLabels, Counter>,
}

impl AppState {
    /// State over `store`, registering the notification metrics in `metrics`.
    pub fn new(
        store: Arc<dyn NotificationStore>,
        auth: Auth,
        letterhead: Letterhead,
        mail_waker: Arc<Notify>,
        metrics: &Metrics,
    ) -> Self {
        Self {
            store,
            auth,
            letterhead: Arc::new(letterhead),
            mail_waker,
            received: metrics.registered(
                "notifications_received",
                "Events received, by topic (`other` for topics not handled) and result (accepted, duplicate, ignored, rejected)",
            ),
        }
    }

    /// Counts one received event in `notifications_received_total`.
    pub fn count(&self, topic: Option<Topic>, result: &'static str) {
        let topic = topic.map_or("other", Topic::as_str);
        self.received
            .get_or_create(&vec![("topic", topic), ("result", result)])
            .inc();
    }
}

shopctl_kit::service_routes! {
    state: AppState,
    title: "shopctl notifications",
    description: "Turns platform events into transactional e-mails (welcome, order confirmation, cancellation, failed payment), sent over SMTP or kept by the dev mail catcher. Errors are RFC 9457 problem+json.",
    tags: ((name = "notifications", description = "The dev mail catcher and the delivery log (admin)"),
        (name = "internal", description = "Event delivery from the other services' relays; not exposed by the gateway")),
    routes: [events, admin],
}
