//! Inventory settings: the common keys plus reservation lifetime, sweeping and seeding.

use serde::{Deserialize, Serialize};
use shopctl_kit::settings::{self, CommonSettings, ConfigSource, SettingsError};

/// Section in `shopctl.toml` and env prefix (`SHOPCTL_INVENTORY__…`).
pub const SECTION: &str = "inventory";
/// Default port.
pub const DEFAULT_PORT: u16 = 8085;

/// Keys of the inventory service only.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InventorySettings {
    /// How long a reservation holds stock unless the request names its own TTL, in seconds.
    pub reservation_ttl_secs: u64,
    /// Longest TTL a request may ask for, in seconds.
    pub max_reservation_ttl_secs: u64,
    /// How often expired reservations are released, in milliseconds.
    pub sweep_interval_ms: u64,
    /// Available units at or below which a SKU counts as low on stock (metric).
    pub low_stock_threshold: i64,
    /// Give the demo catalog's SKUs stock when the database is empty (never in production).
    pub seed_demo: bool,
    /// Products of the demo catalog (as the product service's `seed_count`).
    pub seed_count: usize,
    /// Random seed of the demo catalog (as the product service's `seed`).
    pub seed: u64,
}

impl Default for InventorySettings {
    fn default() -> Self {
        Self {
            reservation_ttl_secs: 900,
            max_reservation_ttl_secs: 3_600,
            sweep_interval_ms: 1_000,
            low_stock_threshold: 5,
            seed_demo: true,
            seed_count: 100,
            seed: 42,
        }
    }
}

/// The inventory service's whole configuration.
pub type Settings = settings::Settings<InventorySettings>;

/// Loads the settings from defaults, `shopctl.toml`, environment and flags.
pub fn load(source: &ConfigSource) -> Result<Settings, SettingsError> {
    let settings = settings::load(
        SECTION,
        &CommonSettings::defaults(DEFAULT_PORT),
        &InventorySettings::default(),
        source,
    )?;
    let service = &settings.service;
    if service.reservation_ttl_secs == 0
        || service.reservation_ttl_secs > service.max_reservation_ttl_secs
    {
        return Err(SettingsError::Invalid(format!(
            "inventory.reservation_ttl_secs: {} must be between 1 and max_reservation_ttl_secs ({})",
            service.reservation_ttl_secs, service.max_reservation_ttl_secs
        )));
    }
    if service.sweep_interval_ms == 0 {
        return Err(SettingsError::Invalid(
            "inventory.sweep_interval_ms: must be more than 0".to_owned(),
        ));
    }
    Ok(settings)
}
