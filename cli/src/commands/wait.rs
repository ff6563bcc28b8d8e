//! `shopctl wait --healthy [--timeout 60s]`: block until every service of the local shop answers
//! `/readyz`, for CI pipelines that start `shopctl up` in the background. Exit 0 when all are
//! ready, 1 when the timeout passes first (naming who is not).

use std::time::{Duration, Instant};

use clap::Args;
use serde::Serialize;

use super::GlobalArgs;
use crate::ExitStatus;
use crate::platform::target::{Target, client, parse_duration};

/// Wait until the shop is healthy.
#[derive(Debug, Args)]
pub(crate) struct Wait {
    /// Wait for every service to be ready (the only condition today).
    #[arg(long, required = true)]
    healthy: bool,
    /// Give up after this long: `90s`, `500ms`, `2m`, or seconds.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    timeout: Duration,
    #[command(flatten)]
    target: Target,
}

#[derive(Debug, Serialize)]
struct WaitReport {
    healthy: bool,
    waited_ms: u128,
    not_ready: Vec<&'static str>,
}

impl Wait {
    pub(crate) async fn run(self, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        let _ = self.healthy;
        let started = Instant::now();
        let shop = self.target.resolve(global)?;
        let client = client(Duration::from_secs(2))?;
        loop {
            let mut not_ready = Vec::new();
            for (name, url) in &shop.services {
                if !crate::platform::target::ready(&client, url).await {
                    not_ready.push(*name);
                }
            }
            let done = not_ready.is_empty();
            if done || started.elapsed() >= self.timeout {
                let report = WaitReport {
                    healthy: done,
                    waited_ms: started.elapsed().as_millis(),
                    not_ready,
                };
                let text = if done {
                    format!("every service is ready ({} ms)", report.waited_ms)
                } else {
                    format!(
                        "not ready after {} ms: {}; see their logs in the data directory's logs/",
                        report.waited_ms,
                        report.not_ready.join(", ")
                    )
                };
                global.printer().result(&text, &report)?;
                return Ok(if done {
                    ExitStatus::Success
                } else {
                    ExitStatus::Failure
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
