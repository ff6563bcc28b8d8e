//! `shopctl backup create|list|describe|verify|prune` and `shopctl restore`: thin commands over
//! [`crate::backup`].

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
    time::Duration,
};

use clap::{Args, Subcommand};
use secrecy::SecretString;
use serde_json::json;

use shopctl_kit::audit::Outcome as Audit;

use super::GlobalArgs;
use crate::{
    ExitStatus,
    backup::{
        Plan, Store,
        manifest::Manifest,
        restore,
        seal::Key,
        snapshot::Source,
        velero,
        verify::{self, Scratch},
    },
    platform::{
        WITH_DATABASE, evidence,
        local::{database_prefix, database_url},
        processes,
        target::{Target, parse_duration, ready},
    },
};

/// Back up every service database at one consistency point, and prove backups restore.
#[derive(Debug, Subcommand)]
pub(crate) enum Backup {
    /// Take a backup: writes paused, every database copied, writes resumed.
    Create(Create),
    /// List the backups, oldest first.
    List(Where),
    /// Show one backup's manifest.
    Describe(Named),
    /// Prove a backup restores: checksums, a scratch restore, invariants, a serving shop.
    Verify(Named),
    /// Delete the backups past their time to live.
    Prune(Prune),
}

/// Where the backups are.
#[derive(Debug, Clone, Args)]
pub(crate) struct Where {
    /// The directory of the backups (default: `backups` in the data directory).
    #[arg(long, alias = "to", alias = "from", value_name = "DIR")]
    target: Option<PathBuf>,
    /// Data directory of the shop (`shopctl up`'s).
    #[arg(
        long,
        env = "SHOPCTL_DATA_DIR",
        value_name = "DIR",
        default_value = ".shopctl"
    )]
    data_dir: PathBuf,
}

impl Where {
    fn store(&self) -> Store {
        Store::local(
            &self
                .target
                .clone()
                .unwrap_or_else(|| self.data_dir.join("backups")),
        )
    }
}

/// The key that seals (or opens) a backup's files.
#[derive(Debug, Clone, Args)]
pub(crate) struct Sealing {
    /// A file holding the backup key (64 hex digits, e.g. from `openssl rand -hex 32`); the
    /// key is never stored with the backup. `SHOPCTL_BACKUP_KEY` may hold it instead.
    #[arg(long, value_name = "FILE")]
    encrypt_key_file: Option<PathBuf>,
}

impl Sealing {
    fn key(&self) -> anyhow::Result<Option<Key>> {
        if let Some(path) = &self.encrypt_key_file {
            return Key::from_file(path).map(Some);
        }
        match std::env::var("SHOPCTL_BACKUP_KEY") {
            Ok(text) => Key::parse(text.as_bytes()).map(Some).ok_or_else(|| {
                anyhow::anyhow!(
                    "SHOPCTL_BACKUP_KEY holds no backup key: it must be 64 hex digits (make one with `openssl rand -hex 32`)"
                )
            }),
            Err(_) => Ok(None),
        }
    }
}

/// `backup create`.
#[derive(Debug, Args)]
pub(crate) struct Create {
    #[command(flatten)]
    target: Target,
    /// The directory to write the backup into (default: `backups` in the data directory).
    #[arg(long, alias = "target", value_name = "DIR")]
    to: Option<PathBuf>,
    /// The backup's name (default: `backup-<UTC time>`).
    #[arg(long)]
    name: Option<String>,
    /// How long the backup is kept before `backup prune` deletes it.
    #[arg(long, default_value = "720h", value_parser = parse_duration)]
    ttl: Duration,
    #[command(flatten)]
    sealing: Sealing,
    /// The shop keeps its data on this PostgreSQL server (as `shopctl up --postgres URL`).
    #[arg(long, value_name = "URL")]
    postgres: Option<String>,
    /// Who takes the backup: shopctl itself, or Velero for a shop in Kubernetes (the
    /// namespace's objects and volumes; `velero` on PATH).
    #[arg(long, value_enum, default_value_t = Engine::Shopctl)]
    engine: Engine,
    /// The namespace Velero backs up (`--engine velero`).
    #[arg(long, default_value = "shopctl")]
    namespace: String,
}

/// Who takes or puts back a backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Engine {
    /// shopctl: every database at one consistency point.
    Shopctl,
    /// Velero: a Kubernetes namespace, its phase checked (Velero itself exits 0 on failure).
    Velero,
}

