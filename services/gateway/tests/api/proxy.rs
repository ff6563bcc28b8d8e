//! Forwarding, header hygiene, body limits, edge refusals and the circuit breaker.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{Router, routing::any};
use serde_json::{Value, json};
use shopctl_kit::{settings::ConfigSource, testing::TestServer};

use crate::helpers::{echo, gateway_with, gateway_with_redis, gateway_with_redis_cache};

#[tokio::test]
async fn requests_are_forwarded_with_clean_headers() {
    let calls = Arc::new(AtomicUsize::new(0));
    let upstream = echo(calls.clone()).await;
    let gateway = TestServer::spawn("gateway", gateway_with(&upstream.url, &[]).await).await;
    let response = reqwest::Client::new()
        .get(format!("{}/api/products?q=kettle&limit=2", gateway.url))
        .header("connection", "keep-alive, x-private")
        .header("x-private", "do-not-forward")
        .header("x-forwarded-for", "203.0.113.9")
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .header("x-request-id", "not a sane id")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_ne!(request_id, "not a sane id");
    assert!(
        response.headers().get("x-secret-hop").is_none(),
        "hop-by-hop response header stripped"
    );
    assert_eq!(response.headers()["x-frame-options"], "DENY");
    assert!(response.headers().contains_key("ratelimit-remaining"));
    let seen: Value = response.json().await.unwrap();
    assert_eq!(
        seen["uri"], "/api/products?q=kettle&limit=2",
        "path and query unchanged"
    );
    let headers = &seen["headers"];
    assert!(
        headers.get("x-private").is_none(),
        "headers named in Connection are not forwarded"
    );
    assert_eq!(headers["x-forwarded-for"], "203.0.113.9, 127.0.0.1");
    assert!(
        headers["x-forwarded-host"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );
    assert_eq!(
        headers["x-request-id"], request_id,
        "the upstream logs the id the client was given"
    );
    let traceparent = headers["traceparent"].as_str().unwrap();
    assert!(
        traceparent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
        "{traceparent}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

/// HTTP/2 from a client (cleartext with prior knowledge here; over TLS, browsers choose it by
/// ALPN) goes to the upstream as HTTP/1.1, the only version upstreams are spoken to in.
#[tokio::test]
async fn an_http2_request_is_forwarded_as_http_1_1() {
    use http_body_util::BodyExt;
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let upstream = echo(Arc::new(AtomicUsize::new(0))).await;
    let gateway = TestServer::spawn("gateway", gateway_with(&upstream.url, &[]).await).await;
    let stream = tokio::net::TcpStream::connect(gateway.addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    let request = http::Request::get(format!("http://{}/api/products?q=lamp", gateway.addr))
        .body(http_body_util::Empty::<axum::body::Bytes>::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), http::Version::HTTP_2);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let seen: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(seen["uri"], "/api/products?q=lamp");
    assert_eq!(seen["version"], "HTTP/1.1");
}

#[tokio::test]
async fn the_edge_refuses_before_the_upstream_is_called() {
    let calls = Arc::new(AtomicUsize::new(0));
    let upstream = echo(calls.clone()).await;
    let gateway = TestServer::spawn("gateway", gateway_with(&upstream.url, &[]).await).await;
    let client = reqwest::Client::new();
    let anonymous = client
        .post(format!("{}/api/products", gateway.url))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let forged = client
        .get(format!("{}/api/users/me", gateway.url))
        .bearer_auth("not.a.jwt")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    assert_eq!(forged.headers()["content-type"], "application/problem+json");
    let huge = client
        .post(format!("{}/api/users/register", gateway.url))
        .header("content-type", "application/json")
        .body(vec![b' '; 10_000])
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), 413);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "nothing reached the upstream"
    );
}

