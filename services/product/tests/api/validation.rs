//! Bad input of every kind gets a 4xx problem+json naming the field: never a 500, never a panic.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_TOKEN, assert_problem, product_body, spawn_app};

fn with(field: &str, value: Value) -> Value {
    let mut body = product_body("VAL-1", "Valid", "shoes");
    let mut target = &mut body;
    let parts: Vec<&str> = field.split('.').collect();
    for part in &parts[..parts.len() - 1] {
        target = &mut target[*part];
    }
    target[parts[parts.len() - 1]] = value;
    body
}

#[tokio::test]
async fn invalid_product_bodies_return_422_naming_the_field() {
    let app = spawn_app().await;
    app.create_category("shoes").await;
    let cases = [
        (
            "negative price",
            with("price.amount", json!(-1)),
            "price.amount",
        ),
        (
            "absurd price",
            with("price.amount", json!(1_000_000_000_000_i64)),
            "price.amount",
        ),
        (
            "float price",
            with("price.amount", json!(19.99)),
            "price.amount",
        ),
        (
            "price as string",
            with("price.amount", json!("1999")),
            "price.amount",
        ),
        (
            "unknown currency",
            with("price.currency", json!("XYZ")),
            "price.currency",
        ),
        ("empty name", with("name", json!("  ")), "name"),
        (
            "over-long name",
            with("name", json!("n".repeat(201))),
            "name",
        ),
        (
            "over-long description",
            with("description", json!("d".repeat(5_001))),
            "description",
        ),
        ("bad sku", with("sku", json!("A B;--")), "sku"),
        ("over-long sku", with("sku", json!("S".repeat(65))), "sku"),
        (
            "bad category slug",
            with("category", json!("Shoes!")),
            "category",
        ),
        (
            "over-long brand",
            with("brand", json!("b".repeat(101))),
            "brand",
        ),
        (
            "script image url",
            with("image_url", json!("javascript:alert(1)")),
            "image_url",
        ),
        ("name is a number", with("name", json!(42)), "name"),
        ("unknown field", with("discount", json!(5)), "discount"),
        (
            "unknown nested field",
            with("price.cents", json!(5)),
            "price",
        ),
        (
            "control characters",
            with("name", json!("a\u{0007}b")),
            "name",
        ),
    ];
    for (case, body, field) in cases {
        let response = app.admin(Method::POST, "/api/products", Some(&body)).await;
        assert_eq!(response.status(), 422, "case `{case}`");
        let problem: Value = response.json().await.unwrap();
        assert_eq!(
            problem["type"], "https://shopctl.dev/problems/validation",
            "case `{case}`: {problem}"
        );
        assert!(
            problem["field"].as_str().unwrap().contains(field)
                || problem["detail"].as_str().unwrap().contains(field),
            "case `{case}` should name `{field}`: {problem}"
        );
    }
    let missing = json!({"sku": "M-1", "name": "No price", "category": "shoes", "brand": "Acme"});
    let response = app
        .admin(Method::POST, "/api/products", Some(&missing))
        .await;
    let problem = assert_problem(response, 422, "validation", None).await;
    assert!(
        problem["detail"].as_str().unwrap().contains("price"),
        "{problem}"
    );
    assert_eq!(
        app.get_json("/api/products").await["total"],
        0,
        "nothing was written"
    );
}

#[tokio::test]
async fn malformed_bodies_are_rejected_before_validation() {
    let app = spawn_app().await;
    let post = |body: Vec<u8>, content_type: &'static str| {
        app.client
            .post(format!("{}/api/products", app.url))
            .bearer_auth(ADMIN_TOKEN)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    assert_problem(
        post(b"{\"sku\": ".to_vec(), "application/json")
            .await
            .unwrap(),
        400,
        "malformed-json",
        None,
    )
    .await;
    assert_problem(
        post(b"[1, 2".to_vec(), "application/json").await.unwrap(),
        400,
        "malformed-json",
        None,
    )
    .await;
    assert_problem(
        post(b"{\"sku\": \"\xff\xfe\"}".to_vec(), "application/json")
            .await
            .unwrap(),
        400,
        "malformed-json",
        None,
    )
    .await;
    assert_problem(
        post(b"sku=1".to_vec(), "text/plain").await.unwrap(),
        415,
        "unsupported-media-type",
        None,
    )
    .await;
    let huge = format!("{{\"sku\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
    assert_problem(
        post(huge.into_bytes(), "application/json").await.unwrap(),
        413,
        "payload-too-large",
        None,
    )
    .await;
}

#[tokio::test]
async fn bad_list_parameters_return_400_naming_the_parameter() {
    let app = spawn_app().await;
    let cases = [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("limit=-5", "limit"),
        ("min_price=-1", "min_price"),
        ("max_price=99999999999", "max_price"),
        ("min_price=500&max_price=100", "min_price"),
        ("min_price=1.5", "min_price"),
        ("sort=cheapest", "sort"),
        ("cursor=not-a-cursor", "cursor"),
        ("cursor=eyJzIjoibmFtZSJ9", "cursor"),
        ("category=Not%20A%20Slug", "category"),
        ("colour=red", "colour"),
    ];
    for (query, field) in cases {
        let response = app.get(&format!("/api/products?{query}")).await;
        assert_problem(response, 400, "bad-request", Some(field)).await;
    }
    let long_q = format!("/api/products?q={}", "a".repeat(201));
    assert_problem(app.get(&long_q).await, 400, "bad-request", Some("q")).await;
    for raw in ["/api/products?q=%FF%FE", "/api/products?q=%zz"] {
        assert_problem(app.get(raw).await, 400, "bad-request", None).await;
    }
    assert_problem(
        app.get("/api/products/not-a-uuid").await,
        400,
        "bad-request",
        Some("id"),
    )
    .await;
    assert_problem(
        app.get("/api/products/sku/bad%20sku").await,
        400,
        "bad-request",
        Some("sku"),
    )
    .await;
}

#[tokio::test]
async fn search_operators_and_sql_metacharacters_are_plain_text() {
    let app = spawn_app().await;
    app.seed(50, 3).await;
    let nasty = [
        "\"",
        "'",
        "*",
        "shoe*",
        "NEAR(a b)",
        "name:shoe",
        "a OR b",
        "a AND NOT b",
        "-shoe",
        "^shoe",
        "'; DROP TABLE products; --",
        "1' OR '1'='1",
        "%",
        "_",
        "\\",
        "(",
        ")",
        "{name}: x",
        "a & b | !c",
        "shoe:*",
        "<->",
        "😀",
        "ß",
        "  ",
    ];
    for q in nasty {
        let response = app
            .client
            .get(format!("{}/api/products", app.url))
            .query(&[("q", q)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "q={q:?}");
        let page: Value = response.json().await.unwrap();
        assert!(page["items"].is_array(), "q={q:?}: {page}");
    }
    assert_eq!(
        app.get_json("/api/products").await["total"],
        50,
        "the catalog is intact"
    );
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problems() {
    let app = spawn_app().await;
    assert_problem(app.get("/api/nothing-here").await, 404, "not-found", None).await;
    let response = app
        .client
        .patch(format!("{}/api/products", app.url))
        .send()
        .await
        .unwrap();
    assert_problem(response, 405, "method-not-allowed", None).await;
}
