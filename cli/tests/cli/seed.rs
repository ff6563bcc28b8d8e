//! `shopctl seed products`.

use shopctl_kit::{
    db::{Db, PoolOptions},
    settings::sqlite_url,
};

use crate::helpers::{assert_one_line_error, run_in};

async fn catalog(dir: &std::path::Path) -> Vec<(String, String, String, i64)> {
    #[derive(sqlx::FromRow)]
    struct Row {
        id: String,
        sku: String,
        name: String,
        price_amount: i64,
    }
    let url = secrecy::SecretString::from(sqlite_url(&dir.join(".shopctl/product.db")));
    let db = Db::connect(&url, PoolOptions::default()).await.unwrap();
    let rows: Vec<Row> = db
        .fetch_all(
            "SELECT id, sku, name, price_amount FROM products ORDER BY sku",
            &[],
        )
        .await
        .unwrap();
    db.close().await;
    rows.into_iter()
        .map(|r| (r.id, r.sku, r.name, r.price_amount))
        .collect()
}

#[tokio::test]
async fn the_same_seed_gives_the_same_catalog() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    for (dir, seed) in [(&a, "7"), (&b, "7"), (&c, "8")] {
        let output = run_in(
            dir.path(),
            &[
                "seed", "products", "--count", "2000", "--seed", seed, "--output", "json",
            ],
        );
        assert!(
            output.status.success(),
            "{}",
            crate::helpers::stderr(&output)
        );
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(report["inserted"], 2000);
        assert_eq!(report["total"], 2000);
    }
    let (first, second, other) = (
        catalog(a.path()).await,
        catalog(b.path()).await,
        catalog(c.path()).await,
    );
    assert_eq!(first.len(), 2000);
    assert_eq!(first, second);
    assert_ne!(first, other);
}

#[tokio::test]
async fn seeding_the_same_catalog_twice_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        run_in(
            dir.path(),
            &["seed", "products", "--count", "50", "--seed", "1"]
        )
        .status
        .success()
    );
    let output = run_in(
        dir.path(),
        &["seed", "products", "--count", "50", "--seed", "1"],
    );
    assert_one_line_error(&output, &["--seed"]);
    assert_eq!(catalog(dir.path()).await.len(), 50);
    // As the message says, another seed adds another catalog beside the first.
    let output = run_in(
        dir.path(),
        &["seed", "products", "--count", "50", "--seed", "2"],
    );
    assert!(
        output.status.success(),
        "{}",
        crate::helpers::stderr(&output)
    );
    assert_eq!(catalog(dir.path()).await.len(), 100);
}
