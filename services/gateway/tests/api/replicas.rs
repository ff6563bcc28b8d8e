//! An upstream run as several replicas (its URL lists them, comma-separated): taken in turn,
//! passed over at once while one is gone, whatever the method, and taken back as soon as it is
//! ready again. Real sockets: echo servers, and a port that is closed, then served again.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{Router, routing::any};
use shopctl_kit::testing::TestServer;

use crate::helpers::{echo, gateway_app, gateway_with};

/// A port nothing listens on (until the test serves it).
fn closed_port() -> SocketAddr {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    addr
}

async fn post(client: &reqwest::Client, gateway: &TestServer) -> reqwest::StatusCode {
    client
        .post(format!("{}/api/users/login", gateway.url))
        .json(&serde_json::json!({"email": "a@example.com", "password": "x"}))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn replicas_are_taken_in_turn() {
    let (one, two) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (first, second) = (echo(one.clone()).await, echo(two.clone()).await);
    let upstreams = format!("{},{}", first.url, second.url);
    let gateway = TestServer::spawn(
        "gateway",
        gateway_with(&upstreams, &[("auth_rate_limit_per_minute", "100000")]).await,
    )
    .await;
    let client = reqwest::Client::new();
    for _ in 0..10 {
        assert_eq!(post(&client, &gateway).await, 200);
    }
    assert_eq!(
        (one.load(Ordering::SeqCst), two.load(Ordering::SeqCst)),
        (5, 5)
    );
}

#[tokio::test]
async fn a_gone_replica_is_passed_over_even_for_a_post_and_taken_back_once_ready() {
    let calls = Arc::new(AtomicUsize::new(0));
    let live = echo(calls.clone()).await;
    let gone = closed_port();
    // A long open period: only the readiness probe can take the replica back in time.
    let gateway = TestServer::spawn_app(
        "gateway",
        gateway_app(
            &format!("http://{gone},{}", live.url),
            &[
                ("auth_rate_limit_per_minute", "100000"),
                ("upstream_retries", "0"),
                ("breaker_open_secs", "600"),
                ("replica_probe_ms", "100"),
            ],
        )
        .await,
    )
    .await;
    let client = reqwest::Client::new();
    // POSTs are never retried, yet none fails: the refused connection never carried it.
    for _ in 0..8 {
        assert_eq!(post(&client, &gateway).await, 200);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 8);
    let metrics = gateway.metrics().await;
    assert!(
        metrics.contains(r#"gateway_breaker_state{upstream="user"} 0"#),
        "one replica up keeps the upstream closed: {metrics}"
    );

    // The replica comes back on its port and says it is ready.
    let back = Arc::new(AtomicUsize::new(0));
    let counter = back.clone();
    let listener = tokio::net::TcpListener::bind(gone).await.unwrap();
    tokio::spawn(async move {
        let router = Router::new()
            .route("/readyz", any(|| async { "ready" }))
            .fallback(any(move || {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    "back"
                }
            }));
        axum::serve(listener, router).await.unwrap();
    });
    tokio::time::sleep(Duration::from_millis(600)).await;
    for _ in 0..8 {
        assert_eq!(post(&client, &gateway).await, 200);
    }
    assert_eq!(back.load(Ordering::SeqCst), 4, "back in turn");
}

#[tokio::test]
async fn every_replica_gone_is_unavailable_then_failing() {
    let upstreams = format!("http://{},http://{}", closed_port(), closed_port());
    let gateway = TestServer::spawn(
        "gateway",
        gateway_with(&upstreams, &[("auth_rate_limit_per_minute", "100000")]).await,
    )
    .await;
    let client = reqwest::Client::new();
    let mut details = Vec::new();
    for _ in 0..4 {
        let answer = client
            .post(format!("{}/api/users/login", gateway.url))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 503);
        let body: serde_json::Value = answer.json().await.unwrap();
        details.push(body["detail"].as_str().unwrap().to_owned());
    }
    // Each call tries both (two refusals a call): the breakers (3 failures) open in the second.
    assert!(details[0].contains("did not answer"), "{details:?}");
    assert!(details[3].contains("failing"), "{details:?}");
    let metrics = gateway.metrics().await;
    assert!(
        metrics.contains(r#"gateway_breaker_state{upstream="user"} 1"#),
        "{metrics}"
    );
}
