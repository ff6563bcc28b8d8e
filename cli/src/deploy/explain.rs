//! Why a rollout is not done, in words: which object, and for each pod that is not ready what
//! its containers are waiting for, how they last ended (reason and exit code), what the probes
//! and the scheduler said, and the recent warning events. This is what a deploy prints when a
//! wait times out or fails, instead of "timed out".

use std::fmt::Write as _;

use k8s_openapi::api::{
    apps::v1::Deployment,
    core::v1::{ContainerStatus, Event, Pod},
};
use serde::Serialize;

/// How many warning events are told per object.
const EVENTS: usize = 5;

/// Where a Deployment's rollout stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rollout {
    /// `Deployment/name`.
    pub object: String,
    /// Replicas wanted.
    pub desired: i32,
    /// Replicas on the newest template.
    pub updated: i32,
    /// Replicas available.
    pub available: i32,
    /// Whether the controller has seen the newest generation.
    pub observed: bool,
    /// Whether it is done: observed, and updated = available = desired with no old replica
    /// left.
    pub done: bool,
    /// The Progressing condition's reason when it is False (`ProgressDeadlineExceeded`).
    pub failed: Option<String>,
}

/// Where `deployment`'s rollout stands.
pub fn rollout(deployment: &Deployment) -> Rollout {
    let name = deployment.metadata.name.clone().unwrap_or_default();
    let desired = deployment
        .spec
        .as_ref()
        .and_then(|s| s.replicas)
        .unwrap_or(1);
    let status = deployment.status.clone().unwrap_or_default();
    let observed =
        status.observed_generation.unwrap_or(0) >= deployment.metadata.generation.unwrap_or(0);
    let updated = status.updated_replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    let total = status.replicas.unwrap_or(0);
    let failed = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Progressing" && c.status == "False")
        .map(|c| {
            let reason = c.reason.clone().unwrap_or_default();
            match &c.message {
                Some(message) => format!("{reason}: {message}"),
                None => reason,
            }
        });
    Rollout {
        object: format!("Deployment/{name}"),
        desired,
        updated,
        available,
        observed,
        done: observed && updated == desired && available == desired && total == desired,
        failed,
    }
}

fn container_line(status: &ContainerStatus) -> Option<String> {
    let mut line = String::new();
    if let Some(waiting) = status.state.as_ref().and_then(|s| s.waiting.as_ref()) {
        let reason = waiting.reason.as_deref().unwrap_or("Waiting");
        let _ = write!(line, "{reason}");
        if let Some(message) = waiting.message.as_deref().filter(|m| !m.is_empty()) {
            let _ = write!(line, " ({})", one_line(message));
        }
    } else if status
        .state
        .as_ref()
        .and_then(|s| s.running.as_ref())
        .is_some()
        && !status.ready
    {
        line.push_str("running, not ready");
    }
    if let Some(ended) = status
        .last_state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
    {
        if !line.is_empty() {
            line.push_str("; ");
        }
        let _ = write!(
            line,
            "last ended {} with exit code {}",
            ended.reason.as_deref().unwrap_or("Terminated"),
            ended.exit_code
        );
        if let Some(message) = ended.message.as_deref().filter(|m| !m.is_empty()) {
            let _ = write!(line, ": {}", one_line(message));
        }
    }
    if status.restart_count > 0 {
        let _ = write!(line, "; {} restarts", status.restart_count);
    }
    (!line.is_empty()).then(|| format!("container {}: {line}", status.name))
}

fn one_line(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() > 200 {
        let cut: String = text.chars().take(200).collect();
        format!("{cut}…")
    } else {
        text
    }
}

/// What keeps `pod` from being ready, one line per finding; empty when it is ready.
pub fn pod(pod: &Pod, events: &[Event]) -> Vec<String> {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let status = pod.status.clone().unwrap_or_default();
    let ready = status
        .conditions
        .iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True");
    if ready {
        return Vec::new();
    }
    let mut lines = Vec::new();
    if let Some(unscheduled) = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "PodScheduled" && c.status == "False")
    {
        lines.push(format!(
            "Pod/{name}: not scheduled: {}",
            one_line(unscheduled.message.as_deref().unwrap_or("no node fits"))
        ));
    }
    for container in status
        .init_container_statuses
        .iter()
        .flatten()
        .chain(status.container_statuses.iter().flatten())
    {
        if let Some(line) = container_line(container) {
            lines.push(format!("Pod/{name}: {line}"));
        }
    }
    lines.extend(warnings(&format!("Pod/{name}"), "Pod", &name, events));
    if lines.is_empty() {
        lines.push(format!(
            "Pod/{name}: {} and not ready",
            status.phase.as_deref().unwrap_or("Pending")
        ));
    }
    lines
}

/// The newest warning events of the object `kind`/`name`, counted.
fn warnings(label: &str, kind: &str, name: &str, events: &[Event]) -> Vec<String> {
    let mut mine: Vec<&Event> = events
        .iter()
        .filter(|e| e.type_.as_deref() == Some("Warning"))
        .filter(|e| {
            e.involved_object.kind.as_deref() == Some(kind)
                && e.involved_object.name.as_deref() == Some(name)
        })
        .collect();
    mine.sort_by_key(|e| std::cmp::Reverse(e.last_timestamp.clone().map(|t| t.0)));
    mine.into_iter()
        .take(EVENTS)
        .map(|e| {
            format!(
                "{label}: event {} ×{}: {}",
                e.reason.as_deref().unwrap_or("Warning"),
                e.count.unwrap_or(1),
                one_line(e.message.as_deref().unwrap_or_default())
            )
        })
        .collect()
}

