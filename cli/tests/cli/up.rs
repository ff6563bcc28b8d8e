//! `shopctl up`: the whole shop as supervised child processes. A killed child is restarted, and
//! SIGTERM stops every child with no orphan left. While it runs, `run/processes.json` names each
//! service's process and its restarts.

use std::time::Duration;

use sqlx::Connection as _;

use crate::helpers::{RunningShop, alive, assert_owner_only, free_base, shopctl, signal, wait_for};

/// `run/processes.json` of the shop in `data`, when there is one.
fn processes(data: &std::path::Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(data.join("run").join("processes.json")).ok()?;
    Some(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")))
}

/// The pid `run/processes.json` gives `service`.
fn pid_of(processes: &serde_json::Value, service: &str) -> u32 {
    u32::try_from(processes["services"][service]["pid"].as_u64().unwrap()).unwrap()
}

#[tokio::test]
async fn up_runs_the_shop_heals_a_killed_child_and_stops_cleanly() {
    let shop = RunningShop::start(&[]).await;
    let base = shop.base;
    let report = &shop.report;
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
    assert_eq!(pids.len(), 8, "every service, the storefront included");
    // `version` names exactly the services `up` starts.
    let version = shopctl()
        .args(["version", "--output", "json"])
        .output()
        .unwrap();
    let version: serde_json::Value = serde_json::from_slice(&version.stdout).unwrap();
    let mut listed: Vec<&str> = version["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    let mut started: Vec<&str> = pids.iter().map(|(s, _)| s.as_str()).collect();
    listed.sort_unstable();
    started.sort_unstable();
    assert_eq!(listed, started, "`version` against what `up` started");

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
    // Data at rest: databases (with their WAL), logs, secrets, configuration and the process
    // list, owner-only.
    assert_owner_only(&shop.data());

    // The process list names every service's live child, none restarted yet.
    let listed = processes(&shop.data()).expect("run/processes.json while up runs");
    assert_eq!(listed["up_pid"], shop.child.id(), "{listed}");
    assert_eq!(listed["in_process"], false, "{listed}");
    assert_eq!(listed["services"].as_object().unwrap().len(), 8, "{listed}");
    for (service, pid) in &pids {
        let process = &listed["services"][service.as_str()];
        assert_eq!(process["pid"], *pid, "{service}: {listed}");
        assert_eq!(process["restarts"], 0, "{service}: {listed}");
        assert!(process["started_at"].is_string(), "{listed}");
        assert!(alive(*pid), "{service} (pid {pid}) is alive");
    }

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
    // The list follows: a new live pid, one restart; the other services untouched.
    let data = shop.data();
    wait_for("the new product pid in run/processes.json", || {
        processes(&data).is_some_and(|p| pid_of(&p, "product") != product_pid)
    })
    .await;
    let listed = processes(&data).unwrap();
    let new_pid = pid_of(&listed, "product");
    assert!(
        alive(new_pid),
        "the new product process (pid {new_pid}) is alive"
    );
    assert!(!alive(product_pid), "the killed one is gone");
    assert_eq!(listed["services"]["product"]["restarts"], 1, "{listed}");
    assert_eq!(listed["services"]["gateway"]["restarts"], 0, "{listed}");
    // `status` reads the restarts from it.
    let status = shop.ops(&["status", "--window", "100ms", "--output", "json"]);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let restarts: Vec<(&str, u64)> = status["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["service"].as_str().unwrap(),
                s["restarts"].as_u64().unwrap(),
            )
        })
        .filter(|(_, restarts)| *restarts > 0)
        .collect();
    assert_eq!(restarts, [("product", 1)], "{status}");
    let text = shop.ops(&["status", "--window", "100ms"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.lines().next().unwrap().ends_with("RESTARTS"), "{text}");

    // SIGTERM stops everything: up exits 0, no child is left and neither is the list.
    let (status, _dir) = shop.stop_keeping_data().await;
    assert!(status.success(), "{status:?}");
    assert!(
        data.join("platform.toml").exists(),
        "the data is still there"
    );
    assert!(processes(&data).is_none(), "run/processes.json is removed");
    assert!(!alive(new_pid), "the restarted child is stopped too");
    wait_for("children gone", || pids.iter().all(|(_, pid)| !alive(*pid))).await;
    let ports_free = (0..8).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok());
    assert!(ports_free, "every port is released");
}

