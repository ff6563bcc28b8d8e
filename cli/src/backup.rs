//! Backups of the whole shop at one consistency point: writes paused on every database service
//! ([`quiesce`]), each database copied as it is at that moment ([`snapshot`]), writes resumed,
//! then every copy compressed and optionally sealed ([`seal`]) into a backup directory with a
//! [`manifest`] of checksums and row counts. A backup is written under a hidden name and renamed
//! into place once whole, so an interrupted one is never listed. [`verify`] proves a backup
//! restores; [`restore`] puts one back.

pub mod manifest;
pub mod quiesce;
pub mod restore;
pub mod seal;
pub mod snapshot;
pub mod velero;
pub mod verify;

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use chrono::Utc;

use manifest::{Database, Manifest};
use seal::Key;
use snapshot::Source;

use crate::platform::target::Shop;

/// Backups kept in a local directory (default `<data-dir>/backups`): one directory per backup.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

/// What `backup create` is asked to do.
#[derive(Debug)]
pub struct Plan {
    /// The backup's name.
    pub name: String,
    /// How long it is kept.
    pub ttl: Duration,
    /// The key that seals its files, if any.
    pub key: Option<Key>,
    /// Every service database.
    pub sources: Vec<Source>,
    /// The running shop whose writes are paused, or `None` for a shop that is not running.
    pub(crate) online: Option<Shop>,
}

/// Stores one snapshot in `partial`: compressed, sealed with `key` when there is one, hashed.
fn pack(
    source: &Source,
    snapshot: snapshot::Snapshot,
    key: Option<&Key>,
    partial: &Path,
) -> anyhow::Result<Database> {
    let file = source.file_name();
    let stored = seal::pack(&snapshot.raw, &file, key)?;
    let path = partial.join(&file);
    shopctl_kit::files::write_private(&path, &stored)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    Ok(Database {
        service: source.service.to_owned(),
        backend: source.backend().to_owned(),
        migration_version: snapshot.migration_version,
        file,
        bytes: stored.len() as u64,
        raw_bytes: snapshot.raw.len() as u64,
        sha256: seal::sha256_hex(&stored),
        tables: snapshot.tables,
    })
}

/// A backup's name: letters, digits, `-`, `_` and `.`, not starting with `.`.
pub fn check_name(name: &str) -> anyhow::Result<()> {
    let valid = !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !valid {
        anyhow::bail!(
            "`{name}` is not a backup name; use letters, digits, -, _ and . (e.g. nightly-2026-12-06)"
        );
    }
    Ok(())
}

impl Store {
    /// The backups in `root`.
    pub fn local(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }

    /// Where the backup `name` is.
    pub fn dir(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// The manifest of the backup `name`.
    pub fn manifest(&self, name: &str) -> anyhow::Result<Manifest> {
        check_name(name)?;
        let path = self.dir(name).join(manifest::FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            if self.dir(name).is_dir() {
                anyhow::anyhow!(
                    "{} cannot be read ({e}): the backup is incomplete",
                    path.display()
                )
            } else {
                anyhow::anyhow!(
                    "no backup named {name} in {}; `shopctl backup list` shows them",
                    self.root.display()
                )
            }
        })?;
        Manifest::parse(&text, &path.display().to_string())
    }

