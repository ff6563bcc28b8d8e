//! The Secrets the rendered pods reference, made from an installation's `.env`
//! (`shopctl secrets apply --from-env-file .env`): the platform's service key and admin token,
//! and each service's database URL. Applied server-side (field manager `shopctl`); a value is
//! never printed, logged or written anywhere else.

use std::collections::BTreeMap;

use k8s_openapi::{ByteString, api::core::v1::Secret};
use kube::{
    Api, Client,
    api::{ObjectMeta, Patch, PatchParams},
};

use super::values::Values;
use crate::platform::{WITH_DATABASE, parse_env};

/// The field manager of everything shopctl applies.
pub const FIELD_MANAGER: &str = "shopctl";

/// One Secret to apply: its name and its keys (values kept out of `Debug`).
pub struct Planned {
    /// The Secret's name.
    pub name: String,
    /// Its keys and values.
    data: BTreeMap<String, String>,
}

impl std::fmt::Debug for Planned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Planned")
            .field("name", &self.name)
            .field("keys", &self.data.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Planned {
    /// Its key names.
    pub fn keys(&self) -> Vec<&str> {
        self.data.keys().map(String::as_str).collect()
    }
}

/// The Secrets an env file gives; an error names what is missing and how to get it.
pub fn plan(env_text: &str, values: &Values) -> anyhow::Result<Vec<Planned>> {
    let vars: BTreeMap<String, String> = parse_env(env_text)?.into_iter().collect();
    let one_of = |suffix: &str| {
        vars.iter()
            .find(|(name, value)| name.ends_with(suffix) && !value.is_empty())
            .map(|(_, value)| value.clone())
    };
    let service_key = one_of("__SERVICE_KEY").ok_or_else(|| {
        anyhow::anyhow!(
            "the env file has no SHOPCTL_<SERVICE>__SERVICE_KEY; make one with `shopctl bootstrap`"
        )
    })?;
    let admin_token = one_of("__ADMIN_TOKEN").ok_or_else(|| {
        anyhow::anyhow!(
            "the env file has no SHOPCTL_<SERVICE>__ADMIN_TOKEN; make one with `shopctl bootstrap`"
        )
    })?;
    let mut databases = BTreeMap::new();
    let mut missing = Vec::new();
    for service in WITH_DATABASE {
        let name = format!("SHOPCTL_{}__DATABASE_URL", service.to_uppercase());
        match vars.get(&name).filter(|v| v.starts_with("postgres")) {
            Some(url) => {
                databases.insert(service.to_owned(), url.clone());
            }
            None => missing.push(name),
        }
    }
    if !missing.is_empty() {
        anyhow::bail!(
            "the env file has no PostgreSQL URL in {}: a cluster needs PostgreSQL; run `shopctl bootstrap --postgres URL`, or add them",
            missing.join(", ")
        );
    }
    Ok(vec![
        Planned {
            name: values.secrets.platform.clone(),
            data: [
                ("admin_token".to_owned(), admin_token),
                ("service_key".to_owned(), service_key),
            ]
            .into(),
        },
        Planned {
            name: values.secrets.databases.clone(),
            data: databases,
        },
    ])
}

/// Applies `planned` in `namespace`.
pub async fn apply(client: &Client, namespace: &str, planned: &[Planned]) -> anyhow::Result<()> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    for secret in planned {
        let object = Secret {
            metadata: ObjectMeta {
                name: Some(secret.name.clone()),
                namespace: Some(namespace.to_owned()),
                labels: Some(
                    [
                        ("app.kubernetes.io/part-of".to_owned(), "shopctl".to_owned()),
                        (
                            "app.kubernetes.io/managed-by".to_owned(),
                            "shopctl".to_owned(),
                        ),
                    ]
                    .into(),
                ),
                ..ObjectMeta::default()
            },
            type_: Some("Opaque".to_owned()),
            data: Some(
                secret
                    .data
                    .iter()
                    .map(|(k, v)| (k.clone(), ByteString(v.clone().into_bytes())))
                    .collect(),
            ),
            ..Secret::default()
        };
        // The apply body needs its kind and version, which the typed object leaves out.
        let mut body = serde_json::to_value(&object)?;
        body["apiVersion"] = serde_json::json!("v1");
        body["kind"] = serde_json::json!("Secret");
        api.patch(
            &secret.name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&body),
        )
        .await
        .map_err(|e| anyhow::anyhow!("cannot apply Secret {} in {namespace}: {e}", secret.name))?;
    }
    Ok(())
}

