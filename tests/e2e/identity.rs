//! Identity across services: tokens from the user service (or from an external OIDC issuer)
//! are verified by the product service through JWKS, and roles decide what they may do.

use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use shopctl_kit::{
    auth::Role,
    jwt::Claims,
    testing::{TestBackend, TestDatabase, TestIdp, TestServer},
};
use shopctl_tests::{ADMIN_TOKEN, test_source};

const PASSWORD: &str = "violet-harbour-kettle-9";

async fn spawn_user() -> (TestServer, TestDatabase, tempfile::TempDir) {
    let db = TestDatabase::new(TestBackend::from_env()).await;
    let data = tempfile::tempdir().unwrap();
    let settings = shopctl_user::load_settings(
        &test_source(&db).with("data_dir", data.path().display().to_string()),
    )
    .unwrap();
    let server = TestServer::spawn_app("user", shopctl_user::app(&settings).await.unwrap()).await;
    (server, db, data)
}

async fn spawn_product(extra: &[(&str, String)]) -> (TestServer, TestDatabase) {
    let db = TestDatabase::new(TestBackend::from_env()).await;
    let mut source = test_source(&db);
    for (key, value) in extra {
        source = source.with(key, value.clone());
    }
    let settings = shopctl_product::load_settings(&source).unwrap();
    let server =
        TestServer::spawn_app("product", shopctl_product::app(&settings).await.unwrap()).await;
    (server, db)
}

async fn create_product(client: &Client, product: &str, token: &str, sku: &str) -> StatusCode {
    client
        .post(format!("{product}/api/products"))
        .bearer_auth(token)
        .json(&json!({"sku": sku, "name": "Test Kettle", "price": {"amount": 2500, "currency": "USD"}, "category": "kitchen", "brand": "Acme"}))
        .send()
        .await
        .unwrap()
        .status()
}

async fn login(client: &Client, user: &str) -> String {
    let tokens: Value = client
        .post(format!("{user}/api/users/login"))
        .json(&json!({"email": "ana@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    tokens["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn product_writes_follow_roles_granted_by_the_user_service() {
    let client = Client::new();
    let (user, _user_db, _data) = spawn_user().await;
    let jwks = format!("{}/.well-known/jwks.json", user.url);
    let (product, _product_db) = spawn_product(&[("jwks_url", jwks)]).await;
    client
        .post(format!("{}/api/categories", product.url))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"slug": "kitchen", "name": "Kitchen"}))
        .send()
        .await
        .unwrap();

    let registered: Value = client
        .post(format!("{}/api/users/register", user.url))
        .json(&json!({"email": "ana@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let customer = login(&client, &user.url).await;
    assert_eq!(
        create_product(&client, &product.url, &customer, "E2E-1").await,
        403,
        "a customer may not write"
    );
    assert_eq!(
        create_product(&client, &product.url, "forged", "E2E-1").await,
        401
    );

    let promote = client
        .put(format!(
            "{}/api/users/{}/roles",
            user.url,
            registered["id"].as_str().unwrap()
        ))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"roles": ["admin"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(promote.status(), 200);
    let admin = login(&client, &user.url).await;
    assert_eq!(
        create_product(&client, &product.url, &admin, "E2E-1").await,
        201,
        "an admin may"
    );
}

#[tokio::test]
async fn an_external_oidc_issuer_can_stand_in_for_the_built_in_one() {
    // The organisation's identity provider: an RS256 key of its own (as Azure AD B2C signs),
    // published as a JWKS.
    let idp = TestIdp::rs256();
    let idp_server = idp.serve().await;
    let issuer = "https://login.example-b2c.test/tenant/v2.0";
    let (product, _db) = spawn_product(&[
        ("oidc_issuer", issuer.to_owned()),
        ("oidc_jwks_url", format!("{}/keys", idp_server.url)),
        ("oidc_audience", "shopctl-api".to_owned()),
    ])
    .await;
    let client = Client::new();
    client
        .post(format!("{}/api/categories", product.url))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"slug": "kitchen", "name": "Kitchen"}))
        .send()
        .await
        .unwrap();
    let token = |aud: &str, roles: Vec<Role>| {
        idp.sign(&Claims::new(
            "b2c-user-7",
            roles,
            issuer,
            aud,
            Duration::from_secs(300),
        ))
    };
    assert_eq!(
        create_product(
            &client,
            &product.url,
            &token("shopctl-api", vec![Role::Admin]),
            "IDP-1"
        )
        .await,
        201
    );
    assert_eq!(
        create_product(
            &client,
            &product.url,
            &token("shopctl-api", vec![Role::Customer]),
            "IDP-2"
        )
        .await,
        403
    );
    assert_eq!(
        create_product(
            &client,
            &product.url,
            &token("someone-else", vec![Role::Admin]),
            "IDP-3"
        )
        .await,
        401,
        "wrong audience"
    );
    let forged = TestIdp::es256().sign(&Claims::new(
        "x",
        vec![Role::Admin],
        issuer,
        "shopctl-api",
        Duration::from_secs(300),
    ));
    assert_eq!(
        create_product(&client, &product.url, &forged, "IDP-4").await,
        401,
        "key the issuer never published"
    );
}

#[tokio::test]
async fn an_external_subject_never_reaches_a_local_account() {
    // The provider's subject ids are GUIDs, like ours: a token naming a local account's id must
    // still not act on that account, because only the user service's own tokens name accounts.
    let idp = TestIdp::es256();
    let idp_server = idp.serve().await;
    let issuer = "https://idp.example.test/";
    let db = TestDatabase::new(TestBackend::from_env()).await;
    let data = tempfile::tempdir().unwrap();
    let settings = shopctl_user::load_settings(
        &test_source(&db)
            .with("data_dir", data.path().display().to_string())
            .with("oidc_issuer", issuer)
            .with("oidc_jwks_url", format!("{}/keys", idp_server.url))
            .with("oidc_audience", "shopctl"),
    )
    .unwrap();
    let user = TestServer::spawn_app("user", shopctl_user::app(&settings).await.unwrap()).await;
    let client = Client::new();
    let registered: Value = client
        .post(format!("{}/api/users/register", user.url))
        .json(&json!({"email": "ana@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = registered["id"].as_str().unwrap();
    let impostor = idp.sign(&Claims::new(
        id,
        vec![Role::Customer],
        issuer,
        "shopctl",
        Duration::from_secs(300),
    ));
    let me = client
        .get(format!("{}/api/users/me", user.url))
        .bearer_auth(&impostor)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 404);
    let export = client
        .get(format!("{}/api/users/me/export", user.url))
        .bearer_auth(&impostor)
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), 404);
    // The account's own token still works.
    let own = login(&client, &user.url).await;
    let me: Value = client
        .get(format!("{}/api/users/me", user.url))
        .bearer_auth(&own)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["id"], id);
}
