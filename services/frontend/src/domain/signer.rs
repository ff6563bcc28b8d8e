//! Keys that make the storefront's cookies tamper-evident: CSRF tokens bound to a browser
//! session, and the guest cart kept in the browser.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 signer with keys derived per purpose, so a value signed for one use (a cart)
/// is never accepted for another (a CSRF token).
#[derive(Clone)]
pub struct Signer {
    root: [u8; 32],
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(..)")
    }
}

impl Signer {
    /// A signer from the platform secret `secret` (every replica derives the same keys).
    pub fn from_secret(secret: &[u8]) -> Self {
        let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
        mac.update(b"shopctl-frontend-v1");
        Self {
            root: mac.finalize().into_bytes().into(),
        }
    }

    /// A signer with a fresh random key: sessions do not survive a restart. For a storefront
    /// run without the platform's service key.
    pub fn random() -> Self {
        Self {
            root: rand::random(),
        }
    }

    fn mac(&self, purpose: &str, value: &str) -> HmacSha256 {
        let mut mac =
            HmacSha256::new_from_slice(&self.root).expect("HMAC takes keys of any length");
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        mac
    }

    /// The signature of `value` for `purpose`, base64url.
    pub fn sign(&self, purpose: &str, value: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(purpose, value).finalize().into_bytes())
    }

    /// Whether `signature` is `value`'s for `purpose` (constant-time).
    pub fn verify(&self, purpose: &str, value: &str, signature: &str) -> bool {
        URL_SAFE_NO_PAD
            .decode(signature)
            .is_ok_and(|bytes| self.mac(purpose, value).verify_slice(&bytes).is_ok())
    }

    /// `value.signature`, for a cookie.
    pub fn seal(&self, purpose: &str, value: &str) -> String {
        format!("{value}.{}", self.sign(purpose, value))
    }

    /// The value of a sealed cookie, when its signature holds.
    pub fn open<'a>(&self, purpose: &str, sealed: &'a str) -> Option<&'a str> {
        let (value, signature) = sealed.rsplit_once('.')?;
        self.verify(purpose, value, signature).then_some(value)
    }

    /// The CSRF token of the browser session `session_id`: every form carries it and every
    /// form post must return it (a cross-site page can read neither the cookie nor the token).
    pub fn csrf_token(&self, session_id: &str) -> String {
        self.sign("csrf", session_id)
    }

    /// Whether `token` is the CSRF token of `session_id`.
    pub fn csrf_ok(&self, session_id: &str, token: &str) -> bool {
        !session_id.is_empty() && self.verify("csrf", session_id, token)
    }
}

/// A new random browser-session id (128 bits, base64url).
pub fn new_session_id() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_for_its_purpose_and_untampered() {
        let signer = Signer::from_secret(b"secret");
        let sealed = signer.seal("cart", "SKU-1*2");
        assert_eq!(signer.open("cart", &sealed), Some("SKU-1*2"));
        assert_eq!(signer.open("csrf", &sealed), None);
        assert_eq!(signer.open("cart", &sealed.replace("*2", "*9")), None);
        assert_eq!(Signer::from_secret(b"other").open("cart", &sealed), None);
    }

    #[test]
    fn csrf_tokens_are_bound_to_their_session() {
        let signer = Signer::random();
        let token = signer.csrf_token("session-a");
        assert!(signer.csrf_ok("session-a", &token));
        assert!(!signer.csrf_ok("session-b", &token));
        assert!(!signer.csrf_ok("", &signer.csrf_token("")));
        assert!(!signer.csrf_ok("session-a", "not-base64!"));
    }
}
