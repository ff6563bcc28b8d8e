//! One machine's platform layout, shared by `shopctl up` and `shopctl bootstrap`: which services
//! listen where, and the configuration and secrets files rendered for them from `templates/`.

use std::{collections::BTreeMap, fmt::Write as _, path::Path};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::RngCore as _;

use crate::printer::Printer;

pub mod bootstrap;
pub mod dash;
pub mod evidence;
pub mod faults;
pub mod lifeline;
pub mod local;
pub mod monitor;
pub mod processes;
pub mod runner;
pub mod seed;
pub mod supervisor;
pub mod target;

/// The services `up` runs, in start order, with their port offsets from the base port.
pub const SERVICES: [(&str, u16); 8] = [
    ("user", 2),
    ("product", 3),
    ("inventory", 5),
    ("payment", 6),
    ("notification", 7),
    ("order", 4),
    ("frontend", 1),
    ("gateway", 0),
];

/// The services with a database of their own.
pub const WITH_DATABASE: [&str; 6] = [
    "user",
    "product",
    "inventory",
    "payment",
    "notification",
    "order",
];

/// The configuration template (`templates/shopctl.toml`).
pub const CONFIG_TEMPLATE: &str = include_str!("../../templates/shopctl.toml");

/// The secrets template (`templates/env`).
pub const ENV_TEMPLATE: &str = include_str!("../../templates/env");

/// Ports from one set of replicas to the next (`up --replicas`): the second replica of the
/// gateway listens on the base port + 10, its order service on + 14, the third's on + 20, + 24.
/// (The first set's monitoring takes + 8 and + 9.)
pub const REPLICA_STRIDE: u16 = 10;

/// Most replicas `up --replicas` runs of each service (as many as the cluster's autoscaler).
pub const MAX_REPLICAS: u16 = 10;

/// The port of replica `replica` (0 is the first) of `service`.
pub fn port(base: u16, service: &str, replica: u16) -> u16 {
    base + replica * REPLICA_STRIDE + offset(service)
}

/// The name `up` gives replica `replica` of `service`, in its process table and log files: the
/// service's own for the first, then `order-2`, `order-3`, ….
pub fn replica_name(service: &str, replica: u16) -> String {
    if replica == 0 {
        service.to_owned()
    } else {
        format!("{service}-{}", replica + 1)
    }
}

/// Where and how the platform runs.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The gateway's port; the storefront takes the next, the services the six after.
    pub base_port: u16,
    /// Directory for SQLite files, audit logs and keys.
    pub data_dir: String,
    /// `dev` or `production`.
    pub environment: &'static str,
    /// Whether the gateway's per-client limits are raised for one engineer's machine.
    pub local_limits: bool,
    /// Replicas of every service (1 but for `up --replicas`); callers list them all.
    pub replicas: u16,
}

/// The port offset of `service` (the storefront is 1).
fn offset(service: &str) -> u16 {
    SERVICES
        .iter()
        .find(|(name, _)| *name == service)
        .map_or(1, |(_, offset)| *offset)
}

/// Replaces every `{{key}}` of `template`; a placeholder left over is a bug in the template.
pub fn render(template: &str, values: &BTreeMap<String, String>) -> anyhow::Result<String> {
    let mut text = template.to_owned();
    for (key, value) in values {
        text = text.replace(&format!("{{{{{key}}}}}"), value);
    }
    if let Some(at) = text.find("{{") {
        let name: String = text[at..].chars().take_while(|c| *c != '}').collect();
        anyhow::bail!("the template has a placeholder nothing fills: {name}}}}}");
    }
    Ok(text)
}

