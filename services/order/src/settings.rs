//! Order service settings: prices and taxes, the services it calls, saga timing and event
//! subscribers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use shopctl_kit::settings::{self, CommonSettings, ConfigSource, SettingsError};

/// Section in `shopctl.toml` and env prefix (`SHOPCTL_ORDER__…`).
pub const SECTION: &str = "order";
/// Default port.
pub const DEFAULT_PORT: u16 = 8084;

/// Keys of the order service only.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderSettings {
    /// Tax on the subtotal, in basis points (800 = 8 %).
    pub tax_rate_bps: i64,
    /// Flat shipping fee per order, in minor units.
    pub shipping_fee: i64,
    /// The catalog's base URL (names and prices come from there, never from clients).
    pub product_url: String,
    /// The inventory service's base URL.
    pub inventory_url: String,
    /// The payment service's base URL.
    pub payment_url: String,
    /// Deadline of one call to another service, in milliseconds.
    pub call_timeout_ms: u64,
    /// How long stock is held for a checkout, in seconds.
    pub reservation_ttl_secs: u64,
    /// How often sagas that stopped moving are resumed, in milliseconds.
    pub resume_interval_ms: u64,
    /// How long a saga must have been still before the periodic resumer takes it, in
    /// milliseconds (on start every open saga is resumed at once).
    pub resume_after_ms: u64,
    /// Where events go: topic → subscriber URLs.
    pub subscribers: BTreeMap<String, Vec<String>>,
    /// Failed deliveries before an event is dead-lettered.
    pub event_max_attempts: u32,
    /// Wait after the first failed delivery, in milliseconds (doubling, capped at 5 minutes).
    pub event_retry_base_ms: u64,
}

impl Default for OrderSettings {
    fn default() -> Self {
        let notification = vec!["http://127.0.0.1:8087/internal/events".to_owned()];
        Self {
            tax_rate_bps: 800,
            shipping_fee: 499,
            product_url: "http://127.0.0.1:8083".to_owned(),
            inventory_url: "http://127.0.0.1:8085".to_owned(),
            payment_url: "http://127.0.0.1:8086".to_owned(),
            call_timeout_ms: 5_000,
            reservation_ttl_secs: 900,
            resume_interval_ms: 5_000,
            resume_after_ms: 30_000,
            subscribers: ["order.confirmed", "order.cancelled", "payment.failed"]
                .into_iter()
                .map(|topic| (topic.to_owned(), notification.clone()))
                .collect(),
            event_max_attempts: 8,
            event_retry_base_ms: 1_000,
        }
    }
}

/// The order service's whole configuration.
pub type Settings = settings::Settings<OrderSettings>;

/// Loads the settings from defaults, `shopctl.toml`, environment and flags.
pub fn load(source: &ConfigSource) -> Result<Settings, SettingsError> {
    let settings = settings::load(
        SECTION,
        &CommonSettings::defaults(DEFAULT_PORT),
        &OrderSettings::default(),
        source,
    )?;
    let s = &settings.service;
    if !(0..=10_000).contains(&s.tax_rate_bps) {
        return Err(SettingsError::Invalid(format!(
            "order.tax_rate_bps: {} is not a rate; use 0-10000 basis points (800 = 8 %)",
            s.tax_rate_bps
        )));
    }
    if s.shipping_fee < 0 {
        return Err(SettingsError::Invalid(
            "order.shipping_fee: must not be negative".to_owned(),
        ));
    }
    for (key, url) in [
        ("product_url", &s.product_url),
        ("inventory_url", &s.inventory_url),
        ("payment_url", &s.payment_url),
    ] {
        settings::check_base_urls(&format!("order.{key}"), url)?;
    }
    if s.call_timeout_ms == 0 || s.resume_interval_ms == 0 || s.reservation_ttl_secs == 0 {
        return Err(SettingsError::Invalid(
            "order.call_timeout_ms, resume_interval_ms and reservation_ttl_secs must be more than 0"
                .to_owned(),
        ));
    }
    Ok(settings)
}