/// A command on one backup.
#[derive(Debug, Args)]
pub(crate) struct Named {
    /// The backup's name (`shopctl backup list` shows them).
    name: String,
    #[command(flatten)]
    place: Where,
    #[command(flatten)]
    sealing: Sealing,
    /// A PostgreSQL server to restore a backup's PostgreSQL dumps into for checking.
    #[arg(long, value_name = "URL")]
    postgres: Option<String>,
}

/// `backup prune`.
#[derive(Debug, Args)]
pub(crate) struct Prune {
    #[command(flatten)]
    place: Where,
    /// Say what would be deleted, and delete nothing.
    #[arg(long)]
    dry_run: bool,
}

/// `shopctl restore`.
#[derive(Debug, Args)]
pub(crate) struct Restore {
    /// The backup to put back.
    name: String,
    #[command(flatten)]
    place: Where,
    #[command(flatten)]
    sealing: Sealing,
    /// Restore only this service's database.
    #[arg(long, value_parser = WITH_DATABASE)]
    service: Option<String>,
    /// Who puts the backup back: shopctl (the data directory's databases) or Velero (a
    /// Kubernetes namespace from a Velero backup).
    #[arg(long, value_enum, default_value_t = Engine::Shopctl)]
    engine: Engine,
    /// The shop's address, checked to serve after a Velero restore (`https://shop.example.com`).
    #[arg(long, value_name = "URL")]
    gateway: Option<String>,
}

fn describe(manifest: &Manifest) -> String {
    let mut text = format!(
        "backup {} taken {} ({}), expires {}\nwrites paused {} ms; {} file(s), {} bytes{}",
        manifest.name,
        manifest.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
        if manifest.online {
            "shop running"
        } else {
            "shop stopped"
        },
        manifest.expires_at.format("%Y-%m-%d"),
        manifest.pause_ms,
        manifest.databases.len(),
        manifest.bytes(),
        manifest
            .encryption
            .as_deref()
            .map_or_else(String::new, |c| format!(", sealed with {c}"))
    );
    for database in &manifest.databases {
        let rows: i64 = database.tables.values().sum();
        let _ = write!(
            text,
            "\n  {:<13} {:<8} migration {}  {} rows  {} bytes  sha256 {}",
            database.service,
            database.backend,
            database.migration_version,
            rows,
            database.bytes,
            &database.sha256[..16]
        );
    }
    text
}

impl Create {
    fn sources(&self) -> anyhow::Result<Vec<Source>> {
        WITH_DATABASE
            .iter()
            .map(|service| {
                let url = match &self.postgres {
                    Some(server) => {
                        database_url(server, &format!("{}_{service}", database_prefix(server)))?
                    }
                    None => shopctl_kit::settings::sqlite_url(
                        &self.target.data_dir.join(format!("{service}.db")),
                    ),
                };
                Ok(Source {
                    service,
                    url: SecretString::from(url),
                })
            })
            .collect()
    }

    /// `--engine velero`: the shop's writes paused (when its services answer) around
    /// `velero backup create --wait`, then the backup's phase judged.
    async fn velero(self, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        velero::installed()?;
        let name = self
            .name
            .clone()
            .unwrap_or_else(|| format!("shopctl-{}", chrono::Utc::now().format("%Y%m%d%H%M%S")));
        let shop = self.target.resolve(global)?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        let paused = if ready(&client, shop.url("order").unwrap_or_default()).await {
            Some(crate::backup::quiesce::pause(&shop).await?)
        } else {
            global.printer().warning(
                "the shop's services do not answer here, so its writes are not paused: the backup is crash-consistent only (pass --base-port or configure the services' URLs to pause them)",
            );
            None
        };
        let outcome = velero::backup(&name, &self.namespace, self.ttl).await;
        let pause_ms = match paused {
            Some(paused) => {
                let (pause, untold) = paused.resume().await;
                warn_untold(global, &untold);
                Some(u64::try_from(pause.as_millis()).unwrap_or(u64::MAX))
            }
            None => None,
        };
        let outcome = audited(
            global,
            &self.target.data_dir,
            "backup_create",
            &name,
            outcome,
            |o| {
                json!({"engine": "velero", "namespace": self.namespace, "phase": o.phase,
                "errors": o.errors, "pause_ms": pause_ms})
            },
        )
        .await?;
        global.printer().result(
            &outcome.describe(),
            &json!({"engine": "velero", "outcome": outcome, "pause_ms": pause_ms}),
        )?;
        Ok(if outcome.completed() {
            ExitStatus::Success
        } else {
            ExitStatus::Failure
        })
    }

