//! One contract for `OrderStore` and `SagaStore`, run against SQLite and the local PostgreSQL.
//!
//! The store writes the saga's events through kit's outbox; the contract routes
//! `order.confirmed` and `order.cancelled` to one subscriber and counts the outbox rows to see
//! which moves wrote their event.

use std::{collections::BTreeMap, time::Duration};

use chrono::{DateTime, Utc};
use serde_json::json;
use shopctl_kit::{
    db::{Db, PoolOptions, StoreError},
    events::{self, Outbox},
    testing::{TestBackend, TestDatabase},
};
use shopctl_order::{
    domain::{CartItem, Line, Money, Order, OrderStatus, SagaState, ShippingAddress},
    store::{
        Compensation, Event, NewOrder, OrderFilter, OrderStore, PastOrder, SagaStore, SqlOrderStore,
    },
};
use uuid::Uuid;

const SUBSCRIBER: &str = "http://subscriber.test/events";

async fn store_on(backend: TestBackend) -> (SqlOrderStore, Db, TestDatabase) {
    let db = TestDatabase::new(backend).await;
    let pool = Db::connect_and_migrate(&db.url, PoolOptions::default(), &shopctl_order::MIGRATIONS)
        .await
        .unwrap();
    events::install(&pool).await.unwrap();
    let routes = BTreeMap::from([
        ("order.confirmed".to_owned(), vec![SUBSCRIBER.to_owned()]),
        ("order.cancelled".to_owned(), vec![SUBSCRIBER.to_owned()]),
    ]);
    (
        SqlOrderStore::new(pool.clone(), Outbox::new(routes)),
        pool,
        db,
    )
}

fn address() -> ShippingAddress {
    ShippingAddress {
        name: "Ana Buyer".to_owned(),
        line1: "1 Main Street".to_owned(),
        line2: Some("Flat 2".to_owned()),
        city: "Springfield".to_owned(),
        postal_code: "12345".to_owned(),
        country: "US".to_owned(),
    }
}

/// An order of `lines` (SKU, unit price, quantity), given in SKU order as they are read back.
fn new_order(user: &str, key: &str, lines: &[(&str, i64, i64)]) -> NewOrder {
    let lines: Vec<Line> = lines
        .iter()
        .map(|&(sku, unit_price, quantity)| Line {
            sku: sku.to_owned(),
            name: format!("Product {sku}"),
            quantity,
            unit_price: Money::new(unit_price, "USD"),
        })
        .collect();
    let subtotal: i64 = lines
        .iter()
        .map(|line| line.unit_price.amount * line.quantity)
        .sum();
    let (tax, shipping) = (subtotal / 10, 500);
    NewOrder {
        id: Uuid::now_v7(),
        user_id: user.to_owned(),
        lines,
        subtotal,
        tax,
        shipping,
        total: subtotal + tax + shipping,
        currency: "USD".to_owned(),
        address: address(),
        idempotency_key: key.to_owned(),
        fingerprint: format!("fingerprint-of-{key}"),
    }
}

fn item(sku: &str, quantity: i64) -> CartItem {
    CartItem {
        sku: sku.to_owned(),
        quantity,
    }
}

fn step(name: &str, outcome: &str, detail: Option<&str>) -> (String, String, Option<String>) {
    (
        name.to_owned(),
        outcome.to_owned(),
        detail.map(str::to_owned),
    )
}

fn event(topic: &'static str, order: Uuid) -> Event {
    Event {
        topic,
        data: json!({ "order_id": order }),
    }
}

fn ids(orders: &[Order]) -> Vec<Uuid> {
    orders.iter().map(|order| order.id).collect()
}

fn of_user(user: &str) -> OrderFilter {
    OrderFilter {
        user: Some(user.to_owned()),
        ..OrderFilter::default()
    }
}

/// Events waiting in the outbox.
async fn outbox(db: &Db) -> i64 {
    events::depths(db).await.unwrap().0
}

