//! `manifest.json`: what a backup holds and how to check it, written last (a backup without one
//! is incomplete) and read first.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The manifest format this build writes and reads; a newer one is refused by name.
pub const FORMAT: u32 = 1;

/// The manifest's file name in a backup.
pub const FILE: &str = "manifest.json";

/// A whole backup: one consistency point across every service database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`] when written.
    pub format: u32,
    /// The backup's name (its directory).
    pub name: String,
    /// The `shopctl` version that wrote it.
    pub shopctl_version: String,
    /// When the consistency point was taken (writes paused).
    pub created_at: DateTime<Utc>,
    /// When `backup prune` may delete it.
    pub expires_at: DateTime<Utc>,
    /// How long writes were paused, in milliseconds (0 for a shop that was not running).
    pub pause_ms: u64,
    /// Whether the services were running (and so paused) while it was taken.
    pub online: bool,
    /// How the files are sealed, when they are: `xchacha20poly1305`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<String>,
    /// One entry per service database.
    pub databases: Vec<Database>,
}

/// One service's database in a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Database {
    /// The service that owns it.
    pub service: String,
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// The newest migration applied to it.
    pub migration_version: i64,
    /// The file in the backup (zstd-compressed, then sealed when encrypted).
    pub file: String,
    /// Its size as stored.
    pub bytes: u64,
    /// The snapshot's size before compression.
    pub raw_bytes: u64,
    /// SHA-256 of the file as stored, hex.
    pub sha256: String,
    /// Rows per table at the consistency point.
    pub tables: BTreeMap<String, i64>,
}

impl Manifest {
    /// Reads a manifest, refusing one of a newer format or one that is not a manifest.
    pub fn parse(text: &str, origin: &str) -> anyhow::Result<Self> {
        #[derive(Deserialize)]
        struct Format {
            format: u32,
        }
        let format: Format = serde_json::from_str(text)
            .map_err(|e| anyhow::anyhow!("{origin} is not a backup manifest: {e}"))?;
        if format.format > FORMAT {
            anyhow::bail!(
                "{origin} is of manifest format {}, newer than this shopctl reads ({FORMAT}); use a newer shopctl",
                format.format
            );
        }
        serde_json::from_str(text)
            .map_err(|e| anyhow::anyhow!("{origin} is not a backup manifest: {e}"))
    }

    /// Total bytes stored.
    pub fn bytes(&self) -> u64 {
        self.databases.iter().map(|d| d.bytes).sum()
    }

    /// How old the backup is at `now`: the data lost if it were restored now (the RPO).
    pub fn age(&self, now: DateTime<Utc>) -> chrono::Duration {
        now - self.created_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newer_format_or_no_manifest_is_refused_by_name() {
        let err = Manifest::parse(r#"{"format": 9}"#, "b1/manifest.json").unwrap_err();
        assert!(err.to_string().contains("manifest format 9"), "{err}");
        let err = Manifest::parse("garbage", "b1/manifest.json").unwrap_err();
        assert!(
            err.to_string()
                .contains("b1/manifest.json is not a backup manifest"),
            "{err}"
        );
    }
}
