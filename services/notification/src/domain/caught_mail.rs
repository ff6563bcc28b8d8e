//! A mail the dev mail catcher kept instead of sending.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// A caught mail, as `GET /api/notifications/outbox` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CaughtMail {
    /// Id of the caught mail (time-ordered; also the page cursor).
    pub id: String,
    /// The event the mail answers (also its `X-Shopctl-Event` header when sent over SMTP).
    pub event_id: String,
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// `text/plain` part.
    pub text: String,
    /// `text/html` part.
    pub html: String,
    /// `welcome`, `order_confirmed`, `order_cancelled` or `payment_failed`.
    pub kind: String,
    /// When it was caught.
    pub created_at: DateTime<Utc>,
}
