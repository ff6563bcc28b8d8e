//! The rows the identity tables are read into, and how they become the domain's values.

use chrono::{DateTime, Utc};
use shopctl_kit::db::StoreError;
use uuid::Uuid;

use super::StoredUser;
use crate::domain::{Role, User};

#[derive(Debug, sqlx::FromRow)]
pub(super) struct UserRow {
    pub(super) id: String,
    pub(super) email: String,
    pub(super) name: String,
    pub(super) password_hash: String,
    pub(super) roles: String,
    pub(super) locked_until: Option<DateTime<Utc>>,
    pub(super) erased_at: Option<DateTime<Utc>>,
    pub(super) created_at: DateTime<Utc>,
    pub(super) updated_at: DateTime<Utc>,
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
pub(super) struct FailureRow {
    pub(super) failed_logins: i64,
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct RefreshRow {
    pub(super) user_id: String,
    pub(super) family_id: String,
    pub(super) used_at: Option<DateTime<Utc>>,
    pub(super) revoked_at: Option<DateTime<Utc>>,
    pub(super) expires_at: DateTime<Utc>,
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct SessionRow {
    pub(super) family_id: String,
    pub(super) issued_at: DateTime<Utc>,
    pub(super) expires_at: DateTime<Utc>,
}

pub(super) fn roles_json(roles: &[Role]) -> String {
    serde_json::to_string(roles).unwrap_or_else(|_| "[]".to_owned())
}

pub(super) fn parse_uuid(text: &str) -> Result<Uuid, StoreError> {
    text.parse().map_err(|_| corrupt("uuid"))
}
