//! Layered configuration shared by every service.
//!
//! Precedence, lowest first: built-in defaults → the service's section of `shopctl.toml` →
//! environment variables `SHOPCTL_<SECTION>__<KEY>` → command-line flags. Every service reads the
//! [`CommonSettings`] keys plus its own keys from the same section (`[product]`, `[order]`, …), so
//! `SHOPCTL_PRODUCT__PORT=9000` and `[product] port = 9000` mean the same thing. Unknown keys in a
//! section are an error (a typo must not silently fall back to a default), and secrets are
//! [`SecretString`]s that never print.

use std::{
    collections::BTreeSet,
    fmt,
    net::IpAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
    value::Value,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// The configuration file read when no `--config` is given (if it exists).
pub const DEFAULT_CONFIG_FILE: &str = "shopctl.toml";

/// Where a service's settings come from besides the built-in defaults.
#[derive(Debug, Clone, Default)]
pub struct ConfigSource {
    /// `shopctl.toml` to read; `None` reads `./shopctl.toml` when it exists.
    pub file: Option<PathBuf>,
    /// Flag overrides as (key, value) within the section, applied last.
    pub overrides: Vec<(String, Value)>,
}

impl ConfigSource {
    /// Adds a flag override for `key` (a key of the service's section).
    #[must_use]
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.overrides.push((key.to_owned(), value.into()));
        self
    }
}

/// The deployment environment. `production` never loads demo data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// Local development: demo data, permissive defaults.
    #[default]
    Dev,
    /// Automated tests.
    Test,
    /// Production: no demo data.
    Production,
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Dev => "dev",
            Self::Test => "test",
            Self::Production => "production",
        })
    }
}

/// The services with a public API behind the gateway (all but the gateway and the storefront):
/// what the storefront calls, and what the gateway forwards to besides the storefront.
pub const API_SERVICES: [&str; 6] = [
    "user",
    "product",
    "order",
    "inventory",
    "payment",
    "notification",
];

/// The port each service listens on by default (DESIGN.md §8).
pub const DEFAULT_PORTS: [(&str, u16); 8] = [
    ("gateway", 8080),
    ("frontend", 8081),
    ("user", 8082),
    ("product", 8083),
    ("order", 8084),
    ("inventory", 8085),
    ("payment", 8086),
    ("notification", 8087),
];

/// The replicas a base-URL setting names: one URL, or several of the same service separated by
/// commas (`http://10.0.0.5:8084,http://10.0.0.6:8084`), which its callers take in turn. In a
/// cluster a Service's one address spreads the calls; on one machine (`shopctl up --replicas`)
/// the list does.
pub fn replicas(urls: &str) -> impl Iterator<Item = &str> {
    urls.split(',').map(str::trim).filter(|url| !url.is_empty())
}

/// Checks the base-URL setting `key` (`order.inventory_url`): one http(s) URL or several
/// replicas' separated by commas.
pub fn check_base_urls(key: &str, urls: &str) -> Result<(), SettingsError> {
    if replicas(urls).next().is_none() {
        return Err(SettingsError::Invalid(format!(
            "{key} is empty; give the service's base URL, e.g. http://127.0.0.1:8083"
        )));
    }
    match replicas(urls).find(|url| !(url.starts_with("http://") || url.starts_with("https://"))) {
        Some(url) => Err(SettingsError::Invalid(format!(
            "{key}: `{url}` is not an http(s) URL (separate a service's replicas with commas)"
        ))),
        None => Ok(()),
    }
}

/// `http://127.0.0.1:<default port>` of each of `services`, by name: the upstreams a service
/// calls when nothing else is configured.
pub fn local_urls(services: &[&str]) -> std::collections::BTreeMap<String, String> {
    DEFAULT_PORTS
        .iter()
        .filter(|(name, _)| services.contains(name))
        .map(|(name, port)| ((*name).to_owned(), format!("http://127.0.0.1:{port}")))
        .collect()
}

