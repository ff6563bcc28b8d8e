//! `shopctl up`: the whole shop on this machine. Bootstraps the data directory on first run
//! (platform secrets, a generated configuration, demo accounts), starts every service as a
//! supervised child process (`shopctl serve <svc>`), restarts a child that dies with backoff,
//! prints where everything is, and on Ctrl-C or SIGTERM stops the children cleanly. Each child
//! holds a lifeline to it (`platform::lifeline`), so a child also stops when `up` is killed
//! outright (SIGKILL) or crashes: none is left behind holding its port.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use clap::Args;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::watch;

use super::GlobalArgs;
use crate::ExitStatus;
use crate::platform::{Layout, SERVICES, WITH_DATABASE, supervisor, target::ready, write_private};

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

/// Makes sure each service has its database on the PostgreSQL server `server`; returns their
/// URLs by service. Fails (changing nothing more) when the server cannot be reached.
async fn postgres_databases(server: &str) -> anyhow::Result<BTreeMap<&'static str, String>> {
    let redacted = shopctl_kit::db::redact_url(server);
    if !(server.starts_with("postgres://") || server.starts_with("postgresql://")) {
        anyhow::bail!(
            "--postgres {redacted} is not a PostgreSQL URL; give postgres://USER@HOST:PORT/NAME"
        );
    }
    let prefix = server
        .split('?')
        .next()
        .and_then(|u| u.rsplit_once('/'))
        .map(|(_, name)| name)
        .filter(|name| !name.is_empty() && !name.contains('@'))
        .unwrap_or("shopctl")
        .to_owned();
    let mut urls = BTreeMap::new();
    for service in WITH_DATABASE {
        let name = format!("{prefix}_{service}");
        let url = tokio::time::timeout(
            Duration::from_secs(10),
            shopctl_kit::db::ensure_postgres_database(server, &name),
        )
        .await
        .map_err(|_| {
            anyhow::anyhow!("PostgreSQL at {redacted} did not answer within 10 s; start it or correct --postgres")
        })?
        .map_err(|e| anyhow::anyhow!("{e}; start PostgreSQL or correct --postgres"))?;
        urls.insert(service, url);
    }
    Ok(urls)
}

/// Secrets made on the first run and kept in the data directory.
#[derive(Debug, Serialize, Deserialize)]
struct Secrets {
    service_key: String,
    admin_token: String,
    #[serde(default)]
    demo_accounts: bool,
}

fn secrets(dir: &Path) -> anyhow::Result<Secrets> {
    let path = dir.join("secrets.toml");
    if let Ok(text) = std::fs::read_to_string(&path) {
        return toml::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "{} is corrupt ({}); delete it to start over with new secrets",
                path.display(),
                e.message()
            )
        });
    }
    let fresh = crate::platform::Secrets::generate();
    let secrets = Secrets {
        service_key: fresh.service_key,
        admin_token: fresh.admin_token,
        demo_accounts: false,
    };
    write_private(&path, &toml::to_string(&secrets)?)?;
    Ok(secrets)
}

/// Renders the configuration every service reads (from `templates/shopctl.toml`).
fn platform_config(dir: &Path, base: u16) -> anyhow::Result<PathBuf> {
    let layout = Layout {
        base_port: base,
        data_dir: dir.display().to_string(),
        environment: "dev",
        local_limits: true,
    };
    let path = dir.join("platform.toml");
    write_private(
        &path,
        &layout.config("shopctl up, rewritten on every start")?,
    )?;
    Ok(path)
}

impl Secrets {
    /// The environment variables that hand the secrets to every service.
    fn env_vars(&self) -> anyhow::Result<Vec<(String, String)>> {
        crate::platform::Secrets {
            service_key: self.service_key.clone(),
            admin_token: self.admin_token.clone(),
        }
        .env_vars()
    }
}

/// Registers the demo customer and admin through the gateway; returns their passwords.
async fn demo_accounts(
    client: &reqwest::Client,
    gateway: &str,
    admin_token: &str,
) -> anyhow::Result<Vec<(String, String, String)>> {
    let mut made = Vec::new();
    for (email, role) in [
        ("customer@shopctl.local", "customer"),
        ("admin@shopctl.local", "admin"),
    ] {
        let password = crate::platform::random(12);
        let registered: serde_json::Value = client
            .post(format!("{gateway}/api/users/register"))
            .json(&json!({"email": email, "password": password, "name": role}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        if role == "admin" {
            let id = registered["id"].as_str().unwrap_or_default();
            client
                .put(format!("{gateway}/api/users/{id}/roles"))
                .bearer_auth(admin_token)
                .json(&json!({"roles": ["admin"]}))
                .send()
                .await?
                .error_for_status()?;
        }
        made.push((email.to_owned(), role.to_owned(), password));
    }
    Ok(made)
}

/// Polls every service's `/readyz` until all answer 200 or `within` passes.
async fn wait_ready(client: &reqwest::Client, base: u16, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        let mut ok = true;
        for (_, offset) in SERVICES {
            ok &= ready(client, &format!("http://127.0.0.1:{}", base + offset)).await;
        }
        if ok {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
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
                    write_private(
                        &dir.join("secrets.toml"),
                        &toml::to_string(&Secrets {
                            demo_accounts: true,
                            ..secrets
                        })?,
                    )?;
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
