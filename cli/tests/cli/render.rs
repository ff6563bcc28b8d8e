//! `shopctl render`: the platform's Kubernetes manifests, checked the way a cluster and an
//! auditor would: by the Kubernetes schemas (`kubernetes-validate`, strict, pinned version),
//! object by object for every security setting, and against a golden copy (insta).

use std::collections::BTreeMap;

use k8s_openapi::api::{
    apps::v1::Deployment, autoscaling::v2::HorizontalPodAutoscaler, batch::v1::Job,
    core::v1::PodSpec, networking::v1::NetworkPolicy,
};
use serde_json::Value;
use shopctl::deploy::{render, values::Values};

use crate::helpers::{assert_one_line_error, run_in, stdout};

/// The Kubernetes version the manifests are validated against.
const KUBERNETES: &str = "1.33.0";

fn objects() -> Vec<Value> {
    let manifests = render::platform(&Values::default()).unwrap();
    serde_saphyr::from_multiple(&render::stream(&manifests)).unwrap()
}

fn of_kind<T: serde::de::DeserializeOwned>(all: &[Value], kind: &str) -> BTreeMap<String, T> {
    all.iter()
        .filter(|o| o["kind"] == kind)
        .map(|o| {
            (
                o["metadata"]["name"].as_str().unwrap().to_owned(),
                serde_json::from_value(o.clone()).unwrap(),
            )
        })
        .collect()
}

/// Every pod the platform runs, service or migration, holds the restricted profile.
fn assert_restricted(what: &str, pod: &PodSpec) {
    assert_eq!(pod.automount_service_account_token, Some(false), "{what}");
    let security = pod.security_context.as_ref().unwrap();
    assert_eq!(security.run_as_non_root, Some(true), "{what}");
    assert!(security.run_as_user.is_some_and(|uid| uid > 0), "{what}");
    assert_eq!(
        security.seccomp_profile.as_ref().map(|s| s.type_.as_str()),
        Some("RuntimeDefault"),
        "{what}"
    );
    for container in &pod.containers {
        let c = container.security_context.as_ref().unwrap();
        assert_eq!(c.allow_privilege_escalation, Some(false), "{what}");
        assert_eq!(c.read_only_root_filesystem, Some(true), "{what}");
        assert_eq!(c.run_as_non_root, Some(true), "{what}");
        assert_eq!(
            c.capabilities.as_ref().and_then(|c| c.drop.clone()),
            Some(vec!["ALL".to_owned()]),
            "{what}"
        );
        let resources = container.resources.as_ref().unwrap();
        for set in [&resources.requests, &resources.limits] {
            let set = set.as_ref().unwrap();
            assert!(
                set.contains_key("cpu") && set.contains_key("memory"),
                "{what}"
            );
        }
        assert!(
            container.image.as_deref().is_some_and(|i| i.contains(':')),
            "{what}: image without a tag"
        );
        // Secrets only by reference: every secret-looking variable comes from a Secret.
        for var in container.env.iter().flatten() {
            if ["KEY", "TOKEN", "URL", "PASSWORD"]
                .iter()
                .any(|end| var.name.ends_with(end))
            {
                assert!(var.value.is_none(), "{what}: {} has a value", var.name);
                assert!(
                    var.value_from
                        .as_ref()
                        .and_then(|v| v.secret_key_ref.as_ref())
                        .is_some(),
                    "{what}: {} is not a Secret reference",
                    var.name
                );
            }
        }
    }
}

