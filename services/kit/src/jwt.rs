//! Signed access tokens: Ed25519 JWTs (`alg: EdDSA`), their JWKS form, and the
//! [`JwtAuthenticator`] every service and the gateway verify them with.
//!
//! Verification accepts only `EdDSA` from the platform's issuers and `RS256`/`ES256`/`EdDSA`
//! from an external OIDC issuer, each only with a key of the matching type (so `alg: none` and
//! HS256-with-the-public-key confusion fail before any signature check), requires `exp`, `iss`, `aud` and `sub`, checks `nbf`, and takes
//! keys from a [`KeySource`] by `kid`: the issuer's own keys, or a remote JWKS fetched and cached,
//! refetched (at most once per interval) when an unknown `kid` appears. Several issuers can be
//! trusted at once, e.g. the built-in user service and an organisation's OIDC provider.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::Duration,
};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::auth::{AuthFuture, Authenticator, Principal, Role};

mod keys;

pub use keys::{JWKS_MAX_AGE, KeyFuture, KeySource, RemoteJwks, StaticKeys};

/// Claims of a shopctl access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Subject: user id, or `service:<name>` for service tokens.
    pub sub: String,
    /// Granted roles (names this platform does not know are ignored, as other issuers use
    /// their own).
    #[serde(default, deserialize_with = "known_roles")]
    pub roles: Vec<Role>,
    /// Audience (an issuer may send a list; verification checks every entry, this keeps the
    /// first).
    #[serde(deserialize_with = "one_or_first")]
    pub aud: String,
    /// Issuer.
    pub iss: String,
    /// Issued at (seconds since the epoch).
    #[serde(default)]
    pub iat: i64,
    /// Not before (absent means "from issue").
    #[serde(default)]
    pub nbf: i64,
    /// Expiry.
    pub exp: i64,
    /// Token id.
    #[serde(default)]
    pub jti: String,
}

impl Claims {
    /// Claims for `sub` with `roles`, valid from now for `ttl`.
    pub fn new(sub: &str, roles: Vec<Role>, iss: &str, aud: &str, ttl: Duration) -> Self {
        let now = chrono::Utc::now().timestamp();
        Self {
            sub: sub.to_owned(),
            roles,
            aud: aud.to_owned(),
            iss: iss.to_owned(),
            iat: now,
            nbf: now,
            exp: now + i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2),
            jti: uuid::Uuid::new_v4().to_string(),
        }
    }
}

fn known_roles<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<Role>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Roles {
        One(String),
        Many(Vec<serde_json::Value>),
    }
    let names = match Roles::deserialize(deserializer)? {
        Roles::One(name) => vec![serde_json::Value::String(name)],
        Roles::Many(names) => names,
    };
    Ok(names
        .into_iter()
        .filter_map(|name| serde_json::from_value(name).ok())
        .collect())
}

fn one_or_first<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Audience {
        One(String),
        Many(Vec<String>),
    }
    match Audience::deserialize(deserializer)? {
        Audience::One(aud) => Ok(aud),
        Audience::Many(list) => list
            .into_iter()
            .next()
            .ok_or_else(|| serde::de::Error::custom("empty audience")),
    }
}

/// One public key in JWKS form: `OKP`/`Ed25519` (RFC 8037) for the platform's own keys;
/// external issuers may also publish `RSA` (`n`, `e`) and `EC` P-256 (`x`, `y`) keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Jwk {
    /// Key type: `OKP`.
    pub kty: String,
    /// Curve: `Ed25519` or `P-256` (absent on RSA keys).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub crv: String,
    /// Public key (OKP) or x coordinate (EC), base64url.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub x: String,
    /// y coordinate (EC), base64url.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub y: String,
    /// Modulus (RSA), base64url.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub n: String,
    /// Public exponent (RSA), base64url.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub e: String,
    /// Key id.
    pub kid: String,
    /// Algorithm: `EdDSA`.
    #[serde(default)]
    pub alg: Option<String>,
    /// Use: `sig`.
    #[serde(default, rename = "use")]
    pub use_: Option<String>,
}

/// A JWKS document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct JwkSet {
    /// The keys.
    pub keys: Vec<Jwk>,
}

