//! The shop as the dashboard sees it beyond metrics ([`shopctl_tui::platform::Platform`]): the
//! processes of `shopctl up` (its `run/processes.json`), the logs (files, or pods), a trace,
//! the low-stock list, and the actions, each recorded in the operator's audit trail.

use std::{collections::BTreeMap, io::Read as _, path::PathBuf, time::Duration};

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::json;
use shopctl_kit::audit::Outcome;
use shopctl_tui::model::{LogLine, LowStock, Process, Runbook};
use shopctl_tui::platform::{Fault, Platform};

use super::faults::{self, Request};
use super::target::{Shop, client};
use super::{SERVICES, evidence, processes};
use crate::logs::{Entry, Filter, files, pods, trace};

/// How much of a log file's end the logs view starts with.
const TAIL_BYTES: u64 = 64 * 1024;

/// A local shop, or a Kubernetes deployment of it.
pub(crate) struct DashShop {
    /// The services' URLs and the admin token.
    pub(crate) shop: Shop,
    /// The data directory of `shopctl up` (processes, logs, audit trail).
    pub(crate) data_dir: PathBuf,
    /// The cluster and namespace, when the shop runs there.
    pub(crate) kube: Option<(kube::Client, String)>,
}

fn line(entry: &Entry) -> LogLine {
    LogLine {
        service: entry.service.clone(),
        level: entry.level.map(|l| l.as_str().to_owned()),
        text: entry.render(),
        trace_id: entry.field("trace_id").map(str::to_owned),
    }
}

/// The last lines of `service`'s current log file.
fn tail(dir: &std::path::Path, service: &str) -> Vec<LogLine> {
    let Ok(mut file) = std::fs::File::open(dir.join(format!("{service}.log"))) else {
        return Vec::new();
    };
    let len = file.metadata().map_or(0, |m| m.len());
    let mut text = Vec::new();
    if std::io::Seek::seek(
        &mut file,
        std::io::SeekFrom::Start(len.saturating_sub(TAIL_BYTES)),
    )
    .is_err()
        || file.read_to_end(&mut text).is_err()
    {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(&text);
    let mut lines: Vec<&str> = text.lines().collect();
    if len > TAIL_BYTES && !lines.is_empty() {
        // The first line was cut in the middle.
        lines.remove(0);
    }
    let mut previous = None;
    lines
        .into_iter()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let entry = Entry::parse(l, service, previous);
            previous = entry.timestamp;
            line(&entry)
        })
        .collect()
}

impl DashShop {
    /// Records an action of the dashboard; says why when the record could not be written.
    async fn audit(
        &self,
        action: &str,
        target: &str,
        outcome: Outcome,
        mut details: serde_json::Value,
    ) -> Option<String> {
        details["via"] = json!("dash");
        evidence::record(&self.data_dir, action, target, outcome, details)
            .await
            .err()
            .map(|e| format!("{action} of {target} is not in the audit trail: {e:#}"))
    }

    /// Rollout restart, as `kubectl rollout restart` does it: a new annotation on the pod
    /// template makes the deployment replace its pods one by one.
    async fn rollout_restart(
        client: &kube::Client,
        namespace: &str,
        service: &str,
    ) -> anyhow::Result<String> {
        let api: Api<Deployment> = Api::namespaced(client.clone(), namespace);
        let selector = format!("{},{}={service}", pods::PART_OF, pods::NAME_LABEL);
        let found = api.list(&ListParams::default().labels(&selector)).await?;
        let name = found
            .items
            .first()
            .and_then(|d| d.metadata.name.clone())
            .ok_or_else(|| anyhow::anyhow!("no deployment of {service} in {namespace}"))?;
        let patch = json!({"spec": {"template": {"metadata": {"annotations": {
            "kubectl.kubernetes.io/restartedAt": chrono::Utc::now().to_rfc3339()
        }}}}});
        api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        Ok(format!("rollout restart of deployment {name} started"))
    }
}

/// An action's outcome, with the audit trail's failure added to what the operator reads.
fn with_warning(result: Result<String, String>, warning: Option<String>) -> Result<String, String> {
    match (result, warning) {
        (result, None) => result,
        (Ok(text), Some(w)) => Err(format!("{text}, but {w}")),
        (Err(e), Some(w)) => Err(format!("{e}; and {w}")),
    }
}

#[async_trait::async_trait]
impl Platform for DashShop {
    async fn processes(&self) -> Option<BTreeMap<String, Process>> {
        if self.kube.is_some() {
            return None;
        }
        let processes = processes::read(&self.data_dir)?;
        Some(
            processes
                .services
                .into_iter()
                .map(|(name, p)| {
                    (
                        name,
                        Process {
                            pid: p.pid,
                            restarts: p.restarts,
                        },
                    )
                })
                .collect(),
        )
    }

