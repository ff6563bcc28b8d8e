//! `POST /internal/payments`: the test cards, validation without echoing card data,
//! idempotency (replays, races, reused keys), who may call it, and card data never stored.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::{Value, json};
use shopctl_kit::auth::Role;
use uuid::Uuid;

use crate::helpers::{
    ADMIN_TOKEN, APPROVED, DECLINED, assert_problem, charge_body, spawn_app, spawn_with,
};

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[tokio::test]
async fn the_success_test_card_is_authorized_with_201() {
    // Arrange
    let app = spawn_app().await;
    let order = Uuid::new_v4();

    // Act
    let response = app
        .authorize("approve-1", &charge_body(order, APPROVED, 2500))
        .await;

    // Assert
    assert_eq!(response.status(), 201);
    let text = response.text().await.unwrap();
    assert!(!text.contains(APPROVED), "{text}");
    let payment: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(payment["status"], "authorized");
    assert_eq!(payment["order_id"], order.to_string());
    assert_eq!(payment["customer_id"], "customer-ana");
    assert_eq!(
        payment["amount"],
        json!({"amount": 2500, "currency": "USD"})
    );
    assert_eq!(
        payment["captured_amount"],
        json!({"amount": 0, "currency": "USD"})
    );
    assert_eq!(
        payment["refunded_amount"],
        json!({"amount": 0, "currency": "USD"})
    );
    assert_eq!(payment["card"]["brand"], "visa");
    assert_eq!(payment["card"]["last4"], "4242");
    assert_eq!(payment["card"]["exp_month"], 12);
    assert_eq!(payment["card"]["exp_year"], 2040);
    let token = payment["card"]["token"].as_str().unwrap();
    assert!(token.starts_with("tok_") && token.len() == 36, "{token}");
    assert!(payment["decline_code"].is_null());
    assert!(payment["id"].as_str().unwrap().parse::<Uuid>().is_ok());
}

#[tokio::test]
async fn each_payment_gets_its_own_random_card_token() {
    let app = spawn_app().await;
    let first = app.authorized(APPROVED, 100).await;
    let second = app.authorized(APPROVED, 100).await;
    assert_ne!(first["card"]["token"], second["card"]["token"]);
}

#[tokio::test]
async fn the_decline_test_card_is_stored_as_declined_with_its_code() {
    let app = spawn_app().await;
    let response = app
        .authorize("decline-1", &charge_body(Uuid::new_v4(), DECLINED, 2500))
        .await;
    assert_eq!(response.status(), 201);
    let payment: Value = response.json().await.unwrap();
    assert_eq!(payment["status"], "declined");
    assert_eq!(payment["decline_code"], "card_declined");
    assert_eq!(payment["card"]["last4"], "0002");
}

#[tokio::test]
async fn the_other_test_cards_decline_with_their_codes() {
    let app = spawn_app().await;
    for (card, code) in [
        ("4000000000009995", "insufficient_funds"),
        ("4000000000000119", "processing_error"),
    ] {
        let payment = app.authorized(card, 2500).await;
        assert_eq!(payment["status"], "declined", "{card}");
        assert_eq!(payment["decline_code"], code, "{card}");
    }
}

#[tokio::test]
async fn a_failure_rate_of_one_turns_approvals_into_processing_errors() {
    let app = spawn_with(|source| source.with("failure_rate", 1.0)).await;
    let payment = app.authorized(APPROVED, 2500).await;
    assert_eq!(payment["status"], "declined");
    assert_eq!(payment["decline_code"], "processing_error");
}

#[test]
fn a_failure_rate_above_one_is_refused_at_start() {
    let source = shopctl_kit::settings::ConfigSource::default().with("failure_rate", 1.5);
    let err = shopctl_payment::load_settings(&source).unwrap_err();
    assert!(err.to_string().contains("payment.failure_rate"), "{err}");
}

#[tokio::test]
async fn a_bad_card_number_is_a_422_naming_the_field_without_echoing_the_digits() {
    let app = spawn_app().await;
    let as_text = charge_body(Uuid::new_v4(), "4242424242424241", 2500);
    let mut as_number = as_text.clone();
    as_number["card"]["card_number"] = json!(4_242_424_242_424_241_u64);
    let mut as_float = as_text.clone();
    as_float["card"]["card_number"] = json!(4_242_424_242_424_241.0_f64);
    let mut as_list = as_text.clone();
    as_list["card"]["card_number"] = json!(["4242424242424241"]);
    for (i, body) in [as_text, as_number, as_float, as_list].iter().enumerate() {
        let response = app.authorize(&format!("luhn-{i}"), body).await;
        let problem = assert_problem(response, 422, "validation", Some("card.card_number")).await;
        let text = problem.to_string();
        assert!(!text.contains("424242424242"), "{i}: {text}");
    }
}

