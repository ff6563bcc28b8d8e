//! Where the storefront's data lives: the platform's services. The storefront owns no database;
//! it reads and writes through the services' public APIs, as the shopper (their own token, so
//! every role and ownership check applies exactly as for a direct call) or, for the admin
//! pages' dead-letter view, as a service. Wire types are the services' documented shapes
//! (DESIGN.md §11); fields the pages do not use are ignored.

use std::{collections::BTreeMap, time::Duration};

use reqwest::Method;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::Value;
use shopctl_kit::{
    client::{Answer, CallError, Caller, ServiceClient},
    jwt::ServiceTokens,
    trace::TraceContext,
};

pub use shopctl_kit::vocabulary::Money;

/// A catalog product.
#[derive(Debug, Clone, Deserialize)]
pub struct Product {
    /// Id.
    pub id: String,
    /// SKU.
    pub sku: String,
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Price.
    pub price: Money,
    /// Category slug.
    pub category: String,
    /// Brand.
    pub brand: String,
    /// Free-form attributes (`color`, `material`).
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// On sale.
    pub active: bool,
}

/// One facet value and its count.
#[derive(Debug, Clone, Deserialize)]
pub struct FacetValue {
    /// Value.
    pub value: String,
    /// Matching products.
    pub count: i64,
}

/// Facets of a listing.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Facets {
    /// By category slug.
    #[serde(default)]
    pub category: Vec<FacetValue>,
    /// By brand.
    #[serde(default)]
    pub brand: Vec<FacetValue>,
}

/// A page of products.
#[derive(Debug, Clone, Deserialize)]
pub struct ProductPage {
    /// Products.
    pub items: Vec<Product>,
    /// Cursor of the next page.
    pub next_cursor: Option<String>,
    /// Matches in all.
    #[serde(default)]
    pub total: i64,
    /// Facets over the whole match.
    #[serde(default)]
    pub facets: Facets,
}

/// A category.
#[derive(Debug, Clone, Deserialize)]
pub struct Category {
    /// Slug.
    pub slug: String,
    /// Name.
    pub name: String,
    /// Active products.
    #[serde(default)]
    pub product_count: i64,
}

/// Stock of a SKU.
#[derive(Debug, Clone, Deserialize)]
pub struct Stock {
    /// On hand.
    pub on_hand: i64,
    /// Reserved by checkouts in flight.
    pub reserved: i64,
    /// Sellable now.
    pub available: i64,
}

/// A cart line, priced by the order service.
#[derive(Debug, Clone, Deserialize)]
pub struct CartLine {
    /// SKU.
    pub sku: String,
    /// Name.
    pub name: String,
    /// Units.
    pub quantity: i64,
    /// Unit price.
    pub unit_price: Money,
    /// Line total.
    pub line_total: Money,
    /// Still for sale.
    pub available: bool,
}

/// A priced cart.
#[derive(Debug, Clone, Deserialize)]
pub struct Cart {
    /// Lines.
    pub items: Vec<CartLine>,
    /// Subtotal of the available lines.
    pub subtotal: Money,
    /// Units.
    pub item_count: i64,
}

/// An order line.
#[derive(Debug, Clone, Deserialize)]
pub struct OrderLine {
    /// SKU.
    pub sku: String,
    /// Name.
    pub name: String,
    /// Units.
    pub quantity: i64,
    /// Unit price.
    pub unit_price: Money,
}

/// A shipping address.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Address {
    /// Recipient.
    pub name: String,
    /// Street.
    pub line1: String,
    /// More street.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    /// City.
    pub city: String,
    /// Postal code.
    pub postal_code: String,
    /// Two-letter country code.
    pub country: String,
}

