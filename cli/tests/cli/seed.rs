//! `shopctl seed products`.

use shopctl_kit::{
    db::{Db, PoolOptions},
    settings::sqlite_url,
};

use crate::helpers::run_in;

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
async fn seeding_the_same_catalog_twice_writes_it_once() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        run_in(
            dir.path(),
            &["seed", "products", "--count", "50", "--seed", "1"]
        )
        .status
        .success()
    );
    let before = catalog(dir.path()).await;
    let output = run_in(
        dir.path(),
        &[
            "seed", "products", "--count", "50", "--seed", "1", "--output", "json",
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        crate::helpers::stderr(&output)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["inserted"], 0);
    assert_eq!(report["total"], 50);
    assert_eq!(catalog(dir.path()).await, before, "nothing changed");
    // Another seed adds another catalog beside the first.
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

async fn rows(dir: &std::path::Path, db: &str, sql: &str) -> Vec<String> {
    #[derive(sqlx::FromRow)]
    struct Row {
        value: String,
    }
    let url = secrecy::SecretString::from(sqlite_url(&dir.join(format!("{db}.db"))));
    let db = Db::connect(&url, PoolOptions::default()).await.unwrap();
    let rows: Vec<Row> = db.fetch_all(sql, &[]).await.unwrap();
    db.close().await;
    rows.into_iter().map(|r| r.value).collect()
}

#[tokio::test]
async fn seed_all_makes_a_consistent_shop_history_deterministically_and_once() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let args = [
        "seed",
        "all",
        "--products",
        "500",
        "--users",
        "40",
        "--orders",
        "300",
        "--seed",
        "9",
        "--output",
        "json",
    ];
    for dir in [&a, &b] {
        let output = run_in(dir.path(), &args);
        assert!(
            output.status.success(),
            "{}",
            crate::helpers::stderr(&output)
        );
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let inserted: Vec<u64> = report
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["inserted"].as_u64().unwrap())
            .collect();
        assert_eq!(inserted, [500, 500, 40, 300], "{report}");
        assert_eq!(report[2]["password"], "seeded-shopper-9");
    }
    // Again: everything is there already, nothing is written twice.
    let again = run_in(a.path(), &args);
    assert!(again.status.success(), "{}", crate::helpers::stderr(&again));
    let report: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert!(
        report
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["inserted"] == 0),
        "{report}"
    );

    let data = a.path().join(".shopctl");
    let orders = rows(&data, "order", "SELECT id AS value FROM orders ORDER BY id").await;
    assert_eq!(orders.len(), 300);
    let same = rows(
        &b.path().join(".shopctl"),
        "order",
        "SELECT id AS value FROM orders ORDER BY id",
    )
    .await;
    assert_eq!(orders, same, "the same seed gives the same orders");
    // Every order belongs to a generated customer and buys generated products that have stock.
    let users = rows(&data, "user", "SELECT id AS value FROM users").await;
    let buyers = rows(
        &data,
        "order",
        "SELECT DISTINCT user_id AS value FROM orders",
    )
    .await;
    assert!(
        buyers.iter().all(|b| users.contains(b)),
        "orders of unknown customers"
    );
    let skus = rows(&data, "product", "SELECT sku AS value FROM products").await;
    let stocked = rows(&data, "inventory", "SELECT sku AS value FROM stock").await;
    let bought = rows(
        &data,
        "order",
        "SELECT DISTINCT sku AS value FROM order_lines",
    )
    .await;
    assert!(
        bought
            .iter()
            .all(|s| skus.contains(s) && stocked.contains(s))
    );
    let statuses = rows(
        &data,
        "order",
        "SELECT DISTINCT status AS value FROM orders",
    )
    .await;
    assert_eq!(statuses, ["delivered"]);
    // History sends no mail: no event waits in the outboxes.
    let queued = rows(
        &data,
        "user",
        "SELECT CAST(count(*) AS TEXT) AS value FROM events_outbox",
    )
    .await;
    assert_eq!(queued, ["0"]);
}

/// The same generators on PostgreSQL: each service's database named by `--database-url`.
#[tokio::test]
async fn users_and_orders_seed_on_postgres_too() {
    #[derive(sqlx::FromRow)]
    struct Count {
        n: i64,
    }
    use secrecy::ExposeSecret as _;
    use shopctl_kit::testing::{TestBackend, TestDatabase};
    let (users, orders) = (
        TestDatabase::new(TestBackend::Postgres).await,
        TestDatabase::new(TestBackend::Postgres).await,
    );
    let dir = tempfile::tempdir().unwrap();
    for (what, db, extra) in [
        ("users", &users, vec!["--count", "30"]),
        ("orders", &orders, vec!["--count", "80", "--users", "30"]),
    ] {
        let mut args = vec!["seed", what, "--database-url", db.url.expose_secret()];
        args.extend(extra);
        for expected in [if what == "users" { 30 } else { 80 }, 0] {
            let output = run_in(dir.path(), &[&args[..], &["--output", "json"]].concat());
            assert!(
                output.status.success(),
                "{}",
                crate::helpers::stderr(&output)
            );
            let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
            assert_eq!(report["inserted"], expected, "{what}: {report}");
        }
    }
    let db = Db::connect(&orders.url, PoolOptions::default())
        .await
        .unwrap();
    let lines: Vec<Count> = db
        .fetch_all(
            "SELECT count(*) AS n FROM orders o WHERE NOT EXISTS \
             (SELECT 1 FROM order_lines l WHERE l.order_id = o.id)",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(lines[0].n, 0, "every order has its lines");
    db.close().await;
}

/// `seed all` touches four services' databases, so one `--database-url` is refused (as for
/// `migrate all`) before anything is written: nothing may be seeded into a wrong database.
#[test]
fn seed_all_refuses_one_database_url_for_every_service_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let shared = dir.path().join("shared.db");
    let url = format!("sqlite://{}", shared.display());
    let output = run_in(
        dir.path(),
        &["seed", "all", "--products", "5", "--database-url", &url],
    );
    crate::helpers::assert_one_line_error(
        &output,
        &["--database-url", "each service", "seed products"],
    );
    assert!(!shared.exists(), "nothing written to {}", shared.display());
    assert!(
        !dir.path().join(".shopctl").exists(),
        "nothing written to the data directory"
    );
}

/// Data at rest is owner-only: a data directory that others can read is tightened (with a
/// warning), and the databases seeded into it are 0600, their WAL files too.
#[test]
fn seeding_into_an_open_data_directory_tightens_it_with_a_warning() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("open");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let output = run_in(
        dir.path(),
        &["seed", "products", "--count", "3", "--data-dir", "open"],
    );
    let stderr = crate::helpers::stderr(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: ") && stderr.contains("mode 755"),
        "the tightening is said: {stderr}"
    );
    crate::helpers::assert_owner_only(&data);
    assert!(data.join("product.db").exists());
}
