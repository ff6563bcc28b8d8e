//! The benchmark scripts of `tests/bench` count what they say they count: a real wrk runs them
//! against the whole shop (every service in this process, through the gateway). wrk must be
//! installed (`apt-get install wrk`); a missing wrk fails the test.

use std::path::Path;

use reqwest::Client;
use serde_json::Value;
use shopctl_tests::{shop::Shop, workspace_root};

/// The `CHECKOUTS c CANCELLED x PENDING p FAILED f SECONDS s` line of `checkout.lua`.
fn tally(stdout: &str) -> [u64; 4] {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("CHECKOUTS "))
        .unwrap_or_else(|| panic!("no tally in wrk's output: {stdout}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    [1, 3, 5, 7].map(|i| words[i].parse().unwrap())
}

/// Confirmed orders of the customer with `token`, every page.
async fn confirmed_orders(client: &Client, gateway: &str, token: &str) -> u64 {
    let mut confirmed = 0;
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(cursor) => format!("{gateway}/api/orders?limit=100&cursor={cursor}"),
            None => format!("{gateway}/api/orders?limit=100"),
        };
        let page: Value = client
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items = page["items"].as_array().unwrap();
        confirmed += items.iter().filter(|o| o["status"] == "confirmed").count() as u64;
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return confirmed,
        }
    }
}

/// `checkout.lua` alternates "add to cart" and "check out" on each connection and counts a
/// checkout as an order only when its order is confirmed. It once reported one failed checkout
/// in every run: wrk calls `request()` once on the first thread's script before the run (to
/// count pipelined requests), which put that thread one step out of phase, so its first real
/// request checked out an empty cart. A short run on two connections now has no failure, and
/// every checkout it counts is a confirmed order the order service holds.
#[tokio::test]
async fn the_checkout_script_counts_confirmed_orders_and_no_phantom_failure() {
    // Arrange
    let _alone = shopctl_tests::SATURATING.lock().await;
    let shop = Shop::start().await;
    let sku = shop.product_with_stock("WRK-KETTLE", 1500, 1_000_000).await;
    let tokens = [shop.token("wrk-buyer-1"), shop.token("wrk-buyer-2")];
    let script = workspace_root().join("tests/bench/checkout.lua");
    assert!(Path::new(&script).is_file());

    // Act
    let output = tokio::process::Command::new("wrk")
        .args(["-t2", "-c2", "-d2s"])
        .arg("-s")
        .arg(&script)
        .arg(&shop.gateway.url)
        .env("TOKEN_1", &tokens[0])
        .env("TOKEN_2", &tokens[1])
        .env("SKU", &sku)
        .output()
        .await
        .expect("wrk is required for this test: apt-get install wrk");

    // Assert
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}{stderr}");
    let [checkouts, cancelled, pending, failed] = tally(&stdout);
    assert_eq!((cancelled, pending, failed), (0, 0, 0), "{stdout}{stderr}");
    assert!(checkouts > 0, "{stdout}");
    // wrk stops with a checkout in flight on each connection at most: the service may have
    // confirmed those too.
    let client = Client::new();
    let mut held = 0;
    for token in &tokens {
        held += confirmed_orders(&client, &shop.gateway.url, token).await;
    }
    assert!(
        (checkouts..=checkouts + 2).contains(&held),
        "wrk counted {checkouts}, the order service holds {held}"
    );
}
