//! Reliable events over a real database (SQLite, or PostgreSQL with
//! `SHOPCTL_TEST_DATABASE=postgres`) and a real HTTP subscriber.
#![allow(clippy::unwrap_used)]

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{Json, Router, extract::State, http::StatusCode, routing::post};
use serde_json::json;
use shopctl_kit::{
    db::Db,
    events::{self, Envelope, HttpSink, Outbox, Relay, RetryPolicy},
    metrics::Metrics,
    testing::{TestBackend, TestDatabase, TestServer},
};

/// A subscriber that fails its first `fail_first` deliveries with `status`, then records.
#[derive(Clone)]
struct Subscriber {
    fail_first: usize,
    status: StatusCode,
    calls: Arc<AtomicUsize>,
    received: Arc<Mutex<Vec<Envelope>>>,
}

async fn subscriber(fail_first: usize, status: StatusCode) -> (TestServer, Subscriber) {
    let state = Subscriber {
        fail_first,
        status,
        calls: Arc::new(AtomicUsize::new(0)),
        received: Arc::new(Mutex::new(Vec::new())),
    };
    let router = Router::new()
        .route(
            "/events",
            post(
                |State(s): State<Subscriber>, Json(envelope): Json<Envelope>| async move {
                    let call = s.calls.fetch_add(1, Ordering::SeqCst);
                    if call < s.fail_first {
                        return s.status;
                    }
                    s.received.lock().unwrap().push(envelope);
                    StatusCode::NO_CONTENT
                },
            ),
        )
        .with_state(state.clone());
    (TestServer::spawn("subscriber", router).await, state)
}

async fn database() -> (TestDatabase, Db) {
    let test = TestDatabase::new(TestBackend::from_env()).await;
    let db = Db::connect(&test.url, shopctl_kit::db::PoolOptions::default())
        .await
        .unwrap();
    events::install(&db).await.unwrap();
    events::install(&db).await.unwrap();
    (test, db)
}

fn fast() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base: Duration::from_millis(10),
        max_delay: Duration::from_millis(40),
    }
}

fn relay(db: &Db, policy: RetryPolicy) -> (Relay, Metrics) {
    let metrics = Metrics::new("eventstest");
    let sink = Arc::new(HttpSink::new(None, BTreeMap::new()));
    (Relay::new(db.clone(), sink, policy, &metrics), metrics)
}

fn outbox(url: &str) -> Outbox {
    Outbox::new(BTreeMap::from([(
        "order.confirmed".to_owned(),
        vec![format!("{url}/events")],
    )]))
}

/// Runs relay passes until `done` holds or 5 s pass.
async fn drain(relay: &Relay, done: impl Fn() -> bool) {
    for _ in 0..250 {
        relay.run_once().await.unwrap();
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the relay did not get there");
}

#[tokio::test]
async fn an_event_commits_with_its_transaction_or_not_at_all() {
    let (_test, db) = database().await;
    let (server, sub) = subscriber(0, StatusCode::OK).await;
    let outbox = outbox(&server.url);

    let mut tx = db.begin_write().await.unwrap();
    outbox
        .enqueue(&mut tx, "order.confirmed", &json!({"order": "rolled-back"}))
        .await
        .unwrap();
    drop(tx); // rolled back
    assert_eq!(events::depths(&db).await.unwrap(), (0, 0));

    let mut tx = db.begin_write().await.unwrap();
    let id = outbox
        .enqueue(&mut tx, "order.confirmed", &json!({"order": "o-1"}))
        .await
        .unwrap();
    // A topic nobody subscribes to writes nothing.
    outbox
        .enqueue(&mut tx, "order.shipped", &json!({}))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(events::depths(&db).await.unwrap(), (1, 0));

    let (relay, metrics) = relay(&db, fast());
    assert_eq!(relay.run_once().await.unwrap(), 1);
    let received = sub.received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].id, id);
    assert_eq!(received[0].topic, "order.confirmed");
    assert_eq!(received[0].data, json!({"order": "o-1"}));
    assert_eq!(events::depths(&db).await.unwrap(), (0, 0));
    let text = metrics.render();
    assert!(text.contains("events_outbox_depth 0"), "{text}");
    assert!(
        text.contains(r#"events_delivered_total{topic="order.confirmed"} 1"#),
        "{text}"
    );
}

#[tokio::test]
async fn a_failing_subscriber_is_retried_with_backoff_until_it_accepts() {
    let (_test, db) = database().await;
    let (server, sub) = subscriber(2, StatusCode::SERVICE_UNAVAILABLE).await;
    let mut tx = db.begin_write().await.unwrap();
    outbox(&server.url)
        .enqueue(&mut tx, "order.confirmed", &json!({"n": 1}))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // A backoff long enough (0.4-0.8 s after the first failure, with jitter) that the second
    // pass surely comes before it, even on a loaded machine.
    let (relay, _) = relay(
        &db,
        RetryPolicy {
            max_attempts: 5,
            base: Duration::from_millis(800),
            max_delay: Duration::from_millis(1_600),
        },
    );
    // The second pass comes before the backoff has passed: nothing is due.
    relay.run_once().await.unwrap();
    relay.run_once().await.unwrap();
    assert_eq!(
        sub.calls.load(Ordering::SeqCst),
        1,
        "not before the backoff"
    );
    drain(&relay, || sub.received.lock().unwrap().len() == 1).await;
    assert_eq!(sub.calls.load(Ordering::SeqCst), 3);
    assert_eq!(events::depths(&db).await.unwrap(), (0, 0));
}

