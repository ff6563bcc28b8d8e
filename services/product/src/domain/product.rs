//! A product and the values it is made of.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{CategorySlug, Description, FieldError, Money, Sku, text::bounded};

/// A product name: 1–200 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductName(String);

impl ProductName {
    /// Parses a name.
    pub fn parse(value: &str) -> Result<Self, FieldError> {
        bounded("name", value, 1, 200).map(Self)
    }
}

impl AsRef<str> for ProductName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A brand: 1–100 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Brand(String);

impl Brand {
    /// Parses a brand for `field` (`brand` in bodies and queries).
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldError> {
        bounded(field, value, 1, 100).map(Self)
    }
}

impl AsRef<str> for Brand {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Free-form attributes (`{"color": "red"}`): at most 50 pairs, keys ≤ 64 and values ≤ 256
/// characters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Attributes(BTreeMap<String, String>);

impl Attributes {
    /// Most pairs accepted.
    pub const MAX_PAIRS: usize = 50;

    /// Parses attributes.
    pub fn parse(value: BTreeMap<String, String>) -> Result<Self, FieldError> {
        if value.len() > Self::MAX_PAIRS {
            return Err(FieldError::new(
                "attributes",
                format!("must have at most {} entries", Self::MAX_PAIRS),
            ));
        }
        let mut out = BTreeMap::new();
        for (key, val) in value {
            let field = format!("attributes.{key}");
            let key = bounded(&field, &key, 1, 64)?;
            let val = bounded(&field, &val, 0, 256)?;
            out.insert(key, val);
        }
        Ok(Self(out))
    }

    /// The pairs.
    pub fn as_map(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    /// JSON text for storage.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "{}".to_owned())
    }
}

/// An image URL: absolute `http(s)://` or a root-relative path, at most 2,048 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageUrl(String);

impl ImageUrl {
    /// Parses an image URL.
    pub fn parse(value: &str) -> Result<Self, FieldError> {
        let url = value.trim();
        let scheme_ok = url.starts_with("https://")
            || url.starts_with("http://")
            || (url.starts_with('/') && !url.starts_with("//"));
        if url.len() > 2048
            || !scheme_ok
            || url.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(FieldError::new(
                "image_url",
                "must be an http(s) URL or a path starting with '/', at most 2048 characters",
            ));
        }
        Ok(Self(url.to_owned()))
    }
}

impl AsRef<str> for ImageUrl {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A validated product to create or to replace an existing one with.
#[derive(Debug, Clone, PartialEq)]
pub struct NewProduct {
    /// SKU (unique).
    pub sku: Sku,
    /// Name.
    pub name: ProductName,
    /// Description.
    pub description: Description,
    /// Price.
    pub price: Money,
    /// Category (must exist).
    pub category: CategorySlug,
    /// Brand.
    pub brand: Brand,
    /// Attributes.
    pub attributes: Attributes,
    /// Image.
    pub image_url: Option<ImageUrl>,
    /// Listed in the storefront.
    pub active: bool,
}

/// A stored product.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Product {
    /// Product id.
    pub id: Uuid,
    /// SKU (upper-case, unique).
    pub sku: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Price in minor units.
    pub price: Money,
    /// Category slug.
    pub category: String,
    /// Brand.
    pub brand: String,
    /// Free-form attributes.
    pub attributes: BTreeMap<String, String>,
    /// Image URL.
    pub image_url: Option<String>,
    /// Whether the product is listed.
    pub active: bool,
    /// Creation time (UTC).
    pub created_at: DateTime<Utc>,
    /// Last change (UTC).
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_urls_need_a_safe_scheme() {
        assert!(ImageUrl::parse("https://img.example/x.png").is_ok());
        assert!(ImageUrl::parse("/static/x.svg").is_ok());
        for bad in [
            "javascript:alert(1)",
            "//evil.example/x",
            "ftp://x",
            "https://a b",
        ] {
            assert!(ImageUrl::parse(bad).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn attributes_are_bounded() {
        let many: BTreeMap<_, _> = (0..51).map(|i| (format!("k{i}"), "v".to_owned())).collect();
        assert!(Attributes::parse(many).is_err());
        let long: BTreeMap<_, _> = [("k".to_owned(), "v".repeat(257))].into();
        assert_eq!(Attributes::parse(long).unwrap_err().field, "attributes.k");
    }
}
