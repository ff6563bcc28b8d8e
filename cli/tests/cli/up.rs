//! `shopctl up`: the whole shop as supervised child processes. A killed child is restarted, and
//! SIGTERM stops every child with no orphan left.

use std::{
    io::{BufRead, BufReader},
    process::Stdio,
    time::{Duration, Instant},
};

use crate::helpers::shopctl;

/// Eight consecutive free ports (gateway and services).
fn free_base() -> u16 {
    for _ in 0..200 {
        let base = 20_000 + u16::try_from(rand_port() % 30_000).unwrap();
        if (0..8).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok()) {
            return base;
        }
    }
    panic!("no eight free ports");
}

fn rand_port() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
}

fn alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

fn signal(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: not within 60 s");
}

#[tokio::test]
async fn up_runs_the_shop_heals_a_killed_child_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let base = free_base();
    let mut up = shopctl()
        .args(["up", "--data-dir"])
        .arg(dir.path().join("data"))
        .args(["--base-port", &base.to_string(), "--output", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The JSON report comes once everything is ready.
    let stdout = up.stdout.take().unwrap();
    let report = tokio::task::spawn_blocking(move || {
        let mut text = String::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            text.push_str(&line);
            text.push('\n');
            if line == "}" {
                break;
            }
        }
        text
    })
    .await
    .unwrap();
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["ready"], true, "{report}");
    let pids: Vec<(String, u32)> = report["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["service"].as_str().unwrap().to_owned(),
                u32::try_from(s["pid"].as_u64().unwrap()).unwrap(),
            )
        })
        .collect();
    assert_eq!(pids.len(), 7);

    // `shopctl wait --healthy` agrees, for CI.
    let waited = shopctl()
        .args([
            "wait",
            "--healthy",
            "--timeout",
            "30s",
            "--base-port",
            &base.to_string(),
        ])
        .output()
        .unwrap();
    assert!(waited.status.success(), "{waited:?}");

    // The seeded catalog and its stock, through the gateway.
    let gateway = format!("http://127.0.0.1:{base}");
    let products: serde_json::Value = reqwest::get(format!("{gateway}/api/products?limit=1"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sku = products["items"][0]["sku"].as_str().unwrap().to_owned();
    let stock = reqwest::get(format!("{gateway}/api/inventory/{sku}"))
        .await
        .unwrap();
    assert_eq!(stock.status(), 200);

    // kill -9 of a child is healed.
    let product_pid = pids.iter().find(|(s, _)| s == "product").unwrap().1;
    signal(product_pid, "-9");
    let product = format!("http://127.0.0.1:{}/readyz", base + 3);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let client = reqwest::Client::new();
    let mut healed = false;
    for _ in 0..300 {
        if client
            .get(&product)
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            healed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(healed, "the product service came back");

    // SIGTERM stops everything: up exits 0 and no child is left.
    signal(up.id(), "-TERM");
    let status = tokio::task::spawn_blocking(move || up.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "{status:?}");
    wait_for("children gone", || pids.iter().all(|(_, pid)| !alive(*pid))).await;
    let ports_free = (0..8).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok());
    assert!(ports_free, "every port is released");
}

#[test]
fn wait_gives_up_naming_who_is_not_ready() {
    let base = free_base();
    let output = shopctl()
        .args([
            "wait",
            "--healthy",
            "--timeout",
            "300ms",
            "--base-port",
            &base.to_string(),
        ])
        .args(["--output", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["healthy"], false);
    assert_eq!(report["not_ready"].as_array().unwrap().len(), 7);
    let bad = shopctl()
        .args(["wait", "--healthy", "--timeout", "soon"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
