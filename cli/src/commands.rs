//! The command tree. Each subcommand is one file in `commands/`.

mod backup;
mod bootstrap;
mod completions;
mod dash;
mod deploy;
mod diff;
mod events;
mod fault;
mod guard;
mod history;
mod loadgen;
mod logs;
mod migrate;
mod render;
mod rollback;
mod secrets;
mod seed;
mod serve;
mod status;
mod up;
mod user;
mod version;
mod wait;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use shopctl_kit::settings::ConfigSource;

use crate::{
    ExitStatus,
    printer::{OutputFormat, Printer},
};

/// Run and operate the shopctl e-commerce platform.
#[derive(Debug, Parser)]
#[command(name = "shopctl", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    global: GlobalArgs,
}

/// Flags every command accepts.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Configuration file (default: ./shopctl.toml when it exists).
    #[arg(long, global = true, env = "SHOPCTL_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Print less.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more (repeat for more detail).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

impl GlobalArgs {
    /// The printer for these flags.
    pub fn printer(&self) -> Printer {
        Printer {
            format: self.output,
            quiet: self.quiet,
        }
    }

    /// Where settings come from.
    pub fn config_source(&self) -> ConfigSource {
        ConfigSource {
            file: self.config.clone(),
            overrides: Vec::new(),
        }
    }

    /// Log filter implied by -q/-v.
    pub fn log_filter(&self) -> Option<&'static str> {
        match (self.quiet, self.verbose) {
            (true, _) => Some("error"),
            (_, 0) => None,
            (_, 1) => Some("debug"),
            _ => Some("trace"),
        }
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Set up an environment: prerequisites, configuration, secrets, databases, keys, seed.
    Bootstrap(bootstrap::Bootstrap),
    /// Run the whole shop on this machine (every service, supervised).
    Up(up::Up),
    /// Wait until every service of the local shop is ready (for CI).
    Wait(wait::Wait),
    /// Show each service's health, version, uptime, request rate and error rate.
    Status(status::Status),
    /// Watch the shop live in the terminal (or print it once for scripts: --once).
    Dash(dash::Dash),
    /// Drive simulated shoppers at a running shop and report latency per route.
    Loadgen(loadgen::Loadgen),
    /// Search and follow the services' logs; `--trace ID` shows one request's path.
    Logs(logs::Logs),
    /// Inject latency, errors or crashes into a running service, and clear them.
    #[command(subcommand)]
    Fault(fault::Fault),
    /// Deploy the platform to Kubernetes: apply in order, wait, record, roll back on failure.
    Deploy(deploy::Deploy),
    /// Show what a deploy would change (a server-side dry run against what is live).
    Diff(diff::Diff),
    /// List the deploys of the shop in a namespace (the cluster keeps the history).
    History(history::History),
    /// Apply an earlier revision of the shop again.
    Rollback(rollback::Rollback),
    /// Render the platform's Kubernetes manifests (plain, deterministic YAML).
    Render(render::Render),
    /// Create or update the Secrets of a Kubernetes deployment (values never printed).
    #[command(subcommand)]
    Secrets(secrets::Secrets),
    /// Run one service in the foreground.
    Serve(serve::Serve),
    /// Back up every database at one consistency point; list, describe, verify, prune backups.
    #[command(subcommand)]
    Backup(backup::Backup),
    /// Put a backup back in place of the shop's data (the shop stopped).
    Restore(backup::Restore),
    /// Apply database migrations of one service or all.
    Migrate(migrate::Migrate),
    /// Load generated data.
    #[command(subcommand)]
    Seed(seed::Seed),
    /// Manage accounts and signing keys of the identity service.
    #[command(subcommand)]
    User(user::User),
    /// Inspect and redrive dead-lettered events.
    #[command(subcommand)]
    Events(events::Events),
    /// Print version and build information.
    Version(version::Version),
    /// Print a shell completion script.
    Completions(completions::Completions),
    /// Run a program on `up`'s lifeline (how `up --monitor` starts Prometheus and Alertmanager).
    #[command(hide = true)]
    Guard(guard::Guard),
}