/// No Kubernetes API server can run on these machines: the apply is checked against kube's
/// `tower-test` mock service, which records each request as the API server would receive it.
#[cfg(test)]
mod tests {
    use http::{Request, Response};
    use kube::client::Body;
    use serde_json::{Value, json};

    use super::*;

    const ENV: &str = "# secrets\nSHOPCTL_GATEWAY__SERVICE_KEY=sk-123\nSHOPCTL_USER__SERVICE_KEY=sk-123\nSHOPCTL_GATEWAY__ADMIN_TOKEN=at-456\n\
SHOPCTL_USER__DATABASE_URL=postgres://u:pw@db/shop_user\nSHOPCTL_PRODUCT__DATABASE_URL=postgres://u:pw@db/shop_product\n\
SHOPCTL_INVENTORY__DATABASE_URL=postgres://u:pw@db/shop_inventory\nSHOPCTL_PAYMENT__DATABASE_URL=postgres://u:pw@db/shop_payment\n\
SHOPCTL_ORDER__DATABASE_URL=postgres://u:pw@db/shop_order\nSHOPCTL_NOTIFICATION__DATABASE_URL=postgres://u:pw@db/shop_notification\n";

    #[test]
    fn an_env_without_postgres_urls_says_which_and_how() {
        let sqlite = ENV
            .lines()
            .filter(|l| !l.contains("ORDER__DATABASE"))
            .collect::<Vec<_>>()
            .join("\n");
        let err = plan(&sqlite, &Values::default())
            .expect_err("no order URL")
            .to_string();
        assert!(
            err.contains("SHOPCTL_ORDER__DATABASE_URL") && err.contains("--postgres"),
            "{err}"
        );
        let planned = plan(ENV, &Values::default()).expect("a plan");
        assert_eq!(planned[0].keys(), ["admin_token", "service_key"]);
        assert_eq!(planned[1].keys().len(), 6);
        // Debug output shows names and keys, never a value.
        let shown = format!("{planned:?}");
        assert!(
            !shown.contains("sk-123") && !shown.contains("pw@"),
            "{shown}"
        );
    }

    #[tokio::test]
    async fn secrets_are_applied_server_side_as_shopctl() {
        let (mock, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let server = tokio::spawn(async move {
            let mut seen = Vec::new();
            while let Some((request, send)) = handle.next_request().await {
                let method = request.method().to_string();
                let uri = request.uri().to_string();
                let body: Value = serde_json::from_slice(
                    &request.into_body().collect_bytes().await.expect("a body"),
                )
                .expect("JSON");
                let mut answer = body.clone();
                answer["metadata"]["resourceVersion"] = json!("1");
                send.send_response(
                    Response::builder()
                        .status(200)
                        .body(Body::from(answer.to_string().into_bytes()))
                        .expect("a response"),
                );
                seen.push((method, uri, body));
            }
            seen
        });
        let client = Client::new(mock, "shop");
        let planned = plan(ENV, &Values::default()).expect("a plan");
        apply(&client, "shop", &planned).await.expect("applied");
        drop(client);
        let seen = server.await.expect("the mock server");
        assert_eq!(seen.len(), 2);
        for (method, uri, body) in &seen {
            assert_eq!(method, "PATCH");
            assert!(
                uri.starts_with("/api/v1/namespaces/shop/secrets/shopctl-"),
                "{uri}"
            );
            assert!(
                uri.contains("fieldManager=shopctl") && uri.contains("force=true"),
                "{uri}"
            );
            assert_eq!(body["kind"], "Secret");
            assert_eq!(
                body["metadata"]["labels"]["app.kubernetes.io/managed-by"],
                "shopctl"
            );
        }
        // Values travel base64-encoded, as the API takes them.
        assert_eq!(seen[0].2["data"]["service_key"], "c2stMTIz");
        assert_eq!(
            seen[1].2["data"].as_object().map(serde_json::Map::len),
            Some(6)
        );
    }
}
