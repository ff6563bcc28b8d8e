//! The whole commerce platform in one test process: identity, catalog, inventory, payment,
//! orders, notifications, the storefront and the gateway, each on a random port with a fresh database of the backend the
//! environment names, wired together with one service key. Events from the order service go to
//! a recording subscriber, so tests can count them.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use axum::{Json, Router, extract::State, http::StatusCode, routing::post};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use shopctl_kit::{
    events::Envelope,
    settings::ConfigSource,
    testing::{SERVICE_KEY, SmtpServer, TestBackend, TestDatabase, TestIdp, TestServer, free_port},
};

use crate::ADMIN_TOKEN;

/// A password the identity service accepts.
pub const PASSWORD: &str = "violet-harbour-kettle-9";

/// Events the order service delivered, in arrival order.
pub type Received = Arc<Mutex<Vec<Envelope>>>;

/// The running platform.
pub struct Shop {
    /// The gateway: the one address clients use.
    pub gateway: TestServer,
    /// Identity.
    pub user: TestServer,
    /// Catalog.
    pub product: TestServer,
    /// Inventory.
    pub inventory: TestServer,
    /// Payment.
    pub payment: TestServer,
    /// Orders.
    pub order: TestServer,
    /// Notifications, sending through [`Shop::smtp`].
    pub notification: TestServer,
    /// The storefront, behind the gateway at `/`.
    pub frontend: TestServer,
    /// The real SMTP server (aiosmtpd) the shop's mails arrive at.
    pub smtp: SmtpServer,
    /// Events delivered by the order service's relay.
    pub events: Received,
    /// The order service's database.
    pub order_db: shopctl_kit::db::Db,
    /// The order service's settings (to start another instance on the same database).
    pub order_settings: shopctl_order::Settings,
    /// An external identity provider every service trusts: tests mint many customers' tokens
    /// with it without registering each one.
    pub idp: TestIdp,
    /// Where the identity provider publishes its keys (for services started outside the shop).
    pub idp_jwks_url: String,
    _idp_server: TestServer,
    _events_server: TestServer,
    dbs: Vec<TestDatabase>,
    _data: tempfile::TempDir,
    order_loops: std::sync::Mutex<Option<shopctl_kit::service::Loops>>,
}

/// `iss` of the test identity provider's tokens.
pub const IDP_ISSUER: &str = "https://idp.shop.test/";

fn source(db: &TestDatabase, data: &std::path::Path, idp: &str) -> ConfigSource {
    ConfigSource::default()
        .with("oidc_issuer", IDP_ISSUER)
        .with("oidc_jwks_url", idp.to_owned())
        .with("oidc_audience", "shopctl")
        .with("port", 0)
        .with("database_url", db.url.expose_secret().to_owned())
        .with("data_dir", data.display().to_string())
        .with("admin_token", ADMIN_TOKEN)
        .with("service_key", SERVICE_KEY)
        .with("environment", "test")
        .with("log", "warn")
        .with("db_max_connections", 10)
}

async fn recorder() -> (TestServer, Received) {
    let received: Received = Arc::new(Mutex::new(Vec::new()));
    let router = Router::new()
        .route(
            "/events",
            post(
                |State(received): State<Received>, Json(envelope): Json<Envelope>| async move {
                    received.lock().expect("not poisoned").push(envelope);
                    StatusCode::NO_CONTENT
                },
            ),
        )
        .with_state(received.clone());
    (TestServer::spawn("subscriber", router).await, received)
}

