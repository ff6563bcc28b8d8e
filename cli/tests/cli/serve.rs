//! `shopctl serve product` as a process: it answers, logs JSON, refuses a taken port and stops
//! cleanly on SIGTERM.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Stdio},
    time::{Duration, Instant},
};

use crate::helpers::{assert_one_line_error, run_in, shopctl};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(dir: &std::path::Path, port: u16) -> Child {
    shopctl()
        .current_dir(dir)
        .env("RUST_LOG", "info")
        .args(["serve", "product", "--port", &port.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

async fn wait_ready(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(r) = reqwest::get(format!("http://127.0.0.1:{port}/readyz")).await
            && r.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("service on port {port} never became ready");
}

fn terminate(child: &Child) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn serve_answers_searches_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = start(dir.path(), port);
    wait_ready(port).await;

    let page: serde_json::Value =
        reqwest::get(format!("http://127.0.0.1:{port}/api/products?q=classic"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert!(
        page["total"].as_i64().unwrap() > 0,
        "the demo catalog is searchable: {page}"
    );
    assert!(!page["facets"]["category"].as_array().unwrap().is_empty());

    terminate(&child);
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status {status:?}");
    let lines: Vec<serde_json::Value> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map(|l| serde_json::from_str(&l.unwrap()).expect("every log line is JSON"))
        .collect();
    assert!(
        lines
            .iter()
            .all(|l| l["service"] == "product" && l["timestamp"].is_string())
    );
    let served = lines
        .iter()
        .find(|l| l["route"] == "/api/products")
        .expect("request logged");
    assert!(served["request_id"].is_string() && served["trace_id"].is_string());
    assert!(
        lines
            .iter()
            .any(|l| l["message"].as_str().unwrap().contains("drained"))
    );
}

#[tokio::test]
async fn a_taken_port_is_named_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let output = run_in(dir.path(), &["serve", "product", "--port", &port]);
    assert_one_line_error(&output, &[&port, "--port"]);
}
