//! Kubernetes objects turned into the rows the dashboard shows: pure functions, so that what a
//! row says about a deployment, pod, autoscaler or event can be tested without a cluster.

use chrono::{DateTime, Utc};
use k8s_openapi::{
    api::{
        apps::v1::Deployment,
        autoscaling::v2::HorizontalPodAutoscaler,
        core::v1::{ContainerStatus, Event, Pod},
    },
    apimachinery::pkg::apis::meta::v1::ObjectMeta,
    jiff::Timestamp,
};

use crate::model;

/// The label naming the service an object belongs to.
pub const NAME_LABEL: &str = "app.kubernetes.io/name";

/// How many warning events the dashboard keeps.
pub const WARNINGS: usize = 20;

/// The whole Kubernetes side from what the watchers hold: deployments, pods and autoscalers
/// sorted by name, the [`WARNINGS`] newest warnings newest first.
pub fn kube<'a>(
    deployments: impl IntoIterator<Item = &'a Deployment>,
    pods: impl IntoIterator<Item = &'a Pod>,
    autoscalers: impl IntoIterator<Item = &'a HorizontalPodAutoscaler>,
    events: impl IntoIterator<Item = &'a Event>,
) -> model::Kube {
    let mut deployments: Vec<_> = deployments.into_iter().map(deployment).collect();
    deployments.sort_by(|a, b| a.name.cmp(&b.name));
    let mut pods: Vec<_> = pods.into_iter().map(pod).collect();
    pods.sort_by(|a, b| a.name.cmp(&b.name));
    let mut autoscalers: Vec<_> = autoscalers.into_iter().map(autoscaler).collect();
    autoscalers.sort_by(|a, b| a.name.cmp(&b.name));
    model::Kube {
        deployments,
        pods,
        autoscalers,
        events: newest_warnings(events.into_iter().map(warning).collect()),
    }
}

/// A deployment's row: its replicas and how its rollout stands.
pub fn deployment(deployment: &Deployment) -> model::Deployment {
    let name = name(&deployment.metadata);
    let status = deployment.status.as_ref();
    let desired = deployment
        .spec
        .as_ref()
        .and_then(|spec| spec.replicas)
        .unwrap_or(1);
    let ready = status.and_then(|s| s.ready_replicas).unwrap_or(0);
    let updated = status.and_then(|s| s.updated_replicas).unwrap_or(0);
    model::Deployment {
        service: service(&deployment.metadata, &name),
        rollout: rollout(deployment, desired, ready, updated),
        name,
        desired,
        ready,
        updated,
    }
}

/// `paused`, `failed: <reason>`, `progressing` or `complete`, in that order of precedence, as
/// `kubectl rollout status` would judge it.
fn rollout(deployment: &Deployment, desired: i32, ready: i32, updated: i32) -> String {
    let paused = deployment
        .spec
        .as_ref()
        .and_then(|spec| spec.paused)
        .unwrap_or(false);
    if paused {
        return "paused".to_owned();
    }
    if let Some(reason) = stalled(deployment) {
        return format!("failed: {reason}");
    }
    let generation = deployment.metadata.generation.unwrap_or(0);
    let observed = deployment
        .status
        .as_ref()
        .and_then(|s| s.observed_generation)
        .unwrap_or(0);
    if observed < generation || updated < desired || ready < desired {
        "progressing".to_owned()
    } else {
        "complete".to_owned()
    }
}

/// The reason of a `Progressing` condition that is `False` (the controller gave up on the
/// rollout, typically `ProgressDeadlineExceeded`).
fn stalled(deployment: &Deployment) -> Option<String> {
    let conditions = deployment.status.as_ref()?.conditions.as_ref()?;
    let stalled = conditions
        .iter()
        .find(|c| c.type_ == "Progressing" && c.status == "False")?;
    Some(
        stalled
            .reason
            .clone()
            .unwrap_or_else(|| "unknown".to_owned()),
    )
}

/// A pod's row: what it is doing, whether it serves (its containers all ready), how often its
/// containers, init containers included, restarted and why they last stopped.
pub fn pod(pod: &Pod) -> model::Pod {
    let name = name(&pod.metadata);
    let containers = containers(pod);
    let every: Vec<_> = init_containers(pod)
        .into_iter()
        .chain(containers.iter().copied())
        .collect();
    model::Pod {
        service: service(&pod.metadata, &name),
        phase: phase(pod),
        ready: !containers.is_empty() && containers.iter().all(|c| c.ready),
        restarts: every.iter().map(|c| c.restart_count).sum(),
        last_termination: last_termination(&every),
        name,
    }
}

