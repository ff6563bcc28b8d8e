//! `shopctl up`: the whole shop on this machine. Bootstraps the data directory on first run
//! (platform secrets, a generated configuration, demo accounts), starts every service as a
//! supervised child process (`shopctl serve <svc>`), restarts a child that dies with backoff,
//! prints where everything is, and on Ctrl-C or SIGTERM stops the children cleanly. Each child
//! holds a lifeline to it (`platform::lifeline`), so a child also stops when `up` is killed
//! outright (SIGKILL) or crashes: none is left behind holding its port. What it prepares on the
//! machine is `platform::local`; the children are `platform::supervisor`'s. While it runs,
//! `run/processes.json` in the data directory says which process runs each service
//! (`platform::processes`).

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
use crate::platform::{
    MAX_REPLICAS, REPLICA_STRIDE, SERVICES,
    local::{demo_accounts, platform_config, postgres_databases, secrets, wait_ready},
    monitor::{self, Profile},
    port,
    processes::{self, Process},
    replica_name, supervisor,
    target::ready,
};
use crate::{
    ExitStatus,
    logs::rotate::{Rotation, ServiceLogs, parse_size},
    platform::target::parse_duration,
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
    /// Run this many replicas of every service (1-10), as a cluster would: callers take them
    /// in turn, the gateway with a breaker per replica. The second set listens 10 ports above
    /// the first (8090-8097), the third 20 (8100-8107), and so on. More than one needs
    /// --postgres (one database shared by every replica) and --redis (one rate limit and
    /// cache shared by every gateway).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=i64::from(MAX_REPLICAS)), conflicts_with = "in_process")]
    replicas: u16,
    /// Keep the gateway's rate limits and cached catalog reads in this Redis
    /// (`redis://127.0.0.1:6379`), shared by every gateway replica.
    #[arg(long, value_name = "URL")]
    redis: Option<String>,
    /// Also run Prometheus and Alertmanager (from PATH) with the shop's rules and alerts, on
    /// the two ports after the services' (8088 and 8089 by default).
    #[arg(long)]
    monitor: bool,
    /// How fast the monitoring stack alerts: `drill` scrapes every 2 s and cuts every alert's
    /// `for:` to 10 s, for fire drills and tests.
    #[arg(long, value_enum, default_value_t = Profile::Standard, requires = "monitor")]
    monitor_profile: Profile,
    /// Size at which a service's log file is rotated (`logs/<service>.log` → `.log.1`).
    #[arg(long, env = "SHOPCTL_LOG_FILE_SIZE", value_name = "SIZE", default_value = "64MiB", value_parser = parse_size)]
    log_file_size: u64,
    /// Most space one service's log files take together; the oldest go first.
    #[arg(long, env = "SHOPCTL_LOG_TOTAL_SIZE", value_name = "SIZE", default_value = "512MiB", value_parser = parse_size)]
    log_total_size: u64,
    /// Rotated log files older than this are deleted.
    #[arg(long, env = "SHOPCTL_LOG_RETENTION", value_name = "DURATION", default_value = "30d", value_parser = parse_duration)]
    log_retention: Duration,
}

async fn rows(
    client: &reqwest::Client,
    base: u16,
    replicas: u16,
    pids: &BTreeMap<String, Process>,
) -> Vec<ServiceRow> {
    let mut rows = Vec::new();
    for replica in 0..replicas {
        for (service, _) in SERVICES {
            let name = replica_name(service, replica);
            let url = format!("http://127.0.0.1:{}", port(base, service, replica));
            rows.push(ServiceRow {
                service,
                replica: replica + 1,
                pid: pids.get(&name).map(|p| p.pid).unwrap_or_default(),
                ready: ready(client, &url).await,
                name,
                url,
            });
        }
    }
    rows
}

