//! Registration, profile, password change, GDPR export and erase, roles, audit.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_TOKEN, PASSWORD, assert_problem, spawn_app};

#[tokio::test]
async fn registration_validates_and_refuses_duplicates() {
    let app = spawn_app(&[]).await;
    let user = app.register(" Ana@Example.com").await;
    assert_eq!(user["email"], "ana@example.com");
    assert_eq!(user["roles"], json!(["customer"]));
    assert!(user.get("password_hash").is_none());
    let duplicate = app
        .post(
            "/api/users/register",
            &json!({"email": "ana@example.com", "password": PASSWORD}),
        )
        .await;
    assert_problem(duplicate, 409, "conflict").await;
    for (body, field) in [
        (
            json!({"email": "not-an-email", "password": PASSWORD}),
            "email",
        ),
        (
            json!({"email": "bo@example.com", "password": "short"}),
            "password",
        ),
        (
            json!({"email": "bo@example.com", "password": "password1234"}),
            "password",
        ),
        (
            json!({"email": "bo@example.com", "password": PASSWORD, "role": "admin"}),
            "role",
        ),
    ] {
        let problem = assert_problem(
            app.post("/api/users/register", &body).await,
            422,
            "validation",
        )
        .await;
        assert!(problem.to_string().contains(field), "{field}: {problem}");
    }
}

#[tokio::test]
async fn password_change_revokes_sessions_and_swaps_the_password() {
    let app = spawn_app(&[]).await;
    app.register("ana@example.com").await;
    let tokens = app.tokens("ana@example.com").await;
    let access = tokens["access_token"].as_str().unwrap();
    let wrong = app.authed(Method::POST, "/api/users/me/password", access, Some(&json!({"current_password": "nope-nope-nope", "new_password": "amber-lantern-river-77"}))).await;
    assert_problem(wrong, 422, "validation").await;
    let ok = app
        .authed(
            Method::POST,
            "/api/users/me/password",
            access,
            Some(&json!({"current_password": PASSWORD, "new_password": "amber-lantern-river-77"})),
        )
        .await;
    assert_eq!(ok.status(), 204);
    assert_problem(
        app.post(
            "/api/users/refresh",
            &json!({"refresh_token": tokens["refresh_token"]}),
        )
        .await,
        401,
        "unauthorized",
    )
    .await;
    assert_eq!(app.login("ana@example.com", PASSWORD).await.status(), 401);
    assert_eq!(
        app.login("ana@example.com", "amber-lantern-river-77")
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn export_contains_the_account_and_sessions_but_no_secrets() {
    let app = spawn_app(&[]).await;
    app.register("ana@example.com").await;
    let tokens = app.tokens("ana@example.com").await;
    let export: Value = app
        .authed(
            Method::GET,
            "/api/users/me/export",
            tokens["access_token"].as_str().unwrap(),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(export["account"]["email"], "ana@example.com");
    assert_eq!(export["sessions"].as_array().unwrap().len(), 1);
    let text = export.to_string();
    assert!(!text.contains("argon2") && !text.contains(tokens["refresh_token"].as_str().unwrap()));
}

#[tokio::test]
async fn erase_pseudonymises_keeps_the_id_and_frees_the_address() {
    let app = spawn_app(&[]).await;
    let user = app.register("ana@example.com").await;
    let tokens = app.tokens("ana@example.com").await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_problem(
        app.authed(
            Method::DELETE,
            "/api/users/me",
            access,
            Some(&json!({"password": "wrong-password-xyz"})),
        )
        .await,
        422,
        "validation",
    )
    .await;
    assert_eq!(
        app.authed(
            Method::DELETE,
            "/api/users/me",
            access,
            Some(&json!({"password": PASSWORD}))
        )
        .await
        .status(),
        204
    );
    assert_problem(
        app.authed(Method::GET, "/api/users/me", access, None).await,
        404,
        "not-found",
    )
    .await;
    assert_eq!(app.login("ana@example.com", PASSWORD).await.status(), 401);
    assert_problem(
        app.post(
            "/api/users/refresh",
            &json!({"refresh_token": tokens["refresh_token"]}),
        )
        .await,
        401,
        "unauthorized",
    )
    .await;
    let listed: Value = app
        .authed(Method::GET, "/api/users", ADMIN_TOKEN, None)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        listed["items"].as_array().unwrap().is_empty(),
        "erased accounts are not listed"
    );
    let again = app.register("ana@example.com").await;
    assert_ne!(again["id"], user["id"]);
}

#[tokio::test]
async fn only_admins_list_users_and_change_roles() {
    let app = spawn_app(&[]).await;
    let user = app.register("ana@example.com").await;
    let customer = app.tokens("ana@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_problem(
        app.authed(Method::GET, "/api/users", &customer, None).await,
        403,
        "forbidden",
    )
    .await;
    let path = format!("/api/users/{}/roles", user["id"].as_str().unwrap());
    assert_problem(
        app.authed(
            Method::PUT,
            &path,
            &customer,
            Some(&json!({"roles": ["admin"]})),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        app.authed(
            Method::PUT,
            &path,
            ADMIN_TOKEN,
            Some(&json!({"roles": ["service"]})),
        )
        .await,
        422,
        "validation",
    )
    .await;
    let promoted: Value = app
        .authed(
            Method::PUT,
            &path,
            ADMIN_TOKEN,
            Some(&json!({"roles": ["admin", "customer"]})),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(promoted["roles"], json!(["admin", "customer"]));
    let admin = app.tokens("ana@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let listed: Value = app
        .authed(Method::GET, "/api/users?limit=10", &admin, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert!(
        app.audit_lines()
            .iter()
            .any(|l| l["action"] == "role_change")
    );
}

#[tokio::test]
async fn the_audit_log_is_a_valid_chain_without_secrets() {
    let app = spawn_app(&[]).await;
    app.register("ana@example.com").await;
    app.tokens("ana@example.com").await;
    app.login("ana@example.com", "wrong-password-123").await;
    let path = app.data.path().join("audit/user.jsonl");
    let records = shopctl_kit::audit::verify(&path).await.unwrap();
    assert!(records >= 3, "{records}");
    let text = std::fs::read_to_string(path).unwrap();
    assert!(
        !text.contains(PASSWORD)
            && !text.contains("wrong-password-123")
            && !text.contains("argon2")
    );
}

#[tokio::test]
async fn password_rechecks_count_towards_the_lockout() {
    let app = spawn_app(&[]).await;
    app.register("ana@example.com").await;
    let access = app.tokens("ana@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let change = |current: &str| json!({"current_password": current, "new_password": "amber-lantern-river-77"});
    for _ in 0..5 {
        let response = app
            .authed(
                Method::POST,
                "/api/users/me/password",
                &access,
                Some(&change("guess-guess-guess")),
            )
            .await;
        assert_eq!(response.status(), 422);
    }
    let locked = app
        .authed(
            Method::POST,
            "/api/users/me/password",
            &access,
            Some(&change(PASSWORD)),
        )
        .await;
    assert_eq!(
        locked.status(),
        422,
        "even the right password is refused while locked"
    );
    assert_eq!(
        app.login("ana@example.com", PASSWORD).await.status(),
        401,
        "and sign-in is locked too"
    );
    assert!(
        app.audit_lines()
            .iter()
            .any(|l| l["action"] == "reauthenticate")
    );
}
