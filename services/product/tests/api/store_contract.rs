//! One contract for `ProductStore`, run against SQLite and against the local PostgreSQL.

use shopctl_kit::{
    db::{Db, PoolOptions, StoreError},
    testing::{TestBackend, TestDatabase},
};
use shopctl_product::{
    domain::{ListParams, ListQuery, NewCategory, Sku, seed},
    store::{ProductStore, SqlProductStore},
};

async fn store_on(backend: TestBackend) -> (SqlProductStore, TestDatabase) {
    let db = TestDatabase::new(backend).await;
    let pool = Db::connect_and_migrate(
        &db.url,
        PoolOptions::default(),
        &shopctl_product::MIGRATIONS,
    )
    .await
    .unwrap();
    (SqlProductStore::new(pool), db)
}

async fn run_store_contract(store: &dyn ProductStore) {
    // Categories and bulk load.
    for category in seed::categories() {
        store.ensure_category(&category).await.unwrap();
        store.ensure_category(&category).await.unwrap();
    }
    let rows: Vec<_> = seed::products(120, 77).collect();
    assert_eq!(store.insert_products(&rows).await.unwrap(), 120);
    // A repeated bulk load skips what is there.
    assert_eq!(store.insert_products(&rows).await.unwrap(), 0);
    assert_eq!(store.count_products().await.unwrap(), 120);

    // Reads round-trip exactly what was written.
    let first = &rows[0];
    let product = store.product(first.id).await.unwrap();
    assert_eq!(product.sku, first.product.sku.as_ref());
    assert_eq!(product.created_at, first.created_at);
    assert_eq!(product.attributes, *first.product.attributes.as_map());
    assert_eq!(
        store.product_by_sku(&first.product.sku).await.unwrap(),
        product
    );
    assert!(matches!(
        store.product(uuid::Uuid::now_v7()).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.product_by_sku(&Sku::parse("NOPE").unwrap()).await,
        Err(StoreError::NotFound)
    ));

    // Constraints are reported the same way on both backends.
    let duplicate = store.create_product(&first.product).await.unwrap_err();
    assert!(
        matches!(&duplicate, StoreError::UniqueViolation { constraint } if constraint.contains("sku")),
        "{duplicate:?}"
    );
    let mut orphan = rows[1].product.clone();
    orphan.sku = Sku::parse("ORPHAN-1").unwrap();
    orphan.category = shopctl_product::domain::CategorySlug::parse("category", "missing").unwrap();
    assert!(matches!(
        store.create_product(&orphan).await,
        Err(StoreError::ForeignKeyViolation)
    ));
    let used = NewCategory::parse("shoes", "Shoes").unwrap();
    assert!(matches!(
        store.delete_category(&used.slug).await,
        Err(StoreError::ForeignKeyViolation)
    ));
    assert!(matches!(
        store.create_category(&used).await,
        Err(StoreError::UniqueViolation { .. })
    ));

    // Replace and delete.
    let mut changed = first.product.clone();
    changed.price.amount = 12_345;
    let replaced = store.replace_product(first.id, &changed).await.unwrap();
    assert_eq!(replaced.price.amount, 12_345);
    assert!(replaced.updated_at >= product.updated_at);
    store.delete_product(first.id).await.unwrap();
    assert!(matches!(
        store.delete_product(first.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.replace_product(first.id, &changed).await,
        Err(StoreError::NotFound)
    ));

    // Listing: totals, facets and keyset pages agree.
    let query = |params: ListParams| ListQuery::parse(&params).unwrap();
    let page = store
        .list_products(&query(ListParams {
            limit: Some(100),
            ..Default::default()
        }))
        .await
        .unwrap();
    assert_eq!(page.total, 119);
    assert_eq!(page.items.len(), 100);
    let next = store
        .list_products(&query(ListParams {
            limit: Some(100),
            cursor: page.next_cursor.clone(),
            ..Default::default()
        }))
        .await
        .unwrap();
    assert_eq!(next.items.len(), 19);
    assert!(next.next_cursor.is_none());
    let shoes: i64 = page
        .facets
        .category
        .iter()
        .filter(|f| f.value == "shoes")
        .map(|f| f.count)
        .sum();
    let only_shoes = store
        .list_products(&query(ListParams {
            category: Some("shoes".into()),
            ..Default::default()
        }))
        .await
        .unwrap();
    assert_eq!(only_shoes.total, shoes);

    // Search behaves the same on both backends.
    let name = rows[5].product.name.as_ref().to_owned();
    let found = store
        .list_products(&query(ListParams {
            q: Some(name.clone()),
            ..Default::default()
        }))
        .await
        .unwrap();
    assert_eq!(found.items[0].name, name);
    let categories = store.categories().await.unwrap();
    assert_eq!(categories.iter().map(|c| c.product_count).sum::<i64>(), 119);
}

#[tokio::test]
async fn sqlite_store_meets_the_contract() {
    let (store, _db) = store_on(TestBackend::Sqlite).await;
    run_store_contract(&store).await;
}

#[tokio::test]
async fn postgres_store_meets_the_contract() {
    let (store, _db) = store_on(TestBackend::Postgres).await;
    run_store_contract(&store).await;
}
