//! Identity domain types: parsed once at the edge, valid afterwards.

mod email;
mod lockout;
mod password;
pub mod tokens;
mod user;

pub use email::Email;
pub use lockout::Lockout;
pub use password::{Password, PasswordHasher};
pub use user::{DisplayName, SessionInfo, User, UserExport};

pub use shopctl_kit::auth::Role;

pub use shopctl_kit::vocabulary::FieldError;
