//! The load generator behind `shopctl loadgen`: virtual shoppers that behave like Online
//! Boutique's (browse a product 10, view the cart 3, add to cart 2, browse a category or search
//! 2, the home page 1, check out 1), each signed in with an account of its own, thinking between
//! tasks, through the gateway. Every request is timed per route; the report gives req/s and
//! p50/p95/p99 per route, and the errors.
//!
//! An answer is *ok* (2xx), *refused* (a 409 where the shop may rightly say no: out of stock, a
//! full cart) or an *error* (anything else, including 429s, 5xx and transport failures).
//!
//! A checkout is judged by the order it answers with, not by its status code: a declined card
//! also answers 201, with the order `cancelled`. An order is counted when it is `confirmed`; a
//! checkout paid with the declined test card (`Plan::decline_rate`) is expected to be cancelled
//! and is counted as declined; any other cancellation is an error (`cancelled`), and so is a
//! declined card that was confirmed. A checkout answered 202 (still running) is followed after
//! the run until its order settles; one still pending [`SETTLE_FOR`] later is an error
//! (`unsettled`).

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context as _;
use rand::{Rng as _, SeedableRng as _, rngs::StdRng};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::watch;

/// What the shoppers do, with Online Boutique's weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// The storefront's home page (`/`, rendered by the frontend through the gateway).
    Home,
    /// One product's page.
    BrowseProduct,
    /// A category listing or a text search.
    BrowseCategory,
    /// The cart.
    ViewCart,
    /// Put a product in the cart.
    AddToCart,
    /// Put a product in the cart and buy what is there with the test card.
    Checkout,
}

/// Tasks and weights (out of 19).
pub const WEIGHTS: [(Task, u32); 6] = [
    (Task::BrowseProduct, 10),
    (Task::ViewCart, 3),
    (Task::AddToCart, 2),
    (Task::BrowseCategory, 2),
    (Task::Home, 1),
    (Task::Checkout, 1),
];

/// Picks a task by weight from a number in `0..19`.
pub fn task_for(roll: u32) -> Task {
    let mut left = roll;
    for (task, weight) in WEIGHTS {
        if left < weight {
            return task;
        }
        left -= weight;
    }
    Task::BrowseProduct
}

/// How a run is shaped.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The gateway's base URL.
    pub gateway: String,
    /// Where accounts are registered (the user service directly when reachable: sign-ups are
    /// rate limited at the gateway, and setting up is not what is measured).
    pub accounts: String,
    /// Concurrent shoppers.
    pub users: u32,
    /// How long the load runs.
    pub duration: Duration,
    /// Pause between one shopper's tasks, drawn uniformly (zero for the stress profile).
    pub think: (Duration, Duration),
    /// Cap on requests per second, all shoppers together.
    pub rate: Option<f64>,
    /// Seed of the shoppers' choices.
    pub seed: u64,
    /// Share of checkouts (0.0–1.0) paid with the test card that is always declined.
    pub decline_rate: f64,
}

/// The test card that is always approved.
pub const APPROVED_CARD: &str = "4242424242424242";
/// The test card that is always declined.
pub const DECLINED_CARD: &str = "4000000000000002";
/// How long after the run checkouts answered 202 are followed until their order settles.
pub const SETTLE_FOR: Duration = Duration::from_secs(15);

/// What a checkout's order says, given the card it was paid with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// Confirmed (or further along), paid with the card that is approved.
    Confirmed,
    /// Cancelled because the declined test card was declined: expected.
    Declined,
    /// Still running: the order's id.
    Pending(String),
    /// Anything else, by error kind: `cancelled` (a good card's order cancelled),
    /// `confirmed_declined_card`, or `unreadable_order` (an answer that is no order).
    Unexpected(&'static str),
}

