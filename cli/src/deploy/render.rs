//! The whole platform as plain Kubernetes YAML, from `templates/k8s/` and the [`Values`]: the
//! same values give the same bytes. Every object is read back into its Kubernetes type before
//! it is returned, so a template that renders into something the API would refuse fails here.

use std::{collections::BTreeMap, fmt::Write as _};

use k8s_openapi::api::{
    apps::v1::{Deployment, StatefulSet},
    autoscaling::v2::HorizontalPodAutoscaler,
    batch::v1::Job,
    core::v1::{ConfigMap, Namespace, Service, ServiceAccount},
    networking::v1::{Ingress, NetworkPolicy},
    policy::v1::PodDisruptionBudget,
};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use super::values::Values;
use crate::platform::{CONFIG_TEMPLATE, WITH_DATABASE, render};

const NAMESPACE: &str = include_str!("../../../templates/k8s/namespace.yaml");
const CONFIG: &str = include_str!("../../../templates/k8s/config.yaml");
const SERVICE: &str = include_str!("../../../templates/k8s/service.yaml");
const MIGRATE: &str = include_str!("../../../templates/k8s/migrate.yaml");
const INGRESS: &str = include_str!("../../../templates/k8s/ingress.yaml");
const NETWORK: &str = include_str!("../../../templates/k8s/network.toml");
const POSTGRES: &str = include_str!("../../../templates/k8s/postgres.yaml");
const MONITORING: &str = include_str!("../../../templates/k8s/monitoring.yaml");

/// What is rendered beside the platform.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pieces {
    /// A PostgreSQL StatefulSet for development clusters.
    pub postgres: bool,
    /// The Prometheus Operator's ServiceMonitor and PrometheusRule, and the Grafana dashboard.
    pub monitoring: bool,
}

/// The order services roll out in: what others call first, the entrance last.
pub const ROLLOUT_ORDER: [&str; 8] = [
    "user",
    "product",
    "inventory",
    "payment",
    "order",
    "notification",
    "frontend",
    "gateway",
];

/// The port every service listens on in its pod.
const PORT: u16 = 8080;

/// One file of the rendering.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// Its file name in `--out DIR`, which sorts in apply order.
    pub file: String,
    /// Its YAML: one or more documents.
    pub text: String,
    /// `Kind/name` of each object in it, in order.
    pub objects: Vec<String>,
}

/// The allowed paths of `templates/k8s/network.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Network {
    calls: BTreeMap<String, Vec<String>>,
    databases: Vec<String>,
    mail: Vec<String>,
}

/// The first `len` hex digits of `text`'s SHA-256.
pub fn short_hash(text: &str, len: usize) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let mut hex = String::new();
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    hex.truncate(len);
    hex
}

