//! User service settings: the common keys plus token lifetimes, issuer and lockout policy.

use serde::{Deserialize, Serialize};
use shopctl_kit::settings::{self, CommonSettings, ConfigSource, SettingsError};

use crate::domain::Lockout;

/// Section in `shopctl.toml` and env prefix (`SHOPCTL_USER__…`).
pub const SECTION: &str = "user";
/// Default port.
pub const DEFAULT_PORT: u16 = 8082;

/// Keys of the user service only.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserSettings {
    /// `iss` of issued tokens.
    pub issuer: String,
    /// `aud` of issued access tokens (what the platform's services expect).
    pub audience: String,
    /// Access-token lifetime in seconds.
    pub access_ttl_secs: u64,
    /// Refresh-token lifetime in seconds.
    pub refresh_ttl_secs: u64,
    /// Failed logins within the window that lock an account.
    pub lockout_threshold: u32,
    /// Window in which failed logins are counted, in seconds.
    pub lockout_window_secs: u64,
    /// How long a locked account stays locked, in seconds.
    pub lockout_secs: u64,
    /// Where events go: topic (`user.registered`, `user.erased`) → subscriber URLs.
    pub subscribers: std::collections::BTreeMap<String, Vec<String>>,
    /// Failed deliveries before an event is dead-lettered.
    pub event_max_attempts: u32,
    /// Wait after the first failed delivery, in milliseconds (doubling, capped at 5 minutes).
    pub event_retry_base_ms: u64,
}

impl Default for UserSettings {
    fn default() -> Self {
        Self {
            issuer: "shopctl".to_owned(),
            audience: "shopctl".to_owned(),
            access_ttl_secs: 15 * 60,
            refresh_ttl_secs: 30 * 24 * 3600,
            lockout_threshold: 5,
            lockout_window_secs: 15 * 60,
            lockout_secs: 15 * 60,
            subscribers: ["user.registered", "user.erased"]
                .into_iter()
                .map(|topic| {
                    (
                        topic.to_owned(),
                        vec!["http://127.0.0.1:8087/internal/events".to_owned()],
                    )
                })
                .collect(),
            event_max_attempts: 8,
            event_retry_base_ms: 1_000,
        }
    }
}

impl UserSettings {
    /// The lockout policy these settings describe.
    pub fn lockout(&self) -> Lockout {
        let seconds = |secs: u64| chrono::Duration::seconds(i64::try_from(secs).unwrap_or(900));
        Lockout {
            threshold: self.lockout_threshold,
            window: seconds(self.lockout_window_secs),
            lock_for: seconds(self.lockout_secs),
        }
    }
}

/// The user service's whole configuration.
pub type Settings = settings::Settings<UserSettings>;

/// Loads the settings from defaults, `shopctl.toml`, environment and flags.
pub fn load(source: &ConfigSource) -> Result<Settings, SettingsError> {
    settings::load(
        SECTION,
        &CommonSettings::defaults(DEFAULT_PORT),
        &UserSettings::default(),
        source,
    )
}
