//! Identity persistence: the [`UserStore`] trait and its SQL implementation for SQLite and
//! PostgreSQL. Text differs between the backends only in how UUID columns are read back
//! ([`sqlite::ID`] / [`postgres::ID`]).

mod postgres;
mod sqlite;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shopctl_kit::{
    db::{Backend, Db, StoreError},
    events::Outbox,
    sql::Param,
};
use uuid::Uuid;

use crate::domain::{Role, SessionInfo, User};

/// An account with what login needs to know.
#[derive(Debug, Clone)]
pub struct StoredUser {
    /// The account.
    pub user: User,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Locked until this time.
    pub locked_until: Option<DateTime<Utc>>,
    /// Erased (pseudonymised) accounts cannot sign in.
    pub erased: bool,
}

/// A new account.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Normalised e-mail.
    pub email: String,
    /// Display name.
    pub name: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Roles.
    pub roles: Vec<Role>,
}

/// What presenting a refresh token found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// Valid and now used: issue the next token of the family.
    Valid {
        /// Owner.
        user_id: Uuid,
        /// Family.
        family_id: Uuid,
    },
    /// Already used once: a copy is in someone else's hands. The family must be revoked.
    Reused {
        /// Family.
        family_id: Uuid,
    },
    /// Unknown, expired or revoked.
    Invalid,
}

/// A stored signing key.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KeyRow {
    /// Key id.
    pub kid: String,
    /// Base64url seed.
    pub seed: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Retirement time (still published until tokens signed before it expire).
    pub retired_at: Option<DateTime<Utc>>,
}

