//! `shopctl migrate <service>|all`: apply pending migrations and report what is applied.

use clap::Args;
use serde::Serialize;

use super::{DataArgs, GlobalArgs};
use crate::ExitStatus;

/// Apply database migrations.
#[derive(Debug, Args)]
pub(crate) struct Migrate {
    /// `product` or `all`.
    #[arg(value_parser = ["product", "all"])]
    target: String,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Debug, Serialize)]
struct Migrated {
    service: &'static str,
    backend: String,
    applied: Vec<i64>,
}

impl Migrate {
    pub(crate) async fn run(self, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        let source = self.data.apply(global.config_source());
        // Every service that has a database is listed here as it lands.
        let settings = shopctl_product::load_settings(&source)?;
        let db = shopctl_product::connect(&settings).await?;
        let applied = db.applied_migrations().await?;
        db.close().await;
        let report = vec![Migrated {
            service: shopctl_product::NAME,
            backend: db.backend().to_string(),
            applied: applied.iter().map(|(v, _)| *v).collect(),
        }];
        let text = report
            .iter()
            .map(|m| {
                format!(
                    "{}: {} migration(s) applied on {}",
                    m.service,
                    m.applied.len(),
                    m.backend
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        global.printer().result(&text, &report)?;
        Ok(ExitStatus::Success)
    }
}
