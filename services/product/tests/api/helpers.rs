//! `spawn_app`: the product service on a random port with a fresh database.

use reqwest::{Client, Response};
use serde_json::{Value, json};
use shopctl_kit::{
    settings::ConfigSource,
    testing::{TestBackend, TestDatabase, TestServer, init_logs},
};
use shopctl_product::Settings;

pub(crate) const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

pub(crate) struct TestApp {
    pub(crate) url: String,
    pub(crate) client: Client,
    pub(crate) db: TestDatabase,
    pub(crate) server: TestServer,
}

pub(crate) fn settings_for(db: &TestDatabase, overrides: &[(&str, &str)]) -> Settings {
    use secrecy::ExposeSecret;
    let mut source = ConfigSource::default()
        .with("port", 0)
        .with("database_url", db.url.expose_secret().to_owned())
        .with("admin_token", ADMIN_TOKEN)
        .with("environment", "test")
        .with("log", "warn");
    for (key, value) in overrides {
        source = source.with(key, *value);
    }
    shopctl_product::load_settings(&source).expect("test settings are valid")
}

/// A service with an empty catalog (no demo seed) on the backend chosen by the environment.
pub(crate) async fn spawn_app() -> TestApp {
    let db = TestDatabase::new(TestBackend::from_env()).await;
    spawn_on(db, &[]).await
}

/// A service on an existing test database.
pub(crate) async fn spawn_on(db: TestDatabase, overrides: &[(&str, &str)]) -> TestApp {
    init_logs();
    let settings = settings_for(&db, overrides);
    let router = shopctl_product::app(&settings)
        .await
        .expect("build the product service");
    let server = TestServer::spawn_app("product", router).await;
    TestApp {
        url: server.url.clone(),
        client: Client::new(),
        db,
        server,
    }
}

impl TestApp {
    pub(crate) async fn get(&self, path: &str) -> Response {
        self.client
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .expect("GET")
    }

    pub(crate) async fn get_json(&self, path: &str) -> Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.expect("JSON body")
    }

    pub(crate) async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Response {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(ADMIN_TOKEN);
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.expect("admin request")
    }

    pub(crate) async fn create_category(&self, slug: &str) {
        let response = self
            .admin(
                reqwest::Method::POST,
                "/api/categories",
                Some(&json!({"slug": slug, "name": slug})),
            )
            .await;
        assert!(
            response.status() == 201 || response.status() == 409,
            "create category {slug}"
        );
    }

    pub(crate) async fn create_product(&self, body: &Value) -> Value {
        let response = self
            .admin(reqwest::Method::POST, "/api/products", Some(body))
            .await;
        let status = response.status();
        let text = response.text().await.unwrap();
        assert_eq!(status, 201, "create product: {text}");
        serde_json::from_str(&text).unwrap()
    }

    /// Loads the demo categories and `count` generated products straight into the store.
    pub(crate) async fn seed(&self, count: usize, seed: u64) {
        let settings = settings_for(&self.db, &[]);
        let db = shopctl_product::connect(&settings).await.unwrap();
        let store = shopctl_product::store::SqlProductStore::new(db.clone());
        shopctl_product::domain::seed::load(&store, count, seed)
            .await
            .unwrap();
        db.close().await;
    }

    /// Every page of `path` (which must not carry a cursor) with `limit`.
    pub(crate) async fn all_pages(&self, path: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        let sep = if path.contains('?') { '&' } else { '?' };
        loop {
            let url = match &cursor {
                Some(c) => format!("{path}{sep}cursor={c}"),
                None => path.to_owned(),
            };
            let page = self.get_json(&url).await;
            items.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return items,
            }
        }
    }
}

pub(crate) fn product_body(sku: &str, name: &str, category: &str) -> Value {
    json!({
        "sku": sku,
        "name": name,
        "description": "A test product",
        "price": {"amount": 1999, "currency": "USD"},
        "category": category,
        "brand": "Acme",
        "attributes": {"color": "red"},
        "image_url": "/images/x.svg"
    })
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
