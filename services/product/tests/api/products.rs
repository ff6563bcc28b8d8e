//! CRUD of products and categories through the HTTP API.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{assert_problem, product_body, spawn_app};

#[tokio::test]
async fn created_product_is_returned_by_id_and_by_sku() {
    // Arrange
    let app = spawn_app().await;
    app.create_category("shoes").await;

    // Act
    let created = app
        .create_product(&product_body("run-1", "Trail Runner", "shoes"))
        .await;

    // Assert
    assert_eq!(created["sku"], "RUN-1", "SKUs are stored upper-case");
    assert_eq!(created["price"], json!({"amount": 1999, "currency": "USD"}));
    let id = created["id"].as_str().unwrap();
    assert_eq!(app.get_json(&format!("/api/products/{id}")).await, created);
    assert_eq!(app.get_json("/api/products/sku/run-1").await, created);
}

#[tokio::test]
async fn create_returns_location_header() {
    let app = spawn_app().await;
    app.create_category("shoes").await;
    let response = app
        .admin(
            Method::POST,
            "/api/products",
            Some(&product_body("LOC-1", "Loc", "shoes")),
        )
        .await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        location,
        format!("/api/products/{}", body["id"].as_str().unwrap())
    );
}

#[tokio::test]
async fn writes_need_the_admin_token() {
    let app = spawn_app().await;
    let body = product_body("A-1", "A", "shoes");
    let anonymous = app
        .client
        .post(format!("{}/api/products", app.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(anonymous.headers().contains_key("www-authenticate"));
    assert_problem(anonymous, 401, "unauthorized", None).await;

    let wrong = app
        .client
        .post(format!("{}/api/products", app.url))
        .bearer_auth("not-the-token")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_problem(wrong, 401, "unauthorized", None).await;

    for (method, path) in [
        (
            Method::PUT,
            "/api/products/0190b3a4-0000-7000-8000-000000000000",
        ),
        (
            Method::DELETE,
            "/api/products/0190b3a4-0000-7000-8000-000000000000",
        ),
        (Method::POST, "/api/categories"),
        (Method::DELETE, "/api/categories/shoes"),
    ] {
        let response = app
            .client
            .request(method.clone(), format!("{}{path}", app.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{method} {path} without a token");
    }
}

#[tokio::test]
async fn duplicate_sku_is_a_conflict() {
    let app = spawn_app().await;
    app.create_category("shoes").await;
    app.create_product(&product_body("DUP-1", "First", "shoes"))
        .await;
    let response = app
        .admin(
            Method::POST,
            "/api/products",
            Some(&product_body("dup-1", "Second", "shoes")),
        )
        .await;
    let body = assert_problem(response, 409, "conflict", None).await;
    assert!(body["detail"].as_str().unwrap().contains("DUP-1"), "{body}");
}

#[tokio::test]
async fn unknown_category_is_rejected_naming_the_field() {
    let app = spawn_app().await;
    let response = app
        .admin(
            Method::POST,
            "/api/products",
            Some(&product_body("X-1", "X", "no-such-category")),
        )
        .await;
    assert_problem(response, 422, "validation", Some("category")).await;
}

#[tokio::test]
async fn replace_changes_every_field_and_missing_product_is_404() {
    let app = spawn_app().await;
    app.create_category("shoes").await;
    app.create_category("home").await;
    let created = app
        .create_product(&product_body("REP-1", "Before", "shoes"))
        .await;
    let id = created["id"].as_str().unwrap();

    let mut replacement = product_body("REP-2", "After", "home");
    replacement["price"] = json!({"amount": 500, "currency": "EUR"});
    replacement["active"] = json!(false);
    let response = app
        .admin(
            Method::PUT,
            &format!("/api/products/{id}"),
            Some(&replacement),
        )
        .await;
    assert_eq!(response.status(), 200);
    let updated: serde_json::Value = response.json().await.unwrap();
    assert_eq!(updated["id"], created["id"]);
    assert_eq!(updated["sku"], "REP-2");
    assert_eq!(updated["category"], "home");
    assert_eq!(updated["price"]["currency"], "EUR");
    assert_eq!(updated["active"], false);
    assert_eq!(updated["created_at"], created["created_at"]);
    assert_ne!(updated["updated_at"], created["updated_at"]);
    assert_eq!(app.get_json(&format!("/api/products/{id}")).await, updated);

    let missing = app
        .admin(
            Method::PUT,
            "/api/products/0190b3a4-0000-7000-8000-000000000000",
            Some(&replacement),
        )
        .await;
    assert_problem(missing, 404, "not-found", None).await;
}

#[tokio::test]
async fn delete_removes_the_product_and_a_second_delete_is_404() {
    let app = spawn_app().await;
    app.create_category("shoes").await;
    let created = app
        .create_product(&product_body("DEL-1", "Gone", "shoes"))
        .await;
    let path = format!("/api/products/{}", created["id"].as_str().unwrap());

    assert_eq!(app.admin(Method::DELETE, &path, None).await.status(), 204);
    assert_problem(app.get(&path).await, 404, "not-found", None).await;
    assert_problem(
        app.admin(Method::DELETE, &path, None).await,
        404,
        "not-found",
        None,
    )
    .await;
    let search = app.get_json("/api/products?q=gone").await;
    assert_eq!(
        search["total"], 0,
        "deleted products leave the search index"
    );
}

#[tokio::test]
async fn inactive_products_are_not_listed() {
    let app = spawn_app().await;
    app.create_category("shoes").await;
    let mut body = product_body("HID-1", "Hidden Boot", "shoes");
    body["active"] = json!(false);
    let created = app.create_product(&body).await;
    assert_eq!(app.get_json("/api/products?q=hidden").await["total"], 0);
    assert_eq!(app.get_json("/api/products").await["total"], 0);
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        app.get_json(&format!("/api/products/{id}")).await["active"],
        false
    );
}

#[tokio::test]
async fn categories_list_counts_and_refuse_deletion_while_used() {
    let app = spawn_app().await;
    app.create_category("shoes").await;
    app.create_category("empty").await;
    app.create_product(&product_body("C-1", "One", "shoes"))
        .await;
    app.create_product(&product_body("C-2", "Two", "shoes"))
        .await;

    let categories = app.get_json("/api/categories").await;
    let counts: Vec<(String, i64)> = categories
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["slug"].as_str().unwrap().to_owned(),
                c["product_count"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(counts, [("empty".to_owned(), 0), ("shoes".to_owned(), 2)]);

    let duplicate = app
        .admin(
            Method::POST,
            "/api/categories",
            Some(&json!({"slug": "shoes", "name": "Shoes"})),
        )
        .await;
    assert_problem(duplicate, 409, "conflict", None).await;
    assert_problem(
        app.admin(Method::DELETE, "/api/categories/shoes", None)
            .await,
        409,
        "conflict",
        None,
    )
    .await;
    assert_eq!(
        app.admin(Method::DELETE, "/api/categories/empty", None)
            .await
            .status(),
        204
    );
    assert_problem(
        app.admin(Method::DELETE, "/api/categories/empty", None)
            .await,
        404,
        "not-found",
        None,
    )
    .await;
}