/// Judges the order a checkout answered with (or a later read of it).
pub fn settled(order: &Value, declined_card: bool) -> Settled {
    let status = order["status"].as_str().unwrap_or_default();
    let reason = order["reason"].as_str().unwrap_or_default();
    match (status, declined_card) {
        ("confirmed" | "shipped" | "delivered", false) => Settled::Confirmed,
        ("confirmed" | "shipped" | "delivered", true) => {
            Settled::Unexpected("confirmed_declined_card")
        }
        ("cancelled", true) if reason.starts_with("payment declined") => Settled::Declined,
        ("pending", _) => Settled::Pending(order["id"].as_str().unwrap_or_default().to_owned()),
        ("cancelled", _) => Settled::Unexpected("cancelled"),
        _ => Settled::Unexpected("unreadable_order"),
    }
}

/// Checkouts of one shopper by outcome.
#[derive(Debug, Default)]
struct Checkouts {
    confirmed: u64,
    declined: u64,
    cancelled: u64,
    unsettled: u64,
    /// Orders answered 202, with whether the declined card paid for them.
    pending: Vec<(String, bool)>,
}

/// Latencies and outcomes of one route.
#[derive(Debug, Default, Clone)]
struct RouteStats {
    latencies_us: Vec<u32>,
    ok: u64,
    refused: u64,
    errors: BTreeMap<String, u64>,
}

/// Live counters, for the progress line.
#[derive(Debug, Default)]
pub struct Live {
    /// Requests answered so far.
    pub requests: AtomicU64,
    /// Errors so far.
    pub errors: AtomicU64,
}

/// One route's line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct RouteReport {
    /// The route (task step) name.
    pub route: &'static str,
    /// Requests sent.
    pub requests: u64,
    /// Requests per second over the run.
    pub requests_per_sec: f64,
    /// Median latency in milliseconds.
    pub p50_ms: f64,
    /// 95th percentile latency in milliseconds.
    pub p95_ms: f64,
    /// 99th percentile latency in milliseconds.
    pub p99_ms: f64,
    /// 2xx answers.
    pub ok: u64,
    /// Rightful refusals (409).
    pub refused: u64,
    /// Errors by status code or transport failure.
    pub errors: BTreeMap<String, u64>,
}

/// The outcome of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Gateway the load went to.
    pub target: String,
    /// Shoppers.
    pub users: u32,
    /// Seconds the load ran.
    pub duration_secs: f64,
    /// Requests sent.
    pub requests: u64,
    /// Requests per second, all routes.
    pub requests_per_sec: f64,
    /// Errors, all routes (unexpected cancellations and unsettled orders included).
    pub errors: u64,
    /// Orders confirmed.
    pub orders: u64,
    /// Checkouts paid with the declined test card and cancelled for it, as expected.
    pub declined: u64,
    /// Orders cancelled although nothing should have cancelled them (also in `errors`).
    pub cancelled: u64,
    /// Orders still pending [`SETTLE_FOR`] after the run (also in `errors`).
    pub unsettled: u64,
    /// Per route, in a fixed order.
    pub routes: Vec<RouteReport>,
}

/// Spaces requests evenly to stay under a rate: each request claims the next free slot.
#[derive(Debug)]
struct Pacer {
    start: Instant,
    interval_ns: u64,
    next_ns: AtomicU64,
}

impl Pacer {
    fn new(rate: f64) -> Self {
        Self {
            start: Instant::now(),
            interval_ns: u64::try_from(Duration::from_secs_f64(1.0 / rate.max(0.001)).as_nanos())
                .unwrap_or(u64::MAX),
            next_ns: AtomicU64::new(0),
        }
    }

    async fn wait(&self) {
        let now = u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let mut slot = self.next_ns.load(Ordering::Relaxed);
        loop {
            let claim = slot.max(now);
            match self.next_ns.compare_exchange_weak(
                slot,
                claim + self.interval_ns,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    if claim > now {
                        tokio::time::sleep(Duration::from_nanos(claim - now)).await;
                    }
                    return;
                }
                Err(current) => slot = current,
            }
        }
    }
}

/// What the shoppers can pick from: products (id, sku), categories and search words.
#[derive(Debug, Clone, Default)]
struct Catalog {
    products: Vec<(String, String)>,
    categories: Vec<String>,
    words: Vec<String>,
}

