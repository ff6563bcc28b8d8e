//! The logs of a Kubernetes deployment: the shop's pods (label `app.kubernetes.io/part-of=shopctl`,
//! the service in `app.kubernetes.io/name`) read through the API server, with the same filters
//! as local files. `--since` is handed to the API server (`sinceSeconds`); the other filters
//! are applied here, line by line.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::{AsyncBufReadExt as _, StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::core::v1::Pod;
use kube::{
    Api, Client,
    api::{ListParams, LogParams},
};

use super::{Entry, Filter};

/// The label every pod of the shop carries.
pub const PART_OF: &str = "app.kubernetes.io/part-of=shopctl";
/// The label naming a pod's service.
pub const NAME_LABEL: &str = "app.kubernetes.io/name";

/// The shop's pods in `namespace` whose service `filter` wants: (pod, service).
async fn pods(
    client: &Client,
    namespace: &str,
    filter: &Filter,
) -> anyhow::Result<Vec<(String, String)>> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let list = api
        .list(&ListParams::default().labels(PART_OF))
        .await
        .map_err(|e| {
            anyhow::anyhow!("cannot list the shop's pods in namespace {namespace}: {e}")
        })?;
    let mut found = Vec::new();
    for pod in list.items {
        let Some(name) = pod.metadata.name.clone() else {
            continue;
        };
        let service = pod
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(NAME_LABEL))
            .cloned()
            .unwrap_or_else(|| name.clone());
        if filter.wants_service(&service) {
            found.push((name, service));
        }
    }
    found.sort();
    Ok(found)
}

fn params(filter: &Filter, container: &str, follow: bool) -> LogParams {
    LogParams {
        container: Some(container.to_owned()),
        follow,
        since_seconds: filter
            .since
            .map(|since| (Utc::now() - since).num_seconds().max(1)),
        ..LogParams::default()
    }
}

/// Every line of the shop's pods in `namespace` that `filter` shows, ordered by time.
pub async fn read(client: &Client, namespace: &str, filter: &Filter) -> anyhow::Result<Vec<Entry>> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let mut entries = Vec::new();
    for (pod, service) in pods(client, namespace, filter).await? {
        let text = api
            .logs(&pod, &params(filter, &service, false))
            .await
            .map_err(|e| anyhow::anyhow!("cannot read the logs of pod {pod}: {e}"))?;
        let mut previous: Option<DateTime<Utc>> = None;
        for line in text.lines() {
            if line.is_empty() || filter.rejects_raw(line) {
                continue;
            }
            let entry = Entry::parse(line, &service, previous);
            previous = entry.timestamp;
            if filter.accepts(&entry) {
                entries.push(entry);
            }
        }
    }
    super::by_time(&mut entries);
    Ok(entries)
}

/// Follows the shop's pods in `namespace`: the lines `filter` shows go to `each` as the pods
/// write them, until `each` returns `false` or every stream ends.
pub async fn follow(
    client: &Client,
    namespace: &str,
    filter: &Filter,
    mut each: impl FnMut(Entry) -> bool,
) -> anyhow::Result<()> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let mut streams = Vec::new();
    for (pod, service) in pods(client, namespace, filter).await? {
        let mut params = params(filter, &service, true);
        // From now on, as `tail -f` does, unless --since asks for the past.
        if params.since_seconds.is_none() {
            params.tail_lines = Some(0);
        }
        let lines = api
            .log_stream(&pod, &params)
            .await
            .map_err(|e| anyhow::anyhow!("cannot follow the logs of pod {pod}: {e}"))?
            .lines()
            .map_ok(move |line| (service.clone(), line))
            .boxed();
        streams.push(lines);
    }
    let mut merged = futures_util::stream::select_all(streams);
    while let Some(next) = merged.next().await {
        let (service, line) = next?;
        if line.is_empty() || filter.rejects_raw(&line) {
            continue;
        }
        let entry = Entry::parse(&line, &service, None);
        if filter.accepts(&entry) && !each(entry) {
            return Ok(());
        }
    }
    Ok(())
}

/// How long to wait for the API server.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// A client for the cluster of the current kubeconfig context (or the one named).
pub async fn client(context: Option<&str>) -> anyhow::Result<Client> {
    let options = kube::config::KubeConfigOptions {
        context: context.map(str::to_owned),
        ..Default::default()
    };
    let mut config = match kube::Config::from_kubeconfig(&options).await {
        Ok(config) => config,
        Err(kubeconfig) => kube::Config::incluster().map_err(|_| {
            anyhow::anyhow!(
                "no Kubernetes cluster to read: {kubeconfig}; set KUBECONFIG or run inside the cluster"
            )
        })?,
    };
    config.read_timeout = None;
    config.connect_timeout = Some(TIMEOUT);
    Client::try_from(config).map_err(|e| anyhow::anyhow!("cannot reach the Kubernetes API: {e}"))
}

