//! A rendered mail waiting in the outbox: what the mail relay hands to a sink.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{EmailAddress, Mail};

/// The shop a mail comes from: its name and storefront URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letterhead {
    /// The shop's name.
    pub shop_name: String,
    /// The storefront's base URL.
    pub shop_url: String,
}

/// One mail to send, as stored in the outbox (JSON). Rendering happens once, when the event
/// is accepted, so every retry sends exactly the same message.
///
/// Its `Debug` form leaves out the address and the bodies.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailJob {
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// `text/plain` part.
    pub text: String,
    /// `text/html` part.
    pub html: String,
    /// [`Mail::kind`]: `welcome`, `order_confirmed`, …
    pub kind: String,
    /// The order the mail is about, if any.
    #[serde(default)]
    pub order_id: Option<String>,
}

impl MailJob {
    /// Renders `mail` for `to` on `letterhead`.
    pub fn new(
        to: &EmailAddress,
        mail: &Mail,
        letterhead: &Letterhead,
        order_id: Option<Uuid>,
    ) -> Self {
        let rendered = mail.render(&letterhead.shop_name, &letterhead.shop_url);
        Self {
            to: to.as_ref().to_owned(),
            subject: rendered.subject,
            text: rendered.text,
            html: rendered.html,
            kind: mail.kind().to_owned(),
            order_id: order_id.map(|id| id.to_string()),
        }
    }

    /// The outbox topic of this mail: `mail.<kind>`.
    pub fn topic(&self) -> String {
        format!("mail.{}", self.kind)
    }
}

impl fmt::Debug for MailJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailJob")
            .field("kind", &self.kind)
            .field("order_id", &self.order_id)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_is_rendered_once_and_round_trips_as_json() {
        let letterhead = Letterhead {
            shop_name: "Acme".to_owned(),
            shop_url: "https://shop.example.com".to_owned(),
        };
        let to = EmailAddress::parse("ana@example.com").unwrap();
        let job = MailJob::new(
            &to,
            &Mail::Welcome {
                name: "Ana".to_owned(),
            },
            &letterhead,
            None,
        );
        assert_eq!(job.subject, "Welcome to Acme");
        assert_eq!(job.topic(), "mail.welcome");
        let json = serde_json::to_string(&job).unwrap();
        assert_eq!(serde_json::from_str::<MailJob>(&json).unwrap(), job);
        let debug = format!("{job:?}");
        assert!(
            !debug.contains("ana@") && !debug.contains("Welcome"),
            "{debug}"
        );
    }
}
