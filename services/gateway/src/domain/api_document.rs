//! The platform's public API as one OpenAPI document, served by the gateway at `/openapi.json`:
//! the public paths (`/api/…` and `/.well-known/jwks.json`) of every service's committed
//! document, with the schemas they use. Internal, admin and probe routes stay out. Two services
//! may name different schemas alike; the first keeps the name, a later one's becomes
//! `<Service><Name>` (`OrderLine`) and its references follow. Schemas that are the same (kit's
//! one `Money`) are carried once.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

/// Each service's committed document, by the name the route table routes to.
pub const SERVICE_DOCUMENTS: [(&str, &str); 6] = [
    ("product", include_str!("../../../product/openapi.json")),
    ("user", include_str!("../../../user/openapi.json")),
    ("order", include_str!("../../../order/openapi.json")),
    ("inventory", include_str!("../../../inventory/openapi.json")),
    ("payment", include_str!("../../../payment/openapi.json")),
    (
        "notification",
        include_str!("../../../notification/openapi.json"),
    ),
];

const SCHEMA_REF: &str = "#/components/schemas/";

/// Whether a service's path is part of the public API at the edge.
pub fn is_public(path: &str) -> bool {
    path.starts_with("/api/") || path == "/.well-known/jwks.json"
}

/// Why the documents could not be merged.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// A document is not JSON.
    #[error("the {0} service's OpenAPI document is not JSON: {1}")]
    Json(String, serde_json::Error),
    /// Two services document the same path.
    #[error("both the {0} and the {1} service document {2}")]
    DuplicatePath(String, String, String),
    /// A reference names a schema its document does not define.
    #[error("the {0} service's document refers to schema {1}, which it does not define")]
    MissingSchema(String, String),
}

/// The public API of `documents` (service name, OpenAPI JSON) as one document.
pub fn public_document(documents: &[(&str, &str)], version: &str) -> Result<Value, DocumentError> {
    let mut paths = Map::new();
    let mut owners: BTreeMap<String, String> = BTreeMap::new();
    let mut schemas = Map::new();
    let mut security = Map::new();
    let mut tags = Vec::<Value>::new();
    for (service, text) in documents {
        let doc: Value =
            serde_json::from_str(text).map_err(|e| DocumentError::Json((*service).into(), e))?;
        let mut public: Map<String, Value> = doc["paths"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(path, _)| is_public(path))
            .map(|(path, item)| (path.clone(), item.clone()))
            .collect();
        if public.is_empty() {
            continue;
        }
        let defined = doc["components"]["schemas"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let used = reachable(service, &Value::Object(public.clone()), &defined)?;

        // Names already taken by a different schema are prefixed with the service's name.
        let renames: BTreeMap<String, String> = used
            .iter()
            .filter(|name| schemas.get(*name).is_some_and(|s| s != &defined[*name]))
            .map(|name| (name.clone(), format!("{}{name}", capitalized(service))))
            .collect();
        for name in &used {
            let mut schema = defined[name].clone();
            rename_refs(&mut schema, &renames);
            let target = renames.get(name).unwrap_or(name);
            schemas.insert(target.clone(), schema);
        }
        for (path, item) in &mut public {
            rename_refs(item, &renames);
            if let Some(first) = owners.insert(path.clone(), (*service).to_owned()) {
                return Err(DocumentError::DuplicatePath(
                    first,
                    (*service).to_owned(),
                    path.clone(),
                ));
            }
        }
        paths.extend(public);
        if let Some(schemes) = doc["components"]["securitySchemes"].as_object() {
            security.extend(schemes.clone());
        }
        for tag in doc["tags"].as_array().into_iter().flatten() {
            if !tags.iter().any(|t| t["name"] == tag["name"]) {
                tags.push(tag.clone());
            }
        }
    }
    Ok(json!({
        "openapi": "3.1.0",
        "info": {
            "title": "shopctl public API",
            "description": "Every service's public routes, as the gateway serves them. Errors are application/problem+json.",
            "version": version,
        },
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": security},
        "tags": tags,
    }))
}

/// Every schema `value` refers to, directly or through other schemas of `defined`.
fn reachable(
    service: &str,
    value: &Value,
    defined: &Map<String, Value>,
) -> Result<BTreeSet<String>, DocumentError> {
    let mut found = BTreeSet::new();
    let mut pending = Vec::new();
    refs(value, &mut pending);
    while let Some(name) = pending.pop() {
        if !found.insert(name.clone()) {
            continue;
        }
        let schema = defined
            .get(&name)
            .ok_or_else(|| DocumentError::MissingSchema(service.to_owned(), name.clone()))?;
        refs(schema, &mut pending);
    }
    Ok(found)
}

/// Appends the schema names `value` refers to.
fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner.as_str()) {
                    ("$ref", Some(target)) => {
                        if let Some(name) = target.strip_prefix(SCHEMA_REF) {
                            out.push(name.to_owned());
                        }
                    }
                    _ => refs(inner, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| refs(item, out)),
        _ => {}
    }
}

