//! `shopctl loadgen`: drive shoppers at a running shop and report req/s and p50/p95/p99 per
//! route. `--fail-on-error` makes any error exit 1 (for CI smoke runs).

use std::{fmt::Write as _, sync::Arc, sync::atomic::Ordering, time::Duration};

use clap::{Args, ValueEnum};

use super::GlobalArgs;
use crate::platform::target::{Target, client, parse_duration};
use crate::{
    ExitStatus,
    loadgen::{Live, Plan, Report, run},
};

/// How the shoppers behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Profile {
    /// Online Boutique's shoppers: think between tasks (`--think`, default 1s..10s).
    Browse,
    /// No think time: every shopper sends its next request as soon as the last is answered.
    Stress,
}

/// Generate load against a running shop.
#[derive(Debug, Args)]
pub(crate) struct Loadgen {
    /// Concurrent shoppers, each with an account of its own.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    users: u32,
    /// How long to run (`60s`, `5m`).
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    duration: Duration,
    /// Most requests per second, all shoppers together (default: no cap).
    #[arg(long, value_parser = parse_rate)]
    rate: Option<f64>,
    /// Shopper behaviour.
    #[arg(long, value_enum, default_value_t = Profile::Browse)]
    profile: Profile,
    /// Pause between a shopper's tasks: `MIN..MAX` (drawn uniformly) or one duration.
    #[arg(long, default_value = "1s..10s", value_parser = parse_think)]
    think: (Duration, Duration),
    /// Exit 1 when any request fails (errors exclude rightful refusals such as out of stock,
    /// and include orders cancelled with the approved card or still pending after the run).
    #[arg(long)]
    fail_on_error: bool,
    /// Share of checkouts (0 to 1) paid with the test card that is always declined; their
    /// cancellations are expected and reported as `declined`, not as errors.
    #[arg(long, default_value_t = 0.0, value_parser = parse_share)]
    decline_rate: f64,
    /// Seed of the shoppers' choices (the same seed makes the same choices).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Gateway URL (default: the shop `--base-port` or the configuration locates).
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    #[command(flatten)]
    target: Target,
}

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate > 0.0 && rate.is_finite() => Ok(rate),
        _ => Err(format!(
            "`{text}` is not a rate; give requests per second above 0, e.g. 200"
        )),
    }
}

fn parse_share(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(share) if (0.0..=1.0).contains(&share) => Ok(share),
        _ => Err(format!(
            "`{text}` is not a share; give a number from 0 to 1, e.g. 0.1 for one checkout in ten"
        )),
    }
}

fn parse_think(text: &str) -> Result<(Duration, Duration), String> {
    let (min, max) = if let Some((min, max)) = text.split_once("..") {
        (parse_duration(min)?, parse_duration(max)?)
    } else {
        let one = parse_duration(text)?;
        (one, one)
    };
    if min > max {
        return Err(format!(
            "`{text}`: the shortest think time comes first, e.g. 1s..10s"
        ));
    }
    Ok((min, max))
}

fn text(report: &Report) -> String {
    let mut text = format!(
        "{:<17} {:>8} {:>8} {:>9} {:>9} {:>9} {:>8} {:>7}",
        "ROUTE", "REQUESTS", "REQ/S", "P50 MS", "P95 MS", "P99 MS", "REFUSED", "ERRORS"
    );
    for route in &report.routes {
        let _ = write!(
            text,
            "\n{:<17} {:>8} {:>8.1} {:>9.1} {:>9.1} {:>9.1} {:>8} {:>7}",
            route.route,
            route.requests,
            route.requests_per_sec,
            route.p50_ms,
            route.p95_ms,
            route.p99_ms,
            route.refused,
            route.errors.values().sum::<u64>()
        );
    }
    let _ = write!(
        text,
        "\n\n{} requests in {:.1}s from {} shoppers: {:.1} req/s, {} orders confirmed, {} declined \
         (test card), {} cancelled unexpectedly, {} unsettled, {} errors",
        report.requests,
        report.duration_secs,
        report.users,
        report.requests_per_sec,
        report.orders,
        report.declined,
        report.cancelled,
        report.unsettled,
        report.errors
    );
    for route in report.routes.iter().filter(|r| !r.errors.is_empty()) {
        let kinds: Vec<String> = route
            .errors
            .iter()
            .map(|(kind, count)| format!("{kind} × {count}"))
            .collect();
        let _ = write!(text, "\n  {}: {}", route.route, kinds.join(", "));
    }
    text
}

