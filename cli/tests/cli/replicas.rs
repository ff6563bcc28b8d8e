//! `shopctl up --postgres URL --redis URL --replicas 2`: the one-machine model of a cluster,
//! every service twice on the machine's PostgreSQL and Redis. Replicas of order, inventory and
//! payment are killed (SIGKILL, no goodbye) while shoppers check out through both gateways;
//! every checkout ends exactly once, no card is charged twice, stock adds up, orders,
//! reservations and payments reconcile, and the gateways share one rate limit and one cache.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use shopctl_kit::{
    client::ServiceClient, jwt::ServiceTokens, settings::CommonSettings,
    testing::postgres_admin_url,
};
use shopctl_order::domain::reconcile::{Report, Services, reconcile};
use shopctl_tests::shop::checkout_body;
use sqlx::Connection as _;

use crate::helpers::{RunningShop, alive, signal};

const APPROVED_CARD: &str = "4242424242424242";
const SHOPPERS: usize = 6;
const CHECKOUTS: usize = 8;

/// One shopper's checkouts: each idempotency key with every order id an answer gave for it.
type Outcomes = BTreeMap<String, BTreeSet<String>>;

/// How far the shoppers are, together.
#[derive(Default)]
struct Progress {
    /// Checkouts that have ended.
    done: AtomicUsize,
    /// Checkout requests sent again after an answer was lost or refused.
    repeated: AtomicUsize,
}

