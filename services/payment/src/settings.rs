//! Payment service settings: the common keys plus the simulated processor's behaviour.

use serde::{Deserialize, Serialize};
use shopctl_kit::settings::{self, CommonSettings, ConfigSource, SettingsError};

/// Section in `shopctl.toml` and env prefix (`SHOPCTL_PAYMENT__…`).
pub const SECTION: &str = "payment";
/// Default port.
pub const DEFAULT_PORT: u16 = 8086;

/// Keys of the payment service only. The defaults simulate a processor that only fails for the
/// test cards and answers at once.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PaymentSettings {
    /// Fraction (0.0–1.0) of otherwise approved authorizations that the simulated processor
    /// fails with `processing_error`, for chaos and retry testing.
    pub failure_rate: f64,
    /// Delay the simulated processor adds to every authorization, in milliseconds.
    pub latency_ms: u64,
}

/// The payment service's whole configuration.
pub type Settings = settings::Settings<PaymentSettings>;

/// Loads the settings from defaults, `shopctl.toml`, environment and flags.
pub fn load(source: &ConfigSource) -> Result<Settings, SettingsError> {
    let settings = settings::load(
        SECTION,
        &CommonSettings::defaults(DEFAULT_PORT),
        &PaymentSettings::default(),
        source,
    )?;
    // `contains` is false for NaN too.
    if !(0.0..=1.0).contains(&settings.service.failure_rate) {
        return Err(SettingsError::Invalid(format!(
            "{SECTION}.failure_rate must be a fraction between 0.0 and 1.0"
        )));
    }
    Ok(settings)
}
