//! `spawn_app`: the notification service on a random port with a fresh database and data dir,
//! the platform service key (so tests can post events as the order service) and its mail relay
//! in the test's hands (`run_once`); and [`SmtpServer`], a real SMTP server for the SMTP tests.

use std::time::Duration;

use reqwest::{Client, Response};
use serde_json::{Value, json};
use shopctl_kit::{
    db::Db,
    events::Relay,
    settings::ConfigSource,
    testing::{SERVICE_KEY, TestBackend, TestDatabase, TestServer, init_logs, service_token},
};

pub(crate) use shopctl_kit::testing::{SmtpServer, free_port};
use uuid::Uuid;

pub(crate) const ADMIN_TOKEN: &str = "notification-test-admin-token-0123456789";

pub(crate) struct TestApp {
    pub(crate) url: String,
    pub(crate) client: Client,
    /// A token the order service would present.
    pub(crate) service: String,
    /// The mail relay, driven by the tests.
    pub(crate) relay: Relay,
    /// The service's database.
    pub(crate) db: Db,
    pub(crate) server: TestServer,
    pub(crate) _data: tempfile::TempDir,
    pub(crate) _test_db: TestDatabase,
}

/// A service with the default settings (the mail catcher) on the backend chosen by the
/// environment.
pub(crate) async fn spawn_app() -> TestApp {
    spawn_with(|source| source).await
}

/// A service whose settings `configure` may change (`smtp_host`, retry schedule, …).
pub(crate) async fn spawn_with(configure: impl FnOnce(ConfigSource) -> ConfigSource) -> TestApp {
    use secrecy::ExposeSecret;
    init_logs();
    let test_db = TestDatabase::new(TestBackend::from_env()).await;
    let data = tempfile::tempdir().unwrap();
    let source = ConfigSource::default()
        .with("port", 0)
        .with("database_url", test_db.url.expose_secret().to_owned())
        .with("data_dir", data.path().display().to_string())
        .with("admin_token", ADMIN_TOKEN)
        .with("service_key", SERVICE_KEY)
        .with("environment", "test")
        .with("log", "warn");
    let settings = shopctl_notification::load_settings(&configure(source)).unwrap();
    // The routes alone: tests drive the mail relay by hand, through the app's handles.
    let app = shopctl_notification::app(&settings).await.unwrap();
    let relay = app
        .handle()
        .expect("the notification service keeps its relay");
    let db = app
        .handle()
        .expect("the notification service keeps its database");
    let server = TestServer::spawn("notification", app.router).await;
    TestApp {
        url: server.url.clone(),
        client: Client::new(),
        service: service_token("order", "notification"),
        relay,
        db,
        server,
        _data: data,
        _test_db: test_db,
    }
}

/// A service sending over SMTP to `127.0.0.1:port`, retrying every 10–50 ms up to
/// `max_attempts` times.
pub(crate) async fn spawn_smtp_app(port: u16, max_attempts: u64) -> TestApp {
    spawn_with(|source| {
        source
            .with("smtp_host", "127.0.0.1")
            .with("smtp_port", u64::from(port))
            .with("mail_max_attempts", max_attempts)
            .with("mail_retry_base_ms", 10u64)
            .with("mail_retry_max_ms", 50u64)
    })
    .await
}

/// An envelope of `topic` with a new event id.
pub(crate) fn envelope(topic: &str, data: Value) -> Value {
    let mut envelope = json!({
        "id": Uuid::now_v7(),
        "topic": topic,
        "occurred_at": chrono::Utc::now(),
    });
    envelope["data"] = data;
    envelope
}

/// `user.registered` data for `user_id`.
pub(crate) fn registered(user_id: Uuid, email: &str, name: &str) -> Value {
    json!({"user_id": user_id, "email": email, "name": name})
}

fn usd(amount: i64) -> Value {
    json!({"amount": amount, "currency": "USD"})
}

/// `order.confirmed` data: two T-shirts at $25.00, total $58.99.
pub(crate) fn confirmed(order_id: Uuid, user_id: Uuid) -> Value {
    json!({
        "order_id": order_id,
        "user_id": user_id,
        "lines": [{"sku": "TEE-BLK-M", "name": "Black T-shirt", "quantity": 2, "unit_price": usd(2500)}],
        "subtotal": usd(5000),
        "tax": usd(400),
        "shipping": usd(499),
        "total": usd(5899),
    })
}

impl TestApp {
    /// `POST /internal/events` with `token`.
    pub(crate) async fn post_event_as(&self, token: &str, envelope: &Value) -> Response {
        self.client
            .post(format!("{}/internal/events", self.url))
            .bearer_auth(token)
            .json(envelope)
            .send()
            .await
            .unwrap()
    }

    /// `POST /internal/events` as the order service.
    pub(crate) async fn post_event(&self, envelope: &Value) -> Response {
        self.post_event_as(&self.service, envelope).await
    }

    /// Posts `envelope` as the order service; asserts 204.
    pub(crate) async fn accepted(&self, envelope: &Value) {
        let response = self.post_event(envelope).await;
        let status = response.status();
        let text = response.text().await.unwrap();
        assert_eq!(status, 204, "{}: {text}", envelope["topic"]);
    }

    /// `GET path` as the administrator; asserts 200 and returns the body.
    pub(crate) async fn admin_get(&self, path: &str) -> Value {
        let response = self
            .client
            .get(format!("{}{path}", self.url))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert_eq!(status, 200, "{path}: {text}");
        serde_json::from_str(&text).unwrap()
    }

    /// The mails the catcher kept, newest first.
    pub(crate) async fn caught_mail(&self) -> Vec<Value> {
        let page = self.admin_get("/api/notifications/outbox").await;
        page["items"].as_array().unwrap().clone()
    }

    /// The delivery log, newest first.
    pub(crate) async fn deliveries(&self) -> Vec<Value> {
        let page = self.admin_get("/api/notifications/deliveries").await;
        page["items"].as_array().unwrap().clone()
    }

    /// Rows waiting in the outbox and in the dead letters.
    pub(crate) async fn depths(&self) -> (i64, i64) {
        shopctl_kit::events::depths(&self.db).await.unwrap()
    }

    /// Runs relay passes (20 ms apart) until `done` holds; fails after about 15 s.
    pub(crate) async fn drive_until(&self, what: &str, mut done: impl AsyncFnMut() -> bool) {
        for _ in 0..750 {
            self.relay.run_once().await.unwrap();
            if done().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the mail relay never got there: {what}");
    }

    /// Runs `passes` relay passes, 20 ms apart.
    pub(crate) async fn drive(&self, passes: usize) {
        for _ in 0..passes {
            self.relay.run_once().await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Asserts a problem+json response with `status` and `slug`; returns its body.
pub(crate) async fn assert_problem(response: Response, status: u16, slug: &str) -> Value {
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
    body
}
