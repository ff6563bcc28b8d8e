//! `shopctl seed products|stock|users|orders|all`: the flags, a progress bar on a terminal and the
//! report; the generators (deterministic data at scale, 10k to 1M products, written straight into
//! the services' databases) are `platform::seed`.

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use super::{DataArgs, GlobalArgs};
use crate::{
    ExitStatus,
    platform::seed::{self as seeding, OrderHistory, Seeded},
};

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

/// A progress bar counting `len` `what` on a terminal; hidden otherwise.
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
        let source = common.data.apply(global.config_source());
        let (source, seed, bar) = (&source, common.seed, &|what: &str, len: u64| {
            bar(global, what, len)
        });
        let seeded = match &self {
            Self::Products(args) => vec![seeding::products(source, args.count, seed, bar).await?],
            Self::Stock(args) => vec![seeding::stock(source, args.count, seed, bar).await?],
            Self::Users(args) => vec![seeding::users(source, args.count, seed, bar).await?],
            Self::Orders(args) => {
                let history = OrderHistory {
                    count: args.count,
                    products: args.products,
                    users: args.users,
                };
                vec![seeding::orders(source, history, seed, bar).await?]
            }
            Self::All(args) => {
                let history = OrderHistory {
                    count: args.orders,
                    products: args.products,
                    users: args.users,
                };
                vec![
                    seeding::products(source, args.products, seed, bar).await?,
                    seeding::stock(source, args.products, seed, bar).await?,
                    seeding::users(source, args.users, seed, bar).await?,
                    seeding::orders(source, history, seed, bar).await?,
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
