//! Money: integer minor units and an ISO 4217 currency code. Never floats.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::FieldError;

/// An amount of money: integer minor units (cents) and a currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Money {
    /// Amount in minor units (2500 = 25.00).
    pub amount: i64,
    /// ISO 4217 code, three upper-case letters.
    pub currency: String,
}

impl Money {
    /// Largest accepted charge: 100,000,000.00 in major units. Keeps every sum of amounts far
    /// from overflowing on either database.
    pub const MAX_CHARGE: i64 = 10_000_000_000;

    /// `amount` minor units of `currency`.
    pub fn new(amount: i64, currency: &str) -> Self {
        Self {
            amount,
            currency: currency.to_owned(),
        }
    }

    /// Validates a charge or refund amount for field `field` (`amount`): more than zero, at
    /// most [`Money::MAX_CHARGE`], and a currency of three upper-case letters.
    pub fn parse(field: &str, value: &Self) -> Result<Self, FieldError> {
        if value.amount <= 0 {
            return Err(FieldError::new(
                format!("{field}.amount"),
                "must be more than zero minor units",
            ));
        }
        if value.amount > Self::MAX_CHARGE {
            return Err(FieldError::new(
                format!("{field}.amount"),
                format!("must be at most {} minor units", Self::MAX_CHARGE),
            ));
        }
        if value.currency.len() != 3 || !value.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(FieldError::new(
                format!("{field}.currency"),
                "must be an ISO 4217 currency code of three upper-case letters, such as USD",
            ));
        }
        Ok(value.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_must_be_positive_and_currencies_upper_case() {
        assert!(Money::parse("amount", &Money::new(2500, "USD")).is_ok());
        for (money, field) in [
            (Money::new(0, "USD"), "amount.amount"),
            (Money::new(-1, "USD"), "amount.amount"),
            (Money::new(Money::MAX_CHARGE + 1, "USD"), "amount.amount"),
            (Money::new(1, "usd"), "amount.currency"),
            (Money::new(1, "US"), "amount.currency"),
            (Money::new(1, "USDX"), "amount.currency"),
            (Money::new(1, "ÜSD"), "amount.currency"),
        ] {
            assert_eq!(
                Money::parse("amount", &money).unwrap_err().field,
                field,
                "{money:?}"
            );
        }
    }
}