#[test]
fn every_service_is_deployed_with_every_security_setting() {
    let all = objects();
    assert!(
        all.iter().all(|o| o["kind"] != "Secret"),
        "a Secret was rendered"
    );
    let namespace = all.iter().find(|o| o["kind"] == "Namespace").unwrap();
    assert_eq!(
        namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "restricted"
    );
    let deployments: BTreeMap<String, Deployment> = of_kind(&all, "Deployment");
    let autoscalers: BTreeMap<String, HorizontalPodAutoscaler> =
        of_kind(&all, "HorizontalPodAutoscaler");
    assert_eq!(deployments.len(), 8);
    for service in shopctl_tui::SERVICES {
        let name = format!("shopctl-{service}");
        for kind in [
            "ServiceAccount",
            "Service",
            "PodDisruptionBudget",
            "NetworkPolicy",
        ] {
            assert!(
                all.iter()
                    .any(|o| o["kind"] == kind && o["metadata"]["name"] == name.as_str()),
                "{kind}/{name} missing"
            );
        }
        let sa = all
            .iter()
            .find(|o| o["kind"] == "ServiceAccount" && o["metadata"]["name"] == name.as_str())
            .unwrap();
        assert_eq!(sa["automountServiceAccountToken"], false, "{name}");
        let hpa = autoscalers[&name].spec.as_ref().unwrap();
        assert_eq!(
            (hpa.min_replicas, hpa.max_replicas),
            (Some(2), 10),
            "{name}"
        );
        let target = hpa.metrics.as_ref().unwrap()[0].resource.as_ref().unwrap();
        assert_eq!(target.target.average_utilization, Some(70), "{name}");

        let template = &deployments[&name].spec.as_ref().unwrap().template;
        let annotations = template
            .metadata
            .as_ref()
            .unwrap()
            .annotations
            .as_ref()
            .unwrap();
        assert_eq!(annotations["prometheus.io/scrape"], "true", "{name}");
        assert_eq!(annotations["prometheus.io/path"], "/metrics", "{name}");
        let pod = template.spec.as_ref().unwrap();
        assert_restricted(&name, pod);
        assert!(
            pod.topology_spread_constraints
                .as_ref()
                .is_some_and(|t| !t.is_empty())
        );
        let container = &pod.containers[0];
        let path = |probe: &Option<k8s_openapi::api::core::v1::Probe>| {
            probe
                .as_ref()
                .and_then(|p| p.http_get.as_ref())
                .and_then(|h| h.path.clone())
        };
        assert_eq!(
            path(&container.liveness_probe).as_deref(),
            Some("/livez"),
            "{name}"
        );
        assert_eq!(
            path(&container.readiness_probe).as_deref(),
            Some("/readyz"),
            "{name}"
        );
        assert!(container.startup_probe.is_some(), "{name}");
    }
    let jobs: BTreeMap<String, Job> = of_kind(&all, "Job");
    assert_eq!(jobs.len(), 6, "a migration per database: {:?}", jobs.keys());
    for (name, job) in &jobs {
        assert_restricted(
            name,
            job.spec.as_ref().unwrap().template.spec.as_ref().unwrap(),
        );
    }
}

#[test]
fn the_network_is_denied_but_for_the_shops_paths() {
    let all = objects();
    let policies: BTreeMap<String, NetworkPolicy> = of_kind(&all, "NetworkPolicy");
    let deny = policies["shopctl-default-deny"].spec.as_ref().unwrap();
    assert!(
        deny.pod_selector
            .as_ref()
            .is_none_or(|s| s.match_labels.is_none())
    );
    assert!(deny.ingress.is_none() && deny.egress.is_none());
    let peers = |policy: &str, egress: bool| -> Vec<String> {
        let spec = policies[policy].spec.as_ref().unwrap();
        let names = |peers: &[k8s_openapi::api::networking::v1::NetworkPolicyPeer]| {
            peers
                .iter()
                .filter_map(|p| {
                    p.pod_selector
                        .as_ref()?
                        .match_labels
                        .as_ref()?
                        .get("app.kubernetes.io/name")
                        .cloned()
                })
                .collect::<Vec<_>>()
        };
        if egress {
            spec.egress
                .iter()
                .flatten()
                .flat_map(|r| names(r.to.as_deref().unwrap_or_default()))
                .collect()
        } else {
            spec.ingress
                .iter()
                .flatten()
                .flat_map(|r| names(r.from.as_deref().unwrap_or_default()))
                .collect()
        }
    };
    // The order saga calls payment; payment calls no one but user for its keys.
    assert!(peers("shopctl-order", true).contains(&"payment".to_owned()));
    assert_eq!(peers("shopctl-payment", true), ["user"]);
    assert!(peers("shopctl-payment", false).contains(&"order".to_owned()));
    assert!(!peers("shopctl-payment", false).contains(&"inventory".to_owned()));
    // Only the gateway is reached from the ingress controller's namespace.
    for (name, policy) in &policies {
        let from_ingress = policy
            .spec
            .as_ref()
            .unwrap()
            .ingress
            .iter()
            .flatten()
            .any(|r| {
                r.from.iter().flatten().any(|p| {
                    p.namespace_selector
                        .as_ref()
                        .and_then(|s| s.match_labels.as_ref())
                        .is_some_and(|l| {
                            l.get("kubernetes.io/metadata.name").map(String::as_str)
                                == Some("ingress-nginx")
                        })
                })
            });
        assert_eq!(from_ingress, name == "shopctl-gateway", "{name}");
    }
}

#[test]
fn the_same_values_render_the_same_bytes_as_the_golden_copy() {
    let first = render::stream(&render::platform(&Values::default()).unwrap());
    let second = render::stream(&render::platform(&Values::default()).unwrap());
    assert_eq!(first, second);
    insta::assert_snapshot!("render_defaults", first);
}

