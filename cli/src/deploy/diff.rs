//! What a deploy would change (`shopctl diff`): each rendered object sent to the API server as
//! a server-side dry run, and what the API server would make of it compared with what is live,
//! as a unified diff of YAML without the fields the server keeps for itself; objects that would
//! be created, and the shop's objects a deploy would prune.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;
use similar::TextDiff;

use super::apply::{self, Object};
use super::render::Manifest;

/// One object that would change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// `Kind/name`.
    pub object: String,
    /// `create`, `update` or `delete`.
    pub action: &'static str,
    /// The unified diff (live → would be); empty for a delete.
    pub diff: String,
}

/// What the server keeps for itself, left out of the comparison.
fn comparable(mut object: Value) -> Value {
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        for key in [
            "managedFields",
            "resourceVersion",
            "uid",
            "creationTimestamp",
            "generation",
            "selfLink",
        ] {
            meta.remove(key);
        }
        if let Some(annotations) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            annotations.remove("deployment.kubernetes.io/revision");
            if annotations.is_empty() {
                meta.remove("annotations");
            }
        }
    }
    if let Some(map) = object.as_object_mut() {
        map.remove("status");
    }
    object
}

fn yaml(object: &Value) -> String {
    serde_saphyr::to_string(object).unwrap_or_else(|e| format!("# cannot show: {e}\n"))
}

async fn change(
    client: &kube::Client,
    namespace: &str,
    object: &Object,
) -> anyhow::Result<Option<Change>> {
    let live = apply::get(client, namespace, object).await?;
    let would = apply::apply(client, namespace, object, true).await?;
    let would = comparable(serde_json::to_value(would)?);
    let (action, before) = match live {
        Some(live) => ("update", yaml(&comparable(serde_json::to_value(live)?))),
        None => ("create", String::new()),
    };
    let after = yaml(&would);
    if before == after {
        return Ok(None);
    }
    let diff = TextDiff::from_lines(&before, &after)
        .unified_diff()
        .context_radius(3)
        .header("live", "rendered")
        .to_string();
    Ok(Some(Change {
        object: object.id(),
        action,
        diff,
    }))
}

/// Every change a deploy of `manifests` would make in `namespace`.
pub async fn changes(
    client: &kube::Client,
    namespace: &str,
    manifests: &[Manifest],
) -> anyhow::Result<Vec<Change>> {
    let steps = apply::plan(manifests)?;
    let mut changes = Vec::new();
    for object in steps.iter().flat_map(|s| s.objects.iter()) {
        if let Some(change) = change(client, namespace, object).await? {
            changes.push(change);
        }
    }
    for id in super::engine::prunable(client, namespace, &steps).await? {
        changes.push(Change {
            object: id,
            action: "delete",
            diff: String::new(),
        });
    }
    Ok(changes)
}

/// The changes for a person.
pub fn text(changes: &[Change]) -> String {
    if changes.is_empty() {
        return "no change: the cluster is as rendered".to_owned();
    }
    let mut text = String::new();
    for change in changes {
        let _ = writeln!(text, "{} {}", change.action, change.object);
        text.push_str(&change.diff);
    }
    let summary = |action: &str| changes.iter().filter(|c| c.action == action).count();
    let _ = write!(
        text,
        "{} to create, {} to update, {} to delete",
        summary("create"),
        summary("update"),
        summary("delete")
    );
    text
}

/// The dry runs against the in-memory API server of `super::fake` behind kube's `tower-test`
/// mock (no Kubernetes API server can run on these machines).
#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::deploy::{engine, fake, render, values::Values};

    #[tokio::test]
    async fn a_first_diff_creates_everything_and_after_a_deploy_shows_only_what_changed() {
        let (client, state, _server) = fake::start(fake::State::default());
        let first = render::platform(&Values::default()).expect("a rendering");
        let all = changes(&client, "shopctl", &first).await.expect("a diff");
        let rendered: usize = first.iter().map(|m| m.objects.len()).sum();
        assert_eq!(all.len(), rendered);
        assert!(all.iter().all(|c| c.action == "create"));
        assert!(
            state.lock().expect("state").objects.is_empty(),
            "a dry run changes nothing"
        );
        let deploy = engine::Deploy {
            namespace: "shopctl".to_owned(),
            timeout: Duration::from_secs(30),
            actor: "operator:ci".to_owned(),
            break_lock: false,
            rollback_on_failure: false,
            note: String::new(),
        };
        deploy
            .run(&client, &first, "h1", &mut |_| {})
            .await
            .expect("deployed");
        assert!(
            changes(&client, "shopctl", &first)
                .await
                .expect("a diff")
                .is_empty()
        );
        let mut values = Values::default();
        values.replicas.max = 20;
        let second = render::platform(&values).expect("a rendering");
        state.lock().expect("state").objects.insert(
            "/apis/apps/v1/namespaces/shopctl/deployments/shopctl-old".to_owned(),
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "shopctl-old",
                "namespace": "shopctl", "labels": {"app.kubernetes.io/managed-by": "shopctl"}}}),
        );
        let found = changes(&client, "shopctl", &second).await.expect("a diff");
        let updated: Vec<&str> = found
            .iter()
            .filter(|c| c.action == "update")
            .map(|c| c.object.as_str())
            .collect();
        assert_eq!(updated.len(), 8, "each autoscaler: {updated:?}");
        assert!(
            updated
                .iter()
                .all(|o| o.starts_with("HorizontalPodAutoscaler/"))
        );
        let hpa = &found
            .iter()
            .find(|c| c.action == "update")
            .expect("one")
            .diff;
        assert!(
            hpa.contains("-  maxReplicas: 10") && hpa.contains("+  maxReplicas: 20"),
            "{hpa}"
        );
        assert!(
            found
                .iter()
                .any(|c| c.action == "delete" && c.object == "Deployment/shopctl-old")
        );
        assert!(text(&found).ends_with("0 to create, 8 to update, 1 to delete"));
    }
}
