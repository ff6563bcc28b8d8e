//! Where an order goes: what a checkout sends the order service, and what an order carries
//! back to its owner and the storefront.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ApiError;

/// A shipping address, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShippingAddress {
    /// Recipient.
    pub name: String,
    /// Street and number.
    pub line1: String,
    /// More of the street address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    /// City.
    pub city: String,
    /// Postal code.
    pub postal_code: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
}

fn field(name: &str, value: &str, max: usize) -> Result<String, ApiError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(ApiError::validation(
            format!("shipping_address.{name}"),
            format!("must be 1-{max} characters without control characters"),
        ));
    }
    Ok(value.to_owned())
}

impl ShippingAddress {
    /// The address with every field trimmed and checked; the country upper-cased.
    pub fn checked(&self) -> Result<Self, ApiError> {
        let country = self.country.trim().to_ascii_uppercase();
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(ApiError::validation(
                "shipping_address.country",
                "must be a two-letter country code such as US or DE",
            ));
        }
        Ok(Self {
            name: field("name", &self.name, 100)?,
            line1: field("line1", &self.line1, 200)?,
            line2: match &self.line2 {
                Some(line) if !line.trim().is_empty() => Some(field("line2", line, 200)?),
                _ => None,
            },
            city: field("city", &self.city, 100)?,
            postal_code: field("postal_code", &self.postal_code, 20)?,
            country,
        })
    }
}