/// The rendered files pass the Kubernetes schemas of a pinned version, strictly (an unknown
/// field is an error), with the real `kubernetes-validate` (PyPI; .ci/run installs it).
#[test]
fn the_rendered_files_pass_kubernetes_validate() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k8s");
    let rendered = run_in(
        dir.path(),
        &[
            "render",
            "--with-postgres",
            "--with-monitoring",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(rendered.status.code(), Some(0), "{}", stdout(&rendered));
    // The Prometheus Operator's kinds have no schema there; their rules are checked by
    // promtool (below).
    let mut files: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.ends_with("40-monitoring.yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 15, "{files:?}");
    let validated = std::process::Command::new("kubernetes-validate")
        .args(["--strict", "--kubernetes-version", KUBERNETES])
        .args(&files)
        .output()
        .expect("kubernetes-validate runs (pip install kubernetes-validate; .ci/run installs it)");
    assert!(
        validated.status.success(),
        "{}{}",
        String::from_utf8_lossy(&validated.stdout),
        String::from_utf8_lossy(&validated.stderr)
    );
}

#[test]
fn bad_values_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let values = dir.path().join("values.toml");
    std::fs::write(
        &values,
        "image = \"shopctl:1.0\"\n[ingress]\nhostname = \"x\"\n",
    )
    .unwrap();
    let output = run_in(
        dir.path(),
        &["render", "--values", values.to_str().unwrap()],
    );
    assert_one_line_error(&output, &["hostname", "line 3"]);
    std::fs::write(&values, "image = \"registry.example.com/shopctl\"\n").unwrap();
    let output = run_in(
        dir.path(),
        &["render", "--values", values.to_str().unwrap()],
    );
    assert_one_line_error(&output, &["has no tag"]);
}

/// `--with-postgres` adds a restricted PostgreSQL only the services with a database reach;
/// `--with-monitoring` adds the ServiceMonitor, the shop's rules as a PrometheusRule that
/// promtool accepts, and the Grafana dashboard.
#[test]
fn the_optional_pieces_are_as_hardened_and_their_rules_pass_promtool() {
    let manifests = render::platform_with(
        &Values::default(),
        render::Pieces {
            postgres: true,
            monitoring: true,
        },
    )
    .unwrap();
    let all: Vec<Value> = serde_saphyr::from_multiple(&render::stream(&manifests)).unwrap();
    let postgres: BTreeMap<String, k8s_openapi::api::apps::v1::StatefulSet> =
        of_kind(&all, "StatefulSet");
    let pod = postgres["shopctl-postgres"]
        .spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .clone()
        .unwrap();
    assert_restricted("postgres", &pod);
    let policies: BTreeMap<String, NetworkPolicy> = of_kind(&all, "NetworkPolicy");
    let from: Vec<String> = policies["shopctl-postgres"]
        .spec
        .as_ref()
        .unwrap()
        .ingress
        .iter()
        .flatten()
        .flat_map(|r| r.from.iter().flatten())
        .filter_map(|p| {
            p.pod_selector
                .as_ref()?
                .match_labels
                .as_ref()?
                .get("app.kubernetes.io/name")
                .cloned()
        })
        .collect();
    assert_eq!(
        from,
        [
            "user",
            "product",
            "inventory",
            "payment",
            "order",
            "notification"
        ]
    );

    let monitor = all.iter().find(|o| o["kind"] == "ServiceMonitor").unwrap();
    assert_eq!(monitor["spec"]["jobLabel"], "app.kubernetes.io/part-of");
    assert_eq!(monitor["spec"]["endpoints"][0]["path"], "/metrics");
    let rule = all.iter().find(|o| o["kind"] == "PrometheusRule").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yml");
    std::fs::write(
        &rules,
        serde_saphyr::to_string(&serde_json::json!({"groups": rule["spec"]["groups"]})).unwrap(),
    )
    .unwrap();
    let checked = std::process::Command::new("promtool")
        .args(["check", "rules"])
        .arg(&rules)
        .output()
        .expect("promtool runs; .ci/run installs it");
    let said = String::from_utf8_lossy(&checked.stdout).into_owned();
    assert!(
        checked.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    let every: Vec<&Value> = rule["spec"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap().iter())
        .collect();
    assert!(
        said.contains(&format!("SUCCESS: {} rules found", every.len())),
        "{said}"
    );
    let alerts = every.iter().filter(|r| r["alert"].is_string()).count();
    assert_eq!(alerts, 12, "every alert of templates/monitoring");
    let dashboard = all
        .iter()
        .find(|o| o["metadata"]["name"] == "shopctl-grafana-dashboard")
        .unwrap();
    let json: Value =
        serde_json::from_str(dashboard["data"]["shopctl.json"].as_str().unwrap()).unwrap();
    assert!(json["panels"].as_array().is_some_and(|p| !p.is_empty()));
}

/// `secrets apply` says in one line what is wrong: an env file without PostgreSQL URLs (a
/// cluster has no SQLite), no cluster to reach.
#[test]
fn secrets_apply_refuses_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join(".env");
    std::fs::write(
        &env,
        "SHOPCTL_GATEWAY__SERVICE_KEY=k\nSHOPCTL_GATEWAY__ADMIN_TOKEN=t\n",
    )
    .unwrap();
    let output = with_kubeconfig(dir.path(), &dir.path().join("none"), &["secrets", "apply"]);
    assert_one_line_error(&output, &["SHOPCTL_USER__DATABASE_URL", "--postgres"]);
    let mut full = String::from("SHOPCTL_GATEWAY__SERVICE_KEY=k\nSHOPCTL_GATEWAY__ADMIN_TOKEN=t\n");
    for service in [
        "USER",
        "PRODUCT",
        "INVENTORY",
        "PAYMENT",
        "ORDER",
        "NOTIFICATION",
    ] {
        use std::fmt::Write as _;
        writeln!(
            full,
            "SHOPCTL_{service}__DATABASE_URL=postgres://u:secret-pw@db/{service}"
        )
        .unwrap();
    }
    std::fs::write(&env, full).unwrap();
    let output = with_kubeconfig(dir.path(), &dir.path().join("none"), &["secrets", "apply"]);
    assert_one_line_error(&output, &["no Kubernetes cluster", "KUBECONFIG"]);
    assert!(!crate::helpers::stderr(&output).contains("secret-pw"));
    // Attempted against a cluster that does not answer: refused in one line, and recorded
    // with the Secrets' names and keys, never a value.
    let gone = unreachable_kubeconfig(dir.path());
    let output = with_kubeconfig(
        dir.path(),
        &gone,
        &["secrets", "apply", "--data-dir", "data"],
    );
    assert_one_line_error(&output, &["cannot apply Secret shopctl-secrets"]);
    let trail = std::fs::read_to_string(dir.path().join("data/audit/shopctl.jsonl")).unwrap();
    let record: Value = serde_json::from_str(trail.lines().last().unwrap()).unwrap();
    assert_eq!(record["action"], "secrets_apply");
    assert_eq!(record["outcome"], "failure");
    assert_eq!(
        record["details"]["secrets"][1]["keys"]
            .as_array()
            .unwrap()
            .len(),
        6
    );
    assert!(
        !trail.contains("secret-pw") && !trail.contains("\"k\""),
        "{trail}"
    );
}

/// `shopctl <args>` in `dir` with `kubeconfig` as the only way to a cluster.
fn with_kubeconfig(
    dir: &std::path::Path,
    kubeconfig: &std::path::Path,
    args: &[&str],
) -> std::process::Output {
    crate::helpers::shopctl()
        .current_dir(dir)
        .env("KUBECONFIG", kubeconfig)
        .env_remove("KUBERNETES_SERVICE_HOST")
        .args(args)
        .output()
        .unwrap()
}

/// A kubeconfig whose cluster does not answer (nothing listens on port 1).
fn unreachable_kubeconfig(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        "apiVersion: v1\nkind: Config\ncurrent-context: gone\nclusters:\n- name: gone\n  cluster:\n    server: http://127.0.0.1:1\ncontexts:\n- name: gone\n  context:\n    cluster: gone\n    user: me\nusers:\n- name: me\n  user:\n    token: not-a-real-token\n",
    )
    .unwrap();
    path
}

