//! Notification persistence: the [`NotificationStore`] trait and its SQL implementation for
//! SQLite and PostgreSQL.
//!
//! The statements are the same on both backends (ids are text, the upsert is `ON CONFLICT …
//! DO UPDATE SET … = excluded.…`, which both speak), so the per-backend modules hold only
//! each backend's migrations.
//!
//! Accepting an event is one write transaction: the inbox entry (kit's [`events::first_time`]),
//! the contact change, and the rendered mail in kit's outbox, addressed to
//! [`MAIL_DESTINATION`]. Either all of it commits or none of it, so a mail is queued exactly once
//! per event however often the producer delivers it. The caught mails and the delivery log are
//! keyed by event id too, so a sink that runs twice for one outbox row (its row could not be
//! deleted after a success) records it once.

mod postgres;
mod sqlite;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shopctl_kit::{
    db::Migrations,
    db::{Db, StoreError},
    events,
    sql::{AnyRow, Param, Tx},
};
use uuid::Uuid;

use crate::{
    domain::sink::MAIL_DESTINATION,
    domain::{CaughtMail, Contact, DeliveryRecord, EmailAddress, Letterhead, MailJob, Notice},
};

/// The notification service's migrations, each backend's in its own module.
pub static MIGRATIONS: Migrations = Migrations {
    sqlite: sqlite::MIGRATOR,
    postgres: postgres::MIGRATOR,
};

/// This service's name in kit's inbox.
pub const CONSUMER: &str = "notification";

/// What accepting an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The event was applied; `mail` names the kind of mail it queued, if any.
    Accepted {
        /// [`crate::domain::Mail::kind`] of the queued mail.
        mail: Option<&'static str>,
    },
    /// The event was applied before: nothing changed.
    Duplicate,
    /// An order or payment event for a user without a contact: nothing changed (not even the
    /// inbox, so the event can be redriven once the user is known).
    NoContact,
}

/// A page of a newest-first list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Most items to return.
    pub limit: i64,
    /// Only items older than the one with this id (the previous page's last item).
    pub before: Option<String>,
}

/// What the notification service needs from its database.
#[async_trait]
pub trait NotificationStore: Send + Sync + 'static {
    /// Applies event `event_id` asking for `notice` once: records it in the inbox, changes the
    /// contacts and queues the mail rendered on `letterhead`, in one transaction.
    async fn apply(
        &self,
        event_id: Uuid,
        notice: &Notice,
        letterhead: &Letterhead,
    ) -> Result<Applied, StoreError>;
    /// The contact of `user_id`, if known.
    async fn contact(&self, user_id: Uuid) -> Result<Option<Contact>, StoreError>;
    /// Keeps `job` (for event `event_id`, delivered on attempt `attempts`) in the mail catcher
    /// and the delivery log. Once per event.
    async fn catch(&self, event_id: &str, job: &MailJob, attempts: i64) -> Result<(), StoreError>;
    /// Records in the delivery log that `job` was sent on attempt `attempts`. Once per event.
    async fn record_delivery(
        &self,
        event_id: &str,
        job: &MailJob,
        attempts: i64,
    ) -> Result<(), StoreError>;
    /// Caught mails, newest first.
    async fn caught_mail(&self, page: &Page) -> Result<Vec<CaughtMail>, StoreError>;
    /// The delivery log, newest first.
    async fn deliveries(&self, page: &Page) -> Result<Vec<DeliveryRecord>, StoreError>;
}

/// The SQL implementation of [`NotificationStore`].
#[derive(Debug, Clone)]
pub struct SqlNotificationStore {
    db: Db,
}

