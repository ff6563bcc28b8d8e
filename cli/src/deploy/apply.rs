//! The rendered objects applied to a cluster, server-side (field manager `shopctl`), in the
//! order a deploy needs: what everything depends on first (namespace, configuration, network
//! policies, a development PostgreSQL), then the migration Jobs, then the services stage by
//! stage (user, product, inventory and payment; then order; then notification; then the
//! storefront and the gateway), then the entrance and the monitoring.

use kube::{
    Api, Client,
    api::{ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams},
};
use serde_json::Value;

use super::render::Manifest;
use super::secrets::FIELD_MANAGER;

/// Every kind `render` makes: (kind, group, version, plural, namespaced).
const KINDS: &[(&str, &str, &str, &str, bool)] = &[
    ("Namespace", "", "v1", "namespaces", false),
    ("ConfigMap", "", "v1", "configmaps", true),
    ("ServiceAccount", "", "v1", "serviceaccounts", true),
    ("Service", "", "v1", "services", true),
    ("Deployment", "apps", "v1", "deployments", true),
    ("StatefulSet", "apps", "v1", "statefulsets", true),
    ("Job", "batch", "v1", "jobs", true),
    (
        "HorizontalPodAutoscaler",
        "autoscaling",
        "v2",
        "horizontalpodautoscalers",
        true,
    ),
    (
        "PodDisruptionBudget",
        "policy",
        "v1",
        "poddisruptionbudgets",
        true,
    ),
    (
        "NetworkPolicy",
        "networking.k8s.io",
        "v1",
        "networkpolicies",
        true,
    ),
    ("Ingress", "networking.k8s.io", "v1", "ingresses", true),
    (
        "ServiceMonitor",
        "monitoring.coreos.com",
        "v1",
        "servicemonitors",
        true,
    ),
    (
        "PrometheusRule",
        "monitoring.coreos.com",
        "v1",
        "prometheusrules",
        true,
    ),
];

/// The stages of a deploy, by the services they roll out; each waits for the one before.
pub const STAGES: [&[&str]; 4] = [
    &["user", "product", "inventory", "payment"],
    &["order"],
    &["notification"],
    &["frontend", "gateway"],
];

/// One object to apply.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// Its kind.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Where its kind lives in the API.
    resource: ApiResource,
    /// Whether it lives in a namespace.
    namespaced: bool,
    /// The object as rendered.
    pub body: Value,
}

impl Object {
    /// `Kind/name`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }

    fn api(&self, client: &Client, namespace: &str) -> Api<DynamicObject> {
        if self.namespaced {
            Api::namespaced_with(client.clone(), namespace, &self.resource)
        } else {
            Api::all_with(client.clone(), &self.resource)
        }
    }
}

/// One step of a deploy: objects to apply, and what to wait for after.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// What it is, for the progress display.
    pub title: String,
    /// The objects, in order.
    pub objects: Vec<Object>,
    /// The Jobs that must complete before the next step.
    pub jobs: Vec<String>,
    /// The Deployments that must be rolled out before the next step.
    pub deployments: Vec<String>,
}

