//! The middleware stack every service gets from `http::finish`, exercised over real HTTP.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use axum::{
    Extension, Json, Router,
    routing::{get, post},
};
use secrecy::SecretString;
use serde_json::Value;
use shopctl_kit::{
    AppJson, ServiceContext,
    db::{Db, PoolOptions},
    http::{finish, finish_catch_all},
    metrics::Metrics,
    settings::CommonSettings,
    testing::TestServer,
    trace::TraceContext,
};

/// The bootstrap admin token the test services accept.
const ADMIN_TOKEN: &str = "kit-admin-token";

async fn context(timeout_ms: u64) -> (ServiceContext, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = SecretString::from(format!("sqlite://{}/kit.db", dir.path().display()));
    let db = Db::connect(&url, PoolOptions::default()).await.unwrap();
    let mut settings = CommonSettings::defaults(0);
    settings.request_timeout_ms = timeout_ms;
    settings.body_limit_bytes = 1024;
    let ctx = ServiceContext::new(
        "kittest",
        &settings,
        Some(db),
        Metrics::new("kittest"),
        shopctl_kit::auth::Auth::new(shopctl_kit::auth::BootstrapToken(Some(SecretString::from(
            ADMIN_TOKEN,
        )))),
    );
    (ctx, dir)
}

fn routes() -> Router {
    Router::new()
        .route("/items/{id}", get(|| async { "item" }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(400)).await;
                "done"
            }),
        )
        .route(
            "/trace",
            get(|Extension(trace): Extension<TraceContext>| async move {
                Json(serde_json::json!({"trace_id": trace.trace_id, "parent": trace.parent_id}))
            }),
        )
        .route(
            "/request-id",
            get(|headers: axum::http::HeaderMap| async move { request_id_of(&headers) }),
        )
        .route("/panic", get(|| async { panic_on_purpose() }))
        .route(
            "/echo",
            post(|AppJson(v): AppJson<Value>| async move { Json(v) }),
        )
        .route(
            "/slow-write",
            post(|| async {
                tokio::time::sleep(Duration::from_millis(400)).await;
                "written"
            }),
        )
}

/// The request id a handler sees.
fn request_id_of(headers: &axum::http::HeaderMap) -> String {
    headers["x-request-id"]
        .to_str()
        .unwrap_or_default()
        .to_owned()
}

/// A handler bug: an index out of bounds, on purpose, which must become a 500 problem.
fn panic_on_purpose() -> String {
    let empty: Vec<u8> = Vec::new();
    format!("{}", empty[usize::from(empty.is_empty())])
}

/// Checks that a handler at `url` that answers with the request id it sees (`request_id_of`)
/// sees the id the answer carries: the caller's when sane, else one made for it.
async fn handler_sees_the_answered_id(client: &reqwest::Client, url: &str) {
    for sent in [Some("abc-123"), Some("no spaces allowed"), None] {
        let mut request = client.get(url);
        if let Some(id) = sent {
            request = request.header("x-request-id", id);
        }
        let response = request.send().await.unwrap();
        let answered = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(response.text().await.unwrap(), answered, "{sent:?}");
        assert_eq!(answered == "abc-123", sent == Some("abc-123"), "{sent:?}");
    }
}

