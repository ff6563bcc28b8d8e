//! Sign-in, tokens, refresh rotation, lockout and keys.

use std::sync::Arc;

use reqwest::Method;
use serde_json::{Value, json};
use shopctl_kit::jwt::{JwkSet, JwtAuthenticator, StaticKeys, TrustedIssuer};

use crate::helpers::{ADMIN_TOKEN, PASSWORD, assert_problem, spawn_app};

#[tokio::test]
async fn login_returns_tokens_that_verify_against_the_published_jwks() {
    let app = spawn_app(&[]).await;
    let user = app.register("ana@example.com").await;
    let tokens = app.tokens("ANA@example.com ").await;
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 900);
    let jwks: JwkSet = app
        .client
        .get(format!("{}/.well-known/jwks.json", app.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let verifier = JwtAuthenticator::new(vec![TrustedIssuer::platform(
        "shopctl",
        "shopctl",
        Arc::new(StaticKeys::new(jwks.keys)),
    )]);
    let claims = verifier
        .verify(tokens["access_token"].as_str().unwrap())
        .await
        .expect("verifies");
    assert_eq!(claims.sub, user["id"].as_str().unwrap());
    assert_eq!(claims.exp - claims.iat, 900);
    assert!(!claims.jti.is_empty());
    let me: Value = app
        .authed(
            Method::GET,
            "/api/users/me",
            tokens["access_token"].as_str().unwrap(),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "ana@example.com");
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_answer() {
    let app = spawn_app(&[]).await;
    app.register("ana@example.com").await;
    let wrong = assert_problem(
        app.login("ana@example.com", "not-the-password-at-all")
            .await,
        401,
        "unauthorized",
    )
    .await;
    let unknown = assert_problem(
        app.login("nobody@example.com", PASSWORD).await,
        401,
        "unauthorized",
    )
    .await;
    assert_eq!(wrong, unknown);
}

#[tokio::test]
async fn five_failures_lock_the_account_then_it_unlocks() {
    let app = spawn_app(&[("lockout_secs", "2")]).await;
    app.register("ana@example.com").await;
    for _ in 0..5 {
        assert_eq!(
            app.login("ana@example.com", "wrong-password-123")
                .await
                .status(),
            401
        );
    }
    let locked = assert_problem(
        app.login("ana@example.com", PASSWORD).await,
        401,
        "unauthorized",
    )
    .await;
    let unknown = assert_problem(
        app.login("nobody@example.com", PASSWORD).await,
        401,
        "unauthorized",
    )
    .await;
    assert_eq!(locked, unknown, "a locked account answers like any failure");
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    assert_eq!(
        app.login("ana@example.com", PASSWORD).await.status(),
        200,
        "unlocked after the lock period"
    );
    let actions: Vec<String> = app
        .audit_lines()
        .iter()
        .map(|l| format!("{}:{}", l["action"], l["outcome"]))
        .collect();
    assert!(
        actions.contains(&"\"lockout\":\"success\"".to_owned()),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"\"login\":\"denied\"".to_owned()),
        "{actions:?}"
    );
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_whole_session() {
    let app = spawn_app(&[]).await;
    app.register("ana@example.com").await;
    let first = app.tokens("ana@example.com").await;
    let refresh = |token: &Value| json!({"refresh_token": token["refresh_token"]});

    let second: Value = app
        .post("/api/users/refresh", &refresh(&first))
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    // The first token was used: presenting it again is theft, and ends the session.
    assert_problem(
        app.post("/api/users/refresh", &refresh(&first)).await,
        401,
        "unauthorized",
    )
    .await;
    assert_problem(
        app.post("/api/users/refresh", &refresh(&second)).await,
        401,
        "unauthorized",
    )
    .await;
    assert!(
        app.audit_lines()
            .iter()
            .any(|l| l["action"] == "refresh_token_reuse")
    );

    // Another session of the same user is unaffected.
    let other = app.tokens("ana@example.com").await;
    assert_eq!(
        app.post("/api/users/refresh", &refresh(&other))
            .await
            .status(),
        200
    );
    assert_problem(
        app.post("/api/users/refresh", &json!({"refresh_token": "made-up"}))
            .await,
        401,
        "unauthorized",
    )
    .await;
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = spawn_app(&[]).await;
    app.register("ana@example.com").await;
    let tokens = app.tokens("ana@example.com").await;
    let body = json!({"refresh_token": tokens["refresh_token"]});
    assert_eq!(app.post("/api/users/logout", &body).await.status(), 204);
    assert_problem(
        app.post("/api/users/refresh", &body).await,
        401,
        "unauthorized",
    )
    .await;
}

#[tokio::test]
async fn tampered_and_missing_tokens_are_refused() {
    let app = spawn_app(&[]).await;
    app.register("ana@example.com").await;
    let token = app.tokens("ana@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut tampered = token.clone();
    tampered.pop();
    tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
    assert_problem(
        app.authed(Method::GET, "/api/users/me", &tampered, None)
            .await,
        401,
        "unauthorized",
    )
    .await;
    let anonymous = app
        .client
        .get(format!("{}/api/users/me", app.url))
        .send()
        .await
        .unwrap();
    assert_problem(anonymous, 401, "unauthorized").await;
}

#[tokio::test]
async fn key_rotation_keeps_old_tokens_valid_and_signs_with_the_new_key() {
    let app = spawn_app(&[]).await;
    app.register("ana@example.com").await;
    let old = app.tokens("ana@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let settings = crate::helpers::settings_for(&app.db, app.data.path(), &[]);
    let db = shopctl_user::connect(&settings).await.unwrap();
    let store = shopctl_user::store::SqlUserStore::new(db.clone());
    let new_kid = shopctl_user::domain::tokens::rotate(&store).await.unwrap();
    db.close().await;
    // A restarted service signs with the new key and still accepts the old token.
    app.server.stop().await.unwrap();
    let server = shopctl_kit::testing::TestServer::spawn_app(
        "user",
        shopctl_user::app(&settings).await.unwrap(),
    )
    .await;
    let jwks: JwkSet = app
        .client
        .get(format!("{}/.well-known/jwks.json", server.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks.keys.len(), 2, "old key still published");
    assert_eq!(jwks.keys[0].kid, new_kid);
    let me = app
        .client
        .get(format!("{}/api/users/me", server.url))
        .bearer_auth(&old)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200, "old token still verifies");
    let fresh: Value = app
        .client
        .post(format!("{}/api/users/login", server.url))
        .json(&json!({"email": "ana@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken_header(fresh["access_token"].as_str().unwrap());
    assert_eq!(header["kid"], new_kid);
    let _ = ADMIN_TOKEN;
}

fn jwsonwebtoken_segment(token: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.split('.').next().unwrap())
        .unwrap()
}

fn jsonwebtoken_header(token: &str) -> Value {
    serde_json::from_slice(&jwsonwebtoken_segment(token)).unwrap()
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_leave_no_live_token_behind() {
    let app = spawn_app(&[]).await;
    app.register("ana@example.com").await;
    let first = app.tokens("ana@example.com").await;
    let body = json!({"refresh_token": first["refresh_token"]});
    let mut attempts = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (client, url, body) = (
            app.client.clone(),
            format!("{}/api/users/refresh", app.url),
            body.clone(),
        );
        attempts.spawn(async move { client.post(url).json(&body).send().await.unwrap() });
    }
    let mut issued = Vec::new();
    while let Some(response) = attempts.join_next().await {
        let response = response.unwrap();
        if response.status() == 200 {
            let tokens: Value = response.json().await.unwrap();
            issued.push(tokens["refresh_token"].as_str().unwrap().to_owned());
        }
    }
    assert!(issued.len() <= 1, "at most one refresh wins: {issued:?}");
    // Every loser presented a used token, so the family is revoked — including the winner's.
    for token in issued {
        let status = app
            .post("/api/users/refresh", &json!({"refresh_token": token}))
            .await
            .status();
        assert_eq!(status, 401, "a token of a revoked session must not work");
    }
}

/// The event relay and the signing-key reload are loops of the service's `App`: they run beside
/// the routes and have ended once the service has stopped (they used to run for as long as the
/// process, outliving a stopped service).
#[tokio::test]
async fn the_relay_and_the_key_reload_end_with_the_service() {
    let db = shopctl_kit::testing::TestDatabase::new(shopctl_kit::testing::TestBackend::from_env())
        .await;
    let data = tempfile::tempdir().unwrap();
    let settings = crate::helpers::settings_for(&db, data.path(), &[]);
    let app = shopctl_user::app(&settings).await.unwrap();
    assert_eq!(app.loop_names(), ["event relay", "signing-key reload"]);
    let (_router, loops) = app.start();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(loops.running(), 2, "both loops run beside the routes");
    // `stop` returns once every loop has returned; a loop that ignored the signal would hang it.
    tokio::time::timeout(std::time::Duration::from_secs(10), loops.stop())
        .await
        .expect("the loops stop when asked");
}