/// Reads the catalog's first page, trying a few times: a shop under injected faults still
/// deserves a load run.
async fn catalog(client: &reqwest::Client, gateway: &str) -> anyhow::Result<Catalog> {
    let url = format!("{gateway}/api/products?limit=100");
    let mut attempt = 0;
    let body: Value = loop {
        attempt += 1;
        let answer = client.get(&url).send().await.with_context(|| {
            format!("cannot reach the shop at {gateway}; is it running (`shopctl status`)?")
        })?;
        if answer.status().is_success() {
            break answer.json().await?;
        }
        if attempt == 10 {
            anyhow::bail!(
                "GET {url} answered {}; is the shop healthy (`shopctl status`)?",
                answer.status()
            );
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let mut catalog = Catalog::default();
    for item in body["items"].as_array().into_iter().flatten() {
        let (Some(id), Some(sku)) = (item["id"].as_str(), item["sku"].as_str()) else {
            continue;
        };
        catalog.products.push((id.to_owned(), sku.to_owned()));
        if let Some(category) = item["category"].as_str()
            && !catalog.categories.iter().any(|c| c == category)
        {
            catalog.categories.push(category.to_owned());
        }
        if let Some(word) = item["name"]
            .as_str()
            .and_then(|n| n.split_whitespace().last())
            && !catalog.words.iter().any(|w| w == word)
        {
            catalog.words.push(word.to_lowercase());
        }
    }
    if catalog.products.is_empty() {
        anyhow::bail!("the catalog at {gateway} is empty; seed it first (`shopctl seed products`)");
    }
    Ok(catalog)
}

/// One virtual shopper.
struct Shopper {
    client: reqwest::Client,
    plan: Arc<Plan>,
    catalog: Arc<Catalog>,
    pacer: Option<Arc<Pacer>>,
    live: Arc<Live>,
    rng: StdRng,
    email: String,
    password: String,
    token: String,
    stats: BTreeMap<&'static str, RouteStats>,
    checkouts: Checkouts,
}

/// Sends `request` and waits for its whole answer; `None` on a transport failure.
async fn exchange(request: reqwest::RequestBuilder) -> Result<(StatusCode, Value), String> {
    let answer = request.send().await.map_err(|e| {
        if e.is_timeout() {
            "timeout".to_owned()
        } else if e.is_connect() {
            "connect".to_owned()
        } else {
            "transport".to_owned()
        }
    })?;
    let status = answer.status();
    let bytes = answer.bytes().await.map_err(|_| "transport".to_owned())?;
    Ok((
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    ))
}

/// Signs `email` up (if new) and in at `accounts`, honouring 429s; returns an access token.
async fn sign_in(
    client: &reqwest::Client,
    accounts: &str,
    email: &str,
    password: &str,
) -> anyhow::Result<String> {
    let register = json!({"email": email, "password": password, "name": "Load Shopper"});
    let login = json!({"email": email, "password": password});
    for (path, body) in [("register", &register), ("login", &login)] {
        loop {
            let url = format!("{accounts}/api/users/{path}");
            let answer = client.post(&url).json(body).send().await?;
            let status = answer.status();
            if status == StatusCode::TOO_MANY_REQUESTS {
                let wait = answer
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1);
                tokio::time::sleep(Duration::from_secs(wait)).await;
                continue;
            }
            let body: Value = answer.json().await.unwrap_or(Value::Null);
            if path == "register" && status == StatusCode::CONFLICT {
                break;
            }
            if !status.is_success() {
                anyhow::bail!(
                    "cannot set up a shopper: POST {url} answered {status}: {}",
                    body["detail"].as_str().unwrap_or("no detail")
                );
            }
            if path == "login" {
                return body["access_token"]
                    .as_str()
                    .map(str::to_owned)
                    .context("the login answer holds no access_token");
            }
            break;
        }
    }
    anyhow::bail!("sign-in did not finish")
}

impl Shopper {
    /// Counts what a checkout's order turned out to be; an unexpected outcome turns the
    /// checkout's ok answer into an error of that kind.
    fn settle(&mut self, outcome: Settled, declined_card: bool) {
        match outcome {
            Settled::Confirmed => self.checkouts.confirmed += 1,
            Settled::Declined => self.checkouts.declined += 1,
            Settled::Pending(id) => self.checkouts.pending.push((id, declined_card)),
            Settled::Unexpected(kind) => {
                if kind == "cancelled" {
                    self.checkouts.cancelled += 1;
                }
                self.reclassify(kind);
            }
        }
    }

    /// Turns one ok checkout into an error of `kind`.
    fn reclassify(&mut self, kind: &str) {
        let stats = self.stats.entry("checkout").or_default();
        stats.ok = stats.ok.saturating_sub(1);
        *stats.errors.entry(kind.to_owned()).or_default() += 1;
        self.live.errors.fetch_add(1, Ordering::Relaxed);
    }

    /// Follows the orders answered 202 until they settle or `until` passes.
    async fn follow_pending(&mut self, until: Instant) {
        let mut pending = std::mem::take(&mut self.checkouts.pending);
        while !pending.is_empty() {
            let mut still = Vec::new();
            for (id, declined_card) in pending {
                let url = format!("{}/api/orders/{id}", self.plan.gateway);
                let mut read = exchange(self.client.get(&url).bearer_auth(&self.token)).await;
                if matches!(read, Ok((StatusCode::UNAUTHORIZED, _))) {
                    // The access token ran out while following: sign in again, once.
                    if let Ok(token) = sign_in(
                        &self.client,
                        &self.plan.accounts,
                        &self.email,
                        &self.password,
                    )
                    .await
                    {
                        self.token = token;
                        read = exchange(self.client.get(&url).bearer_auth(&self.token)).await;
                    }
                }
                match read {
                    Ok((status, order)) if status.is_success() => {
                        match settled(&order, declined_card) {
                            Settled::Pending(_) => still.push((id, declined_card)),
                            outcome => self.settle(outcome, declined_card),
                        }
                    }
                    _ => still.push((id, declined_card)),
                }
            }
            pending = still;
            if pending.is_empty() || Instant::now() >= until {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        for _ in &pending {
            self.checkouts.unsettled += 1;
            self.reclassify("unsettled");
        }
    }

    fn record(
        &mut self,
        route: &'static str,
        took: Duration,
        outcome: &Result<StatusCode, String>,
        refusable: bool,
    ) {
        let stats = self.stats.entry(route).or_default();
        stats
            .latencies_us
            .push(u32::try_from(took.as_micros()).unwrap_or(u32::MAX));
        self.live.requests.fetch_add(1, Ordering::Relaxed);
        match outcome {
            Ok(code) if code.is_success() => stats.ok += 1,
            Ok(code) if refusable && *code == StatusCode::CONFLICT => stats.refused += 1,
            Ok(code) => {
                *stats.errors.entry(code.as_u16().to_string()).or_default() += 1;
                self.live.errors.fetch_add(1, Ordering::Relaxed);
            }
            Err(kind) => {
                *stats.errors.entry(kind.clone()).or_default() += 1;
                self.live.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// One timed request through the gateway.
    async fn call(
        &mut self,
        route: &'static str,
        method: Method,
        path: &str,
        body: Option<&Value>,
        refusable: bool,
    ) -> Option<(StatusCode, Value)> {
        if let Some(pacer) = &self.pacer {
            pacer.wait().await;
        }
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.plan.gateway))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        if route == "checkout" {
            request = request.header("idempotency-key", uuid::Uuid::new_v4().to_string());
        }
        let started = Instant::now();
        let answer = exchange(request).await;
        let outcome = answer
            .as_ref()
            .map(|(status, _)| *status)
            .map_err(Clone::clone);
        self.record(route, started.elapsed(), &outcome, refusable);
        if outcome == Ok(StatusCode::UNAUTHORIZED) {
            // The 15-minute access token ran out: sign in again for the next request.
            if let Ok(token) = sign_in(
                &self.client,
                &self.plan.accounts,
                &self.email,
                &self.password,
            )
            .await
            {
                self.token = token;
            }
        }
        answer.ok()
    }

    fn product(&mut self) -> (String, String) {
        let i = self.rng.random_range(0..self.catalog.products.len());
        self.catalog.products[i].clone()
    }

    async fn add_to_cart(&mut self) {
        let (id, sku) = self.product();
        self.call(
            "browse_product",
            Method::GET,
            &format!("/api/products/{id}"),
            None,
            false,
        )
        .await;
        let quantity = [1, 2, 3, 4, 5, 10][self.rng.random_range(0..6)];
        self.call(
            "add_to_cart",
            Method::POST,
            "/api/cart/items",
            Some(&json!({"sku": sku, "quantity": quantity})),
            true,
        )
        .await;
    }

    async fn empty_cart(&mut self) {
        let Some((_, cart)) = self
            .call("view_cart", Method::GET, "/api/cart", None, false)
            .await
        else {
            return;
        };
        let skus: Vec<String> = cart["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|line| line["sku"].as_str().map(str::to_owned))
            .collect();
        for sku in skus {
            self.call(
                "remove_from_cart",
                Method::DELETE,
                &format!("/api/cart/items/{sku}"),
                None,
                false,
            )
            .await;
        }
    }

    async fn run(&mut self, task: Task) {
        match task {
            Task::Home => {
                self.call("home", Method::GET, "/", None, false).await;
            }
            Task::BrowseProduct => {
                let (id, _) = self.product();
                self.call(
                    "browse_product",
                    Method::GET,
                    &format!("/api/products/{id}"),
                    None,
                    false,
                )
                .await;
            }
            Task::BrowseCategory => {
                let path = if self.rng.random_bool(0.5) && !self.catalog.categories.is_empty() {
                    let i = self.rng.random_range(0..self.catalog.categories.len());
                    format!(
                        "/api/products?category={}&limit=24",
                        self.catalog.categories[i]
                    )
                } else if !self.catalog.words.is_empty() {
                    let i = self.rng.random_range(0..self.catalog.words.len());
                    format!("/api/products?q={}&limit=24", self.catalog.words[i])
                } else {
                    "/api/products?limit=24".to_owned()
                };
                self.call("browse_category", Method::GET, &path, None, false)
                    .await;
            }
            Task::ViewCart => {
                self.call("view_cart", Method::GET, "/api/cart", None, false)
                    .await;
            }
            Task::AddToCart => self.add_to_cart().await,
            Task::Checkout => {
                self.add_to_cart().await;
                let declined_card = self.plan.decline_rate > 0.0
                    && self.rng.random_bool(self.plan.decline_rate.min(1.0));
                let card = if declined_card {
                    DECLINED_CARD
                } else {
                    APPROVED_CARD
                };
                let body = json!({
                    "shipping_address": {"name": "Load Shopper", "line1": "1 Load Street",
                        "city": "Springfield", "postal_code": "12345", "country": "US"},
                    "payment": {"card_number": card, "exp_month": 12,
                        "exp_year": 2040, "cvc": "123"}
                });
                match self
                    .call("checkout", Method::POST, "/api/orders", Some(&body), true)
                    .await
                {
                    Some((status, order))
                        if status == StatusCode::CREATED || status == StatusCode::ACCEPTED =>
                    {
                        let outcome = settled(&order, declined_card);
                        // The order service empties the cart when an order is confirmed; any
                        // other outcome leaves it full, and the next basket starts afresh.
                        let confirmed = outcome == Settled::Confirmed;
                        self.settle(outcome, declined_card);
                        if !confirmed {
                            self.empty_cart().await;
                        }
                    }
                    // Refused (out of stock) or failed: start the next basket afresh.
                    _ => self.empty_cart().await,
                }
            }
        }
    }

    async fn shop(mut self, deadline: Instant, mut stop: watch::Receiver<bool>) -> Self {
        let (min, max) = self.plan.think;
        while Instant::now() < deadline && !*stop.borrow() {
            let task = task_for(self.rng.random_range(0..19));
            self.run(task).await;
            let think = if max > min {
                self.rng.random_range(min..=max)
            } else {
                min
            };
            let left = deadline.saturating_duration_since(Instant::now());
            if !think.is_zero() {
                tokio::select! {
                    () = tokio::time::sleep(think.min(left)) => {}
                    _ = stop.changed() => break,
                }
            }
        }
        self
    }
}

/// The nearest-rank `p`th percentile (`p` in 1..=100) of `sorted` microseconds, in ms.
fn percentile(sorted: &[u32], p: usize) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p * sorted.len()).div_ceil(100);
    f64::from(sorted[rank.clamp(1, sorted.len()) - 1]) / 1000.0
}

/// The order routes appear in.
const ROUTES: [&str; 7] = [
    "home",
    "browse_product",
    "browse_category",
    "view_cart",
    "add_to_cart",
    "checkout",
    "remove_from_cart",
];

// Request counts stay far below 2^52, so counting in f64 loses nothing.
#[allow(clippy::cast_precision_loss)]
fn report(plan: &Plan, shoppers: Vec<Shopper>, elapsed: Duration) -> Report {
    let mut merged: BTreeMap<&'static str, RouteStats> = BTreeMap::new();
    let (mut orders, mut declined, mut cancelled, mut unsettled) = (0, 0, 0, 0);
    for shopper in shoppers {
        orders += shopper.checkouts.confirmed;
        declined += shopper.checkouts.declined;
        cancelled += shopper.checkouts.cancelled;
        unsettled += shopper.checkouts.unsettled;
        for (route, stats) in shopper.stats {
            let into = merged.entry(route).or_default();
            into.latencies_us.extend(stats.latencies_us);
            into.ok += stats.ok;
            into.refused += stats.refused;
            for (kind, count) in stats.errors {
                *into.errors.entry(kind).or_default() += count;
            }
        }
    }
    let seconds = elapsed.as_secs_f64().max(0.001);
    let routes: Vec<RouteReport> = ROUTES
        .iter()
        .filter_map(|route| {
            let mut stats = merged.remove(route)?;
            stats.latencies_us.sort_unstable();
            let requests = stats.latencies_us.len() as u64;
            Some(RouteReport {
                route,
                requests,
                requests_per_sec: requests as f64 / seconds,
                p50_ms: percentile(&stats.latencies_us, 50),
                p95_ms: percentile(&stats.latencies_us, 95),
                p99_ms: percentile(&stats.latencies_us, 99),
                ok: stats.ok,
                refused: stats.refused,
                errors: stats.errors,
            })
        })
        .collect();
    let requests = routes.iter().map(|r| r.requests).sum();
    Report {
        target: plan.gateway.clone(),
        users: plan.users,
        duration_secs: seconds,
        requests,
        requests_per_sec: requests as f64 / seconds,
        errors: routes.iter().map(|r| r.errors.values().sum::<u64>()).sum(),
        orders,
        declined,
        cancelled,
        unsettled,
        routes,
    }
}

/// Signs the shoppers in, runs the load until the plan's duration passes or `stop` turns true,
/// and reports. `live` is updated as answers come in.
pub async fn run(
    plan: Plan,
    live: Arc<Live>,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<Report> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(usize::try_from(plan.users).unwrap_or(usize::MAX))
        .no_proxy()
        .build()?;
    let catalog = Arc::new(catalog(&client, &plan.gateway).await?);
    let plan = Arc::new(plan);
    let run_id = uuid::Uuid::new_v4().simple().to_string();
    let mut setups = tokio::task::JoinSet::new();
    for n in 0..plan.users {
        let (client, plan) = (client.clone(), Arc::clone(&plan));
        let email = format!("shopper-{n}-{}@loadgen.shopctl.local", &run_id[..12]);
        setups.spawn(async move {
            let password = format!("load-{}", uuid::Uuid::new_v4().simple());
            let token = sign_in(&client, &plan.accounts, &email, &password).await?;
            anyhow::Ok((n, email, password, token))
        });
    }
    let mut signed_in = Vec::new();
    while let Some(done) = setups.join_next().await {
        signed_in.push(done??);
    }
    signed_in.sort_by_key(|(n, ..)| *n);
    let pacer = plan.rate.map(|rate| Arc::new(Pacer::new(rate)));
    let started = Instant::now();
    let deadline = started + plan.duration;
    let mut running = tokio::task::JoinSet::new();
    for (n, email, password, token) in signed_in {
        let shopper = Shopper {
            client: client.clone(),
            plan: Arc::clone(&plan),
            catalog: Arc::clone(&catalog),
            pacer: pacer.clone(),
            live: Arc::clone(&live),
            rng: StdRng::seed_from_u64(plan.seed.wrapping_add(u64::from(n))),
            email,
            password,
            token,
            stats: BTreeMap::new(),
            checkouts: Checkouts::default(),
        };
        running.spawn(shopper.shop(deadline, stop.clone()));
    }
    let mut shoppers = Vec::new();
    while let Some(done) = running.join_next().await {
        shoppers.push(done?);
    }
    let elapsed = started.elapsed();
    // Checkouts still running when the load ended are followed to their end (not timed).
    let until = Instant::now() + SETTLE_FOR;
    let mut following = tokio::task::JoinSet::new();
    for mut shopper in shoppers {
        following.spawn(async move {
            shopper.follow_pending(until).await;
            shopper
        });
    }
    let mut shoppers = Vec::new();
    while let Some(done) = following.join_next().await {
        shoppers.push(done?);
    }
    Ok(report(&plan, shoppers, elapsed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_follow_online_boutiques_weights() {
        let mut counts: BTreeMap<String, u32> = BTreeMap::new();
        for roll in 0..19 {
            *counts.entry(format!("{:?}", task_for(roll))).or_default() += 1;
        }
        assert_eq!(counts["BrowseProduct"], 10);
        assert_eq!(counts["ViewCart"], 3);
        assert_eq!(counts["AddToCart"], 2);
        assert_eq!(counts["BrowseCategory"], 2);
        assert_eq!(counts["Home"], 1);
        assert_eq!(counts["Checkout"], 1);
    }

    #[test]
    fn a_checkout_counts_as_an_order_only_when_confirmed() {
        let order =
            |status: &str, reason: &str| json!({"id": "o-1", "status": status, "reason": reason});
        let table = [
            (order("confirmed", ""), false, Settled::Confirmed),
            (order("shipped", ""), false, Settled::Confirmed),
            (
                order("pending", ""),
                false,
                Settled::Pending("o-1".to_owned()),
            ),
            (
                order("pending", ""),
                true,
                Settled::Pending("o-1".to_owned()),
            ),
            (
                order("cancelled", "payment declined: card_declined"),
                true,
                Settled::Declined,
            ),
            // The approved card declined (the processor failing) is not a test card's decline.
            (
                order("cancelled", "payment declined: processing_error"),
                false,
                Settled::Unexpected("cancelled"),
            ),
            (
                order(
                    "cancelled",
                    "the stock reservation expired before payment completed",
                ),
                true,
                Settled::Unexpected("cancelled"),
            ),
            (
                order("confirmed", ""),
                true,
                Settled::Unexpected("confirmed_declined_card"),
            ),
            (
                json!({"detail": "no order"}),
                false,
                Settled::Unexpected("unreadable_order"),
            ),
        ];
        for (order, declined_card, expected) in table {
            assert_eq!(
                settled(&order, declined_card),
                expected,
                "{order} ({declined_card})"
            );
        }
    }

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let sorted: Vec<u32> = (1..=100).map(|ms| ms * 1000).collect();
        assert!((percentile(&sorted, 50) - 50.0).abs() < f64::EPSILON);
        assert!((percentile(&sorted, 95) - 95.0).abs() < f64::EPSILON);
        assert!((percentile(&sorted, 99) - 99.0).abs() < f64::EPSILON);
        assert!((percentile(&[7000], 99) - 7.0).abs() < f64::EPSILON);
        assert!(percentile(&[], 50).abs() < f64::EPSILON);
    }

    #[tokio::test]
    async fn the_pacer_spaces_requests_to_the_rate() {
        let pacer = Pacer::new(100.0);
        let started = Instant::now();
        for _ in 0..21 {
            pacer.wait().await;
        }
        // 21 slots at 100/s: the last starts 200 ms after the first.
        assert!(
            started.elapsed() >= Duration::from_millis(195),
            "{:?}",
            started.elapsed()
        );
    }
}
