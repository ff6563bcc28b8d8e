//! Passwords: the policy (length, not a common password) and argon2id hashing with OWASP's
//! current parameters (m = 19 MiB, t = 2, p = 1).

use std::{collections::HashSet, sync::OnceLock};

use argon2::{
    Algorithm, Argon2, Params, Version,
    password_hash::{
        PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString, rand_core::OsRng,
    },
};

use super::FieldError;

/// The bundled list of common and breached passwords (lower-case, one per line).
const COMMON: &str = include_str!("../../data/common-passwords.txt");

fn common() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| COMMON.lines().collect())
}

/// A password that meets the policy. Never `Debug`-printed.
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([redacted])")
    }
}

impl Password {
    /// Shortest accepted password, in characters.
    pub const MIN: usize = 12;
    /// Longest accepted password (hashing cost stays bounded).
    pub const MAX: usize = 256;

    /// Checks a new password for `field`.
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldError> {
        let chars = value.chars().count();
        if chars < Self::MIN {
            return Err(FieldError::new(
                field,
                format!("must have at least {} characters", Self::MIN),
            ));
        }
        if chars > Self::MAX {
            return Err(FieldError::new(
                field,
                format!("must have at most {} characters", Self::MAX),
            ));
        }
        if common().contains(value.to_lowercase().as_str()) {
            return Err(FieldError::new(
                field,
                "is too common; choose a password that is not on breach lists",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    /// The password text, for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Hashes and verifies passwords with argon2id.
#[derive(Clone)]
pub struct PasswordHasher {
    argon: Argon2<'static>,
    dummy: String,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHasher(argon2id)")
    }
}

impl Default for PasswordHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl PasswordHasher {
    /// argon2id with m = 19,456 KiB, t = 2, p = 1.
    pub fn new() -> Self {
        let params = Params::new(19_456, 2, 1, None).expect("OWASP argon2id parameters are valid");
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let salt = SaltString::generate(&mut OsRng);
        let dummy = argon
            .hash_password(b"not a real password, only for timing", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default();
        Self { argon, dummy }
    }

    /// The PHC string of `password` with a fresh salt.
    pub fn hash(&self, password: &Password) -> anyhow::Result<String> {
        let salt = SaltString::generate(&mut OsRng);
        self.argon
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing a password failed: {e}"))
    }

    /// Whether `candidate` matches `phc`. With `None` (no such account) a dummy hash is
    /// verified instead, so the answer takes as long either way.
    pub fn verify(&self, candidate: &str, phc: Option<&str>) -> bool {
        let target = phc.unwrap_or(&self.dummy);
        let matches = PasswordHash::new(target).is_ok_and(|hash| {
            self.argon
                .verify_password(candidate.as_bytes(), &hash)
                .is_ok()
        });
        matches && phc.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_common_passwords_are_refused() {
        assert!(Password::parse("password", "short").is_err());
        assert!(
            Password::parse("password", "Password1234").is_err(),
            "on the common list"
        );
        assert!(Password::parse("password", &"x".repeat(257)).is_err());
        assert!(Password::parse("password", "violet-harbour-kettle-9").is_ok());
    }

    #[test]
    fn hashes_verify_and_unknown_accounts_never_match() {
        let hasher = PasswordHasher::new();
        let password = Password::parse("password", "violet-harbour-kettle-9").unwrap();
        let hash = hasher.hash(&password).unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(hasher.verify("violet-harbour-kettle-9", Some(&hash)));
        assert!(!hasher.verify("violet-harbour-kettle-8", Some(&hash)));
        assert!(!hasher.verify("not a real password, only for timing", None));
        assert!(!format!("{password:?}").contains("violet"));
    }
}
