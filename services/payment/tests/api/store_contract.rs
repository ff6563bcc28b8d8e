//! One contract for `PaymentStore`, run against SQLite and against the local PostgreSQL.

use shopctl_kit::{
    db::{Db, PoolOptions, StoreError},
    testing::{TestBackend, TestDatabase},
};
use shopctl_payment::{
    domain::{CardSummary, Money, Status},
    store::{NewPayment, NewRefund, PaymentStore, SqlPaymentStore},
};
use uuid::Uuid;

async fn store_on(backend: TestBackend) -> (SqlPaymentStore, TestDatabase) {
    let db = TestDatabase::new(backend).await;
    let pool = Db::connect_and_migrate(
        &db.url,
        PoolOptions::default(),
        &shopctl_payment::MIGRATIONS,
    )
    .await
    .unwrap();
    (SqlPaymentStore::new(pool), db)
}

fn new_payment(order_id: Uuid, key: &str, status: Status, amount: i64) -> NewPayment {
    NewPayment {
        order_id,
        customer_id: "customer-ana".to_owned(),
        status,
        amount: Money::new(amount, "USD"),
        card: CardSummary {
            brand: "visa".to_owned(),
            last4: "4242".to_owned(),
            exp_month: 12,
            exp_year: 2040,
            token: format!("tok_{}", Uuid::new_v4().simple()),
        },
        decline_code: (status == Status::Declined).then(|| "card_declined".to_owned()),
        idempotency_key: key.to_owned(),
        fingerprint: format!("fingerprint-of-{key}"),
    }
}

fn refund(amount: i64) -> NewRefund {
    NewRefund {
        amount,
        reason: "contract".to_owned(),
        actor: "support-sam".to_owned(),
    }
}

async fn run_store_contract(store: &dyn PaymentStore) {
    // Inserts read back exactly, by id and by idempotency key.
    let order = Uuid::now_v7();
    let authorized = store
        .insert_payment(&new_payment(order, "key-a", Status::Authorized, 2500))
        .await
        .unwrap();
    assert_eq!(store.payment(authorized.id).await.unwrap(), authorized);
    let keyed = store
        .payment_by_idempotency_key("key-a")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(keyed.payment, authorized);
    assert_eq!(keyed.fingerprint, "fingerprint-of-key-a");
    assert!(
        store
            .payment_by_idempotency_key("key-none")
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        store.payment(Uuid::now_v7()).await,
        Err(StoreError::NotFound)
    ));
    let declined = store
        .insert_payment(&new_payment(order, "key-d", Status::Declined, 2500))
        .await
        .unwrap();
    assert_eq!(declined.decline_code.as_deref(), Some("card_declined"));

    // A key is used once, reported the same way on both backends.
    let duplicate = store
        .insert_payment(&new_payment(Uuid::now_v7(), "key-a", Status::Authorized, 1))
        .await
        .unwrap_err();
    assert!(
        matches!(&duplicate, StoreError::UniqueViolation { constraint } if constraint.contains("idempotency_key")),
        "{duplicate:?}"
    );

    // An order's payments, oldest first.
    let listed = store.payments_for_order(order).await.unwrap();
    assert_eq!(listed, vec![authorized.clone(), declined.clone()]);
    assert!(
        store
            .payments_for_order(Uuid::now_v7())
            .await
            .unwrap()
            .is_empty()
    );

    // Capture happens once, and only from `authorized`.
    assert!(store.capture(declined.id).await.unwrap().is_none());
    let captured = store.capture(authorized.id).await.unwrap().unwrap();
    assert_eq!(captured.status, Status::Captured);
    assert_eq!(captured.captured_amount, Money::new(2500, "USD"));
    assert!(captured.updated_at >= authorized.updated_at);
    assert!(store.capture(authorized.id).await.unwrap().is_none());
    assert!(store.void(authorized.id).await.unwrap().is_none());

    // Refunds add up to the capture and never beyond.
    let partial = store
        .refund(authorized.id, &refund(1000))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(partial.status, Status::PartiallyRefunded);
    assert_eq!(partial.refunded_amount, Money::new(1000, "USD"));
    assert!(
        store
            .refund(authorized.id, &refund(1501))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.payment(authorized.id).await.unwrap(), partial);
    let full = store
        .refund(authorized.id, &refund(1500))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(full.status, Status::Refunded);
    assert_eq!(full.refunded_amount, Money::new(2500, "USD"));
    assert!(
        store
            .refund(authorized.id, &refund(1))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .refund(declined.id, &refund(1))
            .await
            .unwrap()
            .is_none()
    );

    // Void happens once, and only from `authorized`.
    let second = store
        .insert_payment(&new_payment(order, "key-v", Status::Authorized, 700))
        .await
        .unwrap();
    let voided = store.void(second.id).await.unwrap().unwrap();
    assert_eq!(voided.status, Status::Voided);
    assert_eq!(voided.captured_amount, Money::new(0, "USD"));
    assert!(store.void(second.id).await.unwrap().is_none());
    assert!(store.capture(second.id).await.unwrap().is_none());
    assert!(store.void(Uuid::now_v7()).await.unwrap().is_none());
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