impl Layout {
    /// `shopctl.toml` for this layout, from the template.
    pub fn config(&self, generator: &str) -> anyhow::Result<String> {
        let mut values = BTreeMap::new();
        values.insert("generator".to_owned(), generator.to_owned());
        values.insert("environment".to_owned(), self.environment.to_owned());
        values.insert(
            "data_dir".to_owned(),
            self.data_dir.replace('\\', "\\\\").replace('"', "\\\""),
        );
        for (service, _) in SERVICES {
            let urls: Vec<String> = (0..self.replicas.max(1))
                .map(|replica| {
                    format!(
                        "http://127.0.0.1:{}",
                        port(self.base_port, service, replica)
                    )
                })
                .collect();
            values.insert(
                format!("port.{service}"),
                port(self.base_port, service, 0).to_string(),
            );
            values.insert(format!("url.{service}"), urls[0].clone());
            values.insert(format!("urls.{service}"), urls.join(","));
            let events: Vec<String> = urls
                .iter()
                .map(|u| format!("{u}/internal/events"))
                .collect();
            values.insert(format!("events.{service}"), events.join(","));
        }
        let mut limits = String::new();
        if self.local_limits {
            // One engineer's machine is one client: 2,000 req/s per client lets `shopctl
            // loadgen` measure the services rather than the limiter. Sign-ins keep their limit.
            let _ = writeln!(
                limits,
                "rate_limit_per_minute = 120000\nrate_limit_burst = 2000"
            );
        }
        values.insert("gateway_limits".to_owned(), limits);
        render(CONFIG_TEMPLATE, &values)
    }
}

/// Fresh secrets for one installation.
#[derive(Debug, Clone)]
pub struct Secrets {
    /// Signs service-to-service tokens.
    pub service_key: String,
    /// The bootstrap administrator's bearer token.
    pub admin_token: String,
}

impl Secrets {
    /// New random secrets.
    pub fn generate() -> Self {
        Self {
            service_key: random(32),
            admin_token: random(24),
        }
    }

    /// The `.env` text holding them, from the template.
    pub fn env_file(&self) -> anyhow::Result<String> {
        let values = BTreeMap::from([
            ("service_key".to_owned(), self.service_key.clone()),
            ("admin_token".to_owned(), self.admin_token.clone()),
        ]);
        render(ENV_TEMPLATE, &values)
    }

    /// The environment variables that hand them to every service.
    pub fn env_vars(&self) -> anyhow::Result<Vec<(String, String)>> {
        parse_env(&self.env_file()?)
    }
}

/// `KEY=value` lines of an env file (comments and blank lines skipped).
pub fn parse_env(text: &str) -> anyhow::Result<Vec<(String, String)>> {
    let mut vars = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            anyhow::bail!("line {} is not KEY=value", number + 1);
        };
        vars.push((key.trim().to_owned(), value.trim().to_owned()));
    }
    Ok(vars)
}

/// The settings of `section` among `SHOPCTL_<SECTION>__<KEY>=value` variables, as (key, value)
/// overrides.
pub fn section_settings(vars: &[(String, String)], section: &str) -> Vec<(String, String)> {
    let prefix = format!("SHOPCTL_{}__", section.to_uppercase());
    vars.iter()
        .filter_map(|(name, value)| {
            name.strip_prefix(&prefix)
                .map(|key| (key.to_lowercase(), value.clone()))
        })
        .collect()
}

/// The settings of `section` an env file (`.env`, as `shopctl bootstrap` writes it) sets with
/// `SHOPCTL_<SECTION>__<KEY>=value`, as (key, value) overrides. Variables the real environment
/// already sets are left out: the environment wins. A missing file sets nothing.
pub fn env_file_settings(path: &Path, section: &str) -> anyhow::Result<Vec<(String, String)>> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(Vec::new());
    };
    let vars = parse_env(&text).map_err(|e| {
        anyhow::anyhow!(
            "{} is corrupt ({e}); correct it or move it away",
            path.display()
        )
    })?;
    let unset: Vec<(String, String)> = vars
        .into_iter()
        .filter(|(name, _)| std::env::var_os(name).is_none())
        .collect();
    Ok(section_settings(&unset, section))
}

/// A random URL-safe secret of `bytes` bytes.
pub fn random(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    URL_SAFE_NO_PAD.encode(buffer)
}

/// Writes a file only its owner can read (also when it existed with wider permissions).
pub fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    shopctl_kit::files::write_private(path, text)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))
}