    /// Every backup's manifest, oldest first; a directory without a readable one is skipped.
    pub fn list(&self) -> anyhow::Result<Vec<Manifest>> {
        let entries = match std::fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => anyhow::bail!("cannot read {}: {e}", self.root.display()),
        };
        let mut manifests: Vec<Manifest> = entries
            .filter_map(Result::ok)
            .filter_map(|entry| entry.file_name().to_str().map(str::to_owned))
            .filter(|name| check_name(name).is_ok())
            .filter_map(|name| self.manifest(&name).ok())
            .collect();
        manifests.sort_by_key(|m| m.created_at);
        Ok(manifests)
    }

    /// The file `file` of the backup `name`, as stored.
    pub fn read(&self, name: &str, file: &str) -> anyhow::Result<Vec<u8>> {
        let path = self.dir(name).join(file);
        std::fs::read(&path).map_err(|e| anyhow::anyhow!("{} cannot be read: {e}", path.display()))
    }

    /// Deletes the backup `name`.
    pub fn delete(&self, name: &str) -> anyhow::Result<()> {
        check_name(name)?;
        std::fs::remove_dir_all(self.dir(name))
            .map_err(|e| anyhow::anyhow!("cannot delete backup {name}: {e}"))
    }

    /// Takes the backup `plan` describes; returns its manifest and the services whose writes
    /// could not be resumed (their pause ends by itself).
    pub async fn create(&self, plan: Plan) -> anyhow::Result<(Manifest, Vec<&'static str>)> {
        check_name(&plan.name)?;
        if self.dir(&plan.name).exists() {
            anyhow::bail!(
                "a backup named {} exists already in {}; choose another --name",
                plan.name,
                self.root.display()
            );
        }
        shopctl_kit::files::create_private_dir(&self.root)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", self.root.display()))?;
        let partial = self.root.join(format!(".{}.partial", plan.name));
        let _ = std::fs::remove_dir_all(&partial);
        shopctl_kit::files::create_private_dir(&partial)
            .map_err(|e| anyhow::anyhow!("cannot write into {}: {e}", self.root.display()))?;
        let written = Self::write(&partial, &plan).await;
        match written {
            Ok((manifest, untold)) => {
                std::fs::rename(&partial, self.dir(&plan.name)).map_err(|e| {
                    let _ = std::fs::remove_dir_all(&partial);
                    anyhow::anyhow!("cannot put the backup in place: {e}")
                })?;
                Ok((manifest, untold))
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&partial);
                Err(e)
            }
        }
    }

    async fn write(partial: &Path, plan: &Plan) -> anyhow::Result<(Manifest, Vec<&'static str>)> {
        let created_at = Utc::now();
        // The consistency point: every database copied while writes are paused.
        let paused = match &plan.online {
            Some(shop) => Some(quiesce::pause(shop).await?),
            None => None,
        };
        // Every database at once: each copy runs on its own connection's thread.
        let taken = futures_util::future::join_all(
            plan.sources
                .iter()
                .map(|source| snapshot::take(source, partial)),
        )
        .await;
        let (pause, untold) = match paused {
            Some(paused) => paused.resume().await,
            None => (Duration::ZERO, Vec::new()),
        };
        let mut packing = Vec::new();
        for (source, snapshot) in plan.sources.iter().zip(taken) {
            let (source, snapshot) = (source.clone(), snapshot?);
            let (key, partial) = (plan.key.clone(), partial.to_path_buf());
            // Compressing is CPU work: one blocking task per database, side by side.
            packing.push(tokio::task::spawn_blocking(move || {
                pack(&source, snapshot, key.as_ref(), &partial)
            }));
        }
        let mut databases = Vec::new();
        for packed in futures_util::future::join_all(packing).await {
            databases.push(packed??);
        }
        let manifest = Manifest {
            format: manifest::FORMAT,
            name: plan.name.clone(),
            shopctl_version: env!("CARGO_PKG_VERSION").to_owned(),
            created_at,
            expires_at: created_at + chrono::Duration::from_std(plan.ttl)?,
            pause_ms: u64::try_from(pause.as_millis()).unwrap_or(u64::MAX),
            online: plan.online.is_some(),
            encryption: plan.key.as_ref().map(|_| seal::CIPHER.to_owned()),
            databases,
        };
        let path = partial.join(manifest::FILE);
        shopctl_kit::files::write_private(
            &path,
            serde_json::to_string_pretty(&manifest)?.as_bytes(),
        )
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        Ok((manifest, untold))
    }
}
