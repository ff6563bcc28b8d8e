//! Categories: a slug (`running-shoes`) and a display name.

use serde::Serialize;
use utoipa::ToSchema;

use super::{FieldError, text::bounded};

/// A category slug: 1–64 characters of `a-z 0-9 -`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CategorySlug(String);

impl CategorySlug {
    /// Parses a slug for `field`.
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldError> {
        let slug = value.trim();
        let valid = !slug.is_empty()
            && slug.len() <= 64
            && !slug.starts_with('-')
            && slug
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if valid {
            Ok(Self(slug.to_owned()))
        } else {
            Err(FieldError::new(
                field,
                "must be a category slug: 1-64 characters of a-z, 0-9 and '-'",
            ))
        }
    }
}

impl AsRef<str> for CategorySlug {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A validated category to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCategory {
    /// Slug (unique).
    pub slug: CategorySlug,
    /// Display name, 1–100 characters.
    pub name: String,
}

impl NewCategory {
    /// Parses a category.
    pub fn parse(slug: &str, name: &str) -> Result<Self, FieldError> {
        Ok(Self {
            slug: CategorySlug::parse("slug", slug)?,
            name: bounded("name", name, 1, 100)?,
        })
    }
}

/// A stored category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Category {
    /// Slug.
    pub slug: String,
    /// Display name.
    pub name: String,
}

/// A category with the number of active products in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CategoryCount {
    /// Slug.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Active products in the category.
    pub product_count: i64,
}
