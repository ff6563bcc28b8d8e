//! Forwarding one request: route, authenticate, authorise, rate-limit, check the breaker, then
//! stream the request to the upstream and the answer back, with hop-by-hop headers removed,
//! `X-Forwarded-*` and `traceparent` added, and security headers on the way out.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use axum::{
    body::Body,
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use http_body_util::BodyExt;
use shopctl_kit::{
    ApiError,
    auth::Principal,
    http::RouteLabel,
    retry,
    service::Tls,
    trace::{TRACEPARENT, TraceContext},
};

mod headers;

use headers::{
    RATELIMIT_LIMIT, RATELIMIT_REMAINING, RATELIMIT_RESET, X_CACHE, X_FORWARDED_FOR,
    X_FORWARDED_HOST, X_FORWARDED_PROTO, bearer, ip_text, secure, strip_hop_by_hop,
};

use super::{AppState, Upstream, breaker_gauge};
use crate::{
    domain::{
        BreakerState, ClientId, GATEWAY, MAX_BODY, Requirement, RouteClass, RouteLabels, cacheable,
        classify, etag_matches, requirement, upstream_for,
    },
    error,
    routes::pool::SendError,
};

/// Whether a failed call failed because the client's body passed the limit.
fn body_too_large(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(err);
    while let Some(current) = cause {
        if current
            .downcast_ref::<http_body_util::LengthLimitError>()
            .is_some()
        {
            return true;
        }
        cause = current.source();
    }
    false
}

/// Forwards one request: the gateway's catch-all handler.
pub async fn forward(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    let tls = req.extensions().get::<Tls>().is_some();
    let upstream = upstream_for(req.uri().path());
    let page = upstream == "frontend";
    // Counted under the public API's route template (a bounded set), not the catch-all's.
    let label = RouteLabel(RouteLabels::shared().label(req.uri().path()));
    let response = match handle(&state, peer, upstream, req).await {
        Ok(response) => response,
        Err(err) => err.into_response(),
    };
    let mut response = if page {
        error::for_browser(response)
    } else {
        response
    };
    response.extensions_mut().insert(label);
    secure(response, tls)
}

/// Checks the body size, the token (a bearer token must be valid whenever one is sent) and the
/// route policy; returns the caller.
async fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    needed: Requirement,
) -> Result<Option<Principal>, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > state.body_limit) {
        return Err(ApiError::PayloadTooLarge);
    }

    // Who is calling: a bearer token must be valid whenever one is sent.
    let principal: Option<Principal> = match bearer(headers) {
        Some(token) => Some(
            state
                .auth
                .authenticate(token)
                .await
                .ok_or(ApiError::Unauthorized)?,
        ),
        None => None,
    };
    if !needed.allows(principal.as_ref()) {
        return Err(if principal.is_none() {
            ApiError::Unauthorized
        } else {
            ApiError::Forbidden {
                detail: "your role does not allow this action".to_owned(),
            }
        });
    }
    debug_assert!(needed == Requirement::Public || principal.is_some());

    Ok(principal)
}

/// The `RateLimit-*` headers of a request within its client's rate, or the 429 for one beyond it.
/// The client is the signed-in subject, else the client address.
async fn limit(
    state: &AppState,
    principal: Option<&Principal>,
    peer: SocketAddr,
    class: RouteClass,
) -> Result<RateHeaders, Response> {
    let client = principal.map_or(ClientId::Address(peer.ip()), |p| {
        ClientId::Subject(&p.subject)
    });
    let decision = state.limiter.check(client, class).await;
    let rate_headers = [
        (RATELIMIT_LIMIT, number(decision.limit.into())),
        (RATELIMIT_REMAINING, number(decision.remaining.into())),
        (RATELIMIT_RESET, number(decision.reset_secs)),
    ];
    if decision.allowed {
        return Ok(rate_headers);
    }
    state
        .rate_limited
        .get_or_create(&vec![("class", class.as_str())])
        .inc();
    let mut response = with_headers(ApiError::TooManyRequests.into_response(), rate_headers);
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(decision.retry_after_secs),
    );
    Err(response)
}

