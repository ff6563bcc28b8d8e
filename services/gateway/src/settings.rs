//! Gateway settings: upstream addresses, timeouts, rate limits and breaker thresholds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use shopctl_kit::settings::{self, CommonSettings, ConfigSource, SettingsError};

/// Section in `shopctl.toml` and env prefix (`SHOPCTL_GATEWAY__…`).
pub const SECTION: &str = "gateway";
/// Default port.
pub const DEFAULT_PORT: u16 = 8080;

/// Keys of the gateway only.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GatewaySettings {
    /// Base URL of each upstream service, by name; several replicas of one service are listed
    /// separated by commas and taken in turn, each with a breaker of its own.
    pub upstreams: BTreeMap<String, String>,
    /// Deadline of one upstream call, in milliseconds.
    pub upstream_timeout_ms: u64,
    /// Further attempts for a body-less GET, HEAD or OPTIONS request whose upstream could not be
    /// reached or answered 502, 503 or 504 (0–5; other methods are never retried).
    pub upstream_retries: u32,
    /// Sustained requests per minute per client and route class.
    pub rate_limit_per_minute: u32,
    /// Burst size per client and route class.
    pub rate_limit_burst: u32,
    /// Requests per minute per client on sign-in routes (login, register, refresh).
    pub auth_rate_limit_per_minute: u32,
    /// Consecutive failures that open an upstream's breaker.
    pub breaker_failures: u32,
    /// Seconds an open breaker waits before letting one probe through.
    pub breaker_open_secs: u64,
    /// How often, in milliseconds, an upstream replica whose breaker opened because it refused
    /// connections (its process was gone) is asked `/readyz`; ready closes its breaker at once,
    /// so a restarted replica is back in turn within this time (0: only the half-open probe).
    pub replica_probe_ms: u64,
    /// How long anonymous catalog reads are cached, in milliseconds (0 turns the cache off).
    pub cache_ttl_ms: u64,
    /// Most cached answers (in memory; with Redis, the TTL and Redis's memory policy bound it).
    pub cache_max_entries: usize,
    /// Browser origins allowed to call the API cross-origin (`https://shop.example.com`, or `*`);
    /// empty sends no CORS headers.
    pub cors_allowed_origins: Vec<String>,
    /// How long browsers may cache a preflight answer, in seconds.
    pub cors_max_age_secs: u64,
    /// Redis shared by all gateway replicas for rate limits and cached catalog reads
    /// (`redis://127.0.0.1:6379`); without it each replica keeps both in its own memory.
    pub redis_url: Option<String>,
    /// Prefix of the gateway's Redis keys.
    pub redis_prefix: String,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        Self {
            upstreams: settings::local_urls(
                &[&["frontend"][..], &settings::API_SERVICES[..]].concat(),
            ),
            upstream_timeout_ms: 10_000,
            upstream_retries: 1,
            rate_limit_per_minute: 1_000,
            rate_limit_burst: 100,
            auth_rate_limit_per_minute: 60,
            breaker_failures: 5,
            breaker_open_secs: 10,
            replica_probe_ms: 1_000,
            cache_ttl_ms: 5_000,
            cache_max_entries: 1_000,
            cors_allowed_origins: Vec::new(),
            cors_max_age_secs: 600,
            redis_url: None,
            redis_prefix: "shopctl:gateway:".to_owned(),
        }
    }
}

/// The gateway's whole configuration.
pub type Settings = settings::Settings<GatewaySettings>;

/// Loads the settings from defaults, `shopctl.toml`, environment and flags.
pub fn load(source: &ConfigSource) -> Result<Settings, SettingsError> {
    let mut common = CommonSettings::defaults(DEFAULT_PORT);
    // The gateway verifies the platform's tokens out of the box.
    common.jwks_url = Some("http://127.0.0.1:8082/.well-known/jwks.json".to_owned());
    let settings = settings::load(SECTION, &common, &GatewaySettings::default(), source)?;
    for origin in &settings.service.cors_allowed_origins {
        let valid = origin == "*"
            || ((origin.starts_with("https://") || origin.starts_with("http://"))
                && !origin.ends_with('/')
                && http::HeaderValue::from_str(origin).is_ok());
        if !valid {
            return Err(SettingsError::Invalid(format!(
                "gateway.cors_allowed_origins: `{origin}` is not an origin; use scheme://host[:port] without a path, or *"
            )));
        }
    }
    for (name, urls) in &settings.service.upstreams {
        if settings::replicas(urls).next().is_none() {
            return Err(SettingsError::Invalid(format!(
                "gateway.upstreams.{name} is empty; give the service's base URL, e.g. http://HOST:PORT"
            )));
        }
        for url in settings::replicas(urls) {
            if crate::domain::Target::parse(url).is_none() {
                return Err(SettingsError::Invalid(format!(
                    "gateway.upstreams.{name}: `{url}` is not an absolute http:// URL; use http://HOST:PORT (upstreams are reached over plain HTTP; separate a service's replicas with commas)"
                )));
            }
        }
    }
    if settings.service.upstream_retries > 5 {
        return Err(SettingsError::Invalid(format!(
            "gateway.upstream_retries: {} is too many; use 0 to 5",
            settings.service.upstream_retries
        )));
    }
    if let Some(url) = &settings.service.redis_url
        && redis::Client::open(url.as_str()).is_err()
    {
        return Err(SettingsError::Invalid(format!(
            "gateway.redis_url: `{url}` is not a Redis URL; use redis://HOST:PORT"
        )));
    }
    Ok(settings)
}
