//! Running the binary.

use std::{
    path::Path,
    process::{Command, Output},
    time::{Duration, Instant},
};

pub(crate) fn shopctl() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_shopctl"));
    // Configuration from the developer's environment must not leak into tests.
    for (key, _) in std::env::vars() {
        if key.starts_with("SHOPCTL_") && key != "SHOPCTL_TEST_POSTGRES_URL" {
            command.env_remove(key);
        }
    }
    command.env("RUST_LOG", "warn");
    command
}

pub(crate) fn run_in(dir: &Path, args: &[&str]) -> Output {
    shopctl().current_dir(dir).args(args).output().unwrap()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Asserts exit code 2 and a single `error:` line containing every `needle`.
pub(crate) fn assert_one_line_error(output: &Output, needles: &[&str]) {
    assert_eq!(
        output.status.code(),
        Some(2),
        "exit code; stderr: {}",
        stderr(output)
    );
    let err = stderr(output);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line expected: {err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    for needle in needles {
        assert!(lines[0].contains(needle), "`{needle}` missing from: {err}");
    }
}

/// Twenty consecutive free ports: the gateway, the services and `--monitor`'s Prometheus and
/// Alertmanager, then a second set of replicas (`up --replicas 2`).
pub(crate) fn free_base() -> u16 {
    for _ in 0..200 {
        let base = 20_000 + u16::try_from(rand_port() % 30_000).unwrap();
        if (0..20).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok()) {
            return base;
        }
    }
    panic!("no twenty free ports");
}

fn rand_port() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
}

pub(crate) fn alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

pub(crate) fn signal(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

pub(crate) async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: not within 60 s");
}

/// A shop started by `shopctl up` in a temporary directory, stopped (SIGTERM) when dropped.
pub(crate) struct RunningShop {
    pub(crate) child: std::process::Child,
    pub(crate) base: u16,
    pub(crate) dir: tempfile::TempDir,
    /// The JSON report `up` printed once everything was ready.
    pub(crate) report: serde_json::Value,
}

impl RunningShop {
    /// Starts `shopctl up --output json` with `extra` flags and waits for its report.
    pub(crate) async fn start(extra: &[&str]) -> Self {
        Self::start_with_env(extra, &[]).await
    }

    /// The same, with `env` set for `up` and so for every service it starts.
    pub(crate) async fn start_with_env(extra: &[&str], env: &[(&str, &str)]) -> Self {
        Self::start_in_with_env(tempfile::tempdir().unwrap(), extra, env).await
    }

    /// `shopctl up` again on the data kept in `dir` (`stop_keeping_data`).
    pub(crate) async fn start_in(dir: tempfile::TempDir, extra: &[&str]) -> Self {
        Self::start_in_with_env(dir, extra, &[]).await
    }

    async fn start_in_with_env(
        dir: tempfile::TempDir,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Self {
        use std::io::{BufRead as _, BufReader};
        let base = free_base();
        let mut child = shopctl()
            .envs(env.iter().copied())
            .args(["up", "--data-dir"])
            .arg(dir.path().join("data"))
            .args(["--base-port", &base.to_string(), "--output", "json"])
            .args(extra)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let report = tokio::task::spawn_blocking(move || {
            let mut text = String::new();
            for line in BufReader::new(stdout).lines() {
                let line = line.unwrap();
                text.push_str(&line);
                text.push('\n');
                if line == "}" {
                    break;
                }
            }
            text
        })
        .await
        .unwrap();
        let report: serde_json::Value = serde_json::from_str(&report)
            .unwrap_or_else(|e| panic!("up printed no report ({e}): {report}"));
        Self {
            child,
            base,
            dir,
            report,
        }
    }

    /// The data directory.
    pub(crate) fn data(&self) -> std::path::PathBuf {
        self.dir.path().join("data")
    }

    /// `shopctl <args> --base-port B --data-dir D`, run to the end.
    pub(crate) fn ops(&self, args: &[&str]) -> Output {
        self.ops_command(args).output().unwrap()
    }

    /// `shopctl <args> --base-port B --data-dir D`, to run.
    pub(crate) fn ops_command(&self, args: &[&str]) -> Command {
        let mut command = shopctl();
        command
            .args(args)
            .args(["--base-port", &self.base.to_string(), "--data-dir"])
            .arg(self.data());
        command
    }

    /// The gateway's URL.
    pub(crate) fn gateway(&self) -> String {
        format!("http://127.0.0.1:{}", self.base)
    }

    /// SIGTERM; waits for `up` to exit and returns its status.
    pub(crate) async fn stop(mut self) -> std::process::ExitStatus {
        signal(self.child.id(), "-TERM");
        let mut child = std::mem::replace(
            &mut self.child,
            std::process::Command::new("true").spawn().unwrap(),
        );
        tokio::task::spawn_blocking(move || child.wait().unwrap())
            .await
            .unwrap()
    }

    /// The same, keeping the temporary directory (and the data in it) to look at afterwards.
    pub(crate) async fn stop_keeping_data(
        mut self,
    ) -> (std::process::ExitStatus, tempfile::TempDir) {
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        (self.stop().await, dir)
    }
}

impl Drop for RunningShop {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            signal(self.child.id(), "-TERM");
            let _ = self.child.wait();
        }
    }
}

