//! `spawn_app`: the order service on a random port with a fresh database of the backend the
//! environment names (`TestBackend::from_env`) and a data dir of its own, customers' tokens from
//! an issuer of its own whose JWKS the service trusts, and [`Upstreams`] in place of the
//! services it calls. [`Setup`] is the same without the service, for tests that run instances
//! of it themselves (`saga.rs`).
//!
//! The upstreams are contract stand-ins, not the services: small in-process axum servers that
//! serve exactly the endpoints the order service calls — the catalog's product lookup,
//! inventory's reservations, payment's authorizations, captures, voids, refunds and listing —
//! in the shapes the product, inventory and payment services' committed `openapi.json` give,
//! keeping their state in memory: stock per SKU with all-or-nothing reservations (held,
//! confirmed, released), payments (authorized or declined, then captured, voided or refunded),
//! a count of every call, and the events the order service delivers. They check service tokens
//! as the real services do. The real services run together, with this one, in `tests/e2e`.
//!
//! `contracts.rs` holds the stand-ins to the documents: every route they serve must be in the
//! service's document and their answers must have the documented shapes; and while the other
//! tests run, every request body the order service sends them is checked against the documented
//! request schema (a departure is answered 422 and recorded, and
//! [`Upstreams::assert_contract_kept`] fails the test).

use std::{
    collections::BTreeMap,
    sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError},
    time::{Duration, Instant},
};

use axum::{
    Router,
    extract::{FromRef, State},
    http::{HeaderMap, Method, StatusCode, Uri},
    routing::{get, post},
};
use chrono::{DateTime, Utc};
use reqwest::{Client, RequestBuilder, Response};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::{Value, json};
use shopctl_kit::{
    ApiError, AppJson, AppQuery,
    auth::{Auth, Authorized, Role, ServiceOnly, SupportAdminOrService},
    json::AppPath,
    jwt::{Claims, JwkSet, SigningKey},
    settings::{CommonSettings, ConfigSource},
    testing::{SERVICE_KEY, TestBackend, TestDatabase, TestServer, init_logs},
    vocabulary::Money,
};
use tokio::sync::watch;
use uuid::Uuid;

const ADMIN_TOKEN: &str = "order-test-admin-token-0123456789";
/// Authorized at once.
pub(crate) const APPROVED: &str = "4242424242424242";
/// Declined (`card_declined`).
pub(crate) const DECLINED: &str = "4000000000000002";
/// Authorized, but only once the test calls [`Upstreams::release_slow_card`] (the real
/// simulator answers for this card after 2 s).
pub(crate) const SLOW_CARD: &str = "4000000000003220";

/// The catalog's product lookup.
pub(crate) const PRODUCT_BY_SKU: &str = "/api/products/sku/{sku}";
/// Inventory: hold an order's stock.
pub(crate) const RESERVATIONS: &str = "/internal/reservations";
/// Inventory: an order's reservation.
pub(crate) const RESERVATION: &str = "/internal/reservations/{order_id}";
/// Inventory: the held stock leaves the warehouse.
pub(crate) const CONFIRM: &str = "/internal/reservations/{order_id}/confirm";
/// Inventory: the held stock is available again.
pub(crate) const RELEASE: &str = "/internal/reservations/{order_id}/release";
/// Payment: authorize (POST) and an order's payments (GET).
pub(crate) const PAYMENTS: &str = "/internal/payments";
/// Payment: capture an authorization.
pub(crate) const CAPTURE: &str = "/internal/payments/{id}/capture";
/// Payment: release an authorization.
pub(crate) const VOID: &str = "/internal/payments/{id}/void";
/// Payment: pay a captured payment back.
pub(crate) const REFUND: &str = "/api/payments/{id}/refund";

// ---------------------------------------------------------------------------------------------
// The order service under test.
// ---------------------------------------------------------------------------------------------

/// Everything the order service needs around it, and its settings; no instance runs yet.
pub(crate) struct Setup {
    /// The stand-ins for the services it calls.
    pub(crate) upstreams: Upstreams,
    /// Mints customers' tokens the service trusts.
    pub(crate) customers: Customers,
    /// The service's settings: the stand-ins' URLs, the test database, a short saga resume.
    pub(crate) settings: shopctl_order::Settings,
    db: TestDatabase,
    data: tempfile::TempDir,
}

