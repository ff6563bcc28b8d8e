//! `shopctl wait --healthy [--timeout 60s]`: block until every service of the local shop answers
//! `/readyz`, for CI pipelines that start `shopctl up` in the background. Exit 0 when all are
//! ready, 1 when the timeout passes first (naming who is not).

use std::time::{Duration, Instant};

use clap::Args;
use serde::Serialize;

use super::{GlobalArgs, up::SERVICES};
use crate::ExitStatus;

/// Wait until the shop is healthy.
#[derive(Debug, Args)]
pub(crate) struct Wait {
    /// Wait for every service to be ready (the only condition today).
    #[arg(long, required = true)]
    healthy: bool,
    /// Give up after this long: `90s`, `500ms`, `2m`, or seconds.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    timeout: Duration,
    /// The gateway's port, as given to `shopctl up` (services on the next seven).
    #[arg(long, default_value_t = 8080, value_parser = clap::value_parser!(u16).range(1..=65_000))]
    base_port: u16,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, "s"), |at| text.split_at(at));
    let value: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration; use e.g. 60s, 500ms or 2m"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(value)),
        "s" => Ok(Duration::from_secs(value)),
        "m" => Ok(Duration::from_secs(value * 60)),
        _ => Err(format!(
            "`{text}` is not a duration; use e.g. 60s, 500ms or 2m"
        )),
    }
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
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        loop {
            let mut not_ready = Vec::new();
            for (name, offset) in SERVICES {
                let url = format!("http://127.0.0.1:{}/readyz", self.base_port + offset);
                let ok = client
                    .get(url)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                if !ok {
                    not_ready.push(name);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5h").is_err());
    }
}
