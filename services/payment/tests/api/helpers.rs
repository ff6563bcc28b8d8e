//! `spawn_app`: the payment service on a random port with a fresh database and data dir, a
//! platform service key (so tests can call as the order service) and a token issuer of its own
//! whose JWKS the service trusts (so tests can call as customers and support staff).

use std::{sync::Arc, time::Duration};

use reqwest::{Client, Method, Response};
use serde_json::{Value, json};
use shopctl_kit::{
    auth::Role,
    jwt::{Claims, JwkSet, ServiceTokens, SigningKey},
    settings::ConfigSource,
    testing::{TestBackend, TestDatabase, TestServer, init_logs},
};
use uuid::Uuid;

pub(crate) const ADMIN_TOKEN: &str = "payment-test-admin-token-0123456789";
/// 32 bytes, base64url: `shopctl-test-service-key-32bytes`.
pub(crate) const SERVICE_KEY: &str = "c2hvcGN0bC10ZXN0LXNlcnZpY2Uta2V5LTMyYnl0ZXM";
/// Succeeds.
pub(crate) const APPROVED: &str = "4242424242424242";
/// Is declined (`card_declined`).
pub(crate) const DECLINED: &str = "4000000000000002";

pub(crate) struct TestApp {
    pub(crate) url: String,
    pub(crate) client: Client,
    pub(crate) db: TestDatabase,
    pub(crate) data: tempfile::TempDir,
    pub(crate) server: TestServer,
    /// Serves the JWKS of `key` for as long as the app lives.
    _issuer: TestServer,
    key: SigningKey,
    service: ServiceTokens,
}

/// A service with the default settings on the backend chosen by the environment.
pub(crate) async fn spawn_app() -> TestApp {
    spawn_with(|source| source).await
}

/// A service whose settings `configure` may change (`failure_rate`, `latency_ms`, …).
pub(crate) async fn spawn_with(configure: impl FnOnce(ConfigSource) -> ConfigSource) -> TestApp {
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
            let set = set.clone();
            async move { axum::Json(set.as_ref().clone()) }
        }),
    );
    let issuer = TestServer::spawn("issuer", jwks).await;
    let source = ConfigSource::default()
        .with("port", 0)
        .with("database_url", db.url.expose_secret().to_owned())
        .with("data_dir", data.path().display().to_string())
        .with("admin_token", ADMIN_TOKEN)
        .with("service_key", SERVICE_KEY)
        .with("jwks_url", format!("{}/jwks.json", issuer.url))
        .with("environment", "test")
        .with("log", "warn");
    let settings = shopctl_payment::load_settings(&configure(source)).unwrap();
    let service = ServiceTokens::from_settings("order", &settings.common).unwrap();
    let router = shopctl_payment::app(&settings).await.unwrap();
    let server = TestServer::spawn_app("payment", router).await;
    TestApp {
        url: server.url.clone(),
        client: Client::new(),
        db,
        data,
        server,
        _issuer: issuer,
        key,
        service,
    }
}

/// An authorization body for `order_id` paying `amount` USD with `card_number`.
pub(crate) fn charge_body(order_id: Uuid, card_number: &str, amount: i64) -> Value {
    json!({
        "order_id": order_id,
        "customer_id": "customer-ana",
        "amount": {"amount": amount, "currency": "USD"},
        "card": {"card_number": card_number, "exp_month": 12, "exp_year": 2040, "cvc": "123"}
    })
}

impl TestApp {
    /// A token the order service would present to this service.
    pub(crate) fn service_token(&self) -> String {
        self.service.mint("payment").unwrap()
    }

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

    /// `POST /internal/payments` as the order service with `Idempotency-Key: key`.
    pub(crate) async fn authorize(&self, key: &str, body: &Value) -> Response {
        self.client
            .post(format!("{}/internal/payments", self.url))
            .bearer_auth(self.service_token())
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Authorizes `amount` for a new order with `card_number`; asserts 201.
    pub(crate) async fn authorized(&self, card_number: &str, amount: i64) -> Value {
        let key = Uuid::new_v4().to_string();
        let response = self
            .authorize(&key, &charge_body(Uuid::new_v4(), card_number, amount))
            .await;
        let status = response.status();
        let text = response.text().await.unwrap();
        assert_eq!(status, 201, "authorize: {text}");
        serde_json::from_str(&text).unwrap()
    }

    /// A request with `token`, and `body` as JSON when given.
    pub(crate) async fn request(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> Response {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.unwrap()
    }

    /// `POST /internal/payments/{id}/{action}` (capture, void) as the order service.
    pub(crate) async fn internal(&self, id: &Value, action: &str) -> Response {
        let path = format!("/internal/payments/{}/{action}", id.as_str().unwrap());
        self.request(Method::POST, &path, &self.service_token(), None)
            .await
    }

    /// `POST /api/payments/{id}/refund` as `token`.
    pub(crate) async fn refund(&self, id: &Value, token: &str, body: &Value) -> Response {
        let path = format!("/api/payments/{}/refund", id.as_str().unwrap());
        self.request(Method::POST, &path, token, Some(body)).await
    }

    /// `GET /api/payments/{id}` as `token`.
    pub(crate) async fn get_payment(&self, id: &Value, token: &str) -> Response {
        let path = format!("/api/payments/{}", id.as_str().unwrap());
        self.request(Method::GET, &path, token, None).await
    }

    /// Every record of the payment audit log.
    pub(crate) fn audit_lines(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.data.path().join("audit/payment.jsonl"))
            .unwrap_or_default();
        text.lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }
}

/// Asserts a problem+json response with `status`, `slug` and (when given) `field`.
pub(crate) async fn assert_problem(
    response: Response,
    status: u16,
    slug: &str,
    field: Option<&str>,
) -> Value {
    assert_eq!(response.status(), status, "status");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json",
        "problem content type"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["type"],
        format!("https://shopctl.dev/problems/{slug}"),
        "{body}"
    );
    assert_eq!(body["status"], status, "{body}");
    if let Some(field) = field {
        assert_eq!(body["field"], field, "{body}");
    }
    body
}
