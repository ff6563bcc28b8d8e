//! `shopctl serve <service>`: run one service until Ctrl-C or SIGTERM.

use clap::Args;
use shopctl_kit::{shutdown_signal, telemetry};

use super::{DataArgs, GlobalArgs, ServiceName};
use crate::ExitStatus;

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
            ServiceName::Gateway => {
                let settings = shopctl_gateway::load_settings(&source)?;
                let filter = global
                    .log_filter()
                    .unwrap_or(&settings.common.log)
                    .to_owned();
                telemetry::init(shopctl_gateway::NAME, &filter, telemetry::LogTarget::Stdout);
                shopctl_gateway::serve(&settings, shutdown_signal()).await?;
            }
            ServiceName::Product => {
                let settings = shopctl_product::load_settings(&source)?;
                let filter = global
                    .log_filter()
                    .unwrap_or(&settings.common.log)
                    .to_owned();
                telemetry::init(shopctl_product::NAME, &filter, telemetry::LogTarget::Stdout);
                shopctl_product::serve(&settings, shutdown_signal()).await?;
            }
            ServiceName::User => {
                let settings = shopctl_user::load_settings(&source)?;
                let filter = global
                    .log_filter()
                    .unwrap_or(&settings.common.log)
                    .to_owned();
                telemetry::init(shopctl_user::NAME, &filter, telemetry::LogTarget::Stdout);
                shopctl_user::serve(&settings, shutdown_signal()).await?;
            }
        }
        Ok(ExitStatus::Success)
    }
}