fn table(rows: &[ServiceRow]) -> String {
    let mut text = format!("{:<14} {:<24} {:>8}  HEALTH", "SERVICE", "URL", "PID");
    for row in rows {
        let _ = write!(
            text,
            "\n{:<14} {:<24} {:>8}  {}",
            row.name,
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
    /// 1 for the first replica.
    replica: u16,
    /// The replica's name in the process table and its log file's (`order`, `order-2`).
    name: String,
    url: String,
    pid: u32,
    ready: bool,
}

impl Up {
    fn rotation(&self) -> Rotation {
        Rotation {
            file_bytes: self.log_file_size,
            total_bytes: self.log_total_size.max(self.log_file_size),
            retention: self.log_retention,
        }
    }

    /// Everything that can refuse is checked before anything is written: the flags that go
    /// together, ports, PostgreSQL. Returns the services' PostgreSQL URLs (none for SQLite).
    async fn preflight(&self) -> anyhow::Result<BTreeMap<&'static str, String>> {
        if self.replicas > 1 && (self.postgres.is_none() || self.redis.is_none()) {
            anyhow::bail!(
                "--replicas {} needs --postgres URL and --redis URL: replicas share one database per service and the gateways one rate limit and cache",
                self.replicas
            );
        }
        if let Some(url) = &self.redis
            && !(url.starts_with("redis://") || url.starts_with("rediss://"))
        {
            anyhow::bail!("--redis {url} is not a Redis URL; give redis://HOST:PORT");
        }
        if u32::from(self.base_port) + u32::from(self.replicas) * u32::from(REPLICA_STRIDE)
            > u32::from(u16::MAX)
        {
            anyhow::bail!(
                "--base-port {} leaves no room for {} replicas; pass a lower --base-port",
                self.base_port,
                self.replicas
            );
        }
        for replica in 0..self.replicas {
            for (service, _) in SERVICES {
                let port = port(self.base_port, service, replica);
                if std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
                    anyhow::bail!(
                        "port {port} (for {}) is in use; stop what holds it or pass --base-port",
                        replica_name(service, replica)
                    );
                }
            }
        }
        Ok(match &self.postgres {
            Some(server) => postgres_databases(server).await?,
            None => BTreeMap::new(),
        })
    }

    /// What every service's environment holds. Secrets, database URLs (which may hold a
    /// password) and the Redis URL reach the services through it, never through the
    /// configuration file.
    fn environment(
        &self,
        dir: &Path,
        secrets: &crate::platform::local::Secrets,
        databases: &BTreeMap<&'static str, String>,
    ) -> anyhow::Result<Vec<(String, String)>> {
        let mut env = secrets.env_vars()?;
        for (service, url) in databases {
            env.push((
                format!("SHOPCTL_{}__DATABASE_URL", service.to_uppercase()),
                url.clone(),
            ));
        }
        if let Some(redis) = &self.redis {
            env.push(("SHOPCTL_GATEWAY__REDIS_URL".to_owned(), redis.clone()));
            // Shops of other data directories may share the server: each keeps to its keys.
            env.push((
                "SHOPCTL_GATEWAY__REDIS_PREFIX".to_owned(),
                format!(
                    "shopctl:{}:gateway:",
                    crate::deploy::render::short_hash(&dir.display().to_string(), 12)
                ),
            ));
        }
        Ok(env)
    }

    /// The environment of replica `replica` of `service` beyond the shared `env`: the
    /// replicas after the first listen on ports of their own and leave the demo data to it.
    fn replica_env(service: &str, replica: u16, base: u16) -> Vec<(String, String)> {
        if replica == 0 {
            return Vec::new();
        }
        let section = service.to_uppercase();
        let mut env = vec![(
            format!("SHOPCTL_{section}__PORT"),
            port(base, service, replica).to_string(),
        )];
        if matches!(service, "product" | "inventory") {
            env.push((format!("SHOPCTL_{section}__SEED_DEMO"), "false".to_owned()));
        }
        env
    }

    /// Starts every service, as a supervised child process or as a task of this process.
    fn start(
        &self,
        global: &GlobalArgs,
        config: &Path,
        dir: &Path,
        env: &[(String, String)],
        stop_rx: &watch::Receiver<bool>,
        pids_tx: &watch::Sender<BTreeMap<String, Process>>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks = Vec::new();
        if self.in_process {
            // Every service's lines in its own file, as a child's would be; warnings and errors
            // also on stderr. The report stays on stdout.
            let filter = global.log_filter().unwrap_or("info");
            let files = std::sync::Arc::new(ServiceLogs::new(&dir.join("logs"), self.rotation()));
            let sink = move |service: &str, level: tracing::Level, line: &[u8]| {
                files.write(service, line);
                if level <= tracing::Level::WARN {
                    use std::io::Write as _;
                    let _ = std::io::stderr().lock().write_all(line);
                }
            };
            shopctl_kit::telemetry::init(
                "shopctl",
                filter,
                shopctl_kit::telemetry::LogTarget::Sink(std::sync::Arc::new(sink)),
            );
            shopctl_kit::metrics::share_process();
        }
        for replica in 0..self.replicas {
            for (service, _) in SERVICES {
                tasks.push(if self.in_process {
                    tokio::spawn(supervisor::supervise_in_process(
                        service,
                        config.to_path_buf(),
                        crate::platform::section_settings(env, service),
                        stop_rx.clone(),
                        pids_tx.clone(),
                        global.printer(),
                    ))
                } else {
                    let mut env = env.to_vec();
                    env.extend(Self::replica_env(service, replica, self.base_port));
                    tokio::spawn(supervisor::supervise(
                        replica_name(service, replica),
                        supervisor::Supervised {
                            run: supervisor::Run::Service { service },
                            config: config.to_path_buf(),
                            env,
                            logs: dir.join("logs"),
                            rotation: self.rotation(),
                            stop: stop_rx.clone(),
                            pids: pids_tx.clone(),
                            printer: global.printer(),
                        },
                    ))
                });
            }
        }
        tasks
    }

    /// Starts Prometheus and Alertmanager when `--monitor` asks for them and they can run;
    /// otherwise says in one line why not. The shop runs either way. Returns their URLs.
    fn start_monitoring(
        &self,
        global: &GlobalArgs,
        dir: &Path,
        stop_rx: &watch::Receiver<bool>,
        pids_tx: &watch::Sender<BTreeMap<String, Process>>,
        tasks: &mut Vec<tokio::task::JoinHandle<()>>,
    ) -> BTreeMap<&'static str, String> {
        let mut urls = BTreeMap::new();
        if !self.monitor {
            return urls;
        }
        for offset in [monitor::PROMETHEUS_OFFSET, monitor::ALERTMANAGER_OFFSET] {
            let port = self.base_port + offset;
            if std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
                global.printer().warning(&format!(
                    "monitoring not started: port {port} is in use; free it or pass another --base-port"
                ));
                return urls;
            }
        }
        let rendered =
            match monitor::render_local(dir, self.base_port, self.replicas, self.monitor_profile) {
                Ok(rendered) => rendered,
                Err(e) => {
                    global
                        .printer()
                        .warning(&format!("monitoring not started: {e:#}"));
                    return urls;
                }
            };
        let tools = match monitor::tools(&rendered, self.base_port, self.monitor_profile) {
            Ok(tools) => tools,
            Err(missing) => {
                global.printer().warning(&format!(
                    "monitoring not started: {} not found on PATH; {}",
                    missing.join(" and "),
                    monitor::INSTALL_HINT
                ));
                return urls;
            }
        };
        for tool in tools {
            urls.insert(tool.name, tool.url.clone());
            tasks.push(tokio::spawn(supervisor::supervise(
                tool.name.to_owned(),
                supervisor::Supervised {
                    run: supervisor::Run::Tool {
                        program: tool.program,
                        args: tool.args,
                    },
                    config: rendered.prometheus.clone(),
                    env: Vec::new(),
                    logs: dir.join("logs"),
                    rotation: self.rotation(),
                    stop: stop_rx.clone(),
                    pids: pids_tx.clone(),
                    printer: global.printer(),
                },
            )));
        }
        urls
    }

    pub(crate) async fn run(self, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        let started = Instant::now();
        // Listen for Ctrl-C and SIGTERM from the first moment: a signal that arrives while the
        // services start is kept, and stops them as soon as they are up.
        let mut shutdown = std::pin::pin!(shopctl_kit::shutdown_signal());
        let _ = futures_util::poll!(shutdown.as_mut());
        let databases = self.preflight().await?;
        let dir = &self.data_dir;
        crate::platform::private_data_dir(dir, global.printer())?;
        crate::platform::private_data_dir(&dir.join("logs"), global.printer())?;
        let dir = dir.canonicalize()?;
        let secrets = secrets(&dir)?;
        let config = platform_config(&dir, self.base_port, self.replicas)?;
        let env = self.environment(&dir, &secrets, &databases)?;

        let (stop_tx, stop_rx) = watch::channel(false);
        let (pids_tx, pids_rx) = watch::channel(BTreeMap::new());
        let published = tokio::spawn(processes::publish(
            dir.clone(),
            self.in_process,
            pids_rx.clone(),
            global.printer(),
        ));
        let mut tasks = self.start(global, &config, &dir, &env, &stop_rx, &pids_tx);
        let monitoring = self.start_monitoring(global, &dir, &stop_rx, &pids_tx, &mut tasks);

        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()?;
        let urls: Vec<String> = (0..self.replicas)
            .flat_map(|replica| {
                SERVICES.map(|(service, _)| {
                    format!(
                        "http://127.0.0.1:{}",
                        port(self.base_port, service, replica)
                    )
                })
            })
            .collect();
        let all_ready = wait_ready(&client, &urls, Duration::from_secs(60)).await;
        let gateway = format!("http://127.0.0.1:{}", self.base_port);
        let rows = rows(
            &client,
            self.base_port,
            self.replicas,
            &pids_rx.borrow().clone(),
        )
        .await;
        let mut text = table(&rows);
        let _ = write!(
            text,
            "\n\nshop and API at {gateway} — ready in {} ms; {}",
            started.elapsed().as_millis(),
            if self.in_process {
                format!(
                    "every service runs in this process (logs in {}, warnings and errors also on stderr)",
                    dir.join("logs").display()
                )
            } else {
                format!("logs in {}", dir.join("logs").display())
            }
        );
        for (tool, url) in &monitoring {
            let _ = write!(text, "\n{tool:<14} {url}");
        }
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
                "replicas": self.replicas,
                "redis": self.redis.is_some(),
                "monitoring": monitoring,
                "startup_ms": started.elapsed().as_millis()}),
        )?;

        shutdown.await;
        let _ = stop_tx.send(true);
        for task in tasks {
            let _ = task.await;
        }
        // The supervisors (and their senders) are gone: the publisher removes the file.
        drop(pids_tx);
        let _ = published.await;
        global.printer().note("stopped every service");
        Ok(if all_ready {
            ExitStatus::Success
        } else {
            ExitStatus::Failure
        })
    }
}
