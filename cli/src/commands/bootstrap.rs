//! `shopctl bootstrap`: set up an environment, idempotently (`platform::bootstrap` does it).
//! Checks the prerequisites, writes `shopctl.toml` and `.env` from `templates/`, creates the
//! databases, runs the migrations, makes the first signing key and seeds the demo catalog (dev
//! only). What exists is kept. `--check` reports the same steps without changing anything.

use std::path::PathBuf;

use clap::Args;

use super::GlobalArgs;
use crate::{
    ExitStatus,
    platform::bootstrap::{self, Environment},
};

/// Set up an environment (idempotent).
#[derive(Debug, Args)]
#[allow(clippy::struct_excessive_bools)]
pub(crate) struct Bootstrap {
    /// Report what is done and what is missing, changing nothing (exit 1 when anything is
    /// missing or broken).
    #[arg(long)]
    check: bool,
    /// Directory for SQLite files, audit logs and keys.
    #[arg(
        long,
        env = "SHOPCTL_DATA_DIR",
        value_name = "DIR",
        default_value = ".shopctl"
    )]
    data_dir: PathBuf,
    /// Keep the data in this PostgreSQL server (a database per service, named after the URL's
    /// database) instead of SQLite files.
    #[arg(long, value_name = "URL")]
    postgres: Option<String>,
    /// Which environment: `dev` seeds the demo catalog, `production` never does.
    #[arg(long, value_enum, default_value_t = Environment::Dev)]
    environment: Environment,
    /// Port of the gateway written to `shopctl.toml` (the services take the next seven).
    #[arg(long, default_value_t = 8080, value_parser = clap::value_parser!(u16).range(1..=65_000))]
    base_port: u16,
    /// Where the secrets go.
    #[arg(long, default_value = ".env", value_name = "FILE")]
    env_file: PathBuf,
    /// Also require `kubectl` and check the cluster: reachable, the namespace ours or
    /// creatable, every permission a deploy needs, metrics-server, the Prometheus Operator.
    #[arg(long)]
    kubernetes: bool,
    /// The Kubernetes context to check (default: the current one).
    #[arg(long, value_name = "NAME", requires = "kubernetes")]
    context: Option<String>,
    /// The namespace the shop is deployed into.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "shopctl",
        requires = "kubernetes"
    )]
    namespace: String,
    /// Also require `velero` (for backups).
    #[arg(long)]
    backups: bool,
}

impl Bootstrap {
    pub(crate) async fn run(self, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        let plan = bootstrap::Bootstrap {
            check: self.check,
            data_dir: self.data_dir,
            postgres: self.postgres,
            environment: self.environment,
            base_port: self.base_port,
            env_file: self.env_file,
            kubernetes: self.kubernetes,
            context: self.context,
            namespace: self.namespace,
            backups: self.backups,
            config: global
                .config
                .clone()
                .unwrap_or_else(|| PathBuf::from(shopctl_kit::settings::DEFAULT_CONFIG_FILE)),
        };
        let report = plan.run(global.printer()).await?;
        global
            .printer()
            .result(&bootstrap::text(&report), &report)?;
        Ok(if report.ok {
            ExitStatus::Success
        } else {
            ExitStatus::Failure
        })
    }
}