impl Setup {
    /// Stand-ins, an issuer, a fresh database and data dir, and settings naming them all.
    pub(crate) async fn new() -> Self {
        init_logs();
        let upstreams = Upstreams::spawn().await;
        let customers = Customers::start().await;
        let db = TestDatabase::new(TestBackend::from_env()).await;
        let data = tempfile::tempdir().expect("a data directory");
        let source = ConfigSource::default()
            .with("port", 0)
            .with("database_url", db.url.expose_secret().to_owned())
            .with("data_dir", data.path().display().to_string())
            .with("admin_token", ADMIN_TOKEN)
            .with("service_key", SERVICE_KEY)
            .with("jwks_url", customers.jwks_url())
            .with("environment", "test")
            .with("log", "warn")
            .with("product_url", upstreams.url(StandIn::Product).to_owned())
            .with(
                "inventory_url",
                upstreams.url(StandIn::Inventory).to_owned(),
            )
            .with("payment_url", upstreams.url(StandIn::Payment).to_owned())
            .with("event_retry_base_ms", 20)
            .with("resume_after_ms", 500)
            .with("resume_interval_ms", 100);
        let mut settings = shopctl_order::load_settings(&source).expect("valid order settings");
        // Set on the loaded settings: a map is not a flag override.
        let subscriber = upstreams.subscriber_url();
        settings.service.subscribers = ["order.confirmed", "order.cancelled", "payment.failed"]
            .into_iter()
            .map(|topic| (topic.to_owned(), vec![subscriber.clone()]))
            .collect();
        Self {
            upstreams,
            customers,
            settings,
            db,
            data,
        }
    }

    /// The order service's entry point on these settings, served with its loops.
    pub(crate) async fn serve(self) -> TestApp {
        let app = shopctl_order::app(&self.settings)
            .await
            .expect("the order service builds");
        let server = TestServer::spawn_app("order", app).await;
        TestApp {
            url: server.url.clone(),
            _server: server,
            upstreams: self.upstreams,
            customers: self.customers,
            _db: self.db,
            _data: self.data,
        }
    }
}

/// The order service running, with its stand-ins.
pub(crate) struct TestApp {
    // First, so that the service stops before its database goes.
    _server: TestServer,
    /// `http://127.0.0.1:PORT`.
    pub(crate) url: String,
    /// The stand-ins for the services it calls.
    pub(crate) upstreams: Upstreams,
    customers: Customers,
    _db: TestDatabase,
    _data: tempfile::TempDir,
}

/// The order service on a fresh database, with stand-ins for the services it calls.
pub(crate) async fn spawn_app() -> TestApp {
    Setup::new().await.serve().await
}

impl TestApp {
    /// A customer signed in as `subject`, calling this service.
    pub(crate) fn customer(&self, subject: &str) -> Customer {
        self.customers.customer(&self.url, subject)
    }
}

/// Issues customers' access tokens, and serves the JWKS the order service verifies them with.
pub(crate) struct Customers {
    key: SigningKey,
    jwks: TestServer,
}

impl Customers {
    async fn start() -> Self {
        let key = SigningKey::generate();
        let set = Arc::new(JwkSet {
            keys: vec![key.public_jwk()],
        });
        let router = Router::new().route(
            "/jwks.json",
            get(move || {
                let set = Arc::clone(&set);
                async move { axum::Json(set.as_ref().clone()) }
            }),
        );
        Self {
            key,
            jwks: TestServer::spawn("issuer", router).await,
        }
    }

    fn jwks_url(&self) -> String {
        format!("{}/jwks.json", self.jwks.url)
    }

    /// The customer `subject`, calling the order service at `base`.
    pub(crate) fn customer(&self, base: &str, subject: &str) -> Customer {
        let claims = Claims::new(
            subject,
            vec![Role::Customer],
            "shopctl",
            "shopctl",
            Duration::from_secs(900),
        );
        Customer {
            base: base.to_owned(),
            token: self.key.sign(&claims).expect("sign a customer token"),
            client: Client::new(),
        }
    }
}

/// A signed-in customer's calls to the order service.
#[derive(Clone)]
pub(crate) struct Customer {
    base: String,
    token: String,
    client: Client,
}

fn checkout_body(card: &str) -> Value {
    json!({
        "shipping_address": {"name": "Ana Example", "line1": "1 Main St", "city": "Springfield",
            "postal_code": "12345", "country": "US"},
        "payment": {"card_number": card, "exp_month": 12, "exp_year": 2040, "cvc": "123"}
    })
}

impl Customer {
    /// `POST /api/cart/items`.
    pub(crate) async fn add_to_cart(&self, sku: &str, quantity: i64) -> Response {
        self.client
            .post(format!("{}/api/cart/items", self.base))
            .bearer_auth(&self.token)
            .json(&json!({"sku": sku, "quantity": quantity}))
            .send()
            .await
            .expect("the order service answers")
    }

