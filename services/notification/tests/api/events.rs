//! `POST /internal/events` with the mail catcher (no `smtp_host`): exactly-once effect,
//! refusals that dead-letter at the producer, and what the admin lists show.

use serde_json::json;
use shopctl_notification::store::{NotificationStore as _, SqlNotificationStore};
use uuid::Uuid;

use crate::helpers::{ADMIN_TOKEN, assert_problem, confirmed, envelope, registered, spawn_app};

#[tokio::test]
async fn a_registered_user_gets_a_welcome_and_an_order_confirmation() {
    // Arrange
    let app = spawn_app().await;
    let user = Uuid::now_v7();
    let order = Uuid::now_v7();

    // Act
    app.accepted(&envelope(
        "user.registered",
        registered(user, "ana@example.com", "Ana"),
    ))
    .await;
    app.accepted(&envelope("order.confirmed", confirmed(order, user)))
        .await;
    app.drive_until("two caught mails", async || {
        app.caught_mail().await.len() == 2
    })
    .await;

    // Assert: newest first.
    let mails = app.caught_mail().await;
    let kinds: Vec<&str> = mails.iter().map(|m| m["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["order_confirmed", "welcome"]);
    for mail in &mails {
        assert_eq!(mail["to"], "ana@example.com", "{mail}");
        assert!(
            mail["text"].as_str().unwrap().contains("Hello Ana,"),
            "{mail}"
        );
        assert!(
            mail["html"]
                .as_str()
                .unwrap()
                .starts_with("<!doctype html>"),
            "{mail}"
        );
    }
    assert_eq!(mails[1]["subject"], "Welcome to shopctl");
    let confirmation = mails[0]["text"].as_str().unwrap();
    assert!(confirmation.contains("$58.99"), "{confirmation}");
    assert!(confirmation.contains("Black T-shirt × 2"), "{confirmation}");
    assert!(
        confirmation.contains(&format!("http://127.0.0.1:8080/orders/{order}")),
        "{confirmation}"
    );
    let deliveries = app.deliveries().await;
    assert_eq!(deliveries.len(), 2);
    assert!(
        deliveries
            .iter()
            .all(|d| d["status"] == "sent" && d["attempts"] == 1)
    );
    assert_eq!(app.depths().await, (0, 0));
}

#[tokio::test]
async fn the_same_event_delivered_twice_sends_one_mail() {
    let app = spawn_app().await;
    let event = envelope(
        "user.registered",
        registered(Uuid::now_v7(), "bo@example.com", "Bo"),
    );

    app.accepted(&event).await;
    app.accepted(&event).await;
    app.drive_until("one caught mail", async || {
        !app.caught_mail().await.is_empty()
    })
    .await;
    app.drive(3).await;
    app.accepted(&event).await;
    app.drive(3).await;

    let mails = app.caught_mail().await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0]["event_id"], event["id"]);
    assert_eq!(app.deliveries().await.len(), 1);
    assert_eq!(app.depths().await, (0, 0));
    let metrics = app.server.metrics().await;
    for line in [
        r#"notifications_received_total{topic="user.registered",result="accepted"} 1"#,
        r#"notifications_received_total{topic="user.registered",result="duplicate"} 2"#,
    ] {
        assert!(metrics.contains(line), "{line} missing from:\n{metrics}");
    }
}

#[tokio::test]
async fn an_order_event_for_an_unknown_user_is_refused_with_503_until_the_user_is_known() {
    let app = spawn_app().await;
    let user = Uuid::now_v7();
    let event = envelope("order.confirmed", confirmed(Uuid::now_v7(), user));

    let body = assert_problem(app.post_event(&event).await, 503, "unavailable").await;
    assert!(
        body["detail"].as_str().unwrap().contains("retry later"),
        "{body}"
    );
    assert_eq!(app.depths().await, (0, 0));

    // Retried after the registration arrived, the same event goes through: the refusal left
    // no inbox entry behind.
    app.accepted(&envelope(
        "user.registered",
        registered(user, "cy@example.com", "Cy"),
    ))
    .await;
    app.accepted(&event).await;
    assert_eq!(app.depths().await, (2, 0));
}

