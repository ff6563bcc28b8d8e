//! The database steps of a set-up: the server answers, each service's database exists and is
//! migrated, the first signing key is made and, in dev, the demo catalog and its stock loaded.

use std::{collections::BTreeMap, path::PathBuf};

use secrecy::{ExposeSecret as _, SecretString};
use shopctl_kit::{
    db::{Db, Migrations, PoolOptions},
    settings::ConfigSource,
};

use super::{Bootstrap, Environment, State, Step};
use crate::platform::WITH_DATABASE;

/// The URL of `name` on the PostgreSQL `server`.
pub(super) fn database_on(server: &str, name: &str) -> anyhow::Result<String> {
    let mut url = reqwest::Url::parse(server).map_err(|e| {
        anyhow::anyhow!(
            "--postgres {} is not a URL ({e})",
            shopctl_kit::db::redact_url(server)
        )
    })?;
    if !matches!(url.scheme(), "postgres" | "postgresql") {
        anyhow::bail!(
            "--postgres {} is not a PostgreSQL URL; give postgres://USER@HOST:PORT/NAME",
            shopctl_kit::db::redact_url(server)
        );
    }
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}

/// The database name prefix a `--postgres` URL implies (its database, or `shopctl`).
pub(super) fn prefix(server: &str) -> String {
    reqwest::Url::parse(server)
        .ok()
        .map(|url| url.path().trim_start_matches('/').to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "shopctl".to_owned())
}

/// A service's database as the configuration names it.
pub(super) struct ServiceDb {
    service: &'static str,
    url: SecretString,
    migrations: &'static Migrations,
}

/// Where a service's settings come from here: the configuration file, with the `.env` file's
/// values for its section on top (as `shopctl serve` reads them).
pub(super) struct Sources {
    pub(super) config: PathBuf,
    pub(super) env_file: PathBuf,
}

impl Sources {
    pub(super) fn for_service(&self, section: &str) -> anyhow::Result<ConfigSource> {
        let mut source = ConfigSource {
            file: Some(self.config.clone()),
            overrides: Vec::new(),
        };
        for (key, value) in crate::platform::env_file_settings(&self.env_file, section)? {
            source = source.with(&key, value);
        }
        Ok(source)
    }
}

pub(super) fn service_databases(sources: &Sources) -> anyhow::Result<Vec<ServiceDb>> {
    macro_rules! db {
        ($service:ident) => {{
            let settings = $service::load_settings(&sources.for_service($service::NAME)?)?;
            ServiceDb {
                service: $service::NAME,
                url: settings.common.database_url($service::NAME),
                migrations: &$service::MIGRATIONS,
            }
        }};
    }
    Ok(vec![
        db!(shopctl_user),
        db!(shopctl_product),
        db!(shopctl_inventory),
        db!(shopctl_payment),
        db!(shopctl_notification),
        db!(shopctl_order),
    ])
}

/// How many migrations `migrations` holds for the backend of `url`.
pub(super) fn known_migrations(migrations: &Migrations, url: &str) -> usize {
    if url.starts_with("sqlite") {
        migrations.sqlite.iter().count()
    } else {
        migrations.postgres.iter().count()
    }
}

