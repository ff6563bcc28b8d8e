//! Whether a Kubernetes cluster can take the shop (`shopctl bootstrap --kubernetes`): the API
//! server answers, the namespace is ours or can be made, every verb a deploy needs on every
//! kind it touches is allowed (one SelfSubjectAccessReview each), metrics-server is there for
//! the autoscalers, and the Prometheus Operator for `render --with-monitoring`. Each missing
//! piece says how to fix it.

use futures_util::{StreamExt as _, stream};
use k8s_openapi::api::{
    authorization::v1::{ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec},
    core::v1::Namespace,
};
use kube::{Api, Client, api::PostParams};

use crate::platform::bootstrap::{State, Step};

/// What a deploy does to each kind in the namespace: (API group, resource, verbs).
pub const NEEDS: &[(&str, &str, &[&str])] = &[
    (
        "apps",
        "deployments",
        &["get", "list", "watch", "create", "patch", "delete"],
    ),
    (
        "",
        "services",
        &["get", "list", "create", "patch", "delete"],
    ),
    (
        "",
        "configmaps",
        &["get", "list", "create", "patch", "delete"],
    ),
    (
        "",
        "serviceaccounts",
        &["get", "list", "create", "patch", "delete"],
    ),
    ("", "secrets", &["get", "list", "create", "patch"]),
    (
        "batch",
        "jobs",
        &["get", "list", "watch", "create", "patch", "delete"],
    ),
    (
        "autoscaling",
        "horizontalpodautoscalers",
        &["get", "list", "create", "patch", "delete"],
    ),
    (
        "policy",
        "poddisruptionbudgets",
        &["get", "list", "create", "patch", "delete"],
    ),
    (
        "networking.k8s.io",
        "networkpolicies",
        &["get", "list", "create", "patch", "delete"],
    ),
    (
        "networking.k8s.io",
        "ingresses",
        &["get", "list", "create", "patch", "delete"],
    ),
    ("", "pods", &["get", "list", "watch"]),
    ("", "pods/log", &["get"]),
    ("", "events", &["list", "watch"]),
    (
        "coordination.k8s.io",
        "leases",
        &["get", "create", "update"],
    ),
];

/// The label that says a namespace is the shop's.
const OURS: (&str, &str) = ("app.kubernetes.io/managed-by", "shopctl");

fn step(name: &str, state: State, detail: impl Into<String>) -> Step {
    Step {
        name: name.to_owned(),
        state,
        detail: detail.into(),
    }
}

/// Asks the API server whether the caller may `verb` the `resource` (`pods/log` for a
/// subresource) of `group` in `namespace` (cluster-wide when `None`).
async fn may(
    client: &Client,
    namespace: Option<&str>,
    group: &str,
    resource: &str,
    verb: &str,
) -> Result<bool, kube::Error> {
    let (resource, subresource) = match resource.split_once('/') {
        Some((r, s)) => (r, Some(s.to_owned())),
        None => (resource, None),
    };
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                namespace: namespace.map(str::to_owned),
                group: Some(group.to_owned()),
                resource: Some(resource.to_owned()),
                subresource,
                verb: Some(verb.to_owned()),
                ..ResourceAttributes::default()
            }),
            ..SelfSubjectAccessReviewSpec::default()
        },
        ..SelfSubjectAccessReview::default()
    };
    let answer = Api::<SelfSubjectAccessReview>::all(client.clone())
        .create(&PostParams::default(), &review)
        .await?;
    Ok(answer.status.is_some_and(|s| s.allowed))
}

/// `verb resource.group`, as RBAC rules name it.
fn verb_on(verb: &str, group: &str, resource: &str) -> String {
    if group.is_empty() {
        format!("{verb} {resource}")
    } else {
        format!("{verb} {resource}.{group}")
    }
}

/// Every check, in order; after an unreachable API server there is nothing more to ask.
pub async fn check(client: &Client, namespace: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    match client.apiserver_version().await {
        Ok(version) => steps.push(step(
            "cluster",
            State::Ok,
            format!("Kubernetes {}.{} answers", version.major, version.minor),
        )),
        Err(e) => {
            steps.push(step(
                "cluster",
                State::Failed,
                format!(
                    "cannot reach the cluster: {e}; check the context (`kubectl config current-context`) and that its API server is up"
                ),
            ));
            return steps;
        }
    }
    steps.push(namespace_step(client, namespace).await);
    steps.push(permissions_step(client, namespace).await);
    steps.extend(discovery_steps(client).await);
    steps
}

