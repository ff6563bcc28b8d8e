//! A deploy, from rendered manifests to a recorded revision: the namespace, then the lock, then
//! a pending revision in the history; every step applied server-side and waited for (migration
//! Jobs complete, each stage's Deployments rolled out) by watch; what is no longer rendered
//! pruned; the revision marked deployed or failed (with which object and why), and on failure,
//! when asked, the last deployed revision applied again and recorded as a rollback. The lock is
//! given back however it ends.

use std::{collections::BTreeSet, time::Duration};

use chrono::Utc;
use kube::{
    Api, Client,
    api::{ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams},
};
use serde::Serialize;

use super::apply::{self, Step};
use super::release::{self, Revision, Status};
use super::render::Manifest;
use super::wait;

/// What a deploy is told to do.
#[derive(Debug, Clone)]
pub struct Deploy {
    /// Where.
    pub namespace: String,
    /// How long each wait may take.
    pub timeout: Duration,
    /// Who (for the history and the lock).
    pub actor: String,
    /// Break a stale lock.
    pub break_lock: bool,
    /// On failure, apply the last deployed revision again.
    pub rollback_on_failure: bool,
    /// What the revision is (empty for a plain deploy; `rollback to revision N`).
    pub note: String,
}

/// How a deploy ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// The revision recorded for it.
    pub revision: u32,
    /// `deployed` or `failed`.
    pub status: Status,
    /// Objects applied.
    pub applied: usize,
    /// `Kind/name` of what was pruned.
    pub pruned: Vec<String>,
    /// Which object is stuck and why, when it failed.
    pub stuck: Option<String>,
    /// The revision a failure rolled back to, and whether that rollback worked.
    pub rolled_back_to: Option<(u32, bool)>,
}

/// One line of progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// A step starts.
    Step(String),
    /// An object was applied.
    Applied(String),
    /// An object is ready (a Job complete, a Deployment rolled out).
    Ready(String),
}

/// Refuses a namespace that exists and is not the shop's: a deploy would take it over.
async fn ensure_ours(client: &Client, namespace: &str) -> anyhow::Result<()> {
    let found = Api::<k8s_openapi::api::core::v1::Namespace>::all(client.clone())
        .get_opt(namespace)
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot reach the cluster to read namespace {namespace}: {e}; check the context (`kubectl config current-context`) and that its API server is up"
            )
        })?;
    let ours = found.is_none_or(|ns| {
        ns.metadata.labels.is_some_and(|l| {
            l.get("app.kubernetes.io/managed-by").map(String::as_str) == Some("shopctl")
        })
    });
    if !ours {
        anyhow::bail!(
            "namespace {namespace} exists but is not the shop's (no app.kubernetes.io/managed-by=shopctl label): deploy into another --namespace, or label it if it is yours"
        );
    }
    Ok(())
}

impl Outcome {
    /// Whether it ended deployed.
    pub fn deployed(&self) -> bool {
        self.status == Status::Deployed
    }

    /// The outcome for a person: the revision and how it ended, then why, then the rollback.
    pub fn text(&self, namespace: &str) -> String {
        use std::fmt::Write as _;
        let mut text = format!(
            "revision {} {} in {namespace}: {} objects applied",
            self.revision,
            self.status.as_str(),
            self.applied
        );
        if !self.pruned.is_empty() {
            let _ = write!(text, "; pruned {}", self.pruned.join(", "));
        }
        if let Some(stuck) = &self.stuck {
            let _ = write!(text, "\n{stuck}");
        }
        if let Some((to, worked)) = self.rolled_back_to {
            let how = if worked {
                "rolled back to"
            } else {
                "the rollback failed too, to"
            };
            let _ = write!(text, "\n{how} revision {to}");
        }
        text
    }
}

impl std::fmt::Display for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Step(title) => write!(f, "step: {title}"),
            Self::Applied(id) => write!(f, "applied {id}"),
            Self::Ready(id) => write!(f, "ready {id}"),
        }
    }
}

