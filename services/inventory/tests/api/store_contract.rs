//! One contract for `InventoryStore`, run against SQLite and against the local PostgreSQL.

use chrono::{DateTime, TimeDelta, Utc};
use shopctl_inventory::{
    domain::{
        Adjustment, Line, Reservation, ReservationState, ReservationView, ReserveRequest,
        StockLevel,
    },
    store::{InventoryStore, ReserveError, SqlInventoryStore, TransitionError},
};
use shopctl_kit::{
    db::{Db, PoolOptions, StoreError},
    testing::{TestBackend, TestDatabase},
};
use uuid::Uuid;

async fn store_on(backend: TestBackend) -> (SqlInventoryStore, TestDatabase) {
    let db = TestDatabase::new(backend).await;
    let pool = Db::connect_and_migrate(
        &db.url,
        PoolOptions::default(),
        &shopctl_inventory::MIGRATIONS,
    )
    .await
    .unwrap();
    (SqlInventoryStore::new(pool), db)
}

/// A checked reservation of `lines` for `order_id`, as the route builds it.
fn reservation(order_id: Uuid, lines: &[(&str, i64)]) -> Reservation {
    Reservation::parse(&ReserveRequest {
        order_id,
        lines: lines
            .iter()
            .map(|&(sku, quantity)| Line {
                sku: sku.to_owned(),
                quantity,
            })
            .collect(),
        ttl_secs: None,
    })
    .unwrap()
}

fn line(sku: &str, quantity: i64) -> Line {
    Line {
        sku: sku.to_owned(),
        quantity,
    }
}

fn levels(pairs: &[(&str, i64)]) -> Vec<(String, i64)> {
    pairs
        .iter()
        .map(|&(sku, on_hand)| (sku.to_owned(), on_hand))
        .collect()
}

fn stock_of(sku: &str, on_hand: i64, reserved: i64) -> StockLevel {
    StockLevel::new(sku.to_owned(), on_hand, reserved)
}

async fn level(store: &dyn InventoryStore, sku: &str) -> StockLevel {
    store.stock(sku).await.unwrap()
}

async fn status(store: &dyn InventoryStore, order_id: Uuid) -> ReservationState {
    store.reservation(order_id).await.unwrap().status
}

async fn adjust(
    store: &dyn InventoryStore,
    sku: &str,
    delta: i64,
    now: DateTime<Utc>,
) -> Result<Option<StockLevel>, StoreError> {
    let adjustment = Adjustment::parse(delta, "contract").unwrap();
    store.adjust(sku, &adjustment, "clerk-cy", now).await
}