    pub(crate) async fn run(self, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        if self.engine == Engine::Velero {
            return self.velero(global).await;
        }
        let key = self.sealing.key()?;
        let store = Store::local(
            &self
                .to
                .clone()
                .unwrap_or_else(|| self.target.data_dir.join("backups")),
        );
        let name = self
            .name
            .clone()
            .unwrap_or_else(|| format!("backup-{}", chrono::Utc::now().format("%Y%m%dT%H%M%SZ")));
        let shop = self.target.resolve(global)?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        let running = processes::read(&self.target.data_dir).is_some()
            || ready(&client, shop.url("order").unwrap_or_default()).await;
        let plan = Plan {
            name,
            ttl: self.ttl,
            key,
            sources: self.sources()?,
            online: running.then_some(shop),
        };
        let target = plan.name.clone();
        let (manifest, untold) = audited(
            global,
            &self.target.data_dir,
            "backup_create",
            &target,
            store.create(plan).await,
            |(m, _)| {
                json!({"engine": "shopctl", "online": m.online, "pause_ms": m.pause_ms,
                    "bytes": m.bytes(), "encrypted": m.encryption.is_some()})
            },
        )
        .await?;
        warn_untold(global, &untold);
        global.printer().result(&describe(&manifest), &manifest)?;
        Ok(ExitStatus::Success)
    }
}

impl Backup {
    pub(crate) async fn run(self, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        match self {
            Self::Create(create) => create.run(global).await,
            Self::List(place) => {
                let manifests = place.store().list()?;
                let mut text = format!(
                    "{:<32} {:<20} {:>10} {:>9}  EXPIRES",
                    "NAME", "CREATED (UTC)", "BYTES", "PAUSE ms"
                );
                for m in &manifests {
                    let _ = write!(
                        text,
                        "\n{:<32} {:<20} {:>10} {:>9}  {}",
                        m.name,
                        m.created_at.format("%Y-%m-%d %H:%M:%S"),
                        m.bytes(),
                        m.pause_ms,
                        m.expires_at.format("%Y-%m-%d")
                    );
                }
                if manifests.is_empty() {
                    text = format!("no backups in {}", place.store().dir("").display());
                }
                global.printer().result(&text, &manifests)?;
                Ok(ExitStatus::Success)
            }
            Self::Describe(named) => {
                let manifest = named.place.store().manifest(&named.name)?;
                global.printer().result(&describe(&manifest), &manifest)?;
                Ok(ExitStatus::Success)
            }
            Self::Verify(named) => named.verify(global).await,
            Self::Prune(prune) => prune.run(global).await,
        }
    }
}

impl Named {
    async fn verify(self, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        let key = self.sealing.key()?;
        let scratch = self
            .postgres
            .clone()
            .map_or(Scratch::Sqlite, Scratch::Postgres);
        let result =
            verify::verify(&self.place.store(), &self.name, key.as_ref(), &scratch).await?;
        let mut text = if result.ok {
            format!(
                "backup {} restores: {} rows checked, invariants hold, the shop served on it after {} ms (RTO); it is {} s old (RPO)",
                result.name,
                result.rows,
                result.rto_ms.unwrap_or_default(),
                result.rpo_secs
            )
        } else {
            format!("backup {} does NOT restore cleanly:", result.name)
        };
        for problem in &result.problems {
            let _ = write!(text, "\n  {problem}");
        }
        global.printer().result(&text, &result)?;
        Ok(if result.ok {
            ExitStatus::Success
        } else {
            ExitStatus::Failure
        })
    }
}

impl Prune {
    async fn run(self, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        let store = self.place.store();
        let now = chrono::Utc::now();
        let expired: Vec<Manifest> = store
            .list()?
            .into_iter()
            .filter(|m| m.expires_at <= now)
            .collect();
        if !self.dry_run {
            for m in &expired {
                audited(
                    global,
                    &self.place.data_dir,
                    "backup_delete",
                    &m.name,
                    store.delete(&m.name),
                    |()| json!({"expired_at": m.expires_at}),
                )
                .await?;
            }
        }
        let names: Vec<&str> = expired.iter().map(|m| m.name.as_str()).collect();
        let verb = if self.dry_run {
            "would delete"
        } else {
            "deleted"
        };
        let text = if names.is_empty() {
            "no backup is past its time to live".to_owned()
        } else {
            format!("{verb} {} backup(s): {}", names.len(), names.join(", "))
        };
        global
            .printer()
            .result(&text, &json!({"dry_run": self.dry_run, "expired": names}))?;
        Ok(ExitStatus::Success)
    }
}