    /// `GET /api/cart`.
    pub(crate) async fn cart(&self) -> Value {
        self.client
            .get(format!("{}/api/cart", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("the order service answers")
            .json()
            .await
            .expect("a cart")
    }

    /// `POST /api/orders` paying with `card`, with `Idempotency-Key: key`, not yet sent.
    pub(crate) fn checkout_request(&self, key: &str, card: &str) -> RequestBuilder {
        self.client
            .post(format!("{}/api/orders", self.base))
            .bearer_auth(&self.token)
            .header("idempotency-key", key)
            .json(&checkout_body(card))
    }

    /// `POST /api/orders` paying with `card`.
    pub(crate) async fn checkout(&self, key: &str, card: &str) -> Response {
        self.checkout_request(key, card)
            .send()
            .await
            .expect("the order service answers")
    }

    /// `GET /api/orders/{id}`.
    pub(crate) async fn order(&self, id: &str) -> Response {
        self.client
            .get(format!("{}/api/orders/{id}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("the order service answers")
    }

    /// `POST /api/orders/{id}/cancel` without a body.
    pub(crate) async fn cancel(&self, id: &str) -> Response {
        self.client
            .post(format!("{}/api/orders/{id}/cancel", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("the order service answers")
    }
}

/// How long a test waits for something that happens in the background.
pub(crate) const WAIT: Duration = Duration::from_secs(10);

/// Polls `done` every 20 ms until it holds (`true`) or `within` has passed (`false`).
pub(crate) async fn eventually(within: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// The stand-ins.
// ---------------------------------------------------------------------------------------------

/// A service the order service calls, as stood in here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StandIn {
    /// The catalog.
    Product,
    /// Stock and reservations.
    Inventory,
    /// Card payments.
    Payment,
}

static PRODUCT_DOCUMENT: LazyLock<Value> = LazyLock::new(|| {
    parse_document(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../product/openapi.json"
    )))
});
static INVENTORY_DOCUMENT: LazyLock<Value> = LazyLock::new(|| {
    parse_document(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../inventory/openapi.json"
    )))
});
static PAYMENT_DOCUMENT: LazyLock<Value> = LazyLock::new(|| {
    parse_document(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../payment/openapi.json"
    )))
});

fn parse_document(text: &str) -> Value {
    serde_json::from_str(text).expect("a committed openapi.json is JSON")
}

impl StandIn {
    /// Every stand-in.
    pub(crate) const ALL: [Self; 3] = [Self::Product, Self::Inventory, Self::Payment];

    /// The service's name (and directory under `services/`).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Product => "product",
            Self::Inventory => "inventory",
            Self::Payment => "payment",
        }
    }

    /// What the stand-in serves: (method, path) as the service's OpenAPI document writes them.
    pub(crate) fn routes(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Self::Product => &[("get", PRODUCT_BY_SKU)],
            Self::Inventory => &[
                ("post", RESERVATIONS),
                ("get", RESERVATION),
                ("post", CONFIRM),
                ("post", RELEASE),
            ],
            Self::Payment => &[
                ("get", PAYMENTS),
                ("post", PAYMENTS),
                ("post", CAPTURE),
                ("post", VOID),
                ("post", REFUND),
            ],
        }
    }

    /// The service's committed `openapi.json`.
    pub(crate) fn document(self) -> &'static Value {
        match self {
            Self::Product => LazyLock::force(&PRODUCT_DOCUMENT),
            Self::Inventory => LazyLock::force(&INVENTORY_DOCUMENT),
            Self::Payment => LazyLock::force(&PAYMENT_DOCUMENT),
        }
    }
}

/// Where `value` departs from `schema`, a schema of the OpenAPI document `doc` (its `$ref`s
/// resolved there): a wrong type, a value outside an `enum`, a missing required field, or a field
/// that an object schema closed with `additionalProperties: false` does not name. Empty when it
/// conforms. Formats and numeric bounds are not checked.
pub(crate) fn departures(doc: &Value, schema: &Value, value: &Value) -> Vec<String> {
    let mut found = Vec::new();
    depart(doc, schema, value, "body", &mut found);
    found
}

fn depart(doc: &Value, schema: &Value, value: &Value, at: &str, found: &mut Vec<String>) {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/components/schemas/");
        let target = &doc["components"]["schemas"][name];
        if target.is_object() {
            depart(doc, target, value, at, found);
        } else {
            found.push(format!("{at}: {reference} is not in the document"));
        }
        return;
    }
    if let Some(branches) = schema["oneOf"].as_array() {
        if !branches
            .iter()
            .any(|branch| departures(doc, branch, value).is_empty())
        {
            found.push(format!("{at}: matches none of its oneOf schemas"));
        }
        return;
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(one) => vec![one.as_str()],
        Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !types.is_empty() && !types.iter().any(|name| is_type(value, name)) {
        found.push(format!("{at}: {value} is not {}", types.join(" or ")));
        return;
    }
    if schema["enum"]
        .as_array()
        .is_some_and(|allowed| !allowed.contains(value))
    {
        found.push(format!("{at}: {value} is not one of {}", schema["enum"]));
    }
    match value {
        Value::Object(fields) => {
            let required = schema["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str);
            for name in required {
                if !fields.contains_key(name) {
                    found.push(format!("{at}.{name}: required but missing"));
                }
            }
            let closed = schema["additionalProperties"] == Value::Bool(false);
            for (name, field) in fields {
                match schema["properties"].get(name) {
                    Some(property) => depart(doc, property, field, &format!("{at}.{name}"), found),
                    None if closed => found.push(format!("{at}.{name}: not a field of the schema")),
                    None => {}
                }
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                depart(
                    doc,
                    &schema["items"],
                    item,
                    &format!("{at}[{index}]"),
                    found,
                );
            }
        }
        _ => {}
    }
}

fn is_type(value: &Value, name: &str) -> bool {
    match name {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => true,
    }
}

/// Where a reservation stands (inventory's `ReservationState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hold {
    /// Units held for the order.
    Held,
    /// The order was paid: the units left the warehouse.
    Confirmed,
    /// The units are available again.
    Released,
}

