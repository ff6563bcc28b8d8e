//! `shopctl serve <service>`: run one service until Ctrl-C or SIGTERM.

use std::path::Path;

use clap::Args;
use shopctl_kit::telemetry;

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
        // Secrets `shopctl bootstrap` wrote to ./.env, below the environment and the flags.
        let mut source = global.config_source();
        let section = self.service.name();
        for (key, value) in crate::platform::env_file_settings(Path::new(".env"), section)? {
            source = source.with(&key, value);
        }
        let mut source = self.data.apply(source);
        if let Some(port) = self.port {
            source = source.with("port", port);
        }
        crate::platform::runner::run_service(
            self.service,
            &source,
            crate::platform::lifeline::shutdown(),
            |name, log| {
                let filter = global.log_filter().unwrap_or(log);
                telemetry::init(name, filter, telemetry::LogTarget::Stdout);
            },
        )
        .await?;
        Ok(ExitStatus::Success)
    }
}