/// The pod's containers' statuses (not its init containers').
fn containers(pod: &Pod) -> Vec<&ContainerStatus> {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map(|statuses| statuses.iter().collect())
        .unwrap_or_default()
}

/// The init containers' statuses.
fn init_containers(pod: &Pod) -> Vec<&ContainerStatus> {
    pod.status
        .as_ref()
        .and_then(|s| s.init_container_statuses.as_ref())
        .map(|statuses| statuses.iter().collect())
        .unwrap_or_default()
}

/// What the pod is doing, the most telling first: a waiting reason (an init container's as
/// `Init:<reason>`, since it holds the others back), then `Terminating`, then the pod's reason
/// (`Evicted`), then its phase.
fn phase(pod: &Pod) -> String {
    let init = init_containers(pod)
        .into_iter()
        .find_map(waiting)
        .map(|reason| format!("Init:{reason}"));
    if let Some(reason) = init.or_else(|| containers(pod).into_iter().find_map(waiting)) {
        return reason;
    }
    if pod.metadata.deletion_timestamp.is_some() {
        return "Terminating".to_owned();
    }
    let status = pod.status.as_ref();
    status
        .and_then(|s| s.reason.clone())
        .or_else(|| status.and_then(|s| s.phase.clone()))
        .unwrap_or_else(|| "Unknown".to_owned())
}

/// A container's waiting reason (CrashLoopBackOff, ImagePullBackOff, ContainerCreating, …).
fn waiting(container: &ContainerStatus) -> Option<String> {
    container
        .state
        .as_ref()?
        .waiting
        .as_ref()?
        .reason
        .clone()
        .filter(|reason| !reason.is_empty())
}

/// Why a container last terminated, `Reason (exit code)`: the latest to finish when several
/// did.
fn last_termination(containers: &[&ContainerStatus]) -> Option<String> {
    let terminated = containers
        .iter()
        .filter_map(|c| c.last_state.as_ref()?.terminated.as_ref())
        .max_by_key(|t| t.finished_at.as_ref().map(|at| at.0))?;
    let reason = terminated.reason.as_deref().unwrap_or("Terminated");
    Some(format!("{reason} ({})", terminated.exit_code))
}

/// An autoscaler's row: its replicas now, wanted, and its bounds.
pub fn autoscaler(hpa: &HorizontalPodAutoscaler) -> model::Autoscaler {
    let status = hpa.status.as_ref();
    let spec = hpa.spec.as_ref();
    model::Autoscaler {
        name: name(&hpa.metadata),
        current: status.and_then(|s| s.current_replicas).unwrap_or(0),
        desired: status.map_or(0, |s| s.desired_replicas),
        min: spec.and_then(|s| s.min_replicas).unwrap_or(1),
        max: spec.map_or(0, |s| s.max_replicas),
    }
}

/// A warning event's row.
pub fn warning(event: &Event) -> model::Warning {
    let object = &event.involved_object;
    let kind = object.kind.as_deref().unwrap_or_default();
    let name = object.name.as_deref().unwrap_or_default();
    model::Warning {
        at: seen(event),
        object: if kind.is_empty() {
            name.to_owned()
        } else {
            format!("{kind}/{name}")
        },
        reason: event.reason.clone().unwrap_or_default(),
        message: one_line(event.message.as_deref().unwrap_or_default()),
        count: event
            .count
            .or_else(|| event.series.as_ref().and_then(|s| s.count))
            .unwrap_or(1),
    }
}

/// When an event was last seen: `lastTimestamp` (the events API of core/v1), else the series'
/// last observation or `eventTime` (what events.k8s.io writes), else when it was created.
fn seen(event: &Event) -> Option<DateTime<Utc>> {
    event
        .last_timestamp
        .as_ref()
        .map(|t| t.0)
        .or_else(|| {
            event
                .series
                .as_ref()?
                .last_observed_time
                .as_ref()
                .map(|t| t.0)
        })
        .or_else(|| event.event_time.as_ref().map(|t| t.0))
        .or_else(|| event.metadata.creation_timestamp.as_ref().map(|t| t.0))
        .and_then(chrono_time)
}

/// The [`WARNINGS`] newest, newest first (undated last; ties in a stable order).
fn newest_warnings(mut warnings: Vec<model::Warning>) -> Vec<model::Warning> {
    warnings.sort_by(|a, b| {
        b.at.cmp(&a.at)
            .then_with(|| a.object.cmp(&b.object))
            .then_with(|| a.reason.cmp(&b.reason))
            .then_with(|| a.message.cmp(&b.message))
    });
    warnings.truncate(WARNINGS);
    warnings
}

/// The model's time from the API's.
fn chrono_time(at: Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(at.as_second(), u32::try_from(at.subsec_nanosecond()).ok()?)
}