/// Settings every service has, read from its own section.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CommonSettings {
    /// Deployment environment.
    pub environment: Environment,
    /// Address to listen on.
    pub host: IpAddr,
    /// Port to listen on (0 picks a free one).
    pub port: u16,
    /// Directory for embedded databases and keys.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; defaults to `sqlite://<data_dir>/<service>.db`.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "redact")]
    pub database_url: Option<SecretString>,
    /// Upper bound of the connection pool.
    pub db_max_connections: u32,
    /// Per-request deadline in milliseconds.
    pub request_timeout_ms: u64,
    /// Largest accepted request body in bytes.
    pub body_limit_bytes: usize,
    /// Log filter (`info`, `debug`, `shopctl_product=debug,info`).
    pub log: String,
    /// Bootstrap admin bearer token (for first set-up and automation).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "redact")]
    pub admin_token: Option<SecretString>,
    /// JWKS of the platform's token issuer (the user service), e.g.
    /// `http://127.0.0.1:8082/.well-known/jwks.json`; without it only the admin token works.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_url: Option<String>,
    /// `iss` of the platform's tokens.
    pub jwt_issuer: String,
    /// `aud` the platform's tokens must carry.
    pub jwt_audience: String,
    /// An external OIDC issuer whose tokens are also accepted (`iss`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oidc_issuer: Option<String>,
    /// That issuer's JWKS URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oidc_jwks_url: Option<String>,
    /// The audience that issuer's tokens must carry (default: `jwt_audience`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oidc_audience: Option<String>,
    /// The platform's service-to-service signing key: 32 random bytes, base64url, the same in
    /// every service. Without it services accept no service tokens.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "redact")]
    pub service_key: Option<SecretString>,
    /// PEM certificate chain: with `tls_key_file`, the service speaks HTTPS (HTTP/2 and 1.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key of `tls_cert_file`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key_file: Option<PathBuf>,
    /// How long a client may take to send a request's headers (and the TLS handshake), in
    /// milliseconds; slower connections are closed. Also closes idle keep-alive connections.
    pub header_read_timeout_ms: u64,
    /// Largest request head (request line and headers) in bytes; larger ones get 431.
    pub max_header_bytes: usize,
}

impl CommonSettings {
    /// Defaults for a service listening on `port`.
    pub fn defaults(port: u16) -> Self {
        Self {
            environment: Environment::Dev,
            host: IpAddr::from([127, 0, 0, 1]),
            port,
            data_dir: PathBuf::from(".shopctl"),
            database_url: None,
            db_max_connections: 10,
            request_timeout_ms: 10_000,
            body_limit_bytes: 1024 * 1024,
            log: "info".to_owned(),
            admin_token: None,
            jwks_url: None,
            jwt_issuer: "shopctl".to_owned(),
            jwt_audience: "shopctl".to_owned(),
            oidc_issuer: None,
            oidc_jwks_url: None,
            oidc_audience: None,
            service_key: None,
            tls_cert_file: None,
            tls_key_file: None,
            header_read_timeout_ms: 10_000,
            max_header_bytes: 16 * 1024,
        }
    }

    /// The database URL, defaulting to a SQLite file named after the service in the data dir.
    pub fn database_url(&self, service: &str) -> SecretString {
        self.database_url.clone().unwrap_or_else(|| {
            SecretString::from(sqlite_url(&self.data_dir.join(format!("{service}.db"))))
        })
    }

    /// Whether the service terminates TLS itself.
    pub fn tls(&self) -> bool {
        self.tls_cert_file.is_some() && self.tls_key_file.is_some()
    }

    /// The per-request deadline.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
}

/// `sqlite://` URL for a file path.
pub fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// A service's whole configuration: the common keys and its own.
#[derive(Debug, Clone)]
pub struct Settings<T> {
    /// Keys every service has.
    pub common: CommonSettings,
    /// Keys of this service only.
    pub service: T,
}

/// Errors loading settings.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The file named with `--config` does not exist.
    #[error("config file `{0}` does not exist: create it or drop `--config`")]
    MissingFile(PathBuf),
    /// A key in the section is not a known setting.
    #[error(
        "unknown setting `{section}.{key}` (from shopctl.toml or SHOPCTL_{env_section}__{env_key}); known keys: {known}"
    )]
    UnknownKey {
        /// Section name.
        section: String,
        /// The unknown key.
        key: String,
        /// Upper-case section for the env hint.
        env_section: String,
        /// Upper-case key for the env hint.
        env_key: String,
        /// Comma-separated list of known keys.
        known: String,
    },
    /// A value has the wrong type or the file is not valid TOML.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Loads the settings of the service whose section is `section`, starting from `defaults`.
pub fn load<T>(
    section: &str,
    common_defaults: &CommonSettings,
    service_defaults: &T,
    source: &ConfigSource,
) -> Result<Settings<T>, SettingsError>
where
    T: Serialize + DeserializeOwned,
{
    let figment = figment(section, common_defaults, service_defaults, source)?;
    check_unknown_keys(&figment, section, common_defaults, service_defaults)?;
    let common = figment
        .extract_inner::<CommonSettings>(section)
        .map_err(one_line)?;
    let service = figment.extract_inner::<T>(section).map_err(one_line)?;
    if let Some(key) = &common.service_key {
        crate::jwt::service_signing_key(key)
            .map_err(|e| SettingsError::Invalid(format!("{section}.service_key: {e}")))?;
    }
    check_serving(section, &common)?;
    Ok(Settings { common, service })
}