impl Loadgen {
    pub(crate) async fn run(self, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        let shop = self.target.resolve(global)?;
        let gateway = self
            .url
            .clone()
            .unwrap_or_else(|| shop.gateway().to_owned())
            .trim_end_matches('/')
            .to_owned();
        // Sign shoppers up at the user service when it is reachable from here: the gateway
        // rightly limits sign-ups per address, and setting up is not what is measured.
        let direct = match (&self.url, shop.url("user")) {
            (None, Some(user))
                if crate::platform::target::ready(&client(Duration::from_secs(2))?, user).await =>
            {
                user.to_owned()
            }
            _ => gateway.clone(),
        };
        let think = match self.profile {
            Profile::Browse => self.think,
            Profile::Stress => (Duration::ZERO, Duration::ZERO),
        };
        let plan = Plan {
            gateway: gateway.clone(),
            accounts: direct,
            users: self.users,
            duration: self.duration,
            think,
            rate: self.rate,
            seed: self.seed,
            decline_rate: self.decline_rate,
        };
        let live = Arc::new(Live::default());
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let printer = global.printer();
        let progress = printer.progress();
        let chatty = printer.format == crate::printer::OutputFormat::Text && !printer.quiet;
        let bar = if progress {
            let bar = indicatif::ProgressBar::new(self.duration.as_secs().max(1));
            bar.set_style(indicatif::ProgressStyle::with_template(
                "{bar:30} {elapsed}/{duration} {msg}",
            )?);
            bar
        } else {
            indicatif::ProgressBar::hidden()
        };
        if progress {
            eprintln!(
                "loadgen: {} shoppers ({:?} profile) against {gateway} for {}s",
                self.users,
                self.profile,
                self.duration.as_secs()
            );
        }
        let ticker = {
            let (live, bar) = (Arc::clone(&live), bar.clone());
            let total = self.duration;
            tokio::spawn(async move {
                let started = std::time::Instant::now();
                let mut last = 0;
                let mut tick = tokio::time::interval(Duration::from_secs(1));
                loop {
                    tick.tick().await;
                    let requests = live.requests.load(Ordering::Relaxed);
                    let errors = live.errors.load(Ordering::Relaxed);
                    let elapsed = started.elapsed();
                    let message = format!(
                        "{} requests, {} req/s now, {errors} errors",
                        requests,
                        requests - last
                    );
                    last = requests;
                    if progress {
                        bar.set_position(elapsed.as_secs().min(total.as_secs()));
                        bar.set_message(message);
                    } else if chatty
                        && elapsed.as_secs().is_multiple_of(10)
                        && elapsed.as_secs() > 0
                    {
                        eprintln!("loadgen: {}s: {message}", elapsed.as_secs());
                    }
                }
            })
        };
        let stopper = tokio::spawn(async move {
            shopctl_kit::shutdown_signal().await;
            let _ = stop_tx.send(true);
        });
        let outcome = run(plan, live, stop_rx).await;
        ticker.abort();
        stopper.abort();
        bar.finish_and_clear();
        let report = outcome?;
        printer.result(&text(&report), &report)?;
        Ok(
            if (self.fail_on_error && report.errors > 0) || report.requests == 0 {
                ExitStatus::Failure
            } else {
                ExitStatus::Success
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn think_times_parse_as_ranges_or_one_value() {
        assert_eq!(
            parse_think("1s..10s"),
            Ok((Duration::from_secs(1), Duration::from_secs(10)))
        );
        assert_eq!(
            parse_think("200ms"),
            Ok((Duration::from_millis(200), Duration::from_millis(200)))
        );
        assert!(parse_think("10s..1s").is_err());
        assert!(parse_think("fast").is_err());
    }

    #[test]
    fn decline_rates_are_shares() {
        assert_eq!(parse_share("0"), Ok(0.0));
        assert_eq!(parse_share("0.25"), Ok(0.25));
        assert_eq!(parse_share("1"), Ok(1.0));
        assert!(parse_share("1.5").is_err());
        assert!(parse_share("-0.1").is_err());
        assert!(parse_share("half").is_err());
    }

    #[test]
    fn rates_must_be_positive() {
        assert_eq!(parse_rate("200"), Ok(200.0));
        assert!(parse_rate("0").is_err());
        assert!(parse_rate("-3").is_err());
        assert!(parse_rate("lots").is_err());
    }
}