/// The open sagas among `watched`, by id.
async fn open_among(
    store: &dyn SagaStore,
    before: DateTime<Utc>,
    watched: &[Uuid],
) -> Vec<(Uuid, SagaState)> {
    let mut open: Vec<_> = store
        .open_sagas(before)
        .await
        .unwrap()
        .into_iter()
        .filter(|(id, _)| watched.contains(id))
        .collect();
    open.sort_unstable_by_key(|&(id, _)| id);
    open
}

/// A saga move without detail or payment, logged under the name of the state it moves to.
async fn move_saga(store: &dyn SagaStore, id: Uuid, from: SagaState, to: SagaState) -> bool {
    store
        .advance(id, from, to, to.as_str(), None, None)
        .await
        .unwrap()
}

async fn run_store_contract(store: &dyn OrderStore, db: &Db) {
    let start = Utc::now();
    carts(store).await;
    let (first, bos) = orders_written(store).await;
    orders_listed(store, first, bos).await;
    imports(store).await;
    let paid = saga_confirms(store, db).await;
    let declined = saga_compensates(store, db).await;
    saga_cancels(store, db, paid, declined).await;
    saga_resumes(store, start).await;
    saga_claims(store).await;
    // Nothing was written before the contract began, so nothing had stopped moving then.
    assert!(store.open_sagas(start).await.unwrap().is_empty());
}

async fn carts(store: &dyn OrderStore) {
    assert!(store.cart("ana").await.unwrap().is_empty());
    // Adding accumulates on the line, up to the per-line maximum inclusive.
    assert_eq!(
        store.add_to_cart("ana", "MUG-1", 2, 99, 50).await.unwrap(),
        Some(2)
    );
    assert_eq!(
        store.add_to_cart("ana", "MUG-1", 3, 99, 50).await.unwrap(),
        Some(5)
    );
    assert_eq!(
        store.add_to_cart("ana", "MUG-1", 95, 99, 50).await.unwrap(),
        None
    );
    assert_eq!(
        store.add_to_cart("ana", "MUG-1", 94, 99, 50).await.unwrap(),
        Some(99)
    );
    assert_eq!(
        store.add_to_cart("ana", "MUG-1", 1, 99, 50).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .add_to_cart("ana", "TEE-1", 100, 99, 50)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.add_to_cart("ana", "TEE-1", 1, 99, 50).await.unwrap(),
        Some(1)
    );
    // A full cart takes no new SKU, but its lines still grow.
    assert_eq!(
        store.add_to_cart("ana", "CAP-1", 1, 99, 2).await.unwrap(),
        None
    );
    assert_eq!(
        store.add_to_cart("ana", "TEE-1", 1, 99, 2).await.unwrap(),
        Some(2)
    );
    assert_eq!(
        store.cart("ana").await.unwrap(),
        vec![item("MUG-1", 99), item("TEE-1", 2)]
    );

    // Each user has their own cart.
    assert_eq!(
        store.add_to_cart("bo", "MUG-1", 7, 99, 50).await.unwrap(),
        Some(7)
    );
    assert_eq!(store.cart("bo").await.unwrap(), vec![item("MUG-1", 7)]);

    // Setting and removing touch only a line that is there.
    assert!(store.set_cart_quantity("ana", "MUG-1", 4).await.unwrap());
    assert!(!store.set_cart_quantity("ana", "CAP-1", 1).await.unwrap());
    assert!(!store.set_cart_quantity("bo", "TEE-1", 1).await.unwrap());
    assert!(store.remove_from_cart("ana", "TEE-1").await.unwrap());
    assert!(!store.remove_from_cart("ana", "TEE-1").await.unwrap());
    assert!(!store.remove_from_cart("cy", "MUG-1").await.unwrap());
    assert_eq!(store.cart("ana").await.unwrap(), vec![item("MUG-1", 4)]);
    assert_eq!(store.cart("bo").await.unwrap(), vec![item("MUG-1", 7)]);
    assert!(store.remove_from_cart("bo", "MUG-1").await.unwrap());
    assert!(store.cart("bo").await.unwrap().is_empty());
    assert_eq!(store.cart("ana").await.unwrap(), vec![item("MUG-1", 4)]);
}