async fn namespace_step(client: &Client, namespace: &str) -> Step {
    let name = format!("namespace {namespace}");
    match Api::<Namespace>::all(client.clone())
        .get_opt(namespace)
        .await
    {
        Ok(Some(found)) => {
            let labels = found.metadata.labels.unwrap_or_default();
            if labels.get(OURS.0).map(String::as_str) == Some(OURS.1) {
                step(&name, State::Ok, "present, and the shop's")
            } else {
                step(
                    &name,
                    State::Failed,
                    format!(
                        "exists but is not the shop's (no {}={} label): deploy into another --namespace, or label it if it is yours",
                        OURS.0, OURS.1
                    ),
                )
            }
        }
        Ok(None) => match may(client, None, "", "namespaces", "create").await {
            Ok(true) => step(
                &name,
                State::Ok,
                "absent; you may create namespaces, and `shopctl deploy` creates it",
            ),
            Ok(false) => step(
                &name,
                State::Failed,
                "absent, and you may not create namespaces: ask an administrator to create it with the label app.kubernetes.io/managed-by=shopctl",
            ),
            Err(e) => step(
                &name,
                State::Failed,
                format!("cannot ask whether it may be created: {e}"),
            ),
        },
        Err(e) => step(&name, State::Failed, format!("cannot read it: {e}")),
    }
}

async fn permissions_step(client: &Client, namespace: &str) -> Step {
    let asks: Vec<(&str, &str, &str)> = NEEDS
        .iter()
        .flat_map(|(group, resource, verbs)| {
            verbs.iter().map(move |verb| (*group, *resource, *verb))
        })
        .collect();
    let total = asks.len();
    let answers: Vec<_> = stream::iter(asks)
        .map(|(group, resource, verb)| async move {
            (
                verb_on(verb, group, resource),
                may(client, Some(namespace), group, resource, verb).await,
            )
        })
        .buffered(8)
        .collect()
        .await;
    let mut denied = Vec::new();
    for (what, answer) in answers {
        match answer {
            Ok(true) => {}
            Ok(false) => denied.push(what),
            Err(e) => {
                return step(
                    "permissions",
                    State::Failed,
                    format!("cannot ask the API server whether you may {what}: {e}"),
                );
            }
        }
    }
    if denied.is_empty() {
        step(
            "permissions",
            State::Ok,
            format!("all {total} verbs a deploy needs are allowed in {namespace}"),
        )
    } else {
        step(
            "permissions",
            State::Failed,
            format!(
                "not allowed in {namespace}: {}; grant them (a Role bound to you in {namespace})",
                denied.join(", ")
            ),
        )
    }
}

async fn discovery_steps(client: &Client) -> Vec<Step> {
    let groups = match client.list_api_groups().await {
        Ok(list) => list.groups.into_iter().map(|g| g.name).collect::<Vec<_>>(),
        Err(e) => {
            return vec![step(
                "api groups",
                State::Failed,
                format!("cannot list the API groups: {e}"),
            )];
        }
    };
    let has = |name: &str| groups.iter().any(|g| g == name);
    vec![
        if has("metrics.k8s.io") {
            step(
                "metrics-server",
                State::Ok,
                "serves metrics.k8s.io: the autoscalers can scale",
            )
        } else {
            step(
                "metrics-server",
                State::Missing,
                "no metrics.k8s.io API: the autoscalers cannot read CPU and will not scale; install metrics-server",
            )
        },
        if has("monitoring.coreos.com") {
            step(
                "prometheus operator",
                State::Ok,
                "serves monitoring.coreos.com: `render --with-monitoring` can be applied",
            )
        } else {
            step(
                "prometheus operator",
                State::Skipped,
                "no monitoring.coreos.com API (needed only for `render --with-monitoring`)",
            )
        },
    ]
}

/// No Kubernetes API server can run on these machines: these tests answer the client with
/// kube's `tower-test` mock service, shaped as the API server answers (a version, a namespace
/// or a 404 Status, SelfSubjectAccessReviews decided by a rule of the test, the API group
/// list), and check what the checks conclude.
#[cfg(test)]
mod tests {
    use http::{Request, Response};
    use kube::client::Body;
    use serde_json::{Value, json};

    use super::*;

    /// How the mock cluster answers.
    #[derive(Clone, Copy)]
    struct Cluster {
        namespace: Option<bool>,
        denied: Option<(&'static str, &'static str)>,
        metrics_server: bool,
    }

    fn answer(status: u16, body: &Value) -> Response<Body> {
        Response::builder()
            .status(status)
            .body(Body::from(body.to_string().into_bytes()))
            .expect("a response")
    }

