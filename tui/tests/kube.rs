//! The Kubernetes source of `shopctl dash` against a mock API server.
//!
//! No Kubernetes API server can run on these machines, so the kube API here is a tower-test
//! mock answering recorded-shape JSON: the lists, watch streams and `Status` errors a real API
//! server sends, with the fields it fills in. The mock answers each request by its path (four
//! watchers ask concurrently, so the order of requests is not fixed) and leaves watch requests
//! pending unless a test streams events on them, as a quiet cluster would. Time is paused, so
//! the coalescing period and the watchers' backoff pass without waiting and every test is
//! bounded by a (virtual) timeout.

use std::{
    io,
    sync::{Arc, Mutex},
    time::Duration,
};

use http::{Request, Response, StatusCode, Uri};
use kube::client::Body;
use serde_json::{Value, json};
use shopctl_tui::{
    event::{Event, Source, Update},
    model::{self, SourceState},
    source::kube::{FIRST_LISTS, watch},
};
use tokio::{
    sync::mpsc::{self, UnboundedReceiver},
    task::JoinHandle,
    time::{Instant, timeout, timeout_at},
};
use tower_test::mock;

const DEPLOYMENTS: &str = "/apis/apps/v1/namespaces/shop/deployments";
const PODS: &str = "/api/v1/namespaces/shop/pods";
const AUTOSCALERS: &str = "/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers";
const EVENTS: &str = "/api/v1/namespaces/shop/events";

/// How long a test waits for anything (virtual time).
const PATIENCE: Duration = Duration::from_secs(30);

/// What the mock does with one request.
enum Answer {
    /// A JSON body with this status, at once.
    Json(StatusCode, Value),
    /// A watch stream of these events, once `after` has passed; then the stream ends.
    Stream { after: Duration, events: Vec<Value> },
    /// Another answer, once `after` has passed (a slow API server).
    Late {
        after: Duration,
        answer: Box<Answer>,
    },
    /// Nothing: the request stays open (a watch on a quiet cluster).
    Pending,
    /// No answer at all: the connection is refused.
    Refused,
}

impl Answer {
    /// The response and how long it takes; None for a request left open.
    fn response(self) -> Option<(Duration, Response<Body>)> {
        match self {
            Self::Json(status, body) => Some((Duration::ZERO, response(status, &body.to_string()))),
            Self::Stream { after, events } => {
                let mut lines = String::new();
                for event in &events {
                    lines.push_str(&event.to_string());
                    lines.push('\n');
                }
                Some((after, response(StatusCode::OK, &lines)))
            }
            Self::Late { after, answer } => {
                let (more, response) = answer.response()?;
                Some((after + more, response))
            }
            Self::Pending | Self::Refused => None,
        }
    }
}

/// The requests the mock saw, in order.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<Uri>>>);

impl Seen {
    fn push(&self, uri: Uri) {
        self.0.lock().expect("the request log").push(uri);
    }

    fn all(&self) -> Vec<Uri> {
        self.0.lock().expect("the request log").clone()
    }

    /// The requests to `path`: lists (`watch = false`) or watches.
    fn to(&self, path: &str, watch: bool) -> Vec<Uri> {
        self.all()
            .into_iter()
            .filter(|uri| uri.path() == path && is_watch(uri) == watch)
            .collect()
    }
}

/// Whether a request is a watch rather than a list.
fn is_watch(uri: &Uri) -> bool {
    param(uri, "watch").as_deref() == Some("true")
}

/// A query parameter, percent-decoded.
fn param(uri: &Uri, name: &str) -> Option<String> {
    uri.query()?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| decode(value))
    })
}

/// Percent-decoding of a query value.
fn decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("ascii");
                out.push(u8::from_str_radix(hex, 16).expect("a percent escape"));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).expect("utf-8")
}

