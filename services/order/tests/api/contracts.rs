//! The stand-ins of `helpers::Upstreams` answer for the product, inventory and payment services
//! in this suite. These tests hold them to those services' committed `openapi.json`, so that a
//! stand-in cannot drift from the service it stands for: every route a stand-in serves is in the
//! service's document, every route it lists is served, and its answers have the documented
//! shapes. (The request bodies the order service sends are checked against the documents as the
//! other tests run; see `helpers.rs`.)

use reqwest::{Client, Method, RequestBuilder};
use serde_json::{Value, json};
use shopctl_kit::testing::service_token;
use uuid::Uuid;

use crate::helpers::{
    APPROVED, CAPTURE, CONFIRM, PAYMENTS, PRODUCT_BY_SKU, REFUND, RELEASE, RESERVATION,
    RESERVATIONS, StandIn, Upstreams, VOID, departures,
};

#[test]
fn every_route_a_stand_in_serves_is_in_its_services_document() {
    for stand_in in StandIn::ALL {
        let doc = stand_in.document();
        let name = stand_in.name();
        for (method, path) in stand_in.routes() {
            assert!(
                doc["paths"][*path][*method].is_object(),
                "the {name} stand-in serves {method} {path}, which services/{name}/openapi.json does not document"
            );
        }
    }
}

#[tokio::test]
async fn every_route_a_stand_in_lists_is_served() {
    let upstreams = Upstreams::spawn().await;
    let client = Client::new();
    for stand_in in StandIn::ALL {
        for (method, path) in stand_in.routes() {
            let concrete = path
                .replace("{sku}", "NO-SUCH-SKU")
                .replace("{order_id}", &Uuid::new_v4().to_string())
                .replace("{id}", &Uuid::new_v4().to_string());
            let verb = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let status = client
                .request(verb, format!("{}{concrete}", upstreams.url(stand_in)))
                .send()
                .await
                .unwrap()
                .status();
            // Unauthenticated and unknown: 401 or 404 from the route itself; 405 or the
            // fallback's 501 would mean the route is not there.
            assert!(
                status != 405 && status != 501,
                "the {} stand-in does not serve {method} {path}: {status}",
                stand_in.name()
            );
        }
    }
}

/// Sends `request`, expects `status`, and checks that the body has the shape `stand_in`'s
/// document gives `method path` for that status; returns the body.
async fn documented(
    stand_in: StandIn,
    method: &str,
    path: &str,
    status: u16,
    request: RequestBuilder,
) -> Value {
    let response = request.send().await.unwrap();
    let code = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(code, status, "{method} {path}: {text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    let doc = stand_in.document();
    let name = stand_in.name();
    let answer = &doc["paths"][path][method]["responses"][status.to_string().as_str()];
    let schema = &answer["content"]["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "services/{name}/openapi.json documents no JSON answer {status} to {method} {path}"
    );
    let found = departures(doc, schema, &body);
    assert!(
        found.is_empty(),
        "the {name} stand-in's answer to {method} {path} departs from its document: {found:#?}\n{body:#}"
    );
    body
}

#[tokio::test]
async fn the_stand_ins_answer_in_the_documented_shapes() {
    let upstreams = Upstreams::spawn().await;
    upstreams.add_product("SHAPE-1", 1_250, 5);
    let client = Client::new();
    let (catalog, stock, billing) = (StandIn::Product, StandIn::Inventory, StandIn::Payment);
    let inventory = service_token("order", "inventory");
    let payment = service_token("order", "payment");
    let product_url = upstreams.url(catalog);
    let inventory_url = upstreams.url(stock);
    let payment_url = upstreams.url(billing);

    let sku = client.get(format!("{product_url}/api/products/sku/shape-1"));
    documented(catalog, "get", PRODUCT_BY_SKU, 200, sku).await;

    let reserve = |order: Uuid| {
        let lines = json!([{"sku": "SHAPE-1", "quantity": 2}]);
        client
            .post(format!("{inventory_url}/internal/reservations"))
            .bearer_auth(inventory.as_str())
            .json(&json!({"order_id": order, "lines": lines, "ttl_secs": 60}))
    };
    let reservation = |order: Uuid, action: &str| {
        client
            .post(format!(
                "{inventory_url}/internal/reservations/{order}/{action}"
            ))
            .bearer_auth(inventory.as_str())
    };
    let (paid, dropped) = (Uuid::now_v7(), Uuid::now_v7());
    documented(stock, "post", RESERVATIONS, 201, reserve(paid)).await;
    let held = client
        .get(format!("{inventory_url}/internal/reservations/{paid}"))
        .bearer_auth(inventory.as_str());
    documented(stock, "get", RESERVATION, 200, held).await;
    documented(stock, "post", CONFIRM, 200, reservation(paid, "confirm")).await;
    documented(stock, "post", RESERVATIONS, 201, reserve(dropped)).await;
    documented(stock, "post", RELEASE, 200, reservation(dropped, "release")).await;

    let authorize = |key: &str, order: Uuid| {
        let card =
            json!({"card_number": APPROVED, "exp_month": 12, "exp_year": 2040, "cvc": "123"});
        let amount = json!({"amount": 2_700, "currency": "USD"});
        client
            .post(format!("{payment_url}/internal/payments"))
            .bearer_auth(payment.as_str())
            .header("idempotency-key", key)
            .json(
                &json!({"order_id": order, "customer_id": "customer-ana", "amount": amount,
                "card": card}),
            )
    };
    let payment_call = |id: &str, action: &str| {
        client
            .post(format!("{payment_url}/internal/payments/{id}/{action}"))
            .bearer_auth(payment.as_str())
    };
    let first = documented(billing, "post", PAYMENTS, 201, authorize("shape-1", paid)).await;
    let again = documented(billing, "post", PAYMENTS, 200, authorize("shape-1", paid)).await;
    assert_eq!(
        again["id"], first["id"],
        "the same key answers the stored payment"
    );
    let id = first["id"].as_str().unwrap();
    let listed = client
        .get(format!("{payment_url}/internal/payments?order_id={paid}"))
        .bearer_auth(payment.as_str());
    documented(billing, "get", PAYMENTS, 200, listed).await;
    documented(billing, "post", CAPTURE, 200, payment_call(id, "capture")).await;
    let refund = client
        .post(format!("{payment_url}/api/payments/{id}/refund"))
        .bearer_auth(payment.as_str())
        .json(&json!({"reason": "shape check"}));
    let refunded = documented(billing, "post", REFUND, 200, refund).await;
    assert_eq!(refunded["status"], "refunded");
    let second = documented(
        billing,
        "post",
        PAYMENTS,
        201,
        authorize("shape-2", dropped),
    )
    .await;
    let second_id = second["id"].as_str().unwrap();
    let voided = documented(billing, "post", VOID, 200, payment_call(second_id, "void")).await;
    assert_eq!(voided["status"], "voided");

    upstreams.assert_contract_kept();
}