    async fn follow_logs(
        &self,
        service: &str,
        mut each: Box<dyn FnMut(Vec<LogLine>) -> bool + Send>,
    ) -> Result<(), String> {
        let filter = Filter {
            services: vec![service.to_owned()],
            ..Filter::default()
        };
        if let Some((client, namespace)) = &self.kube {
            return pods::follow(client, namespace, &filter, |entry| each(vec![line(&entry)]))
                .await
                .map_err(|e| format!("{e:#}"));
        }
        let dir = self.data_dir.join("logs");
        if !dir.is_dir() {
            return Err(format!(
                "no logs in {}: pass the --data-dir `shopctl up` uses",
                dir.display()
            ));
        }
        if !each(tail(&dir, service)) {
            return Ok(());
        }
        files::follow(
            &dir,
            &[service],
            &filter,
            Duration::from_millis(250),
            |entry| each(vec![line(&entry)]),
        )
        .await
        .map_err(|e| format!("cannot follow the logs in {}: {e}", dir.display()))
    }

    async fn trace(&self, trace_id: &str) -> Result<Vec<String>, String> {
        let filter = Filter {
            trace: Some(trace_id.to_owned()),
            ..Filter::default()
        };
        let entries = if let Some((client, namespace)) = &self.kube {
            pods::read(client, namespace, &filter)
                .await
                .map_err(|e| format!("{e:#}"))?
        } else {
            let names: Vec<&str> = SERVICES.iter().map(|(name, _)| *name).collect();
            files::read(&self.data_dir.join("logs"), &names, &filter)
                .map_err(|e| format!("cannot read the logs: {e}"))?
        };
        let trace = trace::build(trace_id, entries);
        Ok(trace.render().lines().map(str::to_owned).collect())
    }

    async fn low_stock(&self) -> Result<Vec<LowStock>, String> {
        #[derive(serde::Deserialize)]
        struct Answer {
            skus: Vec<LowStock>,
        }
        let base = self
            .shop
            .url("inventory")
            .filter(|u| !u.is_empty())
            .ok_or("no URL for the inventory service")?;
        let token = self
            .shop
            .admin_token
            .as_deref()
            .ok_or("no admin token: pass --admin-token, or the --data-dir of `shopctl up`")?;
        let client = client(Duration::from_secs(3)).map_err(|e| e.to_string())?;
        let response = client
            .get(format!("{base}/api/inventory/low-stock?limit=20"))
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| format!("inventory at {base} is not answering ({e})"))?;
        if !response.status().is_success() {
            return Err(format!("inventory answered {}", response.status()));
        }
        response
            .json::<Answer>()
            .await
            .map(|a| a.skus)
            .map_err(|e| format!("inventory's low-stock list is unreadable: {e}"))
    }

    async fn runbook(&self, _id: &str) -> Option<Runbook> {
        // The runbook files do not exist yet; the alert's annotations stand in for them.
        None
    }

    async fn restart(&self, service: &str) -> Result<String, String> {
        let result = if let Some((client, namespace)) = &self.kube {
            Self::rollout_restart(client, namespace, service).await
        } else {
            let before = processes::read(&self.data_dir)
                .and_then(|p| p.services.get(service).map(|s| s.pid));
            processes::restart(&self.data_dir, service)
                .await
                .map(|pid| match before {
                    Some(old) => format!("restarted {service}: pid {old} → {pid}"),
                    None => format!("restarted {service}: pid {pid}"),
                })
        };
        let (outcome, details) = match &result {
            Ok(text) => (Outcome::Success, json!({"result": text})),
            Err(e) => (Outcome::Failure, json!({"error": format!("{e:#}")})),
        };
        let unrecorded = self
            .audit("service_restart", service, outcome, details)
            .await;
        with_warning(result.map_err(|e| format!("{e:#}")), unrecorded)
    }

    async fn fault(&self, service: &str, fault: Fault) -> Result<String, String> {
        if self.kube.is_some() {
            return Err(
                "faults are injected into local shops only (shopctl up); not into a cluster"
                    .to_owned(),
            );
        }
        let request = match fault {
            Fault::Errors(rate) => Request::Inject {
                latency_ms: None,
                error_rate: Some(rate),
                kill: false,
            },
            Fault::Latency(ms) => Request::Inject {
                latency_ms: Some(ms),
                error_rate: None,
                kill: false,
            },
            Fault::Clear => Request::Clear,
        };
        let (result, unrecorded) =
            faults::send(&self.shop, service, request, &self.data_dir, "dash").await;
        let result = result
            .map(|report| faults::describe(&report))
            .map_err(|e| format!("{e:#}"));
        with_warning(result, unrecorded)
    }

    async fn record(&self, action: &str, target: &str) {
        // Nothing on screen to tell: the action (a runbook, a copy) has happened either way.
        let _ = self
            .audit(action, target, Outcome::Success, json!({}))
            .await;
    }
}