/// No Kubernetes API server can run here: these tests answer the client's calls with kube's
/// `tower-test` mock service, as the API server answers them (a `PodList`, then plain-text logs
/// per pod), and check the requests the client makes.
#[cfg(test)]
mod tests {
    use http::{Request, Response};
    use kube::client::Body;
    use serde_json::json;

    use super::*;

    fn pod(name: &str, service: &str) -> serde_json::Value {
        json!({"metadata": {"name": name, "namespace": "shop",
            "labels": {"app.kubernetes.io/name": service, "app.kubernetes.io/part-of": "shopctl"}}})
    }

    fn answer(body: impl Into<Vec<u8>>) -> Response<Body> {
        Response::builder()
            .status(200)
            .body(Body::from(body.into()))
            .expect("response")
    }

    #[tokio::test]
    async fn pod_logs_are_listed_read_filtered_and_merged_by_time() {
        let (mock, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let client = Client::new(mock, "shop");
        let server = tokio::spawn(async move {
            let (request, send) = handle.next_request().await.expect("a pod list");
            assert_eq!(request.uri().path(), "/api/v1/namespaces/shop/pods");
            let query = request.uri().query().unwrap_or_default().to_owned();
            assert!(
                query.contains("labelSelector=app.kubernetes.io%2Fpart-of%3Dshopctl"),
                "{query}"
            );
            let list = json!({"apiVersion": "v1", "kind": "PodList", "metadata": {},
                "items": [pod("order-7d9f-abcde", "order"), pod("payment-5c4b-fghij", "payment"),
                    pod("user-1-k", "user")]});
            send.send_response(answer(list.to_string()));
            let mut paths = Vec::new();
            for text in [
                "{\"timestamp\":\"2026-12-05T10:00:02Z\",\"level\":\"INFO\",\"service\":\"order\",\"message\":\"checkout\",\"trace_id\":\"t1\"}\nnot json at all\n",
                "{\"timestamp\":\"2026-12-05T10:00:01Z\",\"level\":\"WARN\",\"service\":\"payment\",\"message\":\"declined\",\"trace_id\":\"t1\"}\n",
            ] {
                let (request, send) = handle.next_request().await.expect("a log read");
                paths.push(format!(
                    "{}?{}",
                    request.uri().path(),
                    request.uri().query().unwrap_or_default()
                ));
                send.send_response(answer(text));
            }
            paths
        });
        let filter = Filter {
            services: vec!["order".to_owned(), "payment".to_owned()],
            ..Filter::default()
        };
        let entries = read(&client, "shop", &filter).await.expect("logs");
        let paths = server.await.expect("the mock server");
        assert_eq!(paths.len(), 2, "the user pod is not read: {paths:?}");
        assert!(paths[0].starts_with("/api/v1/namespaces/shop/pods/order-7d9f-abcde/log?"));
        assert!(paths[0].contains("container=order"), "{paths:?}");
        assert!(paths[1].starts_with("/api/v1/namespaces/shop/pods/payment-5c4b-fghij/log?"));
        let shown: Vec<(&str, &str)> = entries
            .iter()
            .map(|e| (e.service.as_str(), e.message.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                ("payment", "declined"),
                ("order", "checkout"),
                ("order", "not json at all")
            ]
        );
    }

    #[tokio::test]
    async fn since_goes_to_the_api_server_and_an_error_names_the_namespace() {
        let (mock, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let client = Client::new(mock, "shop");
        let server = tokio::spawn(async move {
            let (request, send) = handle.next_request().await.expect("a pod list");
            assert!(
                request
                    .uri()
                    .path()
                    .starts_with("/api/v1/namespaces/prod/pods")
            );
            let list = json!({"apiVersion": "v1", "kind": "PodList", "metadata": {},
                "items": [pod("order-1", "order")]});
            send.send_response(answer(list.to_string()));
            let (request, send) = handle.next_request().await.expect("a log read");
            let query = request.uri().query().unwrap_or_default().to_owned();
            send.send_response(answer(""));
            let (_, send) = handle.next_request().await.expect("a second list");
            send.send_response(
                Response::builder()
                    .status(403)
                    .body(Body::from(
                        json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                            "message": "pods is forbidden", "reason": "Forbidden", "code": 403})
                        .to_string()
                        .into_bytes(),
                    ))
                    .expect("response"),
            );
            query
        });
        let filter = Filter {
            since: Some(Utc::now() - chrono::Duration::minutes(10)),
            ..Filter::default()
        };
        assert!(
            read(&client, "prod", &filter)
                .await
                .expect("logs")
                .is_empty()
        );
        let err = read(&client, "prod", &filter).await.expect_err("forbidden");
        let query = server.await.expect("the mock server");
        let since: i64 = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("sinceSeconds="))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no sinceSeconds in {query}"));
        assert!((599..=601).contains(&since), "{since}");
        assert!(err.to_string().contains("namespace prod"), "{err}");
    }
}
