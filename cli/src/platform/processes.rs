//! `<data_dir>/run/processes.json`: what `shopctl up` runs right now, for the commands and the
//! dashboard that watch or act on a running shop from another process. `up` keeps each child's
//! pid in memory (a `watch` channel the supervisors update); [`publish`] mirrors that channel
//! into the file on every change and removes the file at a clean shutdown.
//!
//! The file is replaced whole (a temporary file renamed over it), so a reader never sees half of
//! it. An `up` killed outright (SIGKILL) leaves it behind; [`read`] tells such a file from a live
//! one by the `up` process it names, and [`restart`] signals only a process that is still `up`'s
//! child, so a pid reused by an unrelated process is never signalled.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    time::Duration,
};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::printer::Printer;

/// How long [`restart`] waits for the supervisor to start the service again.
const RESTART_TIMEOUT: Duration = Duration::from_secs(30);
/// How often [`restart`] reads the file while it waits.
const RESTART_POLL: Duration = Duration::from_millis(200);

/// What `shopctl up` runs, as `run/processes.json` holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Processes {
    /// When the file was last written.
    pub updated_at: DateTime<Utc>,
    /// The `shopctl up` process.
    pub up_pid: u32,
    /// Whether the services run as tasks of `up` itself (`up --in-process`): then every pid is
    /// `up_pid` and no service can be restarted alone.
    pub in_process: bool,
    /// Each service (and, with `--monitor`, Prometheus and Alertmanager) by name.
    pub services: BTreeMap<String, Process>,
}

/// One supervised service or tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Process {
    /// Its current process id (for a monitoring tool, that of the `shopctl guard` holding it).
    pub pid: u32,
    /// How many times the supervisor started it after its first start.
    pub restarts: u32,
    /// When the current process (or task) was started.
    pub started_at: DateTime<Utc>,
}

/// `<data_dir>/run/processes.json`.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("run").join("processes.json")
}

/// What the `up` running from `data_dir` runs; `None` when no `up` runs from it: no file, a file
/// that cannot be read or parsed, or one left behind by an `up` that is gone.
pub fn read(data_dir: &Path) -> Option<Processes> {
    let text = std::fs::read_to_string(path(data_dir)).ok()?;
    let processes: Processes = serde_json::from_str(&text).ok()?;
    alive(processes.up_pid).then_some(processes)
}

/// Replaces the file with `processes`, owner-only, creating `run/` (0700) when missing. The
/// new content is written to a temporary file and renamed over the old one.
pub fn write(data_dir: &Path, processes: &Processes) -> anyhow::Result<()> {
    let path = path(data_dir);
    let dir = path.parent().unwrap_or(data_dir);
    shopctl_kit::files::create_private_dir(dir)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    let temporary = dir.join(format!(".processes.json.{}", std::process::id()));
    super::write_private(&temporary, &serde_json::to_string_pretty(processes)?)?;
    std::fs::rename(&temporary, &path).map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        anyhow::anyhow!("cannot replace {}: {e}", path.display())
    })
}

/// Removes the file (a clean shutdown); a file already gone is fine.
pub fn remove(data_dir: &Path) {
    let _ = std::fs::remove_file(path(data_dir));
}

/// Writes the file from `live` (each service's current process, as the supervisors report it)
/// now and on every change, until every sender of `live` is gone (the supervisors have ended),
/// then removes it. A write that fails is said once through `printer`; the shop runs on.
pub async fn publish(
    data_dir: PathBuf,
    in_process: bool,
    mut live: watch::Receiver<BTreeMap<String, Process>>,
    printer: Printer,
) {
    let up_pid = std::process::id();
    let mut warned = false;
    loop {
        let services = live
            .borrow_and_update()
            .iter()
            .map(|(name, process)| (name.clone(), *process))
            .collect();
        let processes = Processes {
            updated_at: Utc::now(),
            up_pid,
            in_process,
            services,
        };
        if let Err(e) = write(&data_dir, &processes)
            && !warned
        {
            warned = true;
            printer.warning(&format!(
                "{e:#}; `shopctl status` and the dashboard cannot see the processes"
            ));
        }
        if live.changed().await.is_err() {
            break;
        }
    }
    remove(&data_dir);
}

