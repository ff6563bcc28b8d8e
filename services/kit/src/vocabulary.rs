//! The words every service uses alike, defined once: a rejected field ([`FieldError`], which
//! becomes a 422 `validation` problem naming it), a stock-keeping unit ([`Sku`], the key the
//! catalog, carts, orders and stock share), an amount of [`Money`], and the shapes the order
//! service answers with and the storefront reads alike (a [`CartLine`], a [`ShippingAddress`]).
//! Services re-export them from their `domain`.

mod cart_line;
mod money;
mod shipping_address;

pub use cart_line::CartLine;
pub use money::{Currency, Money};
pub use shipping_address::ShippingAddress;

/// A rejected value: which field, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Field path as the client sent it (`price.amount`, `card.exp_year`).
    pub field: String,
    /// What is wrong (never the rejected value itself, which may be secret).
    pub detail: String,
}

impl FieldError {
    /// A new error for `field`.
    pub fn new(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            detail: detail.into(),
        }
    }
}

impl From<FieldError> for crate::ApiError {
    fn from(err: FieldError) -> Self {
        Self::validation(err.field, err.detail)
    }
}

/// Stock-keeping unit: 1–64 characters of `A-Z 0-9 - _`, starting with a letter or digit,
/// stored upper-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sku(String);

impl Sku {
    /// Parses and upper-cases a SKU.
    pub fn parse(value: &str) -> Result<Self, FieldError> {
        let sku = value.trim().to_ascii_uppercase();
        let valid = !sku.is_empty()
            && sku.len() <= 64
            && sku
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphanumeric())
            && sku
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if valid {
            Ok(Self(sku))
        } else {
            Err(FieldError::new(
                "sku",
                "must be 1-64 characters of letters, digits, '-' or '_', starting with a letter or digit",
            ))
        }
    }
}

impl AsRef<str> for Sku {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skus_are_trimmed_upper_cased_and_checked() {
        assert_eq!(Sku::parse(" ab-12_x ").unwrap().as_ref(), "AB-12_X");
        for bad in ["", "-lead", "sp ace", "é", &"x".repeat(65)] {
            assert!(Sku::parse(bad).is_err(), "accepted {bad:?}");
        }
        assert_eq!(Sku::parse("no/slash").unwrap_err().field, "sku");
    }

    #[test]
    fn a_field_error_is_a_validation_problem_naming_the_field() {
        let problem = crate::ApiError::from(FieldError::new("price.amount", "must be positive"));
        assert!(
            format!("{problem:?}").contains("price.amount"),
            "{problem:?}"
        );
    }
}
