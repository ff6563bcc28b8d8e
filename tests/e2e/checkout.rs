//! Checkout across the platform: catalog prices, atomic stock, payment, events. On SQLite by
//! default and on PostgreSQL with `SHOPCTL_TEST_DATABASE=postgres` (every service's database).

use std::{sync::Arc, time::Duration};

use reqwest::Client;
use serde_json::{Value, json};
use shopctl_tests::shop::{Shop, checkout_body};

const OK_CARD: &str = "4242 4242 4242 4242";
const DECLINED_CARD: &str = "4000000000000002";
/// Authorized, but only after two seconds.
const SLOW_CARD: &str = "4000000000003220";

async fn add_to_cart(client: &Client, base: &str, token: &str, sku: &str, quantity: i64) {
    let added = client
        .post(format!("{base}/api/cart/items"))
        .bearer_auth(token)
        .json(&json!({"sku": sku, "quantity": quantity}))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201, "{}", added.text().await.unwrap());
}

async fn checkout(
    client: &Client,
    base: &str,
    token: &str,
    key: &str,
    card: &str,
) -> reqwest::Response {
    client
        .post(format!("{base}/api/orders"))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(&checkout_body(card))
        .send()
        .await
        .unwrap()
}

/// Waits until the order service has delivered `n` events (or 10 s pass).
async fn events(shop: &Shop, n: usize) -> Vec<shopctl_kit::events::Envelope> {
    for _ in 0..200 {
        if shop.events.lock().unwrap().len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    shop.events.lock().unwrap().clone()
}

/// The order once its saga has ended: a checkout under load may answer 202 and leave the rest
/// to the resumer.
async fn settled(shop: &Shop, token: &str, id: &str) -> Value {
    for _ in 0..400 {
        let order: Value = Client::new()
            .get(format!("{}/api/orders/{id}", shop.order.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if order["status"] != "pending" {
            return order;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("order {id} stayed pending");
}

#[derive(sqlx::FromRow)]
struct Count {
    n: i64,
}

async fn open_sagas(shop: &Shop) -> i64 {
    let count: Count = shop
        .order_db
        .fetch_one(
            "SELECT COUNT(*) AS n FROM orders WHERE saga NOT IN ('confirmed', 'cancelled')",
            &[],
        )
        .await
        .unwrap();
    count.n
}

async fn metric(url: &str, line: &str) -> bool {
    reqwest::get(format!("{url}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .lines()
        .any(|l| l == line)
}

#[tokio::test]
async fn a_customer_buys_through_the_gateway() {
    let shop = Shop::start().await;
    let sku = shop.product_with_stock("KETTLE-1", 2_500, 5).await;
    let (user_id, token) = shop.customer("ana@example.com").await;
    let client = Client::new();
    let gw = &shop.gateway.url;

    add_to_cart(&client, gw, &token, &sku, 2).await;
    let cart: Value = client
        .get(format!("{gw}/api/cart"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cart["items"][0]["unit_price"]["amount"], 2_500, "{cart}");
    assert_eq!(cart["subtotal"]["amount"], 5_000);

    let response = checkout(&client, gw, &token, "first-order", OK_CARD).await;
    assert_eq!(response.status(), 201);
    let order: Value = response.json().await.unwrap();
    assert_eq!(order["status"], "confirmed", "{order}");
    assert_eq!(order["user_id"], user_id.as_str());
    assert_eq!(order["subtotal"]["amount"], 5_000);
    assert_eq!(order["tax"]["amount"], 400);
    assert_eq!(order["shipping"]["amount"], 499);
    assert_eq!(order["total"]["amount"], 5_899);
    assert_eq!(order["card"], "visa •••• 4242");
    assert_eq!(order["lines"][0]["name"], "Kettle KETTLE-1");

    // Stock left the warehouse; the payment was captured; the cart is empty.
    let stock = shop.stock(&sku).await;
    assert_eq!(
        (stock["on_hand"].as_i64(), stock["reserved"].as_i64()),
        (Some(3), Some(0))
    );
    let payment: Value = client
        .get(format!(
            "{gw}/api/payments/{}",
            order["payment_id"].as_str().unwrap()
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(payment["status"], "captured");
    assert_eq!(payment["captured_amount"]["amount"], 5_899);
    let cart: Value = client
        .get(format!("{gw}/api/cart"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cart["items"], json!([]));

    // History, detail, and the event for the confirmation e-mail.
    let history: Value = client
        .get(format!("{gw}/api/orders"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(history["items"][0]["id"], order["id"]);
    let delivered = events(&shop, 1).await;
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].topic, "order.confirmed");
    assert_eq!(delivered[0].data["order_id"], order["id"]);
    assert_eq!(delivered[0].data["total"]["amount"], 5_899);

    // The customer's mailbox, at the real SMTP server: welcome and confirmation, once each.
    let short = &order["id"].as_str().unwrap()[..8];
    let mails = mail_arrives(&shop, 2).await;
    let subject = format!("order {short} is confirmed");
    let confirmation: Vec<&String> = mails.iter().filter(|m| m.contains(&subject)).collect();
    assert_eq!(confirmation.len(), 1, "{mails:?}");
    assert!(
        confirmation[0].contains("To: ana@example.com"),
        "{}",
        confirmation[0]
    );
    assert!(confirmation[0].contains("$58.99"), "{}", confirmation[0]);
    assert!(mails.iter().any(|m| m.contains("Welcome to")), "{mails:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(shop.smtp.messages().len(), 2, "nothing sent twice");

    // The card number and CVC are in no database file of any service.
    let files = shop.database_files();
    if std::env::var("SHOPCTL_TEST_DATABASE").as_deref() != Ok("postgres") {
        assert!(
            files.len() >= 7,
            "every service's SQLite file is read: {files:?}"
        );
    }
    for file in files {
        let Ok(bytes) = std::fs::read(&file) else {
            continue; // a WAL file checkpointed away meanwhile
        };
        for secret in ["4242424242424242", "4242 4242 4242 4242", "\"cvc\""] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{secret} found in {}",
                file.display()
            );
        }
    }
}

/// Waits until the SMTP server holds `n` messages (or 10 s pass); returns them.
async fn mail_arrives(shop: &Shop, n: usize) -> Vec<String> {
    for _ in 0..200 {
        if shop.smtp.messages().len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    shop.smtp.messages()
}

#[tokio::test]
async fn five_hundred_concurrent_checkouts_of_ten_units_confirm_exactly_ten() {
    let _alone = shopctl_tests::SATURATING.lock().await;
    let shop = Arc::new(Shop::start().await);
    let sku = shop.product_with_stock("LAST-10", 1_000, 10).await;
    let client = Client::new();
    let tokens: Vec<String> = (0..500)
        .map(|i| shop.token(&format!("buyer-{i}")))
        .collect();
    for token in &tokens {
        add_to_cart(&client, &shop.order.url, token, &sku, 1).await;
    }
    let tasks: Vec<_> = tokens
        .into_iter()
        .enumerate()
        .map(|(i, token)| {
            let shop = Arc::clone(&shop);
            let client = client.clone();
            tokio::spawn(async move {
                let response = checkout(
                    &client,
                    &shop.order.url,
                    &token,
                    &format!("key-{i}"),
                    OK_CARD,
                )
                .await;
                let status = response.status().as_u16();
                let body: Value = response.json().await.unwrap();
                if status == 202 {
                    let id = body["id"].as_str().unwrap().to_owned();
                    return (201, settled(&shop, &token, &id).await);
                }
                (status, body)
            })
        })
        .collect();
    let (mut confirmed, mut refused) = (0, 0);
    for task in tasks {
        let (status, body) = task.await.unwrap();
        match status {
            201 => {
                assert_eq!(body["status"], "confirmed", "{body}");
                confirmed += 1;
            }
            409 => {
                assert_eq!(body["type"], "https://shopctl.dev/problems/conflict");
                refused += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!((confirmed, refused), (10, 490));
    let stock = shop.stock(&sku).await;
    assert_eq!(stock["on_hand"], 0);
    assert_eq!(stock["reserved"], 0);
    assert_eq!(stock["available"], 0);
    assert_eq!(open_sagas(&shop).await, 0, "nothing half-done");
    assert!(
        metric(&shop.payment.url, r#"payments_total{result="captured"} 10"#).await,
        "exactly ten captured payments"
    );
    assert!(
        metric(
            &shop.payment.url,
            r#"payments_total{result="authorized"} 10"#
        )
        .await
    );
}

#[tokio::test]
async fn one_idempotency_key_sent_twenty_times_makes_one_order_and_one_payment() {
    let shop = Arc::new(Shop::start().await);
    let sku = shop.product_with_stock("ONCE-1", 1_500, 5).await;
    let token = shop.token("repeat-buyer");
    let client = Client::new();
    add_to_cart(&client, &shop.order.url, &token, &sku, 1).await;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let shop = Arc::clone(&shop);
            let client = client.clone();
            let token = token.clone();
            tokio::spawn(async move {
                let response =
                    checkout(&client, &shop.order.url, &token, "same-key", OK_CARD).await;
                let status = response.status().as_u16();
                (status, response.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut ids = std::collections::BTreeSet::new();
    for task in tasks {
        let (status, body) = task.await.unwrap();
        assert!((200..=202).contains(&status), "{status}: {body}");
        ids.insert(body["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 1, "one order");
    let id = ids.into_iter().next().unwrap();
    let order = settled(&shop, &token, &id).await;
    assert_eq!(order["status"], "confirmed", "{order}");
    let count: Count = shop
        .order_db
        .fetch_one("SELECT COUNT(*) AS n FROM orders", &[])
        .await
        .unwrap();
    assert_eq!(count.n, 1);
    assert!(
        metric(
            &shop.payment.url,
            r#"payments_total{result="authorized"} 1"#
        )
        .await,
        "one payment"
    );
    assert_eq!(shop.stock(&sku).await["on_hand"], 4);

    // The same key with another request is refused.
    let mut other = checkout_body(OK_CARD);
    other["shipping_address"]["city"] = json!("Shelbyville");
    let reused = client
        .post(format!("{}/api/orders", shop.order.url))
        .bearer_auth(&token)
        .header("idempotency-key", "same-key")
        .json(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(reused.status(), 422);
}

/// A saga slower than the request deadline is not cut off with a 503: the client gets the
/// pending order (202) in time and the same process finishes the saga.
#[tokio::test]
async fn a_checkout_outliving_its_deadline_answers_202_and_still_confirms() {
    let shop = Shop::start().await;
    // Nothing else may finish this saga: only the request's own task can confirm it.
    shop.stop_order_loops();
    let mut settings = shop.order_settings.clone();
    settings.common.request_timeout_ms = 2_000;
    // The routes alone: no resumer of this instance may finish the saga either.
    let app = shopctl_order::app(&settings).await.expect("order");
    let order = shopctl_kit::testing::TestServer::spawn("order", app.router).await;
    let sku = shop.product_with_stock("SLOW-1", 900, 3).await;
    let token = shop.token("patient-buyer");
    let client = Client::new();
    add_to_cart(&client, &order.url, &token, &sku, 1).await;

    let response = checkout(&client, &order.url, &token, "slow", SLOW_CARD).await;
    // Not the 503 the deadline would have given.
    assert_eq!(response.status(), 202);
    let pending: Value = response.json().await.unwrap();
    assert_eq!(pending["status"], "pending", "{pending}");

    let id = pending["id"].as_str().unwrap();
    let order = settled(&shop, &token, id).await;
    assert_eq!(order["status"], "confirmed", "{order}");
    assert_eq!(shop.stock(&sku).await["on_hand"], 2);
    assert!(
        metric(&shop.payment.url, r#"payments_total{result="captured"} 1"#).await,
        "charged once"
    );
}

#[tokio::test]
async fn a_declined_card_cancels_the_order_and_releases_the_stock() {
    let shop = Shop::start().await;
    let sku = shop.product_with_stock("DECL-1", 3_000, 2).await;
    let (_, token) = shop.customer("declined@example.com").await;
    let client = Client::new();
    add_to_cart(&client, &shop.order.url, &token, &sku, 2).await;
    let response = checkout(&client, &shop.order.url, &token, "declined", DECLINED_CARD).await;
    assert_eq!(response.status(), 201);
    let order: Value = response.json().await.unwrap();
    assert_eq!(order["status"], "cancelled");
    assert!(
        order["reason"].as_str().unwrap().contains("card_declined"),
        "{order}"
    );
    let stock = shop.stock(&sku).await;
    assert_eq!(
        (stock["reserved"].as_i64(), stock["available"].as_i64()),
        (Some(0), Some(2))
    );
    assert_eq!(open_sagas(&shop).await, 0);
    let delivered = events(&shop, 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let delivered_later = shop.events.lock().unwrap().clone();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered_later.len(), 1, "exactly one event");
    assert_eq!(delivered[0].topic, "payment.failed");
    assert_eq!(delivered[0].data["order_id"], order["id"]);
    // Exactly one "payment failed" e-mail (besides the welcome mail).
    let mails = mail_arrives(&shop, 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let failed: Vec<String> = shop
        .smtp
        .messages()
        .into_iter()
        .filter(|m| m.contains("did not go through"))
        .collect();
    assert_eq!(failed.len(), 1, "{mails:?}");
    assert!(failed[0].contains("To: declined@example.com"));
    // The cart is kept, to try another card.
    let cart: Value = client
        .get(format!("{}/api/cart", shop.order.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cart["item_count"], 2);
}

#[tokio::test]
async fn nobody_reads_pays_for_or_cancels_another_customers_order() {
    let shop = Shop::start().await;
    let sku = shop.product_with_stock("MINE-1", 1_000, 5).await;
    let (alice, bob) = (shop.token("alice"), shop.token("bob"));
    let client = Client::new();
    let base = &shop.order.url;
    add_to_cart(&client, base, &alice, &sku, 1).await;
    let order: Value = checkout(&client, base, &alice, "alice-1", OK_CARD)
        .await
        .json()
        .await
        .unwrap();
    let id = order["id"].as_str().unwrap();
    let as_bob = |path: String| client.get(path).bearer_auth(&bob).send();
    assert_eq!(
        as_bob(format!("{base}/api/orders/{id}"))
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        as_bob(format!(
            "{}/api/payments/{}",
            shop.payment.url,
            order["payment_id"].as_str().unwrap()
        ))
        .await
        .unwrap()
        .status(),
        404
    );
    let cancel = client
        .post(format!("{base}/api/orders/{id}/cancel"))
        .bearer_auth(&bob)
        .send()
        .await
        .unwrap();
    assert_eq!(cancel.status(), 404);
    let bobs: Value = as_bob(format!("{base}/api/orders"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(bobs["items"], json!([]));
    let everyone = as_bob(format!("{base}/api/orders?customer=all"))
        .await
        .unwrap();
    assert_eq!(everyone.status(), 403);

    // Support finds the order by the short id a customer reads from the mail, or by SKU.
    for q in [&id[..8], "mine-1"] {
        let found: Value = client
            .get(format!("{base}/api/orders?customer=all&q={q}"))
            .bearer_auth(shopctl_tests::ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(found["items"][0]["id"], id, "{q}: {found}");
    }
    let none: Value = client
        .get(format!("{base}/api/orders?customer=all&q=NO-SUCH-SKU"))
        .bearer_auth(shopctl_tests::ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(none["items"], json!([]));

    // Alice cancels her own confirmed order: refunded, and the event goes out.
    let cancelled: Value = client
        .post(format!("{base}/api/orders/{id}/cancel"))
        .bearer_auth(&alice)
        .json(&json!({"reason": "changed my mind"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    let payment: Value = client
        .get(format!(
            "{}/api/payments/{}",
            shop.payment.url,
            order["payment_id"].as_str().unwrap()
        ))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(payment["status"], "refunded");
    assert_eq!(open_sagas(&shop).await, 0);
    let topics: Vec<String> = events(&shop, 2)
        .await
        .into_iter()
        .map(|e| e.topic)
        .collect();
    assert_eq!(topics, ["order.confirmed", "order.cancelled"]);
    let report = reconcile(&shop).await;
    assert!(report.ok(true), "{report:?}");
}

/// The reconciliation the ops commands use, over the platform's APIs.
pub(crate) async fn reconcile(shop: &Shop) -> shopctl_order::domain::reconcile::Report {
    use shopctl_kit::{client::ServiceClient, jwt::ServiceTokens, settings::CommonSettings};
    let mut settings = CommonSettings::defaults(0);
    settings.service_key = Some(shopctl_kit::testing::SERVICE_KEY.into());
    let tokens = ServiceTokens::from_settings("ops", &settings);
    let client = |url: &str, name: &str| {
        ServiceClient::new(url, name, tokens.clone(), Duration::from_secs(10))
    };
    shopctl_order::domain::reconcile::reconcile(&shopctl_order::domain::reconcile::Services {
        order: client(&shop.order.url, "order"),
        inventory: client(&shop.inventory.url, "inventory"),
        payment: client(&shop.payment.url, "payment"),
    })
    .await
    .unwrap()
}
