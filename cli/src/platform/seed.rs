//! Generated data at scale, written straight into the services' databases through their
//! stores (`shopctl seed`): deterministic for a seed (SKUs, e-mails, ids and order contents), in
//! steps of [`STEP`] rows, each step a tick of the caller's progress bar. Generated accounts and
//! orders send no mail and run no saga: they are history.

use std::time::Instant;

use chrono::{DateTime, Duration as Days, Utc};
use indicatif::ProgressBar;
use rand::{Rng as _, SeedableRng as _, rngs::StdRng};
use serde::Serialize;
use shopctl_inventory::store::InventoryStore as _;
use shopctl_kit::settings::ConfigSource;
use shopctl_order::store::OrderStore as _;
use shopctl_product::{
    domain::seed,
    store::{ProductStore, SqlProductStore},
};
use shopctl_user::store::UserStore as _;
use uuid::Uuid;

/// Makes the progress bar of one generator: what it counts, and how many.
pub type Bar<'a> = dyn Fn(&str, u64) -> anyhow::Result<ProgressBar> + Sync + 'a;

/// One generator's outcome.
#[derive(Debug, Serialize)]
pub struct Seeded {
    /// What was generated (`products`, `stock`, `users`, `orders`).
    pub what: &'static str,
    /// Rows written now (already present ones are skipped).
    pub inserted: u64,
    /// Rows generated.
    pub generated: u64,
    /// How long it took.
    pub seconds: f64,
    /// Rows in the table afterwards, where that is cheap to know (products, stock).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
    /// The generated customers' password (users only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// Rows generated and written per step (one progress tick).
pub const STEP: usize = 10_000;

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

/// `count` generated products of `seed` (and the demo categories) into the catalog database
/// `source` names.
pub async fn products(
    source: &ConfigSource,
    count: u64,
    seed: u64,
    bar: &Bar<'_>,
) -> anyhow::Result<Seeded> {
    let settings = shopctl_product::load_settings(source)?;
    let db = shopctl_product::connect(&settings).await?;
    let store = SqlProductStore::new(db.clone());
    let started = Instant::now();
    let bar = bar("products", count)?;
    for category in seed::categories() {
        store.ensure_category(&category).await?;
    }
    let mut inserted = 0;
    let mut rows = seed::products(usize::try_from(count)?, seed).peekable();
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

/// Stock for the first `count` generated SKUs of `seed` into the inventory database `source`
/// names.
pub async fn stock(
    source: &ConfigSource,
    count: u64,
    seed: u64,
    bar: &Bar<'_>,
) -> anyhow::Result<Seeded> {
    let settings = shopctl_inventory::load_settings(source)?;
    let db = shopctl_inventory::connect(&settings).await?;
    let store = shopctl_inventory::store::SqlInventoryStore::new(db.clone());
    let started = Instant::now();
    let bar = bar("SKUs", count)?;
    let levels = shopctl_inventory::demo_levels(usize::try_from(count)?, seed);
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

/// `count` generated customers of `seed`, sharing one password, into the identity database
/// `source` names.
pub async fn users(
    source: &ConfigSource,
    count: u64,
    seed: u64,
    bar: &Bar<'_>,
) -> anyhow::Result<Seeded> {
    let settings = shopctl_user::load_settings(source)?;
    let db = shopctl_user::connect(&settings).await?;
    let store = shopctl_user::store(&settings, db.clone());
    let started = Instant::now();
    let password = customer_password(seed);
    // One argon2id hash (each takes tens of milliseconds) for every generated account.
    let hash = shopctl_user::domain::PasswordHasher::new().hash(
        &shopctl_user::domain::Password::parse("password", &password)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?,
    )?;
    let bar = bar("customers", count)?;
    let at = DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default();
    let mut inserted = 0;
    let mut n = 0;
    while n < count {
        let end = (n + STEP as u64).min(count);
        let chunk: Vec<_> = (n..end)
            .map(|i| {
                (
                    customer_id(seed, i),
                    shopctl_user::store::NewUser {
                        email: customer_email(seed, i),
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

/// What [`orders`] generates: how many past orders, over how many generated products and
/// customers.
#[derive(Debug, Clone, Copy)]
pub struct OrderHistory {
    /// Past orders.
    pub count: u64,
    /// Generated products they buy from.
    pub products: u64,
    /// Generated customers they belong to.
    pub users: u64,
}

/// Past orders of the generated customers of `seed` into the order database `source` names.
pub async fn orders(
    source: &ConfigSource,
    args: OrderHistory,
    seed: u64,
    bar: &Bar<'_>,
) -> anyhow::Result<Seeded> {
    use shopctl_order::{
        domain::{Line, Money, ShippingAddress},
        store::{NewOrder, PastOrder},
    };
    let settings = shopctl_order::load_settings(source)?;
    let db = shopctl_order::connect(&settings).await?;
    let store = shopctl_order::store::SqlOrderStore::new(
        db.clone(),
        shopctl_kit::events::Outbox::new(settings.service.subscribers.clone()),
    );
    let started = Instant::now();
    let catalog: Vec<_> = seed::products(usize::try_from(args.products)?, seed).collect();
    let bar = bar("orders", args.count)?;
    let mut rng = StdRng::seed_from_u64(seed ^ 0x0bde_5eed);
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
                    user_id: customer_id(seed, customer).to_string(),
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
                    idempotency_key: format!("seed-{seed}-{i}"),
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