async fn spawn(timeout_ms: u64) -> (TestServer, ServiceContext, tempfile::TempDir) {
    let (ctx, dir) = context(timeout_ms).await;
    let server = TestServer::spawn("kittest", finish(routes(), &ctx)).await;
    (server, ctx, dir)
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let (server, _ctx, _dir) = spawn(5_000).await;
    let client = reqwest::Client::new();
    let given = client
        .get(format!("{}/items/1", server.url))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(given.headers()["x-request-id"], "abc-123");
    let generated = client
        .get(format!("{}/items/1", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(generated.headers()["x-request-id"].len(), 36);

    handler_sees_the_answered_id(&client, &format!("{}/request-id", server.url)).await;
}

#[tokio::test]
async fn a_callers_traceparent_is_continued() {
    let (server, _ctx, _dir) = spawn(5_000).await;
    let body: Value = reqwest::Client::new()
        .get(format!("{}/trace", server.url))
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(body["parent"], "00f067aa0ba902b7");
}

#[tokio::test]
async fn a_request_past_the_deadline_gets_a_503_problem() {
    let (server, ctx, _dir) = spawn(100).await;
    let response = reqwest::get(format!("{}/slow", server.url)).await.unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "https://shopctl.dev/problems/timeout");
    assert!(
        ctx.metrics
            .render()
            .contains(r#"route="/slow",method="GET",status="503"} 1"#)
    );
}

#[tokio::test]
async fn a_panicking_handler_becomes_a_generic_500() {
    let (server, ctx, _dir) = spawn(5_000).await;
    let response = reqwest::get(format!("{}/panic", server.url)).await.unwrap();
    assert_eq!(response.status(), 500);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "https://shopctl.dev/problems/internal");
    assert!(!body.to_string().contains("index out of bounds"));
    // Counted under its route, where on-call looks for it.
    let metrics = ctx.metrics.render();
    assert!(
        metrics.contains(r#"route="/panic",method="GET",status="500"} 1"#),
        "{metrics}"
    );
    // The server is still alive.
    assert_eq!(
        reqwest::get(format!("{}/items/1", server.url))
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn oversized_bodies_are_413_problems() {
    let (server, _ctx, _dir) = spawn(5_000).await;
    let response = reqwest::Client::new()
        .post(format!("{}/echo", server.url))
        .header("content-type", "application/json")
        .body(format!("\"{}\"", "x".repeat(4096)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["type"],
        "https://shopctl.dev/problems/payload-too-large"
    );
}

#[tokio::test]
async fn metrics_use_route_templates_and_count_unmatched_requests() {
    let (server, ctx, _dir) = spawn(5_000).await;
    for id in ["1", "2", "3"] {
        reqwest::get(format!("{}/items/{id}", server.url))
            .await
            .unwrap();
    }
    reqwest::get(format!("{}/nowhere", server.url))
        .await
        .unwrap();
    let text = server.metrics().await;
    assert!(text.contains(r#"http_requests_total{service="kittest",route="/items/{id}",method="GET",status="200"} 3"#), "{text}");
    assert!(
        text.contains(r#"route="unmatched",method="GET",status="404"} 1"#),
        "{text}"
    );
    assert!(
        !text.contains("/items/1"),
        "raw paths must not become labels"
    );
    assert_eq!(ctx.metrics.service(), "kittest");
}

#[tokio::test]
async fn readiness_follows_the_database() {
    let (server, ctx, _dir) = spawn(5_000).await;
    let ready = reqwest::get(format!("{}/readyz", server.url))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    ctx.db.as_ref().unwrap().close().await;
    let unready = reqwest::get(format!("{}/readyz", server.url))
        .await
        .unwrap();
    assert_eq!(unready.status(), 503);
    let body: Value = unready.json().await.unwrap();
    assert_eq!(body["checks"]["database"], "unavailable");
    assert_eq!(
        reqwest::get(format!("{}/livez", server.url))
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn shutdown_drains_in_flight_requests() {
    let (mut server, _ctx, _dir) = spawn(5_000).await;
    let url = format!("{}/slow", server.url);
    let in_flight = tokio::spawn(async move { reqwest::get(url).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    server.begin_shutdown();
    let addr = server.addr;
    let response = in_flight.await.unwrap().unwrap();
    assert_eq!(response.status(), 200, "the in-flight request completes");
    assert_eq!(response.text().await.unwrap(), "done");
    server.join().await.unwrap();
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no new connections after shutdown"
    );
}

async fn admin(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = client.request(method, url).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

/// Injects `faults` into the service at `url` as the bootstrap admin.
async fn inject(client: &reqwest::Client, url: &str, faults: Value) -> reqwest::Response {
    admin(
        client,
        reqwest::Method::PUT,
        format!("{url}/admin/faults"),
        ADMIN_TOKEN,
        Some(faults),
    )
    .await
}

#[tokio::test]
async fn admin_info_tells_version_uptime_migrations_and_hides_secrets() {
    let (ctx, _dir) = context(5_000).await;
    let mut ctx = ctx;
    ctx.settings.admin_token = Some(SecretString::from("must-not-print"));
    let server = TestServer::spawn("kittest", finish(routes(), &ctx)).await;
    let client = reqwest::Client::new();
    let url = format!("{}/admin/info", server.url);
    assert_eq!(client.get(&url).send().await.unwrap().status(), 401);
    assert_eq!(
        admin(&client, reqwest::Method::GET, url.clone(), "wrong", None)
            .await
            .status(),
        401
    );
    let answer = admin(&client, reqwest::Method::GET, url, ADMIN_TOKEN, None).await;
    assert_eq!(answer.status(), 200);
    let text = answer.text().await.unwrap();
    assert!(!text.contains("must-not-print"), "{text}");
    let info: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(info["service"], "kittest");
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(info["database"], "sqlite");
    assert!(info["uptime_secs"].as_u64().is_some(), "{info}");
    assert_eq!(info["settings"]["admin_token"], "[redacted]");
    assert_eq!(info["faults"]["latency_ms"], 0);
    assert!(info["migrations"].is_array(), "{info}");
}

#[tokio::test]
async fn injected_errors_and_latency_hit_api_routes_until_cleared() {
    let (server, _ctx, _dir) = spawn(5_000).await;
    let client = reqwest::Client::new();
    let faults = format!("{}/admin/faults", server.url);
    let items = format!("{}/items/1", server.url);

    // A customer-grade caller cannot inject.
    let refused = admin(
        &client,
        reqwest::Method::PUT,
        faults.clone(),
        "wrong",
        Some(serde_json::json!({"error_rate": 1.0})),
    )
    .await;
    assert_eq!(refused.status(), 401);

    let bad = inject(&client, &server.url, serde_json::json!({"error_rate": 1.5})).await;
    assert_eq!(bad.status(), 400);
    assert_eq!(bad.headers()["content-type"], "application/problem+json");

    let set = inject(&client, &server.url, serde_json::json!({"error_rate": 1.0})).await;
    assert_eq!(set.status(), 200);
    let failed = client.get(&items).send().await.unwrap();
    assert_eq!(failed.status(), 503);
    assert_eq!(failed.headers()["content-type"], "application/problem+json");
    // Probes and the admin routes stay reachable so the fault can be seen and cleared.
    assert_eq!(
        client
            .get(format!("{}/readyz", server.url))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let shown: Value = admin(
        &client,
        reqwest::Method::GET,
        faults.clone(),
        ADMIN_TOKEN,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(shown["error_rate"], 1.0);

    // Latency alone: the request still succeeds, later; the error rate is kept.
    inject(
        &client,
        &server.url,
        serde_json::json!({"error_rate": 0.0, "latency_ms": 300}),
    )
    .await;
    let started = std::time::Instant::now();
    assert_eq!(client.get(&items).send().await.unwrap().status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(300));

    let cleared = admin(
        &client,
        reqwest::Method::DELETE,
        faults.clone(),
        ADMIN_TOKEN,
        None,
    )
    .await;
    assert_eq!(cleared.status(), 200);
    let shown: Value = admin(&client, reqwest::Method::GET, faults, ADMIN_TOKEN, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        shown,
        serde_json::json!({"latency_ms": 0, "error_rate": 0.0})
    );
    let text = server.metrics().await;
    assert!(
        text.contains(r#"route="/items/{id}",method="GET",status="503"} 1"#),
        "injected failures are counted like real ones: {text}"
    );
}

/// An injected delay runs inside the request's deadline: past it, the answer is the deadline's
/// 503 `timeout`, counted under the route, not a late 200.
#[tokio::test]
async fn injected_latency_counts_against_the_deadline() {
    let (server, ctx, _dir) = spawn(200).await;
    let client = reqwest::Client::new();
    let set = inject(
        &client,
        &server.url,
        serde_json::json!({"latency_ms": 2000}),
    )
    .await;
    assert_eq!(set.status(), 200);
    let started = std::time::Instant::now();
    let response = client
        .get(format!("{}/items/1", server.url))
        .send()
        .await
        .unwrap();
    let waited = started.elapsed();
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "https://shopctl.dev/problems/timeout");
    assert!(
        waited < Duration::from_secs(2),
        "cut off at the deadline, not after the whole delay: {waited:?}"
    );
    assert!(
        ctx.metrics
            .render()
            .contains(r#"route="/items/{id}",method="GET",status="503"} 1"#)
    );
}

#[tokio::test]
async fn faults_are_refused_in_production() {
    let (mut ctx, _dir) = context(5_000).await;
    ctx.settings.environment = shopctl_kit::settings::Environment::Production;
    let server = TestServer::spawn("kittest", finish(routes(), &ctx)).await;
    let client = reqwest::Client::new();
    let refused = inject(&client, &server.url, serde_json::json!({"latency_ms": 100})).await;
    assert_eq!(refused.status(), 403);
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["detail"].as_str().unwrap().contains("production"),
        "{body}"
    );
    assert_eq!(
        client
            .get(format!("{}/items/1", server.url))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

/// A catch-all (the gateway's shape) gets every path no route claims, with its state, under the
/// deadline and injected faults like a route, counted under its label; the service's own routes
/// and kit's still answer first. It takes the standard stack's steps without its layers, so
/// each is checked here too: request ids, panic capture, the body limit.
#[tokio::test]
async fn a_catch_all_is_guarded_and_counted_like_a_route() {
    let (ctx, _dir) = context(200).await;
    let catch_all = |axum::extract::State(prefix): axum::extract::State<&'static str>,
                     uri: axum::http::Uri,
                     headers: axum::http::HeaderMap,
                     body: axum::body::Bytes| async move {
        match uri.path() {
            "/slow-path" => tokio::time::sleep(Duration::from_millis(400)).await,
            "/panic-path" => return panic_on_purpose(),
            "/id-path" => return request_id_of(&headers),
            _ => {}
        }
        format!("{prefix}:{}:{}", uri.path(), body.len())
    };
    let app = finish_catch_all(routes(), &ctx, "/{*rest}", catch_all, "caught");
    let server = TestServer::spawn("kittest", app).await;
    let client = reqwest::Client::new();
    let get = |path: &str| client.get(format!("{}{path}", server.url)).send();

    let caught = get("/anything/here").await.unwrap();
    assert_eq!(caught.status(), 200);
    assert!(caught.headers().contains_key("x-request-id"));
    assert_eq!(caught.text().await.unwrap(), "caught:/anything/here:0");
    handler_sees_the_answered_id(&client, &format!("{}/id-path", server.url)).await;

    let panicked = get("/panic-path").await.unwrap();
    assert_eq!(panicked.status(), 500);
    let body: Value = panicked.json().await.unwrap();
    assert_eq!(body["type"], "https://shopctl.dev/problems/internal");
    let posted = |size: usize| {
        client
            .post(format!("{}/upload", server.url))
            .body("x".repeat(size))
            .send()
    };
    assert_eq!(
        posted(1000).await.unwrap().text().await.unwrap(),
        "caught:/upload:1000"
    );
    assert_eq!(posted(4096).await.unwrap().status(), 413);
    assert_eq!(get("/items/1").await.unwrap().text().await.unwrap(), "item");
    assert_eq!(get("/readyz").await.unwrap().status(), 200);

    let slow = get("/slow-path").await.unwrap();
    assert_eq!(slow.status(), 503);
    let body: Value = slow.json().await.unwrap();
    assert_eq!(body["type"], "https://shopctl.dev/problems/timeout");

    let faults = format!("{}/admin/faults", server.url);
    let set = inject(&client, &server.url, serde_json::json!({"error_rate": 1.0})).await;
    assert_eq!(set.status(), 200);
    assert_eq!(get("/elsewhere").await.unwrap().status(), 503);
    assert_eq!(get("/readyz").await.unwrap().status(), 200);
    let cleared = admin(&client, reqwest::Method::DELETE, faults, ADMIN_TOKEN, None).await;
    assert!(cleared.status().is_success(), "{}", cleared.status());
    assert_eq!(get("/elsewhere").await.unwrap().status(), 200);

    let metrics = server.metrics().await;
    for series in [
        r#"route="/{*rest}",method="GET",status="200"} 5"#,
        r#"route="/{*rest}",method="GET",status="503"} 2"#,
        r#"route="/{*rest}",method="GET",status="500"} 1"#,
        r#"route="/{*rest}",method="POST",status="200"} 1"#,
        r#"route="/{*rest}",method="POST",status="413"} 1"#,
        r#"route="/items/{id}",method="GET",status="200"} 1"#,
    ] {
        assert!(metrics.contains(series), "{series} in {metrics}");
    }
}

/// `/admin/maintenance`: a pause refuses new writes with 503 and `Retry-After`, lets reads
/// through, answers only once the write in flight has ended, and ends when resumed.
#[tokio::test]
async fn a_maintenance_pause_refuses_writes_after_draining_those_in_flight() {
    let (server, _ctx, _dir) = spawn(5_000).await;
    let client = reqwest::Client::new();
    let maintenance = format!("{}/admin/maintenance", server.url);
    let slow = tokio::spawn({
        let (client, url) = (client.clone(), format!("{}/slow-write", server.url));
        async move { client.post(url).send().await.unwrap().status() }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = std::time::Instant::now();
    let paused = admin(
        &client,
        reqwest::Method::PUT,
        maintenance.clone(),
        ADMIN_TOKEN,
        Some(serde_json::json!({"pause_secs": 30})),
    )
    .await;
    assert_eq!(paused.status(), 200);
    let state: Value = paused.json().await.unwrap();
    assert_eq!(state["paused"], true);
    assert_eq!(state["drained"], true, "{state}");
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "answered before the write in flight ended"
    );
    assert_eq!(slow.await.unwrap(), 200, "the write in flight finished");

    let refused = client
        .post(format!("{}/echo", server.url))
        .json(&serde_json::json!({"a": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 503);
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    let retry: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=31).contains(&retry), "{retry}");
    let read = client
        .get(format!("{}/items/1", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200, "reads go on");

    let bad = admin(
        &client,
        reqwest::Method::PUT,
        maintenance.clone(),
        ADMIN_TOKEN,
        Some(serde_json::json!({"pause_secs": 0})),
    )
    .await;
    assert_eq!(bad.status(), 400);
    let anonymous = client.delete(maintenance.clone()).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);

    let resumed = admin(
        &client,
        reqwest::Method::DELETE,
        maintenance,
        ADMIN_TOKEN,
        None,
    )
    .await;
    let state: Value = resumed.json().await.unwrap();
    assert_eq!(state["paused"], false);
    let written = client
        .post(format!("{}/echo", server.url))
        .json(&serde_json::json!({"a": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(written.status(), 200);
}
