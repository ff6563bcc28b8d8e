//! The admins' low-stock list: the SKUs the `inventory_low_stock_skus` gauge counts, fewest
//! available first, then by SKU.

use reqwest::Response;
use serde_json::{Value, json};
use shopctl_kit::auth::Role;
use uuid::Uuid;

use crate::helpers::{ADMIN_TOKEN, TestApp, spawn_app};

impl TestApp {
    /// `GET /api/inventory/low-stock` with `query` (`""` or `"?limit=…"`) and `token`, if any.
    async fn low_stock_as(&self, query: &str, token: Option<&str>) -> Response {
        let mut request = self
            .client
            .get(format!("{}/api/inventory/low-stock{query}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    /// The admin's low-stock list for `query`; asserts 200.
    async fn low_stock(&self, query: &str) -> Value {
        let response = self.low_stock_as(query, Some(ADMIN_TOKEN)).await;
        assert_eq!(response.status(), 200, "GET low-stock{query}");
        response.json().await.unwrap()
    }

    /// Stocks each SKU with its units; asserts 200.
    async fn stocked(&self, levels: &[(&str, i64)]) {
        for (sku, units) in levels {
            assert_eq!(self.adjust(sku, *units).await.status(), 200, "stock {sku}");
        }
    }
}

/// Asserts a 4xx problem document with `status` (and the `field` at fault, when given).
async fn problem(response: Response, status: u16, field: Option<&str>, what: &str) {
    assert_eq!(response.status(), status, "{what}");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json",
        "{what}"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status, "{what}: {body}");
    if let Some(field) = field {
        assert_eq!(body["field"], field, "{what}: {body}");
    }
}

#[tokio::test]
async fn admins_see_exactly_the_low_skus_fewest_available_first() {
    // Arrange: the default threshold is 5 available units.
    let app = spawn_app(&[]).await;
    app.stocked(&[
        ("PLENTY-1", 50),
        ("EDGE-6", 6),
        ("EDGE-5", 5),
        ("B-2", 2),
        ("A1", 2),
        ("A-2", 2),
        ("HELD-1", 10),
        ("GONE-1", 4),
    ])
    .await;
    assert_eq!(app.adjust("GONE-1", -4).await.status(), 200);
    // Plenty on hand, but reserved units are not for sale: one is left.
    assert_eq!(
        app.reserve(Uuid::now_v7(), &[("HELD-1", 9)]).await.status(),
        201
    );

    // Act
    let list = app.low_stock("").await;

    // Assert: at or below 5 available, by available units, then by SKU in byte order.
    assert_eq!(
        list,
        json!({"threshold": 5, "skus": [
            {"sku": "GONE-1", "on_hand": 0, "reserved": 0, "available": 0},
            {"sku": "HELD-1", "on_hand": 10, "reserved": 9, "available": 1},
            {"sku": "A-2", "on_hand": 2, "reserved": 0, "available": 2},
            {"sku": "A1", "on_hand": 2, "reserved": 0, "available": 2},
            {"sku": "B-2", "on_hand": 2, "reserved": 0, "available": 2},
            {"sku": "EDGE-5", "on_hand": 5, "reserved": 0, "available": 5},
        ]})
    );
    // The gauge counts the same SKUs.
    app.sweeper.run_once().await.unwrap();
    let metrics = app
        .client
        .get(format!("{}/metrics", app.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("\ninventory_low_stock_skus 6\n"),
        "{metrics}"
    );
}

#[tokio::test]
async fn the_threshold_is_the_configured_one() {
    let app = spawn_app(&[("low_stock_threshold", 1)]).await;
    app.stocked(&[("ONE-1", 1), ("TWO-1", 2)]).await;
    assert_eq!(
        app.low_stock("").await,
        json!({"threshold": 1, "skus": [
            {"sku": "ONE-1", "on_hand": 1, "reserved": 0, "available": 1},
        ]})
    );
}

#[tokio::test]
async fn the_list_stops_at_the_limit() {
    let app = spawn_app(&[]).await;
    let skus: Vec<String> = (0..25).map(|i| format!("SKU-{i:02}")).collect();
    for sku in &skus {
        app.stocked(&[(sku.as_str(), 1)]).await;
    }
    app.stocked(&[("SKU-EMPTY", 1)]).await;
    app.adjust("SKU-EMPTY", -1).await;
    let listed = |list: &Value| -> Vec<String> {
        list["skus"]
            .as_array()
            .unwrap()
            .iter()
            .map(|level| level["sku"].as_str().unwrap().to_owned())
            .collect()
    };

    let default = listed(&app.low_stock("").await);
    assert_eq!(default.len(), 20, "20 without a limit");
    assert_eq!(default[0], "SKU-EMPTY");
    assert_eq!(default[1..], skus[..19]);

    assert_eq!(
        listed(&app.low_stock("?limit=2").await),
        ["SKU-EMPTY", "SKU-00"]
    );
    assert_eq!(listed(&app.low_stock("?limit=1").await), ["SKU-EMPTY"]);
    assert_eq!(listed(&app.low_stock("?limit=200").await).len(), 26);
}

#[tokio::test]
async fn an_empty_list_is_still_an_answer() {
    let app = spawn_app(&[]).await;
    app.stocked(&[("PLENTY-1", 50)]).await;
    assert_eq!(
        app.low_stock("?limit=5").await,
        json!({"threshold": 5, "skus": []})
    );
}

#[tokio::test]
async fn only_admins_see_the_low_stock_list() {
    let app = spawn_app(&[]).await;
    app.stocked(&[("MUG-1", 1)]).await;

    problem(app.low_stock_as("", None).await, 401, None, "anonymous").await;
    problem(
        app.low_stock_as("", Some("forged-token")).await,
        401,
        None,
        "forged token",
    )
    .await;
    let customer = app.user_token("customer-ana", Role::Customer);
    problem(
        app.low_stock_as("", Some(&customer)).await,
        403,
        None,
        "customer",
    )
    .await;
    let support = app.user_token("support-bo", Role::Support);
    problem(
        app.low_stock_as("", Some(&support)).await,
        403,
        None,
        "support",
    )
    .await;
    // As for adjustments, a service token is not an admin's.
    problem(
        app.low_stock_as("", Some(&app.service)).await,
        403,
        None,
        "the order service",
    )
    .await;
    // Refused before the query is looked at.
    problem(
        app.low_stock_as("?limit=0", Some(&customer)).await,
        403,
        None,
        "customer, bad limit",
    )
    .await;

    // An admin's platform token works as the bootstrap admin token does.
    let admin = app.user_token("admin-cy", Role::Admin);
    let response = app.low_stock_as("", Some(&admin)).await;
    assert_eq!(response.status(), 200);
    let list: Value = response.json().await.unwrap();
    assert_eq!(list["skus"][0]["sku"], "MUG-1");
}

#[tokio::test]
async fn a_limit_out_of_range_is_a_400_problem() {
    let app = spawn_app(&[]).await;
    for query in [
        "?limit=0",
        "?limit=201",
        "?limit=1000",
        "?limit=-1",
        "?limit=ten",
        "?limit=",
    ] {
        problem(
            app.low_stock_as(query, Some(ADMIN_TOKEN)).await,
            400,
            Some("limit"),
            query,
        )
        .await;
    }
    // Unknown parameters are refused too, rather than ignored.
    problem(
        app.low_stock_as("?threshold=50", Some(ADMIN_TOKEN)).await,
        400,
        None,
        "?threshold=50",
    )
    .await;
}

#[tokio::test]
async fn low_stock_is_a_route_and_not_a_sku() {
    let app = spawn_app(&[]).await;
    // Not "no stock is kept for LOW-STOCK" (404): the route, which wants an admin.
    problem(app.low_stock_as("", None).await, 401, None, "anonymous").await;

    // A SKU spelled like the route is still a SKU: adjusted through its own path, read back
    // under its canonical (upper-case) spelling, and listed when low.
    assert_eq!(app.adjust("low-stock", 3).await.status(), 200);
    assert_eq!(
        app.stock("LOW-STOCK").await,
        json!({"sku": "LOW-STOCK", "on_hand": 3, "reserved": 0, "available": 3})
    );
    assert_eq!(
        app.low_stock("").await["skus"],
        json!([{"sku": "LOW-STOCK", "on_hand": 3, "reserved": 0, "available": 3}])
    );
    let post = app
        .client
        .post(format!("{}/api/inventory/low-stock", app.url))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 405);
}
