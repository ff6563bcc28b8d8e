//! The one way a service runs, alone (`shopctl serve`) or beside the others (`shopctl up
//! --in-process`): its settings loaded, its logs started, its data directory made owner-only,
//! served until shutdown.

use std::{future::Future, path::Path};

use shopctl_kit::settings::ConfigSource;

use crate::commands::ServiceName;

/// Loads `service`'s settings from `source`, calls `started(name, log_filter)` (where the caller
/// starts its logs), then serves until `shutdown` resolves and in-flight requests drain. The one
/// way a service runs, alone (`serve`) or beside the others (`up --in-process`).
pub async fn run_service(
    service: ServiceName,
    source: &ConfigSource,
    shutdown: impl Future<Output = ()> + Send + 'static,
    started: impl FnOnce(&'static str, &str),
) -> anyhow::Result<()> {
    // The same steps for every service crate (each has `load_settings`, `NAME` and `app`): the
    // service's App served by kit, its loops started with it and stopped after the drain.
    macro_rules! run {
        ($service:ident) => {{
            let settings = $service::load_settings(source)?;
            started($service::NAME, &settings.common.log);
            private_data_dir($service::NAME, &settings.common.data_dir);
            let app = $service::app(&settings).await?;
            shopctl_kit::service::run($service::NAME, &settings.common, app, shutdown).await?;
        }};
    }
    match service {
        ServiceName::Gateway => run!(shopctl_gateway),
        ServiceName::Product => run!(shopctl_product),
        ServiceName::User => run!(shopctl_user),
        ServiceName::Inventory => run!(shopctl_inventory),
        ServiceName::Payment => run!(shopctl_payment),
        ServiceName::Order => run!(shopctl_order),
        ServiceName::Notification => run!(shopctl_notification),
        ServiceName::Frontend => run!(shopctl_frontend),
    }
    Ok(())
}

/// Tightens an existing data directory to owner-only (kit's `files`), with a warning in the
/// service's log, also when it cannot be (the service still starts); one that does not exist
/// yet is created owner-only by whatever first writes into it (the SQLite database, the audit
/// trail). Services without a database (gateway, frontend) leave the directory alone.
fn private_data_dir(service: &str, dir: &Path) {
    if !crate::platform::WITH_DATABASE.contains(&service) || !dir.is_dir() {
        return;
    }
    if let Ok(Some(warning)) = shopctl_kit::files::secure_data_dir(dir) {
        tracing::warn!("{warning}");
    }
}
