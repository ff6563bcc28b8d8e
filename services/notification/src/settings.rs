//! Notification settings: the common keys plus the shop's letterhead, where mail goes (an SMTP
//! server, or the local mail catcher when none is set) and how delivery is retried.

use std::time::Duration;

use secrecy::SecretString;
use serde::{Deserialize, Serialize, Serializer};
use shopctl_kit::{
    events::RetryPolicy,
    settings::{self, CommonSettings, ConfigSource, SettingsError},
};

/// Section in `shopctl.toml` and env prefix (`SHOPCTL_NOTIFICATION__…`).
pub const SECTION: &str = "notification";
/// Default port.
pub const DEFAULT_PORT: u16 = 8087;

/// Keys of the notification service only. The defaults catch every mail in the service's own
/// database (`GET /api/notifications/outbox`), so a local platform never sends real e-mail.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NotificationSettings {
    /// The shop's name, in subjects, greetings and sign-offs.
    pub shop_name: String,
    /// The storefront's base URL, for the links in mails (`https://shop.example.com`).
    pub shop_url: String,
    /// The `From:` mailbox of every mail (`Name <address>` or a bare address).
    pub from: String,
    /// SMTP server to send through. Unset: mails are caught in the database instead (the dev
    /// mail catcher). The connection is plain SMTP without TLS: use a relay on the same host or
    /// network (a local MTA, a sidecar) that does TLS onwards.
    pub smtp_host: Option<String>,
    /// SMTP port.
    pub smtp_port: u16,
    /// SMTP user name, when the server wants AUTH (together with `smtp_password`).
    #[serde(serialize_with = "redact")]
    pub smtp_username: Option<SecretString>,
    /// SMTP password.
    #[serde(serialize_with = "redact")]
    pub smtp_password: Option<SecretString>,
    /// Failed attempts after which a mail goes to the dead letters (`shopctl events dlq`).
    pub mail_max_attempts: u32,
    /// Wait after a mail's first failed attempt, in milliseconds; it doubles per attempt.
    pub mail_retry_base_ms: u64,
    /// Longest wait between attempts, in milliseconds.
    pub mail_retry_max_ms: u64,
}

impl Default for NotificationSettings {
    fn default() -> Self {
        Self {
            shop_name: "shopctl".to_owned(),
            shop_url: "http://127.0.0.1:8080".to_owned(),
            from: "shopctl <shop@shopctl.local>".to_owned(),
            smtp_host: None,
            smtp_port: 25,
            smtp_username: None,
            smtp_password: None,
            mail_max_attempts: 8,
            mail_retry_base_ms: 1_000,
            mail_retry_max_ms: 300_000,
        }
    }
}

impl NotificationSettings {
    /// The mail relay's retry schedule.
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.mail_max_attempts,
            base: Duration::from_millis(self.mail_retry_base_ms),
            max_delay: Duration::from_millis(self.mail_retry_max_ms),
        }
    }
}

/// Serializes a secret as `"[redacted]"` (and an unset one as `null`, so that the key still
/// counts as known): settings can be printed without exposing it.
#[allow(clippy::ref_option)]
fn redact<S: Serializer>(value: &Option<SecretString>, serializer: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(_) => serializer.serialize_str("[redacted]"),
        None => serializer.serialize_none(),
    }
}

/// The notification service's whole configuration.
pub type Settings = settings::Settings<NotificationSettings>;

/// Loads the settings from defaults, `shopctl.toml`, environment and flags.
pub fn load(source: &ConfigSource) -> Result<Settings, SettingsError> {
    let settings = settings::load(
        SECTION,
        &CommonSettings::defaults(DEFAULT_PORT),
        &NotificationSettings::default(),
        source,
    )?;
    validate(&settings.service)?;
    Ok(settings)
}

fn invalid(key: &str, detail: &str) -> SettingsError {
    SettingsError::Invalid(format!("{SECTION}.{key}: {detail}"))
}

fn validate(service: &NotificationSettings) -> Result<(), SettingsError> {
    if service.smtp_port == 0 {
        return Err(invalid("smtp_port", "must be a port between 1 and 65535"));
    }
    if !(service.shop_url.starts_with("http://") || service.shop_url.starts_with("https://")) {
        return Err(invalid(
            "shop_url",
            &format!("`{}` must be an http:// or https:// URL", service.shop_url),
        ));
    }
    if service.shop_name.trim().is_empty() {
        return Err(invalid("shop_name", "must not be empty"));
    }
    if let Err(err) = service.from.parse::<lettre::message::Mailbox>() {
        return Err(invalid(
            "from",
            &format!(
                "`{}` is not a mailbox ({err}); use `Name <address>`",
                service.from
            ),
        ));
    }
    if service
        .smtp_host
        .as_deref()
        .is_some_and(|host| host.trim().is_empty())
    {
        return Err(invalid(
            "smtp_host",
            "must name a server; leave it unset to catch mail locally",
        ));
    }
    if service.smtp_username.is_some() != service.smtp_password.is_some() {
        return Err(invalid(
            "smtp_username",
            "and smtp_password go together: set both, or neither",
        ));
    }
    if service.mail_max_attempts == 0 {
        return Err(invalid("mail_max_attempts", "must be at least 1"));
    }
    if service.mail_retry_base_ms == 0 || service.mail_retry_base_ms > service.mail_retry_max_ms {
        return Err(invalid(
            "mail_retry_base_ms",
            &format!(
                "{} must be more than 0 and at most mail_retry_max_ms ({})",
                service.mail_retry_base_ms, service.mail_retry_max_ms
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_with(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let mut source = ConfigSource::default();
        for (key, value) in pairs {
            source = source.with(key, *value);
        }
        load(&source)
    }

    #[test]
    fn defaults_catch_mail_locally() {
        let settings = load_with(&[]).expect("defaults are valid");
        assert_eq!(settings.common.port, DEFAULT_PORT);
        assert!(settings.service.smtp_host.is_none());
        assert_eq!(settings.service.smtp_port, 25);
        assert_eq!(settings.service.shop_name, "shopctl");
        assert_eq!(settings.service.retry_policy().max_attempts, 8);
    }

    #[test]
    fn smtp_keys_are_known_and_secrets_redacted() {
        let settings = load_with(&[
            ("smtp_host", "127.0.0.1"),
            ("smtp_username", "mailer"),
            ("smtp_password", "hunter2-hunter2"),
        ])
        .expect("valid");
        assert_eq!(settings.service.smtp_host.as_deref(), Some("127.0.0.1"));
        let printed = serde_json::to_string(&settings.service).expect("serializes");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(!printed.contains("mailer"), "{printed}");
        assert!(printed.contains("[redacted]"), "{printed}");
    }

    #[test]
    fn invalid_values_name_their_key() {
        for (pairs, key) in [
            (vec![("shop_url", "ftp://shop")], "shop_url"),
            (vec![("from", "not a mailbox")], "from"),
            (vec![("smtp_username", "mailer")], "smtp_username"),
        ] {
            let err = load_with(&pairs).expect_err("invalid");
            assert!(err.to_string().contains(key), "{key}: {err}");
        }
        let source = ConfigSource::default().with("smtp_port", 0u64);
        let err = load(&source).expect_err("port 0 is invalid");
        assert!(err.to_string().contains("smtp_port"), "{err}");
    }
}