/// Seeding, reads and manual adjustments. Leaves TEE-1 12, MUG-1 4, CAP-1 0, BAG-1 7 and
/// NEW-1 6 on hand, nothing reserved.
async fn stock_contract(store: &dyn InventoryStore, now: DateTime<Utc>) {
    // Seeding adds only the SKUs that have no stock yet.
    let first = levels(&[("TEE-1", 10), ("MUG-1", 4), ("CAP-1", 0)]);
    assert_eq!(store.seed(&first, now).await.unwrap(), 3);
    let again = levels(&[("TEE-1", 99), ("BAG-1", 7)]);
    assert_eq!(store.seed(&again, now).await.unwrap(), 1);
    assert_eq!(level(store, "TEE-1").await, stock_of("TEE-1", 10, 0));
    assert_eq!(level(store, "BAG-1").await, stock_of("BAG-1", 7, 0));
    assert_eq!(level(store, "CAP-1").await, stock_of("CAP-1", 0, 0));
    assert!(matches!(
        store.stock("NOPE-1").await,
        Err(StoreError::NotFound)
    ));

    // Adjustments move on-hand stock both ways and read back.
    let up = adjust(store, "TEE-1", 5, now).await.unwrap();
    assert_eq!(up, Some(stock_of("TEE-1", 15, 0)));
    let down = adjust(store, "TEE-1", -3, now).await.unwrap();
    assert_eq!(down, Some(stock_of("TEE-1", 12, 0)));
    assert_eq!(level(store, "TEE-1").await, stock_of("TEE-1", 12, 0));

    // Below zero is refused (`None`) and changes nothing.
    assert_eq!(adjust(store, "TEE-1", -13, now).await.unwrap(), None);
    assert_eq!(level(store, "TEE-1").await, stock_of("TEE-1", 12, 0));
    assert_eq!(adjust(store, "CAP-1", -1, now).await.unwrap(), None);
    assert_eq!(level(store, "CAP-1").await, stock_of("CAP-1", 0, 0));

    // A positive delta creates an unknown SKU; a negative one does not.
    let created = adjust(store, "NEW-1", 6, now).await.unwrap();
    assert_eq!(created, Some(stock_of("NEW-1", 6, 0)));
    assert_eq!(level(store, "NEW-1").await, stock_of("NEW-1", 6, 0));
    assert!(matches!(
        adjust(store, "GONE-1", -1, now).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.stock("GONE-1").await,
        Err(StoreError::NotFound)
    ));

    // Available: TEE-1 12, MUG-1 4, CAP-1 0, BAG-1 7, NEW-1 6.
    assert_eq!(store.gauges(0).await.unwrap(), (1, 0));
    assert_eq!(store.gauges(6).await.unwrap(), (3, 0));
    assert_eq!(store.gauges(i64::MAX).await.unwrap(), (5, 0));
    assert_eq!(store.gauges(-1).await.unwrap(), (0, 0));
    // The low-stock list holds what the gauge counts, fewest available first.
    let low = vec![
        stock_of("CAP-1", 0, 0),
        stock_of("MUG-1", 4, 0),
        stock_of("NEW-1", 6, 0),
    ];
    assert_eq!(store.low_stock(6, 10).await.unwrap(), low);
    assert_eq!(store.low_stock(6, 2).await.unwrap(), low[..2]);
    assert_eq!(store.low_stock(0, 10).await.unwrap(), low[..1]);
    assert!(store.low_stock(-1, 10).await.unwrap().is_empty());
    assert_eq!(store.low_stock(i64::MAX, 10).await.unwrap().len(), 5);
}

/// Holding all lines or none, idempotent repeats and conflicts. Returns the reservation it
/// leaves held (MUG-1 4 and TEE-1 3, expiring a quarter of an hour after `now`).
async fn reserve_contract(store: &dyn InventoryStore, now: DateTime<Utc>) -> ReservationView {
    let expires = now + TimeDelta::minutes(15);

    // One line short of stock holds nothing, not even the lines before it.
    let short = Uuid::now_v7();
    let refused = store
        .reserve(
            &reservation(short, &[("BAG-1", 2), ("MUG-1", 1), ("TEE-1", 13)]),
            expires,
            now,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, ReserveError::Insufficient { sku } if sku == "TEE-1"),
        "{refused:?}"
    );
    assert_eq!(level(store, "BAG-1").await, stock_of("BAG-1", 7, 0));
    assert_eq!(level(store, "MUG-1").await, stock_of("MUG-1", 4, 0));
    assert_eq!(level(store, "TEE-1").await, stock_of("TEE-1", 12, 0));
    assert!(matches!(
        store.reservation(short).await,
        Err(StoreError::NotFound)
    ));
    let unknown = store
        .reserve(&reservation(Uuid::now_v7(), &[("NOPE-1", 1)]), expires, now)
        .await
        .unwrap_err();
    assert!(
        matches!(&unknown, ReserveError::Insufficient { sku } if sku == "NOPE-1"),
        "{unknown:?}"
    );

    // A reservation holds every line and reads back the same.
    let order = Uuid::now_v7();
    let held = store
        .reserve(
            &reservation(order, &[("TEE-1", 3), ("MUG-1", 4)]),
            expires,
            now,
        )
        .await
        .unwrap();
    let expected = ReservationView {
        order_id: order,
        status: ReservationState::Held,
        expires_at: expires,
        lines: vec![line("MUG-1", 4), line("TEE-1", 3)],
    };
    assert_eq!(held, expected);
    assert_eq!(store.reservation(order).await.unwrap(), held);
    assert_eq!(level(store, "TEE-1").await, stock_of("TEE-1", 12, 3));
    assert_eq!(level(store, "MUG-1").await, stock_of("MUG-1", 4, 4));
    // MUG-1 has nothing left to sell: with CAP-1, two SKUs at zero; seven units held.
    assert_eq!(store.gauges(0).await.unwrap(), (2, 7));

    // The same lines again are the same reservation (expiry included), nothing more held.
    let repeated = store
        .reserve(
            &reservation(order, &[("mug-1", 4), ("TEE-1", 3)]),
            expires + TimeDelta::hours(1),
            now,
        )
        .await
        .unwrap();
    assert_eq!(repeated, held);
    assert_eq!(level(store, "TEE-1").await, stock_of("TEE-1", 12, 3));
    assert_eq!(level(store, "MUG-1").await, stock_of("MUG-1", 4, 4));

    // Other lines for the same order are a mismatch, and hold nothing either.
    let others: [&[(&str, i64)]; 2] = [&[("TEE-1", 3)], &[("MUG-1", 4), ("TEE-1", 4)]];
    for lines in others {
        let mismatch = store
            .reserve(&reservation(order, lines), expires, now)
            .await
            .unwrap_err();
        assert!(
            matches!(&mismatch, ReserveError::Mismatch(id) if *id == order),
            "{mismatch:?}"
        );
    }
    assert_eq!(level(store, "TEE-1").await, stock_of("TEE-1", 12, 3));

    // Held units are not available to another order, nor to an adjustment.
    let taken = store
        .reserve(&reservation(Uuid::now_v7(), &[("MUG-1", 1)]), expires, now)
        .await
        .unwrap_err();
    assert!(
        matches!(&taken, ReserveError::Insufficient { sku } if sku == "MUG-1"),
        "{taken:?}"
    );
    assert_eq!(adjust(store, "MUG-1", -1, now).await.unwrap(), None);
    assert_eq!(level(store, "MUG-1").await, stock_of("MUG-1", 4, 4));
    held
}