impl Hold {
    fn as_str(self) -> &'static str {
        match self {
            Self::Held => "held",
            Self::Confirmed => "confirmed",
            Self::Released => "released",
        }
    }
}

/// Where a payment stands (payment's `Status`, without partial refunds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PaymentStatus {
    Authorized,
    Declined,
    Captured,
    Voided,
    Refunded,
}

impl PaymentStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Authorized => "authorized",
            Self::Declined => "declined",
            Self::Captured => "captured",
            Self::Voided => "voided",
            Self::Refunded => "refunded",
        }
    }
}

/// What the order service asks of a payment after authorizing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PaymentMove {
    Capture,
    Void,
    Refund,
}

struct Product {
    id: Uuid,
    name: String,
    price: i64,
    created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Stock {
    on_hand: i64,
    reserved: i64,
}

struct Reservation {
    status: Hold,
    /// (SKU, units), sorted by SKU, each SKU once.
    lines: Vec<(String, i64)>,
    expires_at: DateTime<Utc>,
}

struct Payment {
    id: Uuid,
    order_id: Uuid,
    customer_id: String,
    status: PaymentStatus,
    amount: Money,
    captured: i64,
    refunded: i64,
    brand: &'static str,
    last4: String,
    exp_month: i64,
    exp_year: i64,
    token: String,
    decline_code: Option<&'static str>,
    idempotency_key: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// The stand-ins' books, shared by all of them.
#[derive(Default)]
struct Books {
    products: BTreeMap<String, Product>,
    stock: BTreeMap<String, Stock>,
    reservations: BTreeMap<Uuid, Reservation>,
    payments: Vec<Payment>,
    /// The order id of every authorization request, in arrival order (retries included).
    authorizations: Vec<Uuid>,
    /// `"{method} {path}"` (the documented path) → calls.
    calls: BTreeMap<String, usize>,
    /// Event envelopes the order service delivered.
    events: Vec<Value>,
    /// Departures from the documented contracts.
    violations: Vec<String>,
}

struct Shared {
    books: Mutex<Books>,
    /// `true` once the slow card's authorizations may finish.
    slow_card: watch::Sender<bool>,
}

/// Body of `POST /internal/reservations` (inventory's `ReserveRequest`).
#[derive(Deserialize)]
struct ReserveRequest {
    order_id: Uuid,
    lines: Vec<ReserveLine>,
    #[serde(default)]
    ttl_secs: Option<u64>,
}

#[derive(Deserialize)]
struct ReserveLine {
    sku: String,
    quantity: i64,
}

/// Body of `POST /internal/payments` (payment's `AuthorizeInput`).
#[derive(Deserialize)]
struct AuthorizeInput {
    order_id: Uuid,
    customer_id: String,
    amount: Money,
    card: Value,
}

/// Body of `POST /api/payments/{id}/refund` (payment's `RefundInput`; always in full here).
#[derive(Deserialize)]
struct RefundInput {
    reason: String,
}

/// Query of `GET /internal/payments`.
#[derive(Deserialize)]
struct OrderQuery {
    order_id: Uuid,
}

/// What is read of a card: never stored beyond its last four digits.
struct Card {
    number: String,
    exp_month: i64,
    exp_year: i64,
}

impl Card {
    fn parse(card: &Value) -> Result<Self, ApiError> {
        let number: String = match &card["card_number"] {
            Value::String(text) => text.chars().filter(char::is_ascii_digit).collect(),
            Value::Number(digits) => digits.to_string(),
            _ => String::new(),
        };
        if !(12..=19).contains(&number.len()) {
            return Err(ApiError::validation(
                "card.card_number",
                "is not a card number",
            ));
        }
        let exp_month = card["exp_month"]
            .as_i64()
            .filter(|month| (1..=12).contains(month))
            .ok_or_else(|| ApiError::validation("card.exp_month", "must be 1-12"))?;
        let exp_year = card["exp_year"]
            .as_i64()
            .ok_or_else(|| ApiError::validation("card.exp_year", "must be a year"))?;
        Ok(Self {
            number,
            exp_month,
            exp_year,
        })
    }

    fn brand(&self) -> &'static str {
        match self.number.as_bytes().first() {
            Some(b'4') => "visa",
            Some(b'5') => "mastercard",
            Some(b'3') => "amex",
            _ => "unknown",
        }
    }