/// Restarts one service of the shop running from `data_dir`: sends its process SIGTERM (it
/// drains and exits; `up`'s supervisor starts it again) and waits up to 30 s for the file to
/// show a new process. Returns the new pid. Refused for a shop run with `up --in-process`,
/// whose services share one process.
pub async fn restart(data_dir: &Path, service: &str) -> anyhow::Result<u32> {
    let file = path(data_dir);
    let Some(processes) = read(data_dir) else {
        anyhow::bail!(
            "no shop runs from {} (no live {}); start one with `shopctl up`",
            data_dir.display(),
            file.display()
        );
    };
    let refused_in_process = || {
        anyhow::anyhow!(
            "the shop runs with `shopctl up --in-process`, where one service cannot be restarted alone; restart the shop"
        )
    };
    if processes.in_process {
        return Err(refused_in_process());
    }
    let Some(process) = processes.services.get(service) else {
        let known: Vec<&str> = processes.services.keys().map(String::as_str).collect();
        anyhow::bail!(
            "`{service}` is not among the processes of this shop ({})",
            known.join(", ")
        );
    };
    if process.pid == processes.up_pid {
        return Err(refused_in_process());
    }
    let old = process.pid;
    stop_child(old, processes.up_pid)?;
    let waited = tokio::time::timeout(RESTART_TIMEOUT, async {
        loop {
            tokio::time::sleep(RESTART_POLL).await;
            let Some(now) = read(data_dir) else {
                anyhow::bail!("the shop stopped while {service} was restarting");
            };
            if let Some(current) = now.services.get(service)
                && current.pid != old
            {
                return Ok(current.pid);
            }
        }
    })
    .await;
    waited.unwrap_or_else(|_| {
        Err(anyhow::anyhow!(
            "{service} (pid {old}) was asked to stop, but no new process appeared within {} s; see {} and `shopctl status`",
            RESTART_TIMEOUT.as_secs(),
            data_dir.join("logs").join(format!("{service}.log")).display()
        ))
    })
}

/// Sends SIGTERM to `pid` if it is still a child of `up_pid`. A process already gone is fine
/// (the supervisor is restarting it anyway).
#[cfg(unix)]
fn stop_child(pid: u32, up_pid: u32) -> anyhow::Result<()> {
    use nix::{errno::Errno, sys::signal, unistd::Pid};
    if !alive(pid) {
        return Ok(());
    }
    if let Some(parent) = parent_of(pid)
        && parent != up_pid
    {
        anyhow::bail!(
            "process {pid} is no longer a child of `shopctl up` (pid {up_pid}); nothing was signalled"
        );
    }
    let raw = i32::try_from(pid)?;
    match signal::kill(Pid::from_raw(raw), signal::Signal::SIGTERM) {
        Ok(()) | Err(Errno::ESRCH) => Ok(()),
        Err(e) => anyhow::bail!("cannot signal process {pid}: {e}"),
    }
}

#[cfg(not(unix))]
fn stop_child(pid: u32, _up_pid: u32) -> anyhow::Result<()> {
    anyhow::bail!("restarting process {pid} needs Unix signals")
}

