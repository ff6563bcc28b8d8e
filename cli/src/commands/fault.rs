//! `shopctl fault inject <svc> --latency 2s | --error-rate 0.2 | --kill` and `shopctl fault clear`:
//! chaos drills against a running shop through each service's `/admin/faults` (kit serves it to
//! admin and service tokens, and refuses it when the environment is production). Each request
//! sent is recorded, with how it ended, in the operator's audit trail (`platform::evidence`).

use std::{path::Path, time::Duration};

use clap::{Args, Subcommand, ValueEnum as _};
use serde::Serialize;
use serde_json::{Value, json};
use shopctl_kit::audit::Outcome;

use super::{GlobalArgs, ServiceName};
use crate::ExitStatus;
use crate::platform::evidence;
use crate::platform::target::{Shop, Target, client, parse_duration};
use crate::printer::Printer;

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

#[derive(Debug, Serialize)]
struct FaultReport {
    service: &'static str,
    url: String,
    faults: Value,
}

/// Where one service's `/admin/faults` is, and the token for it: what must be known before a
/// request can be sent at all.
struct Endpoint<'a> {
    service: &'static str,
    base: &'a str,
    token: &'a str,
}

fn endpoint<'a>(shop: &'a Shop, service: &'static str) -> anyhow::Result<Endpoint<'a>> {
    let token = shop.admin_token.as_deref().ok_or_else(|| {
        anyhow::anyhow!(
            "no admin token: pass --admin-token (or SHOPCTL_ADMIN_TOKEN), or --data-dir of the shop `shopctl up` started"
        )
    })?;
    let base = shop
        .url(service)
        .filter(|url| !url.is_empty())
        .ok_or_else(|| anyhow::anyhow!("no URL for the {service} service in the configuration"))?;
    Ok(Endpoint {
        service,
        base,
        token,
    })
}

/// Sends one `/admin/faults` request and records it in the audit trail of `data_dir`: `action`
/// on the service, `details` (what was asked, never the token) and, when it failed, the error.
/// A record that cannot be written is a warning: the fault is in force (or not) either way.
async fn call_recorded(
    endpoint: &Endpoint<'_>,
    method: reqwest::Method,
    body: Option<Value>,
    action: &str,
    data_dir: &Path,
    printer: Printer,
) -> anyhow::Result<FaultReport> {
    let mut details = body.clone().unwrap_or_else(|| json!({}));
    let result = call(endpoint, method, body).await;
    let outcome = match &result {
        Ok(_) => Outcome::Success,
        Err(e) => {
            details["error"] = json!(format!("{e:#}"));
            Outcome::Failure
        }
    };
    if let Err(e) = evidence::record(data_dir, action, endpoint.service, outcome, details).await {
        printer.warning(&format!(
            "{action} of {} is not in the audit trail: {e:#}",
            endpoint.service
        ));
    }
    result
}

/// Sends one `/admin/faults` request; an error names the service and the fix.
async fn call(
    endpoint: &Endpoint<'_>,
    method: reqwest::Method,
    body: Option<Value>,
) -> anyhow::Result<FaultReport> {
    let Endpoint {
        service,
        base,
        token,
    } = *endpoint;
    let url = format!("{base}/admin/faults");
    let mut request = client(Duration::from_secs(10))?
        .request(method, &url)
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.map_err(|e| {
        anyhow::anyhow!("cannot reach the {service} service at {base}: {e}; is the shop running (`shopctl status`)?")
    })?;
    let status = response.status();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        let detail = answer["detail"].as_str().unwrap_or("no detail");
        let fix = match status.as_u16() {
            401 => "; check --admin-token",
            _ => "",
        };
        anyhow::bail!("the {service} service refused: {status}: {detail}{fix}");
    }
    Ok(FaultReport {
        service,
        url: base.to_owned(),
        faults: answer,
    })
}

fn describe(report: &FaultReport) -> String {
    let faults = report.faults.get("faults").unwrap_or(&report.faults);
    let latency = faults["latency_ms"].as_u64().unwrap_or(0);
    let rate = faults["error_rate"].as_f64().unwrap_or(0.0);
    let mut text = format!(
        "{}: latency {latency} ms, error rate {rate}",
        report.service
    );
    if report.faults["killed"] == json!(true) {
        text.push_str("; killed (shopctl up restarts it)");
    }
    text
}

impl Fault {
    pub(crate) async fn run(self, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        match self {
            Self::Inject(args) => {
                let shop = args.target.resolve(global)?;
                let mut body = serde_json::Map::new();
                if let Some(latency) = args.latency {
                    body.insert(
                        "latency_ms".to_owned(),
                        json!(u64::try_from(latency.as_millis())?),
                    );
                }
                if let Some(rate) = args.error_rate {
                    body.insert("error_rate".to_owned(), json!(rate));
                }
                if args.kill {
                    body.insert("kill".to_owned(), json!(true));
                }
                let endpoint = endpoint(&shop, args.service.name())?;
                let report = call_recorded(
                    &endpoint,
                    reqwest::Method::PUT,
                    Some(Value::Object(body)),
                    "fault_inject",
                    &args.target.data_dir,
                    global.printer(),
                )
                .await?;
                global.printer().result(&describe(&report), &report)?;
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
                    let endpoint = endpoint(&shop, service)?;
                    let report = call_recorded(
                        &endpoint,
                        reqwest::Method::DELETE,
                        None,
                        "fault_clear",
                        &args.target.data_dir,
                        global.printer(),
                    )
                    .await?;
                    reports.push(report);
                }
                let text = format!(
                    "cleared faults of {}",
                    reports
                        .iter()
                        .map(|r| r.service)
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                global.printer().result(&text, &reports)?;
            }
        }
        Ok(ExitStatus::Success)
    }
}