/// `kill -9` of `up` itself, which can clean nothing up: every child reads end-of-file on its
/// lifeline (the write end died with `up`) and shuts down gracefully, so within 3 s no child
/// is left and every port is free.
#[tokio::test]
async fn a_killed_up_leaves_no_child_and_no_port_behind() {
    let shop = RunningShop::start(&[]).await;
    let base = shop.base;
    let pids: Vec<u32> = shop.report["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| u32::try_from(s["pid"].as_u64().unwrap()).unwrap())
        .collect();
    assert_eq!(pids.len(), 8);
    assert!(pids.iter().all(|pid| alive(*pid)));

    signal(shop.child.id(), "-9");
    let killed = std::time::Instant::now();
    let ports_free =
        || (0..8).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok());
    while killed.elapsed() < Duration::from_secs(3)
        && !(pids.iter().all(|pid| !alive(*pid)) && ports_free())
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let left: Vec<u32> = pids.iter().copied().filter(|pid| alive(*pid)).collect();
    assert!(
        left.is_empty(),
        "children left 3 s after kill -9 of up: {left:?}"
    );
    assert!(ports_free(), "every port is free");
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
    assert_eq!(report["not_ready"].as_array().unwrap().len(), 8);
    let bad = shopctl()
        .args(["wait", "--healthy", "--timeout", "soon"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[tokio::test]
async fn up_in_process_runs_every_service_in_one_process() {
    // Every request's line is at level info (the tests' default is warn).
    let shop = RunningShop::start_with_env(&["--in-process"], &[("RUST_LOG", "info")]).await;
    let report = shop.report.clone();
    assert_eq!(report["ready"], true, "{report}");
    assert_eq!(report["in_process"], true);
    let pid = u64::from(shop.child.id());
    for service in report["services"].as_array().unwrap() {
        assert_eq!(service["pid"], pid, "{service}");
    }
    // The process list says so: one process, which no service can be restarted apart from.
    let listed = processes(&shop.data()).expect("run/processes.json while up runs");
    assert_eq!(listed["in_process"], true, "{listed}");
    assert_eq!(listed["up_pid"], pid, "{listed}");
    let services = listed["services"].as_object().unwrap();
    assert_eq!(services.len(), 8, "{listed}");
    assert!(
        services
            .values()
            .all(|s| s["pid"] == pid && s["restarts"] == 0),
        "{listed}"
    );
    // The whole shop answers from the one process: catalog, stock, sign-in.
    let products: serde_json::Value =
        reqwest::get(format!("{}/api/products?limit=1", shop.gateway()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let sku = products["items"][0]["sku"].as_str().unwrap();
    let stock = reqwest::get(format!("{}/api/inventory/{sku}", shop.gateway()))
        .await
        .unwrap();
    assert_eq!(stock.status(), 200);
    let status = shop.ops(&["status", "--window", "100ms"]);
    assert_eq!(status.status.code(), Some(0));

    // One process, one set of process metrics, and it says it is shared.
    let mut shared = Vec::new();
    for service in report["services"].as_array().unwrap() {
        let metrics = reqwest::get(format!("{}/metrics", service["url"].as_str().unwrap()))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metrics.contains("process_resident_memory_bytes{") {
            assert!(
                metrics.contains(r#"process_resident_memory_bytes{scope="shared"}"#),
                "{metrics}"
            );
            shared.push(service["service"].as_str().unwrap().to_owned());
        }
        // The gateway counts by the public route template, not by its catch-all.
        if service["service"] == "gateway" {
            assert!(
                metrics.contains(r#"route="/api/inventory/{sku}",method="GET",status="200""#),
                "{metrics}"
            );
            assert!(!metrics.contains("{*path}"), "{metrics}");
        }
    }
    assert_eq!(shared.len(), 1, "process metrics from {shared:?}");

    // Each service's lines in its own file, as a child's would be.
    let logs = shop.data().join("logs");
    for service in ["gateway", "product", "inventory"] {
        let text = std::fs::read_to_string(logs.join(format!("{service}.log"))).unwrap_or_default();
        let line = text
            .lines()
            .find(|l| l.contains("\"request served\""))
            .unwrap_or_else(|| panic!("no request line in {service}.log: {text}"));
        let line: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(line["service"], service, "{line}");
    }
    let base = shop.base;
    let data = shop.data();
    let (stopped, _dir) = shop.stop_keeping_data().await;
    assert!(stopped.success(), "{stopped:?}");
    assert!(
        data.join("platform.toml").exists(),
        "the data is still there"
    );
    assert!(processes(&data).is_none(), "run/processes.json is removed");
    assert!(
        (0..8).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok()),
        "every port is released"
    );
}

/// `up --postgres`: the same shop with a database per service on the machine's PostgreSQL.
#[tokio::test]
async fn up_on_postgres_makes_a_database_per_service() {
    let server = shopctl_kit::testing::postgres_admin_url();
    let prefix = format!("up_{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let url = format!(
        "{}/{prefix}",
        server
            .rsplit_once('/')
            .map_or(server.as_str(), |(base, _)| base)
    );
    let shop = RunningShop::start(&["--postgres", &url]).await;
    let report = shop.report.clone();
    assert_eq!(report["ready"], true, "{report}");
    assert_eq!(report["database"], "postgres");
    let products: serde_json::Value =
        reqwest::get(format!("{}/api/products?limit=1", shop.gateway()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert!(
        !products["items"].as_array().unwrap().is_empty(),
        "seeded on PostgreSQL"
    );
    assert!(stopped_cleanly(shop).await);

    let mut admin = sqlx::PgConnection::connect(&server).await.unwrap();
    let names: Vec<(String,)> = sqlx::query_as(
        "SELECT datname::text FROM pg_database WHERE datname LIKE $1 ORDER BY datname",
    )
    .bind(format!("{prefix}_%"))
    .fetch_all(&mut admin)
    .await
    .unwrap();
    let names: Vec<String> = names.into_iter().map(|(n,)| n).collect();
    assert_eq!(
        names,
        [
            "inventory",
            "notification",
            "order",
            "payment",
            "product",
            "user"
        ]
        .map(|s| format!("{prefix}_{s}"))
    );
    let products: (i64,) = sqlx::query_as("SELECT count(*) FROM products")
        .fetch_one(
            &mut sqlx::PgConnection::connect(&format!(
                "{}/{prefix}_product",
                server.rsplit_once('/').unwrap().0
            ))
            .await
            .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(products.0, 100);
    for name in names {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#
        )))
        .execute(&mut admin)
        .await
        .unwrap();
    }
}

async fn stopped_cleanly(shop: RunningShop) -> bool {
    shop.stop().await.success()
}

#[test]
fn up_refuses_bad_input_in_one_line_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let base = free_base();

    // A port in use, named with the service that needed it.
    let holder = std::net::TcpListener::bind(("127.0.0.1", base + 4)).unwrap();
    let output = shopctl()
        .args(["up", "--base-port", &base.to_string(), "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    crate::helpers::assert_one_line_error(
        &output,
        &[&format!("port {}", base + 4), "order", "--base-port"],
    );
    drop(holder);
    assert!(!data.exists(), "nothing was created");

    // PostgreSQL that does not answer.
    let output = shopctl()
        .args(["up", "--base-port", &base.to_string(), "--data-dir"])
        .arg(&data)
        .args(["--postgres", "postgres://postgres@127.0.0.1:1/shop"])
        .output()
        .unwrap();
    crate::helpers::assert_one_line_error(&output, &["127.0.0.1:1", "--postgres"]);
    assert!(!data.exists(), "nothing was created");
    let output = shopctl()
        .args(["up", "--base-port", &base.to_string(), "--data-dir"])
        .arg(&data)
        .args(["--postgres", "mysql://root@localhost/shop"])
        .output()
        .unwrap();
    crate::helpers::assert_one_line_error(&output, &["not a PostgreSQL URL"]);

    // Corrupt secrets are named, with the fix, in one line (in a data directory that is already
    // owner-only, so no warning comes before the error).
    std::fs::create_dir_all(&data).unwrap();
    std::fs::set_permissions(&data, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    std::fs::write(data.join("secrets.toml"), "garbage =\n").unwrap();
    let output = shopctl()
        .args(["up", "--base-port", &base.to_string(), "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    crate::helpers::assert_one_line_error(&output, &["secrets.toml", "is corrupt", "delete it"]);

    // A data directory that cannot be made.
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let output = shopctl()
        .args(["up", "--base-port", &base.to_string(), "--data-dir"])
        .arg(file.join("data"))
        .output()
        .unwrap();
    crate::helpers::assert_one_line_error(
        &output,
        &["cannot create the data directory", "--data-dir"],
    );
}
