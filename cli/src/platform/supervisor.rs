//! The supervisor behind `shopctl up`: every service as a child process (`shopctl serve <svc>`,
//! its output in its log, a lifeline on its stdin) or as a task of this process, and the tools of
//! `up --monitor` (each behind `shopctl guard`, which holds the lifeline for it), restarted with
//! backoff (0.5 s, doubling to 30 s; reset after a minute up) until shutdown, then stopped with
//! SIGTERM and, after 10 s, SIGKILL. What happens to a child is said through the `Printer`;
//! each start (pid, restarts so far, when) goes into the `watch` channel that `up` publishes as
//! `run/processes.json` (platform::processes).

use std::{
    collections::BTreeMap,
    ffi::OsString,
    path::PathBuf,
    process::Stdio,
    time::{Duration, Instant},
};

use shopctl_kit::settings::ConfigSource;
use tokio::{process::Command, sync::watch};

use super::{lifeline, processes::Process};
use crate::{
    logs::rotate::{RotatingFile, Rotation},
    printer::Printer,
};

/// Copies what a child writes, line by line, into its rotating log file.
async fn copy_lines(
    from: impl tokio::io::AsyncRead + Unpin,
    to: std::sync::Arc<std::sync::Mutex<RotatingFile>>,
) {
    use tokio::io::AsyncBufReadExt as _;
    let mut reader = tokio::io::BufReader::new(from);
    let mut line = Vec::with_capacity(512);
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                if line.last() != Some(&b'\n') {
                    line.push(b'\n');
                }
                if let Ok(mut file) = to.lock() {
                    let _ = file.write_line(&line);
                }
            }
        }
    }
}

/// What a supervised child runs.
#[derive(Debug, Clone)]
pub enum Run {
    /// `shopctl serve <service>`: one replica of the service.
    Service {
        /// The service it serves.
        service: &'static str,
    },
    /// A program of its own (Prometheus, Alertmanager), kept on the lifeline by `shopctl guard`.
    Tool {
        /// The program.
        program: PathBuf,
        /// Its arguments.
        args: Vec<OsString>,
    },
}

/// What a supervised child process is started with, and where what happens to it goes.
#[derive(Debug, Clone)]
pub struct Supervised {
    /// What it runs.
    pub run: Run,
    /// The configuration file every service reads.
    pub config: PathBuf,
    /// Its environment (secrets, database URLs).
    pub env: Vec<(String, String)>,
    /// The directory of the services' logs.
    pub logs: PathBuf,
    /// How each log file is rotated and bounded.
    pub rotation: Rotation,
    /// Turns true when everything should stop.
    pub stop: watch::Receiver<bool>,
    /// Each service's current process: its id, restarts so far and start time.
    pub pids: watch::Sender<BTreeMap<String, Process>>,
    /// Restarts and failures are said through it.
    pub printer: Printer,
}