#[tokio::test]
async fn exhausted_and_refused_deliveries_are_dead_lettered_and_can_be_redriven() {
    let (_test, db) = database().await;
    // Down for good (until "fixed"): every attempt fails.
    let (down, down_sub) = subscriber(usize::MAX, StatusCode::BAD_GATEWAY).await;
    // Refuses the event outright: a poison event.
    let (refusing, refusing_sub) = subscriber(usize::MAX, StatusCode::UNPROCESSABLE_ENTITY).await;
    let outbox = Outbox::new(BTreeMap::from([
        (
            "payment.failed".to_owned(),
            vec![format!("{}/events", down.url)],
        ),
        (
            "user.registered".to_owned(),
            vec![format!("{}/events", refusing.url)],
        ),
    ]));
    let mut tx = db.begin_write().await.unwrap();
    outbox
        .enqueue(&mut tx, "payment.failed", &json!({"n": 1}))
        .await
        .unwrap();
    outbox
        .enqueue(&mut tx, "user.registered", &json!({"n": 2}))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let (relay, metrics) = relay(&db, fast());
    drain(&relay, || down_sub.calls.load(Ordering::SeqCst) >= 3).await;
    relay.run_once().await.unwrap();
    assert_eq!(down_sub.calls.load(Ordering::SeqCst), 3, "max_attempts");
    assert_eq!(
        refusing_sub.calls.load(Ordering::SeqCst),
        1,
        "no retry of a 4xx"
    );
    assert_eq!(events::depths(&db).await.unwrap(), (0, 2));
    assert!(metrics.render().contains("events_dead_letters 2"));

    let dead = events::dead_letters(&db, 10).await.unwrap();
    assert_eq!(dead.len(), 2);
    let refused = dead.iter().find(|d| d.topic == "user.registered").unwrap();
    assert_eq!(refused.attempts, 1);
    assert!(
        refused.last_error.as_deref().unwrap().contains("422"),
        "{refused:?}"
    );
    let shown = events::dead_letter(&db, &refused.id).await.unwrap();
    assert_eq!(&shown, refused);

    // Redrive one; the subscriber is still down, so it comes back after three more attempts.
    let exhausted = dead.iter().find(|d| d.topic == "payment.failed").unwrap();
    assert_eq!(exhausted.attempts, 3);
    assert_eq!(events::redrive(&db, Some(&exhausted.id)).await.unwrap(), 1);
    assert_eq!(events::depths(&db).await.unwrap(), (1, 1));
    assert_eq!(events::redrive(&db, Some("no-such-id")).await.unwrap(), 0);

    // After the fix, redrive all: both arrive, once each, with their original event ids.
    let (fixed, fixed_sub) = subscriber(0, StatusCode::OK).await;
    for table in ["events_outbox", "events_dead_letters"] {
        db.execute(
            &format!("UPDATE {table} SET destination = ?"),
            &[shopctl_kit::sql::Param::Text(format!(
                "{}/events",
                fixed.url
            ))],
        )
        .await
        .unwrap();
    }
    assert_eq!(events::redrive(&db, None).await.unwrap(), 1);
    drain(&relay, || fixed_sub.received.lock().unwrap().len() == 2).await;
    let received = fixed_sub.received.lock().unwrap().clone();
    let mut topics: Vec<_> = received.iter().map(|e| e.topic.clone()).collect();
    topics.sort();
    assert_eq!(topics, ["payment.failed", "user.registered"]);
    assert_eq!(events::depths(&db).await.unwrap(), (0, 0));
}