/// `iss` of service-to-service tokens.
pub const SERVICE_ISSUER: &str = "shopctl-services";
/// Lifetime of a service token.
pub const SERVICE_TOKEN_TTL: Duration = Duration::from_secs(60);

/// The platform service key from its base64url text.
pub fn service_signing_key(text: &secrecy::SecretString) -> Result<SigningKey, JwtError> {
    use secrecy::ExposeSecret;
    let seed = URL_SAFE_NO_PAD
        .decode(text.expose_secret().trim().trim_end_matches('='))
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes.as_slice()).ok())
        .ok_or(JwtError::ServiceKey)?;
    Ok(SigningKey::from_seed("shopctl-service", seed))
}

/// Mints short-lived tokens a service presents to another (`aud` = the callee's name).
#[derive(Clone)]
pub struct ServiceTokens {
    name: String,
    key: SigningKey,
}

impl std::fmt::Debug for ServiceTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceTokens")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl ServiceTokens {
    /// Tokens for service `name`, when the platform service key is configured.
    pub fn from_settings(name: &str, settings: &crate::settings::CommonSettings) -> Option<Self> {
        let key = service_signing_key(settings.service_key.as_ref()?).ok()?;
        Some(Self {
            name: name.to_owned(),
            key,
        })
    }

    /// A token for calling `audience` (another service's name), valid for a minute.
    pub fn mint(&self, audience: &str) -> Result<String, JwtError> {
        let claims = Claims::new(
            &format!("service:{}", self.name),
            vec![Role::Service],
            SERVICE_ISSUER,
            audience,
            SERVICE_TOKEN_TTL,
        );
        self.key.sign(&claims)
    }

    /// The issuer entry that makes `me` (a service name) accept tokens minted for it.
    pub fn trusted_by(&self, me: &str) -> TrustedIssuer {
        TrustedIssuer::platform(
            SERVICE_ISSUER,
            me,
            Arc::new(StaticKeys::new(vec![self.key.public_jwk()])),
        )
    }
}

/// Errors signing or verifying.
#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    /// The token could not be signed.
    #[error("signing the token failed: {0}")]
    Sign(#[source] jsonwebtoken::errors::Error),
    /// The service key is not 32 bytes of base64url.
    #[error(
        "must be 32 random bytes in base64url, e.g. from `head -c 32 /dev/urandom | basenc --base64url`"
    )]
    ServiceKey,
    /// The JWKS could not be fetched or parsed.
    #[error("fetching the JWKS from {url} failed: {reason}")]
    Jwks {
        /// Where from.
        url: String,
        /// Why.
        reason: String,
    },
}

/// An Ed25519 private key with its id. The seed never appears in `Debug` output.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    seed: [u8; 32],
    public: [u8; 32],
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// PKCS#8 v1 prefix of an Ed25519 private key (RFC 8410), followed by the 32-byte seed.
const PKCS8_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

impl SigningKey {
    /// A fresh random key with a random `kid`.
    pub fn generate() -> Self {
        let mut seed = [0u8; 32];
        rand::rng().fill_bytes(&mut seed);
        Self::from_seed(&uuid::Uuid::new_v4().simple().to_string(), seed)
    }

    /// The key for `seed`.
    pub fn from_seed(kid: &str, seed: [u8; 32]) -> Self {
        let public = ed25519_dalek::SigningKey::from_bytes(&seed)
            .verifying_key()
            .to_bytes();
        Self {
            kid: kid.to_owned(),
            seed,
            public,
        }
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The private seed, for storage by the issuer only.
    pub fn seed(&self) -> &[u8; 32] {
        &self.seed
    }

    /// The public half in JWKS form.
    pub fn public_jwk(&self) -> Jwk {
        Jwk {
            kty: "OKP".to_owned(),
            crv: "Ed25519".to_owned(),
            x: URL_SAFE_NO_PAD.encode(self.public),
            y: String::new(),
            n: String::new(),
            e: String::new(),
            kid: self.kid.clone(),
            alg: Some("EdDSA".to_owned()),
            use_: Some("sig".to_owned()),
        }
    }

    /// Signs `claims` with `kid` in the header.
    pub fn sign(&self, claims: &Claims) -> Result<String, JwtError> {
        let mut der = PKCS8_ED25519_PREFIX.to_vec();
        der.extend_from_slice(&self.seed);
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_der(&der))
            .map_err(JwtError::Sign)
    }
}

