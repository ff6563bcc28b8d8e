//! `shopctl events dlq list|show|redrive` against a service database with a dead letter in it.

use serde_json::Value;
use shopctl_kit::{db::Db, events, sql::Param};

use crate::helpers::{assert_one_line_error, run_in, stderr, stdout};

/// Puts one dead letter into the inventory database under `dir/data`; returns its id.
async fn dead_letter(dir: &std::path::Path) -> String {
    let url = secrecy::SecretString::from(format!(
        "sqlite://{}",
        dir.join("data/inventory.db").display()
    ));
    let db = Db::connect(&url, shopctl_kit::db::PoolOptions::default())
        .await
        .unwrap();
    events::install(&db).await.unwrap();
    let id = uuid::Uuid::now_v7().to_string();
    db.execute(
        "INSERT INTO events_dead_letters
         (id, event_id, topic, destination, payload, occurred_at, attempts, last_error, failed_at)
         VALUES (?, ?, 'stock.low', 'http://127.0.0.1:9/events', '{\"sku\":\"A-1\"}', ?, 8, 'answered 503', ?)",
        &[
            Param::Text(id.clone()),
            Param::Text(uuid::Uuid::now_v7().to_string()),
            Param::Time(chrono::Utc::now()),
            Param::Time(chrono::Utc::now()),
        ],
    )
    .await
    .unwrap();
    db.close().await;
    id
}

fn dlq(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["events", "dlq"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--service", "inventory", "--data-dir", "data"]);
    run_in(dir, &all)
}

#[tokio::test]
async fn dead_letters_are_listed_shown_and_redriven() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dlq(dir.path(), &["list", "--output", "json"]);
    assert!(empty.status.success(), "{}", stderr(&empty));
    assert_eq!(
        serde_json::from_slice::<Value>(&empty.stdout).unwrap(),
        serde_json::json!([])
    );

    let id = dead_letter(dir.path()).await;
    let listed = dlq(dir.path(), &["list"]);
    assert!(listed.status.success());
    let text = stdout(&listed);
    assert!(
        text.contains(&id) && text.contains("stock.low") && text.contains("answered 503"),
        "{text}"
    );

    let shown = dlq(dir.path(), &["show", &id, "--output", "json"]);
    let row: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(row["attempts"], 8);
    assert_eq!(row["payload"], "{\"sku\":\"A-1\"}");

    assert_one_line_error(
        &dlq(dir.path(), &["show", "no-such-id"]),
        &["no-such-id", "dlq list"],
    );
    assert_one_line_error(
        &dlq(dir.path(), &["redrive", "no-such-id"]),
        &["no-such-id"],
    );
    let usage = dlq(dir.path(), &["redrive"]);
    assert_eq!(usage.status.code(), Some(2), "id or --all is required");

    let redriven = dlq(dir.path(), &["redrive", &id, "--output", "json"]);
    assert!(redriven.status.success(), "{}", stderr(&redriven));
    assert_eq!(
        serde_json::from_slice::<Value>(&redriven.stdout).unwrap()["redriven"],
        1
    );
    let after = dlq(dir.path(), &["list", "--output", "json"]);
    assert_eq!(
        serde_json::from_slice::<Value>(&after.stdout).unwrap(),
        serde_json::json!([])
    );
}
