//! The Velero engine for a shop in Kubernetes: `velero backup create … --wait` and
//! `velero restore create … --wait`, then the object read back (`velero … get NAME -o json`) and
//! its `status.phase` judged, because Velero's own exit status is 0 for a backup or restore that
//! ended `Failed` or `PartiallyFailed`. Only `Completed` is success.

use std::{ffi::OsStr, fmt::Write as _, process::Stdio, time::Duration};

use serde::Serialize;
use serde_json::Value;

/// How a Velero backup or restore ended, as its object says.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// `backup` or `restore`.
    pub kind: &'static str,
    /// Its name.
    pub name: String,
    /// `status.phase`: `Completed`, `PartiallyFailed`, `Failed`, …
    pub phase: String,
    /// `status.errors`.
    pub errors: u64,
    /// `status.warnings`.
    pub warnings: u64,
    /// `status.failureReason`, when Velero gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
}

impl Outcome {
    /// Whether it completed (and nothing less).
    pub fn completed(&self) -> bool {
        self.phase == "Completed"
    }

    /// One line saying how it ended and, when it did not complete, where to look.
    pub fn describe(&self) -> String {
        let mut text = format!(
            "velero {} {}: {} ({} error(s), {} warning(s))",
            self.kind, self.name, self.phase, self.errors, self.warnings
        );
        if let Some(reason) = &self.failure_reason {
            let _ = write!(text, "; {reason}");
        }
        if !self.completed() {
            let _ = write!(
                text,
                "; see `velero {} logs {}` and `velero {} describe {} --details`",
                self.kind, self.name, self.kind, self.name
            );
        }
        text
    }

    fn read(kind: &'static str, name: &str, object: &Value) -> anyhow::Result<Self> {
        let status = &object["status"];
        let phase = status["phase"].as_str().ok_or_else(|| {
            anyhow::anyhow!("velero's {kind} {name} has no status.phase: {object}")
        })?;
        Ok(Self {
            kind,
            name: name.to_owned(),
            phase: phase.to_owned(),
            errors: status["errors"].as_u64().unwrap_or(0),
            warnings: status["warnings"].as_u64().unwrap_or(0),
            failure_reason: status["failureReason"].as_str().map(str::to_owned),
        })
    }
}

/// `720h0m0s`: a duration as Velero's `--ttl` takes it.
pub fn ttl(duration: Duration) -> String {
    let secs = duration.as_secs();
    format!("{}h{}m{}s", secs / 3600, secs % 3600 / 60, secs % 60)
}

/// Checks that `velero` is on `PATH`, before anything is paused or started.
pub fn installed() -> anyhow::Result<()> {
    let found = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("velero").is_file()));
    if found { Ok(()) } else { Err(not_installed()) }
}

fn not_installed() -> anyhow::Error {
    anyhow::anyhow!(
        "velero is not installed (not on PATH); install the Velero CLI (velero.io/docs) or back up with the default engine"
    )
}

/// Runs `velero args…`; its standard output when it exits 0.
async fn velero<I, S>(args: I) -> anyhow::Result<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let output = tokio::process::Command::new("velero")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                not_installed()
            } else {
                anyhow::anyhow!("cannot run velero: {e}")
            }
        })?;
    if !output.status.success() {
        anyhow::bail!(
            "velero failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

async fn get(kind: &'static str, name: &str) -> anyhow::Result<Outcome> {
    let text = velero([kind, "get", name, "-o", "json"]).await?;
    let object: Value = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("velero {kind} get {name} printed no JSON object ({e})"))?;
    Outcome::read(kind, name, &object)
}

/// `velero backup create NAME --include-namespaces NAMESPACE --ttl TTL --wait`, then the
/// backup's phase.
pub async fn backup(name: &str, namespace: &str, keep: Duration) -> anyhow::Result<Outcome> {
    velero([
        "backup",
        "create",
        name,
        "--include-namespaces",
        namespace,
        "--ttl",
        &ttl(keep),
        "--wait",
    ])
    .await?;
    get("backup", name).await
}

/// `velero restore create NAME --from-backup BACKUP --wait`, then the restore's phase.
pub async fn restore(backup: &str) -> anyhow::Result<Outcome> {
    let name = format!("{backup}-{}", chrono::Utc::now().format("%Y%m%d%H%M%S"));
    velero([
        "restore",
        "create",
        &name,
        "--from-backup",
        backup,
        "--wait",
    ])
    .await?;
    get("restore", &name).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_are_written_as_velero_takes_them() {
        assert_eq!(ttl(Duration::from_secs(720 * 3600)), "720h0m0s");
        assert_eq!(ttl(Duration::from_secs(90)), "0h1m30s");
    }

    #[test]
    fn only_completed_is_success_and_the_rest_says_where_to_look() {
        let partial = Outcome::read(
            "backup",
            "b1",
            &serde_json::json!({"status": {"phase": "PartiallyFailed", "errors": 2, "warnings": 1}}),
        )
        .unwrap();
        assert!(!partial.completed());
        assert!(
            partial
                .describe()
                .contains("PartiallyFailed (2 error(s), 1 warning(s))")
        );
        assert!(partial.describe().contains("velero backup logs b1"));
        let none = Outcome::read("backup", "b1", &serde_json::json!({"status": {}}));
        assert!(none.is_err());
    }
}
