//! Faults sent to a running service's `/admin/faults` (kit serves it to admin and service
//! tokens, and refuses it when the environment is production), each recorded, with how it
//! ended, in the operator's audit trail ([`super::evidence`]). `shopctl fault` and the
//! dashboard's actions both come through here.

use std::{path::Path, time::Duration};

use serde::Serialize;
use serde_json::{Value, json};
use shopctl_kit::audit::Outcome;

use super::evidence;
use super::target::{Shop, client};

/// What to ask of `/admin/faults`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Request {
    /// Put faults in force; `None` leaves one as it is.
    Inject {
        /// Delay every API request by this many milliseconds (0 removes the delay).
        latency_ms: Option<u64>,
        /// Answer this share of API requests with 503 (0 stops the errors).
        error_rate: Option<f64>,
        /// Crash the process.
        kill: bool,
    },
    /// Remove every fault.
    Clear,
}

impl Request {
    fn action(self) -> &'static str {
        match self {
            Self::Inject { .. } => "fault_inject",
            Self::Clear => "fault_clear",
        }
    }

    fn body(self) -> Option<Value> {
        let Self::Inject {
            latency_ms,
            error_rate,
            kill,
        } = self
        else {
            return None;
        };
        let mut body = serde_json::Map::new();
        if let Some(ms) = latency_ms {
            body.insert("latency_ms".to_owned(), json!(ms));
        }
        if let Some(rate) = error_rate {
            body.insert("error_rate".to_owned(), json!(rate));
        }
        if kill {
            body.insert("kill".to_owned(), json!(true));
        }
        Some(Value::Object(body))
    }
}

/// What a service answered.
#[derive(Debug, Serialize)]
pub(crate) struct FaultReport {
    pub(crate) service: String,
    pub(crate) url: String,
    pub(crate) faults: Value,
}

/// Sends `request` to `service` of `shop` and records it in the audit trail of `data_dir`
/// (`via` says which command sent it). The second value is set when the record could not be
/// written: the fault is in force (or not) either way, and the caller warns.
pub(crate) async fn send(
    shop: &Shop,
    service: &str,
    request: Request,
    data_dir: &Path,
    via: &str,
) -> (anyhow::Result<FaultReport>, Option<String>) {
    let body = request.body();
    let mut details = body.clone().unwrap_or_else(|| json!({}));
    details["via"] = json!(via);
    let result = call(shop, service, request, body).await;
    let outcome = match &result {
        Ok(_) => Outcome::Success,
        Err(e) => {
            details["error"] = json!(format!("{e:#}"));
            Outcome::Failure
        }
    };
    let action = request.action();
    let unrecorded = evidence::record(data_dir, action, service, outcome, details)
        .await
        .err()
        .map(|e| format!("{action} of {service} is not in the audit trail: {e:#}"));
    (result, unrecorded)
}

/// Sends one `/admin/faults` request; an error names the service and the fix.
async fn call(
    shop: &Shop,
    service: &str,
    request: Request,
    body: Option<Value>,
) -> anyhow::Result<FaultReport> {
    let token = shop.admin_token.as_deref().ok_or_else(|| {
        anyhow::anyhow!(
            "no admin token: pass --admin-token (or SHOPCTL_ADMIN_TOKEN), or --data-dir of the shop `shopctl up` started"
        )
    })?;
    let base = shop
        .url(service)
        .filter(|url| !url.is_empty())
        .ok_or_else(|| anyhow::anyhow!("no URL for the {service} service in the configuration"))?;
    let method = match request {
        Request::Inject { .. } => reqwest::Method::PUT,
        Request::Clear => reqwest::Method::DELETE,
    };
    let url = format!("{base}/admin/faults");
    let mut http = client(Duration::from_secs(10))?
        .request(method, &url)
        .bearer_auth(token);
    if let Some(body) = body {
        http = http.json(&body);
    }
    let response = http.send().await.map_err(|e| {
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
        service: service.to_owned(),
        url: base.to_owned(),
        faults: answer,
    })
}

/// The faults in force, in a line.
pub(crate) fn describe(report: &FaultReport) -> String {
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
