//! `shopctl serve order` survives SIGKILL: the real binary, among the real services, is killed while
//! a payment is being authorized (the slow test card answers after 2 s), then started again on
//! the same database; the order must end confirmed or cancelled, and orders, reservations and
//! payments must reconcile. The other services run in this test process; the order service is
//! the real binary, a child process.

use std::{
    process::{Child, Stdio},
    time::Duration,
};

use secrecy::ExposeSecret;
use serde_json::{Value, json};
use shopctl_kit::{
    client::ServiceClient,
    jwt::ServiceTokens,
    settings::CommonSettings,
    testing::{SERVICE_KEY, TestBackend, TestDatabase, free_port},
};
use shopctl_tests::shop::{IDP_ISSUER, Shop, checkout_body};

use crate::helpers::shopctl;

const SLOW_CARD: &str = "4000000000003220";

struct OrderProcess(Child);

impl Drop for OrderProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_order(shop: &Shop, db: &TestDatabase, port: u16, log: &std::path::Path) -> OrderProcess {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    let child = shopctl()
        .args(["serve", "order", "--port", &port.to_string()])
        .env("SHOPCTL_ORDER__DATABASE_URL", db.url.expose_secret())
        .env("SHOPCTL_ORDER__SERVICE_KEY", SERVICE_KEY)
        .env("SHOPCTL_ORDER__ENVIRONMENT", "test")
        .env("SHOPCTL_ORDER__LOG", "info")
        .env("RUST_LOG", "info")
        .env("SHOPCTL_ORDER__PRODUCT_URL", &shop.product.url)
        .env("SHOPCTL_ORDER__INVENTORY_URL", &shop.inventory.url)
        .env("SHOPCTL_ORDER__PAYMENT_URL", &shop.payment.url)
        .env("SHOPCTL_ORDER__OIDC_ISSUER", IDP_ISSUER)
        .env("SHOPCTL_ORDER__OIDC_JWKS_URL", &shop.idp_jwks_url)
        .env("SHOPCTL_ORDER__OIDC_AUDIENCE", "shopctl")
        .env("SHOPCTL_ORDER__RESUME_AFTER_MS", "3000")
        .env("SHOPCTL_ORDER__RESUME_INTERVAL_MS", "500")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    OrderProcess(child)
}

async fn ready(port: u16) {
    for _ in 0..200 {
        if reqwest::get(format!("http://127.0.0.1:{port}/readyz"))
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the order service did not get ready");
}

#[derive(sqlx::FromRow)]
struct Saga {
    saga: String,
}

async fn saga_state(db: &shopctl_kit::db::Db) -> Option<String> {
    db.fetch_optional::<Saga>("SELECT saga FROM orders", &[])
        .await
        .ok()
        .flatten()
        .map(|s| s.saga)
}

#[tokio::test]
async fn a_saga_killed_between_reservation_and_payment_finishes_or_compensates_after_restart() {
    let shop = Shop::start().await;
    shop.stop_order_loops();
    let sku = shop.product_with_stock("CRASH-1", 2_000, 3).await;
    let db = TestDatabase::new(TestBackend::from_env()).await;
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("order.log");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let token = shop.token("crash-buyer");
    let client = reqwest::Client::new();

    let mut process = start_order(&shop, &db, port, &log);
    ready(port).await;
    let added = client
        .post(format!("{base}/api/cart/items"))
        .bearer_auth(&token)
        .json(&json!({"sku": sku, "quantity": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    let checkout = {
        let (client, base, token) = (client.clone(), base.clone(), token.clone());
        tokio::spawn(async move {
            client
                .post(format!("{base}/api/orders"))
                .bearer_auth(&token)
                .header("idempotency-key", "crash-1")
                .json(&checkout_body(SLOW_CARD))
                .send()
                .await
        })
    };

    // Kill it once the stock is held, while the payment service is still thinking.
    let order_db = shopctl_kit::db::Db::connect(&db.url, shopctl_kit::db::PoolOptions::default())
        .await
        .unwrap();
    for _ in 0..200 {
        if saga_state(&order_db).await.as_deref() == Some("stock_reserved") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        saga_state(&order_db).await.as_deref(),
        Some("stock_reserved")
    );
    process.0.kill().unwrap(); // SIGKILL
    process.0.wait().unwrap();
    assert!(
        checkout.await.unwrap().is_err(),
        "the client lost its connection"
    );
    assert_eq!(
        shop.stock(&sku).await["reserved"],
        2,
        "the hold outlived the process"
    );

    // Restart on the same database: the saga is resumed.
    drop(process);
    let _process = start_order(&shop, &db, port, &log);
    ready(port).await;
    let mut order = Value::Null;
    for _ in 0..300 {
        let orders: Value = client
            .get(format!("{base}/api/orders"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        order = orders["items"][0].clone();
        if order["status"] != "pending" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        order["status"] == "confirmed" || order["status"] == "cancelled",
        "the saga ended: {order}"
    );
    for _ in 0..100 {
        if matches!(
            saga_state(&order_db).await.as_deref(),
            Some("confirmed" | "cancelled")
        ) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stock = shop.stock(&sku).await;
    if order["status"] == "confirmed" {
        assert_eq!(
            (stock["on_hand"].as_i64(), stock["reserved"].as_i64()),
            (Some(1), Some(0))
        );
    } else {
        assert_eq!(
            (stock["on_hand"].as_i64(), stock["reserved"].as_i64()),
            (Some(3), Some(0))
        );
    }

    eprintln!("after the restart the order is {}", order["status"]);
    // Orders, reservations and payments agree.
    let mut settings = CommonSettings::defaults(0);
    settings.service_key = Some(SERVICE_KEY.into());
    let tokens = ServiceTokens::from_settings("ops", &settings);
    let service = |url: &str, name: &str| {
        ServiceClient::new(url, name, tokens.clone(), Duration::from_secs(10))
    };
    let report =
        shopctl_order::domain::reconcile::reconcile(&shopctl_order::domain::reconcile::Services {
            order: service(&base, "order"),
            inventory: service(&shop.inventory.url, "inventory"),
            payment: service(&shop.payment.url, "payment"),
        })
        .await
        .unwrap();
    assert!(report.ok(true), "{report:?}");
    assert_eq!(report.orders, 1);

    // The card never reached the order service's log.
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("resuming saga"), "{text}");
    assert!(!text.contains(SLOW_CARD) && !text.contains("4000 0000 0000 3220"));
}
