//! The notification service's vocabulary, free of HTTP and SQL: the events it consumes
//! ([`Topic`], [`Notice`]), the people it writes to ([`Contact`], [`EmailAddress`]), the mails
//! themselves ([`Mail`] and its [`templates`](Mail::render)), the rendered [`MailJob`] the outbox
//! carries, and what the admin routes show ([`CaughtMail`], [`DeliveryRecord`]).

mod caught_mail;
mod contact;
mod delivery_record;
mod event;
mod mail_job;
pub mod sink;
mod templates;

pub use caught_mail::CaughtMail;
pub use contact::{Contact, EmailAddress};
pub use delivery_record::DeliveryRecord;
pub use event::{Draft, Notice, Topic};
pub use mail_job::{Letterhead, MailJob};
pub use templates::{Line, Mail, Money, Rendered, escape_html};

pub use shopctl_kit::vocabulary::FieldError;
