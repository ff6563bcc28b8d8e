//! When failed logins lock an account.

use chrono::Duration;

/// The lockout policy: `threshold` failed logins within `window` lock an account for
/// `lock_for`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockout {
    /// Failed logins within the window that lock an account.
    pub threshold: u32,
    /// The window failed logins are counted in.
    pub window: Duration,
    /// How long a locked account stays locked.
    pub lock_for: Duration,
}
