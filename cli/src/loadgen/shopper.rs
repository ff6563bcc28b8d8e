//! One virtual shopper: its account, the catalog it picks from, its tasks and timed requests
//! through the gateway, and what it counted.

use std::{
    collections::BTreeMap,
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use anyhow::Context as _;
use rand::{Rng as _, rngs::StdRng};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::watch;

use super::{
    APPROVED_CARD, DECLINED_CARD, Live, Plan, Settled, Task, checkout::Checkouts, pacer::Pacer,
    report::RouteStats, settled, task_for,
};

/// What the shoppers can pick from: products (id, sku), categories and search words.
#[derive(Debug, Clone, Default)]
pub(super) struct Catalog {
    pub(super) products: Vec<(String, String)>,
    pub(super) categories: Vec<String>,
    pub(super) words: Vec<String>,
}

/// Reads the catalog's first page, trying a few times: a shop under injected faults still
/// deserves a load run.
pub(super) async fn catalog(client: &reqwest::Client, gateway: &str) -> anyhow::Result<Catalog> {
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
pub(super) struct Shopper {
    pub(super) client: reqwest::Client,
    pub(super) plan: Arc<Plan>,
    pub(super) catalog: Arc<Catalog>,
    pub(super) pacer: Option<Arc<Pacer>>,
    pub(super) live: Arc<Live>,
    pub(super) rng: StdRng,
    pub(super) email: String,
    pub(super) password: String,
    pub(super) token: String,
    pub(super) stats: BTreeMap<&'static str, RouteStats>,
    pub(super) checkouts: Checkouts,
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
pub(super) async fn sign_in(
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
    /// Signs in again (the access token ran out); whether a new token was had.
    async fn sign_in_again(&mut self) -> bool {
        match sign_in(
            &self.client,
            &self.plan.accounts,
            &self.email,
            &self.password,
        )
        .await
        {
            Ok(token) => {
                self.token = token;
                true
            }
            Err(_) => false,
        }
    }

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
    pub(super) async fn follow_pending(&mut self, until: Instant) {
        let mut pending = std::mem::take(&mut self.checkouts.pending);
        while !pending.is_empty() {
            let mut still = Vec::new();
            for (id, declined_card) in pending {
                let url = format!("{}/api/orders/{id}", self.plan.gateway);
                let mut read = exchange(self.client.get(&url).bearer_auth(&self.token)).await;
                // The access token ran out while following: sign in again, once.
                if matches!(read, Ok((StatusCode::UNAUTHORIZED, _))) && self.sign_in_again().await {
                    read = exchange(self.client.get(&url).bearer_auth(&self.token)).await;
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
            self.sign_in_again().await;
        }
        answer.ok()
    }

    fn product(&mut self) -> (String, String) {
        let i = self.rng.random_range(0..self.catalog.products.len());
        self.catalog.products[i].clone()
    }

    /// Views a random product's page; returns its SKU.
    async fn browse_product(&mut self) -> String {
        let (id, sku) = self.product();
        self.call(
            "browse_product",
            Method::GET,
            &format!("/api/products/{id}"),
            None,
            false,
        )
        .await;
        sku
    }

    async fn add_to_cart(&mut self) {
        let sku = self.browse_product().await;
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
                self.browse_product().await;
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

    pub(super) async fn shop(mut self, deadline: Instant, mut stop: watch::Receiver<bool>) -> Self {
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