#[tokio::test]
async fn invalid_card_fields_are_422s_naming_the_field() {
    let app = spawn_app().await;
    let cases = [
        ("exp_month", json!(13), "card.exp_month"),
        ("exp_month", json!("12"), "card.exp_month"),
        ("exp_year", json!(2020), "card.exp_year"),
        ("exp_year", json!(2100), "card.exp_year"),
        ("cvc", json!("12"), "card.cvc"),
        ("cvc", json!(null), "card.cvc"),
        ("card_number", json!("4242"), "card.card_number"),
    ];
    for (i, (field, value, expected)) in cases.into_iter().enumerate() {
        let mut body = charge_body(Uuid::new_v4(), APPROVED, 2500);
        body["card"][field] = value;
        let response = app.authorize(&format!("field-{i}"), &body).await;
        let problem = assert_problem(response, 422, "validation", Some(expected)).await;
        assert!(
            !problem.to_string().contains(APPROVED),
            "{field}: {problem}"
        );
    }
    let mut unknown = charge_body(Uuid::new_v4(), APPROVED, 2500);
    unknown["card"]["number"] = json!(APPROVED);
    let problem = assert_problem(
        app.authorize("field-unknown", &unknown).await,
        422,
        "validation",
        Some("card"),
    )
    .await;
    assert!(!problem.to_string().contains("4242"), "{problem}");
}

#[tokio::test]
async fn amounts_must_be_positive_with_an_upper_case_currency() {
    let app = spawn_app().await;
    let cases = [
        (json!({"amount": 0, "currency": "USD"}), "amount.amount"),
        (json!({"amount": -5, "currency": "USD"}), "amount.amount"),
        (json!({"amount": 100, "currency": "usd"}), "amount.currency"),
    ];
    for (i, (amount, field)) in cases.into_iter().enumerate() {
        let mut body = charge_body(Uuid::new_v4(), APPROVED, 2500);
        body["amount"] = amount;
        let response = app.authorize(&format!("amount-{i}"), &body).await;
        assert_problem(response, 422, "validation", Some(field)).await;
    }
}

