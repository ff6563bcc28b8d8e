//! Stock levels and manual adjustments.

use serde::Serialize;
use shopctl_kit::ApiError;
use utoipa::ToSchema;

/// Stock of one SKU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct StockLevel {
    /// SKU.
    pub sku: String,
    /// Units in the warehouse.
    pub on_hand: i64,
    /// Units held for orders in checkout.
    pub reserved: i64,
    /// Units that can still be sold: `on_hand - reserved`, never negative.
    pub available: i64,
}

impl StockLevel {
    /// The level for these counts.
    pub fn new(sku: String, on_hand: i64, reserved: i64) -> Self {
        Self {
            sku,
            on_hand,
            reserved,
            available: (on_hand - reserved).max(0),
        }
    }
}

/// Largest single adjustment, in units (a typo guard, not a business rule).
pub(crate) const MAX_DELTA: i64 = 1_000_000;

/// A checked manual change of on-hand stock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adjustment {
    /// Units added (negative: removed).
    pub delta: i64,
    /// Why, for the audit trail.
    pub reason: String,
}

impl Adjustment {
    /// Parses a delta (non-zero, at most a million either way) and a reason (1–200 characters).
    pub fn parse(delta: i64, reason: &str) -> Result<Self, ApiError> {
        if delta == 0 || delta.abs() > MAX_DELTA {
            return Err(ApiError::validation(
                "delta",
                "must be a non-zero number of units between -1000000 and 1000000",
            ));
        }
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 200 {
            return Err(ApiError::validation(
                "reason",
                "must say why, in 1-200 characters",
            ));
        }
        Ok(Self {
            delta,
            reason: reason.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn available_never_goes_negative() {
        assert_eq!(StockLevel::new("A".into(), 5, 2).available, 3);
        assert_eq!(StockLevel::new("A".into(), 0, 0).available, 0);
    }

    #[test]
    fn adjustments_need_a_delta_and_a_reason() {
        assert!(Adjustment::parse(0, "count").is_err());
        assert!(Adjustment::parse(2_000_000, "count").is_err());
        assert!(Adjustment::parse(3, "  ").is_err());
        assert_eq!(Adjustment::parse(-3, " broken ").unwrap().reason, "broken");
    }
}
