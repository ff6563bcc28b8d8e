//! Checkout through the order service's API, its saga driving the stand-ins of the catalog,
//! inventory and payment services: paid and confirmed, declined and compensated, refused for
//! want of stock, and kept from other customers.

use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{
    APPROVED, CAPTURE, DECLINED, Hold, PAYMENTS, REFUND, WAIT, eventually, spawn_app,
};

const SKU: &str = "KETTLE-1";

fn order_id(order: &Value) -> Uuid {
    order["id"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_checkout_holds_the_stock_captures_the_payment_and_confirms_the_order() {
    let app = spawn_app().await;
    app.upstreams.add_product(SKU, 2_500, 5);
    let ana = app.customer("customer-ana");
    assert_eq!(ana.add_to_cart(SKU, 2).await.status(), 201);

    let response = ana.checkout("checkout-1", APPROVED).await;
    assert_eq!(response.status(), 201);
    let order: Value = response.json().await.unwrap();
    assert_eq!(order["status"], "confirmed", "{order:#}");
    assert_eq!(
        order["total"]["amount"], 5_899,
        "2 × 25.00, 8 % tax and 4.99 shipping"
    );
    assert_eq!(order["card"], "visa •••• 4242");
    let id = order_id(&order);

    assert_eq!(app.upstreams.reservation(id), Some(Hold::Confirmed));
    assert_eq!(
        app.upstreams.stock(SKU),
        (3, 0),
        "two units left the warehouse"
    );
    let payments = app.upstreams.payments(id);
    assert_eq!(payments.len(), 1, "{payments:#?}");
    assert_eq!(payments[0]["status"], "captured");
    assert_eq!(payments[0]["captured_amount"]["amount"], 5_899);
    assert_eq!(order["payment_id"], payments[0]["id"]);
    assert!(
        ana.cart().await["items"].as_array().unwrap().is_empty(),
        "the bought items left the cart"
    );
    let delivered = eventually(WAIT, || app.upstreams.delivered("order.confirmed")).await;
    assert!(delivered, "order.confirmed was delivered");
    app.upstreams.assert_contract_kept();
}

#[tokio::test]
async fn a_declined_card_cancels_the_order_and_releases_the_stock() {
    let app = spawn_app().await;
    app.upstreams.add_product(SKU, 2_500, 5);
    let ana = app.customer("customer-ana");
    assert_eq!(ana.add_to_cart(SKU, 2).await.status(), 201);

    let response = ana.checkout("checkout-declined", DECLINED).await;
    assert_eq!(
        response.status(),
        201,
        "a declined card still makes an order"
    );
    let order: Value = response.json().await.unwrap();
    assert_eq!(order["status"], "cancelled", "{order:#}");
    assert!(
        order["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("declined")),
        "{order:#}"
    );
    let id = order_id(&order);

    assert_eq!(app.upstreams.reservation(id), Some(Hold::Released));
    assert_eq!(
        app.upstreams.stock(SKU),
        (5, 0),
        "the stock is available again"
    );
    let payments = app.upstreams.payments(id);
    assert_eq!(payments.len(), 1, "{payments:#?}");
    assert_eq!(payments[0]["status"], "declined");
    assert_eq!(
        app.upstreams.calls("post", CAPTURE),
        0,
        "nothing was captured"
    );
    let delivered = eventually(WAIT, || app.upstreams.delivered("payment.failed")).await;
    assert!(delivered, "payment.failed was delivered");
    app.upstreams.assert_contract_kept();
}

#[tokio::test]
async fn a_cart_the_stock_cannot_cover_holds_nothing_and_charges_nothing() {
    let app = spawn_app().await;
    app.upstreams.add_product(SKU, 2_500, 5);
    app.upstreams.add_product("MUG-1", 900, 1);
    let ana = app.customer("customer-ana");
    assert_eq!(ana.add_to_cart(SKU, 2).await.status(), 201);
    assert_eq!(ana.add_to_cart("MUG-1", 2).await.status(), 201);

    let response = ana.checkout("checkout-short", APPROVED).await;
    assert_eq!(response.status(), 409);
    let problem: Value = response.json().await.unwrap();
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|detail| detail.contains("MUG-1")),
        "{problem:#}"
    );
    assert_eq!(
        app.upstreams.stock(SKU),
        (5, 0),
        "the line that would have fit is not held either"
    );
    assert_eq!(app.upstreams.stock("MUG-1"), (1, 0));
    assert_eq!(
        app.upstreams.calls("post", PAYMENTS),
        0,
        "no card was charged"
    );
    app.upstreams.assert_contract_kept();
}

#[tokio::test]
async fn another_customer_can_neither_see_nor_cancel_the_order() {
    let app = spawn_app().await;
    app.upstreams.add_product(SKU, 2_500, 5);
    let ana = app.customer("customer-ana");
    let ben = app.customer("customer-ben");
    assert_eq!(ana.add_to_cart(SKU, 1).await.status(), 201);
    let response = ana.checkout("checkout-ana", APPROVED).await;
    assert_eq!(response.status(), 201);
    let order: Value = response.json().await.unwrap();
    let id = order["id"].as_str().unwrap();
    assert_eq!(ana.order(id).await.status(), 200);

    // 404 rather than 403: to anyone but its owner (and staff) the order does not exist.
    let hidden = ben.order(id).await;
    assert_eq!(hidden.status(), 404);
    assert_eq!(hidden.headers()["content-type"], "application/problem+json");
    assert_eq!(ben.cancel(id).await.status(), 404);

    let still: Value = ana.order(id).await.json().await.unwrap();
    assert_eq!(still["status"], "confirmed", "{still:#}");
    assert_eq!(
        app.upstreams.calls("post", REFUND),
        0,
        "nothing was refunded"
    );
    app.upstreams.assert_contract_kept();
}