/// Points references to renamed schemas at their new names.
fn rename_refs(value: &mut Value, renames: &BTreeMap<String, String>) {
    if renames.is_empty() {
        return;
    }
    match value {
        Value::Object(map) => {
            for (key, inner) in map.iter_mut() {
                let new_target = match (key.as_str(), inner.as_str()) {
                    ("$ref", Some(target)) => target
                        .strip_prefix(SCHEMA_REF)
                        .and_then(|name| renames.get(name))
                        .map(|name| format!("{SCHEMA_REF}{name}")),
                    _ => None,
                };
                match new_target {
                    Some(target) => *inner = Value::String(target),
                    None => rename_refs(inner, renames),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| rename_refs(item, renames)),
        _ => {}
    }
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::upstream_for;

    fn platform() -> Value {
        public_document(&SERVICE_DOCUMENTS, "1.2.3").unwrap()
    }

    fn schema_of<'a>(doc: &'a Value, reference: &str) -> &'a Value {
        let name = reference.strip_prefix(SCHEMA_REF).unwrap();
        &doc["components"]["schemas"][name]
    }

    #[test]
    fn every_public_path_is_routed_to_the_service_that_documents_it() {
        let doc = platform();
        let paths = doc["paths"].as_object().unwrap();
        for (service, text) in SERVICE_DOCUMENTS {
            let own: Value = serde_json::from_str(text).unwrap();
            for path in own["paths"].as_object().unwrap().keys() {
                if is_public(path) {
                    assert!(paths.contains_key(path), "{path} of {service} is missing");
                    assert_eq!(upstream_for(path), service, "{path} goes elsewhere");
                } else {
                    assert!(!paths.contains_key(path), "{path} must stay internal");
                }
            }
        }
        for path in [
            "/api/products",
            "/api/users/login",
            "/.well-known/jwks.json",
            "/api/cart/items",
            "/api/orders",
        ] {
            assert!(paths.contains_key(path), "{path}");
        }
        assert!(paths.keys().all(|p| !p.starts_with("/internal")));
        assert_eq!(doc["info"]["version"], "1.2.3");
        assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    }

    #[test]
    fn every_reference_resolves_and_nothing_unused_is_carried() {
        let doc = platform();
        let defined = doc["components"]["schemas"].as_object().unwrap();
        let used = reachable("platform", &doc["paths"], defined).unwrap();
        let names: BTreeSet<String> = defined.keys().cloned().collect();
        assert_eq!(used, names);
    }

    #[test]
    fn the_one_money_of_the_services_is_one_schema_of_the_platform() {
        let doc = platform();
        // product, order and payment all answer kit's Money: the platform carries it once.
        let order: Value = serde_json::from_str(SERVICE_DOCUMENTS[2].1).unwrap();
        let order_money = &order["components"]["schemas"]["Money"];
        assert!(order_money.is_object());
        assert_eq!(doc["components"]["schemas"]["Money"], *order_money);
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        assert!(
            schemas
                .keys()
                .all(|name| !name.ends_with("Money") || name == "Money"),
            "{:?}",
            schemas.keys().collect::<Vec<_>>()
        );
        let cart = schema_of(&doc, "#/components/schemas/CartView").to_string();
        assert!(cart.contains("\"#/components/schemas/Money\""), "{cart}");
    }

    #[test]
    fn alike_schemas_are_shared_and_different_ones_renamed() {
        let shape = |description: &str| json!({"type": "object", "description": description});
        let doc_with = |path: &str, money: &Value| {
            json!({
                "paths": {path: {"get": {"responses": {"200": {"content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Money"}}}}}}}},
                "components": {"schemas": {"Money": money, "Unused": {"type": "string"}}},
            })
            .to_string()
        };
        let first = doc_with("/api/a", &shape("cents"));
        let same = doc_with("/api/b", &shape("cents"));
        let other = doc_with("/api/c", &shape("pennies"));
        let doc = public_document(&[("a", &first), ("b", &same), ("c", &other)], "0").unwrap();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        assert_eq!(
            schemas.keys().collect::<Vec<_>>(),
            ["CMoney", "Money"],
            "shared, renamed, unused left out"
        );
        let target = |path: &str| {
            doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
                ["$ref"]
                .clone()
        };
        assert_eq!(target("/api/b"), "#/components/schemas/Money");
        assert_eq!(target("/api/c"), "#/components/schemas/CMoney");
        assert_eq!(schemas["CMoney"]["description"], "pennies");
    }

    #[test]
    fn a_path_documented_twice_or_a_dangling_reference_is_an_error() {
        let doc = json!({"paths": {"/api/x": {}}}).to_string();
        assert!(matches!(
            public_document(&[("a", &doc), ("b", &doc)], "0"),
            Err(DocumentError::DuplicatePath(..))
        ));
        let dangling =
            json!({"paths": {"/api/y": {"$ref": "#/components/schemas/Gone"}}}).to_string();
        assert!(matches!(
            public_document(&[("a", &dangling)], "0"),
            Err(DocumentError::MissingSchema(..))
        ));
        assert!(matches!(
            public_document(&[("a", "not json")], "0"),
            Err(DocumentError::Json(..))
        ));
    }
}