    fn last4(&self) -> String {
        self.number[self.number.len() - 4..].to_owned()
    }
}

fn product_view(sku: &str, product: &Product) -> Value {
    json!({
        "id": product.id,
        "sku": sku,
        "name": product.name,
        "description": "",
        "price": {"amount": product.price, "currency": "USD"},
        "category": "kitchen",
        "brand": "Acme",
        "attributes": {},
        "active": true,
        "image_url": null,
        "created_at": product.created_at,
        "updated_at": product.created_at,
    })
}

fn reservation_view(order_id: Uuid, reservation: &Reservation) -> Value {
    let lines: Vec<Value> = reservation
        .lines
        .iter()
        .map(|(sku, quantity)| json!({"sku": sku, "quantity": quantity}))
        .collect();
    json!({
        "order_id": order_id,
        "status": reservation.status.as_str(),
        "expires_at": reservation.expires_at,
        "lines": lines,
    })
}

fn payment_view(payment: &Payment) -> Value {
    let money = |amount: i64| json!({"amount": amount, "currency": payment.amount.currency});
    json!({
        "id": payment.id,
        "order_id": payment.order_id,
        "customer_id": payment.customer_id,
        "status": payment.status.as_str(),
        "amount": money(payment.amount.amount),
        "captured_amount": money(payment.captured),
        "refunded_amount": money(payment.refunded),
        "card": {
            "brand": payment.brand,
            "last4": payment.last4,
            "exp_month": payment.exp_month,
            "exp_year": payment.exp_year,
            "token": payment.token,
        },
        "decline_code": payment.decline_code,
        "created_at": payment.created_at,
        "updated_at": payment.updated_at,
    })
}

impl Shared {
    fn books(&self) -> MutexGuard<'_, Books> {
        self.books.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn count(&self, method: &str, path: &str) {
        *self
            .books()
            .calls
            .entry(format!("{method} {path}"))
            .or_default() += 1;
    }

    fn violation(&self, what: String) {
        eprintln!("contract departure: {what}");
        self.books().violations.push(what);
    }

    /// Holds every line or none (409 naming the SKU that fell short); the same request for the
    /// same order answers the same reservation.
    fn reserve(&self, request: ReserveRequest) -> Result<Value, ApiError> {
        let mut merged: BTreeMap<String, i64> = BTreeMap::new();
        for line in request.lines {
            if line.quantity <= 0 {
                return Err(ApiError::validation("lines", "quantities must be positive"));
            }
            *merged
                .entry(line.sku.trim().to_ascii_uppercase())
                .or_default() += line.quantity;
        }
        if merged.is_empty() {
            return Err(ApiError::validation("lines", "must hold at least one line"));
        }
        let lines: Vec<(String, i64)> = merged.into_iter().collect();
        let mut books = self.books();
        let Books {
            reservations,
            stock,
            ..
        } = &mut *books;
        if let Some(existing) = reservations.get(&request.order_id) {
            return if existing.lines == lines {
                Ok(reservation_view(request.order_id, existing))
            } else {
                Err(ApiError::conflict(format!(
                    "order {} already holds a reservation with other lines",
                    request.order_id
                )))
            };
        }
        // All or nothing: every line is checked before any is held.
        let short = lines.iter().find(|(sku, quantity)| {
            let level = stock.get(sku).copied().unwrap_or_default();
            level.on_hand - level.reserved < *quantity
        });
        if let Some((sku, _)) = short {
            return Err(ApiError::conflict(format!(
                "not enough stock of {sku}: nothing was reserved"
            )));
        }
        for (sku, quantity) in &lines {
            stock.entry(sku.clone()).or_default().reserved += quantity;
        }
        let ttl = request
            .ttl_secs
            .and_then(|secs| i64::try_from(secs).ok())
            .unwrap_or(900)
            .min(86_400);
        let reservation = Reservation {
            status: Hold::Held,
            lines,
            expires_at: Utc::now() + chrono::Duration::seconds(ttl),
        };
        let view = reservation_view(request.order_id, &reservation);
        reservations.insert(request.order_id, reservation);
        Ok(view)
    }

    /// Moves a held reservation to `to`; already there answers it unchanged, anything else is a
    /// conflict (as inventory does).
    fn transition(&self, order_id: Uuid, to: Hold) -> Result<Value, ApiError> {
        let mut books = self.books();
        let Books {
            reservations,
            stock,
            ..
        } = &mut *books;
        let Some(reservation) = reservations.get_mut(&order_id) else {
            return Err(ApiError::not_found("no reservation for this order"));
        };
        if reservation.status == to {
            return Ok(reservation_view(order_id, reservation));
        }
        if reservation.status != Hold::Held {
            return Err(ApiError::conflict(format!(
                "the reservation is already {}",
                reservation.status.as_str()
            )));
        }
        for (sku, quantity) in &reservation.lines {
            let level = stock.entry(sku.clone()).or_default();
            level.reserved -= quantity;
            if to == Hold::Confirmed {
                level.on_hand -= quantity;
            }
        }
        reservation.status = to;
        Ok(reservation_view(order_id, reservation))
    }

    fn payment_by_key(&self, key: &str) -> Option<Value> {
        self.books()
            .payments
            .iter()
            .find(|payment| payment.idempotency_key == key)
            .map(payment_view)
    }

    fn payments_of(&self, order_id: Uuid) -> Vec<Value> {
        self.books()
            .payments
            .iter()
            .filter(|payment| payment.order_id == order_id)
            .map(payment_view)
            .collect()
    }

