//! Tokens from an organisation's identity provider (RS256 like Azure AD B2C, or ES256), verified
//! through its JWKS served over real HTTP, and the confusions that must fail.
#![allow(clippy::unwrap_used)]

use std::{sync::Arc, time::Duration};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use shopctl_kit::{
    auth::{Authenticator, Role},
    jwt::{JwtAuthenticator, RemoteJwks, StaticKeys, TrustedIssuer},
    testing::TestIdp,
};

const ISSUER: &str = "https://tenant.b2clogin.test/tenant/v2.0/";
const AUDIENCE: &str = "shopctl-api";

fn claims(extra: &Value) -> Value {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({
        "sub": "0b8a0bd4-9d5e-4f0e-8f8e-6a8a4c1d2e3f",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": now + 300,
    });
    for (key, value) in extra.as_object().unwrap() {
        claims[key] = value.clone();
    }
    claims
}

fn external(jwks_url: &str) -> JwtAuthenticator {
    JwtAuthenticator::new(vec![TrustedIssuer::external(
        ISSUER,
        AUDIENCE,
        Arc::new(RemoteJwks::new(jwks_url, Duration::from_secs(30))),
    )])
}

#[tokio::test]
async fn rs256_and_es256_tokens_from_the_providers_jwks_verify() {
    for idp in [TestIdp::rs256(), TestIdp::es256()] {
        let server = idp.serve().await;
        let auth = external(&format!("{}/keys", server.url));
        let token = idp.sign(&claims(&json!({"roles": ["admin"]})));
        let principal = auth.authenticate(&token).await.expect("verifies");
        assert_eq!(principal.roles, vec![Role::Admin]);
        assert_eq!(principal.issuer, ISSUER);
        assert_eq!(principal.subject, "0b8a0bd4-9d5e-4f0e-8f8e-6a8a4c1d2e3f");

        // What real providers send: an audience list, and roles of their own.
        let token = idp.sign(&claims(&json!({
            "aud": ["https://graph.test", AUDIENCE],
            "roles": ["Global Reader", "support"],
        })));
        let principal = auth.authenticate(&token).await.expect("verifies");
        assert_eq!(principal.roles, vec![Role::Support]);

        // No role of ours: a customer. The service role can never come from outside.
        let token = idp.sign(&claims(&json!({"roles": ["service"]})));
        assert_eq!(
            auth.authenticate(&token).await.unwrap().roles,
            vec![Role::Customer]
        );

        for (what, bad) in [
            ("audience", json!({"aud": "someone-else"})),
            ("issuer", json!({"iss": "https://evil.test/"})),
            (
                "expired",
                json!({"exp": chrono::Utc::now().timestamp() - 60}),
            ),
            (
                "not yet valid",
                json!({"nbf": chrono::Utc::now().timestamp() + 600}),
            ),
        ] {
            let token = idp.sign(&claims(&bad));
            assert!(auth.authenticate(&token).await.is_none(), "{what}");
        }
        server.stop().await.unwrap();
    }
}

#[tokio::test]
async fn external_algorithms_are_not_accepted_from_the_platforms_own_issuer() {
    let idp = TestIdp::rs256();
    // Even holding the RSA key, an issuer configured as the platform's accepts only EdDSA.
    let platform = JwtAuthenticator::new(vec![TrustedIssuer::platform(
        ISSUER,
        AUDIENCE,
        Arc::new(StaticKeys::new(vec![idp.jwk()])),
    )]);
    let token = idp.sign(&claims(&json!({"roles": ["admin"]})));
    assert!(platform.authenticate(&token).await.is_none());
}

#[tokio::test]
async fn algorithm_confusion_against_the_providers_keys_fails() {
    let rsa = TestIdp::rs256();
    let ec = TestIdp::es256();
    let auth = JwtAuthenticator::new(vec![TrustedIssuer::external(
        ISSUER,
        AUDIENCE,
        Arc::new(StaticKeys::new(vec![rsa.jwk(), ec.jwk()])),
    )]);
    let body = claims(&json!({"roles": ["admin"]}));
    assert!(auth.authenticate(&rsa.sign(&body)).await.is_some());

    // HS256 keyed with the public modulus, under the RSA key's kid.
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(rsa.jwk().kid);
    let modulus = URL_SAFE_NO_PAD.decode(rsa.jwk().n).unwrap();
    for secret in [modulus.as_slice(), rsa.jwk().n.as_bytes()] {
        let forged =
            jsonwebtoken::encode(&header, &body, &EncodingKey::from_secret(secret)).unwrap();
        assert!(
            auth.authenticate(&forged).await.is_none(),
            "HS256 confusion"
        );
    }

    // An ES256 signature presented under the RSA key's kid, and the other way round.
    let ec_token = ec.sign(&body);
    let mut parts: Vec<String> = ec_token.split('.').map(str::to_owned).collect();
    parts[0] = URL_SAFE_NO_PAD.encode(
        json!({"alg": "ES256", "typ": "JWT", "kid": rsa.jwk().kid})
            .to_string()
            .as_bytes(),
    );
    assert!(auth.authenticate(&parts.join(".")).await.is_none());
    let rsa_token = rsa.sign(&body);
    let mut parts: Vec<String> = rsa_token.split('.').map(str::to_owned).collect();
    parts[0] = URL_SAFE_NO_PAD.encode(
        json!({"alg": "RS256", "typ": "JWT", "kid": ec.jwk().kid})
            .to_string()
            .as_bytes(),
    );
    assert!(auth.authenticate(&parts.join(".")).await.is_none());

    // alg none under a real kid.
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(
            json!({"alg": "none", "kid": rsa.jwk().kid})
                .to_string()
                .as_bytes()
        ),
        URL_SAFE_NO_PAD.encode(body.to_string().as_bytes())
    );
    assert!(auth.authenticate(&none).await.is_none());
}