/// An order.
#[derive(Debug, Clone, Deserialize)]
pub struct Order {
    /// Id.
    pub id: String,
    /// Buyer.
    pub user_id: String,
    /// `pending`, `confirmed`, `cancelled`, `shipped`, `delivered`.
    pub status: String,
    /// Why it was cancelled.
    #[serde(default)]
    pub reason: Option<String>,
    /// Lines.
    pub lines: Vec<OrderLine>,
    /// Subtotal.
    pub subtotal: Money,
    /// Tax.
    pub tax: Money,
    /// Shipping.
    pub shipping: Money,
    /// Total.
    pub total: Money,
    /// Where it goes.
    pub shipping_address: Address,
    /// `visa •••• 4242`.
    #[serde(default)]
    pub card: String,
    /// When it was placed.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// A page of orders.
#[derive(Debug, Clone, Deserialize)]
pub struct OrderPage {
    /// Orders, newest first.
    pub items: Vec<Order>,
    /// Cursor of the next page.
    pub next_cursor: Option<String>,
}

/// An account.
#[derive(Debug, Clone, Deserialize)]
pub struct User {
    /// Id.
    pub id: String,
    /// E-mail address.
    pub email: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Roles.
    #[serde(default)]
    pub roles: Vec<String>,
}

/// Tokens from sign-in or refresh.
#[derive(Debug, Clone, Deserialize)]
pub struct TokenPair {
    /// Access token (JWT).
    pub access_token: String,
    /// Rotating refresh token.
    pub refresh_token: String,
    /// Access token lifetime in seconds.
    pub expires_in: i64,
}

/// A dead-lettered event delivery.
#[derive(Debug, Clone, Deserialize)]
pub struct DeadLetter {
    /// Row id.
    pub id: String,
    /// Topic.
    pub topic: String,
    /// Where it was going.
    pub destination: String,
    /// Attempts made.
    pub attempts: i64,
    /// The last error.
    #[serde(default)]
    pub last_error: Option<String>,
    /// When it was given up on.
    pub failed_at: chrono::DateTime<chrono::Utc>,
}

/// A service's refusal or absence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Upstream {
    /// The service answered with a problem.
    #[error("{service} answered {status}: {detail}")]
    Problem {
        /// Which service.
        service: String,
        /// HTTP status.
        status: u16,
        /// The problem's `detail` (written for end users).
        detail: String,
        /// The field at fault, for validation problems.
        field: Option<String>,
    },
    /// No answer, or one that could not be read.
    #[error("{0}")]
    Unreachable(String),
}

impl Upstream {
    /// The HTTP status, when the service answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Problem { status, .. } => Some(*status),
            Self::Unreachable(_) => None,
        }
    }
}

/// Result of a call to a service.
pub type Result<T, E = Upstream> = std::result::Result<T, E>;

/// Clients for the services the storefront calls.
#[derive(Debug, Clone)]
pub struct Services {
    clients: BTreeMap<&'static str, ServiceClient>,
}

fn read<T: DeserializeOwned>(service: &str, answer: &Answer) -> Result<T> {
    if answer.ok() {
        return answer
            .json()
            .map_err(|e| Upstream::Unreachable(format!("{service}: {e}")));
    }
    Err(Upstream::Problem {
        service: service.to_owned(),
        status: answer.status,
        detail: answer.detail(),
        field: answer.body["field"].as_str().map(str::to_owned),
    })
}

/// Percent-encodes a path segment or query value.
pub fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

impl Services {
    /// Clients for `upstreams` (name → base URL), each call bounded by `timeout`, service calls
    /// signed with `tokens`.
    pub fn new(
        upstreams: &BTreeMap<String, String>,
        tokens: Option<&ServiceTokens>,
        timeout: Duration,
    ) -> Self {
        let clients = crate::settings::UPSTREAMS
            .iter()
            .filter_map(|name| {
                let base = upstreams.get(*name)?;
                Some((
                    *name,
                    ServiceClient::new(base, name, tokens.cloned(), timeout),
                ))
            })
            .collect();
        Self { clients }
    }

    /// One call: `method path` on `service` as `caller`, the answer read as `T`.
    // The kit client's arguments plus the callee's name: a struct would only rename them.
    #[allow(clippy::too_many_arguments)]
    pub async fn call<T: DeserializeOwned, B: Serialize + Sync>(
        &self,
        service: &'static str,
        method: Method,
        path: &str,
        body: Option<&B>,
        caller: Caller<'_>,
        idempotency_key: Option<&str>,
        trace: Option<&TraceContext>,
    ) -> Result<T> {
        let client = self
            .clients
            .get(service)
            .ok_or_else(|| Upstream::Unreachable(format!("no URL for the {service} service")))?;
        let answer = client
            .request(method, path, body, caller, idempotency_key, trace)
            .await
            .map_err(|e: CallError| Upstream::Unreachable(e.to_string()))?;
        read(service, &answer)
    }

    /// `GET path` on `service` as `caller`.
    pub async fn get<T: DeserializeOwned>(
        &self,
        service: &'static str,
        path: &str,
        caller: Caller<'_>,
        trace: Option<&TraceContext>,
    ) -> Result<T> {
        self.call(service, Method::GET, path, None::<&()>, caller, None, trace)
            .await
    }

    /// A JSON write on `service` as `caller`.
    pub async fn send<T: DeserializeOwned>(
        &self,
        service: &'static str,
        method: Method,
        path: &str,
        body: &Value,
        caller: Caller<'_>,
        trace: Option<&TraceContext>,
    ) -> Result<T> {
        self.call(service, method, path, Some(body), caller, None, trace)
            .await
    }
}

/// What a write that answers `204 No Content` (or a body the page ignores) returns.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ignored;

impl<'de> Deserialize<'de> for Ignored {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(deserializer).map(|_| Self)
    }
}
