//! One contract for `NotificationStore`, run against SQLite and against the local PostgreSQL.

use shopctl_kit::{
    db::{Db, PoolOptions},
    events,
    sql::Param,
    testing::{TestBackend, TestDatabase},
};
use shopctl_notification::{
    domain::sink::MAIL_DESTINATION,
    domain::{
        CaughtMail, Contact, DeliveryRecord, Draft, EmailAddress, Letterhead, MailJob, Notice,
    },
    store::{Applied, NotificationStore, Page, SqlNotificationStore},
};
use uuid::Uuid;

/// What applying a registration answers.
const WELCOMED: Applied = Applied::Accepted {
    mail: Some("welcome"),
};

async fn store_on(backend: TestBackend) -> (SqlNotificationStore, Db, TestDatabase) {
    let db = TestDatabase::new(backend).await;
    let pool = Db::connect_and_migrate(
        &db.url,
        PoolOptions::default(),
        &shopctl_notification::MIGRATIONS,
    )
    .await
    .unwrap();
    // `apply` writes kit's inbox and outbox, which the service's `connect` installs too.
    events::install(&pool).await.unwrap();
    (SqlNotificationStore::new(pool.clone()), pool, db)
}

#[derive(sqlx::FromRow)]
struct Queued {
    topic: String,
    destination: String,
    payload: String,
}

/// The mails queued in kit's outbox for `event_id`.
async fn queued(db: &Db, event_id: Uuid) -> Vec<MailJob> {
    let rows: Vec<Queued> = db
        .fetch_all(
            "SELECT topic, destination, payload FROM events_outbox WHERE event_id = ? ORDER BY id",
            &[Param::Text(event_id.to_string())],
        )
        .await
        .unwrap();
    rows.into_iter()
        .map(|row| {
            let job: MailJob = serde_json::from_str(&row.payload).unwrap();
            assert_eq!(row.topic, job.topic());
            assert_eq!(row.destination, MAIL_DESTINATION);
            job
        })
        .collect()
}

/// Rows in kit's outbox (nothing delivers them here) and in its dead letters.
async fn depths(db: &Db) -> (i64, i64) {
    events::depths(db).await.unwrap()
}

fn contact(user_id: Uuid, email: &str, name: &str) -> Contact {
    Contact {
        user_id,
        email: EmailAddress::parse(email).unwrap(),
        name: name.to_owned(),
    }
}

fn job(to: &str, subject: &str, kind: &str) -> MailJob {
    MailJob {
        to: to.to_owned(),
        subject: subject.to_owned(),
        text: format!("{subject}, as text"),
        html: format!("<p>{subject}, as HTML</p>"),
        kind: kind.to_owned(),
        order_id: None,
    }
}

fn caught_events(mails: &[CaughtMail]) -> Vec<&str> {
    mails.iter().map(|mail| mail.event_id.as_str()).collect()
}

fn delivered_events(log: &[DeliveryRecord]) -> Vec<&str> {
    log.iter().map(|entry| entry.event_id.as_str()).collect()
}

/// Events take effect once: contacts remembered and forgotten, one mail queued per event.
async fn apply_contract(store: &dyn NotificationStore, db: &Db) {
    let letterhead = Letterhead {
        shop_name: "Acme".to_owned(),
        shop_url: "https://shop.example.com".to_owned(),
    };
    let user = Uuid::now_v7();
    let order = Uuid::now_v7();
    let cancelled = Notice::Order {
        user_id: user,
        order_id: order,
        draft: Draft::Cancelled {
            reason: "Out of stock".to_owned(),
        },
    };

    // An order event for an unknown user changes nothing, not even the inbox.
    let early = Uuid::now_v7();
    for _ in 0..2 {
        let applied = store.apply(early, &cancelled, &letterhead).await.unwrap();
        assert_eq!(applied, Applied::NoContact);
    }
    assert_eq!(store.contact(user).await.unwrap(), None);
    assert_eq!(depths(db).await, (0, 0));

    // A registration remembers the contact and queues one welcome mail.
    let ana = contact(user, "ana@example.com", "Ana");
    let registered = Uuid::now_v7();
    let register = Notice::Registered(ana.clone());
    let applied = store.apply(registered, &register, &letterhead).await;
    assert_eq!(applied.unwrap(), WELCOMED);
    assert_eq!(store.contact(user).await.unwrap().as_ref(), Some(&ana));
    let welcome = queued(db, registered).await;
    assert_eq!(welcome.len(), 1);
    assert_eq!(welcome[0].to, "ana@example.com");
    assert_eq!(welcome[0].kind, "welcome");
    assert_eq!(welcome[0].subject, "Welcome to Acme");
    assert_eq!(welcome[0].order_id, None);

    // The same event again has no effect, whatever it carries this time.
    let moved = contact(user, "ana.b@example.org", "Ana B");
    let register_moved = Notice::Registered(moved.clone());
    for notice in [&register, &register_moved] {
        let applied = store.apply(registered, notice, &letterhead).await.unwrap();
        assert_eq!(applied, Applied::Duplicate);
    }
    assert_eq!(store.contact(user).await.unwrap().as_ref(), Some(&ana));
    assert_eq!(queued(db, registered).await.len(), 1);
    assert_eq!(depths(db).await, (1, 0));

    // A new registration event updates the contact.
    let again = Uuid::now_v7();
    let applied = store.apply(again, &register_moved, &letterhead).await;
    assert_eq!(applied.unwrap(), WELCOMED);
    assert_eq!(store.contact(user).await.unwrap().as_ref(), Some(&moved));
    assert_eq!(queued(db, again).await[0].to, "ana.b@example.org");
    assert_eq!(depths(db).await, (2, 0));

    // The order event that found no contact goes through now, to the current address, once.
    let applied = store.apply(early, &cancelled, &letterhead).await;
    assert_eq!(
        applied.unwrap(),
        Applied::Accepted {
            mail: Some("order_cancelled")
        }
    );
    let mails = queued(db, early).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, "ana.b@example.org");
    assert_eq!(mails[0].kind, "order_cancelled");
    assert_eq!(mails[0].order_id, Some(order.to_string()));
    let text = &mails[0].text;
    assert!(text.starts_with("Hello Ana B,"), "{text}");
    assert!(text.contains("Out of stock"), "{text}");
    let applied = store.apply(early, &cancelled, &letterhead).await;
    assert_eq!(applied.unwrap(), Applied::Duplicate);
    assert_eq!(depths(db).await, (3, 0));

    // Erasure forgets that contact only, queues nothing, and later order mail finds no one.
    let other = contact(Uuid::now_v7(), "bo@example.com", "");
    let register_bo = Notice::Registered(other.clone());
    let bo_event = Uuid::now_v7();
    let applied = store.apply(bo_event, &register_bo, &letterhead).await;
    assert_eq!(applied.unwrap(), WELCOMED);
    let erasure = Uuid::now_v7();
    let forget = Notice::Erased { user_id: user };
    let applied = store.apply(erasure, &forget, &letterhead).await;
    assert_eq!(applied.unwrap(), Applied::Accepted { mail: None });
    assert_eq!(store.contact(user).await.unwrap(), None);
    assert_eq!(store.contact(other.user_id).await.unwrap(), Some(other));
    assert!(queued(db, erasure).await.is_empty());
    let applied = store.apply(erasure, &forget, &letterhead).await;
    assert_eq!(applied.unwrap(), Applied::Duplicate);
    let late = Uuid::now_v7();
    let applied = store.apply(late, &cancelled, &letterhead).await;
    assert_eq!(applied.unwrap(), Applied::NoContact);
    assert!(queued(db, late).await.is_empty());
    assert_eq!(depths(db).await, (4, 0));
    assert_eq!(store.contact(Uuid::now_v7()).await.unwrap(), None);
}

