//! Money: integer minor units and an ISO 4217 currency, never floats; one way to check it and
//! one way to write it for people.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::FieldError;

/// Active ISO 4217 codes.
const ISO_4217: &str = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL \
BSD BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP \
GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW \
KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO \
NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD \
SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF \
XPF YER ZAR ZMW ZWL";

/// Currencies whose minor unit is the major unit (no decimals): an amount of 500 JPY is ¥500.
const ZERO_DECIMALS: &str = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF";

/// An ISO 4217 currency code.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Currency(String);

impl Currency {
    /// Parses an upper-case ISO 4217 code; `field` names it in the error.
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldError> {
        if value.len() == 3
            && value.bytes().all(|b| b.is_ascii_uppercase())
            && ISO_4217.split_ascii_whitespace().any(|code| code == value)
        {
            Ok(Self(value.to_owned()))
        } else {
            Err(FieldError::new(
                field,
                "must be an ISO 4217 currency code such as USD or EUR",
            ))
        }
    }

    /// How many decimals the currency's major unit has (2, or 0 for JPY and the like).
    pub fn decimals(code: &str) -> u32 {
        if ZERO_DECIMALS.split_ascii_whitespace().any(|c| c == code) {
            0
        } else {
            2
        }
    }
}

impl AsRef<str> for Currency {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// An amount of money: integer minor units (cents) and a currency.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Money {
    /// Amount in minor units of the currency (1999 = 19.99 USD); never a float.
    pub amount: i64,
    /// ISO 4217 code, three upper-case letters (USD).
    pub currency: String,
}

impl Money {
    /// Largest price a product may have: 1,000,000.00 in major units.
    pub const MAX_PRICE: i64 = 100_000_000;

    /// Largest charge: 100,000,000.00 in major units. Keeps every sum of amounts far from
    /// overflowing on either database.
    pub const MAX_CHARGE: i64 = 10_000_000_000;

    /// `amount` minor units of `currency`.
    pub fn new(amount: i64, currency: &str) -> Self {
        Self {
            amount,
            currency: currency.to_owned(),
        }
    }

    /// Checks a price for field `field` (`price`): from zero to [`Money::MAX_PRICE`], in an
    /// ISO 4217 currency.
    pub fn parse_price(field: &str, value: &Self) -> Result<Self, FieldError> {
        Self::parse_within(field, value, 0, Self::MAX_PRICE)
    }

    /// Checks a charge or refund for field `field` (`amount`): more than zero, at most
    /// [`Money::MAX_CHARGE`], in an ISO 4217 currency.
    pub fn parse_charge(field: &str, value: &Self) -> Result<Self, FieldError> {
        Self::parse_within(field, value, 1, Self::MAX_CHARGE)
    }

    fn parse_within(field: &str, value: &Self, min: i64, max: i64) -> Result<Self, FieldError> {
        if value.amount < min {
            let detail = if min == 0 {
                "must not be negative".to_owned()
            } else {
                format!("must be at least {min} minor units")
            };
            return Err(FieldError::new(format!("{field}.amount"), detail));
        }
        if value.amount > max {
            return Err(FieldError::new(
                format!("{field}.amount"),
                format!("must be at most {max} minor units"),
            ));
        }
        let currency = Currency::parse(&format!("{field}.currency"), &value.currency)?;
        Ok(Self {
            amount: value.amount,
            currency: currency.0,
        })
    }

    /// This amount times `quantity`, saturating at the bounds of `i64`.
    #[must_use]
    pub fn times(&self, quantity: i64) -> Self {
        Self {
            amount: self.amount.saturating_mul(quantity),
            currency: self.currency.clone(),
        }
    }