    /// Records the processor's answer for `card`, unless a request with the same key got there
    /// first (then that payment is the answer, as the payment service's unique key makes it).
    fn store_payment(
        &self,
        key: String,
        input: AuthorizeInput,
        card: &Card,
    ) -> (StatusCode, Value) {
        let mut books = self.books();
        if let Some(stored) = books
            .payments
            .iter()
            .find(|payment| payment.idempotency_key == key)
        {
            return (StatusCode::OK, payment_view(stored));
        }
        let declined = card.number == DECLINED;
        let now = Utc::now();
        let payment = Payment {
            id: Uuid::now_v7(),
            order_id: input.order_id,
            customer_id: input.customer_id,
            status: if declined {
                PaymentStatus::Declined
            } else {
                PaymentStatus::Authorized
            },
            amount: input.amount,
            captured: 0,
            refunded: 0,
            brand: card.brand(),
            last4: card.last4(),
            exp_month: card.exp_month,
            exp_year: card.exp_year,
            token: format!("tok_{}", Uuid::new_v4().simple()),
            decline_code: declined.then_some("card_declined"),
            idempotency_key: key,
            created_at: now,
            updated_at: now,
        };
        let view = payment_view(&payment);
        books.payments.push(payment);
        (StatusCode::CREATED, view)
    }

    /// Captures, voids or refunds, with the payment service's rules: a repeat answers the
    /// payment unchanged (voiding a declined one too), anything else out of order is a conflict.
    fn move_payment(&self, id: &str, to: PaymentMove) -> Result<Value, ApiError> {
        let id: Uuid = id
            .parse()
            .map_err(|_| ApiError::not_found("no such payment"))?;
        let mut books = self.books();
        let Some(payment) = books.payments.iter_mut().find(|payment| payment.id == id) else {
            return Err(ApiError::not_found("no such payment"));
        };
        let next = match (to, payment.status) {
            (PaymentMove::Capture, PaymentStatus::Captured)
            | (PaymentMove::Void, PaymentStatus::Voided | PaymentStatus::Declined) => {
                return Ok(payment_view(payment));
            }
            (PaymentMove::Capture, PaymentStatus::Authorized) => {
                payment.captured = payment.amount.amount;
                PaymentStatus::Captured
            }
            (PaymentMove::Void, PaymentStatus::Authorized) => PaymentStatus::Voided,
            (PaymentMove::Refund, PaymentStatus::Captured) => {
                payment.refunded = payment.captured;
                PaymentStatus::Refunded
            }
            (_, status) => {
                return Err(ApiError::conflict(format!(
                    "the payment is {}",
                    status.as_str()
                )));
            }
        };
        payment.status = next;
        payment.updated_at = Utc::now();
        Ok(payment_view(payment))
    }

    async fn slow_card_released(&self) {
        let mut released = self.slow_card.subscribe();
        let _ = released.wait_for(|open| *open).await;
    }
}

/// One stand-in's handler state: the shared books, and the service tokens it accepts.
#[derive(Clone)]
struct StandInState {
    shared: Arc<Shared>,
    auth: Auth,
    kind: StandIn,
}

impl FromRef<StandInState> for Auth {
    fn from_ref(state: &StandInState) -> Self {
        state.auth.clone()
    }
}

impl StandInState {
    /// `body` as `T`, once it is what the service's document says `method path` takes; a
    /// departure is recorded and answered 422.
    fn documented_body<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Value,
    ) -> Result<T, ApiError> {
        let doc = self.kind.document();
        let schema =
            &doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"];
        let found = if schema.is_object() {
            departures(doc, schema, &body)
        } else {
            vec!["the document gives no JSON body for this operation".to_owned()]
        };
        if !found.is_empty() {
            let name = self.kind.name();
            let what = format!(
                "{name} {method} {path}: the request departs from services/{name}/openapi.json: {}",
                found.join("; ")
            );
            self.shared.violation(what.clone());
            return Err(ApiError::validation("body", what));
        }
        serde_json::from_value(body).map_err(|err| ApiError::validation("body", err.to_string()))
    }
}

/// Service tokens minted for `audience` with the platform key, as that service accepts them.
fn service_auth(audience: &str) -> Auth {
    let mut settings = CommonSettings::defaults(0);
    settings.service_key = Some(SecretString::from(SERVICE_KEY));
    Auth::from_settings(&settings, audience, Vec::new())
}

fn stand_in(kind: StandIn, shared: &Arc<Shared>) -> Router {
    let state = StandInState {
        shared: Arc::clone(shared),
        auth: service_auth(kind.name()),
        kind,
    };
    // The paths are the documents' own: `contracts.rs` checks each against them.
    let routes = match kind {
        StandIn::Product => Router::new().route(PRODUCT_BY_SKU, get(product_by_sku)),
        StandIn::Inventory => Router::new()
            .route(RESERVATIONS, post(reserve))
            .route(RESERVATION, get(reservation))
            .route(CONFIRM, post(confirm))
            .route(RELEASE, post(release)),
        StandIn::Payment => Router::new()
            .route(PAYMENTS, get(list_payments).post(authorize))
            .route(CAPTURE, post(capture))
            .route(VOID, post(void))
            .route(REFUND, post(refund)),
    };
    routes.fallback(not_stood_in).with_state(state)
}