fn indent(text: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    text.lines()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("{pad}{l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `shopctl.toml` for the cluster: every service on port 8080 behind its Service's name.
pub fn config(values: &Values) -> anyhow::Result<String> {
    let mut map = BTreeMap::new();
    map.insert("generator".to_owned(), "shopctl render".to_owned());
    map.insert("environment".to_owned(), values.environment.clone());
    map.insert("data_dir".to_owned(), "/var/lib/shopctl".to_owned());
    map.insert("gateway_limits".to_owned(), String::new());
    for service in ROLLOUT_ORDER {
        map.insert(format!("port.{service}"), PORT.to_string());
        let url = if service == "gateway" {
            format!("https://{}", values.ingress.host)
        } else {
            format!("http://shopctl-{service}:{PORT}")
        };
        // One address per service: its Kubernetes Service spreads the calls over the pods.
        map.insert(format!("urls.{service}"), url.clone());
        map.insert(
            format!("events.{service}"),
            format!("{url}/internal/events"),
        );
        map.insert(format!("url.{service}"), url);
    }
    render(CONFIG_TEMPLATE, &map)
}

/// The environment of a service's containers: where its configuration is, and its secrets by
/// reference.
fn env(values: &Values, service: &str) -> String {
    let upper = service.to_uppercase();
    let mut text = String::from("- name: SHOPCTL_CONFIG\n  value: /etc/shopctl/shopctl.toml\n");
    let mut secret = |name: &str, secret: &str, key: &str| {
        let _ = write!(
            text,
            "- name: {name}\n  valueFrom:\n    secretKeyRef:\n      name: {secret}\n      key: {key}\n"
        );
    };
    secret(
        &format!("SHOPCTL_{upper}__SERVICE_KEY"),
        &values.secrets.platform,
        "service_key",
    );
    secret(
        &format!("SHOPCTL_{upper}__ADMIN_TOKEN"),
        &values.secrets.platform,
        "admin_token",
    );
    if WITH_DATABASE.contains(&service) {
        secret(
            &format!("SHOPCTL_{upper}__DATABASE_URL"),
            &values.secrets.databases,
            service,
        );
    }
    indent(text.trim_end(), 12)
}

fn common(values: &Values, config_hash: &str) -> BTreeMap<String, String> {
    let r = &values.resources;
    [
        ("generator", "shopctl render".to_owned()),
        ("namespace", values.namespace.clone()),
        ("version", env!("CARGO_PKG_VERSION").to_owned()),
        ("image", values.image.clone()),
        ("pull_policy", values.pull_policy.clone()),
        ("replicas_min", values.replicas.min.to_string()),
        ("replicas_max", values.replicas.max.to_string()),
        ("cpu_target", values.replicas.cpu_target.to_string()),
        ("cpu_request", r.cpu_request.clone()),
        ("memory_request", r.memory_request.clone()),
        ("cpu_limit", r.cpu_limit.clone()),
        ("memory_limit", r.memory_limit.clone()),
        ("config_hash", config_hash.to_owned()),
        (
            "release_hash",
            short_hash(&format!("{}\n{config_hash}", values.image), 10),
        ),
        ("host", values.ingress.host.clone()),
        ("tls_secret", values.ingress.tls_secret.clone()),
        ("ingress_class", values.ingress.class.clone()),
        ("postgres_image", values.postgres_image.clone()),
        ("postgres_secret", values.secrets.postgres.clone()),
        ("databases_secret", values.secrets.databases.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Renders the platform, in apply order.
pub fn platform(values: &Values) -> anyhow::Result<Vec<Manifest>> {
    platform_with(values, Pieces::default())
}

/// Renders the platform and the optional `pieces`, in apply order.
pub fn platform_with(values: &Values, pieces: Pieces) -> anyhow::Result<Vec<Manifest>> {
    values.check()?;
    let config_text = config(values)?;
    let config_hash = short_hash(&config_text, 16);
    let base = common(values, &config_hash);
    let with = |extra: &[(&str, String)]| {
        let mut map = base.clone();
        for (k, v) in extra {
            map.insert((*k).to_owned(), v.clone());
        }
        map
    };
    let mut files = vec![
        ("00-namespace.yaml".to_owned(), render(NAMESPACE, &base)?),
        (
            "01-config.yaml".to_owned(),
            render(CONFIG, &with(&[("config", indent(&config_text, 4))]))?,
        ),
        ("02-network.yaml".to_owned(), network_policies(values)?),
    ];
    for (i, service) in ROLLOUT_ORDER.iter().enumerate() {
        let map = with(&[
            ("service", (*service).to_owned()),
            ("env", env(values, service)),
        ]);
        if WITH_DATABASE.contains(service) {
            files.push((format!("10-migrate-{service}.yaml"), render(MIGRATE, &map)?));
        }
        files.push((format!("2{i}-{service}.yaml"), render(SERVICE, &map)?));
    }
    files.push(("30-ingress.yaml".to_owned(), render(INGRESS, &base)?));
    if pieces.postgres {
        let policy = postgres_policy(&values.namespace);
        files.push((
            "03-postgres.yaml".to_owned(),
            format!("{}\n---\n{policy}", render(POSTGRES, &base)?.trim_end()),
        ));
    }
    if pieces.monitoring {
        files.push((
            "40-monitoring.yaml".to_owned(),
            format!(
                "{}\n---\n{}",
                render(MONITORING, &base)?.trim_end(),
                prometheus_rule(&values.namespace)?
            ),
        ));
        files.push((
            "41-dashboard.yaml".to_owned(),
            dashboard(&values.namespace)?,
        ));
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
        .into_iter()
        .map(|(file, text)| {
            let objects = check(&file, &text)?;
            Ok(Manifest {
                file,
                text,
                objects,
            })
        })
        .collect()
}

/// The rendering as one YAML stream.
pub fn stream(manifests: &[Manifest]) -> String {
    manifests
        .iter()
        .map(|m| m.text.trim_end().to_owned())
        .collect::<Vec<_>>()
        .join("\n---\n")
        + "\n"
}

/// Reads every document of `text` back into its Kubernetes type; returns `Kind/name` of each.
fn check(file: &str, text: &str) -> anyhow::Result<Vec<String>> {
    let documents: Vec<serde_json::Value> =
        serde_saphyr::from_multiple(text).map_err(|e| anyhow::anyhow!("{file}: not YAML: {e}"))?;
    let mut objects = Vec::new();
    for doc in documents {
        let kind = doc["kind"].as_str().unwrap_or_default().to_owned();
        let name = doc["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let typed = |e: serde_json::Error| anyhow::anyhow!("{file}: {kind}/{name}: {e}");
        match kind.as_str() {
            "Namespace" => drop(serde_json::from_value::<Namespace>(doc).map_err(typed)?),
            "ConfigMap" => drop(serde_json::from_value::<ConfigMap>(doc).map_err(typed)?),
            "ServiceAccount" => {
                drop(serde_json::from_value::<ServiceAccount>(doc).map_err(typed)?);
            }
            "Deployment" => drop(serde_json::from_value::<Deployment>(doc).map_err(typed)?),
            "Service" => drop(serde_json::from_value::<Service>(doc).map_err(typed)?),
            "HorizontalPodAutoscaler" => {
                drop(serde_json::from_value::<HorizontalPodAutoscaler>(doc).map_err(typed)?);
            }
            "PodDisruptionBudget" => {
                drop(serde_json::from_value::<PodDisruptionBudget>(doc).map_err(typed)?);
            }
            "Job" => drop(serde_json::from_value::<Job>(doc).map_err(typed)?),
            "NetworkPolicy" => drop(serde_json::from_value::<NetworkPolicy>(doc).map_err(typed)?),
            "StatefulSet" => drop(serde_json::from_value::<StatefulSet>(doc).map_err(typed)?),
            // The Prometheus Operator's kinds have no type here: their shape is checked by
            // the operator's admission; the rules inside are checked by promtool in the tests.
            "ServiceMonitor" | "PrometheusRule"
                if doc["apiVersion"] == "monitoring.coreos.com/v1" && doc["spec"].is_object() => {}
            "Ingress" => drop(serde_json::from_value::<Ingress>(doc).map_err(typed)?),
            other => anyhow::bail!("{file}: {other}/{name}: not a kind shopctl renders"),
        }
        objects.push(format!("{kind}/{name}"));
    }
    Ok(objects)
}

impl Network {
    /// The services that call `service` (everyone calls `user`), in rollout order.
    fn callers(&self, service: &str) -> Vec<&'static str> {
        ROLLOUT_ORDER
            .iter()
            .copied()
            .filter(|caller| {
                *caller != service
                    && (service == "user"
                        || self
                            .calls
                            .get(*caller)
                            .is_some_and(|c| c.iter().any(|s| s == service)))
            })
            .collect()
    }

    /// The services `service` calls (`user` included), in rollout order.
    fn callees(&self, service: &str) -> Vec<&'static str> {
        let named = self.calls.get(service);
        ROLLOUT_ORDER
            .iter()
            .copied()
            .filter(|callee| {
                *callee != service
                    && (*callee == "user" || named.is_some_and(|c| c.iter().any(|s| s == callee)))
            })
            .collect()
    }
}

fn policy_header(name: &str, namespace: &str) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {name}\n  namespace: {namespace}\n  labels:\n    app.kubernetes.io/part-of: shopctl\n    app.kubernetes.io/managed-by: shopctl\n"
    )
}

/// A `from:`/`to:` rule on the service port: the shop's pods of `services`, and the
/// `namespaces` by name.
fn peers_rule(direction: &str, services: &[&str], namespaces: &[&str]) -> String {
    let mut rule = format!("    - {direction}:\n");
    for service in services {
        let _ = write!(
            rule,
            "        - podSelector:\n            matchLabels:\n              app.kubernetes.io/name: {service}\n              app.kubernetes.io/part-of: shopctl\n"
        );
    }
    for namespace in namespaces {
        let _ = write!(
            rule,
            "        - namespaceSelector:\n            matchLabels:\n              kubernetes.io/metadata.name: {namespace}\n"
        );
    }
    let _ = write!(
        rule,
        "      ports:\n        - {{protocol: TCP, port: {PORT}}}\n"
    );
    rule
}

/// A rule to any destination on `ports`.
fn ports_rule(ports: &[u16]) -> String {
    let mut rule = "    - ports:\n".to_owned();
    for port in ports {
        let _ = writeln!(rule, "        - {{protocol: TCP, port: {port}}}");
    }
    rule
}

/// One service's policy: who may call it, and whom it may call.
fn service_policy(network: &Network, values: &Values, service: &str) -> String {
    let mut ingress = String::new();
    let callers = network.callers(service);
    if !callers.is_empty() {
        ingress.push_str(&peers_rule("from", &callers, &[]));
    }
    if service == "gateway" {
        ingress.push_str(&peers_rule(
            "from",
            &[],
            &[&values.ingress.controller_namespace],
        ));
    }
    ingress.push_str(&peers_rule(
        "from",
        &[],
        &[&values.ingress.prometheus_namespace],
    ));
    let mut egress = String::new();
    let called = network.callees(service);
    if !called.is_empty() {
        egress.push_str(&peers_rule("to", &called, &[]));
    }
    if network.databases.iter().any(|s| s == service) {
        egress.push_str(&ports_rule(&[5432]));
    }
    if network.mail.iter().any(|s| s == service) {
        egress.push_str(&ports_rule(&[25, 465, 587]));
    }
    let mut doc = policy_header(&format!("shopctl-{service}"), &values.namespace);
    let _ = write!(
        doc,
        "spec:\n  podSelector:\n    matchLabels:\n      app.kubernetes.io/name: {service}\n      app.kubernetes.io/part-of: shopctl\n  policyTypes: [Ingress, Egress]\n  ingress:\n{ingress}"
    );
    if egress.is_empty() {
        doc.push_str("  egress: []\n");
    } else {
        let _ = write!(doc, "  egress:\n{egress}");
    }
    doc.trim_end().to_owned()
}

/// Only the services with a database reach `--with-postgres`'s PostgreSQL.
fn postgres_policy(namespace: &str) -> String {
    let databases: Vec<&str> = ROLLOUT_ORDER
        .iter()
        .copied()
        .filter(|s| WITH_DATABASE.contains(s))
        .collect();
    let rule = peers_rule("from", &databases, &[]).replace(&format!("port: {PORT}"), "port: 5432");
    format!(
        "{}spec:\n  podSelector:\n    matchLabels:\n      app.kubernetes.io/name: postgres\n      app.kubernetes.io/part-of: shopctl\n  policyTypes: [Ingress, Egress]\n  ingress:\n{rule}  egress: []\n",
        policy_header("shopctl-postgres", namespace)
    )
}

/// The recording and alert rules of `templates/monitoring/` as a PrometheusRule.
fn prometheus_rule(namespace: &str) -> anyhow::Result<String> {
    use crate::platform::monitor::{ALERT_RULES, RECORDING_RULES};
    let mut groups = Vec::new();
    for (file, text) in [
        ("recording.yml", RECORDING_RULES),
        ("alerts.yml", ALERT_RULES),
    ] {
        let rules: serde_json::Value = serde_saphyr::from_str(text)
            .map_err(|e| anyhow::anyhow!("templates/monitoring/rules/{file}: {e}"))?;
        for mut group in rules["groups"].as_array().cloned().unwrap_or_default() {
            // One PrometheusRule holds both files, and group names must be unique in it: the
            // files may each have a group of the same name (recording and alerting).
            let name = group["name"].as_str().unwrap_or_default().to_owned();
            if groups
                .iter()
                .any(|g: &serde_json::Value| g["name"] == name.as_str())
            {
                group["name"] = serde_json::json!(format!("{name}-alerts"));
            }
            groups.push(group);
        }
    }
    let object = serde_json::json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "shopctl",
            "namespace": namespace,
            "labels": {
                "app.kubernetes.io/part-of": "shopctl",
                "app.kubernetes.io/managed-by": "shopctl",
            },
        },
        "spec": {"groups": groups},
    });
    serde_saphyr::to_string(&object).map_err(|e| anyhow::anyhow!("the PrometheusRule: {e}"))
}