    /// The amount for people: `$1,204.00`, `€9.50`, `£0.05`, `¥500`, or `12.00 CHF` for a
    /// currency without a symbol here; negative amounts get a leading `-`.
    pub fn format(&self) -> String {
        let code = self.currency.as_str();
        let decimals = Currency::decimals(code);
        let sign = if self.amount < 0 { "-" } else { "" };
        let minor = self.amount.unsigned_abs();
        let scale = 10u64.pow(decimals);
        let whole = (minor / scale).to_string();
        let mut number = String::with_capacity(whole.len() + whole.len() / 3 + 3);
        for (i, digit) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i).is_multiple_of(3) {
                number.push(',');
            }
            number.push(digit);
        }
        if decimals > 0 {
            let width = decimals as usize;
            let _ = write!(number, ".{:0width$}", minor % scale);
        }
        match code {
            "USD" => format!("{sign}${number}"),
            "EUR" => format!("{sign}€{number}"),
            "GBP" => format!("{sign}£{number}"),
            "JPY" => format!("{sign}¥{number}"),
            other => format!("{sign}{number} {other}"),
        }
    }

    /// An amount typed by a person (`146.99`, `146`, `146.9`, `$1,204.00`) in `currency`;
    /// `None` unless it is a non-negative number with no more decimals than the currency has.
    pub fn parse_decimal(text: &str, currency: &str) -> Option<Self> {
        let text = text
            .trim()
            .trim_start_matches(['$', '€', '£', '¥'])
            .replace(',', "");
        let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
        let exponent = Currency::decimals(currency);
        let decimals = exponent as usize;
        if whole.is_empty() && fraction.is_empty()
            || !whole.chars().all(|c| c.is_ascii_digit())
            || !fraction.chars().all(|c| c.is_ascii_digit())
            || fraction.len() > decimals
            || whole.len() > 12
        {
            return None;
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        let padded = format!("{fraction:0<decimals$}");
        let fraction: i64 = if padded.is_empty() {
            0
        } else {
            padded.parse().ok()?
        };
        let scale = 10i64.pow(exponent);
        let amount = whole.checked_mul(scale)?.checked_add(fraction)?;
        Some(Self::new(amount, currency))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_may_be_zero_but_not_negative_nor_huge_nor_in_a_made_up_currency() {
        assert!(Money::parse_price("price", &Money::new(0, "USD")).is_ok());
        assert!(Money::parse_price("price", &Money::new(1999, "EUR")).is_ok());
        for (money, field) in [
            (Money::new(-1, "USD"), "price.amount"),
            (Money::new(Money::MAX_PRICE + 1, "USD"), "price.amount"),
            (Money::new(1, "usd"), "price.currency"),
            (Money::new(1, "XYZ"), "price.currency"),
        ] {
            let err = Money::parse_price("price", &money).unwrap_err();
            assert_eq!(err.field, field, "{money:?}");
        }
    }

    #[test]
    fn charges_must_be_positive_and_bounded() {
        assert!(Money::parse_charge("amount", &Money::new(2500, "USD")).is_ok());
        for (money, field) in [
            (Money::new(0, "USD"), "amount.amount"),
            (Money::new(-1, "USD"), "amount.amount"),
            (Money::new(Money::MAX_CHARGE + 1, "USD"), "amount.amount"),
            (Money::new(1, "usd"), "amount.currency"),
            (Money::new(1, "US"), "amount.currency"),
            (Money::new(1, "USDX"), "amount.currency"),
            (Money::new(1, "ÜSD"), "amount.currency"),
        ] {
            let err = Money::parse_charge("amount", &money).unwrap_err();
            assert_eq!(err.field, field, "{money:?}");
        }
    }

    #[test]
    fn amounts_are_written_with_symbol_grouping_and_the_currencys_decimals() {
        let cases = [
            (14_699, "USD", "$146.99"),
            (120_400, "GBP", "£1,204.00"),
            (950, "EUR", "€9.50"),
            (5, "USD", "$0.05"),
            (123_456_789, "CHF", "1,234,567.89 CHF"),
            (-499, "USD", "-$4.99"),
            (500, "JPY", "¥500"),
            (-5, "JPY", "-¥5"),
            (0, "EUR", "€0.00"),
            (1_500_000, "KRW", "1,500,000 KRW"),
        ];
        for (amount, currency, text) in cases {
            assert_eq!(Money::new(amount, currency).format(), text);
        }
        assert_eq!(
            Money::new(i64::MIN, "USD").format(),
            "-$92,233,720,368,547,758.08"
        );
    }

    #[test]
    fn typed_amounts_parse_to_minor_units() {
        let usd = |text| Money::parse_decimal(text, "USD").map(|m| m.amount);
        assert_eq!(usd("146.99"), Some(14_699));
        assert_eq!(usd("146"), Some(14_600));
        assert_eq!(usd("146.9"), Some(14_690));
        assert_eq!(usd(" $1,204.00 "), Some(120_400));
        assert_eq!(usd(".5"), Some(50));
        for bad in ["", "abc", "1.234", "-3", "1e3", "1.2.3", "."] {
            assert_eq!(usd(bad), None, "{bad:?}");
        }
        assert_eq!(
            Money::parse_decimal("500", "JPY"),
            Some(Money::new(500, "JPY"))
        );
        assert_eq!(Money::parse_decimal("5.5", "JPY"), None);
    }

    #[test]
    fn times_saturates() {
        assert_eq!(Money::new(250, "USD").times(3), Money::new(750, "USD"));
        assert_eq!(Money::new(i64::MAX, "USD").times(2).amount, i64::MAX);
    }
}
