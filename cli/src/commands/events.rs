//! `shopctl events dlq list|show|redrive`: the dead letters of a service's outbox, straight
//! against its database (no running service needed; a running relay picks redriven rows up on
//! its next pass).

use std::fmt::Write as _;

use clap::{Args, Subcommand};
use serde::Serialize;
use shopctl_kit::{
    db::{Db, StoreError},
    events,
};

use super::{DataArgs, GlobalArgs};
use crate::ExitStatus;

/// Inspect and replay events.
#[derive(Debug, Subcommand)]
pub(crate) enum Events {
    /// Dead letters: deliveries the relay gave up on.
    #[command(subcommand)]
    Dlq(Dlq),
}

/// Dead-letter commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Dlq {
    /// List dead letters, oldest first.
    List(List),
    /// Show one dead letter with its payload.
    Show(Show),
    /// Move dead letters back into the outbox for another round of attempts.
    Redrive(Redrive),
}

/// Which service's outbox.
#[derive(Debug, Args)]
pub(crate) struct Target {
    /// The service whose outbox to read (order, user, notification, product, inventory).
    #[arg(long, value_parser = ["order", "user", "notification", "product", "inventory"])]
    service: String,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Debug, Args)]
pub(crate) struct List {
    #[command(flatten)]
    target: Target,
    /// Most rows to show.
    #[arg(long, default_value_t = 50)]
    limit: i64,
}

#[derive(Debug, Args)]
pub(crate) struct Show {
    /// Dead letter id (from `list`).
    id: String,
    #[command(flatten)]
    target: Target,
}

#[derive(Debug, Args)]
pub(crate) struct Redrive {
    /// Dead letter id (from `list`); or `--all`.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    id: Option<String>,
    /// Redrive every dead letter.
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    target: Target,
}

impl Target {
    async fn open(&self, global: &GlobalArgs) -> anyhow::Result<Db> {
        let source = self.data.apply(global.config_source());
        let db = match self.service.as_str() {
            "product" => {
                shopctl_product::connect(&shopctl_product::load_settings(&source)?).await?
            }
            "user" => shopctl_user::connect(&shopctl_user::load_settings(&source)?).await?,
            "order" => shopctl_order::connect(&shopctl_order::load_settings(&source)?).await?,
            "notification" => {
                shopctl_notification::connect(&shopctl_notification::load_settings(&source)?)
                    .await?
            }
            _ => shopctl_inventory::connect(&shopctl_inventory::load_settings(&source)?).await?,
        };
        events::install(&db).await?;
        Ok(db)
    }
}

#[derive(Debug, Serialize)]
struct Redriven {
    service: String,
    redriven: u64,
}

impl Events {
    pub(crate) async fn run(self, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        let Self::Dlq(command) = self;
        let printer = global.printer();
        match command {
            Dlq::List(list) => {
                let db = list.target.open(global).await?;
                let rows = events::dead_letters(&db, list.limit.clamp(1, 10_000)).await?;
                db.close().await;
                let text = if rows.is_empty() {
                    format!("{}: no dead letters", list.target.service)
                } else {
                    let mut text = format!(
                        "{:<36}  {:<20}  {:>8}  {:<25}  LAST ERROR",
                        "ID", "TOPIC", "ATTEMPTS", "FAILED AT"
                    );
                    for row in &rows {
                        let _ = write!(
                            text,
                            "\n{:<36}  {:<20}  {:>8}  {:<25}  {}",
                            row.id,
                            row.topic,
                            row.attempts,
                            row.failed_at.to_rfc3339(),
                            row.last_error.as_deref().unwrap_or("")
                        );
                    }
                    text
                };
                printer.result(&text, &rows)?;
            }
            Dlq::Show(show) => {
                let db = show.target.open(global).await?;
                let found = events::dead_letter(&db, &show.id).await;
                db.close().await;
                let row = match found {
                    Ok(row) => row,
                    Err(StoreError::NotFound) => anyhow::bail!(
                        "no dead letter {} in the {} outbox; `shopctl events dlq list --service {}` shows the ids",
                        show.id,
                        show.target.service,
                        show.target.service
                    ),
                    Err(other) => return Err(other.into()),
                };
                let text = format!(
                    "id:          {}\nevent:       {}\ntopic:       {}\ndestination: {}\nattempts:    {}\nfailed at:   {}\nlast error:  {}\npayload:     {}",
                    row.id,
                    row.event_id,
                    row.topic,
                    row.destination,
                    row.attempts,
                    row.failed_at.to_rfc3339(),
                    row.last_error.as_deref().unwrap_or(""),
                    row.payload
                );
                printer.result(&text, &row)?;
            }
            Dlq::Redrive(redrive) => {
                let db = redrive.target.open(global).await?;
                let moved = events::redrive(&db, redrive.id.as_deref()).await?;
                db.close().await;
                if let (Some(id), 0) = (&redrive.id, moved) {
                    anyhow::bail!(
                        "no dead letter {id} in the {} outbox; `shopctl events dlq list --service {}` shows the ids",
                        redrive.target.service,
                        redrive.target.service
                    );
                }
                let report = Redriven {
                    service: redrive.target.service.clone(),
                    redriven: moved,
                };
                printer.result(
                    &format!(
                        "{}: {moved} dead letter(s) back in the outbox",
                        report.service
                    ),
                    &report,
                )?;
            }
        }
        Ok(ExitStatus::Success)
    }
}
