//! Where the storefront's data lives: the platform's services. The storefront owns no database;
//! it reads and writes through the services' public APIs, as the shopper (their own token, so
//! every role and ownership check applies exactly as for a direct call) or, for the admin
//! pages' dead-letter view, as a service. Wire types are the services' documented shapes
//! (DESIGN.md §11); fields the pages do not use are ignored.

mod wire;

use std::{collections::BTreeMap, time::Duration};

use reqwest::Method;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::Value;
use shopctl_kit::{
    client::{Answer, CallError, Caller, ServiceClient},
    jwt::ServiceTokens,
    trace::TraceContext,
};

pub use shopctl_kit::vocabulary::{CartLine, Money, ShippingAddress};
pub use wire::{
    Cart, Category, DeadLetter, FacetValue, Facets, Order, OrderLine, OrderPage, Product,
    ProductPage, Stock, TokenPair, User,
};

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