/// `n` as a header value, in one allocation (`HeaderValue::from` an integer makes two: the
/// digits, then a shared buffer for them). Three go on every answer.
fn number(n: u64) -> HeaderValue {
    HeaderValue::from_str(itoa::Buffer::new().format(n))
        .unwrap_or_else(|_| HeaderValue::from_static("0"))
}

/// The three `RateLimit-*` headers.
type RateHeaders = [(HeaderName, HeaderValue); 3];

async fn handle(
    state: &AppState,
    peer: SocketAddr,
    upstream: &'static str,
    req: Request,
) -> Result<Response, ApiError> {
    let path = req.uri().path();
    let needed = requirement(req.method(), path);
    let class = classify(path);
    // Anonymous catalog reads may be answered from the cache.
    let cache_key =
        (state.cache.enabled() && cacheable(req.method(), path, req.headers())).then(|| {
            req.uri()
                .path_and_query()
                .map_or_else(|| path.to_owned(), ToString::to_string)
        });

    let principal = authorize(state, req.headers(), needed).await?;
    let rate_headers = match limit(state, principal.as_ref(), peer, class).await {
        Ok(headers) => headers,
        Err(refused) => return Ok(refused),
    };

    if upstream == GATEWAY {
        return Ok(with_headers(document(state, req.method()), rate_headers));
    }
    let if_none_match = req.headers().get(header::IF_NONE_MATCH).cloned();
    if let Some(key) = &cache_key
        && let Some(entry) = state.cache.get(key).await
    {
        state
            .cache_requests
            .get_or_create(&vec![("result", "hit")])
            .inc();
        return Ok(with_headers(
            cached(state, &entry, if_none_match.as_ref(), "HIT"),
            rate_headers,
        ));
    }

    // Where to: the owning service, if its breaker lets us.
    let service = state
        .upstreams
        .get(upstream)
        .ok_or_else(|| error::not_configured(upstream))?;
    // A request with no body to stream may be sent again when the upstream was not reached or
    // could not serve just now, as long as its breaker stays closed (kit's retry policy).
    let template = (state.settings.upstream_retries > 0 && replayable(&req)).then(|| copy_of(&req));
    let mut response = attempt(state, peer, service, upstream, req).await;
    if let Some(template) = template {
        for retry in 1..=state.settings.upstream_retries {
            if service.state() == BreakerState::Open || !worth_retrying(&response) {
                break;
            }
            state
                .upstream_retries
                .get_or_create(&vec![("upstream", upstream.to_owned())])
                .inc();
            tokio::time::sleep(retry::pause(retry)).await;
            response = attempt(state, peer, service, upstream, copy_of(&template)).await;
        }
    }
    let response = match (&cache_key, response) {
        (Some(key), Ok(answer)) if storable(&answer) => {
            state
                .cache_requests
                .get_or_create(&vec![("result", "miss")])
                .inc();
            store(state, key, answer, if_none_match.as_ref()).await
        }
        (_, other) => other,
    };
    response.map(|answer| with_headers(answer, rate_headers))
}

/// The public API document (GET and HEAD only).
fn document(state: &AppState, method: &http::Method) -> Response {
    if !matches!(*method, http::Method::GET | http::Method::HEAD) {
        return ApiError::MethodNotAllowed.into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        state.document.clone(),
    )
        .into_response()
}

/// Whether a failed attempt is worth another: the upstream was not reached, or answered that it
/// could not serve just now. The gateway's own timeout is not: the request has spent its time.
fn worth_retrying(response: &Result<Response, ApiError>) -> bool {
    match response {
        Ok(answer) => retry::worth_retrying(answer.status().as_u16()),
        Err(ApiError::Unavailable { .. }) => true,
        Err(_) => false,
    }
}

/// Whether `req` may be sent again: a safe method and no body (a body streams through once).
fn replayable(req: &Request) -> bool {
    let bodiless = !req.headers().contains_key(header::TRANSFER_ENCODING)
        && req
            .headers()
            .get(header::CONTENT_LENGTH)
            .is_none_or(|len| len.as_bytes() == b"0");
    bodiless && retry::repeatable(req.method(), false)
}