/// One supervised child, `name` in the process table and its log file's name: started,
/// watched, restarted with backoff until shutdown.
pub async fn supervise(name: String, supervised: Supervised) {
    let Supervised {
        run,
        config,
        env,
        logs,
        rotation,
        mut stop,
        pids,
        printer,
    } = supervised;
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("shopctl"));
    let mut backoff = Duration::from_millis(500);
    let mut restarts: u32 = 0;
    let log_path = logs.join(format!("{name}.log"));
    let log = match RotatingFile::open(&log_path, rotation) {
        Ok(file) => std::sync::Arc::new(std::sync::Mutex::new(file)),
        Err(e) => {
            printer.warning(&format!(
                "{name}: cannot open its log {}: {e}",
                log_path.display()
            ));
            return;
        }
    };
    loop {
        // The child's stdin is its lifeline (platform::lifeline): this task holds the write end
        // until the child ends, and the kernel closes it should this process die.
        let mut command = Command::new(&exe);
        match &run {
            Run::Service { service } => command
                .arg("--config")
                .arg(&config)
                .args(["serve", service]),
            Run::Tool { program, args } => command.args(["guard", "--"]).arg(program).args(args),
        };
        let spawned = command
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env(lifeline::ENV, lifeline::STDIN)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) => {
                printer.warning(&format!("{name}: cannot start: {e}"));
                return;
            }
        };
        let _lifeline = child.stdin.take();
        // Its output goes through this process into the rotating file; should this process
        // die, the child's writes fail quietly and its lifeline ends it.
        if let Some(out) = child.stdout.take() {
            tokio::spawn(copy_lines(out, std::sync::Arc::clone(&log)));
        }
        if let Some(err) = child.stderr.take() {
            tokio::spawn(copy_lines(err, std::sync::Arc::clone(&log)));
        }
        let pid = child.id().unwrap_or_default();
        pids.send_modify(|pids| {
            pids.insert(
                name.clone(),
                Process {
                    pid,
                    restarts,
                    started_at: chrono::Utc::now(),
                },
            );
        });
        restarts = restarts.saturating_add(1);
        let started = Instant::now();
        tokio::select! {
            status = child.wait() => {
                if *stop.borrow() {
                    return;
                }
                if started.elapsed() > Duration::from_secs(60) {
                    backoff = Duration::from_millis(500);
                }
                let status = status.map_or_else(|e| e.to_string(), |s| s.to_string());
                printer.note(&format!(
                    "{name} (pid {pid}) stopped: {status}; restarting in {} ms (log: {})",
                    backoff.as_millis(),
                    log_path.display()
                ));
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    _ = stop.changed() => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
            _ = stop.changed() => {
                terminate(&mut child, pid).await;
                return;
            }
        }
    }
}

/// One service run as a task of this process: restarted with backoff when it fails or panics.
/// Each start is reported in `pids` with this process's id.
pub async fn supervise_in_process(
    name: &'static str,
    config: PathBuf,
    settings: Vec<(String, String)>,
    stop: watch::Receiver<bool>,
    pids: watch::Sender<BTreeMap<String, Process>>,
    printer: Printer,
) {
    use clap::ValueEnum as _;
    let Ok(service) = crate::commands::ServiceName::from_str(name, true) else {
        return;
    };
    let mut backoff = Duration::from_millis(500);
    let mut restarts: u32 = 0;
    loop {
        pids.send_modify(|pids| {
            pids.insert(
                name.to_owned(),
                Process {
                    pid: std::process::id(),
                    restarts,
                    started_at: chrono::Utc::now(),
                },
            );
        });
        restarts = restarts.saturating_add(1);
        let mut source = ConfigSource {
            file: Some(config.clone()),
            overrides: Vec::new(),
        };
        for (key, value) in &settings {
            source = source.with(key, value.clone());
        }
        let mut until = stop.clone();
        let shutdown = async move {
            let _ = until.wait_for(|stop| *stop).await;
        };
        let started = Instant::now();
        // Every line the service logs carries its name (the span's `service` field), so the
        // process's one logger puts it in the service's own file.
        let span = tracing::info_span!("service", service = name);
        let ended = tokio::spawn(tracing::Instrument::instrument(
            async move {
                crate::platform::runner::run_service(service, &source, shutdown, |_, _| {}).await
            },
            span,
        ))
        .await;
        if *stop.borrow() {
            return;
        }
        if started.elapsed() > Duration::from_secs(60) {
            backoff = Duration::from_millis(500);
        }
        let why = match ended {
            Ok(Ok(())) => "stopped".to_owned(),
            Ok(Err(e)) => format!("failed: {e:#}"),
            Err(e) => format!("panicked: {e}"),
        };
        printer.note(&format!(
            "{name} {why}; restarting in {} ms",
            backoff.as_millis()
        ));
        let mut stop = stop.clone();
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            _ = stop.wait_for(|stop| *stop) => return,
        }
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
}

/// SIGTERM, then up to 10 s to drain, then SIGKILL.
pub async fn terminate(child: &mut tokio::process::Child, pid: u32) {
    #[cfg(unix)]
    if let Ok(pid) = i32::try_from(pid) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
    if tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
}
