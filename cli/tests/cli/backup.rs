//! `shopctl backup` and `shopctl restore` on real shops (`shopctl up`, SQLite and PostgreSQL):
//! a backup taken while the shop serves, proved by `backup verify`, put back by `restore`; and
//! every kind of damage named.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{RunningShop, assert_one_line_error, shopctl, stderr, stdout};

/// Registers a shopper through `gateway` and checks one unit of the first product out; returns
/// the order.
async fn place_order(gateway: &str) -> Value {
    let client = reqwest::Client::new();
    let email = format!("backup-{}@example.com", uuid::Uuid::new_v4().simple());
    let (_, token) = shopctl_tests::shop::customer_at(gateway, &email).await;
    let token = token.as_str();
    let products: Value = client
        .get(format!("{gateway}/api/products?limit=1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sku = products["items"][0]["sku"].as_str().unwrap();
    let added = client
        .post(format!("{gateway}/api/cart/items"))
        .bearer_auth(token)
        .json(&json!({"sku": sku, "quantity": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    let order: Value = client
        .post(format!("{gateway}/api/orders"))
        .bearer_auth(token)
        .header("idempotency-key", uuid::Uuid::new_v4().to_string())
        .json(&shopctl_tests::shop::checkout_body("4242424242424242"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(order["status"], "confirmed", "{order}");
    order
}

/// `shopctl <args> --data-dir D` of `shop` (the commands that need no running shop).
fn offline(shop: &RunningShop, args: &[&str]) -> std::process::Output {
    shopctl()
        .args(args)
        .arg("--data-dir")
        .arg(shop.data())
        .output()
        .unwrap()
}

fn json_of(output: &std::process::Output) -> Value {
    serde_json::from_str(&stdout(output))
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(output), stderr(output)))
}

/// Backed up while serving, changed afterwards, then restored: the databases are the backup's
/// byte for byte, the order placed after the backup is gone and the shop serves again.
#[tokio::test]
async fn a_backup_taken_while_serving_verifies_and_restores_the_shop_as_it_was() {
    let shop = RunningShop::start(&[]).await;
    let before = place_order(&shop.gateway()).await;
    let created = shop.ops(&["backup", "create", "--name", "b1", "--output", "json"]);
    assert_eq!(created.status.code(), Some(0), "{}", stderr(&created));
    let manifest = json_of(&created);
    assert_eq!(manifest["online"], true, "{manifest}");
    assert_eq!(manifest["databases"].as_array().unwrap().len(), 6);
    let orders = manifest["databases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["service"] == "order")
        .unwrap();
    assert!(
        orders["tables"]["orders"].as_i64().unwrap() >= 1,
        "{orders}"
    );
    eprintln!("writes paused for {} ms", manifest["pause_ms"]);

    // After the backup: another order.
    let after = place_order(&shop.gateway()).await;

    let verified = offline(&shop, &["backup", "verify", "b1", "--output", "json"]);
    assert_eq!(
        verified.status.code(),
        Some(0),
        "{}{}",
        stdout(&verified),
        stderr(&verified)
    );
    let verification = json_of(&verified);
    assert_eq!(verification["ok"], true, "{verification}");
    assert!(verification["rto_ms"].as_u64().is_some(), "{verification}");
    assert!(shop.data().join("backups/b1/verified.json").is_file());

    // Taking and putting back a backup is in the operator's audit trail.
    let trail =
        || std::fs::read_to_string(shop.data().join("audit/shopctl.jsonl")).unwrap_or_default();
    assert!(
        trail().contains("\"action\":\"backup_create\""),
        "{}",
        trail()
    );

    let listed = json_of(&offline(&shop, &["backup", "list", "--output", "json"]));
    assert_eq!(listed[0]["name"], "b1");

    // A running shop's data is not restored from under it.
    let refused = offline(&shop, &["restore", "b1"]);
    assert_one_line_error(&refused, &["is running", "stop it"]);

    let (status, dir) = shop.stop_keeping_data().await;
    assert!(status.success());
    let data = dir.path().join("data");
    let restored = shopctl()
        .args(["restore", "b1", "--output", "json", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(restored.status.code(), Some(0), "{}", stderr(&restored));
    let report = json_of(&restored);
    assert_eq!(report["services"].as_array().unwrap().len(), 6);
    let previous = std::path::PathBuf::from(report["previous"].as_str().unwrap());
    let trail = std::fs::read_to_string(data.join("audit/shopctl.jsonl")).unwrap();
    assert!(trail.contains("\"action\":\"restore\""), "{trail}");
    assert!(
        previous.join("order.db").is_file(),
        "the replaced data is kept"
    );
    // Each database is the backup's snapshot, byte for byte.
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(data.join("backups/b1/manifest.json")).unwrap(),
    )
    .unwrap();
    for database in manifest["databases"].as_array().unwrap() {
        let file = database["file"].as_str().unwrap();
        let stored = std::fs::read(data.join("backups/b1").join(file)).unwrap();
        let raw = shopctl::backup::seal::unpack(
            &stored,
            file,
            None,
            database["raw_bytes"].as_u64().unwrap(),
        )
        .unwrap();
        let service = database["service"].as_str().unwrap();
        assert!(
            std::fs::read(data.join(format!("{service}.db"))).unwrap() == raw,
            "{service} differs from the backup"
        );
    }

    // The shop runs on the restored data: the first order is there, the second is not.
    let again = RunningShop::start_in(dir, &[]).await;
    let client = reqwest::Client::new();
    let secrets: toml::Table =
        toml::from_str(&std::fs::read_to_string(again.data().join("secrets.toml")).unwrap())
            .unwrap();
    let admin = secrets["admin_token"].as_str().unwrap();
    let read = |id: &str| {
        client
            .get(format!("{}/api/orders/{id}", again.gateway()))
            .bearer_auth(admin)
            .send()
    };
    assert_eq!(
        read(before["id"].as_str().unwrap()).await.unwrap().status(),
        200
    );
    assert_eq!(
        read(after["id"].as_str().unwrap()).await.unwrap().status(),
        404
    );
    assert!(again.stop().await.success());
}

/// Damage to a backup is found and named: a flipped byte, a truncated file, a missing file, a
/// manifest of a newer format, a wrong or missing key.
#[tokio::test]
async fn damaged_backups_fail_verify_naming_the_file() {
    let shop = RunningShop::start(&[]).await;
    let key = shop.dir.path().join("backup.key");
    std::fs::write(&key, format!("{}\n", "5a".repeat(32))).unwrap();
    for name in ["plain", "sealed"] {
        let mut args = vec!["backup", "create", "--name", name];
        if name == "sealed" {
            args.extend(["--encrypt-key-file", key.to_str().unwrap()]);
        }
        let created = shop.ops(&args);
        assert_eq!(created.status.code(), Some(0), "{}", stderr(&created));
    }
    let backups = shop.data().join("backups");

    // Sealed: nothing of the database shows, and the key is needed and must be the one.
    let sealed = std::fs::read(backups.join("sealed/user.db.zst")).unwrap();
    assert!(!sealed.windows(15).any(|w| w == b"SQLite format 3"));
    let no_key = offline(&shop, &["backup", "verify", "sealed"]);
    assert_one_line_error(&no_key, &["encrypted", "--encrypt-key-file"]);
    let other = shop.dir.path().join("other.key");
    std::fs::write(&other, "6b".repeat(32)).unwrap();
    let wrong = offline(
        &shop,
        &[
            "backup",
            "verify",
            "sealed",
            "--encrypt-key-file",
            other.to_str().unwrap(),
        ],
    );
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        stdout(&wrong).contains("key is wrong"),
        "{}",
        stdout(&wrong)
    );
    let bad_key = shop.dir.path().join("bad.key");
    std::fs::write(&bad_key, "not a key").unwrap();
    let unreadable = shop.ops(&[
        "backup",
        "create",
        "--encrypt-key-file",
        bad_key.to_str().unwrap(),
    ]);
    assert_one_line_error(
        &unreadable,
        &["holds no backup key", "openssl rand -hex 32"],
    );

    // A flipped byte, a truncated file, a missing file: each named.
    let flip = backups.join("plain/product.db.zst");
    let mut bytes = std::fs::read(&flip).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&flip, &bytes).unwrap();
    let truncated = backups.join("plain/inventory.db.zst");
    let bytes = std::fs::read(&truncated).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    std::fs::remove_file(backups.join("plain/payment.db.zst")).unwrap();
    let verified = offline(&shop, &["backup", "verify", "plain", "--output", "json"]);
    assert_eq!(verified.status.code(), Some(1), "{}", stderr(&verified));
    let report = json_of(&verified);
    assert_eq!(report["ok"], false);
    let problems = report["problems"].to_string();
    for file in ["product.db.zst", "inventory.db.zst", "payment.db.zst"] {
        assert!(problems.contains(file), "{file} not named: {problems}");
    }
    assert!(report["rto_ms"].is_null());

    // A newer manifest format is refused by name.
    let manifest = backups.join("sealed/manifest.json");
    let text =
        std::fs::read_to_string(&manifest)
            .unwrap()
            .replacen("\"format\": 1", "\"format\": 99", 1);
    std::fs::write(&manifest, text).unwrap();
    let newer = offline(&shop, &["backup", "describe", "sealed"]);
    assert_one_line_error(&newer, &["manifest format 99", "newer shopctl"]);

    let missing = offline(&shop, &["backup", "describe", "nothing-here"]);
    assert_one_line_error(&missing, &["no backup named nothing-here", "backup list"]);
    let taken = shop.ops(&["backup", "create", "--name", "plain"]);
    assert_one_line_error(&taken, &["exists already", "--name"]);
    assert!(shop.stop().await.success());
}

/// Backups past their time to live are listed by `prune --dry-run` and deleted by `prune`.
#[tokio::test]
async fn prune_deletes_only_what_has_expired() {
    let shop = RunningShop::start(&[]).await;
    for (name, ttl) in [("short", "1s"), ("long", "720h")] {
        let created = shop.ops(&["backup", "create", "--name", name, "--ttl", ttl]);
        assert_eq!(created.status.code(), Some(0), "{}", stderr(&created));
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let dry = json_of(&offline(
        &shop,
        &["backup", "prune", "--dry-run", "--output", "json"],
    ));
    assert_eq!(dry["expired"], json!(["short"]));
    assert!(shop.data().join("backups/short").is_dir(), "dry run");
    let pruned = json_of(&offline(&shop, &["backup", "prune", "--output", "json"]));
    assert_eq!(pruned["expired"], json!(["short"]));
    assert!(!shop.data().join("backups/short").exists());
    let trail = std::fs::read_to_string(shop.data().join("audit/shopctl.jsonl")).unwrap();
    assert!(trail.contains("\"action\":\"backup_delete\""), "{trail}");
    assert!(trail.contains("\"target\":\"short\""), "{trail}");
    assert!(shop.data().join("backups/long").is_dir());
    assert!(shop.stop().await.success());
}

/// On PostgreSQL: `pg_dump` of every service database in one exported snapshot, verified by
/// restoring into scratch databases on the same server and serving a shop on them.
#[tokio::test]
async fn a_postgres_shop_is_backed_up_and_verified_on_scratch_databases() {
    let server = shopctl_kit::testing::postgres_admin_url();
    let prefix = format!("bk_{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let root = server
        .rsplit_once('/')
        .map_or(server.as_str(), |(r, _)| r)
        .to_owned();
    let url = format!("{root}/{prefix}");
    let shop = RunningShop::start(&["--postgres", &url]).await;
    place_order(&shop.gateway()).await;
    let created = shop.ops(&[
        "backup",
        "create",
        "--name",
        "pg",
        "--postgres",
        &url,
        "--output",
        "json",
    ]);
    assert_eq!(created.status.code(), Some(0), "{}", stderr(&created));
    let manifest = json_of(&created);
    assert!(
        manifest["databases"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["backend"] == "postgres"
                && d["file"].as_str().unwrap().ends_with(".dump.zst"))
    );
    let verified = offline(
        &shop,
        &[
            "backup",
            "verify",
            "pg",
            "--postgres",
            &server,
            "--output",
            "json",
        ],
    );
    assert_eq!(
        verified.status.code(),
        Some(0),
        "{}{}",
        stdout(&verified),
        stderr(&verified)
    );
    assert_eq!(json_of(&verified)["ok"], true);
    assert!(shop.stop().await.success());
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&server)
        .await
        .unwrap();
    let left: Vec<(String,)> = sqlx::query_as(
        "SELECT datname::text FROM pg_database WHERE datname LIKE 'shopctl_verify_%' OR datname LIKE $1",
    )
    .bind(format!("{prefix}_%"))
    .fetch_all(&mut admin)
    .await
    .unwrap();
    for (name,) in &left {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#
        )))
        .execute(&mut admin)
        .await
        .unwrap();
    }
    assert!(
        left.iter().all(|(n,)| n.starts_with(&prefix)),
        "verify left scratch databases behind: {left:?}"
    );
}