/// An issuer whose tokens are accepted.
pub struct TrustedIssuer {
    /// Expected `iss`.
    pub issuer: String,
    /// Expected `aud`.
    pub audience: String,
    /// Where its keys come from.
    pub keys: Arc<dyn KeySource>,
    /// Signature algorithms accepted from it; a key is only ever used with the algorithm its
    /// type implies.
    pub algorithms: &'static [Algorithm],
    /// An organisation's identity provider rather than the platform: its tokens can never
    /// carry the `service` role, and carry `customer` when they name no role of ours.
    pub external: bool,
}

/// What the platform's own issuers sign with.
pub const PLATFORM_ALGORITHMS: &[Algorithm] = &[Algorithm::EdDSA];
/// What external OIDC issuers may sign with (Azure AD B2C, Entra ID, Keycloak, Auth0 use RS256).
pub const EXTERNAL_ALGORITHMS: &[Algorithm] =
    &[Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA];

impl TrustedIssuer {
    /// One of the platform's own issuers (Ed25519 only).
    pub fn platform(issuer: &str, audience: &str, keys: Arc<dyn KeySource>) -> Self {
        Self {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            keys,
            algorithms: PLATFORM_ALGORITHMS,
            external: false,
        }
    }

    /// An organisation's OIDC provider.
    pub fn external(issuer: &str, audience: &str, keys: Arc<dyn KeySource>) -> Self {
        Self {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            keys,
            algorithms: EXTERNAL_ALGORITHMS,
            external: true,
        }
    }
}

/// The verification key `jwk` gives for `alg`, if its type fits: no key serves two algorithms,
/// so an RSA or Ed25519 public key can never be used as an HMAC secret, or vice versa.
fn decoding_key(jwk: &Jwk, alg: Algorithm) -> Option<DecodingKey> {
    let declared = jwk.alg.as_deref();
    let fits = |name: &str| declared.is_none_or(|d| d == name);
    match alg {
        Algorithm::EdDSA if jwk.kty == "OKP" && jwk.crv == "Ed25519" && fits("EdDSA") => {
            DecodingKey::from_ed_components(&jwk.x).ok()
        }
        Algorithm::RS256 if jwk.kty == "RSA" && fits("RS256") => {
            DecodingKey::from_rsa_components(&jwk.n, &jwk.e).ok()
        }
        Algorithm::ES256 if jwk.kty == "EC" && jwk.crv == "P-256" && fits("ES256") => {
            DecodingKey::from_ec_components(&jwk.x, &jwk.y).ok()
        }
        _ => None,
    }
}

/// Verifies bearer JWTs from one or more trusted issuers.
///
/// Successful verifications are remembered for up to [`VERIFIED_FOR`] seconds (never past
/// `exp`), so a client sending the same token on every request costs one signature check a
/// minute, not one per request. Access tokens cannot be revoked before `exp` anyway; a signing
/// key withdrawn from an issuer's keys refuses new tokens as soon as the key source no longer
/// has it (at once for [`StaticKeys`], within [`JWKS_MAX_AGE`] for a [`RemoteJwks`]) and tokens
/// verified before within [`VERIFIED_FOR`] seconds more. Entries are keyed by the whole token, so no two tokens share one
/// and a token that merely starts like a cached one is verified afresh. Only verified tokens are
/// ever stored, so the fast (seeded, not collision-hardened) hash of the cache cannot be steered
/// by a caller.
pub struct JwtAuthenticator {
    issuers: Vec<TrustedIssuer>,
    verified: RwLock<HashMap<Box<str>, (Principal, i64), foldhash::fast::RandomState>>,
    /// Seconds since the epoch; one clock for the cache and the `exp`/`nbf` checks.
    clock: fn() -> i64,
}

/// Tokens remembered before the cache is emptied.
const VERIFIED_CACHE: usize = 10_000;
/// Longest a verification is remembered, in seconds: a signing key withdrawn from the issuer's
/// keys stops verifying cached tokens after this long at most.
pub const VERIFIED_FOR: i64 = 60;
/// Clock skew allowed between the issuer and this verifier on `exp` and `nbf`, in seconds.
pub const LEEWAY: i64 = 5;