/// Confirm and release: once each, only from `held`. Leaves TEE-1 9, MUG-1 0, BAG-1 7 on
/// hand, nothing reserved.
async fn transition_contract(
    store: &dyn InventoryStore,
    held: ReservationView,
    now: DateTime<Utc>,
) {
    let later = now + TimeDelta::minutes(1);
    let order = held.order_id;

    // Confirming takes the units out of the warehouse.
    let confirmed = store.confirm(order, later).await.unwrap();
    let expected = ReservationView {
        status: ReservationState::Confirmed,
        ..held
    };
    assert_eq!(confirmed, expected);
    assert_eq!(level(store, "TEE-1").await, stock_of("TEE-1", 9, 0));
    assert_eq!(level(store, "MUG-1").await, stock_of("MUG-1", 0, 0));
    assert_eq!(store.confirm(order, later).await.unwrap(), confirmed);
    assert_eq!(level(store, "TEE-1").await, stock_of("TEE-1", 9, 0));
    assert!(matches!(
        store.release(order, later).await,
        Err(TransitionError::Invalid(ReservationState::Confirmed))
    ));
    assert_eq!(store.reservation(order).await.unwrap(), confirmed);
    assert_eq!(level(store, "TEE-1").await, stock_of("TEE-1", 9, 0));

    // Releasing returns the units.
    let second = Uuid::now_v7();
    let holding = store
        .reserve(
            &reservation(second, &[("BAG-1", 2), ("TEE-1", 4)]),
            now + TimeDelta::minutes(15),
            now,
        )
        .await
        .unwrap();
    assert_eq!(holding.status, ReservationState::Held);
    assert_eq!(level(store, "BAG-1").await, stock_of("BAG-1", 7, 2));
    assert_eq!(level(store, "TEE-1").await, stock_of("TEE-1", 9, 4));
    let released = store.release(second, later).await.unwrap();
    let expected = ReservationView {
        status: ReservationState::Released,
        ..holding
    };
    assert_eq!(released, expected);
    assert_eq!(level(store, "BAG-1").await, stock_of("BAG-1", 7, 0));
    assert_eq!(level(store, "TEE-1").await, stock_of("TEE-1", 9, 0));
    assert_eq!(store.release(second, later).await.unwrap(), released);
    assert_eq!(level(store, "BAG-1").await, stock_of("BAG-1", 7, 0));
    assert!(matches!(
        store.confirm(second, later).await,
        Err(TransitionError::Invalid(ReservationState::Released))
    ));
    assert_eq!(store.reservation(second).await.unwrap(), released);
    assert_eq!(level(store, "TEE-1").await, stock_of("TEE-1", 9, 0));

    // No reservation, no transition.
    let nobody = Uuid::now_v7();
    assert!(matches!(
        store.confirm(nobody, later).await,
        Err(TransitionError::NotFound)
    ));
    assert!(matches!(
        store.release(nobody, later).await,
        Err(TransitionError::NotFound)
    ));
    assert!(matches!(
        store.reservation(nobody).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.gauges(0).await.unwrap(), (2, 0));
}

/// The sweep releases held reservations past their expiry, and only those.
async fn expiry_contract(store: &dyn InventoryStore, now: DateTime<Utc>) {
    let minute = now + TimeDelta::minutes(1);
    let hour = now + TimeDelta::hours(1);
    let soon = Uuid::now_v7();
    store
        .reserve(&reservation(soon, &[("NEW-1", 2)]), minute, now)
        .await
        .unwrap();
    let late = Uuid::now_v7();
    store
        .reserve(&reservation(late, &[("NEW-1", 1)]), hour, now)
        .await
        .unwrap();
    // Expired too, but confirmed: the sweep leaves it alone.
    let kept = Uuid::now_v7();
    store
        .reserve(&reservation(kept, &[("BAG-1", 1)]), minute, now)
        .await
        .unwrap();
    store.confirm(kept, now).await.unwrap();
    assert_eq!(level(store, "NEW-1").await, stock_of("NEW-1", 6, 3));
    assert_eq!(level(store, "BAG-1").await, stock_of("BAG-1", 6, 0));

    assert_eq!(store.release_expired(now).await.unwrap(), 0);
    assert_eq!(
        store
            .release_expired(now + TimeDelta::minutes(10))
            .await
            .unwrap(),
        1
    );
    assert_eq!(status(store, soon).await, ReservationState::Released);
    assert_eq!(status(store, late).await, ReservationState::Held);
    assert_eq!(status(store, kept).await, ReservationState::Confirmed);
    assert_eq!(level(store, "NEW-1").await, stock_of("NEW-1", 6, 1));
    assert_eq!(level(store, "BAG-1").await, stock_of("BAG-1", 6, 0));
    // Available: TEE-1 9, MUG-1 0, CAP-1 0, BAG-1 6, NEW-1 5; one unit held.
    assert_eq!(store.gauges(5).await.unwrap(), (3, 1));
    // Held units are not available; equal availability is in SKU order.
    assert_eq!(
        store.low_stock(5, 10).await.unwrap(),
        [
            stock_of("CAP-1", 0, 0),
            stock_of("MUG-1", 0, 0),
            stock_of("NEW-1", 6, 1),
        ]
    );

    // Not before its expiry has passed.
    assert_eq!(store.release_expired(hour).await.unwrap(), 0);
    assert_eq!(status(store, late).await, ReservationState::Held);
    assert_eq!(
        store
            .release_expired(hour + TimeDelta::seconds(1))
            .await
            .unwrap(),
        1
    );
    assert_eq!(status(store, late).await, ReservationState::Released);
    assert_eq!(level(store, "NEW-1").await, stock_of("NEW-1", 6, 0));
    assert_eq!(
        store
            .release_expired(now + TimeDelta::days(1))
            .await
            .unwrap(),
        0
    );
    assert_eq!(store.gauges(5).await.unwrap(), (2, 0));

    // Two sweepers (two replicas) at once: the reservation is released once, counted once.
    let raced = Uuid::now_v7();
    store
        .reserve(&reservation(raced, &[("TEE-1", 1)]), minute, now)
        .await
        .unwrap();
    let later = now + TimeDelta::minutes(10);
    let (a, b) = tokio::join!(store.release_expired(later), store.release_expired(later));
    assert_eq!(a.unwrap() + b.unwrap(), 1, "released and counted once");
    assert_eq!(status(store, raced).await, ReservationState::Released);
}

async fn run_store_contract(store: &dyn InventoryStore) {
    // Whole seconds, so both backends store the instants exactly.
    let now: DateTime<Utc> = "2027-01-15T09:00:00Z".parse().unwrap();
    stock_contract(store, now).await;
    let held = reserve_contract(store, now).await;
    transition_contract(store, held, now).await;
    expiry_contract(store, now).await;
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