    /// Serves requests until the client is gone; returns how many reviews were asked.
    async fn serve(
        mut handle: tower_test::mock::Handle<Request<Body>, Response<Body>>,
        cluster: Cluster,
    ) -> usize {
        let mut reviews = 0;
        while let Some((request, send)) = handle.next_request().await {
            let path = request.uri().path().to_owned();
            let response = match path.as_str() {
                "/version" => answer(
                    200,
                    &json!({"major": "1", "minor": "33", "gitVersion": "v1.33.1",
                    "gitCommit": "", "gitTreeState": "", "buildDate": "", "goVersion": "",
                    "compiler": "", "platform": "linux/amd64"}),
                ),
                "/api/v1/namespaces/shop" => match cluster.namespace {
                    Some(ours) => {
                        let labels = if ours {
                            json!({"app.kubernetes.io/managed-by": "shopctl"})
                        } else {
                            json!({})
                        };
                        answer(
                            200,
                            &json!({"apiVersion": "v1", "kind": "Namespace",
                            "metadata": {"name": "shop", "labels": labels}}),
                        )
                    }
                    None => answer(
                        404,
                        &json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                        "message": "namespaces \"shop\" not found", "reason": "NotFound", "code": 404}),
                    ),
                },
                "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews" => {
                    reviews += 1;
                    let body: Value = serde_json::from_slice(
                        &request.into_body().collect_bytes().await.expect("a body"),
                    )
                    .expect("JSON");
                    let asked = &body["spec"]["resourceAttributes"];
                    let allowed = cluster.denied.is_none_or(|(verb, resource)| {
                        !(asked["verb"] == verb && asked["resource"] == resource)
                    });
                    answer(
                        201,
                        &json!({"apiVersion": "authorization.k8s.io/v1",
                        "kind": "SelfSubjectAccessReview", "spec": body["spec"],
                        "status": {"allowed": allowed}}),
                    )
                }
                "/apis" => {
                    let mut groups = vec![
                        json!({"name": "apps", "versions": [{"groupVersion": "apps/v1", "version": "v1"}]}),
                    ];
                    if cluster.metrics_server {
                        groups.push(json!({"name": "metrics.k8s.io", "versions": [{"groupVersion": "metrics.k8s.io/v1beta1", "version": "v1beta1"}]}));
                    }
                    answer(
                        200,
                        &json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}),
                    )
                }
                other => panic!("unexpected request to {other}"),
            };
            send.send_response(response);
        }
        reviews
    }

    async fn run(cluster: Cluster) -> (Vec<Step>, usize) {
        let (mock, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let server = tokio::spawn(serve(handle, cluster));
        let client = Client::new(mock, "shop");
        let steps = check(&client, "shop").await;
        drop(client);
        (steps, server.await.expect("the mock server"))
    }

    fn state(steps: &[Step], name: &str) -> (State, String) {
        let step = steps
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no {name}: {steps:?}"));
        (step.state, step.detail.clone())
    }

    #[tokio::test]
    async fn a_ready_cluster_passes_every_check_with_one_review_per_verb() {
        let (steps, reviews) = run(Cluster {
            namespace: Some(true),
            denied: None,
            metrics_server: true,
        })
        .await;
        let verbs: usize = NEEDS.iter().map(|(_, _, v)| v.len()).sum();
        assert_eq!(reviews, verbs, "one SelfSubjectAccessReview per verb");
        assert_eq!(state(&steps, "cluster").0, State::Ok);
        assert_eq!(state(&steps, "namespace shop").0, State::Ok);
        let (permissions, detail) = state(&steps, "permissions");
        assert_eq!(permissions, State::Ok, "{detail}");
        assert!(detail.contains(&format!("all {verbs} verbs")), "{detail}");
        assert_eq!(state(&steps, "metrics-server").0, State::Ok);
        assert_eq!(state(&steps, "prometheus operator").0, State::Skipped);
    }

    #[tokio::test]
    async fn a_refused_verb_is_named_with_its_resource() {
        let (steps, _) = run(Cluster {
            namespace: Some(true),
            denied: Some(("patch", "deployments")),
            metrics_server: true,
        })
        .await;
        let (permissions, detail) = state(&steps, "permissions");
        assert_eq!(permissions, State::Failed);
        assert!(
            detail.contains("not allowed in shop: patch deployments.apps"),
            "{detail}"
        );
        assert!(detail.contains("Role"), "{detail}");
    }

    #[tokio::test]
    async fn a_namespace_that_is_not_ours_and_a_missing_metrics_server_say_what_to_do() {
        let (steps, _) = run(Cluster {
            namespace: Some(false),
            denied: None,
            metrics_server: false,
        })
        .await;
        let (namespace, detail) = state(&steps, "namespace shop");
        assert_eq!(namespace, State::Failed);
        assert!(detail.contains("not the shop's"), "{detail}");
        let (metrics, detail) = state(&steps, "metrics-server");
        assert_eq!(metrics, State::Missing);
        assert!(detail.contains("install metrics-server"), "{detail}");
    }

    #[tokio::test]
    async fn an_absent_namespace_is_fine_only_when_it_may_be_created() {
        let (steps, _) = run(Cluster {
            namespace: None,
            denied: None,
            metrics_server: true,
        })
        .await;
        assert_eq!(state(&steps, "namespace shop").0, State::Ok);
        let (steps, _) = run(Cluster {
            namespace: None,
            denied: Some(("create", "namespaces")),
            metrics_server: true,
        })
        .await;
        let (namespace, detail) = state(&steps, "namespace shop");
        assert_eq!(namespace, State::Failed);
        assert!(detail.contains("may not create namespaces"), "{detail}");
    }

    #[tokio::test]
    async fn an_unreachable_api_server_stops_the_checks_in_one_step() {
        let (mock, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        handle.send_error(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "connection refused",
        ));
        let client = Client::new(mock, "shop");
        let steps = check(&client, "shop").await;
        assert_eq!(steps.len(), 1, "{steps:?}");
        assert_eq!(steps[0].state, State::Failed);
        assert!(
            steps[0].detail.contains("cannot reach the cluster"),
            "{}",
            steps[0].detail
        );
    }
}