#[tokio::test]
async fn a_dead_upstream_opens_the_breaker_and_a_recovered_one_closes_it() {
    // Reserve a port, then free it: the upstream is down.
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr: SocketAddr = probe.local_addr().unwrap();
    drop(probe);
    // The cache would answer the second read after recovery; this test is about the breaker.
    let gateway = TestServer::spawn(
        "gateway",
        gateway_with(
            &format!("http://{addr}"),
            &[("cache_ttl_ms", "0"), ("upstream_retries", "0")],
        )
        .await,
    )
    .await;
    let client = reqwest::Client::new();
    let get = || client.get(format!("{}/api/products", gateway.url)).send();
    for _ in 0..3 {
        let response = get().await.unwrap();
        assert_eq!(response.status(), 503);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
    }
    let open: Value = get().await.unwrap().json().await.unwrap();
    assert!(
        open["detail"].as_str().unwrap().contains("failing"),
        "breaker open: {open}"
    );
    let metrics = gateway.metrics().await;
    assert!(
        metrics.contains(r#"gateway_breaker_state{upstream="product"} 1"#),
        "{metrics}"
    );

    // The upstream comes back on the same port; after the open period one probe closes it.
    let calls = Arc::new(AtomicUsize::new(0));
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let counter = calls.clone();
    tokio::spawn(async move {
        let router = Router::new().fallback(any(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                "back"
            }
        }));
        axum::serve(listener, router).await.unwrap();
    });
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(get().await.unwrap().status(), 200, "the probe passes");
    assert_eq!(get().await.unwrap().status(), 200, "closed again");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn an_oversized_chunked_body_is_413_and_does_not_trip_the_breaker() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let calls = Arc::new(AtomicUsize::new(0));
    let upstream = echo(calls.clone()).await;
    let gateway = TestServer::spawn("gateway", gateway_with(&upstream.url, &[]).await).await;
    for _ in 0..4 {
        // No Content-Length: the limit can only act while the body streams through.
        let mut stream = tokio::net::TcpStream::connect(gateway.addr).await.unwrap();
        let chunk = "x".repeat(2_000);
        let chunks = format!("{:x}\r\n{chunk}\r\n", chunk.len()).repeat(4);
        let request = format!(
            "POST /api/users/register HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{chunks}0\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 413"),
            "{}",
            answer.lines().next().unwrap_or("")
        );
    }
    let metrics = gateway.metrics().await;
    assert!(
        !metrics.contains(r#"gateway_breaker_state{upstream="user"} 1"#),
        "breaker stayed closed: {metrics}"
    );
    assert_eq!(
        reqwest::get(format!("{}/api/users/login", gateway.url))
            .await
            .unwrap()
            .status(),
        200,
        "the upstream is still reachable"
    );
}

#[tokio::test]
async fn anonymous_catalog_reads_are_cached_with_etags_and_revalidated() {
    let calls = Arc::new(AtomicUsize::new(0));
    let upstream = echo(calls.clone()).await;
    let gateway = TestServer::spawn(
        "gateway",
        gateway_with(
            &upstream.url,
            &[
                ("cache_ttl_ms", "400"),
                ("admin_token", "cache-admin-token-0123"),
            ],
        )
        .await,
    )
    .await;
    let client = reqwest::Client::new();
    let url = format!("{}/api/products?category=kitchen", gateway.url);

    let first = client.get(&url).send().await.unwrap();
    assert_eq!(first.headers()["x-cache"], "MISS");
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let body = first.text().await.unwrap();
    let second = client.get(&url).send().await.unwrap();
    assert_eq!(second.headers()["x-cache"], "HIT");
    assert_eq!(second.headers()["etag"], etag.as_str());
    assert_eq!(second.text().await.unwrap(), body, "the same answer");
    assert_eq!(calls.load(Ordering::SeqCst), 1, "served from the cache");

    let revalidated = client
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), 304);
    assert!(revalidated.bytes().await.unwrap().is_empty());

    for _ in 0..2 {
        let authed = client
            .get(&url)
            .bearer_auth("cache-admin-token-0123")
            .send()
            .await
            .unwrap();
        assert_eq!(authed.status(), 200);
        assert!(
            authed.headers().get("x-cache").is_none(),
            "credentials bypass the cache"
        );
    }
    assert_eq!(calls.load(Ordering::SeqCst), 3);

    tokio::time::sleep(Duration::from_millis(450)).await;
    let expired = client.get(&url).send().await.unwrap();
    assert_eq!(expired.headers()["x-cache"], "MISS", "entries expire");
    let metrics = gateway.metrics().await;
    assert!(
        metrics.contains(r#"gateway_cache_requests_total{result="hit"} 2"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"gateway_cache_requests_total{result="miss"} 2"#),
        "{metrics}"
    );
}

async fn gateway_with_cors(upstream: &str, origins: &[&str]) -> Router {
    let source = ConfigSource::default()
        .with("port", 0)
        .with("log", "warn")
        .with("upstreams.product", upstream.to_owned());
    let mut settings = shopctl_gateway::load_settings(&source).unwrap();
    settings.service.cors_allowed_origins = origins.iter().map(|o| (*o).to_owned()).collect();
    shopctl_gateway::app(&settings).await.unwrap().router
}

