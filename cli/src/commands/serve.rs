//! `shopctl serve <service>`: run one service until Ctrl-C or SIGTERM.

use clap::Args;
use shopctl_kit::{shutdown_signal, telemetry};

use super::{DataArgs, GlobalArgs, ServiceName};
use crate::ExitStatus;

/// Loads a service's settings, starts its logs and serves it until shutdown: the same four steps
/// for every service crate (each has `load_settings`, `NAME` and `serve`).
macro_rules! serve {
    ($service:ident, $source:expr, $global:expr) => {{
        let settings = $service::load_settings(&$source)?;
        let filter = $global
            .log_filter()
            .unwrap_or(&settings.common.log)
            .to_owned();
        telemetry::init($service::NAME, &filter, telemetry::LogTarget::Stdout);
        $service::serve(&settings, shutdown_signal()).await?;
    }};
}

/// Run one service in the foreground.
#[derive(Debug, Args)]
pub(crate) struct Serve {
    /// Which service.
    #[arg(value_enum)]
    service: ServiceName,
    /// Port to listen on (overrides configuration).
    #[arg(long)]
    port: Option<u16>,
    #[command(flatten)]
    data: DataArgs,
}

impl Serve {
    pub(crate) async fn run(self, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        let mut source = self.data.apply(global.config_source());
        if let Some(port) = self.port {
            source = source.with("port", port);
        }
        match self.service {
            ServiceName::Gateway => serve!(shopctl_gateway, source, global),
            ServiceName::Product => serve!(shopctl_product, source, global),
            ServiceName::User => serve!(shopctl_user, source, global),
            ServiceName::Inventory => serve!(shopctl_inventory, source, global),
            ServiceName::Payment => serve!(shopctl_payment, source, global),
            ServiceName::Order => serve!(shopctl_order, source, global),
            ServiceName::Notification => serve!(shopctl_notification, source, global),
        }
        Ok(ExitStatus::Success)
    }
}
