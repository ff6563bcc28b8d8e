//! `shopctl seed products|stock|users|orders|all`: deterministic generated data at scale (10k to
//! 1M products) written straight into the services' databases, with a progress bar on a
//! terminal. The same `--seed` gives the same data: SKUs, e-mails, ids and order contents.
//! Generated accounts and orders send no mail and run no saga: they are history.

use std::time::Instant;

use chrono::{DateTime, Duration as Days, Utc};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use rand::{Rng as _, SeedableRng as _, rngs::StdRng};
use serde::Serialize;
use shopctl_inventory::store::InventoryStore as _;
use shopctl_order::store::OrderStore as _;
use shopctl_product::{
    domain::seed,
    store::{ProductStore, SqlProductStore},
};
use shopctl_user::store::UserStore as _;
use uuid::Uuid;

use super::{DataArgs, GlobalArgs};
use crate::ExitStatus;

/// Load generated data.
#[derive(Debug, Subcommand)]
pub(crate) enum Seed {
    /// Generate products (with the demo categories) into the catalog database.
    Products(SeedProducts),
    /// Give the generated catalog's SKUs stock in the inventory database.
    Stock(SeedStock),
    /// Generate customer accounts (one shared password, printed) in the identity database.
    Users(SeedUsers),
    /// Generate delivered orders of the generated customers in the order database.
    Orders(SeedOrders),
    /// All of it: products, stock, users and their past orders.
    All(SeedAll),
}

/// What every generator shares.
#[derive(Debug, Clone, Args)]
pub(crate) struct Common {
    /// Random seed: the same seed gives the same data.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Debug, Args)]
pub(crate) struct SeedProducts {
    /// How many products.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=5_000_000))]
    count: u64,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Args)]
pub(crate) struct SeedStock {
    /// How many products of the generated catalog get stock.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=5_000_000))]
    count: u64,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Args)]
pub(crate) struct SeedUsers {
    /// How many customer accounts.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=5_000_000))]
    count: u64,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Args)]
pub(crate) struct SeedOrders {
    /// How many orders.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=5_000_000))]
    count: u64,
    /// Products of the generated catalog the orders choose from.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=5_000_000))]
    products: u64,
    /// Generated customers the orders belong to.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=5_000_000))]
    users: u64,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Args)]
pub(crate) struct SeedAll {
    /// Products (each with stock).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=5_000_000))]
    products: u64,
    /// Customer accounts.
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..=5_000_000))]
    users: u64,
    /// Past orders.
    #[arg(long, default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(1..=5_000_000))]
    orders: u64,
    #[command(flatten)]
    common: Common,
}

/// One generator's outcome.
#[derive(Debug, Serialize)]
struct Seeded {
    what: &'static str,
    /// Rows written now (already present ones are skipped).
    inserted: u64,
    /// Rows generated.
    generated: u64,
    seconds: f64,
    /// Rows in the table afterwards, where that is cheap to know (products, stock).
    #[serde(skip_serializing_if = "Option::is_none")]
    total: Option<i64>,
    /// The generated customers' password (users only).
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<String>,
}

/// Rows generated and written per step (one progress tick).
const STEP: usize = 10_000;

fn bar(global: &GlobalArgs, what: &str, len: u64) -> anyhow::Result<ProgressBar> {
    if !global.printer().progress() {
        return Ok(ProgressBar::hidden());
    }
    let bar = ProgressBar::new(len);
    bar.set_style(ProgressStyle::with_template(&format!(
        "{{bar:40}} {{pos}}/{{len}} {what} ({{per_sec}}, {{eta}} left)"
    ))?);
    Ok(bar)
}

/// The id of generated customer `n` of `seed`: the same in the identity and order databases.
fn customer_id(seed: u64, n: u64) -> Uuid {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed_c057 ^ n.rotate_left(17));
    uuid::Builder::from_random_bytes(rng.random()).into_uuid()
}

/// The e-mail of generated customer `n` of `seed`.
fn customer_email(seed: u64, n: u64) -> String {
    format!("shopper-{seed}-{n:07}@seed.shopctl.local")
}

/// The password every generated customer of `seed` signs in with.
fn customer_password(seed: u64) -> String {
    format!("seeded-shopper-{seed}")
}

