//! `shopctl bootstrap`: set up an environment, idempotently. Checks the prerequisites (a writable
//! data directory, the database server, `kubectl` and `velero` when asked for), writes
//! `shopctl.toml` and `.env` from `templates/`, creates the databases, runs the migrations,
//! makes the first signing key and seeds the demo catalog (dev only). What exists is kept.
//! `--check` reports the same steps without changing anything.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    path::{Path, PathBuf},
};

use clap::{Args, ValueEnum};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Serialize;
use shopctl_kit::{
    db::{Db, Migrations, PoolOptions},
    settings::ConfigSource,
};

use super::GlobalArgs;
use crate::{
    ExitStatus,
    platform::{Layout, Secrets, WITH_DATABASE, parse_env, write_private},
};

/// The environment being set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Environment {
    /// A developer's or a test machine: the demo catalog is seeded.
    Dev,
    /// Production: nothing is seeded.
    Production,
}

/// Set up an environment (idempotent).
#[derive(Debug, Args)]
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
    /// Also require `kubectl` (for deploying to Kubernetes).
    #[arg(long)]
    kubernetes: bool,
    /// Also require `velero` (for backups).
    #[arg(long)]
    backups: bool,
}

/// What a step found or did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum State {
    /// Already in place.
    Ok,
    /// Made now.
    Created,
    /// Not there (`--check`), or an optional tool that is absent.
    Missing,
    /// Not wanted here (production seeding, optional tools).
    Skipped,
    /// Broken or unreachable: the detail says how to fix it.
    Failed,
}

#[derive(Debug, Serialize)]
struct Step {
    #[serde(rename = "step")]
    name: String,
    state: State,
    detail: String,
}

#[derive(Debug, Serialize)]
struct Report {
    check: bool,
    ok: bool,
    config: String,
    env_file: String,
    steps: Vec<Step>,
}

