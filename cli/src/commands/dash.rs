//! `shopctl dash`: the on-call engineer's live terminal over the shop, Prometheus, Alertmanager
//! and Kubernetes (the `shopctl-tui` crate), and `shopctl dash --once` for scripts: the
//! overview's data once, exit 0 when healthy and 1 when something is down, failing or alerting.

use std::{sync::Arc, time::Duration};

use clap::Args;

use super::GlobalArgs;
use crate::ExitStatus;
use crate::logs::pods;
use crate::platform::dash::DashShop;
use crate::platform::monitor::{ALERTMANAGER_OFFSET, PROMETHEUS_OFFSET};
use crate::platform::target::{Target, client, parse_duration};

/// Watch the shop live: health, traffic, errors, latency, alerts, logs, pods.
#[derive(Debug, Args)]
pub(crate) struct Dash {
    /// Prometheus's URL (default: the one `shopctl up --monitor` runs, if it answers; else the
    /// dashboard scrapes every service's /metrics itself).
    #[arg(long, value_name = "URL")]
    prometheus: Option<String>,
    /// Alertmanager's URL (default: the one `shopctl up --monitor` runs, if it answers).
    #[arg(long, value_name = "URL")]
    alertmanager: Option<String>,
    /// Watch the shop in this Kubernetes context (kubeconfig as kubectl reads it).
    #[arg(long, value_name = "NAME")]
    context: Option<String>,
    /// Watch the shop in this Kubernetes namespace (with the current context unless --context).
    #[arg(long, value_name = "NAME")]
    namespace: Option<String>,
    /// How often the sources are read (500ms to 1m).
    #[arg(long, default_value = "2s", value_parser = refresh)]
    refresh: Duration,
    /// No actions: no restart, no fault (the help says so).
    #[arg(long)]
    read_only: bool,
    /// Print the overview's data once and exit: 0 healthy, 1 something down or alerting.
    #[arg(long)]
    once: bool,
    /// With --once and no Prometheus: how long to watch traffic for the rates.
    #[arg(long, default_value = "2s", value_parser = parse_duration, requires = "once")]
    window: Duration,
    #[command(flatten)]
    target: Target,
}

fn refresh(text: &str) -> Result<Duration, String> {
    let every = parse_duration(text)?;
    if every < Duration::from_millis(500) || every > Duration::from_secs(60) {
        return Err(format!(
            "`{text}` is outside 500ms to 1m; a faster refresh costs CPU, a slower one hides failures"
        ));
    }
    Ok(every)
}

/// The URL of a tool of `up --monitor` next to the gateway at `gateway`, if it answers.
async fn monitor_tool(gateway: &str, offset: u16) -> Option<String> {
    let port: u16 = gateway
        .rsplit(':')
        .next()?
        .trim_end_matches('/')
        .parse()
        .ok()?;
    let url = format!("http://127.0.0.1:{}", port.checked_add(offset)?);
    let client = client(Duration::from_millis(500)).ok()?;
    let ready = client
        .get(format!("{url}/-/ready"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success());
    ready.then_some(url)
}

impl Dash {
    async fn options(&self, global: &GlobalArgs) -> anyhow::Result<shopctl_tui::Options> {
        let shop = self.target.resolve(global)?;
        let kube = if self.context.is_some() || self.namespace.is_some() {
            let namespace = self
                .namespace
                .clone()
                .unwrap_or_else(|| "shopctl".to_owned());
            let client = pods::client(self.context.as_deref()).await?;
            Some(shopctl_tui::KubeTarget {
                client,
                context: self.context.clone().unwrap_or_else(|| "current".to_owned()),
                namespace,
            })
        } else {
            None
        };
        // On a cluster the services are reached through Prometheus, not one by one.
        let services = shopctl_tui::SERVICES
            .iter()
            .map(|name| {
                let url = if kube.is_some() {
                    String::new()
                } else {
                    shop.url(name).unwrap_or_default().to_owned()
                };
                ((*name).to_owned(), url)
            })
            .collect();
        let (prometheus, alertmanager) = if kube.is_some() {
            (self.prometheus.clone(), self.alertmanager.clone())
        } else {
            let gateway = shop.gateway().to_owned();
            (
                match &self.prometheus {
                    Some(url) => Some(url.clone()),
                    None => monitor_tool(&gateway, PROMETHEUS_OFFSET).await,
                },
                match &self.alertmanager {
                    Some(url) => Some(url.clone()),
                    None => monitor_tool(&gateway, ALERTMANAGER_OFFSET).await,
                },
            )
        };
        let platform = DashShop {
            shop,
            data_dir: self.target.data_dir.clone(),
            kube: kube
                .as_ref()
                .map(|k| (k.client.clone(), k.namespace.clone())),
        };
        Ok(shopctl_tui::Options {
            services,
            refresh: self.refresh,
            prometheus: prometheus.map(|u| u.trim_end_matches('/').to_owned()),
            alertmanager: alertmanager.map(|u| u.trim_end_matches('/').to_owned()),
            kube,
            read_only: self.read_only,
            platform: Arc::new(platform),
        })
    }

    pub(crate) async fn run(self, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        let options = self.options(global).await?;
        if self.once {
            let snapshot = shopctl_tui::once::snapshot(&options, self.window).await;
            global.printer().result(&snapshot.text(), &snapshot)?;
            return Ok(if snapshot.healthy {
                ExitStatus::Success
            } else {
                ExitStatus::Failure
            });
        }
        shopctl_tui::run::run(options).await?;
        Ok(ExitStatus::Success)
    }
}
