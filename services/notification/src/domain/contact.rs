//! Who mail goes to: a user's address and name, as the user service announced them.

use std::fmt;

use uuid::Uuid;

/// Longest accepted address (RFC 5321's path limit less the angle brackets).
const MAX_ADDRESS: usize = 254;
/// Longest accepted local part (before the `@`).
const MAX_LOCAL: usize = 64;
/// Longest accepted name, in characters.
const MAX_NAME: usize = 200;

/// An e-mail address in the plain `local@domain` form SMTP carries: no display name, no
/// whitespace or control characters, nothing that could open a second header or recipient.
///
/// Its `Debug` form is masked (`a***@example.com`), so a stray `{:?}` cannot put an address in
/// the logs.
#[derive(Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Checks `value` (surrounding whitespace is ignored); the error says what is wrong.
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        if value.is_empty() {
            return Err("must not be empty".to_owned());
        }
        if value.len() > MAX_ADDRESS {
            return Err(format!("must be at most {MAX_ADDRESS} bytes"));
        }
        if value
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>()[]\\,;:\"".contains(c))
        {
            return Err("must be a bare address such as `ana@example.com`".to_owned());
        }
        let Some((local, domain)) = value.split_once('@') else {
            return Err("must contain an `@`".to_owned());
        };
        if local.is_empty() || local.len() > MAX_LOCAL {
            return Err(format!("must have 1 to {MAX_LOCAL} bytes before the `@`"));
        }
        if domain.is_empty()
            || domain.contains('@')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
        {
            return Err("must have a domain after the `@`".to_owned());
        }
        Ok(Self(value.to_owned()))
    }

    /// The address with the local part hidden but its first character: `a***@example.com`.
    pub fn masked(&self) -> String {
        let (local, domain) = self.0.split_once('@').unwrap_or((self.0.as_str(), ""));
        let first: String = local.chars().take(1).collect();
        format!("{first}***@{domain}")
    }
}

impl AsRef<str> for EmailAddress {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("EmailAddress").field(&self.masked()).finish()
    }
}

/// A user the service can write to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// The user's id in the user service.
    pub user_id: Uuid,
    /// Where mail goes.
    pub email: EmailAddress,
    /// How mails greet them; may be empty.
    pub name: String,
}

impl Contact {
    /// Checks a name for a contact: at most 200 characters; surrounding whitespace is dropped and
    /// control characters (line breaks included) become spaces.
    pub fn parse_name(value: &str) -> Result<String, String> {
        let name: String = value
            .trim()
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        if name.chars().count() > MAX_NAME {
            return Err(format!("must be at most {MAX_NAME} characters"));
        }
        Ok(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_addresses_are_accepted() {
        for value in ["ana@example.com", " ana.b+shop@mail.example.co.uk ", "x@y"] {
            let address = EmailAddress::parse(value).expect(value);
            assert_eq!(address.as_ref(), value.trim());
        }
    }

    #[test]
    fn anything_that_could_open_another_header_or_recipient_is_refused() {
        for value in [
            "",
            "ana",
            "@example.com",
            "ana@",
            "ana@@example.com",
            "ana@example..com",
            "Ana <ana@example.com>",
            "ana@example.com\r\nBcc: eve@example.com",
            "ana@example.com, eve@example.com",
            "ana example@example.com",
        ] {
            assert!(EmailAddress::parse(value).is_err(), "{value:?} accepted");
        }
        let long = format!("{}@example.com", "a".repeat(65));
        assert!(EmailAddress::parse(&long).is_err());
    }

    #[test]
    fn debug_output_masks_the_address() {
        let address = EmailAddress::parse("ana@example.com").unwrap();
        assert_eq!(address.masked(), "a***@example.com");
        let debug = format!("{address:?}");
        assert!(!debug.contains("ana@"), "{debug}");
    }

    #[test]
    fn names_lose_control_characters_and_are_bounded() {
        assert_eq!(Contact::parse_name("  Ana\r\nB  ").unwrap(), "Ana  B");
        assert_eq!(Contact::parse_name("").unwrap(), "");
        assert!(Contact::parse_name(&"n".repeat(201)).is_err());
    }
}