/// Starts `watch` against a mock API server that answers with `answer`; the receiving end of
/// the dashboard's channel, what the mock saw, and the watch task.
fn start(
    answer: impl FnMut(&Uri) -> Answer + Send + 'static,
) -> (UnboundedReceiver<Event>, Seen, JoinHandle<()>) {
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let seen = Seen::default();
    tokio::spawn(serve(handle, answer, seen.clone()));
    let client = kube::Client::new(service, "shop");
    let (tx, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(watch(client, "shop".to_owned(), tx));
    (rx, seen, task)
}

/// The mock API server: records each request and answers it as `answer` says.
async fn serve(
    mut handle: mock::Handle<Request<Body>, Response<Body>>,
    mut answer: impl FnMut(&Uri) -> Answer,
    seen: Seen,
) {
    // Open requests are kept, not dropped: dropping one would fail it.
    let mut open = Vec::new();
    while let Some((request, respond)) = handle.next_request().await {
        let uri = request.uri().clone();
        seen.push(uri.clone());
        let answer = answer(&uri);
        if matches!(answer, Answer::Refused) {
            let refused = io::Error::new(io::ErrorKind::ConnectionRefused, "connection refused");
            respond.send_error(refused);
            continue;
        }
        match answer.response() {
            Some((Duration::ZERO, response)) => respond.send_response(response),
            Some((after, response)) => {
                tokio::spawn(async move {
                    tokio::time::sleep(after).await;
                    respond.send_response(response);
                });
            }
            None => open.push(respond),
        }
    }
}

fn response(status: StatusCode, body: &str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(body.as_bytes().to_vec()))
        .expect("a response")
}

/// The shop as the API server lists it: lists for each path, watches left open.
fn shop(uri: &Uri) -> Answer {
    if is_watch(uri) {
        return Answer::Pending;
    }
    match uri.path() {
        DEPLOYMENTS => ok(list(
            "DeploymentList",
            "apps/v1",
            &[order_deployment(0, 1, 1)],
        )),
        PODS => ok(list("PodList", "v1", &[crashing_pod()])),
        AUTOSCALERS => ok(list(
            "HorizontalPodAutoscalerList",
            "autoscaling/v2",
            &[autoscaler()],
        )),
        EVENTS => ok(list("EventList", "v1", &[back_off_event()])),
        other => Answer::Json(StatusCode::NOT_FOUND, status(404, "NotFound", other)),
    }
}

fn ok(body: Value) -> Answer {
    Answer::Json(StatusCode::OK, body)
}

fn list(kind: &str, api_version: &str, items: &[Value]) -> Value {
    json!({"kind": kind, "apiVersion": api_version,
           "metadata": {"resourceVersion": "48213"}, "items": items})
}

/// A `Status` failure as the API server writes it.
fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code})
}

/// The `order` deployment rolling out to 2 replicas: `resource_version` bumps it, `ready` and
/// `updated` say how far it got.
fn order_deployment(resource_version: u32, ready: i32, updated: i32) -> Value {
    json!({
        "metadata": {
            "name": "order", "namespace": "shop", "uid": "8f5c1d2e-0b7a-4c1e-9d3f-2a6b7c8d9e0f",
            "resourceVersion": (48000 + resource_version).to_string(), "generation": 5,
            "creationTimestamp": "2025-06-01T08:00:00Z",
            "labels": {"app.kubernetes.io/name": "order", "app.kubernetes.io/part-of": "shopctl"},
            "annotations": {"deployment.kubernetes.io/revision": "5"}
        },
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app.kubernetes.io/name": "order"}},
            "template": {"metadata": {"labels": {"app.kubernetes.io/name": "order"}},
                         "spec": {"containers": [{"name": "order", "image": "shop/order:1.4.0"}]}},
            "strategy": {"type": "RollingUpdate",
                         "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
            "progressDeadlineSeconds": 600
        },
        "status": {
            "observedGeneration": 5, "replicas": 3, "updatedReplicas": updated,
            "readyReplicas": ready, "availableReplicas": ready, "unavailableReplicas": 2 - ready,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                 "message": "Deployment has minimum availability.",
                 "lastUpdateTime": "2025-06-01T09:58:00Z",
                 "lastTransitionTime": "2025-06-01T09:58:00Z"},
                {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                 "message": "ReplicaSet \"order-5f7c9d\" is progressing.",
                 "lastUpdateTime": "2025-06-01T10:00:00Z",
                 "lastTransitionTime": "2025-06-01T09:58:00Z"}
            ]
        }
    })
}

