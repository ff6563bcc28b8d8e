//! Migrations, restarts, demo seeding and failure behaviour.

use shopctl_kit::{
    db::Backend,
    sql::Param,
    testing::{TestBackend, TestDatabase},
};

use crate::helpers::{assert_problem, product_body, settings_for, spawn_app, spawn_on};

#[tokio::test]
async fn migrations_are_idempotent() {
    let db = TestDatabase::new(TestBackend::from_env()).await;
    let settings = settings_for(&db, &[]);
    let first = shopctl_product::connect(&settings).await.unwrap();
    let applied = first.applied_migrations().await.unwrap();
    first.migrate(&shopctl_product::MIGRATIONS).await.unwrap();
    first.close().await;
    let second = shopctl_product::connect(&settings).await.unwrap();
    assert_eq!(second.applied_migrations().await.unwrap(), applied);
    assert!(!applied.is_empty());
    second.close().await;
}

#[tokio::test]
async fn data_survives_a_restart() {
    let app = spawn_app().await;
    app.create_category("shoes").await;
    let created = app
        .create_product(&product_body("KEEP-1", "Keeper", "shoes"))
        .await;
    app.server.stop().await.unwrap();

    let app = spawn_on(app.db, &[]).await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(app.get_json(&format!("/api/products/{id}")).await, created);
    assert_eq!(app.get_json("/api/products?q=keeper").await["total"], 1);
}

#[tokio::test]
async fn demo_catalog_is_seeded_once_in_dev_and_never_in_production() {
    let db = TestDatabase::new(TestBackend::from_env()).await;
    let app = spawn_on(db, &[("environment", "dev")]).await;
    assert_eq!(app.get_json("/api/products").await["total"], 100);
    let categories = app.get_json("/api/categories").await;
    assert_eq!(categories.as_array().unwrap().len(), 8);
    app.server.stop().await.unwrap();
    let app = spawn_on(app.db, &[("environment", "dev")]).await;
    assert_eq!(
        app.get_json("/api/products").await["total"],
        100,
        "a restart does not seed again"
    );

    let db = TestDatabase::new(TestBackend::from_env()).await;
    let app = spawn_on(db, &[("environment", "production")]).await;
    assert_eq!(app.get_json("/api/products").await["total"], 0);
}

#[tokio::test]
async fn a_broken_database_gives_a_generic_500() {
    let app = spawn_app().await;
    // Sabotage: drop the products table behind the service's back.
    let settings = settings_for(&app.db, &[]);
    let db = shopctl_product::connect(&settings).await.unwrap();
    let sql = match db.backend() {
        Backend::Sqlite => "DROP TABLE products",
        Backend::Postgres => "DROP TABLE products CASCADE",
    };
    db.execute(sql, &[] as &[Param]).await.unwrap();

    let body = assert_problem(app.get("/api/products").await, 500, "internal", None).await;
    let text = body.to_string();
    assert!(
        !text.contains("products") && !text.contains("table"),
        "no internals leak: {text}"
    );
    db.close().await;
}
