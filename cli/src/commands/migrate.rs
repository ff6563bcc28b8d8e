//! `shopctl migrate <service>|all`: apply pending migrations and report what is applied.

use clap::Args;
use serde::Serialize;

use super::{DataArgs, GlobalArgs};
use crate::ExitStatus;

/// Apply database migrations.
#[derive(Debug, Args)]
pub(crate) struct Migrate {
    /// `product`, `user`, `inventory`, `payment`, `order`, `notification` or `all`.
    #[arg(value_parser = ["product", "user", "inventory", "payment", "order", "notification", "all"])]
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
        if self.target == "all" {
            self.data.refuse_one_url_for_all("migrate <service>")?;
        }
        let source = self.data.apply(global.config_source());
        let mut report = Vec::new();
        for service in [
            shopctl_product::NAME,
            shopctl_user::NAME,
            shopctl_inventory::NAME,
            shopctl_payment::NAME,
            shopctl_order::NAME,
            shopctl_notification::NAME,
        ] {
            if self.target != "all" && self.target != service {
                continue;
            }
            let db = match service {
                "product" => {
                    shopctl_product::connect(&shopctl_product::load_settings(&source)?).await?
                }
                "order" => shopctl_order::connect(&shopctl_order::load_settings(&source)?).await?,
                "notification" => {
                    shopctl_notification::connect(&shopctl_notification::load_settings(&source)?)
                        .await?
                }
                "payment" => {
                    shopctl_payment::connect(&shopctl_payment::load_settings(&source)?).await?
                }
                "inventory" => {
                    shopctl_inventory::connect(&shopctl_inventory::load_settings(&source)?).await?
                }
                _ => shopctl_user::connect(&shopctl_user::load_settings(&source)?).await?,
            };
            let applied = db.applied_migrations().await?;
            db.close().await;
            report.push(Migrated {
                service,
                backend: db.backend().to_string(),
                applied: applied.iter().map(|(v, _)| *v).collect(),
            });
        }
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