/// A pod of `order` crash-looping: 3 restarts, last exit code 1.
fn crashing_pod() -> Value {
    json!({
        "metadata": {
            "name": "order-5f7c9d-x2k4p", "namespace": "shop", "resourceVersion": "48190",
            "uid": "0d1e2f3a-4b5c-6d7e-8f90-a1b2c3d4e5f6",
            "creationTimestamp": "2025-06-01T09:58:00Z",
            "labels": {"app.kubernetes.io/name": "order", "app.kubernetes.io/part-of": "shopctl",
                       "pod-template-hash": "5f7c9d"}
        },
        "spec": {"containers": [{"name": "order", "image": "shop/order:1.4.0"}]},
        "status": {
            "phase": "Running", "podIP": "10.42.0.17", "startTime": "2025-06-01T09:58:00Z",
            "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady"}],
            "containerStatuses": [{
                "name": "order", "image": "shop/order:1.4.0", "imageID": "docker.io/shop/order@sha256:ab12",
                "containerID": "containerd://c0ffee", "ready": false, "started": false,
                "restartCount": 3,
                "state": {"waiting": {"reason": "CrashLoopBackOff",
                          "message": "back-off 40s restarting failed container=order pod=order-5f7c9d-x2k4p_shop"}},
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                              "startedAt": "2025-06-01T09:59:30Z",
                              "finishedAt": "2025-06-01T09:59:31Z",
                              "containerID": "containerd://c0ffee"}}
            }]
        }
    })
}

/// `order`'s autoscaler, scaling from 2 to 3.
fn autoscaler() -> Value {
    json!({
        "metadata": {"name": "order", "namespace": "shop", "resourceVersion": "48201",
                     "labels": {"app.kubernetes.io/part-of": "shopctl"}},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "order"},
            "minReplicas": 2, "maxReplicas": 6,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                         "target": {"type": "Utilization", "averageUtilization": 70}}}]
        },
        "status": {
            "currentReplicas": 2, "desiredReplicas": 3, "lastScaleTime": "2025-06-01T10:00:00Z",
            "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu",
                                "current": {"averageUtilization": 104, "averageValue": "208m"}}}]
        }
    })
}

/// The kubelet's BackOff warning about the crashing pod.
fn back_off_event() -> Value {
    json!({
        "metadata": {"name": "order-5f7c9d-x2k4p.18a2b3c4d5e6f708", "namespace": "shop",
                     "resourceVersion": "48210", "creationTimestamp": "2025-06-01T09:59:00Z"},
        "involvedObject": {"kind": "Pod", "namespace": "shop", "name": "order-5f7c9d-x2k4p",
                           "apiVersion": "v1", "fieldPath": "spec.containers{order}"},
        "reason": "BackOff",
        "message": "Back-off restarting failed container order in pod order-5f7c9d-x2k4p_shop",
        "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": "2025-06-01T09:59:00Z", "lastTimestamp": "2025-06-01T10:01:00Z",
        "count": 7, "type": "Warning", "eventTime": null,
        "reportingComponent": "kubelet", "reportingInstance": "node-1"
    })
}

/// Waits for the first update `pick` takes.
async fn next<T>(
    rx: &mut UnboundedReceiver<Event>,
    mut pick: impl FnMut(Update) -> Option<T>,
) -> T {
    let wait = async {
        loop {
            if let Event::Update(update) = rx.recv().await.expect("the source is running")
                && let Some(found) = pick(*update)
            {
                return found;
            }
        }
    };
    timeout(PATIENCE, wait).await.expect("the update in time")
}

