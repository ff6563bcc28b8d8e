//! Operating a running shop: `status`, `fault inject|clear` and `loadgen` against the real
//! binaries `shopctl up` supervises. Every fault request is evidence: a record in the data
//! directory's hash-chained `audit/shopctl.jsonl`.

use std::time::Duration;

use serde_json::Value;

use crate::helpers::{RunningShop, assert_one_line_error, free_base, shopctl, stderr, stdout};

fn json(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", stdout(output), stderr(output)))
}

fn service<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service"] == name)
        .unwrap()
}

/// The records of the operator's audit trail in `data`, after checking its chain.
async fn evidence(data: &std::path::Path) -> Vec<Value> {
    let path = data.join("audit").join("shopctl.jsonl");
    let verified = shopctl_kit::audit::verify(&path)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let records: Vec<Value> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(verified, u64::try_from(records.len()).unwrap());
    records
}

async fn ready(url: &str) -> bool {
    reqwest::get(format!("{url}/readyz"))
        .await
        .is_ok_and(|r| r.status() == 200)
}

#[tokio::test]
async fn status_faults_and_loadgen_see_and_break_a_running_shop() {
    let shop = RunningShop::start(&[]).await;
    let gateway = shop.gateway();
    let product_url = format!("http://127.0.0.1:{}", shop.base + 3);
    let order_url = format!("http://127.0.0.1:{}", shop.base + 4);

    // Everything healthy, with version and uptime from /admin/info (token from the data dir).
    let status = shop.ops(&["status", "--window", "300ms", "--output", "json"]);
    assert_eq!(status.status.code(), Some(0), "{}", stderr(&status));
    let report = json(&status);
    assert_eq!(report["healthy"], true);
    assert_eq!(report["services"].as_array().unwrap().len(), 8);
    let product = service(&report, "product");
    assert_eq!(product["health"], "ready");
    assert_eq!(product["version"], env!("CARGO_PKG_VERSION"));
    assert!(product["uptime_secs"].is_u64(), "{product}");

    // A fault injected and cleared: two records, chained, naming the operator and what was
    // asked, and never the admin token.
    let injected = shop.ops(&["fault", "inject", "payment", "--error-rate", "0.5"]);
    assert_eq!(injected.status.code(), Some(0), "{}", stderr(&injected));
    let cleared = shop.ops(&["fault", "clear", "payment"]);
    assert_eq!(cleared.status.code(), Some(0), "{}", stderr(&cleared));
    let records = evidence(&shop.data()).await;
    assert_eq!(records.len(), 2, "{records:?}");
    let (inject, clear) = (&records[0], &records[1]);
    assert_eq!(inject["service"], "shopctl");
    assert_eq!(inject["action"], "fault_inject");
    assert_eq!(inject["target"], "payment");
    assert_eq!(inject["outcome"], "success");
    assert_eq!(
        inject["details"],
        serde_json::json!({"error_rate": 0.5, "via": "cli"})
    );
    assert!(
        inject["actor"].as_str().unwrap().starts_with("operator:"),
        "{inject}"
    );
    assert_eq!(clear["action"], "fault_clear");
    assert_eq!(clear["target"], "payment");
    assert_eq!(clear["outcome"], "success");
    assert_eq!(clear["prev"], inject["hash"]);
    let secrets: toml::Table =
        toml::from_str(&std::fs::read_to_string(shop.data().join("secrets.toml")).unwrap())
            .unwrap();
    let token = secrets["admin_token"].as_str().unwrap();
    let trail = std::fs::read_to_string(shop.data().join("audit").join("shopctl.jsonl")).unwrap();
    assert!(!trail.contains(token), "no token in the trail");

    // Every product request fails while the fault is in force, and status shows it.
    let injected = shop.ops(&[
        "fault",
        "inject",
        "product",
        "--error-rate",
        "1",
        "--output",
        "json",
    ]);
    assert_eq!(injected.status.code(), Some(0), "{}", stderr(&injected));
    assert_eq!(json(&injected)["faults"]["error_rate"], 1.0);
    let through_gateway = reqwest::get(format!("{gateway}/api/products?limit=1"))
        .await
        .unwrap();
    assert_eq!(through_gateway.status(), 503);
    // Status watches a one-second window while requests come in (the command blocks, so it
    // runs on a thread of its own).
    let status = tokio::task::spawn_blocking({
        let ops = shop.ops_command(&["status", "--window", "1s", "--output", "json"]);
        move || {
            let mut ops = ops;
            ops.output().unwrap()
        }
    });
    let mut statuses = Vec::new();
    for _ in 0..20 {
        let answer = reqwest::get(format!("{product_url}/api/products?limit=1"))
            .await
            .unwrap();
        statuses.push(answer.status().as_u16());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = status.await.unwrap();
    assert!(statuses.iter().all(|s| *s == 503), "{statuses:?}");
    let report = json(&status);
    let product = service(&report, "product");
    assert_eq!(product["faults"]["error_rate"], 1.0, "{product}");
    assert!(
        product["requests_per_sec"].as_f64().unwrap() > 0.0,
        "{product}"
    );
    assert!(
        (product["error_rate"].as_f64().unwrap() - 1.0).abs() < f64::EPSILON,
        "{product}"
    );
    // Faulted but alive: the probes still pass, so the shop counts as healthy.
    assert_eq!(product["health"], "ready");

    let cleared = shop.ops(&["fault", "clear"]);
    assert_eq!(cleared.status.code(), Some(0), "{}", stderr(&cleared));
    let after = reqwest::get(format!("{gateway}/api/products?limit=1"))
        .await
        .unwrap();
    assert_eq!(after.status(), 200);

    // A short stress run: shoppers browse, fill carts and buy, with no error; one checkout in
    // four pays with the declined test card, whose cancellations are expected, not errors.
    let load = shop.ops(&[
        "loadgen",
        "--duration",
        "5s",
        "--users",
        "4",
        "--profile",
        "stress",
        "--decline-rate",
        "0.25",
        "--fail-on-error",
        "--output",
        "json",
    ]);
    assert_eq!(load.status.code(), Some(0), "{}", stderr(&load));
    let report = json(&load);
    assert_eq!(report["errors"], 0, "{report}");
    assert!(report["orders"].as_u64().unwrap() > 0, "{report}");
    assert!(report["declined"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(report["cancelled"], 0, "{report}");
    assert_eq!(report["unsettled"], 0, "{report}");
    let routes: Vec<&str> = report["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["route"].as_str().unwrap())
        .collect();
    for route in [
        "home",
        "browse_product",
        "browse_category",
        "view_cart",
        "add_to_cart",
        "checkout",
    ] {
        assert!(routes.contains(&route), "{route} missing: {report}");
    }
    let browse = &report["routes"][1];
    assert_eq!(browse["route"], "browse_product");
    assert!(browse["p50_ms"].as_f64().unwrap() <= browse["p99_ms"].as_f64().unwrap());
    // The orders are real: the order service counted them.
    let metrics = reqwest::get(format!("{order_url}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"orders_checkouts_total{result="confirmed"}"#),
        "{metrics}"
    );

    // With errors injected, --fail-on-error turns them into exit 1 and names them.
    // (The order service: its errors reach the shoppers, while the catalog they start from
    // stays readable.)
    shop.ops(&["fault", "inject", "order", "--error-rate", "0.5"]);
    let failing = shop.ops(&[
        "loadgen",
        "--duration",
        "2s",
        "--users",
        "2",
        "--profile",
        "stress",
        "--fail-on-error",
    ]);
    shop.ops(&["fault", "clear", "order"]);
    assert_eq!(failing.status.code(), Some(1), "{}", stderr(&failing));
    assert!(stdout(&failing).contains("503 ×"), "{}", stdout(&failing));

    // --kill crashes the order service; the supervisor brings it back.
    let killed = shop.ops(&["fault", "inject", "order", "--kill"]);
    assert_eq!(killed.status.code(), Some(0), "{}", stderr(&killed));
    let mut went_down = false;
    for _ in 0..50 {
        if !ready(&order_url).await {
            went_down = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(went_down, "the order service went down");
    let mut healed = false;
    for _ in 0..300 {
        if ready(&order_url).await {
            healed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(healed, "the order service came back");
    assert!(ready(&product_url).await);

    // Every request of the run is on the trail, in one unbroken chain: the two above, product's
    // fault and the clearing of all eight, order's fault and its clearing, and the kill.
    let records = evidence(&shop.data()).await;
    assert_eq!(records.len(), 2 + 1 + 8 + 1 + 1 + 1, "{records:?}");
    assert!(
        records.iter().all(|r| r["outcome"] == "success"),
        "{records:?}"
    );
    assert_eq!(
        records.last().unwrap()["details"],
        serde_json::json!({"kill": true, "via": "cli"})
    );

    let stopped = shop.stop().await;
    assert!(stopped.success(), "{stopped:?}");
}

#[test]
fn status_exits_1_naming_what_is_down() {
    let base = free_base();
    let output = shopctl()
        .args([
            "status",
            "--window",
            "100ms",
            "--base-port",
            &base.to_string(),
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("down"), "{text}");
    assert!(text.contains("not ready: user, product"), "{text}");
}

#[tokio::test]
async fn ops_commands_refuse_bad_input_in_one_line() {
    let base = free_base().to_string();
    let data = tempfile::tempdir().unwrap();
    let no_fault = shopctl()
        .args(["fault", "inject", "product", "--base-port", &base])
        .output()
        .unwrap();
    assert_eq!(no_fault.status.code(), Some(2));
    let bad_rate = shopctl()
        .args(["fault", "inject", "product", "--error-rate", "2"])
        .output()
        .unwrap();
    assert_eq!(bad_rate.status.code(), Some(2));
    assert!(
        stderr(&bad_rate).contains("between 0 and 1"),
        "{}",
        stderr(&bad_rate)
    );
    let no_shop = shopctl()
        .args([
            "fault",
            "inject",
            "product",
            "--latency",
            "1s",
            "--base-port",
            &base,
        ])
        .args(["--admin-token", "x", "--data-dir"])
        .arg(data.path())
        .output()
        .unwrap();
    assert_one_line_error(
        &no_shop,
        &["cannot reach the product service", "shopctl status"],
    );
    // Attempted, so recorded: a failure, with what was asked and why it failed.
    let records = evidence(data.path()).await;
    assert_eq!(records.len(), 1, "{records:?}");
    let failed = &records[0];
    assert_eq!(failed["action"], "fault_inject");
    assert_eq!(failed["target"], "product");
    assert_eq!(failed["outcome"], "failure");
    assert_eq!(failed["details"]["latency_ms"], 1000, "{failed}");
    assert!(
        failed["details"]["error"]
            .as_str()
            .unwrap()
            .contains("cannot reach the product service"),
        "{failed}"
    );
    let no_token = shopctl()
        .args([
            "fault",
            "clear",
            "--base-port",
            &base,
            "--data-dir",
            "/nonexistent",
        ])
        .output()
        .unwrap();
    assert_one_line_error(&no_token, &["no admin token", "--admin-token"]);
    let nowhere = shopctl()
        .args(["loadgen", "--duration", "1s", "--base-port", &base])
        .output()
        .unwrap();
    assert_one_line_error(&nowhere, &["cannot reach the shop", "shopctl status"]);
    // A corrupt configuration is named with the fix.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("shopctl.toml"), "[gateway]\nport = \n").unwrap();
    let corrupt = crate::helpers::run_in(dir.path(), &["status"]);
    assert_one_line_error(&corrupt, &["shopctl.toml", "--base-port"]);
    let bad_think = shopctl()
        .args(["loadgen", "--think", "9s..1s"])
        .output()
        .unwrap();
    assert_eq!(bad_think.status.code(), Some(2));
}

/// A checkout answers 201 with a cancelled order when payment fails, so an order is counted
/// only when confirmed: with a processor that fails every authorization, the approved test card
/// buys nothing, and `--fail-on-error` says so (the cancellations are errors, not orders).
#[tokio::test]
async fn loadgen_fails_on_orders_cancelled_although_the_card_was_good() {
    let shop = RunningShop::start_with_env(&[], &[("SHOPCTL_PAYMENT__FAILURE_RATE", "1")]).await;
    let load = shop.ops(&[
        "loadgen",
        "--duration",
        "3s",
        "--users",
        "2",
        "--profile",
        "stress",
        "--fail-on-error",
        "--output",
        "json",
    ]);
    assert_eq!(load.status.code(), Some(1), "{}", stderr(&load));
    let report = json(&load);
    assert_eq!(report["orders"], 0, "{report}");
    let cancelled = report["cancelled"].as_u64().unwrap();
    assert!(cancelled > 0, "{report}");
    let checkout = report["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["route"] == "checkout")
        .unwrap();
    assert_eq!(checkout["errors"]["cancelled"], cancelled, "{report}");
    assert!(report["errors"].as_u64().unwrap() >= cancelled, "{report}");
}