impl Bootstrap {
    pub(super) async fn database_server(&self, steps: &mut Vec<Step>) -> anyhow::Result<()> {
        let Some(server) = &self.postgres else {
            steps.push(Step {
                name: "database server".to_owned(),
                state: State::Ok,
                detail: "embedded SQLite (pass --postgres URL for PostgreSQL)".to_owned(),
            });
            return Ok(());
        };
        let maintenance = database_on(server, "postgres")?;
        let reached = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            Db::connect(&SecretString::from(maintenance), PoolOptions::default()),
        )
        .await;
        let redacted = shopctl_kit::db::redact_url(server);
        steps.push(match reached {
            Ok(Ok(db)) => {
                db.close().await;
                Step {
                    name: "database server".to_owned(),
                    state: State::Ok,
                    detail: format!("PostgreSQL at {redacted} answers"),
                }
            }
            Ok(Err(e)) => Step {
                name: "database server".to_owned(),
                state: State::Failed,
                detail: format!("{e}; start PostgreSQL or correct --postgres"),
            },
            Err(_) => Step {
                name: "database server".to_owned(),
                state: State::Failed,
                detail: format!(
                    "PostgreSQL at {redacted} did not answer within 10 s; start it or correct --postgres"
                ),
            },
        });
        Ok(())
    }

    /// Each service's database URL on the `--postgres` server (none for SQLite). They hold the
    /// server's credentials, so they go to the secrets file, not the configuration.
    pub(super) fn database_urls(&self) -> anyhow::Result<BTreeMap<&'static str, String>> {
        let mut databases = BTreeMap::new();
        if let Some(server) = &self.postgres {
            let prefix = prefix(server);
            for service in WITH_DATABASE {
                databases.insert(
                    service,
                    database_on(server, &format!("{prefix}_{service}"))?,
                );
            }
        }
        Ok(databases)
    }

    /// Each service's database: created and migrated (or, with `--check`, inspected).
    pub(super) async fn databases(
        &self,
        sources: &Sources,
        steps: &mut Vec<Step>,
    ) -> anyhow::Result<()> {
        for db in service_databases(sources)? {
            let url = db.url.expose_secret().to_owned();
            let step = format!("database {}", db.service);
            let known = known_migrations(db.migrations, &url);
            let sqlite_file = url
                .strip_prefix("sqlite://")
                .map(|path| PathBuf::from(path.split('?').next().unwrap_or_default()));
            if self.check {
                let exists = match &sqlite_file {
                    Some(file) => file.exists(),
                    None => true,
                };
                let opened = if exists {
                    Db::connect(&db.url, PoolOptions::default()).await.ok()
                } else {
                    None
                };
                let Some(opened) = opened else {
                    steps.push(Step {
                        name: step,
                        state: State::Missing,
                        detail: format!("{} does not exist yet", shopctl_kit::db::redact_url(&url)),
                    });
                    continue;
                };
                let applied = opened.applied_migrations().await.map_or(0, |m| m.len());
                opened.close().await;
                steps.push(if applied >= known {
                    Step {
                        name: step,
                        state: State::Ok,
                        detail: format!("{applied} migrations applied"),
                    }
                } else {
                    Step {
                        name: step,
                        state: State::Missing,
                        detail: format!("{} of {known} migrations pending", known - applied),
                    }
                });
                continue;
            }
            let existed = sqlite_file.as_ref().is_none_or(|file| file.exists());
            if let Some(server) = &self.postgres
                && !url.starts_with("sqlite")
            {
                let name = reqwest::Url::parse(&url)?
                    .path()
                    .trim_start_matches('/')
                    .to_owned();
                shopctl_kit::db::ensure_postgres_database(server, &name).await?;
            }
            let opened = Db::connect(&db.url, PoolOptions::default()).await?;
            let before = opened.applied_migrations().await.map_or(0, |m| m.len());
            opened.migrate(db.migrations).await?;
            let after = opened.applied_migrations().await?.len();
            opened.close().await;
            steps.push(Step {
                name: step,
                state: if before == after && existed {
                    State::Ok
                } else {
                    State::Created
                },
                detail: format!(
                    "{after} migrations applied ({} just now) on {}",
                    after - before,
                    shopctl_kit::db::redact_url(&url)
                ),
            });
        }
        Ok(())
    }

    /// The first token-signing key, and the demo catalog with its stock (dev only).
    pub(super) async fn keys_and_seed(
        &self,
        sources: &Sources,
        steps: &mut Vec<Step>,
    ) -> anyhow::Result<()> {
        use shopctl_inventory::store::InventoryStore as _;
        use shopctl_product::store::ProductStore as _;
        use shopctl_user::store::UserStore as _;

        let user = shopctl_user::load_settings(&sources.for_service(shopctl_user::NAME)?)?;
        let store = shopctl_user::store(&user, shopctl_user::connect(&user).await?);
        let active = store
            .signing_keys(chrono::Utc::now())
            .await?
            .iter()
            .any(|k| k.retired_at.is_none());
        steps.push(match (active, self.check) {
            (true, _) => Step {
                name: "signing key".to_owned(),
                state: State::Ok,
                detail: "an active Ed25519 key signs access tokens".to_owned(),
            },
            (false, true) => Step {
                name: "signing key".to_owned(),
                state: State::Missing,
                detail: "no active key yet".to_owned(),
            },
            (false, false) => {
                shopctl_user::domain::tokens::ensure_key(&store).await?;
                Step {
                    name: "signing key".to_owned(),
                    state: State::Created,
                    detail: "a new Ed25519 key signs access tokens".to_owned(),
                }
            }
        });

        if self.environment == Environment::Production {
            steps.push(Step {
                name: "demo data".to_owned(),
                state: State::Skipped,
                detail: "production never loads demo data".to_owned(),
            });
            return Ok(());
        }
        let product = shopctl_product::load_settings(&sources.for_service(shopctl_product::NAME)?)?;
        let catalog =
            shopctl_product::store::SqlProductStore::new(shopctl_product::connect(&product).await?);
        let inventory =
            shopctl_inventory::load_settings(&sources.for_service(shopctl_inventory::NAME)?)?;
        let stock = shopctl_inventory::store::SqlInventoryStore::new(
            shopctl_inventory::connect(&inventory).await?,
        );
        let products = catalog.count_products().await?;
        let skus = stock.gauges(i64::MAX).await?.0;
        if self.check {
            steps.push(Step {
                name: "demo data".to_owned(),
                state: if products > 0 && skus > 0 {
                    State::Ok
                } else {
                    State::Missing
                },
                detail: format!("{products} products, {skus} SKUs with stock"),
            });
            return Ok(());
        }
        let added_products = shopctl_product::seed_demo_if_empty(&product, &catalog).await?;
        let added_skus = shopctl_inventory::seed_demo_if_empty(&inventory, &stock).await?;
        steps.push(Step {
            name: "demo data".to_owned(),
            state: if added_products + added_skus > 0 {
                State::Created
            } else {
                State::Ok
            },
            detail: format!(
                "{} products ({added_products} new), stock for {} SKUs ({added_skus} new)",
                catalog.count_products().await?,
                stock.gauges(i64::MAX).await?.0
            ),
        });
        Ok(())
    }
}
