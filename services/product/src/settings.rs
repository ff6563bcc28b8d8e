//! Product service settings: the common keys plus demo seeding.

use serde::{Deserialize, Serialize};
use shopctl_kit::settings::{self, CommonSettings, ConfigSource, SettingsError};

/// Section in `shopctl.toml` and env prefix (`SHOPCTL_PRODUCT__…`).
pub const SECTION: &str = "product";
/// Default port.
pub const DEFAULT_PORT: u16 = 8083;

/// Keys of the product service only.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProductSettings {
    /// Load the demo catalog when the database is empty (never in production).
    pub seed_demo: bool,
    /// Products in the demo catalog.
    pub seed_count: usize,
    /// Random seed of the demo catalog.
    pub seed: u64,
}

impl Default for ProductSettings {
    fn default() -> Self {
        Self {
            seed_demo: true,
            seed_count: 100,
            seed: 42,
        }
    }
}

/// The product service's whole configuration.
pub type Settings = settings::Settings<ProductSettings>;

/// Loads the settings from defaults, `shopctl.toml`, environment and flags.
pub fn load(source: &ConfigSource) -> Result<Settings, SettingsError> {
    settings::load(
        SECTION,
        &CommonSettings::defaults(DEFAULT_PORT),
        &ProductSettings::default(),
        source,
    )
}
