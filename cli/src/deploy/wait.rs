//! Waiting for a rollout with a watch, not a polling loop: the Deployment is watched until the
//! controller has seen it and every replica is updated and available, or its rollout fails, or
//! the time is up. Then, if it is not done, its pods and the namespace's warning events are read
//! once and [`super::explain`] says which object is stuck and why.

use std::time::Duration;

use futures_util::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::{
    apps::v1::Deployment,
    batch::v1::Job,
    core::v1::{Event, Pod},
};
use kube::{
    Api, Client,
    api::ListParams,
    runtime::{WatchStreamExt as _, watcher},
};

use super::explain;

/// A rollout that did not finish, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stuck {
    /// `Deployment/name`.
    pub object: String,
    /// Timed out (else the rollout failed).
    pub timed_out: bool,
    /// What is wrong, one finding a line.
    pub reasons: Vec<String>,
}

impl std::fmt::Display for Stuck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let how = if self.timed_out {
            "did not finish in time"
        } else {
            "failed"
        };
        write!(f, "{} {how}: {}", self.object, self.reasons.join("; "))
    }
}

/// How a watched object stands.
enum Verdict {
    /// Done: the wait ends well.
    Done,
    /// Failed: the wait ends, not well.
    Failed,
    /// Not yet.
    Pending,
}