impl Shop {
    /// Starts everything on the backend the environment names.
    // One straight-line wiring of six services reads better than six helpers.
    #[allow(clippy::too_many_lines)]
    pub async fn start() -> Self {
        let backend = TestBackend::from_env();
        let data = tempfile::tempdir().expect("a data directory");
        let mut dbs = Vec::new();
        let db = || async { TestDatabase::new(backend).await };
        let idp = TestIdp::es256();
        let idp_server = idp.serve().await;
        let idp_url = format!("{}/keys", idp_server.url);
        let source = |db: &TestDatabase, data: &std::path::Path| source(db, data, &idp_url);

        // Notifications first: the others send it events.
        let smtp_port = free_port();
        let smtp = SmtpServer::start(smtp_port).await;
        let notification_db = db().await;
        let settings = shopctl_notification::load_settings(
            &source(&notification_db, data.path())
                .with("smtp_host", "127.0.0.1")
                .with("smtp_port", u64::from(smtp_port))
                .with("mail_retry_base_ms", 20)
                .with("mail_retry_max_ms", 200),
        )
        .expect("notification settings");
        let notification = TestServer::spawn_app(
            "notification",
            shopctl_notification::app(&settings)
                .await
                .expect("notification"),
        )
        .await;
        dbs.push(notification_db);
        let to_notification = format!("{}/internal/events", notification.url);

        let user_db = db().await;
        let user_subscribers: BTreeMap<String, Vec<String>> = ["user.registered", "user.erased"]
            .into_iter()
            .map(|topic| (topic.to_owned(), vec![to_notification.clone()]))
            .collect();
        let settings = shopctl_user::load_settings(
            &source(&user_db, data.path())
                .with("event_retry_base_ms", 20)
                .with(
                    "subscribers",
                    figment::value::Value::serialize(&user_subscribers).expect("a map"),
                ),
        )
        .expect("user settings");
        let user =
            TestServer::spawn_app("user", shopctl_user::app(&settings).await.expect("user")).await;
        let jwks = format!("{}/.well-known/jwks.json", user.url);
        dbs.push(user_db);

        let product_db = db().await;
        let settings = shopctl_product::load_settings(
            &source(&product_db, data.path()).with("jwks_url", jwks.clone()),
        )
        .expect("product settings");
        let product = TestServer::spawn_app(
            "product",
            shopctl_product::app(&settings).await.expect("product"),
        )
        .await;
        dbs.push(product_db);

        let inventory_db = db().await;
        let settings = shopctl_inventory::load_settings(
            &source(&inventory_db, data.path()).with("jwks_url", jwks.clone()),
        )
        .expect("inventory settings");
        let inventory = TestServer::spawn_app(
            "inventory",
            shopctl_inventory::app(&settings).await.expect("inventory"),
        )
        .await;
        dbs.push(inventory_db);

        let payment_db = db().await;
        let settings = shopctl_payment::load_settings(
            &source(&payment_db, data.path()).with("jwks_url", jwks.clone()),
        )
        .expect("payment settings");
        let payment = TestServer::spawn_app(
            "payment",
            shopctl_payment::app(&settings).await.expect("payment"),
        )
        .await;
        dbs.push(payment_db);

        let (events_server, events) = recorder().await;
        let subscribers: BTreeMap<String, Vec<String>> =
            ["order.confirmed", "order.cancelled", "payment.failed"]
                .into_iter()
                .map(|topic| {
                    (
                        topic.to_owned(),
                        vec![
                            format!("{}/events", events_server.url),
                            to_notification.clone(),
                        ],
                    )
                })
                .collect();
        let order_db = db().await;
        let order_settings = shopctl_order::load_settings(
            &source(&order_db, data.path())
                .with("jwks_url", jwks.clone())
                .with("product_url", product.url.clone())
                .with("inventory_url", inventory.url.clone())
                .with("payment_url", payment.url.clone())
                .with("event_retry_base_ms", 20)
                .with("resume_interval_ms", 200)
                .with("resume_after_ms", 2_000)
                .with(
                    "subscribers",
                    figment::value::Value::serialize(&subscribers).expect("a map"),
                ),
        )
        .expect("order settings");
        let app = shopctl_order::app(&order_settings).await.expect("order");
        let order_db_handle = app
            .handle::<shopctl_kit::db::Db>()
            .expect("order's database");
        // Started here rather than by the test server, so that a test can stop the loops alone
        // (a crash of the order service's background, its routes still up).
        let (router, order_loops) = app.start();
        let order = TestServer::spawn("order", router).await;
        dbs.push(order_db);

        let upstream = |name: &str, url: &str| (format!("upstreams.{name}"), url.to_owned());
        let mut frontend_source = ConfigSource::default()
            .with("port", 0)
            .with("log", "warn")
            .with("environment", "test")
            .with("service_key", SERVICE_KEY)
            .with("admin_token", ADMIN_TOKEN)
            .with("jwks_url", jwks.clone())
            .with("oidc_issuer", IDP_ISSUER)
            .with("oidc_jwks_url", idp_url.clone())
            .with("oidc_audience", "shopctl");
        for (key, url) in [
            upstream("user", &user.url),
            upstream("product", &product.url),
            upstream("order", &order.url),
            upstream("inventory", &inventory.url),
            upstream("payment", &payment.url),
            upstream("notification", &notification.url),
        ] {
            frontend_source = frontend_source.with(&key, url);
        }
        let frontend_settings =
            shopctl_frontend::load_settings(&frontend_source).expect("frontend settings");
        let frontend = TestServer::spawn_app(
            "frontend",
            shopctl_frontend::app(&frontend_settings)
                .await
                .expect("frontend"),
        )
        .await;

        let gateway_settings = shopctl_gateway::load_settings(
            &ConfigSource::default()
                .with("oidc_issuer", IDP_ISSUER)
                .with("oidc_jwks_url", idp_url.clone())
                .with("oidc_audience", "shopctl")
                .with("port", 0)
                .with("log", "warn")
                .with("admin_token", ADMIN_TOKEN)
                .with("jwks_url", jwks)
                .with("rate_limit_burst", 100_000)
                .with("rate_limit_per_minute", 10_000_000)
                .with("auth_rate_limit_per_minute", 100_000)
                .with("cache_ttl_ms", 0)
                .with("upstreams.user", user.url.clone())
                .with("upstreams.product", product.url.clone())
                .with("upstreams.inventory", inventory.url.clone())
                .with("upstreams.payment", payment.url.clone())
                .with("upstreams.order", order.url.clone())
                .with("upstreams.notification", notification.url.clone())
                .with("upstreams.frontend", frontend.url.clone()),
        )
        .expect("gateway settings");
        let gateway = TestServer::spawn_app(
            "gateway",
            shopctl_gateway::app(&gateway_settings)
                .await
                .expect("gateway"),
        )
        .await;

        Self {
            gateway,
            user,
            product,
            inventory,
            payment,
            order,
            notification,
            frontend,
            smtp,
            events,
            idp,
            idp_jwks_url: idp_url,
            _idp_server: idp_server,
            order_db: order_db_handle,
            order_settings,
            _events_server: events_server,
            dbs,
            _data: data,
            order_loops: std::sync::Mutex::new(Some(order_loops)),
        }
    }

