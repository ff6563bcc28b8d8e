//! Storefront settings: where the services are, and how the shop presents itself.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use shopctl_kit::settings::{self, CommonSettings, ConfigSource, SettingsError};

/// Section in `shopctl.toml` and env prefix (`SHOPCTL_FRONTEND__…`).
pub const SECTION: &str = "frontend";
/// Default port.
pub const DEFAULT_PORT: u16 = 8081;

/// The services the storefront calls, by name.
pub const UPSTREAMS: [&str; 6] = settings::API_SERVICES;

/// Keys of the storefront only.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FrontendSettings {
    /// Base URL of each service the storefront calls (`user`, `product`, `order`, `inventory`,
    /// `payment`, `notification`). The storefront sits behind the gateway and calls the
    /// services directly, passing on the shopper's own token.
    pub upstreams: BTreeMap<String, String>,
    /// Deadline of one call to a service, in milliseconds.
    pub upstream_timeout_ms: u64,
    /// The shop's name, in every page's header and title.
    pub shop_name: String,
    /// Products on the home page.
    pub featured_count: u32,
    /// Products per listing page.
    pub page_size: u32,
    /// Mark the session cookies `Secure` even when the request did not arrive over TLS (the
    /// gateway's `X-Forwarded-Proto: https` sets it on its own).
    pub secure_cookies: bool,
}

impl Default for FrontendSettings {
    fn default() -> Self {
        Self {
            upstreams: settings::local_urls(&UPSTREAMS),
            upstream_timeout_ms: 10_000,
            shop_name: "shopctl".to_owned(),
            featured_count: 8,
            page_size: 24,
            secure_cookies: false,
        }
    }
}

/// The storefront's whole configuration.
pub type Settings = settings::Settings<FrontendSettings>;

/// Loads the settings from defaults, `shopctl.toml`, environment and flags.
pub fn load(source: &ConfigSource) -> Result<Settings, SettingsError> {
    let mut common = CommonSettings::defaults(DEFAULT_PORT);
    // Shoppers' tokens are verified against the platform's keys out of the box.
    common.jwks_url = Some("http://127.0.0.1:8082/.well-known/jwks.json".to_owned());
    let settings = settings::load(SECTION, &common, &FrontendSettings::default(), source)?;
    for name in UPSTREAMS {
        let Some(url) = settings.service.upstreams.get(name) else {
            return Err(SettingsError::Invalid(format!(
                "frontend.upstreams.{name} is missing; give the service's base URL, e.g. http://127.0.0.1:8083"
            )));
        };
        settings::check_base_urls(&format!("frontend.upstreams.{name}"), url)?;
    }
    if !(1..=100).contains(&settings.service.page_size) {
        return Err(SettingsError::Invalid(
            "frontend.page_size must be 1-100".to_owned(),
        ));
    }
    Ok(settings)
}
