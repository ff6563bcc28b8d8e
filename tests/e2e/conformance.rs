//! Every API service behaves the same at its edges: probes, uniform metrics, a committed OpenAPI
//! document that matches what it serves, problem+json for unknown routes and methods, a role
//! check on every secured route, and 400 (never 500) for malformed JSON on every JSON route.
//! The routes to probe come from each service's own OpenAPI document, so a new route is covered
//! the moment it is documented.
//!
//! Covered here: the six services with an API document of their own (product, user, inventory,
//! payment, order, notification; `every_service_with_an_api_document_is_covered` fails when one
//! is added and not listed). Not here: the gateway, which serves no routes of its own but
//! forwards these (its merged `/openapi.json`, probes, metrics and problems are tested in
//! `services/gateway/tests/api/proxy.rs` and `tests/e2e/edge.rs`), and the storefront, which
//! answers HTML (`services/frontend/tests/api` and `tests/e2e/storefront.rs`).

use reqwest::{Client, Method, Response};
use serde_json::Value;
use shopctl_tests::{ADMIN_TOKEN, services, workspace_root};

async fn problem(response: Response, status: u16, slug: &str, what: &str) {
    assert_eq!(response.status(), status, "{what}");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json",
        "{what}"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["type"],
        format!("https://shopctl.dev/problems/{slug}"),
        "{what}: {body}"
    );
}

/// Substitutes path parameters with well-formed values that name nothing.
fn concrete(path: &str) -> String {
    path.replace("{id}", "0190b3a4-0000-7000-8000-000000000000")
        .replace("{sku}", "NO-SUCH-SKU")
        .replace("{slug}", "no-such-slug")
        .replace("{kid}", "no-such-kid")
        .replace("{order_id}", "0190b3a4-0000-7000-8000-000000000000")
}

#[tokio::test]
async fn every_service_serves_probes_and_uniform_metrics() {
    for service in services() {
        let app = service.spawn().await;
        let url = &app.server.url;
        let live: Value = reqwest::get(format!("{url}/livez"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(live["service"], service.name);
        let ready = reqwest::get(format!("{url}/readyz")).await.unwrap();
        assert_eq!(ready.status(), 200, "{} ready", service.name);
        reqwest::get(format!("{url}/livez")).await.unwrap();
        let metrics = reqwest::get(format!("{url}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let label = format!("service=\"{}\"", service.name);
        for name in [
            "http_requests_total{",
            "http_request_duration_seconds_bucket{",
            "shopctl_build_info{",
        ] {
            assert!(
                metrics.contains(name) && metrics.contains(&label),
                "{}: {name} missing",
                service.name
            );
        }
    }
}

#[tokio::test]
async fn every_service_serves_its_committed_openapi_document() {
    for service in services() {
        let app = service.spawn().await;
        let served: Value = reqwest::get(format!("{}/openapi.json", app.server.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let committed: Value = serde_json::from_str(
            &std::fs::read_to_string(workspace_root().join(service.openapi_file)).unwrap(),
        )
        .unwrap();
        assert_eq!(
            served, committed,
            "{}: served OpenAPI differs from {}",
            service.name, service.openapi_file
        );
        assert!(served["openapi"].as_str().unwrap().starts_with("3.1"));
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problems_everywhere() {
    for service in services() {
        let app = service.spawn().await;
        let client = Client::new();
        let response = client
            .get(format!("{}/definitely/not/here", app.server.url))
            .send()
            .await
            .unwrap();
        problem(response, 404, "not-found", service.name).await;
        let response = client
            .request(Method::PATCH, format!("{}/livez", app.server.url))
            .send()
            .await
            .unwrap();
        problem(response, 405, "method-not-allowed", service.name).await;
    }
}

#[tokio::test]
async fn every_secured_route_refuses_anonymous_and_forged_callers() {
    for service in services() {
        let app = service.spawn().await;
        let doc: Value = reqwest::get(format!("{}/openapi.json", app.server.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let client = Client::new();
        let mut checked = 0;
        for (path, operations) in doc["paths"].as_object().unwrap() {
            for (method, operation) in operations.as_object().unwrap() {
                if operation.get("security").is_none() {
                    continue;
                }
                let method: Method = method.to_uppercase().parse().unwrap();
                let url = format!("{}{}", app.server.url, concrete(path));
                let what = format!("{} {method} {path}", service.name);
                let anonymous = client
                    .request(method.clone(), &url)
                    .json(&serde_json::json!({}))
                    .send()
                    .await
                    .unwrap();
                problem(
                    anonymous,
                    401,
                    "unauthorized",
                    &format!("{what} without a token"),
                )
                .await;
                let forged = client
                    .request(method.clone(), &url)
                    .bearer_auth("forged-token")
                    .json(&serde_json::json!({}))
                    .send()
                    .await
                    .unwrap();
                problem(
                    forged,
                    401,
                    "unauthorized",
                    &format!("{what} with a forged token"),
                )
                .await;
                checked += 1;
            }
        }
        assert!(checked > 0, "{} documents no secured route", service.name);
    }
}

#[test]
fn every_service_with_an_api_document_is_covered() {
    let mut documented: Vec<String> = std::fs::read_dir(workspace_root().join("services"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|dir| dir.join("openapi.json").is_file())
        .map(|dir| {
            format!(
                "services/{}/openapi.json",
                dir.file_name().unwrap().to_string_lossy()
            )
        })
        .collect();
    let mut covered: Vec<String> = services()
        .iter()
        .map(|s| s.openapi_file.to_owned())
        .collect();
    documented.sort();
    covered.sort();
    assert_eq!(covered, documented);
}

#[tokio::test]
async fn every_json_route_answers_malformed_bodies_with_400() {
    for service in services() {
        let mut checked = 0;
        let app = service.spawn().await;
        let doc: Value = reqwest::get(format!("{}/openapi.json", app.server.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let client = Client::new();
        for (path, operations) in doc["paths"].as_object().unwrap() {
            for (method, operation) in operations.as_object().unwrap() {
                if operation.get("requestBody").is_none() {
                    continue;
                }
                let method: Method = method.to_uppercase().parse().unwrap();
                // Internal routes take service tokens, public ones a user's.
                let token = if path.starts_with("/internal/") {
                    shopctl_kit::testing::service_token("conformance", service.name)
                } else {
                    ADMIN_TOKEN.to_owned()
                };
                let response = client
                    .request(
                        method.clone(),
                        format!("{}{}", app.server.url, concrete(path)),
                    )
                    .bearer_auth(token)
                    .header("content-type", "application/json")
                    .body("{\"truncated\": ")
                    .send()
                    .await
                    .unwrap();
                problem(
                    response,
                    400,
                    "malformed-json",
                    &format!("{} {method} {path}", service.name),
                )
                .await;
                checked += 1;
            }
        }
        assert!(checked > 0, "{} documents no JSON route", service.name);
    }
}