    /// A customer's access token for subject `sub`, from the test identity provider.
    pub fn token(&self, sub: &str) -> String {
        self.idp.sign(&shopctl_kit::jwt::Claims::new(
            sub,
            vec![shopctl_kit::auth::Role::Customer],
            IDP_ISSUER,
            "shopctl",
            std::time::Duration::from_secs(600),
        ))
    }

    /// Every SQLite database file of the shop (with its WAL), when the backend is SQLite.
    pub fn database_files(&self) -> Vec<std::path::PathBuf> {
        self.dbs
            .iter()
            .filter_map(TestDatabase::dir)
            .filter_map(|dir| std::fs::read_dir(dir).ok())
            .flatten()
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .collect()
    }

    /// Stops the order service's relay and resumer (its routes keep serving).
    pub fn stop_order_loops(&self) {
        // Dropping the loops asks them to stop.
        drop(
            self.order_loops
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take(),
        );
    }

    /// Creates a product (and its category) with `stock` units, as an admin; returns its SKU.
    pub async fn product_with_stock(&self, sku: &str, price: i64, stock: i64) -> String {
        let client = reqwest::Client::new();
        client
            .post(format!("{}/api/categories", self.product.url))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"slug": "kitchen", "name": "Kitchen"}))
            .send()
            .await
            .expect("category");
        let created = client
            .post(format!("{}/api/products", self.product.url))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"sku": sku, "name": format!("Kettle {sku}"), "price": {"amount": price, "currency": "USD"},
                "category": "kitchen", "brand": "Acme"}))
            .send()
            .await
            .expect("product");
        assert_eq!(created.status(), 201, "product {sku}");
        let adjusted = client
            .post(format!("{}/api/inventory/{sku}/adjust", self.inventory.url))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"delta": stock, "reason": "initial stock"}))
            .send()
            .await
            .expect("stock");
        assert_eq!(adjusted.status(), 200, "stock {sku}");
        sku.to_owned()
    }

    /// Registers and signs in a customer through the gateway; returns (user id, access token).
    pub async fn customer(&self, email: &str) -> (String, String) {
        customer_at(&self.gateway.url, email).await
    }

    /// Stock of a SKU as the inventory reports it.
    pub async fn stock(&self, sku: &str) -> Value {
        reqwest::get(format!("{}/api/inventory/{sku}", self.inventory.url))
            .await
            .expect("stock")
            .json()
            .await
            .expect("json")
    }
}

/// Registers and signs in a customer through the gateway at `gateway` (any shop's, `shopctl up`'s
/// too); returns (user id, access token).
pub async fn customer_at(gateway: &str, email: &str) -> (String, String) {
    let client = reqwest::Client::new();
    let registered: Value = client
        .post(format!("{gateway}/api/users/register"))
        .json(&json!({"email": email, "password": PASSWORD, "name": "Ana"}))
        .send()
        .await
        .expect("register")
        .json()
        .await
        .expect("json");
    let tokens: Value = client
        .post(format!("{gateway}/api/users/login"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    (
        registered["id"].as_str().expect("an id").to_owned(),
        tokens["access_token"].as_str().expect("a token").to_owned(),
    )
}

/// A checkout body paying with `card`.
pub fn checkout_body(card: &str) -> Value {
    json!({
        "shipping_address": {"name": "Ana Example", "line1": "1 Main St", "city": "Springfield",
            "postal_code": "12345", "country": "US"},
        "payment": {"card_number": card, "exp_month": 12, "exp_year": 2040, "cvc": "123"}
    })
}
