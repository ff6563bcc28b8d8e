//! An in-memory Kubernetes API server for the deploy engine's tests. No real API server can run
//! on these machines, so kube's `tower-test` mock service is answered from a map of objects by
//! path, as the API server answers: server-side apply stores the object (a Deployment comes
//! back rolled out and a Job complete, unless the test broke it), GET, LIST with label and name
//! selectors, create (409 when it exists), replace, DELETE; a watch after a list is left open
//! (nothing changes on its own). Every request is counted by method.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{Arc, Mutex},
};

use http::{Request, Response};
use kube::{Client, client::Body};
use serde_json::{Value, json};

/// What the fake holds, shared with the test.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// Objects by their path (`/apis/apps/v1/namespaces/shop/deployments/shopctl-order`).
    pub(crate) objects: BTreeMap<String, Value>,
    /// Names of Deployments and Jobs that never become ready or complete: their pods crash.
    pub(crate) broken: BTreeSet<String>,
    /// Requests, `METHOD path`, in order.
    pub(crate) requests: Vec<String>,
    /// The next resource version.
    version: u64,
}

impl State {
    /// The objects under a collection path.
    pub(crate) fn under(&self, collection: &str) -> Vec<&Value> {
        let prefix = format!("{collection}/");
        self.objects
            .iter()
            .filter(|(path, _)| path.starts_with(&prefix) && !path[prefix.len()..].contains('/'))
            .map(|(_, o)| o)
            .collect()
    }

    /// How many requests had `method`.
    pub(crate) fn count(&self, method: &str) -> usize {
        self.requests
            .iter()
            .filter(|r| r.starts_with(&format!("{method} ")))
            .count()
    }
}

fn respond(status: u16, body: &Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .body(Body::from(body.to_string().into_bytes()))
        .expect("a response")
}

fn status(code: u16, reason: &str, message: &str) -> Response<Body> {
    respond(
        code,
        &json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason,
            "message": message, "code": code}),
    )
}

fn query_param(query: &str, key: &str) -> Option<String> {
    form_urlencoded_parse(query)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

fn form_urlencoded_parse(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("00");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn matches(object: &Value, labels: Option<&str>, fields: Option<&str>) -> bool {
    let label_ok = labels.is_none_or(|selector| {
        selector.split(',').filter(|s| !s.is_empty()).all(|term| {
            let (k, v) = term.split_once('=').unwrap_or((term, ""));
            object["metadata"]["labels"][k] == v
        })
    });
    let field_ok = fields.is_none_or(|selector| {
        selector.split(',').all(|term| match term.split_once('=') {
            Some(("metadata.name", name)) => object["metadata"]["name"] == name,
            Some(("type", kind)) => object["type"] == kind,
            _ => true,
        })
    });
    label_ok && field_ok
}

/// What the API server's controllers would have made of an applied object by now.
fn settle(state: &State, mut object: Value) -> Value {
    let name = object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let broken = state.broken.contains(&name);
    match object["kind"].as_str() {
        Some("Deployment") => {
            let replicas = object["spec"]["replicas"].as_i64().unwrap_or(1);
            let ready = if broken { replicas - 1 } else { replicas };
            object["status"] = json!({"observedGeneration": object["metadata"]["generation"],
                "replicas": replicas, "updatedReplicas": replicas, "availableReplicas": ready,
                "readyReplicas": ready});
        }
        Some("Job") => {
            let kind = if broken { "Failed" } else { "Complete" };
            object["status"] = json!({"conditions": [{"type": kind, "status": "True"}]});
        }
        _ => {}
    }
    object
}

fn answer(
    state: &mut State,
    method: &str,
    path: &str,
    query: &str,
    body: Option<Value>,
) -> Option<Response<Body>> {
    state.requests.push(format!("{method} {path}"));
    state.version += 1;
    let version = state.version.to_string();
    match method {
        "PATCH" | "PUT" => {
            let mut object = body.unwrap_or_default();
            let previous = state.objects.get(path);
            let generation = previous
                .and_then(|p| p["metadata"]["generation"].as_i64())
                .unwrap_or(0)
                + 1;
            object["metadata"]["resourceVersion"] = json!(version);
            object["metadata"]["generation"] = json!(generation);
            let object = settle(state, object);
            if query_param(query, "dryRun").is_none() {
                state.objects.insert(path.to_owned(), object.clone());
            }
            Some(respond(200, &object))
        }
        "POST" => {
            let mut object = body.unwrap_or_default();
            let name = object["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let at = format!("{path}/{name}");
            if state.objects.contains_key(&at) {
                return Some(status(
                    409,
                    "AlreadyExists",
                    &format!("\"{name}\" already exists"),
                ));
            }
            object["metadata"]["resourceVersion"] = json!(version);
            state.objects.insert(at, object.clone());
            Some(respond(201, &object))
        }
        "DELETE" => match state.objects.remove(path) {
            Some(_) => Some(respond(
                200,
                &json!({"kind": "Status", "apiVersion": "v1", "status": "Success"}),
            )),
            None => Some(status(404, "NotFound", "not found")),
        },
        "GET" if query_param(query, "watch").is_some() => None,
        "GET" => {
            if let Some(object) = state.objects.get(path) {
                return Some(respond(200, object));
            }
            let labels = query_param(query, "labelSelector");
            let fields = query_param(query, "fieldSelector");
            let items: Vec<Value> = state
                .under(path)
                .into_iter()
                .filter(|o| matches(o, labels.as_deref(), fields.as_deref()))
                .cloned()
                .collect();
            if collection_like(path) {
                Some(respond(
                    200,
                    &json!({"kind": "List", "apiVersion": "v1",
                    "metadata": {"resourceVersion": version}, "items": items}),
                ))
            } else {
                Some(status(404, "NotFound", &format!("{path} not found")))
            }
        }
        _ => Some(status(405, "MethodNotAllowed", method)),
    }
}

/// Whether `path` names a collection (`…/namespaces/shop/deployments`, `/api/v1/namespaces`).
fn collection_like(path: &str) -> bool {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts.first() {
        // /api/v1/<plural> or /api/v1/namespaces/<ns>/<plural>
        Some(&"api") => parts.len() == 3 || parts.len() == 5,
        // /apis/<group>/<version>/<plural> or …/namespaces/<ns>/<plural>
        Some(&"apis") => parts.len() == 4 || parts.len() == 6,
        _ => false,
    }
}

/// A client of a fresh fake, the fake's state, and its task.
pub(crate) fn start(state: State) -> (Client, Arc<Mutex<State>>, tokio::task::JoinHandle<()>) {
    let (mock, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let shared = Arc::new(Mutex::new(state));
    let state = Arc::clone(&shared);
    let task = tokio::spawn(async move {
        let mut open_watches = Vec::new();
        while let Some((request, send)) = handle.next_request().await {
            let method = request.method().to_string();
            let path = request.uri().path().to_owned();
            let query = request.uri().query().unwrap_or_default().to_owned();
            let bytes = request
                .into_body()
                .collect_bytes()
                .await
                .unwrap_or_default();
            let body = serde_json::from_slice::<Value>(&bytes).ok();
            let answer = {
                let mut state = state.lock().expect("the fake's state");
                answer(&mut state, &method, &path, &query, body)
            };
            match answer {
                Some(response) => send.send_response(response),
                None => open_watches.push(send),
            }
        }
    });
    (Client::new(mock, "default"), shared, task)
}
