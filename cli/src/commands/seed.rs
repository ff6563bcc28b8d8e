//! `shopctl seed products --count N --seed S`: load a deterministic generated catalog.

use std::time::Instant;

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use shopctl_product::{
    seed,
    store::{ProductStore, SqlProductStore},
};

use super::{DataArgs, GlobalArgs};
use crate::ExitStatus;

/// Load generated data.
#[derive(Debug, Subcommand)]
pub(crate) enum Seed {
    /// Generate products (with the demo categories) into the catalog database.
    Products(SeedProducts),
}

#[derive(Debug, Args)]
pub(crate) struct SeedProducts {
    /// How many products.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=5_000_000))]
    count: u64,
    /// Random seed: the same seed gives the same catalog.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Debug, Serialize)]
struct Seeded {
    inserted: u64,
    total: i64,
    seconds: f64,
}

/// Products generated and inserted per step (one progress tick).
const STEP: usize = 10_000;

impl Seed {
    pub(crate) async fn run(self, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        let Self::Products(args) = self;
        let source = args.data.apply(global.config_source());
        let settings = shopctl_product::load_settings(&source)?;
        let db = shopctl_product::connect(&settings).await?;
        let store = SqlProductStore::new(db.clone());
        let count = usize::try_from(args.count)?;
        let started = Instant::now();
        let bar = if global.printer().progress() {
            let bar = ProgressBar::new(args.count);
            bar.set_style(ProgressStyle::with_template(
                "{bar:40} {pos}/{len} products ({per_sec}, {eta} left)",
            )?);
            bar
        } else {
            ProgressBar::hidden()
        };
        for category in seed::categories() {
            store.ensure_category(&category).await?;
        }
        let existing = store.count_products().await?;
        let mut inserted = 0;
        let mut rows = seed::products(count, args.seed).peekable();
        while rows.peek().is_some() {
            let chunk: Vec<_> = rows.by_ref().take(STEP).collect();
            inserted += store
                .insert_products(&chunk)
                .await
                .map_err(|err| match err {
                    shopctl_kit::db::StoreError::UniqueViolation { .. } => anyhow::anyhow!(
                        "the catalog already holds products from seed {} ({existing} products): \
                     use another --seed or an empty --data-dir",
                        args.seed
                    ),
                    other => other.into(),
                })?;
            bar.inc(u64::try_from(chunk.len())?);
        }
        bar.finish_and_clear();
        store.analyze().await?;
        let report = Seeded {
            inserted,
            total: store.count_products().await?,
            seconds: started.elapsed().as_secs_f64(),
        };
        db.close().await;
        let text = format!(
            "seeded {} products in {:.1}s ({} in the catalog)",
            report.inserted, report.seconds, report.total
        );
        global.printer().result(&text, &report)?;
        Ok(ExitStatus::Success)
    }
}
