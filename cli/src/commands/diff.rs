//! `shopctl diff`: what `shopctl deploy` would change, from a server-side dry run of every
//! rendered object against what is live. Exit 0 when nothing would change, 1 when something
//! would (as `diff` does), 2 when it cannot tell.

use clap::Args;

use super::GlobalArgs;
use crate::ExitStatus;
use crate::deploy::diff;
use crate::logs::pods;
use crate::platform::target::{Cluster, Rendering};

/// Show what a deploy would change in the cluster.
#[derive(Debug, Args)]
pub(crate) struct Diff {
    #[command(flatten)]
    rendering: Rendering,
    #[command(flatten)]
    cluster: Cluster,
}

impl Diff {
    pub(crate) async fn run(self, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        let (values, manifests) = self.rendering.render(self.cluster.namespace.as_deref())?;
        let client = pods::client(self.cluster.context.as_deref()).await?;
        let changes = diff::changes(&client, &values.namespace, &manifests).await?;
        global.printer().result(&diff::text(&changes), &changes)?;
        Ok(if changes.is_empty() {
            ExitStatus::Success
        } else {
            ExitStatus::Failure
        })
    }
}