fn system_clock() -> i64 {
    chrono::Utc::now().timestamp()
}

impl JwtAuthenticator {
    /// Trusts `issuers`.
    pub fn new(issuers: Vec<TrustedIssuer>) -> Self {
        Self {
            issuers,
            verified: RwLock::new(HashMap::default()),
            clock: system_clock,
        }
    }

    /// The same, keeping time by `clock` (seconds since the epoch) instead of the system's.
    #[cfg(test)]
    fn with_clock(mut self, clock: fn() -> i64) -> Self {
        self.clock = clock;
        self
    }

    /// The caller `token` proves, from the cache while its verification is fresh.
    async fn principal(&self, token: &str) -> Option<Principal> {
        let now = (self.clock)();
        let remembered = self.verified.read().ok().and_then(|cache| {
            cache
                .get(token)
                .filter(|(_, until)| *until > now)
                .map(|(principal, _)| principal.clone())
        });
        if remembered.is_some() {
            return remembered;
        }
        let claims = self.verify(token).await?;
        let until = claims.exp.min(now + VERIFIED_FOR);
        let principal = Principal {
            subject: claims.sub,
            roles: claims.roles,
            issuer: claims.iss,
        };
        if let Ok(mut cache) = self.verified.write() {
            if cache.len() >= VERIFIED_CACHE {
                cache.clear();
            }
            cache.insert(token.into(), (principal.clone(), until));
        }
        Some(principal)
    }

    /// The verified claims of `token`, or `None`: the signature, issuer, audience and times
    /// are checked on every call (the cache serves [`Authenticator::authenticate`] only).
    pub async fn verify(&self, token: &str) -> Option<Claims> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        let alg = header.alg;
        let kid = header.kid?;
        for issuer in self.issuers.iter().filter(|i| i.algorithms.contains(&alg)) {
            let Some(jwk) = issuer.keys.key(&kid).await else {
                continue;
            };
            let Some(key) = decoding_key(&jwk, alg) else {
                continue;
            };
            let mut validation = Validation::new(alg);
            validation.set_issuer(&[&issuer.issuer]);
            validation.set_audience(&[&issuer.audience]);
            validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
            // The times are checked below against this authenticator's clock, the one its
            // cache keeps time by.
            validation.validate_exp = false;
            validation.validate_nbf = false;
            if let Ok(data) = jsonwebtoken::decode::<Claims>(token, &key, &validation) {
                let mut claims = data.claims;
                let now = (self.clock)();
                // A negative `nbf` is malformed (the library refused it while it checked times).
                if claims.exp < now - LEEWAY || claims.nbf > now + LEEWAY || claims.nbf < 0 {
                    return None;
                }
                if issuer.external {
                    claims.roles.retain(|role| *role != Role::Service);
                    if claims.roles.is_empty() {
                        claims.roles.push(Role::Customer);
                    }
                }
                return Some(claims);
            }
        }
        None
    }
}

