//! Every operator action is evidence: `shopctl`'s own audit trail, `<data_dir>/audit/shopctl.jsonl`,
//! kit's hash-chained log (`shopctl_kit::audit`) beside the services' own trails. A command that
//! changes the running platform (a fault injected or cleared, and deploys, restores, runbook
//! remediations and dashboard actions as they come) appends one record of what was asked, of
//! which target, and how it ended.
//!
//! Each record is written by a short-lived process, and two processes continuing one chain at
//! once would fork it (each reads the same last record). So a record is appended under a lock
//! file beside the log (`shopctl.jsonl.lock`, created exclusively; one left by a process that
//! died is taken over after a few seconds).
//!
//! The actor is `operator:<login>`, the login the environment names (`$USER`, `$LOGNAME`) or
//! else the user id: what the machine says, not an authenticated identity. No secret (token,
//! password) belongs in a record's details.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant, SystemTime},
};

use shopctl_kit::audit::{AuditEvent, AuditLog, Outcome};

/// The service name the records carry.
pub const SERVICE: &str = "shopctl";

/// How long a writer waits for another to finish.
const LOCK_WAIT: Duration = Duration::from_secs(10);
/// A lock file older than this was left by a process that died while holding it.
const LOCK_STALE: Duration = Duration::from_secs(5);

/// `<data_dir>/audit/shopctl.jsonl`.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("audit").join(format!("{SERVICE}.jsonl"))
}

/// Who acts: `operator:<login>` (`$USER`, else `$LOGNAME`, else the user id).
pub fn actor() -> String {
    let login = ["USER", "LOGNAME"]
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .map(|login| login.trim().to_owned())
        .find(|login| !login.is_empty())
        .unwrap_or_else(uid);
    format!("operator:{login}")
}

/// The user id of this process, as text (`unknown` where it cannot be read).
fn uid() -> String {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        if let Ok(meta) = std::fs::metadata("/proc/self") {
            return meta.uid().to_string();
        }
    }
    "unknown".to_owned()
}

/// [`record`], and when the record cannot be written a warning through `printer`: the action
/// has happened (or not) either way.
pub(crate) async fn record_or_warn(
    data_dir: &Path,
    action: &str,
    target: &str,
    outcome: Outcome,
    details: serde_json::Value,
    printer: crate::printer::Printer,
) {
    if let Err(e) = record(data_dir, action, target, outcome, details).await {
        printer.warning(&format!(
            "{action} of {target} is not in the audit trail: {e:#}"
        ));
    }
}

/// Appends one record to `data_dir`'s `audit/shopctl.jsonl`: `action` (snake_case, e.g.
/// `fault_inject`) on `target`, how it ended, and `details` (never secrets). Creates the
/// directory and the log owner-only when missing.
pub async fn record(
    data_dir: &Path,
    action: &str,
    target: &str,
    outcome: Outcome,
    details: serde_json::Value,
) -> anyhow::Result<()> {
    let path = path(data_dir);
    if let Some(dir) = path.parent() {
        shopctl_kit::files::create_private_dir(dir)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    }
    let _lock = Lock::take(&path).await?;
    let log = AuditLog::open(&path, SERVICE).await?;
    log.append(AuditEvent {
        actor: actor(),
        action: action.to_owned(),
        target: Some(target.to_owned()),
        outcome,
        details,
    })
    .await?;
    Ok(())
}

/// The lock file beside a log, removed when dropped.
struct Lock(PathBuf);

impl Lock {
    async fn take(log: &Path) -> anyhow::Result<Self> {
        let mut name = log.as_os_str().to_owned();
        name.push(".lock");
        let path = PathBuf::from(name);
        let started = Instant::now();
        loop {
            match shopctl_kit::files::private_options()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(_) => return Ok(Self(path)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let age = std::fs::metadata(&path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|at| SystemTime::now().duration_since(at).ok());
                    if age.is_some_and(|age| age > LOCK_STALE) {
                        let _ = std::fs::remove_file(&path);
                        continue;
                    }
                    if started.elapsed() > LOCK_WAIT {
                        anyhow::bail!(
                            "{} has been locked for {} s by another shopctl; remove it if none runs",
                            path.display(),
                            LOCK_WAIT.as_secs()
                        );
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => anyhow::bail!("cannot lock {}: {e}", path.display()),
            }
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use shopctl_kit::audit::{AuditRecord, verify};

    use super::*;

    fn records(data_dir: &Path) -> Vec<AuditRecord> {
        std::fs::read_to_string(path(data_dir))
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    #[tokio::test]
    async fn records_continue_one_chain_even_when_written_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        record(
            &data,
            "fault_inject",
            "payment",
            Outcome::Success,
            serde_json::json!({"error_rate": 0.5}),
        )
        .await
        .unwrap();
        // Writers that race each other, as separate processes would (each opens the log).
        let writers: Vec<_> = (0..8)
            .map(|i| {
                let data = data.clone();
                tokio::spawn(async move {
                    record(
                        &data,
                        "fault_clear",
                        &format!("service{i}"),
                        Outcome::Failure,
                        serde_json::json!({"error": "unreachable"}),
                    )
                    .await
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap().unwrap();
        }
        assert_eq!(verify(&path(&data)).await.unwrap(), 9);
        let records = records(&data);
        assert_eq!(records[0].service, "shopctl");
        assert_eq!(records[0].action, "fault_inject");
        assert_eq!(records[0].target.as_deref(), Some("payment"));
        assert!(
            records[0].actor.starts_with("operator:"),
            "{}",
            records[0].actor
        );
        assert!(records[0].actor.len() > "operator:".len());
        assert_eq!(records[0].details["error_rate"], 0.5);
        assert_eq!(records[8].outcome, Outcome::Failure);
        assert!(
            !path(&data).with_extension("jsonl.lock").exists(),
            "the lock is gone"
        );
    }

    #[tokio::test]
    async fn a_lock_left_by_a_dead_writer_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let log = path(dir.path());
        std::fs::create_dir_all(log.parent().unwrap()).unwrap();
        let lock = log.with_extension("jsonl.lock");
        let file = std::fs::File::create(&lock).unwrap();
        file.set_modified(SystemTime::now() - Duration::from_secs(60))
            .unwrap();
        record(
            dir.path(),
            "fault_clear",
            "product",
            Outcome::Success,
            serde_json::json!({}),
        )
        .await
        .unwrap();
        assert_eq!(verify(&log).await.unwrap(), 1);
        assert!(!lock.exists());
    }
}
