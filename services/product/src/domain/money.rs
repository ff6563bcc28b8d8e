//! Money: integer minor units and an ISO 4217 currency. Never floats.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::FieldError;

/// Active ISO 4217 codes accepted for prices.
const ISO_4217: &str = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL \
BSD BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP \
GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW \
KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO \
NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD \
SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF \
XPF YER ZAR ZMW ZWL";

/// An ISO 4217 currency code.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Currency(String);

impl Currency {
    /// Parses an upper-case ISO 4217 code.
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
}

impl AsRef<str> for Currency {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// An amount of money: integer minor units (cents) and a currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Money {
    /// Amount in minor units (1999 = 19.99).
    pub amount: i64,
    /// ISO 4217 code.
    pub currency: String,
}

impl Money {
    /// Largest accepted price: 1,000,000.00 in major units.
    pub const MAX_PRICE: i64 = 100_000_000;

    /// Validates a price for field `field` (`price`).
    pub fn parse_price(field: &str, value: &Self) -> Result<Self, FieldError> {
        if value.amount < 0 {
            return Err(FieldError::new(
                format!("{field}.amount"),
                "must not be negative",
            ));
        }
        if value.amount > Self::MAX_PRICE {
            return Err(FieldError::new(
                format!("{field}.amount"),
                format!("must be at most {} minor units", Self::MAX_PRICE),
            ));
        }
        let currency = Currency::parse(&format!("{field}.currency"), &value.currency)?;
        Ok(Self {
            amount: value.amount,
            currency: currency.0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price(amount: i64, currency: &str) -> Money {
        Money {
            amount,
            currency: currency.into(),
        }
    }

    #[test]
    fn prices_must_be_sane() {
        assert!(Money::parse_price("price", &price(1999, "USD")).is_ok());
        assert_eq!(
            Money::parse_price("price", &price(-1, "USD"))
                .unwrap_err()
                .field,
            "price.amount"
        );
        assert!(Money::parse_price("price", &price(Money::MAX_PRICE + 1, "USD")).is_err());
        assert_eq!(
            Money::parse_price("price", &price(1, "usd"))
                .unwrap_err()
                .field,
            "price.currency"
        );
        assert!(Money::parse_price("price", &price(1, "XYZ")).is_err());
    }
}
