//! `shopctl version`.

use clap::Args;
use serde::Serialize;

use super::GlobalArgs;
use crate::ExitStatus;

/// Print version and build information.
#[derive(Debug, Args)]
pub(crate) struct Version;

#[derive(Debug, Serialize)]
struct Info {
    version: &'static str,
    services: Vec<&'static str>,
    target_os: &'static str,
    target_arch: &'static str,
}

impl Version {
    // Every command has the same `run(self, global)` shape, even one without flags.
    #[allow(clippy::unused_self)]
    pub(crate) fn run(self, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        let info = Info {
            version: env!("CARGO_PKG_VERSION"),
            // The list `up` starts, so the two cannot disagree.
            services: crate::platform::SERVICES.map(|(name, _)| name).to_vec(),
            target_os: std::env::consts::OS,
            target_arch: std::env::consts::ARCH,
        };
        let text = format!(
            "shopctl {} ({}-{})",
            info.version, info.target_os, info.target_arch
        );
        global.printer().result(&text, &info)?;
        Ok(ExitStatus::Success)
    }
}
