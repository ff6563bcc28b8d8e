//! The life of a payment after authorization: capture, void and refunds with their conflicts,
//! who may read or refund it, the audit trail of refunds, and the business metric.

use reqwest::{Method, Response};
use serde_json::{Value, json};
use shopctl_kit::auth::Role;
use uuid::Uuid;

use crate::helpers::{ADMIN_TOKEN, APPROVED, DECLINED, assert_problem, spawn_app};

/// The JSON body of a 200 response.
async fn ok(response: Response) -> Value {
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

fn usd(amount: i64) -> Value {
    json!({"amount": amount, "currency": "USD"})
}

#[tokio::test]
async fn capture_collects_the_amount_once_and_then_answers_the_same() {
    let app = spawn_app().await;
    let payment = app.authorized(APPROVED, 2500).await;
    let id = &payment["id"];

    let captured = ok(app.internal(id, "capture").await).await;

    assert_eq!(captured["status"], "captured");
    assert_eq!(captured["captured_amount"], usd(2500));
    assert_eq!(captured["id"], *id);
    let again = ok(app.internal(id, "capture").await).await;
    assert_eq!(again, captured, "capturing twice changes nothing");
}

#[tokio::test]
async fn a_captured_payment_cannot_be_voided() {
    let app = spawn_app().await;
    let payment = app.authorized(APPROVED, 2500).await;
    ok(app.internal(&payment["id"], "capture").await).await;

    let response = app.internal(&payment["id"], "void").await;

    let problem = assert_problem(response, 409, "conflict", None).await;
    assert!(
        problem["detail"].as_str().unwrap().contains("refund"),
        "{problem}"
    );
}

#[tokio::test]
async fn void_releases_an_authorization_once() {
    let app = spawn_app().await;
    let payment = app.authorized(APPROVED, 2500).await;
    let id = &payment["id"];

    let voided = ok(app.internal(id, "void").await).await;

    assert_eq!(voided["status"], "voided");
    assert_eq!(voided["captured_amount"], usd(0));
    assert_eq!(ok(app.internal(id, "void").await).await, voided);
    assert_problem(app.internal(id, "capture").await, 409, "conflict", None).await;
    let refund = app
        .refund(id, ADMIN_TOKEN, &json!({"reason": "never captured"}))
        .await;
    assert_problem(refund, 409, "conflict", None).await;
}

#[tokio::test]
async fn a_declined_payment_has_nothing_to_void_or_capture() {
    let app = spawn_app().await;
    let payment = app.authorized(DECLINED, 2500).await;
    let id = &payment["id"];

    let voided = ok(app.internal(id, "void").await).await;

    assert_eq!(voided, payment, "unchanged");
    assert_problem(app.internal(id, "capture").await, 409, "conflict", None).await;
}

#[tokio::test]
async fn unknown_or_malformed_ids_are_404_and_400() {
    let app = spawn_app().await;
    let unknown = json!(Uuid::new_v4().to_string());
    assert_problem(
        app.internal(&unknown, "capture").await,
        404,
        "not-found",
        None,
    )
    .await;
    assert_problem(app.internal(&unknown, "void").await, 404, "not-found", None).await;
    assert_problem(
        app.get_payment(&unknown, ADMIN_TOKEN).await,
        404,
        "not-found",
        None,
    )
    .await;
    let malformed = json!("not-a-uuid");
    assert_problem(
        app.internal(&malformed, "capture").await,
        400,
        "bad-request",
        Some("id"),
    )
    .await;
}

#[tokio::test]
async fn refunds_in_parts_until_nothing_is_left() {
    // Arrange
    let app = spawn_app().await;
    let payment = app.authorized(APPROVED, 2500).await;
    let id = &payment["id"];
    ok(app.internal(id, "capture").await).await;
    let support = app.user_token("support-sam", Role::Support);

    // Act + Assert: part of it.
    let partial = ok(app
        .refund(
            id,
            &support,
            &json!({"amount": usd(1000), "reason": "damaged box"}),
        )
        .await)
    .await;
    assert_eq!(partial["status"], "partially_refunded");
    assert_eq!(partial["refunded_amount"], usd(1000));
    assert_eq!(partial["captured_amount"], usd(2500));

    // More than is left, or in another currency.
    let over = app
        .refund(
            id,
            &support,
            &json!({"amount": usd(1501), "reason": "too much"}),
        )
        .await;
    let problem = assert_problem(over, 422, "validation", Some("amount.amount")).await;
    assert!(
        problem["detail"].as_str().unwrap().contains("1500"),
        "{problem}"
    );
    let euros = app
        .refund(
            id,
            &support,
            &json!({"amount": {"amount": 100, "currency": "EUR"}, "reason": "wrong currency"}),
        )
        .await;
    assert_problem(euros, 422, "validation", Some("amount.currency")).await;
    let no_reason = app.refund(id, &support, &json!({"reason": "  "})).await;
    assert_problem(no_reason, 422, "validation", Some("reason")).await;

    // The rest, by leaving the amount out.
    let rest = ok(app
        .refund(id, ADMIN_TOKEN, &json!({"reason": "returned"}))
        .await)
    .await;
    assert_eq!(rest["status"], "refunded");
    assert_eq!(rest["refunded_amount"], usd(2500));

    // Nothing left.
    let again = app
        .refund(id, ADMIN_TOKEN, &json!({"reason": "once more"}))
        .await;
    assert_problem(again, 409, "conflict", None).await;
    assert_problem(app.internal(id, "capture").await, 409, "conflict", None).await;
    assert_problem(app.internal(id, "void").await, 409, "conflict", None).await;
}

#[tokio::test]
async fn an_uncaptured_payment_cannot_be_refunded() {
    let app = spawn_app().await;
    let payment = app.authorized(APPROVED, 2500).await;
    let response = app
        .refund(&payment["id"], ADMIN_TOKEN, &json!({"reason": "early"}))
        .await;
    assert_problem(response, 409, "conflict", None).await;
}

#[tokio::test]
async fn concurrent_refunds_never_pay_back_more_than_was_captured() {
    // Arrange: 2500 captured; five refunds of 1000 race.
    let app = spawn_app().await;
    let payment = app.authorized(APPROVED, 2500).await;
    let id = payment["id"].as_str().unwrap().to_owned();
    ok(app.internal(&payment["id"], "capture").await).await;

    // Act
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..5 {
        let (client, url, id) = (app.client.clone(), app.url.clone(), id.clone());
        tasks.spawn(async move {
            client
                .post(format!("{url}/api/payments/{id}/refund"))
                .bearer_auth(ADMIN_TOKEN)
                .json(&json!({"amount": usd(1000), "reason": format!("race {i}")}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        });
    }
    let mut statuses = Vec::new();
    while let Some(status) = tasks.join_next().await {
        statuses.push(status.unwrap());
    }
    statuses.sort_unstable();

    // Assert
    assert_eq!(statuses, [200, 200, 422, 422, 422]);
    let after = ok(app.get_payment(&payment["id"], ADMIN_TOKEN).await).await;
    assert_eq!(after["refunded_amount"], usd(2000));
    assert_eq!(after["status"], "partially_refunded");
}

#[tokio::test]
async fn the_buyer_and_support_read_a_payment_and_anyone_else_gets_404() {
    let app = spawn_app().await;
    let payment = app.authorized(APPROVED, 2500).await;
    let id = &payment["id"];

    let owner = app.user_token("customer-ana", Role::Customer);
    assert_eq!(ok(app.get_payment(id, &owner).await).await, payment);
    let support = app.user_token("support-sam", Role::Support);
    assert_eq!(ok(app.get_payment(id, &support).await).await["id"], *id);
    assert_eq!(ok(app.get_payment(id, ADMIN_TOKEN).await).await["id"], *id);

    let stranger = app.user_token("customer-bob", Role::Customer);
    let hidden = assert_problem(app.get_payment(id, &stranger).await, 404, "not-found", None).await;
    let missing = assert_problem(
        app.get_payment(&json!(Uuid::new_v4().to_string()), &stranger)
            .await,
        404,
        "not-found",
        None,
    )
    .await;
    assert_eq!(hidden, missing, "a stranger cannot tell the two apart");

    let anonymous = app
        .client
        .get(format!("{}/api/payments/{}", app.url, id.as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_problem(anonymous, 401, "unauthorized", None).await;
    let service = app
        .request(
            Method::GET,
            &format!("/api/payments/{}", id.as_str().unwrap()),
            &app.service_token(),
            None,
        )
        .await;
    assert_problem(service, 403, "forbidden", None).await;
}

#[tokio::test]
async fn customers_cannot_refund_but_a_cancelling_order_saga_can() {
    let app = spawn_app().await;
    let payment = app.authorized(APPROVED, 2500).await;
    let id = &payment["id"];
    ok(app.internal(id, "capture").await).await;
    let body = json!({"reason": "please"});

    let owner = app.user_token("customer-ana", Role::Customer);
    assert_problem(app.refund(id, &owner, &body).await, 403, "forbidden", None).await;
    let after = ok(app.get_payment(id, ADMIN_TOKEN).await).await;
    assert_eq!(after["status"], "captured");

    // The order service refunds a cancelled order with its service token.
    let service = app.service_token();
    let refunded = ok(app.refund(id, &service, &body).await).await;
    assert_eq!(refunded["status"], "refunded");
}

#[tokio::test]
async fn refunds_are_audited_with_actor_payment_and_amount_only() {
    let app = spawn_app().await;
    let payment = app.authorized(APPROVED, 2500).await;
    let id = &payment["id"];
    ok(app.internal(id, "capture").await).await;
    let support = app.user_token("support-sam", Role::Support);

    ok(app
        .refund(
            id,
            &support,
            &json!({"amount": usd(700), "reason": "customer called about order"}),
        )
        .await)
    .await;

    let lines = app.audit_lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let record = &lines[0];
    assert_eq!(record["action"], "refund");
    assert_eq!(record["actor"], "support-sam");
    assert_eq!(record["target"], *id);
    assert_eq!(record["outcome"], "success");
    assert_eq!(record["service"], "payment");
    assert_eq!(record["details"], usd(700));
    let text = serde_json::to_string(record).unwrap();
    assert!(
        !text.contains("customer called"),
        "the reason stays out: {text}"
    );
    let path = app.data.path().join("audit/payment.jsonl");
    assert_eq!(shopctl_kit::audit::verify(&path).await.unwrap(), 1);
}

#[tokio::test]
async fn the_payments_metric_counts_each_result() {
    let app = spawn_app().await;
    let captured = app.authorized(APPROVED, 2500).await;
    ok(app.internal(&captured["id"], "capture").await).await;
    ok(app
        .refund(&captured["id"], ADMIN_TOKEN, &json!({"reason": "returned"}))
        .await)
    .await;
    let voided = app.authorized(APPROVED, 1000).await;
    ok(app.internal(&voided["id"], "void").await).await;
    app.authorized(DECLINED, 1000).await;

    let metrics = app.server.metrics().await;

    for (result, count) in [
        ("authorized", 2),
        ("declined", 1),
        ("captured", 1),
        ("voided", 1),
        ("refunded", 1),
    ] {
        let line = format!("payments_total{{result=\"{result}\"}} {count}");
        assert!(metrics.contains(&line), "{line} missing:\n{metrics}");
    }
}

#[tokio::test]
async fn an_order_lists_its_payments_oldest_first() {
    let app = spawn_app().await;
    let order = Uuid::new_v4();
    let declined = app
        .authorize(
            "list-1",
            &crate::helpers::charge_body(order, DECLINED, 2500),
        )
        .await;
    assert_eq!(declined.status(), 201);
    let declined: Value = declined.json().await.unwrap();
    let approved = app
        .authorize(
            "list-2",
            &crate::helpers::charge_body(order, APPROVED, 2500),
        )
        .await;
    assert_eq!(approved.status(), 201);
    let approved: Value = approved.json().await.unwrap();
    app.authorized(APPROVED, 999).await;

    let listed = ok(app
        .request(
            Method::GET,
            &format!("/internal/payments?order_id={order}"),
            &app.service_token(),
            None,
        )
        .await)
    .await;

    assert_eq!(listed["items"], json!([declined, approved]));
    let bad = app
        .request(
            Method::GET,
            "/internal/payments?order_id=nope",
            &app.service_token(),
            None,
        )
        .await;
    assert_problem(bad, 400, "bad-request", Some("order_id")).await;
}