/// Why `deployment` is not rolled out: its state, then every pod that is not ready.
pub fn deployment(deployment: &Deployment, pods: &[Pod], events: &[Event]) -> Vec<String> {
    let state = rollout(deployment);
    let name = deployment.metadata.name.clone().unwrap_or_default();
    let mut lines = vec![format!(
        "{}: {} of {} replicas updated, {} available{}",
        state.object,
        state.updated,
        state.desired,
        state.available,
        if state.observed {
            ""
        } else {
            " (the controller has not seen the new version yet)"
        }
    )];
    if let Some(failed) = &state.failed {
        lines.push(format!("{}: rollout failed: {failed}", state.object));
    }
    lines.extend(warnings(&state.object, "Deployment", &name, events));
    for p in pods {
        lines.extend(pod(p, events));
    }
    lines
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn deployment_at(generation: i64, observed: i64, replicas: (i32, i32, i32, i32)) -> Deployment {
        serde_json::from_value(json!({
            "metadata": {"name": "shopctl-order", "generation": generation},
            "spec": {"replicas": replicas.0, "selector": {}, "template": {}},
            "status": {"observedGeneration": observed, "replicas": replicas.1,
                "updatedReplicas": replicas.2, "availableReplicas": replicas.3}
        }))
        .expect("a deployment")
    }

    fn crashing_pod() -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "shopctl-order-7d9-abc"},
            "status": {"phase": "Running",
                "conditions": [{"type": "Ready", "status": "False"}],
                "containerStatuses": [{"name": "order", "ready": false, "restartCount": 4,
                    "image": "shopctl:0.1.0", "imageID": "",
                    "state": {"waiting": {"reason": "CrashLoopBackOff",
                        "message": "back-off 40s restarting failed container=order"}},
                    "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                        "message": "error: cannot reach PostgreSQL at db:5432"}}}]}
        }))
        .expect("a pod")
    }

    fn event(kind: &str, name: &str, reason: &str, message: &str, count: i32) -> Event {
        serde_json::from_value(json!({
            "metadata": {"name": format!("{name}.1")},
            "involvedObject": {"kind": kind, "name": name},
            "type": "Warning", "reason": reason, "message": message, "count": count,
            "lastTimestamp": "2026-12-06T10:00:00Z"
        }))
        .expect("an event")
    }

    #[test]
    fn a_rollout_is_done_only_when_observed_updated_and_available_with_no_old_replica() {
        assert!(rollout(&deployment_at(3, 3, (2, 2, 2, 2))).done);
        assert!(
            !rollout(&deployment_at(3, 2, (2, 2, 2, 2))).done,
            "not observed"
        );
        assert!(
            !rollout(&deployment_at(3, 3, (2, 3, 2, 2))).done,
            "an old replica left"
        );
        assert!(
            !rollout(&deployment_at(3, 3, (2, 2, 2, 1))).done,
            "one not available"
        );
    }

    #[test]
    fn a_crash_loop_names_the_pod_its_exit_code_and_the_events() {
        let events = [
            event(
                "Pod",
                "shopctl-order-7d9-abc",
                "BackOff",
                "Back-off restarting failed container",
                7,
            ),
            event("Pod", "other-pod", "BackOff", "not this one", 1),
        ];
        let lines = deployment(
            &deployment_at(3, 3, (2, 2, 1, 1)),
            &[crashing_pod()],
            &events,
        );
        let text = lines.join("\n");
        assert!(
            text.contains("Deployment/shopctl-order: 1 of 2 replicas updated, 1 available"),
            "{text}"
        );
        assert!(
            text.contains("Pod/shopctl-order-7d9-abc: container order: CrashLoopBackOff (back-off 40s restarting failed container=order); last ended Error with exit code 1: error: cannot reach PostgreSQL at db:5432; 4 restarts"),
            "{text}"
        );
        assert!(text.contains("event BackOff ×7"), "{text}");
        assert!(!text.contains("not this one"), "{text}");
    }

    #[test]
    fn failing_probes_unschedulable_pods_and_failed_rollouts_are_told() {
        let pending: Pod = serde_json::from_value(json!({
            "metadata": {"name": "shopctl-user-1"},
            "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
                "reason": "Unschedulable", "message": "0/3 nodes are available: 3 Insufficient memory."}]}
        }))
        .expect("a pod");
        assert_eq!(
            pod(&pending, &[]),
            ["Pod/shopctl-user-1: not scheduled: 0/3 nodes are available: 3 Insufficient memory."]
        );
        let unready: Pod = serde_json::from_value(json!({
            "metadata": {"name": "shopctl-user-2"},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}],
                "containerStatuses": [{"name": "user", "ready": false, "restartCount": 0,
                    "image": "", "imageID": "", "state": {"running": {}}}]}
        }))
        .expect("a pod");
        let probe = event(
            "Pod",
            "shopctl-user-2",
            "Unhealthy",
            "Readiness probe failed: HTTP probe failed with statuscode: 503",
            12,
        );
        let lines = pod(&unready, &[probe]);
        assert_eq!(
            lines[0],
            "Pod/shopctl-user-2: container user: running, not ready"
        );
        assert!(
            lines[1].contains("Readiness probe failed: HTTP probe failed with statuscode: 503")
        );
        let mut stuck = deployment_at(3, 3, (2, 2, 1, 1));
        stuck.status.as_mut().expect("a status").conditions = Some(vec![
            serde_json::from_value(json!({
                "type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                "message": "ReplicaSet \"shopctl-order-7d9\" has timed out progressing."
            }))
            .expect("a condition"),
        ]);
        let text = deployment(&stuck, &[], &[]).join("\n");
        assert!(
            text.contains("rollout failed: ProgressDeadlineExceeded: ReplicaSet"),
            "{text}"
        );
    }
}