/// Writing and reading orders; returns Ana's first order and Bo's.
async fn orders_written(store: &dyn OrderStore) -> (Order, Order) {
    // A new order reads back exactly, pending, with its first step logged.
    let placed = new_order("ana", "key-1", &[("MUG-1", 1200, 2), ("TEE-1", 2500, 1)]);
    let first = store.create_order(&placed).await.unwrap();
    assert_eq!(first.id, placed.id);
    assert_eq!(first.user_id, "ana");
    assert_eq!(first.status, OrderStatus::Pending);
    assert_eq!(first.reason, None);
    assert_eq!(first.lines, placed.lines);
    assert_eq!(first.subtotal, Money::new(4900, "USD"));
    assert_eq!(first.tax, Money::new(490, "USD"));
    assert_eq!(first.shipping, Money::new(500, "USD"));
    assert_eq!(first.total, Money::new(5890, "USD"));
    assert_eq!(first.shipping_address, address());
    assert_eq!(
        (first.card.as_str(), first.payment_id.as_deref()),
        ("", None)
    );
    assert_eq!(first.created_at, first.updated_at);
    assert_eq!(store.order(first.id).await.unwrap(), first);
    assert_eq!(store.saga(first.id).await.unwrap(), SagaState::Pending);
    assert_eq!(
        store.steps(first.id).await.unwrap(),
        vec![step("created", "ok", None)]
    );
    assert!(matches!(
        store.order(Uuid::now_v7()).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.saga(Uuid::now_v7()).await,
        Err(StoreError::NotFound)
    ));

    // An idempotency key belongs to one user and is used once, the same way on both backends.
    let (keyed, fingerprint) = store.order_by_key("ana", "key-1").await.unwrap().unwrap();
    assert_eq!(keyed, first);
    assert_eq!(fingerprint, "fingerprint-of-key-1");
    assert!(store.order_by_key("ana", "key-9").await.unwrap().is_none());
    assert!(store.order_by_key("bo", "key-1").await.unwrap().is_none());
    let again = new_order("ana", "key-1", &[("CAP-1", 900, 1)]);
    let duplicate = store.create_order(&again).await.unwrap_err();
    assert!(
        matches!(&duplicate, StoreError::UniqueViolation { constraint } if constraint.contains("idempotency_key")),
        "{duplicate:?}"
    );
    assert!(matches!(
        store.order(again.id).await,
        Err(StoreError::NotFound)
    ));
    let bos = store
        .create_order(&new_order("bo", "key-1", &[("MUG-1", 1200, 1)]))
        .await
        .unwrap();
    assert_eq!(
        store.order_by_key("bo", "key-1").await.unwrap().unwrap().0,
        bos
    );
    (first, bos)
}