fn figment<T: Serialize>(
    section: &str,
    common_defaults: &CommonSettings,
    service_defaults: &T,
    source: &ConfigSource,
) -> Result<Figment, SettingsError> {
    let mut figment = Figment::new()
        .merge(Serialized::default(section, common_defaults))
        .merge(Serialized::default(section, service_defaults));
    match &source.file {
        Some(path) if !path.exists() => return Err(SettingsError::MissingFile(path.clone())),
        Some(path) => figment = figment.merge(Toml::file_exact(path)),
        None if Path::new(DEFAULT_CONFIG_FILE).exists() => {
            figment = figment.merge(Toml::file_exact(DEFAULT_CONFIG_FILE));
        }
        None => {}
    }
    let env_prefix = format!("SHOPCTL_{}__", section.to_uppercase());
    let section_owned = section.to_owned();
    figment = figment.merge(
        Env::prefixed(&env_prefix)
            // `SHOPCTL_GATEWAY__UPSTREAMS__USER` sets `[gateway] upstreams.user`.
            .map(move |key| {
                format!(
                    "{section_owned}.{}",
                    key.as_str().to_lowercase().replace("__", ".")
                )
                .into()
            }),
    );
    for (key, value) in &source.overrides {
        figment = figment.merge((format!("{section}.{key}"), value.clone()));
    }
    Ok(figment)
}

/// Renders a figment error as one line: what is wrong, which key, from which file or variable.
fn one_line(err: figment::Error) -> SettingsError {
    let parts: Vec<String> = err
        .into_iter()
        .map(|e| {
            // TOML parse errors carry a multi-line source excerpt: keep the message lines only.
            let what = e
                .kind
                .to_string()
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('|') && !l.contains(" | ") && *l != "|")
                .filter(|l| !l.chars().next().is_some_and(|c| c.is_ascii_digit()))
                .collect::<Vec<_>>()
                .join(": ");
            // figment records the path innermost first.
            let path: Vec<&str> = e.path.iter().rev().map(String::as_str).collect();
            let key = (!path.is_empty()).then(|| format!(" for `{}`", path.join(".")));
            let origin = e.metadata.as_ref().map(|m| match &m.source {
                Some(source) => format!(" in {source}"),
                None => format!(" in {}", m.name),
            });
            format!(
                "{what}{}{}",
                key.unwrap_or_default(),
                origin.unwrap_or_default()
            )
        })
        .collect();
    SettingsError::Invalid(parts.join("; "))
}

/// Serving keys that would only fail later, at bind time, fail here with the key's name.
fn check_serving(section: &str, common: &CommonSettings) -> Result<(), SettingsError> {
    match (&common.tls_cert_file, &common.tls_key_file) {
        (Some(_), None) | (None, Some(_)) => {
            return Err(SettingsError::Invalid(format!(
                "{section}.tls_cert_file and {section}.tls_key_file go together: set both for HTTPS, or neither"
            )));
        }
        (Some(cert), Some(key)) => {
            for (name, path) in [("tls_cert_file", cert), ("tls_key_file", key)] {
                if let Err(e) = std::fs::metadata(path) {
                    return Err(SettingsError::Invalid(format!(
                        "{section}.{name}: cannot read {}: {e}",
                        path.display()
                    )));
                }
            }
        }
        (None, None) => {}
    }
    if common.max_header_bytes < MIN_HEADER_BYTES {
        return Err(SettingsError::Invalid(format!(
            "{section}.max_header_bytes: {} is too small; use at least {MIN_HEADER_BYTES}",
            common.max_header_bytes
        )));
    }
    if common.header_read_timeout_ms == 0 {
        return Err(SettingsError::Invalid(format!(
            "{section}.header_read_timeout_ms: must be more than 0"
        )));
    }
    Ok(())
}

/// Smallest request-head limit the HTTP/1 parser accepts.
pub const MIN_HEADER_BYTES: usize = 8 * 1024;

fn check_unknown_keys<T: Serialize>(
    figment: &Figment,
    section: &str,
    common_defaults: &CommonSettings,
    service_defaults: &T,
) -> Result<(), SettingsError> {
    let mut known: BTreeSet<String> = keys_of(common_defaults);
    known.extend(keys_of(service_defaults));
    // Optional keys that are skipped when unset still count as known.
    known.extend(
        [
            "database_url",
            "admin_token",
            "jwks_url",
            "oidc_issuer",
            "oidc_jwks_url",
            "oidc_audience",
            "service_key",
            "tls_cert_file",
            "tls_key_file",
        ]
        .map(str::to_owned),
    );
    let Ok(Value::Dict(_, present)) = figment.find_value(section) else {
        return Ok(());
    };
    for key in present.keys() {
        if !known.contains(key) {
            return Err(SettingsError::UnknownKey {
                section: section.to_owned(),
                key: key.clone(),
                env_section: section.to_uppercase(),
                env_key: key.to_uppercase(),
                known: known.iter().cloned().collect::<Vec<_>>().join(", "),
            });
        }
    }
    Ok(())
}

