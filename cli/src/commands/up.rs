//! `shopctl up`: the whole shop on this machine. Bootstraps the data directory on first run
//! (platform secrets, a generated configuration, demo accounts), starts every service as a
//! supervised child process (`shopctl serve <svc>`), restarts a child that dies with backoff,
//! prints where everything is, and on Ctrl-C or SIGTERM stops the children cleanly. Each child
//! holds a lifeline to it (`platform::lifeline`), so a child also stops when `up` is killed
//! outright (SIGKILL) or crashes: none is left behind holding its port. What it prepares on the
//! machine is `platform::local`; the children are `platform::supervisor`'s.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use clap::Args;
use serde::Serialize;
use serde_json::json;
use tokio::sync::watch;

use super::GlobalArgs;
use crate::ExitStatus;
use crate::platform::{
    SERVICES,
    local::{demo_accounts, platform_config, postgres_databases, secrets, wait_ready},
    supervisor,
    target::ready,
};

/// Run the whole shop locally.
#[derive(Debug, Args)]
pub(crate) struct Up {
    /// Directory for databases, keys, logs and the generated configuration.
    #[arg(
        long,
        env = "SHOPCTL_DATA_DIR",
        value_name = "DIR",
        default_value = ".shopctl"
    )]
    data_dir: PathBuf,
    /// Port of the gateway; the services take the next seven (8081-8087 by default).
    #[arg(long, default_value_t = 8080, value_parser = clap::value_parser!(u16).range(1..=65_000))]
    base_port: u16,
    /// Run every service inside this one process instead of as supervised children (less
    /// memory; a crashed service is restarted as a task, but `fault inject --kill` ends all).
    #[arg(long)]
    in_process: bool,
    /// Keep the data in this PostgreSQL server instead of SQLite files: one database per
    /// service, named after the URL's database (`postgres://postgres@127.0.0.1/shop` makes
    /// `shop_user`, `shop_order`, …), created when missing.
    #[arg(long, value_name = "URL")]
    postgres: Option<String>,
}

async fn rows(
    client: &reqwest::Client,
    base: u16,
    pids: &BTreeMap<&'static str, u32>,
) -> Vec<ServiceRow> {
    let mut rows = Vec::new();
    for (name, offset) in SERVICES {
        let port = base + offset;
        rows.push(ServiceRow {
            service: name,
            url: format!("http://127.0.0.1:{port}"),
            pid: pids.get(name).copied().unwrap_or_default(),
            ready: ready(client, &format!("http://127.0.0.1:{port}")).await,
        });
    }
    rows
}

fn table(rows: &[ServiceRow]) -> String {
    let mut text = format!("{:<14} {:<24} {:>8}  HEALTH", "SERVICE", "URL", "PID");
    for row in rows {
        let _ = write!(
            text,
            "\n{:<14} {:<24} {:>8}  {}",
            row.service,
            row.url,
            row.pid,
            if row.ready { "ready" } else { "NOT READY" }
        );
    }
    text
}

#[derive(Debug, Serialize)]
struct ServiceRow {
    service: &'static str,
    url: String,
    pid: u32,
    ready: bool,
}