#[tokio::test]
async fn malformed_event_data_is_refused_with_422_naming_the_field() {
    let app = spawn_app().await;
    let user = Uuid::now_v7();
    app.accepted(&envelope(
        "user.registered",
        registered(user, "di@example.com", "Di"),
    ))
    .await;
    let mut bad_currency = confirmed(Uuid::now_v7(), user);
    bad_currency["total"]["currency"] = json!("dollars");
    let cases = [
        ("order.confirmed", bad_currency, "data.total.currency"),
        ("order.confirmed", json!({"user_id": user}), "data"),
        (
            "user.registered",
            registered(Uuid::now_v7(), "not an address", "Ed"),
            "data.email",
        ),
        (
            "payment.failed",
            json!({"order_id": "o-1", "user_id": user, "reason": "declined"}),
            "data.order_id",
        ),
    ];
    for (topic, data, field) in cases {
        let response = app.post_event(&envelope(topic, data)).await;
        let body = assert_problem(response, 422, "validation").await;
        assert_eq!(body["field"], field, "{topic}: {body}");
    }
    // Only the registration's welcome mail was queued.
    assert_eq!(app.depths().await, (1, 0));
}

#[tokio::test]
async fn only_services_may_post_events() {
    let app = spawn_app().await;
    let event = envelope(
        "user.registered",
        registered(Uuid::now_v7(), "fe@example.com", "Fe"),
    );

    assert_problem(
        app.post_event_as(ADMIN_TOKEN, &event).await,
        403,
        "forbidden",
    )
    .await;
    let anonymous = app
        .client
        .post(format!("{}/internal/events", app.url))
        .json(&event)
        .send()
        .await
        .unwrap();
    assert_problem(anonymous, 401, "unauthorized").await;
    assert_eq!(app.depths().await, (0, 0));
}

#[tokio::test]
async fn unknown_topics_are_acknowledged_and_ignored() {
    let app = spawn_app().await;

    app.accepted(&envelope("order.shipped", json!({"anything": true})))
        .await;

    assert_eq!(app.depths().await, (0, 0));
}

#[tokio::test]
async fn an_erased_user_is_forgotten_and_gets_no_more_mail() {
    let app = spawn_app().await;
    let user = Uuid::now_v7();
    app.accepted(&envelope(
        "user.registered",
        registered(user, "gu@example.com", "Gu"),
    ))
    .await;
    let store = SqlNotificationStore::new(app.db.clone());
    assert!(store.contact(user).await.unwrap().is_some());

    app.accepted(&envelope("user.erased", json!({"user_id": user})))
        .await;

    assert!(store.contact(user).await.unwrap().is_none());
    let late = envelope(
        "order.cancelled",
        json!({"order_id": Uuid::now_v7(), "user_id": user, "reason": "Out of stock"}),
    );
    assert_problem(app.post_event(&late).await, 503, "unavailable").await;
    // Only the welcome mail is queued.
    assert_eq!(app.depths().await, (1, 0));
}

#[tokio::test]
async fn the_admin_lists_need_an_admin_and_page_newest_first() {
    let app = spawn_app().await;
    for i in 0..3 {
        app.accepted(&envelope(
            "user.registered",
            registered(Uuid::now_v7(), &format!("user{i}@example.com"), "U"),
        ))
        .await;
    }
    app.drive_until("three caught mails", async || {
        app.caught_mail().await.len() == 3
    })
    .await;

    let first = app.admin_get("/api/notifications/outbox?limit=2").await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    assert_eq!(first["items"][0]["to"], "user2@example.com");
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = app
        .admin_get(&format!(
            "/api/notifications/outbox?limit=2&cursor={cursor}"
        ))
        .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest["items"][0]["to"], "user0@example.com");
    assert!(rest["next_cursor"].is_null(), "{rest}");

    for (query, slug, status) in [
        ("?limit=0", "bad-request", 400),
        ("?limit=501", "bad-request", 400),
    ] {
        let response = app
            .client
            .get(format!("{}/api/notifications/deliveries{query}", app.url))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        assert_problem(response, status, slug).await;
    }
    let as_service = app
        .client
        .get(format!("{}/api/notifications/outbox", app.url))
        .bearer_auth(&app.service)
        .send()
        .await
        .unwrap();
    assert_problem(as_service, 403, "forbidden").await;
}
