//! `shopctl fault inject <svc> --latency 2s | --error-rate 0.2 | --kill` and `shopctl fault clear`:
//! chaos drills against a running shop through each service's `/admin/faults` (kit serves it to
//! admin and service tokens, and refuses it when the environment is production). Each request
//! sent is recorded, with how it ended, in the operator's audit trail (`platform::evidence`).

use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum as _};

use super::{GlobalArgs, ServiceName};
use crate::ExitStatus;
use crate::platform::faults::{self, Request};
use crate::platform::target::{Shop, Target, parse_duration};

/// Break a running service on purpose, and mend it.
#[derive(Debug, Subcommand)]
pub(crate) enum Fault {
    /// Inject latency, errors or a crash into one service.
    Inject(Inject),
    /// Clear injected faults (of every service unless some are named).
    Clear(Clear),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("fault").required(true).multiple(true)
    .args(["latency", "error_rate", "kill"])))]
pub(crate) struct Inject {
    /// The service to break.
    #[arg(value_enum)]
    service: ServiceName,
    /// Delay every API request by this long (`2s`, `300ms`; `0s` removes the delay).
    #[arg(long, value_parser = parse_duration)]
    latency: Option<Duration>,
    /// Answer this share of API requests with 503 (0 to 1; `0` stops the errors).
    #[arg(long, value_parser = parse_rate)]
    error_rate: Option<f64>,
    /// Make the service's process crash (the supervisor of `shopctl up` restarts it).
    #[arg(long)]
    kill: bool,
    #[command(flatten)]
    target: Target,
}

#[derive(Debug, Args)]
pub(crate) struct Clear {
    /// Services to mend (default: all).
    #[arg(value_enum)]
    services: Vec<ServiceName>,
    #[command(flatten)]
    target: Target,
}

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if (0.0..=1.0).contains(&rate) => Ok(rate),
        _ => Err(format!(
            "`{text}` is not a rate; give a share between 0 and 1, e.g. 0.2"
        )),
    }
}

impl Fault {
    pub(crate) async fn run(self, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        let printer = global.printer();
        let send = async |shop: &Shop, service: &str, request: Request, target: &Target| {
            let (result, unrecorded) =
                faults::send(shop, service, request, &target.data_dir, "cli").await;
            if let Some(warning) = unrecorded {
                printer.warning(&warning);
            }
            result
        };
        match self {
            Self::Inject(args) => {
                let shop = args.target.resolve(global)?;
                let request = Request::Inject {
                    latency_ms: args
                        .latency
                        .map(|l| u64::try_from(l.as_millis()))
                        .transpose()?,
                    error_rate: args.error_rate,
                    kill: args.kill,
                };
                let report = send(&shop, args.service.name(), request, &args.target).await?;
                printer.result(&faults::describe(&report), &report)?;
            }
            Self::Clear(args) => {
                let shop = args.target.resolve(global)?;
                let services: Vec<&'static str> = if args.services.is_empty() {
                    ServiceName::value_variants()
                        .iter()
                        .map(|s| s.name())
                        .collect()
                } else {
                    args.services.iter().map(|s| s.name()).collect()
                };
                let mut reports = Vec::new();
                for service in services {
                    reports.push(send(&shop, service, Request::Clear, &args.target).await?);
                }
                let text = format!(
                    "cleared faults of {}",
                    reports
                        .iter()
                        .map(|r| r.service.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                printer.result(&text, &reports)?;
            }
        }
        Ok(ExitStatus::Success)
    }
}
