//! One entry of the delivery log: a mail that left the service.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// A delivered mail, as `GET /api/notifications/deliveries` lists it. Failed attempts are not
/// here: they are in the event outbox (`last_error`) and, once given up on, the dead letters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DeliveryRecord {
    /// Id of the entry (time-ordered; also the page cursor).
    pub id: String,
    /// The event the mail answers.
    pub event_id: String,
    /// `welcome`, `order_confirmed`, `order_cancelled` or `payment_failed`.
    pub kind: String,
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Always `sent`: the SMTP server (or the mail catcher) accepted the mail.
    pub status: String,
    /// Attempts it took, this successful one included.
    pub attempts: i64,
    /// When it was delivered.
    pub created_at: DateTime<Utc>,
}