impl Restore {
    /// `--engine velero`: `velero restore create --wait`, its phase judged, then the shop
    /// asked to serve a search.
    async fn velero(self, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        velero::installed()?;
        let outcome = audited(
            global,
            &self.place.data_dir,
            "restore",
            &self.name,
            velero::restore(&self.name).await,
            |o| json!({"engine": "velero", "phase": o.phase, "errors": o.errors}),
        )
        .await?;
        let mut text = outcome.describe();
        let mut serving = None;
        if outcome.completed() {
            match &self.gateway {
                Some(gateway) => {
                    let answer = reqwest::Client::builder()
                        .timeout(Duration::from_secs(10))
                        .build()?
                        .get(format!("{}/api/products?limit=1", gateway.trim_end_matches('/')))
                        .send()
                        .await;
                    let ok = answer.as_ref().is_ok_and(|a| a.status().is_success());
                    let _ = write!(
                        text,
                        "
the shop at {gateway} {}",
                        if ok {
                            "serves a search".to_owned()
                        } else {
                            format!(
                                "does NOT serve a search: {}",
                                answer.map_or_else(|e| e.to_string(), |a| a.status().to_string())
                            )
                        }
                    );
                    serving = Some(ok);
                }
                None => global.printer().warning(
                    "not checked that the shop serves: pass --gateway URL (its address) to check it",
                ),
            }
        }
        global.printer().result(
            &text,
            &json!({"engine": "velero", "outcome": outcome, "serving": serving}),
        )?;
        Ok(if outcome.completed() && serving != Some(false) {
            ExitStatus::Success
        } else {
            ExitStatus::Failure
        })
    }

    pub(crate) async fn run(self, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        if self.engine == Engine::Velero {
            return self.velero(global).await;
        }
        refuse_running(&self.place.data_dir)?;
        let key = self.sealing.key()?;
        let restored = audited(
            global,
            &self.place.data_dir,
            "restore",
            &self.name,
            restore::in_place(
                &self.place.store(),
                &self.name,
                key.as_ref(),
                &self.place.data_dir,
                self.service.as_deref(),
            )
            .await,
            |r| json!({"engine": "shopctl", "services": r.services, "previous": r.previous}),
        )
        .await?;
        let text = format!(
            "restored {} from backup {}; the data it replaced is kept in {}",
            restored.services.join(", "),
            self.name,
            restored.previous
        );
        global.printer().result(&text, &restored)?;
        Ok(ExitStatus::Success)
    }
}

/// Records `action` on `target` in the operator's audit trail: success with `details`, or the
/// error; hands `result` back unchanged.
async fn audited<T>(
    global: &GlobalArgs,
    data_dir: &Path,
    action: &str,
    target: &str,
    result: anyhow::Result<T>,
    details: impl FnOnce(&T) -> serde_json::Value,
) -> anyhow::Result<T> {
    let (outcome, details) = match &result {
        // A Velero backup or restore that ran but did not complete is a failure too.
        Ok(done) => {
            let details = details(done);
            let completed = details["phase"].as_str().is_none_or(|p| p == "Completed");
            let outcome = if completed {
                Audit::Success
            } else {
                Audit::Failure
            };
            (outcome, details)
        }
        Err(e) => (Audit::Failure, json!({"error": format!("{e:#}")})),
    };
    evidence::record_or_warn(data_dir, action, target, outcome, details, global.printer()).await;
    result
}

/// Says which services' writes could not be resumed (each lifts its pause by itself).
fn warn_untold(global: &GlobalArgs, untold: &[&str]) {
    for service in untold {
        global.printer().warning(&format!(
            "the {service} service's writes could not be resumed; its pause ends by itself within a minute"
        ));
    }
}

/// A restore under a running shop would pull its databases from under it.
fn refuse_running(data_dir: &Path) -> anyhow::Result<()> {
    if let Some(running) = processes::read(data_dir) {
        anyhow::bail!(
            "the shop in {} is running (`shopctl up`, pid {}); stop it (Ctrl-C) before restoring into its data",
            data_dir.display(),
            running.up_pid
        );
    }
    Ok(())
}
