//! An account as the service shows it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{FieldError, Role};

/// An optional display name, at most 100 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    /// Parses a display name.
    pub fn parse(value: &str) -> Result<Self, FieldError> {
        let name = value.trim();
        if name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(FieldError::new(
                "name",
                "must be at most 100 characters without control characters",
            ));
        }
        Ok(Self(name.to_owned()))
    }
}

impl AsRef<str> for DisplayName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// An account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct User {
    /// Account id.
    pub id: Uuid,
    /// Normalised e-mail address.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Roles.
    #[schema(value_type = Vec<String>)]
    pub roles: Vec<Role>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// Everything the service holds about a person (GDPR Art. 15/20), without secrets.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserExport {
    /// The account.
    pub account: User,
    /// Active sessions (refresh-token families): when they started and expire.
    pub sessions: Vec<SessionInfo>,
    /// When this export was made.
    pub exported_at: DateTime<Utc>,
}

/// One signed-in session, without its token.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SessionInfo {
    /// Session (token family) id.
    pub id: Uuid,
    /// When the current token was issued.
    pub issued_at: DateTime<Utc>,
    /// When it expires.
    pub expires_at: DateTime<Utc>,
}