/// The mail catcher and the delivery log: once per event, newest first, paged by id.
async fn catch_contract(store: &dyn NotificationStore) {
    let everything = Page {
        limit: 50,
        before: None,
    };
    assert!(store.caught_mail(&everything).await.unwrap().is_empty());
    assert!(store.deliveries(&everything).await.unwrap().is_empty());

    let first = job("a@example.com", "First", "welcome");
    let second = job("b@example.com", "Second", "order_confirmed");
    let third = job("c@example.com", "Third", "payment_failed");
    store.catch("event-1", &first, 1).await.unwrap();
    store.catch("event-2", &second, 2).await.unwrap();
    store.catch("event-3", &third, 1).await.unwrap();
    // A sink that runs twice for one event is kept once: the first time.
    store.catch("event-1", &third, 5).await.unwrap();

    let caught = store.caught_mail(&everything).await.unwrap();
    assert_eq!(caught_events(&caught), ["event-3", "event-2", "event-1"]);
    for (mail, sent) in caught.iter().zip([&third, &second, &first]) {
        assert_eq!(mail.to, sent.to);
        assert_eq!(mail.subject, sent.subject);
        assert_eq!(mail.text, sent.text);
        assert_eq!(mail.html, sent.html);
        assert_eq!(mail.kind, sent.kind);
    }
    let page = store
        .caught_mail(&Page {
            limit: 2,
            before: None,
        })
        .await
        .unwrap();
    assert_eq!(page, caught[..2]);
    let rest = store
        .caught_mail(&Page {
            limit: 2,
            before: Some(page[1].id.clone()),
        })
        .await
        .unwrap();
    assert_eq!(rest, caught[2..]);
    let beyond = store
        .caught_mail(&Page {
            limit: 2,
            before: Some(rest[0].id.clone()),
        })
        .await
        .unwrap();
    assert!(beyond.is_empty());

    // Catching logged each delivery; a delivery sent elsewhere is logged, and only logged.
    let fourth = job("d@example.com", "Fourth", "order_cancelled");
    store.record_delivery("event-4", &fourth, 3).await.unwrap();
    store.record_delivery("event-4", &first, 7).await.unwrap();
    store.record_delivery("event-2", &fourth, 9).await.unwrap();
    assert_eq!(store.caught_mail(&everything).await.unwrap(), caught);
    let log = store.deliveries(&everything).await.unwrap();
    assert_eq!(
        delivered_events(&log),
        ["event-4", "event-3", "event-2", "event-1"]
    );
    let attempts: Vec<i64> = log.iter().map(|entry| entry.attempts).collect();
    assert_eq!(attempts, [3, 1, 2, 1]);
    for (entry, sent) in log.iter().zip([&fourth, &third, &second, &first]) {
        assert_eq!(entry.status, "sent");
        assert_eq!(entry.to, sent.to);
        assert_eq!(entry.subject, sent.subject);
        assert_eq!(entry.kind, sent.kind);
    }
    let page = store
        .deliveries(&Page {
            limit: 3,
            before: None,
        })
        .await
        .unwrap();
    assert_eq!(page, log[..3]);
    let rest = store
        .deliveries(&Page {
            limit: 3,
            before: Some(page[2].id.clone()),
        })
        .await
        .unwrap();
    assert_eq!(rest, log[3..]);
}

async fn run_store_contract(store: &dyn NotificationStore, db: &Db) {
    apply_contract(store, db).await;
    catch_contract(store).await;
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
