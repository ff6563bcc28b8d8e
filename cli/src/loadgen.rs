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

mod checkout;
mod pacer;
mod report;
mod shopper;

use std::{
    collections::BTreeMap,
    sync::{Arc, atomic::AtomicU64},
    time::{Duration, Instant},
};

use rand::{SeedableRng as _, rngs::StdRng};
use tokio::sync::watch;

pub use checkout::{APPROVED_CARD, DECLINED_CARD, SETTLE_FOR, Settled, settled};
pub use report::{Report, RouteReport};

use checkout::Checkouts;
use pacer::Pacer;
use shopper::{Shopper, catalog, sign_in};

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

/// Live counters, for the progress line.
#[derive(Debug, Default)]
pub struct Live {
    /// Requests answered so far.
    pub requests: AtomicU64,
    /// Errors so far.
    pub errors: AtomicU64,
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
    Ok(report::report(&plan, shoppers, elapsed))
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
}