#[tokio::test]
async fn two_relays_deliver_each_row_once() {
    let (_test, db) = database().await;
    let (server, sub) = subscriber(0, StatusCode::OK).await;
    let outbox = outbox(&server.url);
    let mut tx = db.begin_write().await.unwrap();
    for n in 0..40 {
        outbox
            .enqueue(&mut tx, "order.confirmed", &json!({"n": n}))
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let (a, _) = relay(&db, fast());
    let (b, _) = relay(&db, fast());
    let (ra, rb) = tokio::join!(a.run_once(), b.run_once());
    assert_eq!(ra.unwrap() + rb.unwrap(), 40);
    assert_eq!(sub.received.lock().unwrap().len(), 40);
}

#[derive(sqlx::FromRow)]
struct Count {
    n: i64,
}

#[tokio::test]
async fn the_inbox_makes_a_repeated_delivery_a_no_op() {
    let (_test, db) = database().await;
    db.execute("CREATE TABLE effects (n INTEGER NOT NULL)", &[])
        .await
        .unwrap();
    let event = uuid::Uuid::now_v7();
    let apply = || async {
        let mut tx = db.begin_write().await.unwrap();
        if events::first_time(&mut tx, "mailer", event).await.unwrap() {
            tx.execute("INSERT INTO effects (n) VALUES (1)", &[])
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
    };
    apply().await;
    apply().await;
    apply().await;
    let count: Count = db
        .fetch_one("SELECT COUNT(*) AS n FROM effects", &[])
        .await
        .unwrap();
    assert_eq!(count.n, 1);
    // Another consumer of the same event has its own entry.
    let mut tx = db.begin_write().await.unwrap();
    assert!(events::first_time(&mut tx, "other", event).await.unwrap());
    tx.commit().await.unwrap();
}

/// The operator's view of the queues over HTTP: `/admin/dead-letters` lists what
/// `events::dead_letters` holds and `/admin/dead-letters/redrive` moves it back to the outbox,
/// for admin (and service) tokens only; a service without event queues answers 404.
#[tokio::test]
async fn the_admin_routes_list_and_redrive_dead_letters() {
    use secrecy::SecretString;
    use shopctl_kit::{
        ServiceContext,
        auth::{Auth, BootstrapToken},
        http::finish,
        settings::CommonSettings,
    };
    let (_test, db) = database().await;
    let (refusing, _) = subscriber(usize::MAX, StatusCode::UNPROCESSABLE_ENTITY).await;
    let mut tx = db.begin_write().await.unwrap();
    outbox(&refusing.url)
        .enqueue(&mut tx, "order.confirmed", &json!({"n": 1}))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let (relay, _) = relay(&db, fast());
    // A 4xx is dead-lettered at the first attempt.
    relay.run_once().await.unwrap();
    assert_eq!(events::depths(&db).await.unwrap(), (0, 1));

    let context = |db: Option<Db>| {
        ServiceContext::new(
            "eventstest",
            &CommonSettings::defaults(0),
            db,
            Metrics::new("eventstest"),
            Auth::new(BootstrapToken(Some(SecretString::from("admin-token")))),
        )
    };
    let server = TestServer::spawn(
        "eventstest",
        finish(Router::new(), &context(Some(db.clone()))),
    )
    .await;
    let client = reqwest::Client::new();
    let list = format!("{}/admin/dead-letters", server.url);
    assert_eq!(client.get(&list).send().await.unwrap().status(), 401);
    let listed: serde_json::Value = client
        .get(&list)
        .bearer_auth("admin-token")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{listed}");
    assert_eq!(items[0]["topic"], "order.confirmed");
    let bad_limit = client
        .get(format!("{list}?limit=0"))
        .bearer_auth("admin-token")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_limit.status(), 400);

    let redrive = format!("{}/admin/dead-letters/redrive", server.url);
    assert_eq!(client.post(&redrive).send().await.unwrap().status(), 401);
    let unknown = client
        .post(&redrive)
        .bearer_auth("admin-token")
        .json(&json!({"id": "no-such-id"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let moved: serde_json::Value = client
        .post(&redrive)
        .bearer_auth("admin-token")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(moved["redriven"], 1);
    assert_eq!(events::depths(&db).await.unwrap(), (1, 0));

    let without = TestServer::spawn("eventstest", finish(Router::new(), &context(None))).await;
    let answer = client
        .get(format!("{}/admin/dead-letters", without.url))
        .bearer_auth("admin-token")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 404);
}

/// What the outbox still owes for a row.
#[derive(sqlx::FromRow)]
struct Owed {
    attempts: i64,
    last_error: Option<String>,
}

/// A sink that never answers (an SMTP server that hangs).
struct Hanging;

impl events::Sink for Hanging {
    fn deliver<'a>(&'a self, _: &'a events::Delivery) -> events::DeliverFuture<'a> {
        Box::pin(std::future::pending())
    }
}

/// A delivery that does not end is given up well inside its lease and retried later: the row
/// is never still being sent when another relay (another replica) may lease it again.
#[tokio::test]
async fn a_delivery_that_hangs_is_given_up_inside_its_lease_and_retried() {
    let (_test, db) = database().await;
    let mut tx = db.begin_write().await.unwrap();
    outbox("http://127.0.0.1:9")
        .enqueue(&mut tx, "order.confirmed", &json!({"order": "o-hang"}))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let metrics = Metrics::new("eventshang");
    let relay = Relay::new(db.clone(), Arc::new(Hanging), fast(), &metrics)
        .deliver_timeout(Duration::from_millis(100));
    let started = std::time::Instant::now();
    assert_eq!(relay.run_once().await.unwrap(), 0);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the pass ended"
    );
    let rows: Vec<Owed> = db
        .fetch_all("SELECT attempts, last_error FROM events_outbox", &[])
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "still owed");
    assert_eq!(rows[0].attempts, 1);
    assert!(
        rows[0]
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("no answer within 100 ms"),
        "{:?}",
        rows[0].last_error
    );
}