impl Cli {
    /// Runs the chosen command.
    pub async fn run(self) -> anyhow::Result<ExitStatus> {
        let global = &self.global;
        match self.command {
            Command::Bootstrap(cmd) => cmd.run(global).await,
            Command::Up(cmd) => cmd.run(global).await,
            Command::Backup(cmd) => cmd.run(global).await,
            Command::Restore(cmd) => cmd.run(global).await,
            Command::Wait(cmd) => cmd.run(global).await,
            Command::Status(cmd) => cmd.run(global).await,
            Command::Dash(cmd) => cmd.run(global).await,
            Command::Fault(cmd) => cmd.run(global).await,
            Command::Loadgen(cmd) => cmd.run(global).await,
            Command::Logs(cmd) => cmd.run(global).await,
            Command::Deploy(cmd) => cmd.run(global).await,
            Command::Diff(cmd) => cmd.run(global).await,
            Command::History(cmd) => cmd.run(global).await,
            Command::Rollback(cmd) => cmd.run(global).await,
            Command::Render(cmd) => cmd.run(global),
            Command::Secrets(cmd) => cmd.run(global).await,
            Command::Serve(cmd) => cmd.run(global).await,
            Command::Migrate(cmd) => cmd.run(global).await,
            Command::Seed(cmd) => cmd.run(global).await,
            Command::User(cmd) => cmd.run(global).await,
            Command::Events(cmd) => cmd.run(global).await,
            Command::Version(cmd) => cmd.run(global),
            Command::Completions(cmd) => cmd.run(global),
            Command::Guard(cmd) => cmd.run(global).await,
        }
    }
}

/// The services `shopctl` can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ServiceName {
    /// API gateway: routing, edge auth, rate limits (port 8080).
    Gateway,
    /// Product catalog (port 8083).
    Product,
    /// Identity: accounts, tokens, roles (port 8082).
    User,
    /// Inventory: stock and reservations (port 8085).
    Inventory,
    /// Payments: a simulated card processor with payment intents (port 8086).
    Payment,
    /// Orders: carts, the checkout saga, order history (port 8084).
    Order,
    /// Notifications: transactional e-mail (port 8087).
    Notification,
    /// Storefront: the server-rendered web shop (port 8081, at `/` through the gateway).
    Frontend,
}

impl ServiceName {
    /// The service's name: its configuration section, log and metrics label.
    pub fn name(self) -> &'static str {
        match self {
            Self::Gateway => "gateway",
            Self::Product => "product",
            Self::User => "user",
            Self::Inventory => "inventory",
            Self::Payment => "payment",
            Self::Order => "order",
            Self::Notification => "notification",
            Self::Frontend => "frontend",
        }
    }
}

/// Flags that locate a service's data, shared by `serve`, `migrate` and `seed`.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// Directory for the embedded SQLite databases.
    #[arg(long, env = "SHOPCTL_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL (`sqlite://…` or `postgres://…`), overriding the data directory.
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
}

impl DataArgs {
    /// Refuses `--database-url` for a command that touches every service (`… all`): the URL
    /// names one database, and each service owns its own. `per_service` is the command to use
    /// instead, once per database.
    pub fn refuse_one_url_for_all(&self, per_service: &str) -> anyhow::Result<()> {
        if self.database_url.is_some() {
            anyhow::bail!(
                "--database-url names one database, and each service owns its own: use `{per_service} --database-url URL` once per service's database, or drop --database-url to use the data directory"
            );
        }
        Ok(())
    }

    /// Adds these flags to a settings source.
    pub fn apply(&self, mut source: ConfigSource) -> ConfigSource {
        if let Some(dir) = &self.data_dir {
            source = source.with("data_dir", dir.display().to_string());
        }
        if let Some(url) = &self.database_url {
            source = source.with("database_url", url.clone());
        }
        source
    }
}