/// An object's name.
fn name(meta: &ObjectMeta) -> String {
    meta.name.clone().unwrap_or_default()
}

/// The service an object runs: its `app.kubernetes.io/name` label, else its own name.
fn service(meta: &ObjectMeta, name: &str) -> String {
    meta.labels
        .as_ref()
        .and_then(|labels| labels.get(NAME_LABEL))
        .cloned()
        .unwrap_or_else(|| name.to_owned())
}

/// A message on one line, so that a row stays a row.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn from<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
        serde_json::from_value(value).expect("a valid object")
    }

    fn deployment_of(value: serde_json::Value) -> model::Deployment {
        deployment(&from(value))
    }

    fn pod_of(value: serde_json::Value) -> model::Pod {
        pod(&from(value))
    }

    #[test]
    fn a_deployment_past_its_deadline_has_failed() {
        let row = deployment_of(json!({
            "metadata": {"name": "order", "generation": 4,
                         "labels": {"app.kubernetes.io/name": "order"}},
            "spec": {"replicas": 2, "selector": {}, "template": {}},
            "status": {
                "observedGeneration": 4, "replicas": 3, "readyReplicas": 2, "updatedReplicas": 1,
                "conditions": [
                    {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                    {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}
                ]
            }
        }));
        assert_eq!(row.rollout, "failed: ProgressDeadlineExceeded");
        assert_eq!((row.desired, row.ready, row.updated), (2, 2, 1));
    }

    #[test]
    fn a_paused_deployment_is_paused_whatever_its_replicas() {
        let row = deployment_of(json!({
            "metadata": {"name": "payment", "generation": 7},
            "spec": {"paused": true, "replicas": 3, "selector": {}, "template": {}},
            "status": {"observedGeneration": 6, "readyReplicas": 1, "updatedReplicas": 0}
        }));
        assert_eq!(row.rollout, "paused");
    }

    #[test]
    fn an_unobserved_generation_is_progressing() {
        let row = deployment_of(json!({
            "metadata": {"name": "user", "generation": 3},
            "spec": {"replicas": 1, "selector": {}, "template": {}},
            "status": {"observedGeneration": 2, "readyReplicas": 1, "updatedReplicas": 1}
        }));
        assert_eq!(row.rollout, "progressing");
    }

    #[test]
    fn a_settled_deployment_is_complete_and_defaults_to_one_replica() {
        let row = deployment_of(json!({
            "metadata": {"name": "shop-gateway", "generation": 1,
                         "labels": {"app.kubernetes.io/name": "gateway"}},
            "spec": {"selector": {}, "template": {}},
            "status": {"observedGeneration": 1, "readyReplicas": 1, "updatedReplicas": 1}
        }));
        assert_eq!(row.rollout, "complete");
        assert_eq!(row.desired, 1);
        assert_eq!(row.service, "gateway");
    }

    #[test]
    fn a_deployment_without_the_name_label_is_its_own_service() {
        let row = deployment_of(json!({"metadata": {"name": "redis"}}));
        assert_eq!(row.service, "redis");
        assert_eq!((row.ready, row.updated), (0, 0));
        assert_eq!(row.rollout, "progressing");
    }

    #[test]
    fn a_deleted_pod_is_terminating() {
        let row = pod_of(json!({
            "metadata": {"name": "order-7d9-abcde", "deletionTimestamp": "2025-06-01T10:00:00Z",
                         "labels": {"app.kubernetes.io/name": "order"}},
            "status": {"phase": "Running", "containerStatuses": [
                {"name": "order", "image": "", "imageID": "", "ready": false, "restartCount": 0,
                 "state": {"running": {}}}
            ]}
        }));
        assert_eq!(row.phase, "Terminating");
        assert!(!row.ready);
        assert_eq!(row.service, "order");
    }

    #[test]
    fn an_oom_killed_container_says_so_with_its_exit_code() {
        let row = pod_of(json!({
            "metadata": {"name": "product-1"},
            "status": {"phase": "Running", "containerStatuses": [
                {"name": "product", "image": "", "imageID": "", "ready": true, "restartCount": 2,
                 "state": {"running": {}},
                 "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled",
                                              "finishedAt": "2025-06-01T10:00:00Z"}}},
                {"name": "sidecar", "image": "", "imageID": "", "ready": true, "restartCount": 1,
                 "state": {"running": {}},
                 "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                                              "finishedAt": "2025-06-01T09:00:00Z"}}}
            ]}
        }));
        assert_eq!(row.last_termination.as_deref(), Some("OOMKilled (137)"));
        assert_eq!(row.phase, "Running");
        assert!(row.ready);
        assert_eq!(row.restarts, 3);
    }

    #[test]
    fn a_waiting_reason_wins_over_the_phase() {
        let row = pod_of(json!({
            "metadata": {"name": "inventory-1"},
            "status": {"phase": "Running", "containerStatuses": [
                {"name": "inventory", "image": "", "imageID": "", "ready": false,
                 "restartCount": 5,
                 "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                 "lastState": {"terminated": {"exitCode": 1}}}
            ]}
        }));
        assert_eq!(row.phase, "CrashLoopBackOff");
        assert_eq!(row.last_termination.as_deref(), Some("Terminated (1)"));
    }

    #[test]
    fn a_crashing_init_container_is_named_as_such() {
        let row = pod_of(json!({
            "metadata": {"name": "order-1"},
            "status": {"phase": "Pending",
                "initContainerStatuses": [
                    {"name": "migrate", "image": "", "imageID": "", "ready": false,
                     "restartCount": 3, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
                ],
                "containerStatuses": [
                    {"name": "order", "image": "", "imageID": "", "ready": false,
                     "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}}
                ]}
        }));
        assert_eq!(row.phase, "Init:CrashLoopBackOff");
        assert_eq!(row.restarts, 3);
    }

    #[test]
    fn an_evicted_pod_says_evicted_and_a_pod_without_containers_is_not_ready() {
        let row = pod_of(json!({
            "metadata": {"name": "frontend-1"},
            "status": {"phase": "Failed", "reason": "Evicted"}
        }));
        assert_eq!(row.phase, "Evicted");
        assert!(!row.ready);
        assert_eq!(row.restarts, 0);
        assert_eq!(row.last_termination, None);
    }

    #[test]
    fn an_autoscaler_defaults_its_minimum_to_one() {
        let row = autoscaler(&from(json!({
            "metadata": {"name": "gateway"},
            "spec": {"maxReplicas": 5,
                     "scaleTargetRef": {"kind": "Deployment", "name": "gateway"}},
            "status": {"currentReplicas": 2, "desiredReplicas": 4}
        })));
        assert_eq!(
            row,
            model::Autoscaler {
                name: "gateway".into(),
                current: 2,
                desired: 4,
                min: 1,
                max: 5
            }
        );
    }

    #[test]
    fn an_event_falls_back_to_event_time_then_creation() {
        let event: Event = from(json!({
            "metadata": {"name": "e1", "creationTimestamp": "2025-06-01T08:00:00Z"},
            "involvedObject": {"kind": "Pod", "name": "order-1"},
            "eventTime": "2025-06-01T09:00:00.250000Z",
            "reason": "Unhealthy",
            "message": "Readiness probe failed:\nconnection refused"
        }));
        let row = warning(&event);
        assert_eq!(row.object, "Pod/order-1");
        assert_eq!(row.count, 1);
        assert_eq!(row.message, "Readiness probe failed: connection refused");
        assert_eq!(
            row.at.map(|at| at.to_rfc3339()).as_deref(),
            Some("2025-06-01T09:00:00.250+00:00")
        );
        let created: Event = from(json!({
            "metadata": {"name": "e2", "creationTimestamp": "2025-06-01T08:00:00Z"},
            "involvedObject": {"kind": "Node", "name": "n1"}
        }));
        assert_eq!(
            warning(&created).at.map(|at| at.to_rfc3339()).as_deref(),
            Some("2025-06-01T08:00:00+00:00")
        );
    }

    #[test]
    fn only_the_newest_warnings_are_kept_newest_first() {
        let events: Vec<Event> = (0..25)
            .map(|minute| {
                from(json!({
                    "metadata": {"name": format!("e{minute}")},
                    "involvedObject": {"kind": "Pod", "name": format!("p{minute}")},
                    "lastTimestamp": format!("2025-06-01T10:{minute:02}:00Z"),
                    "reason": "BackOff", "count": minute + 1
                }))
            })
            .collect();
        let kube = kube([], [], [], &events);
        assert_eq!(kube.events.len(), WARNINGS);
        assert_eq!(kube.events[0].object, "Pod/p24");
        assert_eq!(kube.events[0].count, 25);
        assert_eq!(kube.events[WARNINGS - 1].object, "Pod/p5");
    }

    #[test]
    fn rows_are_sorted_by_name() {
        let pods: Vec<Pod> = ["user-2", "gateway-1", "order-9"]
            .into_iter()
            .map(|name| from(json!({"metadata": {"name": name}})))
            .collect();
        let kube = kube([], &pods, [], []);
        let names: Vec<_> = kube.pods.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["gateway-1", "order-9", "user-2"]);
    }
}