/// The kinds pruned when no longer rendered (never Namespaces, Secrets or Leases).
const PRUNED: &[(&str, &str, &str, &str)] = &[
    ("", "v1", "ConfigMap", "configmaps"),
    ("", "v1", "ServiceAccount", "serviceaccounts"),
    ("", "v1", "Service", "services"),
    ("apps", "v1", "Deployment", "deployments"),
    ("apps", "v1", "StatefulSet", "statefulsets"),
    ("batch", "v1", "Job", "jobs"),
    (
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
    ),
    (
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
    ),
    (
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
    ),
    ("networking.k8s.io", "v1", "Ingress", "ingresses"),
    (
        "monitoring.coreos.com",
        "v1",
        "ServiceMonitor",
        "servicemonitors",
    ),
    (
        "monitoring.coreos.com",
        "v1",
        "PrometheusRule",
        "prometheusrules",
    ),
];

fn pruned_api(client: &Client, namespace: &str, kind: &str) -> Option<Api<DynamicObject>> {
    let (group, version, kind, plural) = PRUNED.iter().find(|(_, _, k, _)| *k == kind)?;
    let resource =
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural);
    Some(Api::namespaced_with(client.clone(), namespace, &resource))
}

/// `Kind/name` of the shop's objects in `namespace` that `steps` no longer have: what a deploy
/// of them prunes.
pub async fn prunable(
    client: &Client,
    namespace: &str,
    steps: &[Step],
) -> anyhow::Result<Vec<String>> {
    let wanted: BTreeSet<String> = steps
        .iter()
        .flat_map(|s| s.objects.iter().map(apply::Object::id))
        .collect();
    let mut doomed = Vec::new();
    for (_, _, kind, plural) in PRUNED {
        let Some(api) = pruned_api(client, namespace, kind) else {
            continue;
        };
        let found = match api
            .list(&ListParams::default().labels("app.kubernetes.io/managed-by=shopctl"))
            .await
        {
            Ok(found) => found,
            // A kind the cluster does not serve (no Prometheus Operator) has nothing to prune.
            Err(kube::Error::Api(status)) if status.code == 404 => continue,
            Err(e) => anyhow::bail!("cannot list the {plural} of {namespace}: {e}"),
        };
        for object in found.items {
            let id = format!("{kind}/{}", object.metadata.name.unwrap_or_default());
            if !wanted.contains(&id) {
                doomed.push(id);
            }
        }
    }
    Ok(doomed)
}