/// The Grafana dashboard of `templates/monitoring/` as a ConfigMap Grafana's sidecar loads.
fn dashboard(namespace: &str) -> anyhow::Result<String> {
    let object = serde_json::json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "shopctl-grafana-dashboard",
            "namespace": namespace,
            "labels": {
                "app.kubernetes.io/part-of": "shopctl",
                "app.kubernetes.io/managed-by": "shopctl",
                "grafana_dashboard": "1",
            },
        },
        "data": {"shopctl.json": crate::platform::monitor::GRAFANA_DASHBOARD},
    });
    serde_saphyr::to_string(&object).map_err(|e| anyhow::anyhow!("the dashboard ConfigMap: {e}"))
}

/// Default deny, DNS for every pod, then one policy per service with exactly its paths.
fn network_policies(values: &Values) -> anyhow::Result<String> {
    let network: Network =
        toml::from_str(NETWORK).map_err(|e| anyhow::anyhow!("templates/k8s/network.toml: {e}"))?;
    let ns = &values.namespace;
    let mut docs = vec![
        format!(
            "# Who may talk to whom, rendered by `shopctl render` from templates/k8s/network.toml:\n# everything is denied, then DNS and exactly the shop's paths are allowed.\n{}spec:\n  podSelector: {{}}\n  policyTypes: [Ingress, Egress]",
            policy_header("shopctl-default-deny", ns)
        ),
        format!(
            "{}spec:\n  podSelector: {{}}\n  policyTypes: [Egress]\n  egress:\n    - to:\n        - namespaceSelector:\n            matchLabels:\n              kubernetes.io/metadata.name: kube-system\n          podSelector:\n            matchLabels:\n              k8s-app: kube-dns\n      ports:\n        - {{protocol: UDP, port: 53}}\n        - {{protocol: TCP, port: 53}}",
            policy_header("shopctl-dns", ns)
        ),
    ];
    for service in ROLLOUT_ORDER {
        docs.push(service_policy(&network, values, service));
    }
    Ok(docs.join("\n---\n") + "\n")
}