/// Where `program` is on `PATH`, if it is.
fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Whether files can be created in `dir` (or, when it does not exist yet, in its nearest
/// existing ancestor).
fn writable(dir: &Path) -> Result<(), String> {
    let mut at = dir;
    while !at.exists() {
        at = match at.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        if at == Path::new(".") {
            break;
        }
    }
    if !at.is_dir() {
        return Err(format!("{} is not a directory", at.display()));
    }
    let probe = at.join(format!(".shopctl-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| format!("{} is not writable: {e}", at.display()))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

/// The URL of `name` on the PostgreSQL `server`.
fn database_on(server: &str, name: &str) -> anyhow::Result<String> {
    let mut url = reqwest::Url::parse(server).map_err(|e| {
        anyhow::anyhow!(
            "--postgres {} is not a URL ({e})",
            shopctl_kit::db::redact_url(server)
        )
    })?;
    if !matches!(url.scheme(), "postgres" | "postgresql") {
        anyhow::bail!(
            "--postgres {} is not a PostgreSQL URL; give postgres://USER@HOST:PORT/NAME",
            shopctl_kit::db::redact_url(server)
        );
    }
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}

/// The database name prefix a `--postgres` URL implies (its database, or `shopctl`).
fn prefix(server: &str) -> String {
    reqwest::Url::parse(server)
        .ok()
        .map(|url| url.path().trim_start_matches('/').to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "shopctl".to_owned())
}

/// A service's database as the configuration names it.
struct ServiceDb {
    service: &'static str,
    url: SecretString,
    migrations: &'static Migrations,
}

/// Where a service's settings come from here: the configuration file, with the `.env` file's
/// values for its section on top (as `shopctl serve` reads them).
struct Sources {
    config: PathBuf,
    env_file: PathBuf,
}

impl Sources {
    fn for_service(&self, section: &str) -> anyhow::Result<ConfigSource> {
        let mut source = ConfigSource {
            file: Some(self.config.clone()),
            overrides: Vec::new(),
        };
        for (key, value) in crate::platform::env_file_settings(&self.env_file, section)? {
            source = source.with(&key, value);
        }
        Ok(source)
    }
}

fn service_databases(sources: &Sources) -> anyhow::Result<Vec<ServiceDb>> {
    macro_rules! db {
        ($service:ident) => {{
            let settings = $service::load_settings(&sources.for_service($service::NAME)?)?;
            ServiceDb {
                service: $service::NAME,
                url: settings.common.database_url($service::NAME),
                migrations: &$service::MIGRATIONS,
            }
        }};
    }
    Ok(vec![
        db!(shopctl_user),
        db!(shopctl_product),
        db!(shopctl_inventory),
        db!(shopctl_payment),
        db!(shopctl_notification),
        db!(shopctl_order),
    ])
}

/// How many migrations `migrations` holds for the backend of `url`.
fn known_migrations(migrations: &Migrations, url: &str) -> usize {
    if url.starts_with("sqlite") {
        migrations.sqlite.iter().count()
    } else {
        migrations.postgres.iter().count()
    }
}

impl Bootstrap {
    fn config_path(global: &GlobalArgs) -> PathBuf {
        global
            .config
            .clone()
            .unwrap_or_else(|| PathBuf::from(shopctl_kit::settings::DEFAULT_CONFIG_FILE))
    }

    fn prerequisites(&self, steps: &mut Vec<Step>) {
        steps.push(match writable(&self.data_dir) {
            Ok(()) => Step {
                name: "data directory".to_owned(),
                state: State::Ok,
                detail: format!("{} is writable", self.data_dir.display()),
            },
            Err(why) => Step {
                name: "data directory".to_owned(),
                state: State::Failed,
                detail: format!("{why}; pass --data-dir to a writable place"),
            },
        });
        for (tool, wanted, install) in [
            (
                "kubectl",
                self.kubernetes,
                "install it: apt-get install kubectl, or https://kubernetes.io/docs/tasks/tools/",
            ),
            (
                "velero",
                self.backups,
                "install it from https://velero.io/docs/main/basic-install/",
            ),
        ] {
            let (state, detail) = match (on_path(tool), wanted) {
                (Some(path), _) => (State::Ok, path.display().to_string()),
                (None, true) => (State::Failed, format!("not on PATH; {install}")),
                (None, false) => (
                    State::Skipped,
                    format!(
                        "not on PATH (needed only with --{})",
                        if tool == "kubectl" {
                            "kubernetes"
                        } else {
                            "backups"
                        }
                    ),
                ),
            };
            steps.push(Step {
                name: tool.to_owned(),
                state,
                detail,
            });
        }
    }

    async fn database_server(&self, steps: &mut Vec<Step>) -> anyhow::Result<()> {
        let Some(server) = &self.postgres else {
            steps.push(Step {
                name: "database server".to_owned(),
                state: State::Ok,
                detail: "embedded SQLite (pass --postgres URL for PostgreSQL)".to_owned(),
            });
            return Ok(());
        };
        let maintenance = database_on(server, "postgres")?;
        let reached = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            Db::connect(&SecretString::from(maintenance), PoolOptions::default()),
        )
        .await;
        let redacted = shopctl_kit::db::redact_url(server);
        steps.push(match reached {
            Ok(Ok(db)) => {
                db.close().await;
                Step {
                    name: "database server".to_owned(),
                    state: State::Ok,
                    detail: format!("PostgreSQL at {redacted} answers"),
                }
            }
            Ok(Err(e)) => Step {
                name: "database server".to_owned(),
                state: State::Failed,
                detail: format!("{e}; start PostgreSQL or correct --postgres"),
            },
            Err(_) => Step {
                name: "database server".to_owned(),
                state: State::Failed,
                detail: format!(
                    "PostgreSQL at {redacted} did not answer within 10 s; start it or correct --postgres"
                ),
            },
        });
        Ok(())
    }

    /// Each service's database URL on the `--postgres` server (none for SQLite). They hold the
    /// server's credentials, so they go to the secrets file, not the configuration.
    fn database_urls(&self) -> anyhow::Result<BTreeMap<&'static str, String>> {
        let mut databases = BTreeMap::new();
        if let Some(server) = &self.postgres {
            let prefix = prefix(server);
            for service in WITH_DATABASE {
                databases.insert(
                    service,
                    database_on(server, &format!("{prefix}_{service}"))?,
                );
            }
        }
        Ok(databases)
    }

    fn layout(&self) -> anyhow::Result<Layout> {
        let data_dir = std::path::absolute(&self.data_dir)?;
        Ok(Layout {
            base_port: self.base_port,
            data_dir: data_dir.display().to_string(),
            environment: match self.environment {
                Environment::Dev => "dev",
                Environment::Production => "production",
            },
            local_limits: false,
        })
    }

    /// `shopctl.toml`: kept when it exists and loads, written from the template when missing.
    fn config_file(&self, sources: &Sources, steps: &mut Vec<Step>) -> anyhow::Result<()> {
        let config = &sources.config;
        let step = format!("config {}", config.display());
        if config.exists() {
            let loaded = service_databases(sources).and_then(|_| {
                Ok(shopctl_gateway::load_settings(
                    &sources.for_service("gateway")?,
                )?)
            });
            steps.push(match loaded {
                Ok(_) => Step {
                    name: step,
                    state: State::Ok,
                    detail: "present and valid (kept as it is)".to_owned(),
                },
                Err(e) => Step {
                    name: step,
                    state: State::Failed,
                    detail: format!("{e:#}; correct it, or move it away to have a new one written"),
                },
            });
            return Ok(());
        }
        if self.check {
            steps.push(Step {
                name: step,
                state: State::Missing,
                detail: "run `shopctl bootstrap` to write it from templates/shopctl.toml"
                    .to_owned(),
            });
            return Ok(());
        }
        let text = self.layout()?.config("shopctl bootstrap")?;
        std::fs::write(config, text)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", config.display()))?;
        steps.push(Step {
            name: step,
            state: State::Created,
            detail: "written from templates/shopctl.toml".to_owned(),
        });
        Ok(())
    }

    /// `.env`: kept when it exists and parses, written with fresh secrets when missing.
    fn env_file(&self, steps: &mut Vec<Step>) -> anyhow::Result<()> {
        let step = format!("secrets {}", self.env_file.display());
        if let Ok(text) = std::fs::read_to_string(&self.env_file) {
            steps.push(match parse_env(&text) {
                Ok(vars) if vars.iter().any(|(k, _)| k.ends_with("__SERVICE_KEY")) => Step {
                    name: step,
                    state: State::Ok,
                    detail: format!("present ({} variables, kept as they are)", vars.len()),
                },
                Ok(_) => Step {
                    name: step,
                    state: State::Failed,
                    detail: "holds no SHOPCTL_<SECTION>__SERVICE_KEY; move it away to have a new one written".to_owned(),
                },
                Err(e) => Step {
                    name: step,
                    state: State::Failed,
                    detail: format!("{e}; correct it, or move it away to have a new one written"),
                },
            });
            return Ok(());
        }
        if self.check {
            steps.push(Step {
                name: step,
                state: State::Missing,
                detail: "run `shopctl bootstrap` to generate the secrets".to_owned(),
            });
            return Ok(());
        }
        let mut text = Secrets::generate().env_file()?;
        for (service, url) in self.database_urls()? {
            let _ = writeln!(
                text,
                "SHOPCTL_{}__DATABASE_URL={url}",
                service.to_uppercase()
            );
        }
        write_private(&self.env_file, &text)?;
        steps.push(Step {
            name: step,
            state: State::Created,
            detail: "fresh service key and admin token (mode 0600)".to_owned(),
        });
        Ok(())
    }

    /// Each service's database: created and migrated (or, with `--check`, inspected).
    async fn databases(&self, sources: &Sources, steps: &mut Vec<Step>) -> anyhow::Result<()> {
        for db in service_databases(sources)? {
            let url = db.url.expose_secret().to_owned();
            let step = format!("database {}", db.service);
            let known = known_migrations(db.migrations, &url);
            let sqlite_file = url
                .strip_prefix("sqlite://")
                .map(|path| PathBuf::from(path.split('?').next().unwrap_or_default()));
            if self.check {
                let exists = match &sqlite_file {
                    Some(file) => file.exists(),
                    None => true,
                };
                let opened = if exists {
                    Db::connect(&db.url, PoolOptions::default()).await.ok()
                } else {
                    None
                };
                let Some(opened) = opened else {
                    steps.push(Step {
                        name: step,
                        state: State::Missing,
                        detail: format!("{} does not exist yet", shopctl_kit::db::redact_url(&url)),
                    });
                    continue;
                };
                let applied = opened.applied_migrations().await.map_or(0, |m| m.len());
                opened.close().await;
                steps.push(if applied >= known {
                    Step {
                        name: step,
                        state: State::Ok,
                        detail: format!("{applied} migrations applied"),
                    }
                } else {
                    Step {
                        name: step,
                        state: State::Missing,
                        detail: format!("{} of {known} migrations pending", known - applied),
                    }
                });
                continue;
            }
            let existed = sqlite_file.as_ref().is_none_or(|file| file.exists());
            if let Some(server) = &self.postgres
                && !url.starts_with("sqlite")
            {
                let name = reqwest::Url::parse(&url)?
                    .path()
                    .trim_start_matches('/')
                    .to_owned();
                shopctl_kit::db::ensure_postgres_database(server, &name).await?;
            }
            let opened = Db::connect(&db.url, PoolOptions::default()).await?;
            let before = opened.applied_migrations().await.map_or(0, |m| m.len());
            opened.migrate(db.migrations).await?;
            let after = opened.applied_migrations().await?.len();
            opened.close().await;
            steps.push(Step {
                name: step,
                state: if before == after && existed {
                    State::Ok
                } else {
                    State::Created
                },
                detail: format!(
                    "{after} migrations applied ({} just now) on {}",
                    after - before,
                    shopctl_kit::db::redact_url(&url)
                ),
            });
        }
        Ok(())
    }

    /// The first token-signing key, and the demo catalog with its stock (dev only).
    async fn keys_and_seed(&self, sources: &Sources, steps: &mut Vec<Step>) -> anyhow::Result<()> {
        use shopctl_inventory::store::InventoryStore as _;
        use shopctl_product::store::ProductStore as _;
        use shopctl_user::store::UserStore as _;

        let user = shopctl_user::load_settings(&sources.for_service(shopctl_user::NAME)?)?;
        let store = shopctl_user::store(&user, shopctl_user::connect(&user).await?);
        let active = store
            .signing_keys(chrono::Utc::now())
            .await?
            .iter()
            .any(|k| k.retired_at.is_none());
        steps.push(match (active, self.check) {
            (true, _) => Step {
                name: "signing key".to_owned(),
                state: State::Ok,
                detail: "an active Ed25519 key signs access tokens".to_owned(),
            },
            (false, true) => Step {
                name: "signing key".to_owned(),
                state: State::Missing,
                detail: "no active key yet".to_owned(),
            },
            (false, false) => {
                shopctl_user::tokens::ensure_key(&store).await?;
                Step {
                    name: "signing key".to_owned(),
                    state: State::Created,
                    detail: "a new Ed25519 key signs access tokens".to_owned(),
                }
            }
        });

        if self.environment == Environment::Production {
            steps.push(Step {
                name: "demo data".to_owned(),
                state: State::Skipped,
                detail: "production never loads demo data".to_owned(),
            });
            return Ok(());
        }
        let product = shopctl_product::load_settings(&sources.for_service(shopctl_product::NAME)?)?;
        let catalog =
            shopctl_product::store::SqlProductStore::new(shopctl_product::connect(&product).await?);
        let inventory =
            shopctl_inventory::load_settings(&sources.for_service(shopctl_inventory::NAME)?)?;
        let stock = shopctl_inventory::store::SqlInventoryStore::new(
            shopctl_inventory::connect(&inventory).await?,
        );
        let products = catalog.count_products().await?;
        let skus = stock.gauges(i64::MAX).await?.0;
        if self.check {
            steps.push(Step {
                name: "demo data".to_owned(),
                state: if products > 0 && skus > 0 {
                    State::Ok
                } else {
                    State::Missing
                },
                detail: format!("{products} products, {skus} SKUs with stock"),
            });
            return Ok(());
        }
        let added_products = shopctl_product::seed_demo_if_empty(&product, &catalog).await?;
        let added_skus = shopctl_inventory::seed_demo_if_empty(&inventory, &stock).await?;
        steps.push(Step {
            name: "demo data".to_owned(),
            state: if added_products + added_skus > 0 {
                State::Created
            } else {
                State::Ok
            },
            detail: format!(
                "{} products ({added_products} new), stock for {} SKUs ({added_skus} new)",
                catalog.count_products().await?,
                stock.gauges(i64::MAX).await?.0
            ),
        });
        Ok(())
    }

    pub(crate) async fn run(self, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        let config = Self::config_path(global);
        let sources = Sources {
            config: config.clone(),
            env_file: self.env_file.clone(),
        };
        let mut steps = Vec::new();
        self.prerequisites(&mut steps);
        self.database_server(&mut steps).await?;
        let ready = !steps.iter().any(|s| s.state == State::Failed);
        if ready {
            if !self.check {
                crate::platform::private_data_dir(&self.data_dir, global.printer())?;
            }
            self.config_file(&sources, &mut steps)?;
            // A broken configuration stops here: nothing more is written until it is mended.
            if !steps.iter().any(|s| s.state == State::Failed) {
                self.env_file(&mut steps)?;
            }
        }
        let configured = !steps.iter().any(|s| s.state == State::Failed) && config.exists();
        if configured {
            self.databases(&sources, &mut steps).await?;
            let migrated = !steps
                .iter()
                .any(|s| s.state == State::Missing && s.name.starts_with("database"));
            if migrated {
                self.keys_and_seed(&sources, &mut steps).await?;
            }
        }
        let ok = steps
            .iter()
            .all(|s| matches!(s.state, State::Ok | State::Created | State::Skipped));
        let report = Report {
            check: self.check,
            ok,
            config: config.display().to_string(),
            env_file: self.env_file.display().to_string(),
            steps,
        };
        global.printer().result(&text(&report), &report)?;
        Ok(if ok {
            ExitStatus::Success
        } else {
            ExitStatus::Failure
        })
    }
}

fn text(report: &Report) -> String {
    let mut text = format!("{:<28} {:<8} DETAIL", "STEP", "STATE");
    for step in &report.steps {
        let state = match step.state {
            State::Ok => "ok",
            State::Created => "created",
            State::Missing => "MISSING",
            State::Skipped => "skipped",
            State::Failed => "FAILED",
        };
        let _ = write!(text, "\n{:<28} {state:<8} {}", step.name, step.detail);
    }
    let failed = report.steps.iter().any(|s| s.state == State::Failed);
    text.push_str(match (report.ok, report.check, failed) {
        (true, true, _) => "\n\neverything is in place",
        (true, false, _) => {
            "\n\nready: `shopctl serve <service>` reads these files (or run `shopctl up`)"
        }
        (false, _, true) => "\n\nnot ready: fix what FAILED says and run `shopctl bootstrap` again",
        (false, _, false) => "\n\nsomething is missing: run `shopctl bootstrap` to set it up",
    });
    text
}
