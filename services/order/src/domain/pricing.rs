//! Money and totals: integer minor units, one currency per order, tax rounded half up.

use serde::Serialize;
use utoipa::ToSchema;

pub use shopctl_kit::vocabulary::Money;

/// How totals are computed: a tax rate in basis points and a flat shipping fee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pricing {
    /// Tax rate in basis points (800 = 8 %).
    pub tax_rate_bps: i64,
    /// Shipping fee in minor units.
    pub shipping: i64,
}

/// An order's totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Totals {
    /// Sum of the lines.
    pub subtotal: Money,
    /// Tax on the subtotal.
    pub tax: Money,
    /// Shipping.
    pub shipping: Money,
    /// subtotal + tax + shipping.
    pub total: Money,
}

impl Pricing {
    /// Totals of lines given as (unit price, quantity), all in `currency`. `None` on overflow.
    pub fn totals(&self, currency: &str, lines: &[(i64, i64)]) -> Option<Totals> {
        let mut subtotal: i64 = 0;
        for (unit, quantity) in lines {
            subtotal = subtotal.checked_add(unit.checked_mul(*quantity)?)?;
        }
        // Half up: (subtotal * bps + 5000) / 10000, in i128 so it cannot overflow.
        let tax = (i128::from(subtotal) * i128::from(self.tax_rate_bps) + 5_000) / 10_000;
        let tax = i64::try_from(tax).ok()?;
        let total = subtotal.checked_add(tax)?.checked_add(self.shipping)?;
        let money = |amount| Money {
            amount,
            currency: currency.to_owned(),
        };
        Some(Totals {
            subtotal: money(subtotal),
            tax: money(tax),
            shipping: money(self.shipping),
            total: money(total),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_add_up_and_tax_rounds_half_up() {
        let pricing = Pricing {
            tax_rate_bps: 800,
            shipping: 499,
        };
        let totals = pricing.totals("USD", &[(2_500, 2), (1_999, 1)]).unwrap();
        assert_eq!(totals.subtotal.amount, 6_999);
        assert_eq!(totals.tax.amount, 560); // 559.92
        assert_eq!(totals.total.amount, 6_999 + 560 + 499);
        let half = Pricing {
            tax_rate_bps: 500,
            shipping: 0,
        };
        assert_eq!(half.totals("USD", &[(10, 1)]).unwrap().tax.amount, 1); // 0.5 → 1
        assert!(pricing.totals("USD", &[(i64::MAX, 2)]).is_none());
    }
}
