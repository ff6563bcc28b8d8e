//! `spawn_app`: the identity service on a random port with a fresh database and data dir.

use reqwest::{Client, Response};
use serde_json::{Value, json};
use shopctl_kit::{
    settings::ConfigSource,
    testing::{TestBackend, TestDatabase, TestServer, init_logs},
};

pub(crate) const ADMIN_TOKEN: &str = "user-test-admin-token-0123456789";
pub(crate) const PASSWORD: &str = "violet-harbour-kettle-9";

pub(crate) struct TestApp {
    pub(crate) url: String,
    pub(crate) client: Client,
    pub(crate) db: TestDatabase,
    pub(crate) data: tempfile::TempDir,
    pub(crate) server: TestServer,
}

pub(crate) fn settings_for(
    db: &TestDatabase,
    data: &std::path::Path,
    overrides: &[(&str, &str)],
) -> shopctl_user::Settings {
    use secrecy::ExposeSecret;
    let mut source = ConfigSource::default()
        .with("port", 0)
        .with("database_url", db.url.expose_secret().to_owned())
        .with("data_dir", data.display().to_string())
        .with("admin_token", ADMIN_TOKEN)
        .with("environment", "test")
        .with("log", "warn");
    for (key, value) in overrides {
        source = match value.parse::<u64>() {
            Ok(number) => source.with(key, number),
            Err(_) => source.with(key, *value),
        };
    }
    shopctl_user::load_settings(&source).unwrap()
}

pub(crate) async fn spawn_app(overrides: &[(&str, &str)]) -> TestApp {
    init_logs();
    let db = TestDatabase::new(TestBackend::from_env()).await;
    let data = tempfile::tempdir().unwrap();
    let settings = settings_for(&db, data.path(), overrides);
    let server = TestServer::spawn_app("user", shopctl_user::app(&settings).await.unwrap()).await;
    TestApp {
        url: server.url.clone(),
        client: Client::new(),
        db,
        data,
        server,
    }
}

impl TestApp {
    pub(crate) async fn post(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(format!("{}{path}", self.url))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn authed(
        &self,
        method: reqwest::Method,
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

    pub(crate) async fn register(&self, email: &str) -> Value {
        let response = self
            .post(
                "/api/users/register",
                &json!({"email": email, "password": PASSWORD, "name": "Ana"}),
            )
            .await;
        assert_eq!(response.status(), 201, "register {email}");
        response.json().await.unwrap()
    }

    pub(crate) async fn login(&self, email: &str, password: &str) -> Response {
        self.post(
            "/api/users/login",
            &json!({"email": email, "password": password}),
        )
        .await
    }

    pub(crate) async fn tokens(&self, email: &str) -> Value {
        let response = self.login(email, PASSWORD).await;
        assert_eq!(response.status(), 200, "login {email}");
        response.json().await.unwrap()
    }

    pub(crate) fn audit_lines(&self) -> Vec<Value> {
        let text =
            std::fs::read_to_string(self.data.path().join("audit/user.jsonl")).unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

pub(crate) async fn assert_problem(response: Response, status: u16, slug: &str) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["type"],
        format!("https://shopctl.dev/problems/{slug}"),
        "{body}"
    );
    body
}