#[tokio::test]
async fn a_missing_empty_or_overlong_idempotency_key_is_a_400() {
    let app = spawn_app().await;
    let body = charge_body(Uuid::new_v4(), APPROVED, 2500);
    let missing = app
        .request(
            Method::POST,
            "/internal/payments",
            &app.service_token(),
            Some(&body),
        )
        .await;
    assert_problem(missing, 400, "bad-request", Some("Idempotency-Key")).await;
    for key in [" ".to_owned(), "k".repeat(201)] {
        let response = app.authorize(&key, &body).await;
        assert_problem(response, 400, "bad-request", Some("Idempotency-Key")).await;
    }
    let listed: Value = app
        .request(
            Method::GET,
            &format!(
                "/internal/payments?order_id={}",
                body["order_id"].as_str().unwrap()
            ),
            &app.service_token(),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"], json!([]), "nothing was charged");
}

#[tokio::test]
async fn the_same_key_and_request_return_the_stored_payment_with_200() {
    let app = spawn_app().await;
    let body = charge_body(Uuid::new_v4(), APPROVED, 2500);
    let first = app.authorize("replay-1", &body).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();

    let second = app.authorize("replay-1", &body).await;

    assert_eq!(second.status(), 200);
    let second: Value = second.json().await.unwrap();
    assert_eq!(second, first);
}

#[tokio::test]
async fn a_replay_returns_the_decline_too_instead_of_charging_again() {
    let app = spawn_app().await;
    let body = charge_body(Uuid::new_v4(), DECLINED, 2500);
    let first: Value = app
        .authorize("declined-once", &body)
        .await
        .json()
        .await
        .unwrap();
    let second = app.authorize("declined-once", &body).await;
    assert_eq!(second.status(), 200);
    let second: Value = second.json().await.unwrap();
    assert_eq!(second["id"], first["id"]);
    assert_eq!(second["status"], "declined");
}

#[tokio::test]
async fn twenty_concurrent_requests_with_one_key_store_one_payment() {
    // Arrange
    let app = spawn_app().await;
    let order = Uuid::new_v4();
    let body = charge_body(order, APPROVED, 2500);
    let token = app.service_token();

    // Act
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (client, url, token, body) = (
            app.client.clone(),
            app.url.clone(),
            token.clone(),
            body.clone(),
        );
        tasks.spawn(async move {
            let response = client
                .post(format!("{url}/internal/payments"))
                .bearer_auth(token)
                .header("Idempotency-Key", "one-key-for-twenty")
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let payment: Value = response.json().await.unwrap();
            (status, payment)
        });
    }
    let mut created = 0;
    let mut ids = HashSet::new();
    while let Some(joined) = tasks.join_next().await {
        let (status, payment) = joined.unwrap();
        assert!(status == 200 || status == 201, "{status}: {payment}");
        if status == 201 {
            created += 1;
        }
        ids.insert(payment["id"].as_str().unwrap().to_owned());
    }

    // Assert
    assert_eq!(created, 1, "exactly one request created the payment");
    assert_eq!(ids.len(), 1, "every request got the same payment: {ids:?}");
    let listed: Value = app
        .request(
            Method::GET,
            &format!("/internal/payments?order_id={order}"),
            &token,
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
}

#[tokio::test]
async fn reusing_a_key_for_a_different_request_is_a_422() {
    let app = spawn_app().await;
    let order = Uuid::new_v4();
    let first = app
        .authorize("reused", &charge_body(order, APPROVED, 2500))
        .await;
    assert_eq!(first.status(), 201);

    let different = app
        .authorize("reused", &charge_body(order, APPROVED, 2600))
        .await;

    assert_problem(different, 422, "validation", Some("Idempotency-Key")).await;
    let listed: Value = app
        .request(
            Method::GET,
            &format!("/internal/payments?order_id={order}"),
            &app.service_token(),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["amount"]["amount"], 2500);
}

#[tokio::test]
async fn internal_routes_are_for_services_only() {
    let app = spawn_app().await;
    let body = charge_body(Uuid::new_v4(), APPROVED, 2500);
    let customer = app.user_token("customer-ana", Role::Customer);
    for token in [customer.as_str(), ADMIN_TOKEN] {
        let response = app
            .client
            .post(format!("{}/internal/payments", app.url))
            .bearer_auth(token)
            .header("Idempotency-Key", "people-may-not")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_problem(response, 403, "forbidden", None).await;
    }
    let anonymous = app
        .client
        .post(format!("{}/internal/payments", app.url))
        .header("Idempotency-Key", "anonymous")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_problem(anonymous, 401, "unauthorized", None).await;
    let payment = app.authorized(APPROVED, 2500).await;
    let path = format!(
        "/internal/payments/{}/capture",
        payment["id"].as_str().unwrap()
    );
    let response = app.request(Method::POST, &path, ADMIN_TOKEN, None).await;
    assert_problem(response, 403, "forbidden", None).await;
}

/// Every text and binary value stored in the payment database, as `(table.column, bytes)`: on
/// SQLite every column declared text, blob or without a type, on PostgreSQL every text, character,
/// JSON and bytea column of every table in the `public` schema.
async fn stored_values(url: &str) -> Vec<(String, Vec<u8>)> {
    use sqlx::Row as _;
    let mut values = Vec::new();
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        let columns = sqlx::query(
            "SELECT m.name, p.name, upper(p.type) FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        for column in columns {
            let (table, name, kind): (String, String, String) =
                (column.get(0), column.get(1), column.get(2));
            if !(kind.is_empty()
                || ["TEXT", "CHAR", "CLOB", "BLOB", "JSON"]
                    .iter()
                    .any(|t| kind.contains(t)))
            {
                continue;
            }
            let query = format!(r#"SELECT CAST("{name}" AS BLOB) FROM "{table}""#);
            for row in sqlx::query(sqlx::AssertSqlSafe(query))
                .fetch_all(&pool)
                .await
                .unwrap()
            {
                if let Some(bytes) = row.get::<Option<Vec<u8>>, _>(0) {
                    values.push((format!("{table}.{name}"), bytes));
                }
            }
        }
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        let columns = sqlx::query(
            "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns \
             WHERE table_schema = 'public' AND data_type IN \
             ('text', 'character varying', 'character', 'json', 'jsonb', 'bytea')",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        for column in columns {
            let (table, name, kind): (String, String, String) =
                (column.get(0), column.get(1), column.get(2));
            let value = if kind == "bytea" {
                format!(r#""{name}""#)
            } else {
                format!(r#"convert_to(CAST("{name}" AS TEXT), 'UTF8')"#)
            };
            let query = format!(r#"SELECT {value} FROM "{table}""#);
            for row in sqlx::query(sqlx::AssertSqlSafe(query))
                .fetch_all(&pool)
                .await
                .unwrap()
            {
                if let Some(bytes) = row.get::<Option<Vec<u8>>, _>(0) {
                    values.push((format!("{table}.{name}"), bytes));
                }
            }
        }
        pool.close().await;
    }
    values
}

#[tokio::test]
async fn card_numbers_and_codes_never_reach_the_database_or_the_audit_log() {
    use secrecy::ExposeSecret;

    // Arrange: every kind of write, with a Visa (code 123) and an Amex sent as JSON numbers.
    let app = spawn_app().await;
    let visa = app.authorized(APPROVED, 2500).await;
    assert_eq!(app.internal(&visa["id"], "capture").await.status(), 200);
    let refund = app
        .refund(
            &visa["id"],
            ADMIN_TOKEN,
            &json!({"amount": {"amount": 500, "currency": "USD"}, "reason": "scratched"}),
        )
        .await;
    assert_eq!(refund.status(), 200);
    let mut amex = charge_body(Uuid::new_v4(), APPROVED, 4100);
    amex["card"]["card_number"] = json!(378_282_246_310_005_u64);
    amex["card"]["cvc"] = json!(7391);
    let amex = app.authorize("amex-as-numbers", &amex).await;
    assert_eq!(amex.status(), 201);
    let amex: Value = amex.json().await.unwrap();
    assert_eq!(amex["card"]["brand"], "amex");
    assert_eq!(app.internal(&amex["id"], "void").await.status(), 200);
    let url = app.db.url.expose_secret().to_owned();
    let audit = app.data.path().join("audit/payment.jsonl");
    let dir = app.db.dir().map(std::path::Path::to_path_buf);

    // Act: stop the service, then read what it stored.
    app.server.stop().await.unwrap();

    // Assert: no PAN, in any spacing, and no security code in any stored value (on both
    // backends), ...
    let values = stored_values(&url).await;
    assert!(
        values.iter().any(|(_, v)| v.as_slice() == b"4242")
            && values.iter().any(|(_, v)| v.as_slice() == b"0005"),
        "the scan reads the stored card summaries (last four digits): {:?}",
        values.iter().map(|(c, _)| c).collect::<HashSet<_>>()
    );
    for (column, value) in &values {
        // Whole numbers and long parts of them (only the last four may be kept).
        for secret in [
            APPROVED,
            "4242 4242 4242 4242",
            "42424242",
            "378282246310005",
            "37828224631",
            "cvc",
        ] {
            assert!(
                !contains(value, secret.as_bytes()),
                "`{secret}` in {column}"
            );
        }
        // A code could only hide inside random ids or hashes as bytes, so compare whole values.
        assert!(
            value.as_slice() != b"123" && value.as_slice() != b"7391",
            "a security code in {column}"
        );
    }
    // ... nor in any byte of the SQLite files (main file, WAL, index), deleted rows included ...
    if let Some(dir) = dir {
        let mut files = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if !name.starts_with("test.db") {
                continue;
            }
            // The WAL and shared-memory files vanish when the pool's last connection closes,
            // which may happen while this loop runs: a file gone by now holds nothing to check.
            let bytes = match std::fs::read(&path) {
                Ok(bytes) => bytes,
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
                Err(err) => panic!("reading {}: {err}", path.display()),
            };
            files += 1;
            for secret in [
                APPROVED,
                "4242 4242 4242 4242",
                "378282246310005",
                "\"123\"",
                "\"7391\"",
                "cvc",
            ] {
                assert!(
                    !contains(&bytes, secret.as_bytes()),
                    "`{secret}` found in {name}"
                );
            }
        }
        assert!(files > 0, "no database file in {}", dir.display());
    }
    // ... nor in the audit log.
    let audit = std::fs::read(audit).unwrap();
    assert!(!audit.is_empty(), "the refund was audited");
    for secret in [APPROVED, "378282246310005", "cvc"] {
        assert!(
            !contains(&audit, secret.as_bytes()),
            "`{secret}` in the audit log"
        );
    }
}
