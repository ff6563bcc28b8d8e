//! Identity domain types: parsed once at the edge, valid afterwards.

mod email;
mod password;
mod user;

pub use email::Email;
pub use password::{Password, PasswordHasher};
pub use user::{DisplayName, SessionInfo, User, UserExport};

pub use shopctl_kit::auth::Role;

/// A rejected value: which field, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Field name.
    pub field: String,
    /// What is wrong.
    pub detail: String,
}

impl FieldError {
    /// A new error for `field`.
    pub fn new(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            detail: detail.into(),
        }
    }
}

impl From<FieldError> for shopctl_kit::ApiError {
    fn from(err: FieldError) -> Self {
        Self::validation(err.field, err.detail)
    }
}
