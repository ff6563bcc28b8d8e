//! Stock reads and admin adjustments.

use serde_json::{Value, json};

use crate::helpers::spawn_app;

#[tokio::test]
async fn admins_adjust_stock_and_everyone_reads_it() {
    let app = spawn_app(&[]).await;
    let missing = app
        .client
        .get(format!("{}/api/inventory/NOPE-1", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.headers()["content-type"],
        "application/problem+json"
    );

    assert_eq!(app.adjust("kettle-1", 12).await.status(), 200);
    assert_eq!(
        app.stock("KETTLE-1").await,
        json!({"sku": "KETTLE-1", "on_hand": 12, "reserved": 0, "available": 12})
    );
    let level: Value = app.adjust("KETTLE-1", -2).await.json().await.unwrap();
    assert_eq!(level["on_hand"], 10);

    // Not below zero, not for an unknown SKU, not without a reason, not by a customer.
    assert_eq!(app.adjust("KETTLE-1", -11).await.status(), 409);
    assert_eq!(app.adjust("GHOST-1", -1).await.status(), 404);
    assert_eq!(app.adjust("KETTLE-1", 0).await.status(), 422);
    let anonymous = app
        .client
        .post(format!("{}/api/inventory/KETTLE-1/adjust", app.url))
        .json(&json!({"delta": 5, "reason": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let bad_sku = app
        .client
        .get(format!("{}/api/inventory/bad%20sku", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_sku.status(), 400);

    // Every adjustment, refused ones too, is in the audit log.
    let audit = std::fs::read_to_string(app.data.path().join("audit/inventory.jsonl")).unwrap();
    assert_eq!(audit.lines().count(), 4, "{audit}");
    assert!(audit.contains("stock_adjustment"));
    assert!(
        shopctl_kit::audit::verify(&app.data.path().join("audit/inventory.jsonl"))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn stock_cannot_be_removed_from_under_a_reservation() {
    let app = spawn_app(&[]).await;
    app.adjust("MUG-1", 5).await;
    assert_eq!(
        app.reserve(uuid::Uuid::now_v7(), &[("MUG-1", 4)])
            .await
            .status(),
        201
    );
    assert_eq!(app.adjust("MUG-1", -2).await.status(), 409, "4 are held");
    assert_eq!(app.adjust("MUG-1", -1).await.status(), 200);
    assert_eq!(
        app.stock("MUG-1").await,
        json!({"sku": "MUG-1", "on_hand": 4, "reserved": 4, "available": 0})
    );
}
