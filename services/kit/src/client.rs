//! Calls from one service to another: JSON over HTTP with a per-call deadline, a service token
//! for the callee (`aud` = its name) or the end user's own token (the storefront calls on its
//! shoppers' behalf), the caller's trace continued, and retries only where a repeat cannot do
//! harm (GETs, and writes that carry an idempotency key). A callee may run as several replicas
//! (a base URL listing them, see [`crate::settings::replicas`]): calls take them in turn, and a
//! replica that refuses the connection is passed over for the next at once, whatever the method,
//! since nothing reached it.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

/// Takes a callee's replicas in turn (round robin), shared by every caller holding it.
#[derive(Debug, Default)]
pub struct Rotation(AtomicUsize);

impl Rotation {
    /// Each of `replicas` once, starting with the one whose turn it is.
    pub fn order<'a, T>(&self, replicas: &'a [T]) -> impl Iterator<Item = &'a T> + use<'a, T> {
        let first = self.0.fetch_add(1, Ordering::Relaxed);
        (0..replicas.len()).map(move |i| &replicas[(first + i) % replicas.len()])
    }
}

use serde::{Serialize, de::DeserializeOwned};

use crate::{
    jwt::ServiceTokens,
    trace::{TRACEPARENT, TraceContext},
};

/// A client for one callee.
#[derive(Debug, Clone)]
pub struct ServiceClient {
    /// The callee's replicas' base URLs (at least one).
    bases: Arc<[String]>,
    /// Whose turn it is, shared by the client's clones.
    turn: Arc<Rotation>,
    audience: String,
    tokens: Option<ServiceTokens>,
    http: reqwest::Client,
    retries: u32,
}

/// An answer: the status and the body as JSON (`Null` when empty or not JSON).
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Body.
    pub body: serde_json::Value,
}

impl Answer {
    /// Whether the status is 2xx.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, CallError> {
        serde_json::from_value(self.body.clone()).map_err(|e| CallError::Body(e.to_string()))
    }

    /// The `detail` of a problem+json answer, or the status.
    pub fn detail(&self) -> String {
        self.body["detail"]
            .as_str()
            .map_or_else(|| format!("answered {}", self.status), str::to_owned)
    }
}

/// Whose authority a call carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller<'a> {
    /// The calling service itself: a service token minted for the callee (none when the
    /// platform has no service key).
    Service,
    /// An end user: their bearer token is passed on, so the callee applies the user's roles and
    /// ownership exactly as for a direct call.
    User(&'a str),
    /// Nobody: no `Authorization` header.
    Anonymous,
}

/// Why a call got no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// No answer: refused, reset or past the deadline. The callee may or may not have acted.
    #[error("{callee} did not answer: {reason}")]
    Unreachable {
        /// Callee name.
        callee: String,
        /// Why.
        reason: String,
    },
    /// The answer's body was not what was expected.
    #[error("unexpected answer body: {0}")]
    Body(String),
}

impl ServiceClient {
    /// A client for the service `audience` at `base` (`http://127.0.0.1:8085`, or its replicas'
    /// URLs separated by commas), signing with `tokens` when the platform service key is
    /// configured; each attempt has `timeout`.
    pub fn new(
        base: &str,
        audience: &str,
        tokens: Option<ServiceTokens>,
        timeout: Duration,
    ) -> Self {
        let mut bases: Vec<String> = crate::settings::replicas(base)
            .map(|url| url.trim_end_matches('/').to_owned())
            .collect();
        if bases.is_empty() {
            // Calls fail with the URL in their error, as they would for any other bad address.
            bases.push(base.to_owned());
        }
        Self {
            bases: bases.into(),
            turn: Arc::new(Rotation::default()),
            audience: audience.to_owned(),
            tokens,
            http: reqwest::Client::builder()
                .timeout(timeout)
                .pool_idle_timeout(Duration::from_secs(30))
                .build()
                .unwrap_or_default(),
            retries: 2,
        }
    }

    /// The callee's name.
    pub fn callee(&self) -> &str {
        &self.audience
    }

    /// `GET path`; retried on no answer and on 502/503/504.
    pub async fn get(&self, path: &str, trace: Option<&TraceContext>) -> Result<Answer, CallError> {
        self.request(
            reqwest::Method::GET,
            path,
            None::<&()>,
            Caller::Service,
            None,
            trace,
        )
        .await
    }

    /// `POST path` with a JSON body. Retried only when `idempotency_key` is given (it is sent as
    /// `Idempotency-Key`, so the callee recognises the repeat).
    pub async fn post<B: Serialize + Sync>(
        &self,
        path: &str,
        body: Option<&B>,
        idempotency_key: Option<&str>,
        trace: Option<&TraceContext>,
    ) -> Result<Answer, CallError> {
        self.request(
            reqwest::Method::POST,
            path,
            body,
            Caller::Service,
            idempotency_key,
            trace,
        )
        .await
    }

    /// `method path` with an optional JSON body, made as `caller`. Safe methods and calls that
    /// carry an `idempotency_key` are retried on no answer and on 502/503/504 ([`crate::retry`]);
    /// other calls are sent once.
    pub async fn request<B: Serialize + Sync>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&B>,
        caller: Caller<'_>,
        idempotency_key: Option<&str>,
        trace: Option<&TraceContext>,
    ) -> Result<Answer, CallError> {
        let retry = crate::retry::repeatable(&method, idempotency_key.is_some());
        let attempts = if retry { self.retries + 1 } else { 1 };
        let mut last = String::new();
        for attempt in 0..attempts {
            if attempt > 0 {
                tokio::time::sleep(crate::retry::pause(attempt)).await;
            }
            let authorization =
                match caller {
                    Caller::User(bearer) => Some(bearer.to_owned()),
                    Caller::Service => match &self.tokens {
                        Some(tokens) => Some(tokens.mint(&self.audience).map_err(|err| {
                            CallError::Unreachable {
                                callee: self.audience.clone(),
                                reason: err.to_string(),
                            }
                        })?),
                        None => None,
                    },
                    Caller::Anonymous => None,
                };
            let traceparent = TraceContext::outgoing(trace);
            // Each replica at most once per attempt, starting with the next in turn; one that
            // refused the connection never saw the request, so the next may have it.
            let mut sent = None;
            for base in self.turn.order(&self.bases) {
                let mut request = self.http.request(method.clone(), format!("{base}{path}"));
                if let Some(token) = &authorization {
                    request = request.bearer_auth(token);
                }
                request = request.header(TRACEPARENT, traceparent.clone());
                if let Some(key) = idempotency_key {
                    request = request.header("idempotency-key", key);
                }
                if let Some(body) = body {
                    request = request.json(body);
                }
                match request.send().await {
                    Err(err) if err.is_connect() => last = err.to_string(),
                    other => {
                        sent = Some(other);
                        break;
                    }
                }
            }
            match sent {
                Some(Ok(response)) => {
                    let status = response.status().as_u16();
                    let bytes = response.bytes().await.unwrap_or_default();
                    let body = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
                    if retry && crate::retry::worth_retrying(status) && attempt + 1 < attempts {
                        last = format!("answered {status}");
                        continue;
                    }
                    return Ok(Answer { status, body });
                }
                Some(Err(err)) => last = err.to_string(),
                None => {}
            }
        }
        Err(CallError::Unreachable {
            callee: self.audience.clone(),
            reason: last,
        })
    }
}
