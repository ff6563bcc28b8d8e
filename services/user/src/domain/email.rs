//! E-mail addresses, normalised so one mailbox has one account.

use super::FieldError;

/// A trimmed, lower-cased e-mail address (at most 254 characters, one `@`, a dotted domain).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Parses and normalises an address.
    pub fn parse(value: &str) -> Result<Self, FieldError> {
        let email = value.trim().to_lowercase();
        let bad = || FieldError::new("email", "must be an e-mail address such as ana@example.com");
        if email.is_empty()
            || email.len() > 254
            || email.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(bad());
        }
        let (local, domain) = email.split_once('@').ok_or_else(bad)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !domain.contains('@');
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return Err(bad());
        }
        Ok(Self(email))
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Ana@Example.COM ").unwrap().as_ref(),
            "ana@example.com"
        );
        for bad in [
            "",
            "ana",
            "ana@",
            "@example.com",
            "ana@example",
            "a b@example.com",
            "ana@@example.com",
            "ana@example..com",
        ] {
            assert!(Email::parse(bad).is_err(), "accepted {bad:?}");
        }
    }
}