async fn products(global: &GlobalArgs, count: u64, common: &Common) -> anyhow::Result<Seeded> {
    let settings = shopctl_product::load_settings(&common.data.apply(global.config_source()))?;
    let db = shopctl_product::connect(&settings).await?;
    let store = SqlProductStore::new(db.clone());
    let started = Instant::now();
    let bar = bar(global, "products", count)?;
    for category in seed::categories() {
        store.ensure_category(&category).await?;
    }
    let mut inserted = 0;
    let mut rows = seed::products(usize::try_from(count)?, common.seed).peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(STEP).collect();
        inserted += store.insert_products(&chunk).await?;
        bar.inc(u64::try_from(chunk.len())?);
    }
    bar.finish_and_clear();
    store.analyze().await?;
    let total = store.count_products().await?;
    db.close().await;
    Ok(Seeded {
        what: "products",
        inserted,
        generated: count,
        seconds: started.elapsed().as_secs_f64(),
        total: Some(total),
        password: None,
    })
}

async fn stock(global: &GlobalArgs, count: u64, common: &Common) -> anyhow::Result<Seeded> {
    let settings = shopctl_inventory::load_settings(&common.data.apply(global.config_source()))?;
    let db = shopctl_inventory::connect(&settings).await?;
    let store = shopctl_inventory::store::SqlInventoryStore::new(db.clone());
    let started = Instant::now();
    let bar = bar(global, "SKUs", count)?;
    let levels = shopctl_inventory::demo_levels(usize::try_from(count)?, common.seed);
    let mut inserted = 0;
    for chunk in levels.chunks(STEP) {
        inserted += store.seed(chunk, Utc::now()).await?;
        bar.inc(u64::try_from(chunk.len())?);
    }
    bar.finish_and_clear();
    let total = store.gauges(i64::MAX).await?.0;
    db.close().await;
    Ok(Seeded {
        what: "stock",
        inserted,
        generated: count,
        seconds: started.elapsed().as_secs_f64(),
        total: Some(total),
        password: None,
    })
}

async fn users(global: &GlobalArgs, count: u64, common: &Common) -> anyhow::Result<Seeded> {
    let settings = shopctl_user::load_settings(&common.data.apply(global.config_source()))?;
    let db = shopctl_user::connect(&settings).await?;
    let store = shopctl_user::store(&settings, db.clone());
    let started = Instant::now();
    let password = customer_password(common.seed);
    // One argon2id hash (each takes tens of milliseconds) for every generated account.
    let hash = shopctl_user::domain::PasswordHasher::new().hash(
        &shopctl_user::domain::Password::parse("password", &password)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?,
    )?;
    let bar = bar(global, "customers", count)?;
    let at = DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default();
    let mut inserted = 0;
    let mut n = 0;
    while n < count {
        let end = (n + STEP as u64).min(count);
        let chunk: Vec<_> = (n..end)
            .map(|i| {
                (
                    customer_id(common.seed, i),
                    shopctl_user::store::NewUser {
                        email: customer_email(common.seed, i),
                        name: format!("Shopper {i}"),
                        password_hash: hash.clone(),
                        roles: vec![shopctl_kit::auth::Role::Customer],
                    },
                )
            })
            .collect();
        inserted += store.import_users(&chunk, at).await?;
        bar.inc(end - n);
        n = end;
    }
    bar.finish_and_clear();
    db.close().await;
    Ok(Seeded {
        what: "users",
        inserted,
        generated: count,
        seconds: started.elapsed().as_secs_f64(),
        total: None,
        password: Some(password),
    })
}

