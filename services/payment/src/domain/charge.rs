//! An authorization request after parsing: who pays how much for which order, with which card.
//!
//! The card arrives as a raw JSON value and is read field by field here rather than through
//! serde's derive: serde's type errors quote the offending value (``invalid type: integer
//! `4242424242424242` ``), and a problem body, a log line or a trace must never carry a card
//! number. Every message below is our own and names only the field.

use std::fmt::Write as _;

use chrono::Datelike;
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{CardNumber, Cvc, Expiry, FieldError, Money};

/// The fields a card object may have.
const CARD_FIELDS: [&str; 4] = ["card_number", "exp_month", "exp_year", "cvc"];

/// Longest accepted customer id.
const MAX_CUSTOMER_ID: usize = 200;

/// Today as `(year, month)` in UTC, for [`Expiry::parse`].
pub fn today() -> (u16, u8) {
    let now = chrono::Utc::now();
    (
        u16::try_from(now.year()).unwrap_or(u16::MAX),
        u8::try_from(now.month()).unwrap_or(1),
    )
}

/// Valid card details. They exist only while an authorization is handled: the number and
/// security code are handed to the processor and dropped, never stored or logged (their `Debug`
/// is masked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardDetails {
    /// The card number.
    pub number: CardNumber,
    /// The expiry date.
    pub expiry: Expiry,
    /// The security code, checked and then only ever handed to the processor.
    pub cvc: Cvc,
}

impl CardDetails {
    /// Reads a card object `{"card_number", "exp_month", "exp_year", "cvc"}` as sent, given
    /// `today` as `(year, month)`. The number and the code may be strings or JSON numbers;
    /// the expiry fields are integers. Errors name `card.<field>` and never quote the value.
    pub fn from_json(card: &Value, today: (u16, u8)) -> Result<Self, FieldError> {
        let Some(fields) = card.as_object() else {
            return Err(FieldError::new(
                "card",
                "must be an object with card_number, exp_month, exp_year and cvc",
            ));
        };
        // The unknown key is not quoted: it could be a card number typed in the wrong place.
        if fields
            .keys()
            .any(|key| !CARD_FIELDS.contains(&key.as_str()))
        {
            return Err(FieldError::new(
                "card",
                "has an unknown field: only card_number, exp_month, exp_year and cvc are accepted",
            ));
        }
        let number = CardNumber::parse(&digits(card, "card_number")?).map_err(card_error)?;
        let month = integer(card, "exp_month", "must be an integer from 1 to 12")?;
        let year = integer(card, "exp_year", "must be an integer year such as 2030")?;
        let expiry = Expiry::parse(month, year, today).map_err(card_error)?;
        let cvc = Cvc::parse(&digits(card, "cvc")?, number.brand()).map_err(card_error)?;
        Ok(Self {
            number,
            expiry,
            cvc,
        })
    }
}

fn card_error(err: super::CardError) -> FieldError {
    FieldError::new(format!("card.{}", err.field()), err.message())
}

fn missing(field: &str) -> FieldError {
    FieldError::new(format!("card.{field}"), "is required")
}

/// A field given as a string, or as a non-negative integer (turned into its digits).
fn digits(card: &Value, field: &str) -> Result<String, FieldError> {
    match card.get(field) {
        None | Some(Value::Null) => Err(missing(field)),
        Some(Value::String(text)) => Ok(text.clone()),
        Some(Value::Number(number)) if number.is_u64() => Ok(number.to_string()),
        Some(_) => Err(FieldError::new(
            format!("card.{field}"),
            "must be a string of digits",
        )),
    }
}

/// A field given as a non-negative integer that fits in 32 bits.
fn integer(card: &Value, field: &str, expected: &str) -> Result<u32, FieldError> {
    match card.get(field) {
        None | Some(Value::Null) => Err(missing(field)),
        Some(value) => value
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| FieldError::new(format!("card.{field}"), expected)),
    }
}

/// A parsed authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    /// The order being paid for.
    pub order_id: Uuid,
    /// The buyer's user id.
    pub customer_id: String,
    /// How much.
    pub amount: Money,
    /// With which card.
    pub card: CardDetails,
}

impl Charge {
    /// Validates an authorization request; `card` is the raw card object.
    pub fn parse(
        order_id: Uuid,
        customer_id: &str,
        amount: &Money,
        card: &Value,
        today: (u16, u8),
    ) -> Result<Self, FieldError> {
        let customer_id = customer_id.trim();
        if customer_id.is_empty()
            || customer_id.chars().count() > MAX_CUSTOMER_ID
            || customer_id.chars().any(char::is_control)
        {
            return Err(FieldError::new(
                "customer_id",
                format!("must be the buyer's user id: 1 to {MAX_CUSTOMER_ID} characters"),
            ));
        }
        Ok(Self {
            order_id,
            customer_id: customer_id.to_owned(),
            amount: Money::parse_charge("amount", amount)?,
            card: CardDetails::from_json(card, today)?,
        })
    }