/// Listings: newest (highest id) first, in pages before a cursor, by user, status or search.
async fn orders_listed(store: &dyn OrderStore, first: Order, bos: Order) {
    let second = store
        .create_order(&new_order("ana", "key-2", &[("MUG-1", 1200, 3)]))
        .await
        .unwrap();
    let third = store
        .create_order(&new_order("ana", "key-3", &[("CAP-1", 900, 1)]))
        .await
        .unwrap();
    let mut anas = [first.id, second.id, third.id];
    anas.sort_unstable();
    anas.reverse();
    let page = store.orders(&of_user("ana"), None, 2).await.unwrap();
    assert_eq!(ids(&page), &anas[..2]);
    let next = store
        .orders(&of_user("ana"), Some(page[1].id), 2)
        .await
        .unwrap();
    assert_eq!(ids(&next), &anas[2..]);
    assert!(
        store
            .orders(&of_user("ana"), Some(anas[2]), 2)
            .await
            .unwrap()
            .is_empty()
    );
    let mut everyone = [first.id, second.id, third.id, bos.id];
    everyone.sort_unstable();
    everyone.reverse();
    let listed = store
        .orders(&OrderFilter::default(), None, 10)
        .await
        .unwrap();
    assert_eq!(ids(&listed), everyone);
    let pending_of_bo = OrderFilter {
        status: Some(OrderStatus::Pending),
        ..of_user("bo")
    };
    assert_eq!(
        store.orders(&pending_of_bo, None, 10).await.unwrap(),
        vec![bos]
    );
    let confirmed = OrderFilter {
        status: Some(OrderStatus::Confirmed),
        ..OrderFilter::default()
    };
    assert!(store.orders(&confirmed, None, 10).await.unwrap().is_empty());
    let by_id = OrderFilter {
        search: Some(second.id.to_string().to_uppercase()),
        ..OrderFilter::default()
    };
    assert_eq!(store.orders(&by_id, None, 10).await.unwrap(), vec![second]);
    let by_sku = OrderFilter {
        search: Some("tee-1".to_owned()),
        ..OrderFilter::default()
    };
    assert_eq!(store.orders(&by_sku, None, 10).await.unwrap(), vec![first]);
    let by_sku_of_bo = OrderFilter {
        search: Some("tee-1".to_owned()),
        ..of_user("bo")
    };
    assert!(
        store
            .orders(&by_sku_of_bo, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn imports(store: &dyn OrderStore) {
    // Past orders keep their id and time, arrive delivered with an ended saga, and are written
    // once.
    let placed_at: DateTime<Utc> = "2025-06-01T12:00:00.250000Z".parse().unwrap();
    let past = [
        PastOrder {
            order: new_order("cy", "import-1", &[("CAP-1", 900, 2)]),
            placed_at,
        },
        PastOrder {
            order: new_order("cy", "import-2", &[("MUG-1", 1200, 1), ("TEE-1", 2500, 2)]),
            placed_at,
        },
    ];
    assert_eq!(store.import_orders(&past).await.unwrap(), 2);
    assert_eq!(store.import_orders(&past[..1]).await.unwrap(), 0);
    for row in &past {
        let imported = store.order(row.order.id).await.unwrap();
        assert_eq!(imported.status, OrderStatus::Delivered);
        assert_eq!(imported.user_id, "cy");
        assert_eq!(imported.lines, row.order.lines);
        assert_eq!(imported.total, Money::new(row.order.total, "USD"));
        assert_eq!(imported.shipping_address, address());
        assert_eq!(
            (imported.created_at, imported.updated_at),
            (placed_at, placed_at)
        );
        assert_eq!(
            store.saga(row.order.id).await.unwrap(),
            SagaState::Confirmed
        );
        assert_eq!(
            store.steps(row.order.id).await.unwrap(),
            vec![step("imported", "ok", None)]
        );
    }
    let mut imported_ids: Vec<Uuid> = past.iter().map(|row| row.order.id).collect();
    imported_ids.sort_unstable();
    imported_ids.reverse();
    assert_eq!(
        ids(&store.orders(&of_user("cy"), None, 10).await.unwrap()),
        imported_ids
    );
    let (by_key, _) = store.order_by_key("cy", "import-2").await.unwrap().unwrap();
    assert_eq!(by_key.id, past[1].order.id);
    // An ended saga is never resumed.
    assert!(
        open_among(store, Utc::now(), &imported_ids)
            .await
            .is_empty()
    );
}

/// The forward path: reserved, authorized with its payment, confirmed once. Returns the order.
async fn saga_confirms(store: &dyn OrderStore, db: &Db) -> Uuid {
    // Carts of the buyer and of someone else, to see what confirmation takes out of them.
    for (user, sku) in [("dee", "MUG-1"), ("dee", "HAT-1"), ("eve", "MUG-1")] {
        assert_eq!(
            store.add_to_cart(user, sku, 1, 99, 50).await.unwrap(),
            Some(1)
        );
    }
    let id = store
        .create_order(&new_order("dee", "saga-1", &[("MUG-1", 1200, 1)]))
        .await
        .unwrap()
        .id;
    assert_eq!(outbox(db).await, 0);

    // A move happens only from where the saga stands, and only along the saga's arrows.
    let reserved = Some("reservation res-1");
    assert!(
        store
            .advance(
                id,
                SagaState::Pending,
                SagaState::StockReserved,
                "stock_reserved",
                reserved,
                None
            )
            .await
            .unwrap()
    );
    assert_eq!(store.saga(id).await.unwrap(), SagaState::StockReserved);
    assert!(!move_saga(store, id, SagaState::Pending, SagaState::StockReserved).await);
    assert!(!move_saga(store, id, SagaState::StockReserved, SagaState::Confirmed).await);
    assert_eq!(store.saga(id).await.unwrap(), SagaState::StockReserved);
    // Confirmation needs an authorized payment.
    assert!(
        !store
            .confirm(id, &event("order.confirmed", id))
            .await
            .unwrap()
    );
    assert_eq!(outbox(db).await, 0);

    // Authorizing records the payment on the order; the customer still sees it pending.
    let payment = Some(("pay-1", "visa •••• 4242"));
    assert!(
        store
            .advance(
                id,
                SagaState::StockReserved,
                SagaState::PaymentAuthorized,
                "payment_authorized",
                None,
                payment
            )
            .await
            .unwrap()
    );
    let authorized = store.order(id).await.unwrap();
    assert_eq!(authorized.payment_id.as_deref(), Some("pay-1"));
    assert_eq!(authorized.card, "visa •••• 4242");
    assert_eq!(authorized.status, OrderStatus::Pending);

    // Confirmation: once, with its event, taking the ordered SKUs out of the buyer's cart only.
    assert!(
        store
            .confirm(id, &event("order.confirmed", id))
            .await
            .unwrap()
    );
    assert_eq!(store.saga(id).await.unwrap(), SagaState::Confirmed);
    let confirmed = store.order(id).await.unwrap();
    assert_eq!(confirmed.status, OrderStatus::Confirmed);
    assert_eq!(confirmed.payment_id.as_deref(), Some("pay-1"));
    assert_eq!(store.cart("dee").await.unwrap(), vec![item("HAT-1", 1)]);
    assert_eq!(store.cart("eve").await.unwrap(), vec![item("MUG-1", 1)]);
    assert_eq!(outbox(db).await, 1);
    assert!(
        !store
            .confirm(id, &event("order.confirmed", id))
            .await
            .unwrap()
    );
    assert_eq!(outbox(db).await, 1);
    assert_eq!(
        store.steps(id).await.unwrap(),
        vec![
            step("created", "ok", None),
            step("stock_reserved", "ok", reserved),
            step("payment_authorized", "ok", None),
            step("confirmed", "ok", None),
        ]
    );
    let confirmed_only = OrderFilter {
        status: Some(OrderStatus::Confirmed),
        ..OrderFilter::default()
    };
    assert_eq!(
        ids(&store.orders(&confirmed_only, None, 10).await.unwrap()),
        vec![id]
    );
    id
}

/// Cancellation with a compensation owed: done, after a failed attempt, before the saga ends.
/// Returns the order.
async fn saga_compensates(store: &dyn OrderStore, db: &Db) -> Uuid {
    let declined = store
        .create_order(&new_order("dee", "saga-2", &[("HAT-1", 1500, 1)]))
        .await
        .unwrap()
        .id;
    assert!(
        move_saga(
            store,
            declined,
            SagaState::Pending,
            SagaState::StockReserved
        )
        .await
    );
    let reason = "payment declined: card_declined";
    let owed = [Compensation::ReleaseStock];
    let cancelled = event("order.cancelled", declined);
    assert!(
        store
            .cancel(
                declined,
                SagaState::StockReserved,
                reason,
                &owed,
                Some(&cancelled)
            )
            .await
            .unwrap()
    );
    assert_eq!(store.saga(declined).await.unwrap(), SagaState::Compensating);
    let order = store.order(declined).await.unwrap();
    assert_eq!(order.status, OrderStatus::Cancelled);
    assert_eq!(order.reason.as_deref(), Some(reason));
    assert_eq!(store.owed(declined).await.unwrap(), owed);
    assert_eq!(outbox(db).await, 2);
    // Cancelled once; a compensating saga is still open.
    assert!(
        !store
            .cancel(
                declined,
                SagaState::StockReserved,
                reason,
                &owed,
                Some(&cancelled)
            )
            .await
            .unwrap()
    );
    assert_eq!(outbox(db).await, 2);
    assert_eq!(
        open_among(store, Utc::now(), &[declined]).await,
        vec![(declined, SagaState::Compensating)]
    );

    // The saga ends only once nothing is owed; a failed attempt still owes.
    assert!(!store.finish_compensation(declined).await.unwrap());
    let failure = Some("inventory unavailable");
    store
        .compensated(declined, Compensation::ReleaseStock, failure)
        .await
        .unwrap();
    assert_eq!(store.owed(declined).await.unwrap(), owed);
    assert!(!store.finish_compensation(declined).await.unwrap());
    store
        .compensated(declined, Compensation::ReleaseStock, None)
        .await
        .unwrap();
    assert!(store.owed(declined).await.unwrap().is_empty());
    assert!(store.finish_compensation(declined).await.unwrap());
    assert_eq!(store.saga(declined).await.unwrap(), SagaState::Cancelled);
    assert!(!store.finish_compensation(declined).await.unwrap());
    assert_eq!(
        store.steps(declined).await.unwrap(),
        vec![
            step("created", "ok", None),
            step("stock_reserved", "ok", None),
            step("cancelled", "ok", Some(reason)),
            step("release_stock", "failed", failure),
            step("release_stock", "ok", None),
            step("compensated", "ok", None),
        ]
    );
    declined
}

/// Cancellation without compensations, and of a confirmed order owing several.
async fn saga_cancels(store: &dyn OrderStore, db: &Db, paid: Uuid, declined: Uuid) {
    // Nothing owed: straight to cancelled, and no event when none is given.
    let refused = store
        .create_order(&new_order("dee", "saga-3", &[("CAP-1", 900, 1)]))
        .await
        .unwrap()
        .id;
    assert!(
        store
            .cancel(refused, SagaState::Pending, "out of stock", &[], None)
            .await
            .unwrap()
    );
    assert_eq!(store.saga(refused).await.unwrap(), SagaState::Cancelled);
    assert_eq!(
        store.order(refused).await.unwrap().reason.as_deref(),
        Some("out of stock")
    );
    assert!(store.owed(refused).await.unwrap().is_empty());
    assert!(!store.finish_compensation(refused).await.unwrap());
    assert!(
        !store
            .cancel(refused, SagaState::Cancelled, "again", &[], None)
            .await
            .unwrap()
    );
    assert_eq!(outbox(db).await, 2);

    // A confirmed order cancelled later owes several compensations, listed by name.
    let owed = [Compensation::RefundPayment, Compensation::ReleaseStock];
    assert!(
        store
            .cancel(
                paid,
                SagaState::Confirmed,
                "cancelled by the customer",
                &owed,
                Some(&event("order.cancelled", paid))
            )
            .await
            .unwrap()
    );
    assert_eq!(
        store.order(paid).await.unwrap().status,
        OrderStatus::Cancelled
    );
    assert_eq!(store.owed(paid).await.unwrap(), owed);
    assert_eq!(outbox(db).await, 3);
    store
        .compensated(paid, Compensation::RefundPayment, None)
        .await
        .unwrap();
    assert_eq!(
        store.owed(paid).await.unwrap(),
        [Compensation::ReleaseStock]
    );
    assert!(!store.finish_compensation(paid).await.unwrap());
    store
        .compensated(paid, Compensation::ReleaseStock, None)
        .await
        .unwrap();
    assert!(store.finish_compensation(paid).await.unwrap());
    assert_eq!(store.saga(paid).await.unwrap(), SagaState::Cancelled);
    assert!(
        open_among(store, Utc::now(), &[paid, declined, refused])
            .await
            .is_empty()
    );
}

/// The resumer's view: sagas not ended that have not moved since a moment.
async fn saga_resumes(store: &dyn OrderStore, start: DateTime<Utc>) {
    let idle = store
        .create_order(&new_order("fay", "resume-1", &[("MUG-1", 1200, 1)]))
        .await
        .unwrap()
        .id;
    let moving = store
        .create_order(&new_order("fay", "resume-2", &[("TEE-1", 2500, 1)]))
        .await
        .unwrap()
        .id;
    let mut watched = [idle, moving];
    watched.sort_unstable();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mark = Utc::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(
        open_among(store, mark, &watched).await,
        watched
            .iter()
            .map(|&id| (id, SagaState::Pending))
            .collect::<Vec<_>>()
    );
    assert!(open_among(store, start, &watched).await.is_empty());

    // A saga that moved after the mark is not stalled at it; later it is, in its new state.
    assert!(move_saga(store, moving, SagaState::Pending, SagaState::StockReserved).await);
    assert_eq!(
        open_among(store, mark, &watched).await,
        vec![(idle, SagaState::Pending)]
    );
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mut later = [
        (idle, SagaState::Pending),
        (moving, SagaState::StockReserved),
    ];
    later.sort_unstable_by_key(|&(id, _)| id);
    assert_eq!(open_among(store, Utc::now(), &watched).await, later);
}

/// Resumers on several replicas share one database: a stalled saga is claimed by one of them
/// at a time, and by another only once that claim has lapsed.
async fn saga_claims(store: &dyn OrderStore) {
    let stalled = store
        .create_order(&new_order("gus", "claim-1", &[("MUG-1", 1200, 1)]))
        .await
        .unwrap()
        .id;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let before = Utc::now();
    let until = before + chrono::Duration::seconds(60);
    let (a, b) = tokio::join!(
        store.claim_sagas(before, until),
        store.claim_sagas(before, until)
    );
    let claimed = |got: Vec<(Uuid, SagaState)>| got.iter().filter(|(id, _)| *id == stalled).count();
    let (a, b) = (claimed(a.unwrap()), claimed(b.unwrap()));
    assert_eq!(a + b, 1, "claimed by exactly one resumer: {a} + {b}");
    // Held: nobody else gets it while the claim lasts; the reader still sees it open.
    assert_eq!(
        claimed(store.claim_sagas(Utc::now(), until).await.unwrap()),
        0
    );
    assert_eq!(open_among(store, Utc::now(), &[stalled]).await.len(), 1);
    // A claim that lapsed (its resumer died) is taken over.
    let lapsed = Utc::now() - chrono::Duration::seconds(1);
    let fresh = store
        .create_order(&new_order("gus", "claim-2", &[("TEE-1", 2500, 1)]))
        .await
        .unwrap()
        .id;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let got = store.claim_sagas(Utc::now(), lapsed).await.unwrap();
    assert!(got.iter().any(|(id, _)| *id == fresh), "{got:?}");
    let again = store.claim_sagas(Utc::now(), until).await.unwrap();
    assert!(
        again.iter().any(|(id, _)| *id == fresh),
        "a lapsed claim is taken over: {again:?}"
    );
}

#[tokio::test]
async fn sqlite_store_meets_the_contract() {
    let (store, pool, _db) = store_on(TestBackend::Sqlite).await;
    run_store_contract(&store, &pool).await;
}

#[tokio::test]
async fn postgres_store_meets_the_contract() {
    let (store, pool, _db) = store_on(TestBackend::Postgres).await;
    run_store_contract(&store, &pool).await;
}