/// Every directory below and including `dir` is 0700 and every file 0600: data at rest (password
/// hashes, addresses, keys, logs, audit trails) is readable by its owner only.
pub(crate) fn assert_owner_only(dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt as _;
    let mut files = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(at) = pending.pop() {
        // A SQLite journal may vanish between listing and reading: gone is not open.
        let Ok(meta) = std::fs::metadata(&at) else {
            continue;
        };
        let mode = meta.permissions().mode() & 0o777;
        if meta.is_dir() {
            assert_eq!(mode, 0o700, "{} is {mode:o}", at.display());
            pending.extend(std::fs::read_dir(&at).unwrap().map(|e| e.unwrap().path()));
        } else {
            assert_eq!(mode, 0o600, "{} is {mode:o}", at.display());
            files += 1;
        }
    }
    assert!(files > 0, "no file in {}", dir.display());
}

/// A tmux server of its own, so a developer's sessions are never touched.
pub(crate) struct Tmux {
    socket: String,
}

impl Tmux {
    pub(crate) fn new(command: &str) -> Self {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let socket = format!("shopctl-dash-{}-{n}", std::process::id());
        let tmux = Self { socket };
        let status = tmux
            .command()
            .args([
                "new-session",
                "-d",
                "-s",
                "dash",
                "-x",
                "200",
                "-y",
                "50",
                command,
            ])
            .status()
            .expect("tmux runs (apt-get install tmux)");
        assert!(status.success());
        tmux
    }

    fn command(&self) -> Command {
        let mut command = Command::new("tmux");
        command.args(["-L", &self.socket]);
        command
    }

    pub(crate) fn screen(&self) -> String {
        let out = self
            .command()
            .args(["capture-pane", "-p", "-t", "dash"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub(crate) fn keys(&self, keys: &[&str]) {
        for key in keys {
            let status = self
                .command()
                .args(["send-keys", "-t", "dash", key])
                .status()
                .unwrap();
            assert!(status.success());
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    pub(crate) fn alternate_screen(&self) -> bool {
        let out = self
            .command()
            .args(["display-message", "-p", "-t", "dash", "#{alternate_on}"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim() == "1"
    }

    /// Waits (up to 60 s) until `done` holds for the screen; panics with the screen if not.
    pub(crate) async fn wait(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if done(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{what}: not on screen within 60 s:\n{screen}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.command().arg("kill-server").status();
    }
}

/// The overview's service rows, in screen order: (health, service, pid, restarts, error %).
pub(crate) fn overview_rows(screen: &str) -> Vec<(String, String, String, String, String)> {
    screen
        .lines()
        .skip_while(|l| !l.contains("HEALTH"))
        .skip(1)
        .take_while(|l| !l.starts_with('└'))
        .map(|l| {
            let cells: Vec<&str> = l
                .trim_matches(|c| c == '│' || c == ' ')
                .split_whitespace()
                .collect();
            // symbol, word, service, pid, restarts, req/s, err%
            let cell = |i: usize| cells.get(i).copied().unwrap_or_default().to_owned();
            (cell(1), cell(2), cell(3), cell(4), cell(6))
        })
        .collect()
}