/// `deploy`, `history` and `rollback` fail in one line with exit 2 when there is no cluster or
/// it does not answer, naming what to fix; nothing is half-applied without a record (nothing
/// reached the cluster).
#[test]
fn deploy_history_and_rollback_without_a_cluster_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let run =
        |kubeconfig: &std::path::Path, args: &[&str]| with_kubeconfig(dir.path(), kubeconfig, args);
    let none = dir.path().join("none");
    for args in [&["deploy"][..], &["history"], &["rollback"], &["diff"]] {
        assert_one_line_error(&run(&none, args), &["no Kubernetes cluster", "KUBECONFIG"]);
    }
    let gone = unreachable_kubeconfig(dir.path());
    let output = run(&gone, &["deploy", "--timeout", "5s"]);
    assert_one_line_error(&output, &["cannot reach the cluster", "current-context"]);
    let output = run(&gone, &["history", "--namespace", "shop"]);
    assert_one_line_error(&output, &["cannot read the release history in shop"]);
    // Bad values never reach the cluster.
    let values = dir.path().join("values.toml");
    std::fs::write(&values, "image = \"shopctl\"\n").unwrap();
    let output = run(&gone, &["deploy", "--values", values.to_str().unwrap()]);
    assert_one_line_error(&output, &["has no tag"]);
}