fn kube(update: Update) -> Option<model::Kube> {
    match update {
        Update::Kube(kube) => Some(kube),
        _ => None,
    }
}

fn state(update: Update) -> Option<SourceState> {
    match update {
        Update::Source(Source::Kube, state) => Some(state),
        _ => None,
    }
}

fn failing(update: Update) -> Option<String> {
    match state(update)? {
        SourceState::Failing(message) => Some(message),
        _ => None,
    }
}

/// What the source sent, for asserting on the order of states and rows.
#[derive(Debug, PartialEq)]
enum Sent {
    State(SourceState),
    Kube(model::Kube),
}

fn sent(update: Update) -> Option<Sent> {
    match update {
        Update::Source(Source::Kube, state) => Some(Sent::State(state)),
        Update::Kube(kube) => Some(Sent::Kube(kube)),
        _ => None,
    }
}

/// Every update until `deadline`.
async fn drain(rx: &mut UnboundedReceiver<Event>, deadline: Instant) -> Vec<Update> {
    let mut updates = Vec::new();
    while let Ok(Some(event)) = timeout_at(deadline, rx.recv()).await {
        if let Event::Update(update) = event {
            updates.push(*update);
        }
    }
    updates
}

#[tokio::test(start_paused = true)]
async fn the_watchers_list_then_watch_the_shop_with_its_selectors() {
    let (mut rx, seen, _task) = start(shop);
    next(&mut rx, kube).await;
    // Time for the watches that follow the lists to be asked for.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let wanted = [DEPLOYMENTS, PODS, AUTOSCALERS, EVENTS];
    for path in wanted {
        let lists = seen.to(path, false);
        assert_eq!(lists.len(), 1, "one list of {path}: {:?}", seen.all());
        let watches = seen.to(path, true);
        assert_eq!(
            watches.len(),
            1,
            "then one watch of {path}: {:?}",
            seen.all()
        );
        // The watch goes on from the list: no polling, no relisting.
        assert_eq!(
            param(&watches[0], "resourceVersion").as_deref(),
            Some("48213")
        );
        for request in lists.iter().chain(&watches) {
            if path == EVENTS {
                assert_eq!(
                    param(request, "fieldSelector").as_deref(),
                    Some("type=Warning")
                );
                assert_eq!(param(request, "labelSelector"), None);
            } else {
                assert_eq!(
                    param(request, "labelSelector").as_deref(),
                    Some("app.kubernetes.io/part-of=shopctl"),
                    "{request}"
                );
            }
        }
    }
    assert_eq!(
        seen.all().len(),
        8,
        "nothing but the shop's kinds: {:?}",
        seen.all()
    );
}

#[tokio::test(start_paused = true)]
async fn watch_sends_the_rows_of_the_shop() {
    let (mut rx, _seen, _task) = start(shop);
    let first = next(&mut rx, sent).await;
    assert_eq!(
        first,
        Sent::State(SourceState::Ok),
        "Ok once the lists answer"
    );
    let kube = next(&mut rx, kube).await;
    let at = chrono::DateTime::parse_from_rfc3339("2025-06-01T10:01:00Z").expect("a time");
    assert_eq!(
        kube,
        model::Kube {
            deployments: vec![model::Deployment {
                name: "order".into(),
                service: "order".into(),
                desired: 2,
                ready: 1,
                updated: 1,
                rollout: "progressing".into(),
            }],
            pods: vec![model::Pod {
                name: "order-5f7c9d-x2k4p".into(),
                service: "order".into(),
                phase: "CrashLoopBackOff".into(),
                ready: false,
                restarts: 3,
                last_termination: Some("Error (1)".into()),
            }],
            autoscalers: vec![model::Autoscaler {
                name: "order".into(),
                current: 2,
                desired: 3,
                min: 2,
                max: 6,
            }],
            events: vec![model::Warning {
                at: Some(at.to_utc()),
                object: "Pod/order-5f7c9d-x2k4p".into(),
                reason: "BackOff".into(),
                message:
                    "Back-off restarting failed container order in pod order-5f7c9d-x2k4p_shop"
                        .into(),
                count: 7,
            }],
        }
    );
}