impl SqlNotificationStore {
    /// Wraps a migrated database (with kit's event tables installed).
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

#[derive(sqlx::FromRow)]
struct ContactRow {
    user_id: String,
    email: String,
    name: String,
}

#[derive(sqlx::FromRow)]
struct CaughtRow {
    id: String,
    event_id: String,
    to_address: String,
    subject: String,
    text_body: String,
    html_body: String,
    kind: String,
    created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    id: String,
    event_id: String,
    kind: String,
    to_address: String,
    subject: String,
    status: String,
    attempts: i64,
    created_at: DateTime<Utc>,
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Db(sqlx::Error::Decode(
        format!("corrupt {what} in contacts").into(),
    ))
}

impl TryFrom<ContactRow> for Contact {
    type Error = StoreError;

    fn try_from(row: ContactRow) -> Result<Self, StoreError> {
        Ok(Self {
            user_id: row.user_id.parse().map_err(|_| corrupt("user_id"))?,
            email: EmailAddress::parse(&row.email).map_err(|_| corrupt("email"))?,
            name: row.name,
        })
    }
}

impl From<CaughtRow> for CaughtMail {
    fn from(row: CaughtRow) -> Self {
        Self {
            id: row.id,
            event_id: row.event_id,
            to: row.to_address,
            subject: row.subject,
            text: row.text_body,
            html: row.html_body,
            kind: row.kind,
            created_at: row.created_at,
        }
    }
}

impl From<DeliveryRow> for DeliveryRecord {
    fn from(row: DeliveryRow) -> Self {
        Self {
            id: row.id,
            event_id: row.event_id,
            kind: row.kind,
            to: row.to_address,
            subject: row.subject,
            status: row.status,
            attempts: row.attempts,
            created_at: row.created_at,
        }
    }
}

/// Now, truncated to the microsecond precision both backends store.
fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

const CONTACT_COLUMNS: &str = "user_id, email, name";

async fn contact_in(tx: &mut Tx, user_id: Uuid) -> Result<Option<Contact>, StoreError> {
    let row: Option<ContactRow> = tx
        .fetch_optional(
            &format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE user_id = ?"),
            &[Param::Text(user_id.to_string())],
        )
        .await?;
    row.map(Contact::try_from).transpose()
}

async fn upsert_contact(tx: &mut Tx, contact: &Contact) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO contacts (user_id, email, name, updated_at) VALUES (?, ?, ?, ?) \
         ON CONFLICT (user_id) DO UPDATE SET email = excluded.email, name = excluded.name, \
         updated_at = excluded.updated_at",
        &[
            Param::Text(contact.user_id.to_string()),
            Param::Text(contact.email.as_ref().to_owned()),
            Param::Text(contact.name.clone()),
            Param::Time(now()),
        ],
    )
    .await?;
    Ok(())
}

async fn insert_delivery(
    tx: &mut Tx,
    event_id: &str,
    job: &MailJob,
    attempts: i64,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO deliveries (id, event_id, kind, to_address, subject, status, attempts, \
         created_at) VALUES (?, ?, ?, ?, ?, 'sent', ?, ?) ON CONFLICT (event_id) DO NOTHING",
        &[
            Param::Text(Uuid::now_v7().to_string()),
            Param::Text(event_id.to_owned()),
            Param::Text(job.kind.clone()),
            Param::Text(job.to.clone()),
            Param::Text(job.subject.clone()),
            Param::Int(attempts),
            Param::Time(now()),
        ],
    )
    .await?;
    Ok(())
}

/// One `page` of `table`, newest first: `columns` of each row, read as `R` and kept as `T`.
async fn newest_first<R: AnyRow, T: From<R>>(
    db: &Db,
    table: &str,
    columns: &str,
    page: &Page,
) -> Result<Vec<T>, StoreError> {
    let mut params = Vec::with_capacity(2);
    let filter = if let Some(id) = &page.before {
        params.push(Param::Text(id.clone()));
        " WHERE id < ?"
    } else {
        ""
    };
    params.push(Param::Int(page.limit));
    let rows: Vec<R> = db
        .fetch_all(
            &format!("SELECT {columns} FROM {table}{filter} ORDER BY id DESC LIMIT ?"),
            &params,
        )
        .await?;
    Ok(rows.into_iter().map(T::from).collect())
}