/// `req`'s method, URI, version, headers and the extensions the call reads, with an empty body.
fn copy_of(req: &Request) -> Request {
    let mut copy = Request::new(Body::empty());
    *copy.method_mut() = req.method().clone();
    *copy.uri_mut() = req.uri().clone();
    *copy.version_mut() = req.version();
    *copy.headers_mut() = req.headers().clone();
    if let Some(trace) = req.extensions().get::<TraceContext>() {
        copy.extensions_mut().insert(trace.clone());
    }
    if let Some(tls) = req.extensions().get::<Tls>() {
        copy.extensions_mut().insert(*tls);
    }
    copy
}

/// One call to `upstream`, through the breakers of its replicas ([`call`]), timed and counted.
async fn attempt(
    state: &AppState,
    peer: SocketAddr,
    service: &Upstream,
    upstream: &str,
    req: Request,
) -> Result<Response, ApiError> {
    let labels = || vec![("upstream", upstream.to_owned())];
    let before = service.state();
    let started = Instant::now();
    let response = call(state, peer, service, upstream, req)
        .await
        .inspect_err(|_| {
            state.upstream_errors.get_or_create(&labels()).inc();
        });
    service.latency.observe(started.elapsed().as_secs_f64());
    let after = service.state();
    // The gauge only moves when the breakers do (every upstream's starts at closed).
    if after != before {
        state
            .breaker_state
            .get_or_create(&labels())
            .set(breaker_gauge(after));
    }
    response
}

/// Keeps a fresh upstream answer in the cache and answers from the stored copy.
async fn store(
    state: &AppState,
    key: &str,
    answer: Response,
    if_none_match: Option<&HeaderValue>,
) -> Result<Response, ApiError> {
    let (parts, body) = answer.into_parts();
    let bytes = body
        .collect()
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("reading the upstream answer: {e}")))?
        .to_bytes();
    let content_type = parts.headers.get(header::CONTENT_TYPE).cloned();
    state
        .cache
        .put(key, content_type.clone(), bytes.clone())
        .await;
    let entry = crate::domain::CacheEntry::new(content_type, bytes);
    Ok(cached(state, &entry, if_none_match, "MISS"))
}

fn with_headers(mut response: Response, extra: RateHeaders) -> Response {
    for (name, value) in extra {
        response.headers_mut().insert(name, value);
    }
    response
}

/// A 200 answer the cache may keep: small, with a length, not marked private or no-store.
fn storable(response: &Response) -> bool {
    let headers = response.headers();
    let small = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|len| len <= MAX_BODY);
    let private = headers
        .get(header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("no-store") || v.contains("private"));
    response.status() == StatusCode::OK && small && !private
}

/// The answer for a cached entry: 304 when the client already has it, else the body.
fn cached(
    state: &AppState,
    entry: &crate::domain::CacheEntry,
    if_none_match: Option<&HeaderValue>,
    result: &'static str,
) -> Response {
    let mut response = if etag_matches(if_none_match, &entry.etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = Response::new(Body::from(entry.body.clone()));
        if let Some(content_type) = &entry.content_type {
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, content_type.clone());
        }
        response
    };
    let headers = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&entry.etag) {
        headers.insert(header::ETAG, etag);
    }
    if let Ok(cache_control) =
        HeaderValue::from_str(&format!("public, max-age={}", state.cache.max_age()))
    {
        headers.insert(header::CACHE_CONTROL, cache_control);
    }
    headers.insert(X_CACHE, HeaderValue::from_static(result));
    response
}