/// What the identity service needs from its database.
#[async_trait]
pub trait UserStore: Send + Sync + 'static {
    /// Creates an account; `UniqueViolation` when the e-mail exists.
    async fn create_user(&self, user: &NewUser) -> Result<User, StoreError>;
    /// An account by id.
    async fn user(&self, id: Uuid) -> Result<StoredUser, StoreError>;
    /// An account by normalised e-mail.
    async fn user_by_email(&self, email: &str) -> Result<StoredUser, StoreError>;
    /// Counts a failed login; returns the lock expiry when this failure locked the account.
    async fn record_failed_login(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
        window: chrono::Duration,
        threshold: u32,
        lock_for: chrono::Duration,
    ) -> Result<Option<DateTime<Utc>>, StoreError>;
    /// Forgets failed logins after a success.
    async fn clear_failed_logins(&self, id: Uuid) -> Result<(), StoreError>;
    /// Changes the display name.
    async fn set_name(&self, id: Uuid, name: &str) -> Result<User, StoreError>;
    /// Replaces the password hash.
    async fn set_password(&self, id: Uuid, hash: &str) -> Result<(), StoreError>;
    /// Replaces the roles.
    async fn set_roles(&self, id: Uuid, roles: &[Role]) -> Result<User, StoreError>;
    /// Accounts ordered by id, after `after`.
    async fn list_users(&self, after: Option<Uuid>, limit: u32) -> Result<Vec<User>, StoreError>;
    /// Pseudonymises an account: e-mail and name replaced, password unusable, sessions revoked.
    async fn erase(&self, id: Uuid, now: DateTime<Utc>) -> Result<(), StoreError>;
    /// Stores a refresh token's hash, unless its family has been revoked meanwhile (a
    /// concurrent reuse); returns whether it was stored.
    async fn insert_refresh(
        &self,
        hash: &str,
        user_id: Uuid,
        family_id: Uuid,
        issued_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Uses a refresh token (atomically: two concurrent uses cannot both succeed).
    async fn consume_refresh(
        &self,
        hash: &str,
        now: DateTime<Utc>,
    ) -> Result<RefreshOutcome, StoreError>;
    /// Revokes every token of a family.
    async fn revoke_family(&self, family_id: Uuid, now: DateTime<Utc>) -> Result<(), StoreError>;
    /// Revokes every token of a user.
    async fn revoke_user_sessions(
        &self,
        user_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// The family a refresh token belongs to.
    async fn refresh_family(&self, hash: &str) -> Result<Option<(Uuid, Uuid)>, StoreError>;
    /// Live sessions of a user.
    async fn sessions(
        &self,
        user_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Vec<SessionInfo>, StoreError>;
    /// Signing keys that are active or retired after `since`.
    async fn signing_keys(&self, since: DateTime<Utc>) -> Result<Vec<KeyRow>, StoreError>;
    /// Adds a key and retires every other active one.
    async fn rotate_key(&self, kid: &str, seed: &str, now: DateTime<Utc>)
    -> Result<(), StoreError>;
}

/// The SQL implementation of [`UserStore`].
#[derive(Debug, Clone)]
pub struct SqlUserStore {
    db: Db,
    outbox: Outbox,
}

impl SqlUserStore {
    /// Wraps a migrated database; events go nowhere until [`SqlUserStore::with_outbox`].
    pub fn new(db: Db) -> Self {
        Self {
            db,
            outbox: Outbox::new(std::collections::BTreeMap::new()),
        }
    }

    /// Writes `user.registered` and `user.erased` through `outbox`, in the transaction of the
    /// change.
    #[must_use]
    pub fn with_outbox(mut self, outbox: Outbox) -> Self {
        self.outbox = outbox;
        self
    }

    fn id_column(&self, column: &'static str) -> &'static str {
        match self.db.backend() {
            Backend::Sqlite => sqlite::id_column(column),
            Backend::Postgres => postgres::id_column(column),
        }
    }

    fn user_columns(&self) -> String {
        format!(
            "{}, email, name, password_hash, roles, locked_until, erased_at, created_at, updated_at",
            self.id_column("id")
        )
    }
}

#[derive(Debug, sqlx::FromRow)]
struct UserRow {
    id: String,
    email: String,
    name: String,
    password_hash: String,
    roles: String,
    locked_until: Option<DateTime<Utc>>,
    erased_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Db(sqlx::Error::Decode(
        format!("corrupt {what} in users").into(),
    ))
}

impl TryFrom<UserRow> for StoredUser {
    type Error = StoreError;

    fn try_from(row: UserRow) -> Result<Self, StoreError> {
        Ok(Self {
            user: User {
                id: row.id.parse().map_err(|_| corrupt("id"))?,
                email: row.email,
                name: row.name,
                roles: serde_json::from_str(&row.roles).map_err(|_| corrupt("roles"))?,
                created_at: row.created_at,
                updated_at: row.updated_at,
            },
            password_hash: row.password_hash,
            locked_until: row.locked_until,
            erased: row.erased_at.is_some(),
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
struct FailureRow {
    failed_logins: i64,
}

#[derive(Debug, sqlx::FromRow)]
struct RefreshRow {
    user_id: String,
    family_id: String,
    used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    expires_at: DateTime<Utc>,
}

#[derive(Debug, sqlx::FromRow)]
struct SessionRow {
    family_id: String,
    issued_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

fn roles_json(roles: &[Role]) -> String {
    serde_json::to_string(roles).unwrap_or_else(|_| "[]".to_owned())
}

fn parse_uuid(text: &str) -> Result<Uuid, StoreError> {
    text.parse().map_err(|_| corrupt("uuid"))
}

#[async_trait]
impl UserStore for SqlUserStore {
    async fn create_user(&self, user: &NewUser) -> Result<User, StoreError> {
        let (id, now) = (Uuid::now_v7(), now());
        let mut tx = self.db.begin_write().await?;
        tx.execute(
            "INSERT INTO users (id, email, name, password_hash, roles, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
            &[
                Param::Uuid(id),
                user.email.clone().into(),
                user.name.clone().into(),
                user.password_hash.clone().into(),
                roles_json(&user.roles).into(),
                Param::Time(now),
                Param::Time(now),
            ],
        )
        .await?;
        self.outbox
            .enqueue(
                &mut tx,
                "user.registered",
                &serde_json::json!({"user_id": id, "email": user.email, "name": user.name}),
            )
            .await?;
        tx.commit().await?;
        Ok(User {
            id,
            email: user.email.clone(),
            name: user.name.clone(),
            roles: user.roles.clone(),
            created_at: now,
            updated_at: now,
        })
    }

    async fn user(&self, id: Uuid) -> Result<StoredUser, StoreError> {
        let sql = format!("SELECT {} FROM users WHERE id = ?", self.user_columns());
        self.db
            .fetch_one::<UserRow>(&sql, &[Param::Uuid(id)])
            .await?
            .try_into()
    }

    async fn user_by_email(&self, email: &str) -> Result<StoredUser, StoreError> {
        let sql = format!("SELECT {} FROM users WHERE email = ?", self.user_columns());
        self.db
            .fetch_one::<UserRow>(&sql, &[email.into()])
            .await?
            .try_into()
    }

    async fn record_failed_login(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
        window: chrono::Duration,
        threshold: u32,
        lock_for: chrono::Duration,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        // One statement: a new window starts when the old one has passed.
        let row: FailureRow = self
            .db
            .fetch_one(
                "UPDATE users SET \
                 failed_logins = CASE WHEN failed_window_start IS NULL OR failed_window_start < ? \
                     THEN 1 ELSE failed_logins + 1 END, \
                 failed_window_start = CASE WHEN failed_window_start IS NULL OR failed_window_start < ? \
                     THEN ? ELSE failed_window_start END \
                 WHERE id = ? RETURNING CAST(failed_logins AS BIGINT) AS failed_logins",
                &[Param::Time(now - window), Param::Time(now - window), Param::Time(now), Param::Uuid(id)],
            )
            .await?;
        if row.failed_logins < i64::from(threshold) {
            return Ok(None);
        }
        let until = now + lock_for;
        self.db
            .execute(
                "UPDATE users SET locked_until = ?, failed_logins = 0, failed_window_start = NULL WHERE id = ?",
                &[Param::Time(until), Param::Uuid(id)],
            )
            .await?;
        Ok(Some(until))
    }

    async fn clear_failed_logins(&self, id: Uuid) -> Result<(), StoreError> {
        self.db
            .execute(
                "UPDATE users SET failed_logins = 0, failed_window_start = NULL, locked_until = NULL WHERE id = ?",
                &[Param::Uuid(id)],
            )
            .await
            .map(drop)
    }

    async fn set_name(&self, id: Uuid, name: &str) -> Result<User, StoreError> {
        let changed = self
            .db
            .execute(
                "UPDATE users SET name = ?, updated_at = ? WHERE id = ? AND erased_at IS NULL",
                &[name.into(), Param::Time(now()), Param::Uuid(id)],
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(self.user(id).await?.user)
    }

    async fn set_password(&self, id: Uuid, hash: &str) -> Result<(), StoreError> {
        match self
            .db
            .execute(
                "UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ? AND erased_at IS NULL",
                &[hash.into(), Param::Time(now()), Param::Uuid(id)],
            )
            .await?
        {
            0 => Err(StoreError::NotFound),
            _ => Ok(()),
        }
    }

    async fn set_roles(&self, id: Uuid, roles: &[Role]) -> Result<User, StoreError> {
        let changed = self
            .db
            .execute(
                "UPDATE users SET roles = ?, updated_at = ? WHERE id = ? AND erased_at IS NULL",
                &[
                    roles_json(roles).into(),
                    Param::Time(now()),
                    Param::Uuid(id),
                ],
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(self.user(id).await?.user)
    }

    async fn list_users(&self, after: Option<Uuid>, limit: u32) -> Result<Vec<User>, StoreError> {
        let (condition, mut params) = match after {
            Some(after) => (" AND id > ?", vec![Param::Uuid(after)]),
            None => ("", Vec::new()),
        };
        params.push(Param::Int(i64::from(limit)));
        let sql = format!(
            "SELECT {} FROM users WHERE erased_at IS NULL{condition} ORDER BY id LIMIT ?",
            self.user_columns()
        );
        let rows: Vec<UserRow> = self.db.fetch_all(&sql, &params).await?;
        rows.into_iter()
            .map(|row| StoredUser::try_from(row).map(|s| s.user))
            .collect()
    }

    async fn erase(&self, id: Uuid, now: DateTime<Utc>) -> Result<(), StoreError> {
        let mut tx = self.db.begin_write().await?;
        let changed = tx
            .execute(
                "UPDATE users SET email = ?, name = '', password_hash = '!', roles = '[]', \
                 erased_at = ?, updated_at = ? WHERE id = ? AND erased_at IS NULL",
                &[
                    Param::Text(format!("erased+{}@invalid", id.simple())),
                    Param::Time(now),
                    Param::Time(now),
                    Param::Uuid(id),
                ],
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        // Other services forget their copies (the notification service's contact).
        self.outbox
            .enqueue(&mut tx, "user.erased", &serde_json::json!({"user_id": id}))
            .await?;
        tx.commit().await?;
        self.revoke_user_sessions(id, now).await
    }

    async fn insert_refresh(
        &self,
        hash: &str,
        user_id: Uuid,
        family_id: Uuid,
        issued_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        // One statement: a family revoked by a concurrent reuse gets no new token.
        let inserted = self
            .db
            .execute(
                "INSERT INTO refresh_tokens (token_hash, user_id, family_id, issued_at, expires_at) \
                 SELECT ?, ?, ?, ?, ? WHERE NOT EXISTS \
                 (SELECT 1 FROM refresh_tokens WHERE family_id = ? AND revoked_at IS NOT NULL)",
                &[
                    hash.into(),
                    Param::Uuid(user_id),
                    Param::Uuid(family_id),
                    Param::Time(issued_at),
                    Param::Time(expires_at),
                    Param::Uuid(family_id),
                ],
            )
            .await?;
        Ok(inserted == 1)
    }

    async fn consume_refresh(
        &self,
        hash: &str,
        now: DateTime<Utc>,
    ) -> Result<RefreshOutcome, StoreError> {
        let sql = format!(
            "UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL \
             AND revoked_at IS NULL AND expires_at > ? \
             RETURNING {} , {}, used_at, revoked_at, expires_at",
            self.id_column("user_id"),
            self.id_column("family_id")
        );
        let used: Option<RefreshRow> = self
            .db
            .fetch_optional(&sql, &[Param::Time(now), hash.into(), Param::Time(now)])
            .await?;
        if let Some(row) = used {
            return Ok(RefreshOutcome::Valid {
                user_id: parse_uuid(&row.user_id)?,
                family_id: parse_uuid(&row.family_id)?,
            });
        }
        let sql = format!(
            "SELECT {}, {}, used_at, revoked_at, expires_at FROM refresh_tokens WHERE token_hash = ?",
            self.id_column("user_id"),
            self.id_column("family_id")
        );
        let existing: Option<RefreshRow> = self.db.fetch_optional(&sql, &[hash.into()]).await?;
        Ok(match existing {
            Some(row)
                if row.used_at.is_some() && row.revoked_at.is_none() && row.expires_at > now =>
            {
                RefreshOutcome::Reused {
                    family_id: parse_uuid(&row.family_id)?,
                }
            }
            _ => RefreshOutcome::Invalid,
        })
    }

    async fn revoke_family(&self, family_id: Uuid, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.db
            .execute(
                "UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL",
                &[Param::Time(now), Param::Uuid(family_id)],
            )
            .await
            .map(drop)
    }

    async fn revoke_user_sessions(
        &self,
        user_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.db
            .execute(
                "UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
                &[Param::Time(now), Param::Uuid(user_id)],
            )
            .await
            .map(drop)
    }

    async fn refresh_family(&self, hash: &str) -> Result<Option<(Uuid, Uuid)>, StoreError> {
        let sql = format!(
            "SELECT {}, {}, used_at, revoked_at, expires_at FROM refresh_tokens WHERE token_hash = ?",
            self.id_column("user_id"),
            self.id_column("family_id")
        );
        let row: Option<RefreshRow> = self.db.fetch_optional(&sql, &[hash.into()]).await?;
        row.map(|r| Ok((parse_uuid(&r.user_id)?, parse_uuid(&r.family_id)?)))
            .transpose()
    }

    async fn sessions(
        &self,
        user_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Vec<SessionInfo>, StoreError> {
        let sql = format!(
            "SELECT {}, issued_at, expires_at FROM refresh_tokens WHERE user_id = ? \
             AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ? ORDER BY issued_at",
            self.id_column("family_id")
        );
        let rows: Vec<SessionRow> = self
            .db
            .fetch_all(&sql, &[Param::Uuid(user_id), Param::Time(now)])
            .await?;
        rows.into_iter()
            .map(|r| {
                Ok(SessionInfo {
                    id: parse_uuid(&r.family_id)?,
                    issued_at: r.issued_at,
                    expires_at: r.expires_at,
                })
            })
            .collect()
    }

    async fn signing_keys(&self, since: DateTime<Utc>) -> Result<Vec<KeyRow>, StoreError> {
        self.db
            .fetch_all(
                "SELECT kid, seed, created_at, retired_at FROM signing_keys \
                 WHERE retired_at IS NULL OR retired_at > ? ORDER BY created_at DESC",
                &[Param::Time(since)],
            )
            .await
    }

    async fn rotate_key(
        &self,
        kid: &str,
        seed: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.db.begin().await?;
        tx.execute(
            "UPDATE signing_keys SET retired_at = ? WHERE retired_at IS NULL",
            &[Param::Time(now)],
        )
        .await?;
        tx.execute(
            "INSERT INTO signing_keys (kid, seed, created_at) VALUES (?, ?, ?)",
            &[kid.into(), seed.into(), Param::Time(now)],
        )
        .await?;
        tx.commit().await
    }
}

/// Now, truncated to the microsecond precision both backends store.
pub fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}