#[tokio::test(start_paused = true)]
async fn a_server_error_is_failing_with_the_namespace_and_the_error() {
    let (mut rx, _seen, _task) = start(|uri| {
        if uri.path() == DEPLOYMENTS && !is_watch(uri) {
            Answer::Json(
                StatusCode::INTERNAL_SERVER_ERROR,
                status(500, "InternalError", "etcdserver: request timed out"),
            )
        } else {
            shop(uri)
        }
    });
    let message = next(&mut rx, failing).await;
    assert_eq!(
        message,
        "cannot watch deployments in shop: list failed: etcdserver: request timed out \
         (500 InternalError)"
    );
}

#[tokio::test(start_paused = true)]
async fn a_forbidden_kind_is_failing_and_the_rest_still_shows() {
    let forbidden = "events is forbidden: User \"system:serviceaccount:shop:dash\" cannot list \
                     resource \"events\" in API group \"\" in the namespace \"shop\"";
    let (mut rx, _seen, _task) = start(move |uri| {
        if uri.path() == EVENTS && !is_watch(uri) {
            Answer::Json(StatusCode::FORBIDDEN, status(403, "Forbidden", forbidden))
        } else {
            shop(uri)
        }
    });
    let message = next(&mut rx, failing).await;
    assert!(
        message.starts_with("cannot watch warning events in shop: list failed: "),
        "{message}"
    );
    assert!(message.ends_with("(403 Forbidden)"), "{message}");
    let kube = next(&mut rx, kube).await;
    assert_eq!(kube.deployments.len(), 1);
    assert_eq!(kube.pods.len(), 1);
    assert!(kube.events.is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_unreachable_api_server_is_failing_with_the_cause() {
    let (mut rx, _seen, _task) = start(|_| Answer::Refused);
    // Every kind fails; whichever is heard of first is named.
    let message = next(&mut rx, failing).await;
    assert!(message.starts_with("cannot watch "), "{message}");
    assert!(message.contains(" in shop: list failed: "), "{message}");
    assert!(message.ends_with("connection refused"), "{message}");
    assert!(!message.contains('\n'));
}

#[tokio::test(start_paused = true)]
async fn the_source_recovers_when_the_api_server_answers_again() {
    let mut failures = 2;
    let (mut rx, seen, _task) = start(move |uri| {
        if uri.path() == DEPLOYMENTS && !is_watch(uri) && failures > 0 {
            failures -= 1;
            Answer::Json(
                StatusCode::SERVICE_UNAVAILABLE,
                status(
                    503,
                    "ServiceUnavailable",
                    "the server is currently unable to handle the request",
                ),
            )
        } else {
            shop(uri)
        }
    });
    let message = next(&mut rx, failing).await;
    assert!(
        message.starts_with("cannot watch deployments in shop: "),
        "{message}"
    );
    // Backing off, then listing again: Ok comes back without a restart.
    next(&mut rx, |u| (state(u)? == SourceState::Ok).then_some(())).await;
    assert_eq!(
        seen.to(DEPLOYMENTS, false).len(),
        3,
        "two failed lists, then one that answered"
    );
    let kube = loop {
        let kube = next(&mut rx, kube).await;
        if !kube.deployments.is_empty() {
            break kube;
        }
    };
    assert_eq!(kube.deployments[0].name, "order");
}

#[tokio::test(start_paused = true)]
async fn changes_are_coalesced_and_repeats_not_sent() {
    let mut watches = 0;
    let (mut rx, seen, _task) = start(move |uri| {
        if uri.path() != DEPLOYMENTS || !is_watch(uri) {
            return shop(uri);
        }
        watches += 1;
        match watches {
            // Two steps of the rollout within one period, right after the first update: only
            // where they end is worth a redraw.
            1 => Answer::Stream {
                after: Duration::from_millis(100),
                events: vec![
                    json!({"type": "MODIFIED", "object": order_deployment(1, 1, 2)}),
                    json!({"type": "MODIFIED", "object": order_deployment(2, 2, 2)}),
                ],
            },
            // Later, a change the dashboard does not show (a new resourceVersion only).
            2 => Answer::Stream {
                after: Duration::from_millis(400),
                events: vec![json!({"type": "MODIFIED", "object": order_deployment(3, 2, 2)})],
            },
            _ => Answer::Pending,
        }
    });
    let start = Instant::now();
    let updates = drain(&mut rx, start + Duration::from_secs(5)).await;
    let sent: Vec<(i32, i32, String)> = updates
        .into_iter()
        .filter_map(kube)
        .map(|kube| {
            let order = &kube.deployments[0];
            (order.ready, order.updated, order.rollout.clone())
        })
        .collect();
    assert_eq!(
        sent,
        [
            (1, 1, "progressing".to_owned()),
            (2, 2, "complete".to_owned())
        ],
        "the lists, then where the rollout ended; the step between and the repeat not sent"
    );
    assert_eq!(
        seen.to(DEPLOYMENTS, true).len(),
        3,
        "both streams were read to their end"
    );
}

#[tokio::test(start_paused = true)]
async fn the_first_update_waits_for_a_slow_list() {
    let (mut rx, _seen, _task) = start(|uri| {
        let answer = shop(uri);
        if uri.path() == PODS && !is_watch(uri) {
            Answer::Late {
                after: Duration::from_millis(800),
                answer: Box::new(answer),
            }
        } else {
            answer
        }
    });
    let start = Instant::now();
    let first = next(&mut rx, kube).await;
    assert_eq!(
        first.pods.len(),
        1,
        "deployments are not shown without their pods"
    );
    assert_eq!(first.deployments.len(), 1);
    assert!(start.elapsed() >= Duration::from_millis(800));
}

#[tokio::test(start_paused = true)]
async fn a_hanging_list_holds_the_first_update_only_a_while() {
    let (mut rx, _seen, _task) = start(|uri| {
        if uri.path() == PODS {
            Answer::Pending
        } else {
            shop(uri)
        }
    });
    let start = Instant::now();
    let first = next(&mut rx, kube).await;
    assert_eq!(start.elapsed(), FIRST_LISTS);
    assert!(first.pods.is_empty());
    assert_eq!(first.deployments.len(), 1);
    assert_eq!(first.autoscalers.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_deletion_is_sent() {
    let mut watches = 0;
    let (mut rx, _seen, _task) = start(move |uri| {
        if uri.path() != PODS || !is_watch(uri) {
            return shop(uri);
        }
        watches += 1;
        if watches == 1 {
            Answer::Stream {
                after: Duration::from_secs(1),
                events: vec![json!({"type": "DELETED", "object": crashing_pod()})],
            }
        } else {
            Answer::Pending
        }
    });
    let first = next(&mut rx, kube).await;
    assert_eq!(first.pods.len(), 1);
    let second = next(&mut rx, kube).await;
    assert!(second.pods.is_empty(), "{second:#?}");
    assert_eq!(second.deployments, first.deployments);
}

#[tokio::test(start_paused = true)]
async fn watch_ends_when_the_receiver_is_gone() {
    let (rx, _seen, task) = start(shop);
    drop(rx);
    timeout(PATIENCE, task)
        .await
        .expect("watch ends")
        .expect("watch did not panic");
}

#[test]
fn decode_reads_percent_escapes() {
    let decoded = decode("app.kubernetes.io%2Fpart-of%3Dshopctl");
    assert_eq!(decoded, "app.kubernetes.io/part-of=shopctl");
    let uri: Uri = "/api/v1/pods?&watch=true&fieldSelector=type%3DWarning"
        .parse()
        .expect("a uri");
    assert_eq!(
        param(&uri, "fieldSelector").as_deref(),
        Some("type=Warning")
    );
    assert!(is_watch(&uri));
}
