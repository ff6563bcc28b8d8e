//! `spawn_app`: the inventory service on a random port with a fresh database, and a token
//! issuer of its own whose JWKS the service trusts (so tests can call as customers).

use std::{sync::Arc, time::Duration};

use reqwest::{Client, Response};
use serde_json::{Value, json};
use shopctl_kit::{
    auth::Role,
    jwt::{Claims, JwkSet, SigningKey},
    settings::ConfigSource,
    testing::{SERVICE_KEY, TestBackend, TestDatabase, TestServer, init_logs, service_token},
};

pub(crate) const ADMIN_TOKEN: &str = "inventory-test-admin-token-0123456789";

pub(crate) struct TestApp {
    pub(crate) url: String,
    pub(crate) client: Client,
    pub(crate) service: String,
    pub(crate) sweeper: shopctl_inventory::Sweeper,
    pub(crate) _db: TestDatabase,
    pub(crate) data: tempfile::TempDir,
    pub(crate) _server: TestServer,
    /// Serves the JWKS of `key` for as long as the app lives.
    _issuer: TestServer,
    key: SigningKey,
}

pub(crate) async fn spawn_app(overrides: &[(&str, u64)]) -> TestApp {
    use secrecy::ExposeSecret;
    init_logs();
    let db = TestDatabase::new(TestBackend::from_env()).await;
    let data = tempfile::tempdir().unwrap();
    let key = SigningKey::generate();
    let set = Arc::new(JwkSet {
        keys: vec![key.public_jwk()],
    });
    let jwks = axum::Router::new().route(
        "/jwks.json",
        axum::routing::get(move || {
            let set = Arc::clone(&set);
            async move { axum::Json(set.as_ref().clone()) }
        }),
    );
    let issuer = TestServer::spawn("issuer", jwks).await;
    let mut source = ConfigSource::default()
        .with("port", 0)
        .with("database_url", db.url.expose_secret().to_owned())
        .with("data_dir", data.path().display().to_string())
        .with("admin_token", ADMIN_TOKEN)
        .with("service_key", SERVICE_KEY)
        .with("jwks_url", format!("{}/jwks.json", issuer.url))
        .with("environment", "test")
        .with("log", "warn")
        .with("db_max_connections", 20);
    for (key, value) in overrides {
        source = source.with(key, *value);
    }
    let settings = shopctl_inventory::load_settings(&source).unwrap();
    // The routes alone: tests sweep by hand, through the app's sweeper handle.
    let app = shopctl_inventory::app(&settings).await.unwrap();
    let sweeper = app
        .handle()
        .expect("the inventory service keeps its sweeper");
    let server = TestServer::spawn("inventory", app.router).await;
    TestApp {
        url: server.url.clone(),
        client: Client::new(),
        service: service_token("order", "inventory"),
        sweeper,
        _db: db,
        data,
        _server: server,
        _issuer: issuer,
        key,
    }
}

impl TestApp {
    /// A platform access token for `subject` with `role`.
    pub(crate) fn user_token(&self, subject: &str, role: Role) -> String {
        let claims = Claims::new(
            subject,
            vec![role],
            "shopctl",
            "shopctl",
            Duration::from_secs(900),
        );
        self.key.sign(&claims).unwrap()
    }

    pub(crate) async fn adjust(&self, sku: &str, delta: i64) -> Response {
        self.client
            .post(format!("{}/api/inventory/{sku}/adjust", self.url))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"delta": delta, "reason": "stock count"}))
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn stock(&self, sku: &str) -> Value {
        self.client
            .get(format!("{}/api/inventory/{sku}", self.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub(crate) async fn reserve(&self, order: uuid::Uuid, lines: &[(&str, i64)]) -> Response {
        let lines: Vec<Value> = lines
            .iter()
            .map(|(sku, quantity)| json!({"sku": sku, "quantity": quantity}))
            .collect();
        self.client
            .post(format!("{}/internal/reservations", self.url))
            .bearer_auth(&self.service)
            .json(&json!({"order_id": order, "lines": lines}))
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn transition(&self, order: uuid::Uuid, action: &str) -> Response {
        self.client
            .post(format!(
                "{}/internal/reservations/{order}/{action}",
                self.url
            ))
            .bearer_auth(&self.service)
            .send()
            .await
            .unwrap()
    }
}
