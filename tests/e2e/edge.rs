//! The platform's edge: user + product + gateway, everything through the gateway's port.

use std::time::Duration;

use reqwest::Client;
use serde_json::{Value, json};
use shopctl_kit::{
    auth::Role,
    jwt::Claims,
    settings::ConfigSource,
    testing::{TestBackend, TestDatabase, TestIdp, TestServer},
};
use shopctl_tests::{ADMIN_TOKEN, test_source};

const PASSWORD: &str = "violet-harbour-kettle-9";
const ISSUER: &str = "https://login.example-b2c.test/tenant/v2.0";

struct Platform {
    gateway: TestServer,
    _user: TestServer,
    _product: TestServer,
    _dbs: Vec<TestDatabase>,
    _data: tempfile::TempDir,
    idp: TestIdp,
    _idp_server: TestServer,
}

async fn platform(burst: u32) -> Platform {
    // The organisation's identity provider signs RS256, as Azure AD B2C does.
    let idp = TestIdp::rs256();
    let idp_server = idp.serve().await;
    let oidc = |source: ConfigSource| {
        source
            .with("oidc_issuer", ISSUER)
            .with("oidc_jwks_url", format!("{}/keys", idp_server.url))
            .with("oidc_audience", "shopctl-api")
    };

    let user_db = TestDatabase::new(TestBackend::from_env()).await;
    let data = tempfile::tempdir().unwrap();
    let user_settings = shopctl_user::load_settings(
        &test_source(&user_db).with("data_dir", data.path().display().to_string()),
    )
    .unwrap();
    let user =
        TestServer::spawn_app("user", shopctl_user::app(&user_settings).await.unwrap()).await;
    let jwks = format!("{}/.well-known/jwks.json", user.url);

    let product_db = TestDatabase::new(TestBackend::from_env()).await;
    let product_settings = shopctl_product::load_settings(&oidc(
        test_source(&product_db).with("jwks_url", jwks.clone()),
    ))
    .unwrap();
    let product = TestServer::spawn_app(
        "product",
        shopctl_product::app(&product_settings).await.unwrap(),
    )
    .await;

    let gateway_settings = shopctl_gateway::load_settings(&oidc(
        ConfigSource::default()
            .with("port", 0)
            .with("log", "warn")
            .with("admin_token", ADMIN_TOKEN)
            .with("jwks_url", jwks)
            .with("rate_limit_burst", burst)
            .with("upstreams.user", user.url.clone())
            .with("upstreams.product", product.url.clone()),
    ))
    .unwrap();
    let gateway = TestServer::spawn_app(
        "gateway",
        shopctl_gateway::app(&gateway_settings).await.unwrap(),
    )
    .await;
    Platform {
        gateway,
        _user: user,
        _product: product,
        _dbs: vec![user_db, product_db],
        _data: data,
        idp,
        _idp_server: idp_server,
    }
}

async fn json_of(response: reqwest::Response) -> Value {
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_customer_signs_in_and_is_promoted_all_through_the_gateway() {
    let p = platform(100).await;
    let gw = &p.gateway.url;
    let client = Client::new();
    let post = |path: &str, body: Value| client.post(format!("{gw}{path}")).json(&body).send();

    // Register, log in, refresh — through the gateway.
    let registered = json_of(
        post(
            "/api/users/register",
            json!({"email": "ana@example.com", "password": PASSWORD}),
        )
        .await
        .unwrap(),
    )
    .await;
    let tokens = json_of(
        post(
            "/api/users/login",
            json!({"email": "ana@example.com", "password": PASSWORD}),
        )
        .await
        .unwrap(),
    )
    .await;
    let refreshed = post(
        "/api/users/refresh",
        json!({"refresh_token": tokens["refresh_token"]}),
    )
    .await
    .unwrap();
    assert_eq!(refreshed.status(), 200);
    let jwks = json_of(
        client
            .get(format!("{gw}/.well-known/jwks.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);

    // The admin product write: 403 for a customer, refused at the edge...
    client
        .post(format!("{gw}/api/categories"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"slug": "kitchen", "name": "Kitchen"}))
        .send()
        .await
        .unwrap();
    let product = json!({"sku": "GW-1", "name": "Gateway Kettle", "price": {"amount": 2500, "currency": "USD"}, "category": "kitchen", "brand": "Acme"});
    let customer = tokens["access_token"].as_str().unwrap();
    let refused = client
        .post(format!("{gw}/api/products"))
        .bearer_auth(customer)
        .json(&product)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    // ...and 201 after promotion and a fresh sign-in.
    let promote = client
        .put(format!(
            "{gw}/api/users/{}/roles",
            registered["id"].as_str().unwrap()
        ))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"roles": ["admin"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(promote.status(), 200);
    let admin = json_of(
        post(
            "/api/users/login",
            json!({"email": "ana@example.com", "password": PASSWORD}),
        )
        .await
        .unwrap(),
    )
    .await;
    let created = client
        .post(format!("{gw}/api/products"))
        .bearer_auth(admin["access_token"].as_str().unwrap())
        .json(&product)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(created.headers()["x-content-type-options"], "nosniff");

    // A token from the external issuer is verified by JWKS at the edge and in the service.
    let external = p.idp.sign(&Claims::new(
        "b2c-7",
        vec![Role::Admin],
        ISSUER,
        "shopctl-api",
        Duration::from_secs(300),
    ));
    let mut other = product.clone();
    other["sku"] = json!("GW-2");
    let by_idp = client
        .post(format!("{gw}/api/products"))
        .bearer_auth(&external)
        .json(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(by_idp.status(), 201);
    let tampered = format!("{}x", &external[..external.len() - 1]);
    assert_eq!(
        client
            .get(format!("{gw}/api/products"))
            .bearer_auth(&tampered)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

#[tokio::test]
async fn a_burst_over_the_limit_gets_429_with_retry_after() {
    let p = platform(5).await;
    let client = Client::new();
    let mut statuses = Vec::new();
    let mut last = None;
    for _ in 0..8 {
        let response = client
            .get(format!("{}/api/products", p.gateway.url))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
        last = Some(response);
    }
    assert_eq!(&statuses[..5], &[200; 5], "{statuses:?}");
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
    let last = last.unwrap();
    assert!(
        last.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    assert_eq!(last.headers()["ratelimit-remaining"], "0");
    let body: Value = last.json().await.unwrap();
    assert_eq!(body["type"], "https://shopctl.dev/problems/rate-limited");
    let metrics = p.gateway.metrics().await;
    assert!(
        metrics.contains(r#"gateway_rate_limited_total{class="api"} 3"#),
        "{metrics}"
    );
}