/// Watches object `name` of kind `K` until `judge` says it is done or failed, or `timeout`
/// passes; returns the last state seen and `Ok`, or `Err(timed_out)`.
async fn watch_named<K>(
    client: &Client,
    namespace: &str,
    name: &str,
    timeout: Duration,
    judge: impl Fn(&K) -> Verdict,
) -> (Option<K>, Result<(), bool>)
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + 'static,
    K::DynamicType: Default,
{
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let mut last: Option<K> = None;
    let watched = tokio::time::timeout(timeout, async {
        let mut stream = watcher(api, config).applied_objects().boxed();
        loop {
            match stream.try_next().await {
                Ok(Some(object)) => {
                    let verdict = judge(&object);
                    last = Some(object);
                    match verdict {
                        Verdict::Done => return Ok(()),
                        Verdict::Failed => return Err(false),
                        Verdict::Pending => {}
                    }
                }
                // The watcher retries on its own errors; an ended stream is the client gone.
                Ok(None) => return Err(false),
                Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        }
    })
    .await;
    (last, watched.unwrap_or(Err(true)))
}

/// The pods of `selector` and the namespace's warning events, read once to explain a wait.
async fn pods_and_warnings(
    client: &Client,
    namespace: &str,
    selector: &str,
) -> (Vec<Pod>, Vec<Event>) {
    let pods = Api::<Pod>::namespaced(client.clone(), namespace)
        .list(&ListParams::default().labels(selector))
        .await
        .map(|l| l.items)
        .unwrap_or_default();
    let events = Api::<Event>::namespaced(client.clone(), namespace)
        .list(&ListParams::default().fields("type=Warning"))
        .await
        .map(|l| l.items)
        .unwrap_or_default();
    (pods, events)
}

/// Waits up to `timeout` for Deployment `name` in `namespace` to be rolled out.
pub async fn deployment(
    client: &Client,
    namespace: &str,
    name: &str,
    timeout: Duration,
) -> Result<(), Stuck> {
    let (last, watched) = watch_named(client, namespace, name, timeout, |d: &Deployment| {
        let state = explain::rollout(d);
        if state.done {
            Verdict::Done
        } else if state.failed.is_some() {
            Verdict::Failed
        } else {
            Verdict::Pending
        }
    })
    .await;
    let Err(timed_out) = watched else {
        return Ok(());
    };
    let object = format!("Deployment/{name}");
    let Some(deployment) = last else {
        return Err(Stuck {
            object,
            timed_out,
            reasons: vec![format!(
                "not found in {namespace}, or the API server did not answer"
            )],
        });
    };
    let selector = deployment
        .spec
        .as_ref()
        .and_then(|s| s.selector.match_labels.as_ref())
        .map(|labels| {
            labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let (pods, events) = pods_and_warnings(client, namespace, &selector).await;
    Err(Stuck {
        object,
        timed_out,
        reasons: explain::deployment(&deployment, &pods, &events),
    })
}

/// How a Job stands by its conditions.
fn job_verdict(job: &Job) -> Verdict {
    let conditions = job.status.as_ref().and_then(|s| s.conditions.as_ref());
    let holds = |kind: &str| {
        conditions
            .iter()
            .flat_map(|c| c.iter())
            .any(|c| c.type_ == kind && c.status == "True")
    };
    if holds("Complete") {
        Verdict::Done
    } else if holds("Failed") {
        Verdict::Failed
    } else {
        Verdict::Pending
    }
}

/// Waits up to `timeout` for Job `name` (a migration) to complete; a failed or unfinished one
/// is explained by its pods and their events.
pub async fn job(
    client: &Client,
    namespace: &str,
    name: &str,
    timeout: Duration,
) -> Result<(), Stuck> {
    let (_, watched) = watch_named(client, namespace, name, timeout, job_verdict).await;
    let Err(timed_out) = watched else {
        return Ok(());
    };
    let (pods, events) = pods_and_warnings(client, namespace, &format!("job-name={name}")).await;
    let mut reasons: Vec<String> = pods.iter().flat_map(|p| explain::pod(p, &events)).collect();
    if reasons.is_empty() {
        reasons.push(if timed_out {
            "still running, or no pod has started (see `kubectl describe job`)".to_owned()
        } else {
            "failed, and its pods are gone".to_owned()
        });
    }
    Err(Stuck {
        object: format!("Job/{name}"),
        timed_out,
        reasons,
    })
}

/// No Kubernetes API server can run on these machines: the waits are checked against kube's
/// `tower-test` mock service answering a watch as the API server does (a list, then a stream of
/// watch events), and every request is counted: a wait makes a bounded number of calls.
#[cfg(test)]
mod tests {
    use http::{Request, Response};
    use kube::client::Body;
    use serde_json::{Value, json};

    use super::*;

    fn order(observed: i64, updated: i32, available: i32) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "shopctl-order", "namespace": "shop", "generation": 2,
                "resourceVersion": format!("{}", 10 + available)},
            "spec": {"replicas": 2, "template": {},
                "selector": {"matchLabels": {"app.kubernetes.io/name": "order"}}},
            "status": {"observedGeneration": observed, "replicas": 2,
                "updatedReplicas": updated, "availableReplicas": available}})
    }

    fn response(body: &Value) -> Response<Body> {
        Response::builder()
            .status(200)
            .body(Body::from(body.to_string().into_bytes()))
            .expect("a response")
    }

    /// Answers the watcher's list with `first`, then streams `then` as MODIFIED events and
    /// keeps the watch open; pod and event lists get a crash-looping pod and its event. Returns
    /// the requests seen.
    async fn serve(
        mut handle: tower_test::mock::Handle<Request<Body>, Response<Body>>,
        first: Value,
        mut then: Vec<Value>,
    ) -> Vec<String> {
        let mut seen = Vec::new();
        let mut pending = Vec::new();
        while let Some((request, send)) = handle.next_request().await {
            let uri = request.uri().to_string();
            let path = request.uri().path().to_owned();
            seen.push(uri.clone());
            if path.ends_with("/deployments") && !uri.contains("watch=true") {
                send.send_response(response(
                    &json!({"apiVersion": "apps/v1", "kind": "DeploymentList",
                    "metadata": {"resourceVersion": "10"}, "items": [first.clone()]}),
                ));
            } else if path.ends_with("/deployments") {
                if then.is_empty() {
                    // Nothing changes: the watch stays open, unanswered, as a quiet one does.
                    pending.push(send);
                } else {
                    let lines: String = then
                        .drain(..)
                        .map(|object| {
                            json!({"type": "MODIFIED", "object": object}).to_string() + "\n"
                        })
                        .collect();
                    send.send_response(response_text(lines));
                }
            } else if path.ends_with("/pods") {
                send.send_response(response(&json!({"apiVersion": "v1", "kind": "PodList", "metadata": {},
                    "items": [{"metadata": {"name": "shopctl-order-7d9-abc"},
                        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}],
                            "containerStatuses": [{"name": "order", "ready": false, "restartCount": 3,
                                "image": "", "imageID": "",
                                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                                "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}}]})));
            } else if path.ends_with("/events") {
                send.send_response(response(
                    &json!({"apiVersion": "v1", "kind": "EventList", "metadata": {},
                    "items": [{"metadata": {"name": "e1"}, "type": "Warning", "reason": "BackOff",
                        "message": "Back-off restarting failed container", "count": 3,
                        "involvedObject": {"kind": "Pod", "name": "shopctl-order-7d9-abc"}}]}),
                ));
            } else {
                panic!("unexpected request {uri}");
            }
        }
        drop(pending);
        seen
    }

    fn response_text(text: String) -> Response<Body> {
        Response::builder()
            .status(200)
            .body(Body::from(text.into_bytes()))
            .expect("a response")
    }

    #[tokio::test]
    async fn a_rollout_that_completes_ends_the_wait_with_a_bounded_number_of_calls() {
        let (mock, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let server = tokio::spawn(serve(
            handle,
            order(1, 1, 1),
            vec![order(2, 2, 1), order(2, 2, 2)],
        ));
        let client = Client::new(mock, "shop");
        let waited = deployment(&client, "shop", "shopctl-order", Duration::from_secs(10)).await;
        drop(client);
        assert_eq!(waited, Ok(()));
        let seen = server.await.expect("the mock server");
        assert!(
            seen[0].contains("fieldSelector=metadata.name%3Dshopctl-order"),
            "{seen:?}"
        );
        assert!(seen.len() <= 3, "a list and a watch, no polling: {seen:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_timeout_names_the_object_the_pod_its_exit_code_and_the_events() {
        let (mock, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let server = tokio::spawn(serve(handle, order(2, 2, 1), Vec::new()));
        let client = Client::new(mock, "shop");
        let stuck = deployment(&client, "shop", "shopctl-order", Duration::from_secs(300))
            .await
            .expect_err("not rolled out");
        drop(client);
        assert!(stuck.timed_out);
        let text = stuck.to_string();
        assert!(text.starts_with("Deployment/shopctl-order did not finish in time: Deployment/shopctl-order: 2 of 2 replicas updated, 1 available"), "{text}");
        assert!(text.contains("Pod/shopctl-order-7d9-abc: container order: CrashLoopBackOff; last ended Error with exit code 1; 3 restarts"), "{text}");
        assert!(text.contains("event BackOff ×3"), "{text}");
        let seen = server.await.expect("the mock server");
        assert!(
            seen.iter().any(|u| u.contains("/pods?")
                && u.contains("labelSelector=app.kubernetes.io%2Fname%3Dorder")),
            "{seen:?}"
        );
    }
}