impl Up {
    /// Everything that can refuse is checked before anything is written: ports, PostgreSQL.
    /// Returns the services' PostgreSQL URLs (none for SQLite).
    async fn preflight(&self) -> anyhow::Result<BTreeMap<&'static str, String>> {
        for (name, offset) in SERVICES {
            let port = self.base_port + offset;
            if std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
                anyhow::bail!(
                    "port {port} (for the {name} service) is in use; stop what holds it or pass --base-port"
                );
            }
        }
        Ok(match &self.postgres {
            Some(server) => postgres_databases(server).await?,
            None => BTreeMap::new(),
        })
    }

    /// Starts every service, as a supervised child process or as a task of this process.
    fn start(
        &self,
        global: &GlobalArgs,
        config: &Path,
        dir: &Path,
        env: &[(String, String)],
        stop_rx: &watch::Receiver<bool>,
        pids_tx: &watch::Sender<BTreeMap<&'static str, u32>>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks = Vec::new();
        if self.in_process {
            // Warnings and errors of every service on stderr; the report stays on stdout.
            let filter = global.log_filter().unwrap_or("warn");
            shopctl_kit::telemetry::init(
                "shopctl",
                filter,
                shopctl_kit::telemetry::LogTarget::Stderr,
            );
            pids_tx.send_modify(|pids| {
                for (name, _) in SERVICES {
                    pids.insert(name, std::process::id());
                }
            });
        }
        for (name, _) in SERVICES {
            tasks.push(if self.in_process {
                tokio::spawn(supervisor::supervise_in_process(
                    name,
                    config.to_path_buf(),
                    crate::platform::section_settings(env, name),
                    stop_rx.clone(),
                    global.printer(),
                ))
            } else {
                tokio::spawn(supervisor::supervise(
                    name,
                    supervisor::Supervised {
                        config: config.to_path_buf(),
                        env: env.to_vec(),
                        logs: dir.join("logs"),
                        stop: stop_rx.clone(),
                        pids: pids_tx.clone(),
                        printer: global.printer(),
                    },
                ))
            });
        }
        tasks
    }

    pub(crate) async fn run(self, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        let started = Instant::now();
        let databases = self.preflight().await?;
        let dir = &self.data_dir;
        crate::platform::private_data_dir(dir, global.printer())?;
        crate::platform::private_data_dir(&dir.join("logs"), global.printer())?;
        let dir = dir.canonicalize()?;
        let secrets = secrets(&dir)?;
        let config = platform_config(&dir, self.base_port)?;
        // Secrets and database URLs (which may hold a password) reach the services through
        // their environment, never through the configuration file.
        let mut env = secrets.env_vars()?;
        for (service, url) in &databases {
            env.push((
                format!("SHOPCTL_{}__DATABASE_URL", service.to_uppercase()),
                url.clone(),
            ));
        }

        let (stop_tx, stop_rx) = watch::channel(false);
        let (pids_tx, pids_rx) = watch::channel(BTreeMap::new());
        let tasks = self.start(global, &config, &dir, &env, &stop_rx, &pids_tx);

        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()?;
        let all_ready = wait_ready(&client, self.base_port, Duration::from_secs(60)).await;
        let gateway = format!("http://127.0.0.1:{}", self.base_port);
        let rows = rows(&client, self.base_port, &pids_rx.borrow().clone()).await;
        let mut text = table(&rows);
        let _ = write!(
            text,
            "\n\nshop and API at {gateway} — ready in {} ms; {}",
            started.elapsed().as_millis(),
            if self.in_process {
                "every service runs in this process (warnings and errors on stderr)".to_owned()
            } else {
                format!("logs in {}", dir.join("logs").display())
            }
        );
        if all_ready && !secrets.demo_accounts {
            match demo_accounts(&client, &gateway, &secrets.admin_token).await {
                Ok(accounts) => {
                    text.push_str("\n\ndemo accounts (passwords are shown this once):");
                    for (email, role, password) in accounts {
                        let _ = write!(text, "\n  {role:<9} {email:<24} {password}");
                    }
                    secrets.demo_accounts_made(&dir)?;
                }
                Err(e) => {
                    let _ = write!(text, "\n\ndemo accounts not created: {e}");
                }
            }
        }
        text.push_str("\n\nCtrl-C stops everything.");
        global.printer().result(
            &text,
            &json!({"ready": all_ready, "gateway": gateway, "services": rows,
                "database": if databases.is_empty() { "sqlite" } else { "postgres" },
                "in_process": self.in_process,
                "startup_ms": started.elapsed().as_millis()}),
        )?;

        shopctl_kit::shutdown_signal().await;
        let _ = stop_tx.send(true);
        for task in tasks {
            let _ = task.await;
        }
        global.printer().note("stopped every service");
        Ok(if all_ready {
            ExitStatus::Success
        } else {
            ExitStatus::Failure
        })
    }
}