/// The parent of `pid`, from `/proc` (`None` where there is none, or the process is gone).
#[cfg(unix)]
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid …`: the command name may hold spaces and parentheses.
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Whether process `pid` exists (signal 0: delivered, or refused for lack of permission).
#[cfg(unix)]
fn alive(pid: u32) -> bool {
    use nix::{errno::Errno, sys::signal, unistd::Pid};
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    raw > 0
        && matches!(
            signal::kill(Pid::from_raw(raw), None),
            Ok(()) | Err(Errno::EPERM)
        )
}

#[cfg(not(unix))]
fn alive(_pid: u32) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn processes(in_process: bool, pids: &[(&str, u32)]) -> Processes {
        Processes {
            updated_at: Utc::now(),
            up_pid: std::process::id(),
            in_process,
            services: pids
                .iter()
                .map(|(name, pid)| {
                    (
                        (*name).to_owned(),
                        Process {
                            pid: *pid,
                            restarts: 0,
                            started_at: Utc::now(),
                        },
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn what_is_written_is_read_back_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()), None, "no file, no shop");
        let mut written = processes(false, &[("product", 4242), ("gateway", 4243)]);
        written.services.get_mut("product").unwrap().restarts = 3;
        write(dir.path(), &written).unwrap();
        assert_eq!(read(dir.path()), Some(written.clone()));
        // The shape others read.
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path(dir.path())).unwrap()).unwrap();
        assert_eq!(json["up_pid"], std::process::id());
        assert_eq!(json["in_process"], false);
        assert_eq!(json["services"]["product"]["pid"], 4242);
        assert_eq!(json["services"]["product"]["restarts"], 3);
        assert!(json["services"]["product"]["started_at"].is_string());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&path(dir.path())), 0o600);
            assert_eq!(mode(&dir.path().join("run")), 0o700);
        }
        // Replaced whole, no temporary file left beside it.
        write(dir.path(), &processes(false, &[("product", 5000)])).unwrap();
        assert_eq!(read(dir.path()).unwrap().services.len(), 1);
        let names: Vec<_> = std::fs::read_dir(dir.path().join("run"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["processes.json"]);
        remove(dir.path());
        assert_eq!(read(dir.path()), None);
    }

    #[test]
    fn a_file_left_by_an_up_that_is_gone_is_no_shop() {
        let dir = tempfile::tempdir().unwrap();
        let mut left = processes(false, &[("product", 4242)]);
        // A pid above Linux's maximum (2^22) belongs to no process.
        left.up_pid = 4_194_305;
        write(dir.path(), &left).unwrap();
        assert_eq!(read(dir.path()), None);
    }

    #[tokio::test]
    async fn one_service_of_an_in_process_shop_is_not_restarted_alone() {
        let dir = tempfile::tempdir().unwrap();
        let own = std::process::id();
        write(dir.path(), &processes(true, &[("product", own)])).unwrap();
        let err = restart(dir.path(), "product")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("--in-process"), "{err}");
        assert!(err.contains("restart the shop"), "{err}");
        assert!(!err.contains('\n'), "one line: {err}");
        // The same when only the pid tells (a file from an older `up`).
        write(dir.path(), &processes(false, &[("product", own)])).unwrap();
        let err = restart(dir.path(), "product")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("--in-process"), "{err}");
    }

    #[tokio::test]
    async fn an_unknown_service_or_no_shop_is_refused_naming_what_there_is() {
        let dir = tempfile::tempdir().unwrap();
        let err = restart(dir.path(), "product")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("shopctl up"), "{err}");
        write(
            dir.path(),
            &processes(false, &[("gateway", 4_194_305), ("product", 4_194_306)]),
        )
        .unwrap();
        let err = restart(dir.path(), "catalog")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("`catalog`"), "{err}");
        assert!(err.contains("gateway, product"), "{err}");
    }

    /// This test process plays `up`: its child is signalled, and the restart is done when the
    /// file shows the pid of the child that replaced it.
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn a_restart_stops_the_child_and_returns_the_pid_that_replaced_it() {
        use std::os::unix::process::ExitStatusExt as _;
        let dir = tempfile::tempdir().unwrap();
        let mut first = tokio::process::Command::new("sleep")
            .arg("60")
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let old = first.id().unwrap();
        write(dir.path(), &processes(false, &[("product", old)])).unwrap();
        let data = dir.path().to_path_buf();
        let supervisor = tokio::spawn(async move {
            let status = first.wait().await.unwrap();
            let second = tokio::process::Command::new("sleep")
                .arg("60")
                .kill_on_drop(true)
                .spawn()
                .unwrap();
            let mut now = processes(false, &[("product", second.id().unwrap())]);
            now.services.get_mut("product").unwrap().restarts = 1;
            write(&data, &now).unwrap();
            (status, second)
        });
        let new = restart(dir.path(), "product").await.unwrap();
        let (status, second) = supervisor.await.unwrap();
        assert_eq!(status.signal(), Some(15), "stopped by SIGTERM");
        assert_eq!(Some(new), second.id());
        assert_ne!(new, old);
    }

    /// A pid in the file that now belongs to a process `up` did not start is left alone.
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn a_process_that_is_not_ups_child_is_not_signalled() {
        let dir = tempfile::tempdir().unwrap();
        let mut stranger = tokio::process::Command::new("sleep")
            .arg("60")
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut listed = processes(false, &[("product", stranger.id().unwrap())]);
        // The live parent of this test process stands in for an `up` that is not its parent.
        listed.up_pid = std::os::unix::process::parent_id();
        write(dir.path(), &listed).unwrap();
        let err = restart(dir.path(), "product")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("no longer a child"), "{err}");
        assert!(stranger.try_wait().unwrap().is_none(), "still running");
        let _ = stranger.kill().await;
    }
}
