//! Free-text limits shared by the catalog's string fields.

use super::FieldError;

/// Trims `value` and checks it has between `min` and `max` characters and no control characters.
pub(crate) fn bounded(
    field: &str,
    value: &str,
    min: usize,
    max: usize,
) -> Result<String, FieldError> {
    let trimmed = value.trim();
    let chars = trimmed.chars().count();
    if chars < min {
        return Err(FieldError::new(
            field,
            format!("must have at least {min} character(s)"),
        ));
    }
    if chars > max {
        return Err(FieldError::new(
            field,
            format!("must have at most {max} characters (got {chars})"),
        ));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(trimmed.to_owned())
}

/// A product description (at most 5,000 characters; may be empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    /// Longest accepted description.
    pub const MAX: usize = 5_000;

    /// Parses a description.
    pub fn parse(value: &str) -> Result<Self, FieldError> {
        bounded("description", value, 0, Self::MAX).map(Self)
    }
}

impl AsRef<str> for Description {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_control_characters_and_overlong_text() {
        assert!(bounded("name", "a\u{0}b", 1, 10).is_err());
        assert!(bounded("name", "   ", 1, 10).is_err());
        assert!(bounded("name", &"x".repeat(11), 1, 10).is_err());
        assert_eq!(bounded("name", "  ok ", 1, 10).unwrap(), "ok");
        assert!(Description::parse(&"d".repeat(5_001)).is_err());
    }
}
