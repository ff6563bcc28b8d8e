//! Where the running shop is, for the commands that operate it (`status`, `wait`, `fault`,
//! `loadgen`): a shop started by `shopctl up --base-port N`, or the URLs the configuration names.

use std::{path::PathBuf, time::Duration};

use clap::Args;

use crate::{commands::GlobalArgs, platform::SERVICES};

/// Flags that locate a running shop and the credentials to operate it.
#[derive(Debug, Clone, Args)]
pub(crate) struct Target {
    /// Gateway port of a shop started with `shopctl up --base-port N` (its services listen on
    /// the next seven ports). Without it the URLs come from the configuration (`[gateway] port`
    /// and `[gateway.upstreams]`), which default to 127.0.0.1:8080-8087.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=65_000))]
    pub(crate) base_port: Option<u16>,
    /// Data directory of `shopctl up`; its `secrets.toml` holds the admin token.
    #[arg(
        long,
        env = "SHOPCTL_DATA_DIR",
        value_name = "DIR",
        default_value = ".shopctl"
    )]
    pub(crate) data_dir: PathBuf,
    /// Admin token for the services' `/admin` routes (default: the one `shopctl up` made in the
    /// data directory, else `[gateway] admin_token` from the configuration).
    #[arg(
        long,
        env = "SHOPCTL_ADMIN_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub(crate) admin_token: Option<String>,
}

/// The resolved endpoints of a shop.
#[derive(Debug, Clone)]
pub(crate) struct Shop {
    /// Every service with its base URL, in `up`'s start order (the gateway last).
    pub(crate) services: Vec<(&'static str, String)>,
    /// The admin token, when one is known.
    pub(crate) admin_token: Option<String>,
}

impl Shop {
    /// The gateway's base URL.
    pub(crate) fn gateway(&self) -> &str {
        self.url("gateway").unwrap_or("http://127.0.0.1:8080")
    }

    /// The base URL of `service`.
    pub(crate) fn url(&self, service: &str) -> Option<&str> {
        self.services
            .iter()
            .find(|(name, _)| *name == service)
            .map(|(_, url)| url.as_str())
    }
}

impl Target {
    /// Resolves the services' URLs and the admin token.
    pub(crate) fn resolve(&self, global: &GlobalArgs) -> anyhow::Result<Shop> {
        let from_config = shopctl_gateway::load_settings(&global.config_source()).map_err(|e| {
            anyhow::anyhow!(
                "{e}; correct it, or pass --base-port to reach a shop `shopctl up` started"
            )
        })?;
        let services = if let Some(base) = self.base_port {
            SERVICES
                .iter()
                .map(|(name, offset)| (*name, format!("http://127.0.0.1:{}", base + offset)))
                .collect()
        } else {
            let common = &from_config.common;
            let host = if common.host.is_unspecified() {
                "127.0.0.1".to_owned()
            } else {
                common.host.to_string()
            };
            let scheme = if common.tls_cert_file.is_some() {
                "https"
            } else {
                "http"
            };
            SERVICES
                .iter()
                .map(|(name, _)| {
                    let url = if *name == "gateway" {
                        format!("{scheme}://{host}:{}", common.port)
                    } else {
                        from_config
                            .service
                            .upstreams
                            .get(*name)
                            .cloned()
                            .unwrap_or_default()
                    };
                    (*name, url.trim_end_matches('/').to_owned())
                })
                .collect()
        };
        let admin_token = self
            .admin_token
            .clone()
            .or_else(|| saved_admin_token(&self.data_dir))
            .or_else(|| {
                use secrecy::ExposeSecret as _;
                from_config
                    .common
                    .admin_token
                    .as_ref()
                    .map(|t| t.expose_secret().to_owned())
            });
        Ok(Shop {
            services,
            admin_token,
        })
    }
}

/// Flags that locate a deployment of the shop in a Kubernetes cluster (`deploy`, `history`,
/// `rollback`).
#[derive(Debug, Clone, Args)]
pub(crate) struct Cluster {
    /// The Kubernetes context (default: the current one of the kubeconfig).
    #[arg(long, value_name = "NAME")]
    pub(crate) context: Option<String>,
    /// The namespace of the shop (default: the values file's, else `shopctl`).
    #[arg(long, value_name = "NAME")]
    pub(crate) namespace: Option<String>,
}

/// How a rollout runs (`deploy`, `rollback`): its waits, the lock, and the audit trail.
#[derive(Debug, Clone, Args)]
pub(crate) struct Rollout {
    /// How long each wait (a migration, a stage's rollout) may take.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub(crate) timeout: Duration,
    /// Take over a deploy lock whose holder has been silent longer than the lock lasts.
    #[arg(long)]
    pub(crate) break_lock: bool,
    /// Where the operator's audit trail is (`audit/shopctl.jsonl`).
    #[arg(
        long,
        env = "SHOPCTL_DATA_DIR",
        value_name = "DIR",
        default_value = ".shopctl"
    )]
    pub(crate) data_dir: PathBuf,
}

