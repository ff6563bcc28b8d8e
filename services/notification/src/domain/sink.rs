//! Where queued mails go: the two [`Sink`]s the mail relay can deliver through.
//!
//! - [`SmtpSink`] sends a `multipart/alternative` message (text and HTML) to the configured SMTP
//!   server with lettre. The connection is **plain SMTP, without TLS or STARTTLS**: point
//!   `smtp_host` at a relay on the same host or a trusted network (a local MTA, a mail sidecar)
//!   that does TLS onwards. A 5xx reply refuses the mail for good and dead-letters it at once;
//!   4xx replies, connection failures and timeouts (10 s) are retried on the relay's schedule.
//! - [`CatcherSink`] is the dev mail catcher used when no `smtp_host` is set: it keeps the mail
//!   in the `caught_mail` table, where `GET /api/notifications/outbox` shows it.
//!
//! Both record each mail that left in the `deliveries` log. Neither logs an address or a body:
//! logs carry the event id and the mail's kind.

use std::{sync::Arc, time::Duration};

use lettre::{
    AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor,
    message::{
        Mailbox, MultiPart,
        header::{HeaderName, HeaderValue},
    },
    transport::smtp::{self, authentication::Credentials},
};
use secrecy::ExposeSecret as _;
use shopctl_kit::events::{DeliverFuture, Delivery, DeliveryError, Sink};

use crate::{domain::MailJob, settings::NotificationSettings, store::NotificationStore};

/// The outbox destination of mails; the mail relay takes only rows addressed to it.
pub const MAIL_DESTINATION: &str = "smtp:";

/// The header naming the event a mail answers, so a recipient system (or a test) can match a
/// message to its event and tell a resend from a new mail.
pub const EVENT_HEADER: &str = "X-Shopctl-Event";

/// How long one SMTP conversation may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(10);

/// The mail job of an outbox row; a row that does not hold one can never be sent.
fn job(delivery: &Delivery) -> Result<MailJob, DeliveryError> {
    serde_json::from_str(&delivery.payload)
        .map_err(|e| DeliveryError::Permanent(format!("corrupt mail job: {e}")))
}

/// This delivery's attempt number, counting itself.
fn attempt(delivery: &Delivery) -> i64 {
    delivery.attempts.saturating_add(1)
}

/// Replaces every word that contains an `@` with `[address]`: SMTP replies often quote the
/// recipient, and the relay logs and stores the error text.
fn without_addresses(text: &str) -> String {
    text.split(' ')
        .map(|word| {
            if word.contains('@') {
                "[address]"
            } else {
                word
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Sends mails to an SMTP server.
pub struct SmtpSink {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    store: Arc<dyn NotificationStore>,
}

impl SmtpSink {
    /// A sink for the server `settings.smtp_host` names, recording deliveries in `store`.
    pub fn new(
        settings: &NotificationSettings,
        store: Arc<dyn NotificationStore>,
    ) -> anyhow::Result<Self> {
        let host = settings
            .smtp_host
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("notification.smtp_host is not set"))?;
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|e| anyhow::anyhow!("notification.from is not a mailbox: {e}"))?;
        // Plain SMTP on purpose (see the module docs): no TLS backend is compiled in.
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(settings.smtp_port)
            .timeout(Some(SMTP_TIMEOUT));
        if let (Some(username), Some(password)) = (&settings.smtp_username, &settings.smtp_password)
        {
            builder = builder.credentials(Credentials::new(
                username.expose_secret().to_owned(),
                password.expose_secret().to_owned(),
            ));
        }
        Ok(Self {
            transport: builder.build(),
            from,
            store,
        })
    }

    fn message(&self, delivery: &Delivery, job: &MailJob) -> Result<Message, DeliveryError> {
        let to: Mailbox = job.to.parse().map_err(|_| {
            DeliveryError::Permanent("the recipient is not a valid address".to_owned())
        })?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(job.subject.clone())
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str(EVENT_HEADER),
                delivery.event_id.clone(),
            ))
            .multipart(MultiPart::alternative_plain_html(
                job.text.clone(),
                job.html.clone(),
            ))
            .map_err(|e| DeliveryError::Permanent(format!("cannot build the message: {e}")))
    }
}

/// Permanent SMTP refusals (5xx) dead-letter the mail; anything else is worth another try.
fn classify(err: &smtp::Error) -> DeliveryError {
    let message = without_addresses(&format!("SMTP: {err}"));
    if err.is_permanent() {
        DeliveryError::Permanent(message)
    } else {
        DeliveryError::Retry(message)
    }
}

impl Sink for SmtpSink {
    fn deliver<'a>(&'a self, delivery: &'a Delivery) -> DeliverFuture<'a> {
        Box::pin(async move {
            let job = job(delivery)?;
            let message = self.message(delivery, &job)?;
            self.transport
                .send(message)
                .await
                .map_err(|err| classify(&err))?;
            tracing::info!(
                event_id = %delivery.event_id,
                kind = %job.kind,
                attempt = attempt(delivery),
                "mail sent"
            );
            // The server has the mail: failing now would only send it twice, so a log that
            // cannot be written is a warning, not a failed delivery.
            if let Err(err) = self
                .store
                .record_delivery(&delivery.event_id, &job, attempt(delivery))
                .await
            {
                tracing::warn!(
                    event_id = %delivery.event_id,
                    error = %err,
                    "mail sent but not recorded in the delivery log"
                );
            }
            Ok(())
        })
    }
}

/// Keeps mails in the database instead of sending them (the dev mail catcher).
pub struct CatcherSink {
    store: Arc<dyn NotificationStore>,
}

impl CatcherSink {
    /// A catcher writing to `store`.
    pub fn new(store: Arc<dyn NotificationStore>) -> Self {
        Self { store }
    }
}

impl Sink for CatcherSink {
    fn deliver<'a>(&'a self, delivery: &'a Delivery) -> DeliverFuture<'a> {
        Box::pin(async move {
            let job = job(delivery)?;
            self.store
                .catch(&delivery.event_id, &job, attempt(delivery))
                .await
                .map_err(|err| DeliveryError::Retry(format!("cannot keep the mail: {err}")))?;
            tracing::info!(
                event_id = %delivery.event_id,
                kind = %job.kind,
                "mail caught (no smtp_host is set)"
            );
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_left_out_of_error_text() {
        assert_eq!(
            without_addresses("550 5.1.1 <ana@example.com>: Recipient address rejected"),
            "550 5.1.1 [address] Recipient address rejected"
        );
    }
}