/// Anything a stand-in does not serve: a contract departure of its own (the order service calls
/// what the stand-in does not know), answered 501.
async fn not_stood_in(
    State(state): State<StandInState>,
    method: Method,
    uri: Uri,
) -> (StatusCode, String) {
    let what = format!(
        "the {} stand-in does not serve {method} {}; add it to tests/api/helpers.rs once the service's openapi.json has it",
        state.kind.name(),
        uri.path()
    );
    state.shared.violation(what.clone());
    (StatusCode::NOT_IMPLEMENTED, what)
}

async fn product_by_sku(
    State(state): State<StandInState>,
    AppPath(sku): AppPath<String>,
) -> Result<AppJson<Value>, ApiError> {
    state.shared.count("get", PRODUCT_BY_SKU);
    let sku = sku.trim().to_ascii_uppercase();
    let books = state.shared.books();
    books
        .products
        .get(&sku)
        .map(|product| AppJson(product_view(&sku, product)))
        .ok_or_else(|| ApiError::not_found("no such product"))
}

async fn reserve(
    _service: Authorized<ServiceOnly>,
    State(state): State<StandInState>,
    AppJson(body): AppJson<Value>,
) -> Result<(StatusCode, AppJson<Value>), ApiError> {
    state.shared.count("post", RESERVATIONS);
    let request: ReserveRequest = state.documented_body("post", RESERVATIONS, body)?;
    state
        .shared
        .reserve(request)
        .map(|view| (StatusCode::CREATED, AppJson(view)))
}

async fn reservation(
    _service: Authorized<ServiceOnly>,
    State(state): State<StandInState>,
    AppPath(order_id): AppPath<Uuid>,
) -> Result<AppJson<Value>, ApiError> {
    state.shared.count("get", RESERVATION);
    let books = state.shared.books();
    books
        .reservations
        .get(&order_id)
        .map(|held| AppJson(reservation_view(order_id, held)))
        .ok_or_else(|| ApiError::not_found("no reservation for this order"))
}

async fn confirm(
    _service: Authorized<ServiceOnly>,
    State(state): State<StandInState>,
    AppPath(order_id): AppPath<Uuid>,
) -> Result<AppJson<Value>, ApiError> {
    state.shared.count("post", CONFIRM);
    state
        .shared
        .transition(order_id, Hold::Confirmed)
        .map(AppJson)
}

async fn release(
    _service: Authorized<ServiceOnly>,
    State(state): State<StandInState>,
    AppPath(order_id): AppPath<Uuid>,
) -> Result<AppJson<Value>, ApiError> {
    state.shared.count("post", RELEASE);
    state
        .shared
        .transition(order_id, Hold::Released)
        .map(AppJson)
}

async fn authorize(
    _service: Authorized<ServiceOnly>,
    State(state): State<StandInState>,
    headers: HeaderMap,
    AppJson(body): AppJson<Value>,
) -> Result<(StatusCode, AppJson<Value>), ApiError> {
    state.shared.count("post", PAYMENTS);
    let input: AuthorizeInput = state.documented_body("post", PAYMENTS, body)?;
    state.shared.books().authorizations.push(input.order_id);
    let key = headers
        .get("idempotency-key")
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|key| !key.is_empty())
        .ok_or_else(|| ApiError::bad_param("Idempotency-Key", "is required"))?
        .to_owned();
    if let Some(stored) = state.shared.payment_by_key(&key) {
        return Ok((StatusCode::OK, AppJson(stored)));
    }
    let card = Card::parse(&input.card)?;
    let shared = Arc::clone(&state.shared);
    // The processor's work runs on a task of its own, so that an authorization it has begun
    // ends and is recorded even when the caller goes away meanwhile (`saga.rs` kills its caller).
    let (status, payment) = tokio::spawn(async move {
        if card.number == SLOW_CARD {
            shared.slow_card_released().await;
        }
        shared.store_payment(key, input, &card)
    })
    .await
    .map_err(|err| ApiError::Internal(err.into()))?;
    Ok((status, AppJson(payment)))
}

async fn list_payments(
    _service: Authorized<ServiceOnly>,
    State(state): State<StandInState>,
    AppQuery(query): AppQuery<OrderQuery>,
) -> AppJson<Value> {
    state.shared.count("get", PAYMENTS);
    AppJson(json!({
        "items": state.shared.payments_of(query.order_id),
        "next_cursor": null,
    }))
}

async fn capture(
    _service: Authorized<ServiceOnly>,
    State(state): State<StandInState>,
    AppPath(id): AppPath<String>,
) -> Result<AppJson<Value>, ApiError> {
    state.shared.count("post", CAPTURE);
    state
        .shared
        .move_payment(&id, PaymentMove::Capture)
        .map(AppJson)
}