impl Deploy {
    /// Applies every step in order, waiting after each; stops at the first that is stuck.
    async fn roll(
        &self,
        client: &Client,
        steps: &[Step],
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<usize, wait::Stuck> {
        let mut applied = 0;
        for step in steps {
            progress(Progress::Step(step.title.clone()));
            for object in &step.objects {
                apply::apply(client, &self.namespace, object, false)
                    .await
                    .map_err(|e| wait::Stuck {
                        object: object.id(),
                        timed_out: false,
                        reasons: vec![format!("{e:#}")],
                    })?;
                applied += 1;
                progress(Progress::Applied(object.id()));
            }
            for job in &step.jobs {
                wait::job(client, &self.namespace, job, self.timeout).await?;
                progress(Progress::Ready(format!("Job/{job}")));
            }
            for deployment in &step.deployments {
                wait::deployment(client, &self.namespace, deployment, self.timeout).await?;
                progress(Progress::Ready(format!("Deployment/{deployment}")));
            }
        }
        Ok(applied)
    }

    /// Deletes the shop's objects of `namespace` that `steps` no longer have.
    async fn prune(&self, client: &Client, steps: &[Step]) -> anyhow::Result<Vec<String>> {
        let doomed = prunable(client, &self.namespace, steps).await?;
        for id in &doomed {
            let (kind, name) = id.split_once('/').unwrap_or_default();
            let api = pruned_api(client, &self.namespace, kind);
            if let Some(api) = api {
                api.delete(name, &DeleteParams::background())
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot prune {id}: {e}"))?;
            }
        }
        Ok(doomed)
    }

    /// Deploys `manifests` (rendered from values whose hash is `values_hash`).
    pub async fn run(
        &self,
        client: &Client,
        manifests: &[Manifest],
        values_hash: &str,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> anyhow::Result<Outcome> {
        let steps = apply::plan(manifests)?;
        ensure_ours(client, &self.namespace).await?;
        // The namespace first: the lock and the history live in it.
        if let Some(namespace) = steps
            .first()
            .and_then(|s| s.objects.first())
            .filter(|o| o.kind == "Namespace")
        {
            apply::apply(client, &self.namespace, namespace, false).await?;
        }
        release::lock(
            client,
            &self.namespace,
            &self.actor,
            self.timeout * 4,
            self.break_lock,
        )
        .await?;
        let outcome = self
            .locked(client, &steps, manifests, values_hash, progress)
            .await;
        let unlocked = release::unlock(client, &self.namespace).await;
        let outcome = outcome?;
        unlocked?;
        Ok(outcome)
    }

    async fn locked(
        &self,
        client: &Client,
        steps: &[Step],
        manifests: &[Manifest],
        values_hash: &str,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> anyhow::Result<Outcome> {
        let history = release::history(client, &self.namespace).await?;
        let objects: usize = steps.iter().map(|s| s.objects.len()).sum();
        let mut revision = Revision {
            revision: history.last().map_or(1, |r| r.revision + 1),
            status: Status::Pending,
            at: Utc::now(),
            actor: self.actor.clone(),
            values_hash: values_hash.to_owned(),
            objects,
            note: self.note.clone(),
        };
        release::record(client, &self.namespace, &revision, manifests).await?;
        let rolled = self.roll(client, steps, progress).await;
        let mut outcome = Outcome {
            revision: revision.revision,
            status: Status::Pending,
            applied: 0,
            pruned: Vec::new(),
            stuck: None,
            rolled_back_to: None,
        };
        match rolled {
            Ok(applied) => {
                outcome.applied = applied;
                outcome.pruned = self.prune(client, steps).await?;
                revision.status = Status::Deployed;
                for older in history.iter().filter(|r| r.status == Status::Deployed) {
                    let mut older = older.clone();
                    older.status = Status::Superseded;
                    let kept = release::manifests(client, &self.namespace, older.revision).await?;
                    release::record(client, &self.namespace, &older, &kept).await?;
                }
            }
            Err(stuck) => {
                revision.status = Status::Failed;
                revision.note = if self.note.is_empty() {
                    stuck.to_string()
                } else {
                    format!("{}: {stuck}", self.note)
                };
                outcome.stuck = Some(stuck.to_string());
            }
        }
        outcome.status = revision.status;
        release::record(client, &self.namespace, &revision, manifests).await?;
        if outcome.stuck.is_some()
            && self.rollback_on_failure
            && let Some(good) = history.iter().rev().find(|r| r.status == Status::Deployed)
        {
            let previous = release::manifests(client, &self.namespace, good.revision).await?;
            let steps = apply::plan(&previous)?;
            let mut back = Revision {
                revision: revision.revision + 1,
                status: Status::Pending,
                at: Utc::now(),
                actor: self.actor.clone(),
                values_hash: good.values_hash.clone(),
                objects: steps.iter().map(|s| s.objects.len()).sum(),
                note: format!(
                    "rollback to revision {} after revision {} failed",
                    good.revision, revision.revision
                ),
            };
            release::record(client, &self.namespace, &back, &previous).await?;
            let worked = self.roll(client, &steps, progress).await;
            back.status = if worked.is_ok() {
                Status::Deployed
            } else {
                Status::Failed
            };
            if let Err(stuck) = &worked {
                back.note = format!("{}; the rollback failed too: {stuck}", back.note);
            }
            release::record(client, &self.namespace, &back, &previous).await?;
            outcome.rolled_back_to = Some((good.revision, worked.is_ok()));
        }
        Ok(outcome)
    }
}

/// The engine against the in-memory API server of `super::fake` (no Kubernetes API server can
/// run on these machines; kube's `tower-test` mock carries the calls): a first deploy in
/// order with a bounded number of calls, a stuck rollout explained and rolled back, the lock
/// refused while held and broken only when stale and asked to, prune.
#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::deploy::{fake, render, values::Values};

    fn deploy() -> Deploy {
        Deploy {
            namespace: "shopctl".to_owned(),
            timeout: Duration::from_secs(30),
            actor: "operator:ci".to_owned(),
            break_lock: false,
            rollback_on_failure: true,
            note: String::new(),
        }
    }

    fn rendering() -> Vec<Manifest> {
        render::platform(&Values::default()).expect("a rendering")
    }

    const DEPLOYMENTS: &str = "/apis/apps/v1/namespaces/shopctl/deployments";

    #[tokio::test]
    async fn a_first_deploy_applies_in_order_records_revision_1_and_gives_the_lock_back() {
        let (client, state, _server) = fake::start(fake::State::default());
        let mut seen = Vec::new();
        let outcome = deploy()
            .run(&client, &rendering(), "h1", &mut |p| seen.push(p))
            .await
            .expect("deployed");
        assert_eq!((outcome.revision, outcome.status.as_str()), (1, "deployed"));
        let rendered: usize = rendering().iter().map(|m| m.objects.len()).sum();
        assert_eq!(outcome.applied, rendered);
        let ready: Vec<&Progress> = seen
            .iter()
            .filter(|p| matches!(p, Progress::Ready(_)))
            .collect();
        let position = |id: &str| {
            ready
                .iter()
                .position(|p| **p == Progress::Ready(id.to_owned()))
                .expect(id)
        };
        let first_job = ready
            .iter()
            .position(|p| matches!(p, Progress::Ready(id) if id.starts_with("Job/")))
            .expect("a job");
        assert!(
            first_job < position("Deployment/shopctl-user"),
            "migrations first"
        );
        assert!(position("Deployment/shopctl-payment") < position("Deployment/shopctl-order"));
        assert!(position("Deployment/shopctl-order") < position("Deployment/shopctl-notification"));
        assert!(
            position("Deployment/shopctl-notification") < position("Deployment/shopctl-gateway")
        );
        let state = state.lock().expect("state");
        assert_eq!(
            &state.requests[..2],
            [
                "GET /api/v1/namespaces/shopctl",
                "PATCH /api/v1/namespaces/shopctl"
            ],
            "is the namespace ours, then the namespace first"
        );
        assert!(
            !state
                .objects
                .keys()
                .any(|k| k.ends_with("/leases/shopctl-deploy")),
            "the lock is given back"
        );
        assert!(
            state
                .objects
                .contains_key("/api/v1/namespaces/shopctl/secrets/shopctl-release-v1")
        );
        // Bounded calls: one apply per object, a list (+ an open watch) per wait, a few for
        // the lock, the history and the prune; no polling.
        let waits = 6 + 8;
        let bound = 1 + rendered + 2 * 2 + 2 * waits + 4 + 2 + PRUNED.len() + 2;
        assert!(
            state.requests.len() <= bound,
            "{} calls > {bound}",
            state.requests.len()
        );
        eprintln!(
            "api calls of a first deploy: {} for {rendered} objects",
            state.requests.len()
        );
        assert_eq!(
            state.count("PATCH"),
            rendered + 3,
            "every object once (the namespace also before the lock), the revision twice"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_stuck_rollout_says_which_and_why_and_rolls_back_to_the_last_good_revision() {
        let (client, state, _server) = fake::start(fake::State::default());
        deploy()
            .run(&client, &rendering(), "h1", &mut |_| {})
            .await
            .expect("revision 1");
        state
            .lock()
            .expect("state")
            .broken
            .insert("shopctl-order".to_owned());
        let outcome = deploy()
            .run(&client, &rendering(), "h2", &mut |_| {})
            .await
            .expect("ran");
        assert_eq!((outcome.revision, outcome.status.as_str()), (2, "failed"));
        let stuck = outcome.stuck.expect("why");
        assert!(stuck.starts_with("Deployment/shopctl-order did not finish in time: Deployment/shopctl-order: 2 of 2 replicas updated, 1 available"), "{stuck}");
        assert_eq!(
            outcome.rolled_back_to,
            Some((1, false)),
            "revision 1 has the same broken order"
        );
        let history = release::history(&client, "shopctl").await.expect("history");
        let statuses: Vec<(u32, &str)> = history
            .iter()
            .map(|r| (r.revision, r.status.as_str()))
            .collect();
        assert_eq!(statuses, [(1, "deployed"), (2, "failed"), (3, "failed")]);
        assert!(
            history[2]
                .note
                .starts_with("rollback to revision 1 after revision 2 failed"),
            "{}",
            history[2].note
        );
        // Mended, the next deploy supersedes revision 1.
        state.lock().expect("state").broken.clear();
        let outcome = deploy()
            .run(&client, &rendering(), "h3", &mut |_| {})
            .await
            .expect("ran");
        assert_eq!((outcome.revision, outcome.status.as_str()), (4, "deployed"));
        let history = release::history(&client, "shopctl").await.expect("history");
        assert_eq!(history[0].status, Status::Superseded);
    }

    #[tokio::test]
    async fn the_lock_refuses_a_second_deploy_and_is_broken_only_when_stale_and_asked() {
        let (client, state, _server) = fake::start(fake::State::default());
        let lease = |renewed: chrono::DateTime<Utc>| {
            json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": "shopctl-deploy", "namespace": "shopctl", "resourceVersion": "1"},
            "spec": {"holderIdentity": "operator:alice", "renewTime": renewed.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                "leaseDurationSeconds": 600}})
        };
        let at = "/apis/coordination.k8s.io/v1/namespaces/shopctl/leases/shopctl-deploy";
        state
            .lock()
            .expect("state")
            .objects
            .insert(at.to_owned(), lease(Utc::now()));
        let err = deploy()
            .run(&client, &rendering(), "h", &mut |_| {})
            .await
            .expect_err("held")
            .to_string();
        assert!(
            err.contains("a deploy by operator:alice holds the lock"),
            "{err}"
        );
        state.lock().expect("state").objects.insert(
            at.to_owned(),
            lease(Utc::now() - chrono::Duration::hours(2)),
        );
        let err = deploy()
            .run(&client, &rendering(), "h", &mut |_| {})
            .await
            .expect_err("stale")
            .to_string();
        assert!(err.contains("--break-lock"), "{err}");
        let mut breaking = deploy();
        breaking.break_lock = true;
        let outcome = breaking
            .run(&client, &rendering(), "h", &mut |_| {})
            .await
            .expect("broken and deployed");
        assert_eq!(outcome.status, Status::Deployed);
    }

    #[tokio::test]
    async fn a_namespace_that_is_not_the_shops_is_refused_before_anything_is_applied() {
        let mut start = fake::State::default();
        start.objects.insert(
            "/api/v1/namespaces/shopctl".to_owned(),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shopctl"}}),
        );
        let (client, state, _server) = fake::start(start);
        let err = deploy()
            .run(&client, &rendering(), "h", &mut |_| {})
            .await
            .expect_err("not ours")
            .to_string();
        assert!(err.contains("exists but is not the shop's"), "{err}");
        assert_eq!(
            state.lock().expect("state").count("PATCH"),
            0,
            "nothing applied"
        );
    }

    #[tokio::test]
    async fn what_is_no_longer_rendered_is_pruned_and_nothing_else() {
        let mut start = fake::State::default();
        for (name, managed) in [("shopctl-old", true), ("someone-elses", false)] {
            let labels = if managed {
                json!({"app.kubernetes.io/managed-by": "shopctl"})
            } else {
                json!({})
            };
            start.objects.insert(format!("{DEPLOYMENTS}/{name}"), json!({"apiVersion": "apps/v1",
                "kind": "Deployment", "metadata": {"name": name, "namespace": "shopctl", "labels": labels}}));
        }
        let (client, state, _server) = fake::start(start);
        let outcome = deploy()
            .run(&client, &rendering(), "h", &mut |_| {})
            .await
            .expect("deployed");
        assert_eq!(outcome.pruned, ["Deployment/shopctl-old"]);
        let state = state.lock().expect("state");
        assert!(
            state
                .objects
                .contains_key(&format!("{DEPLOYMENTS}/someone-elses"))
        );
        assert!(
            !state
                .objects
                .contains_key(&format!("{DEPLOYMENTS}/shopctl-old"))
        );
    }
}
