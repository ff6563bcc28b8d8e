//! `shopctl history`: the revisions of the shop in a namespace, as the cluster keeps them.

use clap::Args;

use super::GlobalArgs;
use crate::ExitStatus;
use crate::deploy::release;
use crate::logs::pods;
use crate::platform::target::Cluster;

/// List the deploys of the shop in a namespace.
#[derive(Debug, Args)]
pub(crate) struct History {
    #[command(flatten)]
    cluster: Cluster,
}

impl History {
    pub(crate) async fn run(self, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        let namespace = self
            .cluster
            .namespace
            .unwrap_or_else(|| "shopctl".to_owned());
        let client = pods::client(self.cluster.context.as_deref()).await?;
        let revisions = release::history(&client, &namespace).await?;
        let mut text = release::table(&revisions);
        if revisions.is_empty() {
            text = format!("no deploy of the shop in {namespace} yet");
        }
        global.printer().result(&text, &revisions)?;
        Ok(ExitStatus::Success)
    }
}