async fn void(
    _service: Authorized<ServiceOnly>,
    State(state): State<StandInState>,
    AppPath(id): AppPath<String>,
) -> Result<AppJson<Value>, ApiError> {
    state.shared.count("post", VOID);
    state
        .shared
        .move_payment(&id, PaymentMove::Void)
        .map(AppJson)
}

async fn refund(
    _caller: Authorized<SupportAdminOrService>,
    State(state): State<StandInState>,
    AppPath(id): AppPath<String>,
    AppJson(body): AppJson<Value>,
) -> Result<AppJson<Value>, ApiError> {
    state.shared.count("post", REFUND);
    let input: RefundInput = state.documented_body("post", REFUND, body)?;
    if input.reason.trim().is_empty() {
        return Err(ApiError::validation("reason", "must say why"));
    }
    state
        .shared
        .move_payment(&id, PaymentMove::Refund)
        .map(AppJson)
}

async fn receive_event(
    State(shared): State<Arc<Shared>>,
    AppJson(envelope): AppJson<Value>,
) -> StatusCode {
    shared.books().events.push(envelope);
    StatusCode::NO_CONTENT
}

/// The stand-ins for the catalog, inventory and payment services, and a subscriber recording
/// the events the order service delivers; one in-memory state behind them all.
pub(crate) struct Upstreams {
    shared: Arc<Shared>,
    product: TestServer,
    inventory: TestServer,
    payment: TestServer,
    subscriber: TestServer,
}

impl Upstreams {
    /// Serves every stand-in on a port of its own, with no products and no stock.
    pub(crate) async fn spawn() -> Self {
        let (slow_card, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            books: Mutex::default(),
            slow_card,
        });
        let subscriber = Router::new()
            .route("/events", post(receive_event))
            .with_state(Arc::clone(&shared));
        Self {
            product: TestServer::spawn("product stand-in", stand_in(StandIn::Product, &shared))
                .await,
            inventory: TestServer::spawn(
                "inventory stand-in",
                stand_in(StandIn::Inventory, &shared),
            )
            .await,
            payment: TestServer::spawn("payment stand-in", stand_in(StandIn::Payment, &shared))
                .await,
            subscriber: TestServer::spawn("event subscriber", subscriber).await,
            shared,
        }
    }

    /// The base URL of a stand-in.
    pub(crate) fn url(&self, stand_in: StandIn) -> &str {
        match stand_in {
            StandIn::Product => &self.product.url,
            StandIn::Inventory => &self.inventory.url,
            StandIn::Payment => &self.payment.url,
        }
    }

    fn subscriber_url(&self) -> String {
        format!("{}/events", self.subscriber.url)
    }

    /// Lists `sku` in the catalog at `price` USD cents, with `on_hand` units in stock.
    pub(crate) fn add_product(&self, sku: &str, price: i64, on_hand: i64) {
        let mut books = self.shared.books();
        books.products.insert(
            sku.to_owned(),
            Product {
                id: Uuid::new_v4(),
                name: format!("Kettle {sku}"),
                price,
                created_at: Utc::now(),
            },
        );
        books.stock.insert(
            sku.to_owned(),
            Stock {
                on_hand,
                reserved: 0,
            },
        );
    }

    /// (on hand, reserved) units of `sku`.
    pub(crate) fn stock(&self, sku: &str) -> (i64, i64) {
        let level = self
            .shared
            .books()
            .stock
            .get(sku)
            .copied()
            .unwrap_or_default();
        (level.on_hand, level.reserved)
    }

    /// Where the order's reservation stands, if it has one.
    pub(crate) fn reservation(&self, order_id: Uuid) -> Option<Hold> {
        self.shared
            .books()
            .reservations
            .get(&order_id)
            .map(|held| held.status)
    }

    /// The order's payments, as `GET /internal/payments?order_id=` answers them.
    pub(crate) fn payments(&self, order_id: Uuid) -> Vec<Value> {
        self.shared.payments_of(order_id)
    }

    /// How often `method path` (the documented path, e.g. `post`, [`CAPTURE`]) was called.
    pub(crate) fn calls(&self, method: &str, path: &str) -> usize {
        self.shared
            .books()
            .calls
            .get(&format!("{method} {path}"))
            .copied()
            .unwrap_or_default()
    }

    /// The order id of every authorization request received, in arrival order.
    pub(crate) fn authorization_requests(&self) -> Vec<Uuid> {
        self.shared.books().authorizations.clone()
    }

    /// Lets the slow card's authorizations, waiting or still to come, finish.
    pub(crate) fn release_slow_card(&self) {
        let _ = self.shared.slow_card.send_replace(true);
    }

    /// Whether an event of `topic` has been delivered.
    pub(crate) fn delivered(&self, topic: &str) -> bool {
        self.shared
            .books()
            .events
            .iter()
            .any(|envelope| envelope["topic"] == topic)
    }

    /// Fails unless every call the stand-ins received kept to the documented contracts.
    pub(crate) fn assert_contract_kept(&self) {
        let violations = self.shared.books().violations.clone();
        assert!(
            violations.is_empty(),
            "the order service departed from the other services' documents: {violations:#?}"
        );
    }
}
