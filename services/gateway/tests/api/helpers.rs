//! What the gateway's tests share: an echo upstream that reports what it received, and gateways
//! built from settings in front of it (plain, or sharing limits and cache through the real Redis
//! at 127.0.0.1:6379).

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use axum::{Json, Router, extract::Request, routing::any};
use serde_json::{Value, json};
use shopctl_kit::{settings::ConfigSource, testing::TestServer};

/// An upstream that answers with what it received, counting calls.
pub(crate) async fn echo(calls: Arc<AtomicUsize>) -> TestServer {
    let router = Router::new().fallback(any(move |req: Request| {
        let calls = calls.clone();
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            let headers: serde_json::Map<String, Value> = req
                .headers()
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), json!(v.to_str().unwrap_or(""))))
                .collect();
            let uri = req.uri().to_string();
            let version = format!("{:?}", req.version());
            let body = axum::body::to_bytes(req.into_body(), usize::MAX)
                .await
                .unwrap();
            (
                [("connection", "x-secret-hop"), ("x-secret-hop", "leak")],
                Json(json!({"uri": uri, "version": version, "headers": headers, "body_len": body.len()})),
            )
        }
    }));
    TestServer::spawn("echo", router).await
}

pub(crate) async fn gateway_with(upstream: &str, extra: &[(&str, &str)]) -> Router {
    gateway_app(upstream, extra).await.router
}

/// The whole gateway, loops included, for `TestServer::spawn_app`.
pub(crate) async fn gateway_app(
    upstream: &str,
    extra: &[(&str, &str)],
) -> shopctl_kit::service::App {
    let mut source = ConfigSource::default()
        .with("port", 0)
        .with("log", "warn")
        .with("body_limit_bytes", 4096)
        .with("breaker_failures", 3)
        .with("breaker_open_secs", 1)
        .with("upstreams.product", upstream.to_owned())
        .with("upstreams.user", upstream.to_owned());
    for (key, value) in extra {
        source = match value.parse::<u64>() {
            Ok(number) => source.with(key, number),
            Err(_) => source.with(key, *value),
        };
    }
    shopctl_gateway::app(&shopctl_gateway::load_settings(&source).unwrap())
        .await
        .unwrap()
}

pub(crate) async fn gateway_with_redis(upstream: &str, redis_url: &str, prefix: &str) -> Router {
    gateway_with_redis_cache(upstream, redis_url, prefix, 0).await
}

pub(crate) async fn gateway_with_redis_cache(
    upstream: &str,
    redis_url: &str,
    prefix: &str,
    cache_ttl_ms: u64,
) -> Router {
    let source = ConfigSource::default()
        .with("port", 0)
        .with("log", "warn")
        .with("rate_limit_burst", 4)
        .with("rate_limit_per_minute", 1)
        .with("cache_ttl_ms", cache_ttl_ms)
        .with("redis_url", redis_url.to_owned())
        .with("redis_prefix", prefix.to_owned())
        .with("upstreams.product", upstream.to_owned());
    shopctl_gateway::app(&shopctl_gateway::load_settings(&source).unwrap())
        .await
        .unwrap()
        .router
}
