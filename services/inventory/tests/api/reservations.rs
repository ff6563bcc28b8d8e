//! Reservations: all or nothing, never over-reserved under concurrency, idempotent transitions,
//! expiry.

use std::sync::Arc;

use serde_json::Value;
use uuid::Uuid;

use crate::helpers::spawn_app;

#[tokio::test]
async fn an_order_gets_all_its_lines_or_none() {
    let app = spawn_app(&[]).await;
    app.adjust("A-1", 5).await;
    app.adjust("B-1", 1).await;
    let refused = app.reserve(Uuid::now_v7(), &[("A-1", 2), ("B-1", 2)]).await;
    assert_eq!(refused.status(), 409);
    let problem: Value = refused.json().await.unwrap();
    assert!(
        problem["detail"].as_str().unwrap().contains("B-1"),
        "{problem}"
    );
    // A-1's two units were not kept.
    assert_eq!(app.stock("A-1").await["reserved"], 0);

    let order = Uuid::now_v7();
    let held = app.reserve(order, &[("a-1", 2), ("B-1", 1)]).await;
    assert_eq!(held.status(), 201);
    let view: Value = held.json().await.unwrap();
    assert_eq!(view["status"], "held");
    assert_eq!(app.stock("A-1").await["available"], 3);
    assert_eq!(app.stock("B-1").await["available"], 0);

    // The same request again is the same reservation, not a second one.
    let again: Value = app
        .reserve(order, &[("A-1", 2), ("B-1", 1)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again, view);
    assert_eq!(app.stock("A-1").await["reserved"], 2);
    // Other lines for the same order are a conflict.
    assert_eq!(app.reserve(order, &[("A-1", 1)]).await.status(), 409);
}

#[tokio::test]
async fn confirm_and_release_move_units_once() {
    let app = spawn_app(&[]).await;
    app.adjust("C-1", 10).await;
    let paid = Uuid::now_v7();
    let cancelled = Uuid::now_v7();
    app.reserve(paid, &[("C-1", 3)]).await;
    app.reserve(cancelled, &[("C-1", 4)]).await;

    for _ in 0..2 {
        assert_eq!(app.transition(paid, "confirm").await.status(), 200);
        assert_eq!(app.transition(cancelled, "release").await.status(), 200);
    }
    let level = app.stock("C-1").await;
    assert_eq!(level["on_hand"], 7);
    assert_eq!(level["reserved"], 0);
    assert_eq!(level["available"], 7);
    assert_eq!(app.transition(paid, "release").await.status(), 409);
    assert_eq!(app.transition(cancelled, "confirm").await.status(), 409);
    assert_eq!(
        app.transition(Uuid::now_v7(), "confirm").await.status(),
        404
    );
}

#[tokio::test]
async fn only_services_reserve() {
    let app = spawn_app(&[]).await;
    app.adjust("D-1", 1).await;
    let admin = app
        .client
        .post(format!("{}/internal/reservations", app.url))
        .bearer_auth(crate::helpers::ADMIN_TOKEN)
        .json(&serde_json::json!({"order_id": Uuid::now_v7(), "lines": [{"sku": "D-1", "quantity": 1}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), 403);
    let wrong_audience = app
        .client
        .post(format!("{}/internal/reservations", app.url))
        .bearer_auth(shopctl_kit::testing::service_token("order", "payment"))
        .json(&serde_json::json!({"order_id": Uuid::now_v7(), "lines": [{"sku": "D-1", "quantity": 1}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_audience.status(), 401);
}

#[tokio::test]
async fn five_hundred_concurrent_orders_for_ten_units_hold_exactly_ten() {
    let app = Arc::new(spawn_app(&[]).await);
    app.adjust("LAST-1", 10).await;
    let tasks: Vec<_> = (0..500)
        .map(|_| {
            let app = Arc::clone(&app);
            tokio::spawn(async move {
                app.reserve(Uuid::now_v7(), &[("LAST-1", 1)])
                    .await
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut held = 0;
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap() {
            201 => held += 1,
            409 => refused += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!((held, refused), (10, 490));
    let level = app.stock("LAST-1").await;
    assert_eq!(level["reserved"], 10);
    assert_eq!(level["available"], 0);
}

#[tokio::test]
async fn expired_reservations_are_released_by_the_sweeper() {
    let app = spawn_app(&[]).await;
    app.adjust("E-1", 2).await;
    let order = Uuid::now_v7();
    let held = app
        .client
        .post(format!("{}/internal/reservations", app.url))
        .bearer_auth(&app.service)
        .json(&serde_json::json!({"order_id": order, "lines": [{"sku": "E-1", "quantity": 2}], "ttl_secs": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(held.status(), 201);
    assert_eq!(app.sweeper.run_once().await.unwrap(), 0, "not yet");
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    assert_eq!(app.sweeper.run_once().await.unwrap(), 1);
    assert_eq!(app.stock("E-1").await["available"], 2);
    // Confirming after expiry is refused: the units may be someone else's now.
    assert_eq!(app.transition(order, "confirm").await.status(), 409);
}