/// The top-level keys of a settings struct, optional (`null`) ones included.
fn keys_of<T: Serialize>(value: &T) -> BTreeSet<String> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
        _ => BTreeSet::new(),
    }
}

/// Serializes a secret as `"[redacted]"`: settings can be printed (`/admin/info`, `--output
/// json`) without exposing it.
#[allow(clippy::ref_option)]
fn redact<S: serde::Serializer>(
    _: &Option<SecretString>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str("[redacted]")
}

/// A view of effective settings safe to print: secrets appear as `"[redacted]"`.
pub fn redacted<T: Serialize>(settings: &Settings<T>) -> serde_json::Value {
    serde_json::json!({
        "common": serde_json::to_value(&settings.common).unwrap_or_default(),
        "service": serde_json::to_value(&settings.service).unwrap_or_default(),
    })
}

/// Compares a presented secret with the configured one in constant time.
pub fn secret_eq(configured: &SecretString, presented: &str) -> bool {
    use subtle::ConstantTimeEq;
    configured
        .expose_secret()
        .as_bytes()
        .ct_eq(presented.as_bytes())
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Extra {
        seed_demo: bool,
    }

    #[test]
    fn a_base_url_setting_may_list_replicas() {
        assert_eq!(replicas("http://a:1").collect::<Vec<_>>(), ["http://a:1"]);
        assert_eq!(
            replicas(" http://a:1, http://b:2 ,,").collect::<Vec<_>>(),
            ["http://a:1", "http://b:2"]
        );
        assert_eq!(replicas(" , ").count(), 0);
        assert!(check_base_urls("order.payment_url", "http://a:1,https://b").is_ok());
        let err = check_base_urls("order.payment_url", "http://a:1,b:2").unwrap_err();
        assert!(
            err.to_string().contains("order.payment_url: `b:2`"),
            "{err}"
        );
        let err = check_base_urls("frontend.upstreams.user", " ").unwrap_err();
        assert!(
            err.to_string().contains("frontend.upstreams.user is empty"),
            "{err}"
        );
    }

    fn load_with(
        file: &str,
        overrides: Vec<(String, Value)>,
    ) -> Result<Settings<Extra>, SettingsError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shopctl.toml");
        std::fs::write(&path, file).unwrap();
        let source = ConfigSource {
            file: Some(path),
            overrides,
        };
        load(
            "kittest",
            &CommonSettings::defaults(8083),
            &Extra { seed_demo: true },
            &source,
        )
    }

    #[test]
    fn file_overrides_defaults_and_flags_override_file() {
        let settings = load_with("[kittest]\nport = 9001\nseed_demo = false\n", vec![]).unwrap();
        assert_eq!(settings.common.port, 9001);
        assert!(!settings.service.seed_demo);

        let settings = load_with(
            "[kittest]\nport = 9001\n",
            vec![("port".into(), Value::from(9002))],
        )
        .unwrap();
        assert_eq!(settings.common.port, 9002);
    }

    #[test]
    fn unknown_key_is_an_error_that_names_it() {
        let err = load_with("[kittest]\nprot = 9001\n", vec![]).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("kittest.prot"), "{message}");
        assert!(message.contains("port"), "{message}");
    }

    #[test]
    fn wrong_type_is_an_error() {
        let err = load_with("[kittest]\nport = \"high\"\n", vec![]).unwrap_err();
        assert!(matches!(err, SettingsError::Invalid(_)), "{err}");
    }

    #[test]
    fn corrupt_file_is_an_error() {
        let err = load_with("[kittest\nport = 1", vec![]).unwrap_err();
        assert!(matches!(err, SettingsError::Invalid(_)), "{err}");
    }

    #[test]
    fn redacted_view_hides_secrets() {
        let mut settings = load_with("", vec![]).unwrap();
        settings.common.admin_token = Some(SecretString::from("s3cret-token"));
        settings.common.database_url = Some(SecretString::from("postgres://u:pw@h/db"));
        let text = redacted(&settings).to_string();
        assert!(
            !text.contains("s3cret-token") && !text.contains("pw@h"),
            "{text}"
        );
        assert!(!format!("{settings:?}").contains("s3cret-token"));
    }
}