impl Progress {
    async fn reached(&self, checkouts: usize) -> usize {
        while self.done.load(Ordering::SeqCst) < checkouts {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.done.load(Ordering::SeqCst)
    }
}

/// `method url` with `body`, sent again on no answer, 429 and 5xx (as a careful client does,
/// with the same idempotency key) until another answer comes or 60 s pass.
async fn persist(request: impl Fn() -> reqwest::RequestBuilder) -> (u16, Value) {
    let started = Instant::now();
    loop {
        match request().send().await {
            Ok(answer)
                if !(answer.status().is_server_error() || answer.status().as_u16() == 429) =>
            {
                let status = answer.status().as_u16();
                return (status, answer.json().await.unwrap_or(Value::Null));
            }
            Ok(_) | Err(_) if started.elapsed() < Duration::from_secs(60) => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Ok(answer) => panic!("still {} after 60 s", answer.status()),
            Err(err) => panic!("no answer for 60 s: {err}"),
        }
    }
}

/// Registers and signs in a shopper through `gateway`; returns the bearer token.
async fn shopper(client: &reqwest::Client, gateway: &str, n: usize) -> String {
    let email = format!("replica-shopper-{n}-{}@example.com", uuid::Uuid::new_v4());
    let body = json!({"email": email, "password": "correct horse battery", "name": "Shopper"});
    let (status, _) = persist(|| {
        client
            .post(format!("{gateway}/api/users/register"))
            .json(&body)
    })
    .await;
    assert_eq!(status, 201, "register");
    let login = json!({"email": email, "password": "correct horse battery"});
    let (status, login) = persist(|| {
        client
            .post(format!("{gateway}/api/users/login"))
            .json(&login)
    })
    .await;
    assert_eq!(status, 200, "login: {login}");
    login["access_token"].as_str().unwrap().to_owned()
}

/// `CHECKOUTS` checkouts of one unit of `sku`, each under its own idempotency key, through the
/// gateways in turn.
async fn go_shopping(
    gateways: Vec<String>,
    token: String,
    sku: String,
    progress: Arc<Progress>,
) -> Outcomes {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap();
    let mut outcomes = Outcomes::new();
    for n in 0..CHECKOUTS {
        let gateway = &gateways[n % gateways.len()];
        // A lost answer may add the unit twice: any cart will do, as long as the order that
        // comes of it is accounted for.
        let (status, cart) = persist(|| {
            client
                .post(format!("{gateway}/api/cart/items"))
                .bearer_auth(&token)
                .json(&json!({"sku": sku, "quantity": 1}))
        })
        .await;
        assert_eq!(status, 201, "add to cart: {cart}");
        let key = uuid::Uuid::new_v4().to_string();
        let ids = outcomes.entry(key.clone()).or_default();
        // The same checkout asked again after every lost answer, alternating gateways.
        let started = Instant::now();
        let mut pending = None;
        let mut attempt = n;
        loop {
            let gateway = &gateways[attempt % gateways.len()];
            attempt += 1;
            let answer = client
                .post(format!("{gateway}/api/orders"))
                .bearer_auth(&token)
                .header("idempotency-key", &key)
                .json(&checkout_body(APPROVED_CARD))
                .send()
                .await;
            let retry = match answer {
                Ok(answer) => {
                    let status = answer.status().as_u16();
                    let body: Value = answer.json().await.unwrap_or(Value::Null);
                    if let Some(id) = body["id"].as_str() {
                        ids.insert(id.to_owned());
                        pending = (body["status"] == "pending").then(|| id.to_owned());
                    }
                    assert!(
                        matches!(status, 200..=202) || status == 429 || status >= 500,
                        "checkout answered {status}: {body}"
                    );
                    if !matches!(status, 200..=202) {
                        eprintln!("DEBUG {status} {body}");
                    }
                    !matches!(status, 200..=202)
                }
                Err(e) => {
                    eprintln!("DEBUG err {e}");
                    true
                }
            };
            if !retry {
                break;
            }
            progress.repeated.fetch_add(1, Ordering::SeqCst);
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "a checkout got no answer for 60 s"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        // A shopper waits for an order still under way before the next basket: its saga
        // empties the cart when it confirms.
        if let Some(id) = pending {
            let started = Instant::now();
            loop {
                let (_, order) = persist(|| {
                    client
                        .get(format!("{gateway}/api/orders/{id}"))
                        .bearer_auth(&token)
                })
                .await;
                if order["status"] != "pending" {
                    break;
                }
                assert!(
                    started.elapsed() < Duration::from_secs(90),
                    "order {id} still pending after 90 s"
                );
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
        progress.done.fetch_add(1, Ordering::SeqCst);
    }
    outcomes
}

/// Kills the process `up` runs as `name` (SIGKILL) and returns its pid.
fn kill(data: &std::path::Path, name: &str) -> u32 {
    let processes: Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("run/processes.json")).unwrap())
            .unwrap();
    let pid = u32::try_from(processes["services"][name]["pid"].as_u64().unwrap()).unwrap();
    assert!(alive(pid), "{name} runs before it is killed");
    signal(pid, "-KILL");
    pid
}

async fn reconciled(secrets: &toml::Table, base: u16) -> Report {
    let mut settings = CommonSettings::defaults(0);
    settings.service_key = Some(secrets["service_key"].as_str().unwrap().to_owned().into());
    let tokens = ServiceTokens::from_settings("ops", &settings);
    let both = |offset: u16| {
        format!(
            "http://127.0.0.1:{},http://127.0.0.1:{}",
            base + offset,
            base + 10 + offset
        )
    };
    let client = |offset, name| {
        ServiceClient::new(&both(offset), name, tokens.clone(), Duration::from_secs(10))
    };
    let services = Services {
        order: client(4, "order"),
        inventory: client(5, "inventory"),
        payment: client(6, "payment"),
    };
    // Sagas the killed order replica left behind are resumed by a live one.
    let started = Instant::now();
    loop {
        let report = reconcile(&services).await.unwrap();
        if report.ok(true) || started.elapsed() > Duration::from_secs(90) {
            return report;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn replicas_killed_mid_checkout_lose_no_order_and_charge_no_card_twice() {
    let server = postgres_admin_url();
    let prefix = format!("rep_{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let url = format!(
        "{}/{prefix}",
        server
            .rsplit_once('/')
            .map_or(server.as_str(), |(base, _)| base)
    );
    let shop = RunningShop::start_with_env(
        &[
            "--postgres",
            &url,
            "--redis",
            "redis://127.0.0.1:6379",
            "--replicas",
            "2",
        ],
        // Sagas a killed replica leaves are taken over after 3 s rather than 30.
        &[
            ("SHOPCTL_ORDER__RESUME_AFTER_MS", "3000"),
            ("SHOPCTL_ORDER__RESUME_INTERVAL_MS", "500"),
        ],
    )
    .await;
    let report = &shop.report;
    assert_eq!(report["ready"], true, "{report}");
    assert_eq!(report["replicas"], 2);
    let rows = report["services"].as_array().unwrap();
    assert_eq!(rows.len(), 16, "{report}");
    assert!(rows.iter().all(|row| row["ready"] == true), "{report}");
    assert!(rows.iter().any(|row| row["name"] == "order-2"
        && row["url"] == format!("http://127.0.0.1:{}", shop.base + 14)));
    let gateways = vec![
        shop.gateway(),
        format!("http://127.0.0.1:{}", shop.base + 10),
    ];
    let secrets: toml::Table =
        toml::from_str(&std::fs::read_to_string(shop.data().join("secrets.toml")).unwrap())
            .unwrap();
    let admin = secrets["admin_token"].as_str().unwrap();
    let client = reqwest::Client::new();

    // One SKU with plenty of stock, bought by everyone.
    let products: Value = client
        .get(format!("{}/api/products?limit=1", gateways[0]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sku = products["items"][0]["sku"].as_str().unwrap().to_owned();
    let (status, level) = persist(|| {
        client
            .post(format!("{}/api/inventory/{sku}/adjust", gateways[1]))
            .bearer_auth(admin)
            .json(&json!({"delta": 1000, "reason": "replica test"}))
    })
    .await;
    assert_eq!(status, 200, "{level}");
    let on_hand = level["on_hand"].as_i64().unwrap();

    let mut tokens = Vec::new();
    for n in 0..SHOPPERS {
        tokens.push(shopper(&client, &gateways[n % 2], n).await);
    }
    let progress = Arc::new(Progress::default());
    let shoppers: Vec<_> = tokens
        .into_iter()
        .map(|token| {
            tokio::spawn(go_shopping(
                gateways.clone(),
                token,
                sku.clone(),
                Arc::clone(&progress),
            ))
        })
        .collect();

    // Mid-checkout: one replica each of payment, inventory and order once a quarter of the
    // checkouts are done, the other order replica at half.
    let data = shop.data();
    let total = SHOPPERS * CHECKOUTS;
    let at = progress.reached(total / 4).await;
    let killed = [
        kill(&data, "payment-2"),
        kill(&data, "inventory"),
        kill(&data, "order-2"),
    ];
    let at_too = progress.reached(total / 2).await;
    let killed_too = kill(&data, "order");
    assert!(
        at < total && at_too < total,
        "killed while shoppers shopped"
    );

    let mut outcomes = Outcomes::new();
    for shopper in shoppers {
        outcomes.extend(shopper.await.unwrap());
    }
    assert_eq!(outcomes.len(), SHOPPERS * CHECKOUTS);
    // Exactly once: every checkout got one order, whatever replica answered its repeats.
    for (key, ids) in &outcomes {
        assert_eq!(ids.len(), 1, "checkout {key} answered with orders {ids:?}");
    }
    let orders: BTreeSet<&String> = outcomes.values().flatten().collect();
    assert_eq!(orders.len(), SHOPPERS * CHECKOUTS, "one order per checkout");

    // The killed replicas come back under new pids.
    for (name, old) in ["payment-2", "inventory", "order-2", "order"]
        .into_iter()
        .zip(killed.into_iter().chain([killed_too]))
    {
        crate::helpers::wait_for(&format!("{name} restarted"), || {
            let processes: Value = serde_json::from_str(
                &std::fs::read_to_string(data.join("run/processes.json")).unwrap_or_default(),
            )
            .unwrap_or_default();
            let process = &processes["services"][name];
            process["pid"]
                .as_u64()
                .is_some_and(|pid| pid != u64::from(old))
                && process["restarts"].as_u64() >= Some(1)
        })
        .await;
    }

    // Orders, reservations and payments agree once every saga has ended: a confirmed order has
    // exactly one captured payment of its total, a cancelled one holds no stock and no money.
    let report = reconciled(&secrets, shop.base).await;
    assert!(report.ok(true), "{report:?}");
    assert_eq!(
        report.orders,
        SHOPPERS * CHECKOUTS,
        "no order nobody asked for"
    );
    assert!(report.confirmed > 0, "{report:?}");
    eprintln!(
        "{} orders: {} confirmed, {} cancelled; replicas killed after {at} and {at_too} checkouts; {} checkout requests repeated",
        report.orders,
        report.confirmed,
        report.cancelled,
        progress.repeated.load(Ordering::SeqCst)
    );

    // Stock adds up: what left the shelf is what the confirmed orders bought.
    let mut bought = 0;
    for id in &orders {
        let (status, order) = persist(|| {
            client
                .get(format!("{}/api/orders/{id}", gateways[0]))
                .bearer_auth(admin)
        })
        .await;
        assert_eq!(status, 200, "{order}");
        if order["status"] != "cancelled" {
            bought += order["lines"]
                .as_array()
                .unwrap()
                .iter()
                .map(|line| line["quantity"].as_i64().unwrap())
                .sum::<i64>();
        }
    }
    let (_, level) = persist(|| client.get(format!("{}/api/inventory/{sku}", gateways[0]))).await;
    assert_eq!(level["reserved"].as_i64(), Some(0), "{level}");
    assert_eq!(level["on_hand"].as_i64(), Some(on_hand - bought), "{level}");

    // One cache: what one gateway fetched, the other answers from Redis.
    let path = format!("/api/products?limit=13&q={}", &sku[..3]);
    let first = client
        .get(format!("{}{path}", gateways[0]))
        .send()
        .await
        .unwrap();
    assert_eq!(first.headers()["x-cache"], "MISS");
    let second = client
        .get(format!("{}{path}", gateways[1]))
        .send()
        .await
        .unwrap();
    assert_eq!(second.headers()["x-cache"], "HIT", "the cache is shared");

    // One rate limit: sign-ins through both gateways draw on one bucket per client (6 at once,
    // then one a second), so together they let through what one gateway would; two buckets
    // would let through twice as many.
    let started = Instant::now();
    let mut let_through = 0;
    let mut refused = [0, 0];
    for n in 0..40 {
        let answer = client
            .post(format!("{}/api/users/login", gateways[n % 2]))
            .json(
                &json!({"email": format!("nobody-{n}@example.com"), "password": "wrong password"}),
            )
            .send()
            .await
            .unwrap();
        if answer.status() == 429 {
            refused[n % 2] += 1;
        } else {
            let_through += 1;
        }
    }
    let one_bucket = 6 + started.elapsed().as_secs() + 1;
    assert!(refused[0] > 0 && refused[1] > 0, "{refused:?}");
    assert!(
        let_through <= one_bucket,
        "{let_through} sign-ins let through in {:?}",
        started.elapsed()
    );

    assert!(shop.stop().await.success());
    let mut admin_db = sqlx::PgConnection::connect(&server).await.unwrap();
    for service in [
        "inventory",
        "notification",
        "order",
        "payment",
        "product",
        "user",
    ] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            r#"DROP DATABASE IF EXISTS "{prefix}_{service}" WITH (FORCE)"#
        )))
        .execute(&mut admin_db)
        .await
        .unwrap();
    }
}

/// `--replicas` past one without the shared parts is refused before anything starts.
#[test]
fn replicas_without_a_shared_database_and_redis_are_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let output = crate::helpers::shopctl()
        .args(["up", "--replicas", "3", "--data-dir"])
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    crate::helpers::assert_one_line_error(&output, &["--replicas 3", "--postgres", "--redis"]);
    assert!(!dir.path().join("data").exists(), "nothing written");

    let output = crate::helpers::shopctl()
        .args(["up", "--replicas", "11"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        crate::helpers::stderr(&output).contains("--replicas"),
        "{}",
        crate::helpers::stderr(&output)
    );
}