/// Reads every object of `manifests`; a kind `render` does not make is an error.
fn objects(manifest: &Manifest) -> anyhow::Result<Vec<Object>> {
    let documents: Vec<Value> = serde_saphyr::from_multiple(&manifest.text)
        .map_err(|e| anyhow::anyhow!("{}: not YAML: {e}", manifest.file))?;
    documents
        .into_iter()
        .map(|body| {
            let kind = body["kind"].as_str().unwrap_or_default().to_owned();
            let name = body["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let &(_, group, version, plural, namespaced) =
                KINDS.iter().find(|(k, ..)| *k == kind).ok_or_else(|| {
                    anyhow::anyhow!(
                        "{}: {kind}/{name} is not a kind shopctl applies",
                        manifest.file
                    )
                })?;
            let gvk = GroupVersionKind::gvk(group, version, &kind);
            Ok(Object {
                kind,
                name,
                resource: ApiResource::from_gvk_with_plural(&gvk, plural),
                namespaced,
                body,
            })
        })
        .collect()
}

/// The steps of a deploy of `manifests` (as `render` names its files).
pub fn plan(manifests: &[Manifest]) -> anyhow::Result<Vec<Step>> {
    let step = |title: &str| Step {
        title: title.to_owned(),
        objects: Vec::new(),
        jobs: Vec::new(),
        deployments: Vec::new(),
    };
    let mut base = step("namespace, configuration, network policies");
    let mut migrations = step("database migrations");
    let mut stages: Vec<Step> = STAGES
        .iter()
        .map(|services| step(&services.join(", ")))
        .collect();
    let mut last = step("ingress and monitoring");
    for manifest in manifests {
        let found = objects(manifest)?;
        let service = manifest
            .file
            .trim_end_matches(".yaml")
            .split_once('-')
            .map(|(_, rest)| rest.trim_start_matches("migrate-").to_owned());
        let target = if manifest.file.starts_with("10-") {
            migrations.jobs.extend(
                found
                    .iter()
                    .filter(|o| o.kind == "Job")
                    .map(|o| o.name.clone()),
            );
            &mut migrations
        } else if manifest.file.starts_with('2') {
            let service = service.unwrap_or_default();
            let at = STAGES
                .iter()
                .position(|s| s.contains(&service.as_str()))
                .ok_or_else(|| {
                    anyhow::anyhow!("{}: no stage rolls out {service}", manifest.file)
                })?;
            stages[at].deployments.extend(
                found
                    .iter()
                    .filter(|o| o.kind == "Deployment")
                    .map(|o| o.name.clone()),
            );
            &mut stages[at]
        } else if manifest.file.starts_with('0') {
            &mut base
        } else {
            &mut last
        };
        target.objects.extend(found);
    }
    Ok(std::iter::once(base)
        .chain(std::iter::once(migrations))
        .chain(stages)
        .chain(std::iter::once(last))
        .filter(|s| !s.objects.is_empty())
        .collect())
}

/// The live `object` in `namespace`, if there is one.
pub async fn get(
    client: &Client,
    namespace: &str,
    object: &Object,
) -> anyhow::Result<Option<DynamicObject>> {
    object
        .api(client, namespace)
        .get_opt(&object.name)
        .await
        .map_err(|e| anyhow::anyhow!("cannot read {} in {namespace}: {e}", object.id()))
}

/// Applies `object` server-side in `namespace` (`dry_run`: the API server checks it and
/// answers what it would be, changing nothing).
pub async fn apply(
    client: &Client,
    namespace: &str,
    object: &Object,
    dry_run: bool,
) -> anyhow::Result<DynamicObject> {
    let mut params = PatchParams::apply(FIELD_MANAGER).force();
    if dry_run {
        params = params.dry_run();
    }
    object
        .api(client, namespace)
        .patch(&object.name, &params, &Patch::Apply(&object.body))
        .await
        .map_err(|e| match &e {
            kube::Error::Api(status) if status.code == 403 => anyhow::anyhow!(
                "not allowed to apply {} in {namespace}: {}; `shopctl bootstrap --kubernetes` lists the permissions a deploy needs",
                object.id(),
                status.message
            ),
            _ => anyhow::anyhow!("cannot apply {} in {namespace}: {e}", object.id()),
        })
}

/// No Kubernetes API server can run on these machines: the requests of an apply are checked
/// against kube's `tower-test` mock service, which answers each as the API server would (the
/// object back, or a 403 Status).
#[cfg(test)]
mod tests {
    use http::{Request, Response};
    use kube::client::Body;
    use serde_json::json;

    use super::*;
    use crate::deploy::{render, values::Values};

    #[test]
    fn the_plan_applies_dependencies_first_and_the_entrance_last() {
        let manifests = render::platform_with(
            &Values::default(),
            render::Pieces {
                postgres: true,
                monitoring: true,
            },
        )
        .expect("a rendering");
        let steps = plan(&manifests).expect("a plan");
        let titles: Vec<&str> = steps.iter().map(|s| s.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "namespace, configuration, network policies",
                "database migrations",
                "user, product, inventory, payment",
                "order",
                "notification",
                "frontend, gateway",
                "ingress and monitoring",
            ]
        );
        assert_eq!(steps[0].objects[0].id(), "Namespace/shopctl");
        assert!(
            steps[0]
                .objects
                .iter()
                .any(|o| o.id() == "StatefulSet/shopctl-postgres")
        );
        assert_eq!(steps[1].jobs.len(), 6);
        assert_eq!(
            steps[2].deployments,
            [
                "shopctl-user",
                "shopctl-product",
                "shopctl-inventory",
                "shopctl-payment"
            ]
        );
        assert_eq!(
            steps[5].deployments,
            ["shopctl-frontend", "shopctl-gateway"]
        );
        assert!(
            steps[6]
                .objects
                .iter()
                .any(|o| o.id() == "PrometheusRule/shopctl")
        );
        let total: usize = steps.iter().map(|s| s.objects.len()).sum();
        let rendered: usize = manifests.iter().map(|m| m.objects.len()).sum();
        assert_eq!(total, rendered, "every rendered object is applied once");
    }

    #[tokio::test]
    async fn an_apply_is_server_side_as_shopctl_and_a_refusal_names_object_and_fix() {
        let manifests = render::platform(&Values::default()).expect("a rendering");
        let steps = plan(&manifests).expect("a plan");
        let namespace = steps[0].objects[0].clone();
        let deployment = steps[2]
            .objects
            .iter()
            .find(|o| o.kind == "Deployment")
            .expect("one")
            .clone();
        let (mock, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let server = tokio::spawn(async move {
            let mut seen = Vec::new();
            while let Some((request, send)) = handle.next_request().await {
                seen.push(format!("{} {}", request.method(), request.uri()));
                let body: Value = serde_json::from_slice(
                    &request.into_body().collect_bytes().await.expect("a body"),
                )
                .expect("JSON");
                let response = if body["kind"] == "Deployment" {
                    Response::builder().status(403).body(Body::from(json!({"kind": "Status",
                        "apiVersion": "v1", "status": "Failure", "reason": "Forbidden", "code": 403,
                        "message": "deployments.apps \"shopctl-user\" is forbidden: User \"ci\" cannot patch resource \"deployments\""})
                        .to_string().into_bytes()))
                } else {
                    Response::builder()
                        .status(200)
                        .body(Body::from(body.to_string().into_bytes()))
                };
                send.send_response(response.expect("a response"));
            }
            seen
        });
        let client = Client::new(mock, "shop");
        apply(&client, "shop", &namespace, true)
            .await
            .expect("the namespace");
        let err = apply(&client, "shop", &deployment, false)
            .await
            .expect_err("forbidden")
            .to_string();
        drop(client);
        let seen = server.await.expect("the mock server");
        assert!(
            seen[0].starts_with("PATCH /api/v1/namespaces/shopctl?"),
            "{seen:?}"
        );
        assert!(
            seen[0].contains("dryRun=All")
                && seen[0].contains("fieldManager=shopctl")
                && seen[0].contains("force=true"),
            "{seen:?}"
        );
        assert!(
            seen[1].starts_with("PATCH /apis/apps/v1/namespaces/shop/deployments/shopctl-user?"),
            "{seen:?}"
        );
        assert!(!seen[1].contains("dryRun"), "{seen:?}");
        assert!(
            err.contains("not allowed to apply Deployment/shopctl-user in shop")
                && err.contains("bootstrap --kubernetes"),
            "{err}"
        );
    }
}