#[async_trait]
impl NotificationStore for SqlNotificationStore {
    #[tracing::instrument(name = "Apply event", skip_all, fields(%event_id))]
    async fn apply(
        &self,
        event_id: Uuid,
        notice: &Notice,
        letterhead: &Letterhead,
    ) -> Result<Applied, StoreError> {
        let mut tx = self.db.begin_write().await?;
        if !events::first_time(&mut tx, CONSUMER, event_id).await? {
            tx.commit().await?;
            return Ok(Applied::Duplicate);
        }
        let contact = match notice {
            Notice::Registered(contact) => {
                upsert_contact(&mut tx, contact).await?;
                contact.clone()
            }
            Notice::Erased { user_id } => {
                tx.execute(
                    "DELETE FROM contacts WHERE user_id = ?",
                    &[Param::Text(user_id.to_string())],
                )
                .await?;
                tx.commit().await?;
                return Ok(Applied::Accepted { mail: None });
            }
            Notice::Order { user_id, .. } => {
                let Some(contact) = contact_in(&mut tx, *user_id).await? else {
                    // Dropping the transaction rolls the inbox entry back too.
                    drop(tx);
                    return Ok(Applied::NoContact);
                };
                contact
            }
        };
        let Some(mail) = notice.mail(&contact) else {
            tx.commit().await?;
            return Ok(Applied::Accepted { mail: None });
        };
        let job = MailJob::new(&contact.email, &mail, letterhead, notice.order_id());
        events::enqueue_to(&mut tx, event_id, &job.topic(), MAIL_DESTINATION, &job).await?;
        tx.commit().await?;
        Ok(Applied::Accepted {
            mail: Some(mail.kind()),
        })
    }

    async fn contact(&self, user_id: Uuid) -> Result<Option<Contact>, StoreError> {
        let row: Option<ContactRow> = self
            .db
            .fetch_optional(
                &format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE user_id = ?"),
                &[Param::Text(user_id.to_string())],
            )
            .await?;
        row.map(Contact::try_from).transpose()
    }

    #[tracing::instrument(name = "Catch mail", skip_all, fields(%event_id, kind = %job.kind))]
    async fn catch(&self, event_id: &str, job: &MailJob, attempts: i64) -> Result<(), StoreError> {
        let mut tx = self.db.begin_write().await?;
        tx.execute(
            "INSERT INTO caught_mail (id, event_id, to_address, subject, text_body, html_body, \
             kind, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING",
            &[
                Param::Text(Uuid::now_v7().to_string()),
                Param::Text(event_id.to_owned()),
                Param::Text(job.to.clone()),
                Param::Text(job.subject.clone()),
                Param::Text(job.text.clone()),
                Param::Text(job.html.clone()),
                Param::Text(job.kind.clone()),
                Param::Time(now()),
            ],
        )
        .await?;
        insert_delivery(&mut tx, event_id, job, attempts).await?;
        tx.commit().await
    }

    #[tracing::instrument(name = "Record delivery", skip_all, fields(%event_id, kind = %job.kind))]
    async fn record_delivery(
        &self,
        event_id: &str,
        job: &MailJob,
        attempts: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.db.begin_write().await?;
        insert_delivery(&mut tx, event_id, job, attempts).await?;
        tx.commit().await
    }

    async fn caught_mail(&self, page: &Page) -> Result<Vec<CaughtMail>, StoreError> {
        newest_first::<CaughtRow, _>(
            &self.db,
            "caught_mail",
            "id, event_id, to_address, subject, text_body, html_body, kind, created_at",
            page,
        )
        .await
    }

    async fn deliveries(&self, page: &Page) -> Result<Vec<DeliveryRecord>, StoreError> {
        newest_first::<DeliveryRow, _>(
            &self.db,
            "deliveries",
            "id, event_id, kind, to_address, subject, status, attempts, created_at",
            page,
        )
        .await
    }
}