    /// What makes two requests with one idempotency key "the same request": SHA-256 (lower-case
    /// hex) of `order_id|amount|currency|brand|last4|exp_month|exp_year`. Built from what may
    /// be stored anyway, never from the full number or the security code.
    pub fn fingerprint(&self) -> String {
        let text = format!(
            "{}|{}|{}|{}|{}|{}|{}",
            self.order_id,
            self.amount.amount,
            self.amount.currency,
            self.card.number.brand().as_str(),
            self.card.number.last4(),
            self.card.expiry.month,
            self.card.expiry.year,
        );
        Sha256::digest(text.as_bytes())
            .iter()
            .fold(String::with_capacity(64), |mut hex, byte| {
                let _ = write!(hex, "{byte:02x}");
                hex
            })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::Brand;

    const TODAY: (u16, u8) = (2026, 5);

    fn card(number: &Value, cvc: &Value) -> Value {
        json!({"card_number": number, "exp_month": 12, "exp_year": 2030, "cvc": cvc})
    }

    #[test]
    fn numbers_and_codes_may_be_strings_or_integers() {
        for (number, cvc) in [
            (json!("4242 4242 4242 4242"), json!("123")),
            (json!(4_242_424_242_424_242_u64), json!(123)),
        ] {
            let details = CardDetails::from_json(&card(&number, &cvc), TODAY).unwrap();
            assert_eq!(details.number.digits(), "4242424242424242");
            assert_eq!(details.number.brand(), Brand::Visa);
            assert_eq!(details.cvc.digits(), "123");
            assert_eq!(
                details.expiry,
                Expiry {
                    month: 12,
                    year: 2030
                }
            );
        }
    }

    #[test]
    fn errors_name_the_card_field_and_never_quote_the_number() {
        let cases = [
            (
                card(&json!("4242424242424241"), &json!("123")),
                "card.card_number",
            ),
            (
                card(&json!(4_242_424_242_424_241_u64), &json!("123")),
                "card.card_number",
            ),
            (
                card(&json!(-4_242_424_242_424_242_i64), &json!("123")),
                "card.card_number",
            ),
            (
                card(&json!(4_242_424_242_424_242.0_f64), &json!("123")),
                "card.card_number",
            ),
            (
                card(&json!(["4242424242424242"]), &json!("123")),
                "card.card_number",
            ),
            (card(&json!("4242424242424242"), &json!("12")), "card.cvc"),
            (card(&json!("4242424242424242"), &json!(null)), "card.cvc"),
            (
                json!({"card_number": "4242424242424242", "exp_month": 13, "exp_year": 2030, "cvc": "123"}),
                "card.exp_month",
            ),
            (
                json!({"card_number": "4242424242424242", "exp_month": "12", "exp_year": 2030, "cvc": "123"}),
                "card.exp_month",
            ),
            (
                json!({"card_number": "4242424242424242", "exp_month": 12, "exp_year": 2020, "cvc": "123"}),
                "card.exp_year",
            ),
            (
                json!({"card_number": "4242424242424242", "exp_month": 12, "cvc": "123"}),
                "card.exp_year",
            ),
            (
                json!({"card_number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123", "4242424242424242": 1}),
                "card",
            ),
            (json!("4242424242424242"), "card"),
        ];
        for (input, field) in cases {
            let err = CardDetails::from_json(&input, TODAY).unwrap_err();
            assert_eq!(err.field, field, "{input}");
            assert!(!err.detail.contains("4242"), "{input}: {}", err.detail);
        }
    }

    fn charge(amount: i64, exp_year: u32) -> Charge {
        let order = Uuid::from_u128(7);
        let card = json!({"card_number": "4242424242424242", "exp_month": 12, "exp_year": exp_year, "cvc": "123"});
        Charge::parse(order, "user-1", &Money::new(amount, "USD"), &card, TODAY).unwrap()
    }

    #[test]
    fn the_fingerprint_follows_the_request_but_not_the_secrets() {
        let base = charge(2500, 2030);
        let fingerprint = base.fingerprint();
        assert_eq!(fingerprint.len(), 64);
        assert!(!fingerprint.contains("4242424242424242"));
        assert_eq!(charge(2500, 30).fingerprint(), fingerprint, "30 means 2030");
        assert_ne!(charge(2600, 2030).fingerprint(), fingerprint);
        assert_ne!(charge(2500, 2031).fingerprint(), fingerprint);
        let mut other_code = base.clone();
        other_code.card.cvc = Cvc::parse("999", Brand::Visa).unwrap();
        assert_eq!(
            other_code.fingerprint(),
            fingerprint,
            "the code is not part of it"
        );
    }

    #[test]
    fn customer_and_amount_are_checked() {
        let card = json!({"card_number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"});
        let order = Uuid::from_u128(7);
        let usd = Money::new(100, "USD");
        assert_eq!(
            Charge::parse(order, "  ", &usd, &card, TODAY)
                .unwrap_err()
                .field,
            "customer_id"
        );
        assert_eq!(
            Charge::parse(order, "u", &Money::new(0, "USD"), &card, TODAY)
                .unwrap_err()
                .field,
            "amount.amount"
        );
    }
}