/// Sends `req` to the first replica of `service` in turn whose breaker lets it, and streams the
/// answer back. A replica that refuses the connection never saw the request, so the next one
/// gets it, whatever its method; every outcome is counted by the replica's breaker. Refused at
/// once when every breaker is open.
async fn call(
    state: &AppState,
    peer: SocketAddr,
    service: &Upstream,
    upstream: &str,
    req: Request,
) -> Result<Response, ApiError> {
    let (mut parts, body) = req.into_parts();
    let original = std::mem::take(&mut parts.uri);
    let traceparent = TraceContext::outgoing(parts.extensions.get::<TraceContext>());
    let proto = if parts.extensions.get::<Tls>().is_some() {
        "https"
    } else {
        "http"
    };
    strip_hop_by_hop(&mut parts.headers);
    // The client's `Host` goes on as `X-Forwarded-Host`; the pool sets the upstream's.
    let host = parts.headers.remove(header::HOST);
    let mut forwarded_for = String::with_capacity(48);
    if let Some(previous) = parts
        .headers
        .get(&X_FORWARDED_FOR)
        .and_then(|v| v.to_str().ok())
    {
        forwarded_for.push_str(previous);
        forwarded_for.push_str(", ");
    }
    ip_text(peer.ip(), &mut forwarded_for);
    if let Ok(value) = HeaderValue::from_maybe_shared(axum::body::Bytes::from(forwarded_for)) {
        parts.headers.insert(X_FORWARDED_FOR, value);
    }
    parts
        .headers
        .insert(X_FORWARDED_PROTO, HeaderValue::from_static(proto));
    if let Some(host) = host {
        parts.headers.insert(X_FORWARDED_HOST, host);
    }
    parts.headers.insert(TRACEPARENT, traceparent);
    // Chunked bodies are cut off at the limit too.
    let body = http_body_util::Limited::new(body, state.body_limit);
    let mut unsent = Some(http::Request::from_parts(
        parts,
        body.map_err(axum::Error::new).boxed_unsync(),
    ));
    let deadline =
        tokio::time::Instant::now() + Duration::from_millis(state.settings.upstream_timeout_ms);
    let mut tried = false;
    for replica in service.turn.order(&service.replicas) {
        if !replica.breaker.allow(Instant::now()) {
            continue;
        }
        tried = true;
        let Some(mut upstream_req) = unsent.take() else {
            break;
        };
        *upstream_req.uri_mut() = replica
            .target
            .uri(&original)
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no upstream URI for {original}")))?;
        let outcome = tokio::time::timeout_at(deadline, replica.pool.send(upstream_req)).await;
        let answer = match outcome {
            Ok(Ok(response)) => response,
            Ok(Err(SendError::Connect {
                addr,
                source,
                request,
            })) => {
                tracing::warn!(upstream, replica = %addr, error = %source, "upstream replica refused the connection");
                replica.breaker.record(false, Instant::now());
                replica.listening(false);
                unsent = Some(request.into_inner());
                continue;
            }
            Ok(Err(SendError::Http(err))) if body_too_large(&err) => {
                // A client's oversized body says nothing about the upstream's health.
                replica.breaker.record(true, Instant::now());
                return Err(ApiError::PayloadTooLarge);
            }
            Ok(Err(err)) => {
                tracing::warn!(upstream, error = %err, "upstream call failed");
                replica.breaker.record(false, Instant::now());
                return Err(error::unreachable());
            }
            Err(_) => {
                replica.breaker.record(false, Instant::now());
                return Err(ApiError::Timeout);
            }
        };
        replica
            .breaker
            .record(!answer.status().is_server_error(), Instant::now());
        replica.listening(true);
        let (mut parts, body) = answer.into_parts();
        strip_hop_by_hop(&mut parts.headers);
        if parts.status == StatusCode::SWITCHING_PROTOCOLS {
            return Err(error::no_upgrades());
        }
        return Ok(Response::from_parts(parts, Body::new(body)));
    }
    // Every replica refused the connection, or every breaker refused the call.
    Err(if tried {
        error::unreachable()
    } else {
        error::failing(upstream)
    })
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;

    #[test]
    fn addresses_are_written_as_display_writes_them() {
        for ip in [
            "0.0.0.0",
            "127.0.0.1",
            "10.20.30.40",
            "192.168.100.9",
            "255.255.255.255",
            "::1",
            "2001:db8::8a2e:370:7334",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            let mut text = String::new();
            ip_text(ip, &mut text);
            assert_eq!(text, ip.to_string());
        }
    }

    #[test]
    fn numbers_are_written_as_display_writes_them() {
        for n in [0, 7, 10, 999, 60_000, u64::from(u32::MAX), u64::MAX] {
            assert_eq!(number(n), HeaderValue::from(n));
        }
    }

    #[test]
    fn a_bearer_token_is_read_in_either_case_and_trimmed() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer(&headers), None);
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc.def "),
        );
        assert_eq!(bearer(&headers), Some("abc.def"));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer abc"),
        );
        assert_eq!(bearer(&headers), Some("abc"));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic YWxhZGRpbg=="),
        );
        assert_eq!(bearer(&headers), None);
    }
}