impl Authenticator for JwtAuthenticator {
    fn authenticate<'a>(&'a self, bearer: &'a str) -> AuthFuture<'a> {
        Box::pin(async move { self.principal(bearer).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authenticator(key: &SigningKey) -> JwtAuthenticator {
        JwtAuthenticator::new(vec![TrustedIssuer::platform(
            "https://id.shopctl.test",
            "shopctl",
            Arc::new(StaticKeys::new(vec![key.public_jwk()])),
        )])
    }

    fn claims() -> Claims {
        Claims::new(
            "user-1",
            vec![Role::Customer],
            "https://id.shopctl.test",
            "shopctl",
            Duration::from_secs(900),
        )
    }

    #[tokio::test]
    async fn a_signed_token_verifies() {
        let key = SigningKey::generate();
        let token = key.sign(&claims()).unwrap();
        let verified = authenticator(&key).verify(&token).await.unwrap();
        assert_eq!(verified.sub, "user-1");
        assert_eq!(verified.roles, vec![Role::Customer]);
    }

    #[tokio::test]
    async fn tampered_expired_foreign_and_misaddressed_tokens_fail() {
        let key = SigningKey::generate();
        let auth = authenticator(&key);
        let token = key.sign(&claims()).unwrap();
        // Tampered payload: change one character of the claims segment.
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut payload = URL_SAFE_NO_PAD.decode(&parts[1]).unwrap();
        let text = String::from_utf8(payload.clone())
            .unwrap()
            .replace("customer", "admin\"  ");
        payload = text.into_bytes();
        parts[1] = URL_SAFE_NO_PAD.encode(payload);
        assert!(auth.verify(&parts.join(".")).await.is_none(), "tampered");

        let mut expired = claims();
        expired.exp = expired.iat - 60;
        assert!(
            auth.verify(&key.sign(&expired).unwrap()).await.is_none(),
            "expired"
        );

        let mut early = claims();
        early.nbf = early.iat + 600;
        assert!(
            auth.verify(&key.sign(&early).unwrap()).await.is_none(),
            "not yet valid"
        );

        let mut wrong_aud = claims();
        wrong_aud.aud = "other".into();
        assert!(
            auth.verify(&key.sign(&wrong_aud).unwrap()).await.is_none(),
            "audience"
        );

        let mut wrong_iss = claims();
        wrong_iss.iss = "https://evil.test".into();
        assert!(
            auth.verify(&key.sign(&wrong_iss).unwrap()).await.is_none(),
            "issuer"
        );

        let stranger = SigningKey::from_seed(key.kid(), [7; 32]);
        assert!(
            auth.verify(&stranger.sign(&claims()).unwrap())
                .await
                .is_none(),
            "other key, same kid"
        );
    }

    // The verified-token cache, on a clock the test moves (one per test thread).
    thread_local! {
        static NOW: std::cell::Cell<i64> = const { std::cell::Cell::new(0) };
    }

    fn test_clock() -> i64 {
        NOW.with(std::cell::Cell::get)
    }

    fn set_clock(at: i64) {
        NOW.with(|now| now.set(at));
    }

    /// An authenticator on the test clock trusting `keys`, and a token for `sub` with `role`
    /// issued at `at`, valid `ttl` seconds.
    fn cached(keys: Arc<StaticKeys>) -> JwtAuthenticator {
        JwtAuthenticator::new(vec![TrustedIssuer::platform(
            "https://id.shopctl.test",
            "shopctl",
            keys,
        )])
        .with_clock(test_clock)
    }

    fn token_at(key: &SigningKey, sub: &str, role: Role, at: i64, ttl: i64) -> String {
        let mut claims = claims();
        claims.sub = sub.to_owned();
        claims.roles = vec![role];
        claims.iat = at;
        claims.nbf = at;
        claims.exp = at + ttl;
        key.sign(&claims).unwrap()
    }

    async fn subject(auth: &JwtAuthenticator, token: &str) -> Option<String> {
        auth.authenticate(token).await.map(|p| p.subject)
    }

    #[tokio::test]
    async fn a_cached_token_is_refused_once_it_expires() {
        let key = SigningKey::generate();
        let auth = cached(Arc::new(StaticKeys::new(vec![key.public_jwk()])));
        let t0 = 1_900_000_000;
        let token = token_at(&key, "user-1", Role::Customer, t0, 30);
        set_clock(t0);
        assert_eq!(subject(&auth, &token).await.as_deref(), Some("user-1"));
        set_clock(t0 + 29);
        assert_eq!(
            subject(&auth, &token).await.as_deref(),
            Some("user-1"),
            "cached"
        );
        // Past `exp` and the clock-skew leeway every verification allows: refused, cached or not.
        set_clock(t0 + 30 + LEEWAY + 1);
        assert_eq!(subject(&auth, &token).await, None, "expired");
        // A token verified close to its expiry is cached only until then.
        let late = token_at(&key, "user-2", Role::Customer, t0, 100);
        set_clock(t0 + 90);
        assert!(subject(&auth, &late).await.is_some());
        set_clock(t0 + 100 + LEEWAY + 1);
        assert_eq!(subject(&auth, &late).await, None, "cached past exp");
    }

    #[tokio::test]
    async fn exp_and_nbf_allow_exactly_the_leeway() {
        let key = SigningKey::generate();
        let auth = cached(Arc::new(StaticKeys::new(vec![key.public_jwk()])));
        let now = 1_900_000_000;
        set_clock(now);
        let with = |exp: i64, nbf: i64| {
            let mut claims = claims();
            (claims.iat, claims.exp, claims.nbf) = (now - 1000, exp, nbf);
            key.sign(&claims).unwrap()
        };
        let table = [
            ("expired within the leeway", with(now - LEEWAY, 0), true),
            ("expired past the leeway", with(now - LEEWAY - 1, 0), false),
            (
                "valid from within the leeway",
                with(now + 900, now + LEEWAY),
                true,
            ),
            ("valid only later", with(now + 900, now + LEEWAY + 1), false),
            ("no nbf", with(now + 900, 0), true),
            ("a negative nbf", with(now + 900, -1), false),
        ];
        for (what, token, accepted) in table {
            assert_eq!(auth.verify(&token).await.is_some(), accepted, "{what}");
        }
    }

    /// A remote JWKS (a real HTTP server here) is read again once its keys are older than their
    /// maximum age, so a key the issuer withdraws stops verifying; while the issuer cannot be
    /// reached, the keys last fetched keep serving.
    #[tokio::test]
    async fn a_key_withdrawn_from_a_remote_jwks_stops_verifying_after_its_maximum_age() {
        use axum::{Json, Router, extract::State, http::StatusCode, routing::get};
        type Published = Arc<RwLock<Option<JwkSet>>>;
        let key = SigningKey::generate();
        let published: Published = Arc::new(RwLock::new(Some(JwkSet {
            keys: vec![key.public_jwk()],
        })));
        let router = Router::new()
            .route(
                "/jwks.json",
                get(|State(published): State<Published>| async move {
                    match published.read().unwrap().clone() {
                        Some(set) => Ok(Json(set)),
                        None => Err(StatusCode::SERVICE_UNAVAILABLE),
                    }
                }),
            )
            .with_state(published.clone());
        let issuer = crate::testing::TestServer::spawn("issuer", router).await;
        let max_age = Duration::from_millis(300);
        let keys = RemoteJwks::new(&format!("{}/jwks.json", issuer.url), Duration::ZERO)
            .with_max_age(max_age);
        let auth = JwtAuthenticator::new(vec![TrustedIssuer::platform(
            "https://id.shopctl.test",
            "shopctl",
            Arc::new(keys),
        )]);
        let token = key.sign(&claims()).unwrap();
        assert!(auth.verify(&token).await.is_some(), "fetched and verified");

        // The issuer is down past the keys' age: the keys last fetched keep serving.
        *published.write().unwrap() = None;
        tokio::time::sleep(max_age + Duration::from_millis(100)).await;
        assert!(
            auth.verify(&token).await.is_some(),
            "issuer down: stale keys serve"
        );

        // The issuer is back without the key: once the keys are old, it is refused.
        *published.write().unwrap() = Some(JwkSet::default());
        tokio::time::sleep(max_age + Duration::from_millis(100)).await;
        assert!(auth.verify(&token).await.is_none(), "withdrawn key refused");
    }

    #[tokio::test]
    async fn a_withdrawn_signing_key_stops_verifying_cached_tokens_within_the_documented_time() {
        let key = SigningKey::generate();
        let keys = Arc::new(StaticKeys::new(vec![key.public_jwk()]));
        let auth = cached(keys.clone());
        let t0 = 1_900_000_000;
        let token = token_at(&key, "user-1", Role::Customer, t0, 900);
        set_clock(t0);
        assert!(subject(&auth, &token).await.is_some());
        // The issuer withdraws the key (rotation after a compromise).
        keys.replace(Vec::new());
        let fresh = token_at(&key, "user-1", Role::Customer, t0, 900);
        assert_ne!(fresh, token, "a different token (its own id)");
        assert_eq!(subject(&auth, &fresh).await, None, "new tokens: at once");
        set_clock(t0 + VERIFIED_FOR - 1);
        assert!(
            subject(&auth, &token).await.is_some(),
            "documented: cached for up to VERIFIED_FOR seconds"
        );
        set_clock(t0 + VERIFIED_FOR);
        assert_eq!(subject(&auth, &token).await, None, "not one second longer");
    }

    #[tokio::test]
    async fn two_tokens_never_share_a_cache_entry() {
        let key = SigningKey::generate();
        let auth = cached(Arc::new(StaticKeys::new(vec![key.public_jwk()])));
        let t0 = 1_900_000_000;
        set_clock(t0);
        let ana = token_at(&key, "ana", Role::Customer, t0, 900);
        let bo = token_at(&key, "bo", Role::Admin, t0, 900);
        let ana_admin = token_at(&key, "ana", Role::Admin, t0, 900);
        for _ in 0..2 {
            for (token, sub, role) in [
                (&ana, "ana", Role::Customer),
                (&bo, "bo", Role::Admin),
                (&ana_admin, "ana", Role::Admin),
            ] {
                let principal = auth.authenticate(token).await.unwrap();
                assert_eq!(
                    (principal.subject.as_str(), principal.roles.as_slice()),
                    (sub, [role].as_slice())
                );
            }
        }
    }

    #[tokio::test]
    async fn a_tampered_token_that_starts_like_a_cached_one_is_refused() {
        let key = SigningKey::generate();
        let auth = cached(Arc::new(StaticKeys::new(vec![key.public_jwk()])));
        let t0 = 1_900_000_000;
        set_clock(t0);
        let token = token_at(&key, "user-1", Role::Customer, t0, 900);
        assert!(subject(&auth, &token).await.is_some(), "cached");
        // A signature character that carries only signature bits (the last ones hold padding).
        let mut changed = token.clone().into_bytes();
        let at = changed.len() - 10;
        changed[at] = if changed[at] == b'A' { b'B' } else { b'A' };
        let changed = String::from_utf8(changed).unwrap();
        let (head, _) = token.rsplit_once('.').unwrap();
        let other_signature = token_at(&key, "user-2", Role::Admin, t0, 900);
        let (_, signature) = other_signature.rsplit_once('.').unwrap();
        for (what, forged) in [
            ("one character appended", format!("{token}A")),
            (
                "a second signature appended",
                format!("{token}.{signature}"),
            ),
            ("one character cut", token[..token.len() - 1].to_owned()),
            ("a signature character changed", changed),
            ("another token's signature", format!("{head}.{signature}")),
            ("no signature", format!("{head}.")),
        ] {
            assert_eq!(subject(&auth, &forged).await, None, "{what}");
        }
        assert!(
            subject(&auth, &token).await.is_some(),
            "the real one still is"
        );
    }

    #[test]
    fn a_jwks_with_rsa_keys_still_parses() {
        let text = r#"{"keys":[{"kty":"RSA","kid":"r1","n":"sXch","e":"AQAB","alg":"RS256","use":"sig"},
            {"kty":"OKP","crv":"Ed25519","kid":"e1","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
        let set: JwkSet = serde_json::from_str(text).unwrap();
        assert_eq!(set.keys.len(), 2);
        assert_eq!(set.keys[1].crv, "Ed25519");
    }

    #[tokio::test]
    async fn alg_none_and_hs256_with_the_public_key_are_refused() {
        let key = SigningKey::generate();
        let auth = authenticator(&key);
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims()).unwrap());
        let none_header = URL_SAFE_NO_PAD.encode(format!(
            r#"{{"alg":"none","typ":"JWT","kid":"{}"}}"#,
            key.kid()
        ));
        assert!(
            auth.verify(&format!("{none_header}.{body}."))
                .await
                .is_none(),
            "alg none"
        );

        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(key.kid().to_owned());
        let public = URL_SAFE_NO_PAD.decode(key.public_jwk().x).unwrap();
        let forged =
            jsonwebtoken::encode(&header, &claims(), &EncodingKey::from_secret(&public)).unwrap();
        assert!(
            auth.verify(&forged).await.is_none(),
            "HS256 keyed with the public key"
        );
        let forged_x = jsonwebtoken::encode(
            &header,
            &claims(),
            &EncodingKey::from_secret(key.public_jwk().x.as_bytes()),
        )
        .unwrap();
        assert!(
            auth.verify(&forged_x).await.is_none(),
            "HS256 keyed with the JWK text"
        );
    }
}
