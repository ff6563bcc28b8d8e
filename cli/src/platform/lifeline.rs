//! The supervisor's lifeline to its children. `up` starts every service with its stdin the read
//! end of a pipe whose write end only `up` holds, and never writes to. However `up` ends —
//! SIGKILL and a crash included — the kernel closes that write end; the child reads end-of-file
//! and shuts down gracefully, so no child outlives its supervisor holding its port. A child
//! watches only when `SHOPCTL_LIFELINE=stdin` says so: a `serve` started by hand never stops
//! because its terminal's input closed.

use std::future::Future;

/// The environment variable that tells a child to watch its lifeline.
pub const ENV: &str = "SHOPCTL_LIFELINE";
/// Its one value: the lifeline is standard input.
pub const STDIN: &str = "stdin";

/// Resolves when the service should stop: Ctrl-C or SIGTERM, or, for a supervised child, its
/// lifeline closing.
pub async fn shutdown() {
    if std::env::var(ENV).as_deref() == Ok(STDIN) {
        tokio::select! {
            () = shopctl_kit::shutdown_signal() => {}
            () = severed() => {
                tracing::warn!("the supervisor is gone (its lifeline closed): shutting down");
            }
        }
    } else {
        shopctl_kit::shutdown_signal().await;
    }
}

/// Resolves when standard input reaches end-of-file or cannot be read. The read blocks, so it
/// runs on a detached thread of its own (one the process never waits for on exit, unlike the
/// runtime's blocking pool); should that thread not start, this never resolves.
fn severed() -> impl Future<Output = ()> {
    let (closed, on_close) = tokio::sync::oneshot::channel::<()>();
    let watcher = std::thread::Builder::new()
        .name("lifeline".to_owned())
        .spawn(move || {
            use std::io::Read as _;
            let mut stdin = std::io::stdin();
            let mut buffer = [0u8; 64];
            // Nothing is ever written; any bytes that come are ignored.
            while matches!(stdin.read(&mut buffer), Ok(n) if n > 0) {}
            let _ = closed.send(());
        });
    if let Err(err) = &watcher {
        tracing::warn!(error = %err, "cannot watch the lifeline; only signals stop this service");
    }
    async move {
        if watcher.is_err() || on_close.await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Runs `program` with `args` for a supervisor that cannot hand the program a lifeline of its
/// own (Prometheus and Alertmanager do not watch their stdin): the program ends when the
/// lifeline closes or a signal comes (SIGTERM, then SIGKILL after 10 s), and its exit status
/// is passed on when it ends by itself. Returns whether it ended well.
pub async fn guard(program: &std::ffi::OsStr, args: &[std::ffi::OsString]) -> anyhow::Result<bool> {
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot start {}: {e}", program.to_string_lossy()))?;
    let pid = child.id().unwrap_or_default();
    tokio::select! {
        status = child.wait() => Ok(status?.success()),
        () = shutdown() => {
            super::supervisor::terminate(&mut child, pid).await;
            Ok(true)
        }
    }
}