#[tokio::test]
async fn cors_follows_the_configured_origins() {
    let calls = Arc::new(AtomicUsize::new(0));
    let upstream = echo(calls.clone()).await;
    let gateway = TestServer::spawn(
        "gateway",
        gateway_with_cors(&upstream.url, &["https://shop.example.com"]).await,
    )
    .await;
    let client = reqwest::Client::new();
    let preflight = |origin: &'static str| {
        client
            .request(
                reqwest::Method::OPTIONS,
                format!("{}/api/products", gateway.url),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
    };
    let allowed = preflight("https://shop.example.com").await.unwrap();
    assert!(allowed.status().is_success());
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://shop.example.com"
    );
    assert!(
        allowed.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("authorization")
    );
    let refused = preflight("https://evil.example").await.unwrap();
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "preflights never reach the upstream"
    );

    // Even a refusal carries the header, so the browser can show the problem.
    let denied = client
        .post(format!("{}/api/products", gateway.url))
        .header("origin", "https://shop.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 401);
    assert_eq!(
        denied.headers()["access-control-allow-origin"],
        "https://shop.example.com"
    );

    // Without configured origins no CORS header is sent.
    let plain = TestServer::spawn("gateway", gateway_with_cors(&upstream.url, &[]).await).await;
    let response = client
        .get(format!("{}/api/products", plain.url))
        .header("origin", "https://shop.example.com")
        .send()
        .await
        .unwrap();
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

/// The error loading a `shopctl.toml` holding `toml` gives.
fn settings_error(name: &str, toml: &str) -> String {
    let dir = std::env::temp_dir().join(format!("gw-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("shopctl.toml");
    std::fs::write(&file, toml).unwrap();
    let source = ConfigSource {
        file: Some(file),
        overrides: Vec::new(),
    };
    let err = shopctl_gateway::load_settings(&source)
        .unwrap_err()
        .to_string();
    std::fs::remove_dir_all(dir).unwrap();
    err
}

#[test]
fn a_bad_cors_origin_is_a_settings_error() {
    let err = settings_error(
        "cors",
        "[gateway]\ncors_allowed_origins = [\"shop.example.com/\"]\n",
    );
    assert!(
        err.contains("cors_allowed_origins") && err.contains("shop.example.com/"),
        "{err}"
    );
}

#[test]
fn a_relative_upstream_url_is_a_settings_error() {
    let err = settings_error(
        "upstream",
        "[gateway.upstreams]\nproduct = \"127.0.0.1:8082\"\n",
    );
    assert!(
        err.contains("gateway.upstreams.product") && err.contains("http://HOST:PORT"),
        "{err}"
    );
}

/// Uses the real Redis at 127.0.0.1:6379 (running on every machine of this project).
#[tokio::test]
async fn replicas_share_one_limit_through_redis() {
    let calls = Arc::new(AtomicUsize::new(0));
    let upstream = echo(calls.clone()).await;
    let prefix = format!("test:{}:", std::process::id());
    let a = TestServer::spawn(
        "gateway-a",
        gateway_with_redis(&upstream.url, "redis://127.0.0.1:6379", &prefix).await,
    )
    .await;
    let b = TestServer::spawn(
        "gateway-b",
        gateway_with_redis(&upstream.url, "redis://127.0.0.1:6379", &prefix).await,
    )
    .await;
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    for gateway in [&a, &b, &a, &b, &a, &b] {
        statuses.push(
            client
                .get(format!("{}/api/products", gateway.url))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
        );
    }
    assert_eq!(
        statuses,
        [200, 200, 200, 200, 429, 429],
        "one burst of 4 across both replicas"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 4);
}

/// Uses the real Redis at 127.0.0.1:6379.
#[tokio::test]
async fn replicas_share_cached_reads_through_redis() {
    let calls = Arc::new(AtomicUsize::new(0));
    let upstream = echo(calls.clone()).await;
    let prefix = format!("test-cache:{}:", uuid_like());
    let redis = "redis://127.0.0.1:6379";
    let a = TestServer::spawn(
        "gateway-a",
        gateway_with_redis_cache(&upstream.url, redis, &prefix, 1_500).await,
    )
    .await;
    let b = TestServer::spawn(
        "gateway-b",
        gateway_with_redis_cache(&upstream.url, redis, &prefix, 1_500).await,
    )
    .await;
    let client = reqwest::Client::new();
    let get = |gateway: &TestServer| client.get(format!("{}/api/categories", gateway.url)).send();
    let first = get(&a).await.unwrap();
    assert_eq!(first.headers()["x-cache"], "MISS");
    let etag = first.headers()["etag"].clone();
    let first_body = first.bytes().await.unwrap();
    let second = get(&b).await.unwrap();
    assert_eq!(
        second.headers()["x-cache"],
        "HIT",
        "cached by the other replica"
    );
    assert_eq!(second.headers()["etag"], etag);
    assert_eq!(second.bytes().await.unwrap(), first_body);
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    // Revalidation works against the shared copy too.
    let not_modified = client
        .get(format!("{}/api/categories", b.url))
        .header("if-none-match", etag.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(not_modified.status(), 304);

    // Both replicas see it expire.
    tokio::time::sleep(Duration::from_millis(1_700)).await;
    assert_eq!(get(&b).await.unwrap().headers()["x-cache"], "MISS");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

fn uuid_like() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

#[tokio::test]
async fn an_unreachable_redis_lets_requests_through() {
    let calls = Arc::new(AtomicUsize::new(0));
    let upstream = echo(calls.clone()).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let gateway = TestServer::spawn(
        "gateway",
        gateway_with_redis_cache(&upstream.url, &format!("redis://{closed}"), "x:", 60_000).await,
    )
    .await;
    for _ in 0..6 {
        let status = reqwest::get(format!("{}/api/products", gateway.url))
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200, "the limiter fails open");
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        6,
        "the cache misses, reading through to the upstream"
    );
}

#[tokio::test]
async fn over_tls_the_gateway_sends_hsts_and_tells_upstreams_the_scheme() {
    use shopctl_kit::{service::Transport, settings::CommonSettings, testing::TestCertificate};
    let upstream = echo(Arc::new(AtomicUsize::new(0))).await;
    let cert = TestCertificate::generate();
    let mut settings = CommonSettings::defaults(0);
    settings.tls_cert_file = Some(cert.cert_file.clone());
    settings.tls_key_file = Some(cert.key_file.clone());
    let transport = Transport::from_settings("gateway", &settings).unwrap();
    let gateway =
        TestServer::spawn_with("gateway", gateway_with(&upstream.url, &[]).await, transport).await;
    let response = cert
        .request(
            gateway.addr,
            "GET /api/products HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n",
        )
        .await
        .to_lowercase();
    assert!(response.starts_with("http/1.1 200"), "{response}");
    assert!(
        response.contains("strict-transport-security: max-age=31536000; includesubdomains"),
        "{response}"
    );
    assert!(
        response.contains(r#""x-forwarded-proto":"https""#),
        "{response}"
    );

    // Plain HTTP never sends HSTS, and says so upstream.
    let plain = TestServer::spawn("gateway", gateway_with(&upstream.url, &[]).await).await;
    let response = reqwest::get(format!("{}/api/products", plain.url))
        .await
        .unwrap();
    assert!(
        response
            .headers()
            .get("strict-transport-security")
            .is_none()
    );
    let seen: Value = response.json().await.unwrap();
    assert_eq!(seen["headers"]["x-forwarded-proto"], "http");
}

/// A shopper's browser gets an HTML page when the edge refuses a page (over the limit, or the
/// storefront down); API clients keep getting problem+json for the same refusals.
#[tokio::test]
async fn refused_pages_are_html_and_refused_api_calls_stay_problem_json() {
    let calls = Arc::new(AtomicUsize::new(0));
    let upstream = echo(calls.clone()).await;
    let closed = format!("http://127.0.0.1:{}", shopctl_kit::testing::free_port());
    let gateway = TestServer::spawn(
        "gateway",
        gateway_with(
            &upstream.url,
            &[
                ("upstreams.frontend", closed.as_str()),
                ("rate_limit_burst", "1"),
                ("rate_limit_per_minute", "1"),
            ],
        )
        .await,
    )
    .await;
    let client = reqwest::Client::new();
    let content_type =
        |r: &reqwest::Response| r.headers()["content-type"].to_str().unwrap().to_owned();
    // The storefront is down: the page is a 503 page.
    let down = client
        .get(format!("{}/cart", gateway.url))
        .send()
        .await
        .unwrap();
    assert_eq!(down.status(), 503);
    assert!(
        content_type(&down).starts_with("text/html"),
        "{}",
        content_type(&down)
    );
    let html = down.text().await.unwrap();
    assert!(html.contains("taking a short break"), "{html}");
    assert!(!html.contains("127.0.0.1"), "no internals: {html}");
    // Over the web limit: a 429 page with Retry-After.
    let limited = client
        .get(format!("{}/cart", gateway.url))
        .send()
        .await
        .unwrap();
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    assert!(content_type(&limited).starts_with("text/html"));
    // The API's refusals are unchanged.
    client
        .get(format!("{}/api/products", gateway.url))
        .send()
        .await
        .unwrap();
    let api = client
        .get(format!("{}/api/products", gateway.url))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 429);
    assert!(content_type(&api).starts_with("application/problem+json"));
}

/// The gateway answers `/openapi.json` itself, with every service's public routes, even when no
/// upstream is reachable, and through the same edge (rate-limit and security headers).
#[tokio::test]
async fn the_public_api_document_is_the_gateways_own_answer() {
    let gateway = TestServer::spawn("gateway", gateway_with("http://127.0.0.1:9", &[]).await).await;
    let client = reqwest::Client::new();
    let response = client
        .get(format!("{}/openapi.json", gateway.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert!(response.headers().contains_key("ratelimit-remaining"));
    let doc: Value = response.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/api/products",
        "/api/users/register",
        "/.well-known/jwks.json",
        "/api/orders",
        "/api/inventory/{sku}",
        "/api/payments/{id}",
        "/api/notifications/outbox",
    ] {
        assert!(paths.contains_key(path), "{path} missing");
    }
    assert!(
        paths
            .keys()
            .all(|p| p.starts_with("/api/") || p == "/.well-known/jwks.json"),
        "only public routes"
    );

    let refused = client
        .post(format!("{}/openapi.json", gateway.url))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 405);
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
}

/// An upstream that answers 503 to every other call (the first, the third, …), counting calls.
async fn flaky(calls: Arc<AtomicUsize>) -> TestServer {
    let router = Router::new().fallback(any(move || {
        let calls = calls.clone();
        async move {
            if calls.fetch_add(1, Ordering::SeqCst).is_multiple_of(2) {
                (axum::http::StatusCode::SERVICE_UNAVAILABLE, "busy")
            } else {
                (axum::http::StatusCode::OK, "fine")
            }
        }
    }));
    TestServer::spawn("flaky", router).await
}

/// `GET /api/products` through `gateway`, with `body` when given; the status and the count of
/// upstream calls after it.
async fn catalog_read(
    gateway: &TestServer,
    body: Option<&'static str>,
    calls: &AtomicUsize,
) -> (u16, usize) {
    let mut request = reqwest::Client::new().get(format!("{}/api/products", gateway.url));
    if let Some(body) = body {
        request = request.body(body);
    }
    let status = request.send().await.unwrap().status().as_u16();
    (status, calls.load(Ordering::SeqCst))
}

#[tokio::test]
async fn safe_requests_are_retried_once_and_writes_never() {
    let calls = Arc::new(AtomicUsize::new(0));
    let upstream = flaky(calls.clone()).await;
    let gateway = TestServer::spawn(
        "gateway",
        gateway_with(&upstream.url, &[("cache_ttl_ms", "0")]).await,
    )
    .await;

    assert_eq!(
        catalog_read(&gateway, None, &calls).await,
        (200, 2),
        "the second attempt answered"
    );
    let write = reqwest::Client::new()
        .post(format!("{}/api/users/register", gateway.url))
        .json(&json!({"email": "a@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        write.status(),
        503,
        "a write is sent once, whatever comes back"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    // A GET with a body is not replayed either: its body streams through once.
    assert_eq!(catalog_read(&gateway, Some("x"), &calls).await, (200, 4));
    assert_eq!(catalog_read(&gateway, Some("y"), &calls).await, (503, 5));

    let metrics = gateway.metrics().await;
    assert!(
        metrics.contains(r#"gateway_upstream_retries_total{upstream="product"} 1"#),
        "{metrics}"
    );

    // Without retries, the first answer is the answer.
    let calls = Arc::new(AtomicUsize::new(0));
    let upstream = flaky(calls.clone()).await;
    let gateway = TestServer::spawn(
        "gateway",
        gateway_with(
            &upstream.url,
            &[("cache_ttl_ms", "0"), ("upstream_retries", "0")],
        )
        .await,
    )
    .await;
    assert_eq!(catalog_read(&gateway, None, &calls).await, (503, 1));
}

#[test]
fn more_than_five_retries_is_a_settings_error() {
    let error = settings_error("upstream_retries", "[gateway]\nupstream_retries = 9\n");
    assert!(error.contains("gateway.upstream_retries"), "{error}");
}