/// Flags that choose what is rendered (`render`, `deploy`, `diff`).
#[derive(Debug, Clone, Args)]
pub(crate) struct Rendering {
    /// The values of this installation (TOML: image, replicas, resources, ingress, secret
    /// names); without it, the defaults.
    #[arg(long, value_name = "FILE")]
    pub(crate) values: Option<PathBuf>,
    /// The services' environment (overrides the values file's).
    #[arg(long, value_parser = ["production", "dev"])]
    pub(crate) environment: Option<String>,
    /// Add a PostgreSQL StatefulSet (development clusters; production names its databases in
    /// the databases Secret).
    #[arg(long)]
    pub(crate) with_postgres: bool,
    /// Add the Prometheus Operator's ServiceMonitor and PrometheusRule (the shop's recording
    /// and alert rules) and the Grafana dashboard as a ConfigMap.
    #[arg(long)]
    pub(crate) with_monitoring: bool,
}

impl Rendering {
    /// The values (with `namespace` when given) and the platform rendered from them.
    pub(crate) fn render(
        &self,
        namespace: Option<&str>,
    ) -> anyhow::Result<(
        crate::deploy::values::Values,
        Vec<crate::deploy::render::Manifest>,
    )> {
        use crate::deploy::{render, values::Values};
        let mut values = match &self.values {
            Some(path) => Values::load(path)?,
            None => Values::default(),
        };
        if let Some(environment) = &self.environment {
            values.environment.clone_from(environment);
        }
        if let Some(namespace) = namespace {
            namespace.clone_into(&mut values.namespace);
        }
        let manifests = render::platform_with(
            &values,
            render::Pieces {
                postgres: self.with_postgres,
                monitoring: self.with_monitoring,
            },
        )?;
        Ok((values, manifests))
    }
}

/// An HTTP client for operating the shop: short timeouts, no proxies.
pub(crate) fn client(timeout: Duration) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(2))
        .no_proxy()
        .build()?)
}

/// Parses `90s`, `500ms`, `2m` or a bare number of seconds.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, "s"), |at| text.split_at(at));
    let value: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration; use e.g. 60s, 500ms, 2m, 3h or 7d"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(value)),
        "s" => Ok(Duration::from_secs(value)),
        "m" => Ok(Duration::from_secs(value.saturating_mul(60))),
        "h" => Ok(Duration::from_secs(value.saturating_mul(3600))),
        "d" => Ok(Duration::from_secs(value.saturating_mul(86_400))),
        _ => Err(format!(
            "`{text}` is not a duration; use e.g. 60s, 500ms, 2m, 3h or 7d"
        )),
    }
}

/// The admin token `shopctl up` saved in its data directory `dir` (`secrets.toml`), if any.
pub(crate) fn saved_admin_token(dir: &std::path::Path) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Saved {
        admin_token: String,
    }
    let text = std::fs::read_to_string(dir.join("secrets.toml")).ok()?;
    toml::from_str::<Saved>(&text).ok().map(|s| s.admin_token)
}

/// Whether the service at `url` answers its readiness probe with 200.
pub(crate) async fn ready(client: &reqwest::Client, url: &str) -> bool {
    client
        .get(format!("{url}/readyz"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
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
        assert_eq!(parse_duration("3h"), Ok(Duration::from_secs(3 * 3600)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert!(parse_duration("5w").is_err());
    }
}