async fn orders(global: &GlobalArgs, args: &SeedOrders) -> anyhow::Result<Seeded> {
    use shopctl_order::{
        domain::{Line, Money, ShippingAddress},
        store::{NewOrder, PastOrder},
    };
    let common = &args.common;
    let settings = shopctl_order::load_settings(&common.data.apply(global.config_source()))?;
    let db = shopctl_order::connect(&settings).await?;
    let store = shopctl_order::store::SqlOrderStore::new(
        db.clone(),
        shopctl_kit::events::Outbox::new(settings.service.subscribers.clone()),
    );
    let started = Instant::now();
    let catalog: Vec<_> = seed::products(usize::try_from(args.products)?, common.seed).collect();
    let bar = bar(global, "orders", args.count)?;
    let mut rng = StdRng::seed_from_u64(common.seed ^ 0x0bde_5eed);
    let epoch = DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default();
    let mut inserted = 0;
    let mut n = 0;
    while n < args.count {
        let end = (n + STEP as u64).min(args.count);
        let mut chunk = Vec::new();
        for i in n..end {
            let customer = rng.random_range(0..args.users);
            let mut lines: Vec<Line> = Vec::new();
            for _ in 0..rng.random_range(1..=3) {
                let row = &catalog[rng.random_range(0..catalog.len())].product;
                let sku = row.sku.as_ref().to_owned();
                if lines.iter().any(|l| l.sku == sku) {
                    continue;
                }
                lines.push(Line {
                    sku,
                    name: row.name.as_ref().to_owned(),
                    quantity: rng.random_range(1..=3),
                    unit_price: Money {
                        amount: row.price.amount,
                        currency: row.price.currency.clone(),
                    },
                });
            }
            let currency = lines[0].unit_price.currency.clone();
            let subtotal: i64 = lines.iter().map(|l| l.unit_price.amount * l.quantity).sum();
            let tax = subtotal * settings.service.tax_rate_bps / 10_000;
            let shipping = settings.service.shipping_fee;
            chunk.push(PastOrder {
                order: NewOrder {
                    id: uuid::Builder::from_random_bytes(rng.random()).into_uuid(),
                    user_id: customer_id(common.seed, customer).to_string(),
                    lines,
                    subtotal,
                    tax,
                    shipping,
                    total: subtotal + tax + shipping,
                    currency,
                    address: ShippingAddress {
                        name: format!("Shopper {customer}"),
                        line1: format!("{} Seed Street", 1 + customer % 999),
                        line2: None,
                        city: "Springfield".to_owned(),
                        postal_code: format!("{:05}", customer % 100_000),
                        country: "US".to_owned(),
                    },
                    idempotency_key: format!("seed-{}-{i}", common.seed),
                    fingerprint: "seeded".to_owned(),
                },
                placed_at: epoch + Days::minutes(rng.random_range(0..300 * 24 * 60)),
            });
        }
        inserted += store.import_orders(&chunk).await?;
        bar.inc(end - n);
        n = end;
    }
    bar.finish_and_clear();
    db.close().await;
    Ok(Seeded {
        what: "orders",
        inserted,
        generated: args.count,
        seconds: started.elapsed().as_secs_f64(),
        total: None,
        password: None,
    })
}

fn describe(seeded: &[Seeded]) -> String {
    let mut lines: Vec<String> = seeded
        .iter()
        .map(|s| {
            format!(
                "seeded {} {} in {:.1}s ({} already there)",
                s.inserted,
                s.what,
                s.seconds,
                s.generated - s.inserted.min(s.generated)
            )
        })
        .collect();
    if let Some(password) = seeded.iter().find_map(|s| s.password.as_deref()) {
        lines.push(format!(
            "generated customers sign in as shopper-<seed>-<n>@seed.shopctl.local with password {password}"
        ));
    }
    lines.join("\n")
}

/// Tightens an existing data directory to owner-only before anything is written into it (with a
/// warning); a new one is created owner-only with the first SQLite database (kit's `db`).
fn secure_data_dir(global: &GlobalArgs, common: &Common) -> anyhow::Result<()> {
    let settings = shopctl_product::load_settings(&common.data.apply(global.config_source()))?;
    if settings.common.data_dir.is_dir() {
        crate::platform::private_data_dir(&settings.common.data_dir, global.printer())?;
    }
    Ok(())
}

impl Seed {
    pub(crate) async fn run(self, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        let common = match &self {
            Self::Products(SeedProducts { common, .. })
            | Self::Stock(SeedStock { common, .. })
            | Self::Users(SeedUsers { common, .. })
            | Self::Orders(SeedOrders { common, .. })
            | Self::All(SeedAll { common, .. }) => common,
        };
        if let Self::All(_) = &self {
            common
                .data
                .refuse_one_url_for_all("seed products|stock|users|orders")?;
        }
        secure_data_dir(global, common)?;
        let seeded = match &self {
            Self::Products(args) => vec![products(global, args.count, &args.common).await?],
            Self::Stock(args) => vec![stock(global, args.count, &args.common).await?],
            Self::Users(args) => vec![users(global, args.count, &args.common).await?],
            Self::Orders(args) => vec![orders(global, args).await?],
            Self::All(args) => {
                let common = &args.common;
                vec![
                    products(global, args.products, common).await?,
                    stock(global, args.products, common).await?,
                    users(global, args.users, common).await?,
                    orders(
                        global,
                        &SeedOrders {
                            count: args.orders,
                            products: args.products,
                            users: args.users,
                            common: common.clone(),
                        },
                    )
                    .await?,
                ]
            }
        };
        let text = describe(&seeded);
        if let [one] = seeded.as_slice() {
            global.printer().result(&text, one)?;
        } else {
            global.printer().result(&text, &seeded)?;
        }
        Ok(ExitStatus::Success)
    }
}
