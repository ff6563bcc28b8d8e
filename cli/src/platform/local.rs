//! What `shopctl up` prepares and checks on this machine: a database per service on a PostgreSQL
//! server (`--postgres`), the data directory's secrets and generated configuration, every
//! service's readiness, and the demo accounts made once through the gateway.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Layout, WITH_DATABASE, target::ready, write_private};

/// Makes sure each service has its database on the PostgreSQL server `server`; returns their
/// URLs by service. Fails (changing nothing more) when the server cannot be reached.
pub async fn postgres_databases(server: &str) -> anyhow::Result<BTreeMap<&'static str, String>> {
    let redacted = shopctl_kit::db::redact_url(server);
    if !(server.starts_with("postgres://") || server.starts_with("postgresql://")) {
        anyhow::bail!(
            "--postgres {redacted} is not a PostgreSQL URL; give postgres://USER@HOST:PORT/NAME"
        );
    }
    let prefix = database_prefix(server);
    let mut urls = BTreeMap::new();
    for service in WITH_DATABASE {
        let name = format!("{prefix}_{service}");
        let url = tokio::time::timeout(
            Duration::from_secs(10),
            shopctl_kit::db::ensure_postgres_database(server, &name),
        )
        .await
        .map_err(|_| {
            anyhow::anyhow!("PostgreSQL at {redacted} did not answer within 10 s; start it or correct --postgres")
        })?
        .map_err(|e| anyhow::anyhow!("{e}; start PostgreSQL or correct --postgres"))?;
        urls.insert(service, url);
    }
    Ok(urls)
}

/// The name the databases of a shop on the PostgreSQL server `server` start with: the URL's
/// database (`…/shop` gives `shop_user`, `shop_order`, …), `shopctl` when it names none.
pub fn database_prefix(server: &str) -> String {
    server
        .split('?')
        .next()
        .and_then(|u| u.rsplit_once('/'))
        .map(|(_, name)| name)
        .filter(|name| !name.is_empty() && !name.contains('@'))
        .unwrap_or("shopctl")
        .to_owned()
}

/// The URL of the database `database` on the server of `server` (its own database replaced).
pub fn database_url(server: &str, database: &str) -> anyhow::Result<String> {
    let mut url = reqwest::Url::parse(server).map_err(|e| {
        anyhow::anyhow!(
            "{} is not a PostgreSQL URL ({e}); give postgres://USER@HOST:PORT/NAME",
            shopctl_kit::db::redact_url(server)
        )
    })?;
    url.set_path(&format!("/{database}"));
    Ok(url.to_string())
}

/// Secrets made on the first run and kept in the data directory.
#[derive(Debug, Serialize, Deserialize)]
pub struct Secrets {
    /// The platform key services sign their calls to each other with.
    pub service_key: String,
    /// The operator's bootstrap admin token.
    pub admin_token: String,
    /// Whether the demo accounts were made (they are, once).
    #[serde(default)]
    pub demo_accounts: bool,
}

/// The secrets of the data directory `dir`, made (and written owner-only) on the first run.
pub fn secrets(dir: &Path) -> anyhow::Result<Secrets> {
    let path = dir.join("secrets.toml");
    if let Ok(text) = std::fs::read_to_string(&path) {
        return toml::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "{} is corrupt ({}); delete it to start over with new secrets",
                path.display(),
                e.message()
            )
        });
    }
    let fresh = crate::platform::Secrets::generate();
    let secrets = Secrets {
        service_key: fresh.service_key,
        admin_token: fresh.admin_token,
        demo_accounts: false,
    };
    write_private(&path, &toml::to_string(&secrets)?)?;
    Ok(secrets)
}

/// Renders the configuration every service reads (from `templates/shopctl.toml`), for
/// `replicas` of each.
pub fn platform_config(dir: &Path, base: u16, replicas: u16) -> anyhow::Result<PathBuf> {
    let layout = Layout {
        base_port: base,
        data_dir: dir.display().to_string(),
        environment: "dev",
        local_limits: true,
        replicas,
    };
    let path = dir.join("platform.toml");
    write_private(
        &path,
        &layout.config("shopctl up, rewritten on every start")?,
    )?;
    Ok(path)
}

impl Secrets {
    /// The environment variables that hand the secrets to every service.
    pub fn env_vars(&self) -> anyhow::Result<Vec<(String, String)>> {
        crate::platform::Secrets {
            service_key: self.service_key.clone(),
            admin_token: self.admin_token.clone(),
        }
        .env_vars()
    }

    /// Notes in `dir`'s secrets that the demo accounts have been made.
    pub fn demo_accounts_made(self, dir: &Path) -> anyhow::Result<()> {
        write_private(
            &dir.join("secrets.toml"),
            &toml::to_string(&Self {
                demo_accounts: true,
                ..self
            })?,
        )
    }
}

/// Registers the demo customer and admin through the gateway; returns their passwords.
pub async fn demo_accounts(
    client: &reqwest::Client,
    gateway: &str,
    admin_token: &str,
) -> anyhow::Result<Vec<(String, String, String)>> {
    let mut made = Vec::new();
    for (email, role) in [
        ("customer@shopctl.local", "customer"),
        ("admin@shopctl.local", "admin"),
    ] {
        let password = crate::platform::random(12);
        let registered: serde_json::Value = client
            .post(format!("{gateway}/api/users/register"))
            .json(&json!({"email": email, "password": password, "name": role}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        if role == "admin" {
            let id = registered["id"].as_str().unwrap_or_default();
            client
                .put(format!("{gateway}/api/users/{id}/roles"))
                .bearer_auth(admin_token)
                .json(&json!({"roles": ["admin"]}))
                .send()
                .await?
                .error_for_status()?;
        }
        made.push((email.to_owned(), role.to_owned(), password));
    }
    Ok(made)
}

/// Polls the `/readyz` of every service at `urls` until all answer 200 or `within` passes.
pub async fn wait_ready(client: &reqwest::Client, urls: &[String], within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        let mut ok = true;
        for url in urls {
            ok &= ready(client, url).await;
        }
        if ok {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}