/// Creates the data directory `dir` owner-only, or tightens an existing one with a warning
/// (kit's `files`): it holds password hashes, addresses, keys, logs and audit trails.
pub fn private_data_dir(dir: &Path, printer: Printer) -> anyhow::Result<()> {
    let warning = shopctl_kit::files::secure_data_dir(dir).map_err(|e| {
        anyhow::anyhow!(
            "cannot create the data directory {}: {e}; pass --data-dir to a writable place",
            dir.display()
        )
    })?;
    if let Some(warning) = warning {
        printer.warning(&warning);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        Layout {
            base_port: 9000,
            data_dir: "/srv/shop \"data\"".to_owned(),
            environment: "dev",
            local_limits: true,
            replicas: 1,
        }
    }

    #[test]
    fn replicas_are_listed_wherever_a_service_is_called() {
        let text = Layout {
            replicas: 3,
            ..layout()
        }
        .config("shopctl test")
        .unwrap();
        let doc: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(doc["order"]["port"].as_integer(), Some(9004), "replica 1's");
        assert_eq!(
            doc["gateway"]["upstreams"]["order"].as_str(),
            Some("http://127.0.0.1:9004,http://127.0.0.1:9014,http://127.0.0.1:9024")
        );
        assert_eq!(
            doc["frontend"]["upstreams"]["product"].as_str(),
            Some("http://127.0.0.1:9003,http://127.0.0.1:9013,http://127.0.0.1:9023")
        );
        assert_eq!(
            doc["order"]["payment_url"].as_str(),
            Some("http://127.0.0.1:9006,http://127.0.0.1:9016,http://127.0.0.1:9026")
        );
        assert_eq!(
            doc["order"]["subscribers"]["order.confirmed"][0].as_str(),
            Some(
                "http://127.0.0.1:9007/internal/events,http://127.0.0.1:9017/internal/events,http://127.0.0.1:9027/internal/events"
            )
        );
        // One address where one is meant: the shop's link in e-mails, the key set.
        assert_eq!(
            doc["notification"]["shop_url"].as_str(),
            Some("http://127.0.0.1:9000")
        );
        assert_eq!(replica_name("order", 0), "order");
        assert_eq!(replica_name("order", 2), "order-3");
        assert_eq!(port(9000, "gateway", 1), 9010);
    }

    #[test]
    fn the_config_template_renders_to_valid_toml_with_every_service() {
        let text = layout().config("shopctl test").unwrap();
        let doc: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(doc["gateway"]["port"].as_integer(), Some(9000));
        assert_eq!(
            doc["gateway"]["upstreams"]["frontend"].as_str(),
            Some("http://127.0.0.1:9001")
        );
        assert_eq!(doc["order"]["port"].as_integer(), Some(9004));
        assert!(doc["product"].get("database_url").is_none());
        assert_eq!(doc["user"]["data_dir"].as_str(), Some("/srv/shop \"data\""));
        assert_eq!(
            doc["gateway"]["rate_limit_per_minute"].as_integer(),
            Some(120_000)
        );
        for (service, _) in SERVICES {
            assert!(doc.contains_key(service), "{service} missing");
            assert!(
                doc[service].get("service_key").is_none(),
                "no secrets in the file"
            );
        }
    }

    #[test]
    fn the_env_template_gives_every_service_both_secrets() {
        let secrets = Secrets::generate();
        let vars = secrets.env_vars().unwrap();
        for (service, _) in SERVICES {
            let section = service.to_uppercase();
            assert!(vars.contains(&(
                format!("SHOPCTL_{section}__SERVICE_KEY"),
                secrets.service_key.clone()
            )));
            assert!(vars.contains(&(
                format!("SHOPCTL_{section}__ADMIN_TOKEN"),
                secrets.admin_token.clone()
            )));
        }
        assert_eq!(vars.len(), 2 * SERVICES.len());
    }

    #[test]
    fn an_unfilled_placeholder_is_an_error() {
        let err = render("a = {{missing}}", &BTreeMap::new()).unwrap_err();
        assert!(err.to_string().contains("{{missing}}"), "{err}");
    }
}
