//! `shopctl deploy`: the rendered platform applied to a cluster (server-side, in dependency
//! order, each step waited for by watch), recorded as a revision of the namespace's history,
//! rolled back on failure when asked. Exit 0 deployed, 1 failed (which object and why is
//! printed), 2 could not run (no cluster, no permission, the lock held).

use clap::Args;
use serde_json::json;
use shopctl_kit::audit::Outcome as Audit;

use super::GlobalArgs;
use crate::ExitStatus;
use crate::deploy::engine::{self, Progress};
use crate::deploy::{apply, render};
use crate::logs::pods;
use crate::platform::evidence;
use crate::platform::target::{Cluster, Rendering, Rollout};

/// Deploy the platform to a Kubernetes cluster.
#[derive(Debug, Args)]
#[allow(clippy::struct_excessive_bools)]
pub(crate) struct Deploy {
    #[command(flatten)]
    rendering: Rendering,
    #[command(flatten)]
    cluster: Cluster,
    /// Let the API server check every object without changing anything.
    #[arg(long)]
    dry_run: bool,
    /// When the deploy fails, apply the last deployed revision again.
    #[arg(long)]
    rollback_on_failure: bool,
    #[command(flatten)]
    rollout: Rollout,
}

/// Every object sent to the API server as a dry run: it checks them (schema, admission,
/// permissions) and changes nothing.
async fn dry_run(
    client: &kube::Client,
    namespace: &str,
    manifests: &[render::Manifest],
    printer: crate::printer::Printer,
) -> anyhow::Result<ExitStatus> {
    let mut checked = 0;
    for step in apply::plan(manifests)? {
        for object in &step.objects {
            apply::apply(client, namespace, object, true).await?;
            checked += 1;
        }
    }
    printer.result(
        &format!("{checked} objects accepted by the API server (dry run: nothing changed)"),
        &json!({"dry_run": true, "objects": checked, "namespace": namespace}),
    )?;
    Ok(ExitStatus::Success)
}

impl Deploy {
    pub(crate) async fn run(self, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        let (values, manifests) = self.rendering.render(self.cluster.namespace.as_deref())?;
        let client = pods::client(self.cluster.context.as_deref()).await?;
        let printer = global.printer();
        if self.dry_run {
            return dry_run(&client, &values.namespace, &manifests, printer).await;
        }
        let deploy = engine::Deploy {
            namespace: values.namespace.clone(),
            timeout: self.rollout.timeout,
            actor: evidence::actor(),
            break_lock: self.rollout.break_lock,
            rollback_on_failure: self.rollback_on_failure,
            note: String::new(),
        };
        let values_hash = render::short_hash(&toml::to_string(&values)?, 16);
        let bar = printer.progress().then(indicatif::ProgressBar::new_spinner);
        let mut show = |p: Progress| {
            let line = p.to_string();
            match &bar {
                Some(bar) => bar.set_message(line),
                None => printer.note(&line),
            }
        };
        let outcome = deploy
            .run(&client, &manifests, &values_hash, &mut show)
            .await;
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        let details = match &outcome {
            Ok(o) => json!({"revision": o.revision, "status": o.status, "values_hash": values_hash,
                "rolled_back_to": o.rolled_back_to.map(|r| r.0), "via": "cli"}),
            Err(e) => json!({"error": format!("{e:#}"), "values_hash": values_hash, "via": "cli"}),
        };
        let audited = if outcome.as_ref().is_ok_and(engine::Outcome::deployed) {
            Audit::Success
        } else {
            Audit::Failure
        };
        evidence::record_or_warn(
            &self.rollout.data_dir,
            "deploy",
            &values.namespace,
            audited,
            details,
            printer,
        )
        .await;
        let outcome = outcome?;
        let text = outcome.text(&values.namespace);
        printer.result(&text, &outcome)?;
        Ok(if outcome.deployed() {
            ExitStatus::Success
        } else {
            ExitStatus::Failure
        })
    }
}
