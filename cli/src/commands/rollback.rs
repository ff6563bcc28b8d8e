//! `shopctl rollback [--to-revision N]`: a revision of the history (by default the last one
//! deployed before the current) applied again, waited for and recorded as a new revision.

use clap::Args;
use serde_json::json;
use shopctl_kit::audit::Outcome as Audit;

use super::GlobalArgs;
use crate::ExitStatus;
use crate::deploy::{engine, release};
use crate::logs::pods;
use crate::platform::evidence;
use crate::platform::target::{Cluster, Rollout};

/// Apply an earlier revision of the shop again.
#[derive(Debug, Args)]
pub(crate) struct Rollback {
    /// The revision to go back to (default: the last deployed one before the current).
    #[arg(long, value_name = "N")]
    to_revision: Option<u32>,
    #[command(flatten)]
    cluster: Cluster,
    #[command(flatten)]
    rollout: Rollout,
}

impl Rollback {
    pub(crate) async fn run(self, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        let namespace = self
            .cluster
            .namespace
            .clone()
            .unwrap_or_else(|| "shopctl".to_owned());
        let client = pods::client(self.cluster.context.as_deref()).await?;
        let history = release::history(&client, &namespace).await?;
        let current = history
            .iter()
            .rev()
            .find(|r| r.status == release::Status::Deployed)
            .map(|r| r.revision);
        let target = match self.to_revision {
            Some(n) => history
                .iter()
                .find(|r| r.revision == n)
                .ok_or_else(|| anyhow::anyhow!("revision {n} is not in the history of {namespace}; `shopctl history` lists them"))?,
            None => history
                .iter()
                .rev()
                .find(|r| Some(r.revision) != current && matches!(r.status, release::Status::Deployed | release::Status::Superseded))
                .ok_or_else(|| anyhow::anyhow!("no earlier deployed revision in {namespace} to roll back to"))?,
        };
        let manifests = release::manifests(&client, &namespace, target.revision).await?;
        let deploy = engine::Deploy {
            namespace: namespace.clone(),
            timeout: self.rollout.timeout,
            actor: evidence::actor(),
            break_lock: self.rollout.break_lock,
            rollback_on_failure: false,
            note: format!("rollback to revision {}", target.revision),
        };
        let printer = global.printer();
        let mut show = |p: engine::Progress| printer.note(&p.to_string());
        let outcome = deploy
            .run(&client, &manifests, &target.values_hash, &mut show)
            .await;
        let audited = if outcome.as_ref().is_ok_and(engine::Outcome::deployed) {
            Audit::Success
        } else {
            Audit::Failure
        };
        let details = json!({"to_revision": target.revision, "via": "cli",
            "revision": outcome.as_ref().ok().map(|o| o.revision)});
        evidence::record_or_warn(
            &self.rollout.data_dir,
            "rollback",
            &namespace,
            audited,
            details,
            printer,
        )
        .await;
        let outcome = outcome?;
        let text = format!(
            "{} (back to revision {})",
            outcome.text(&namespace),
            target.revision
        );
        printer.result(&text, &outcome)?;
        Ok(if outcome.deployed() {
            ExitStatus::Success
        } else {
            ExitStatus::Failure
        })
    }
}
