//! The route label the gateway's metrics give a request: the public API's route template it
//! matches (`/api/products/{id}`, from the services' committed documents), `page` for whatever
//! the storefront answers, or `unmatched`. Bounded by the documents, so a scan of random paths
//! cannot blow up the number of series.

use std::sync::OnceLock;

use serde_json::Value;

use super::{
    SERVICE_DOCUMENTS, is_public,
    route_table::{OPENAPI_PATH, upstream_for},
};

/// The label of everything the storefront serves.
pub(crate) const PAGE: &str = "page";
/// The label of an API path no template matches.
pub(crate) const UNMATCHED: &str = "unmatched";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param,
}

/// Route templates, most literal first.
#[derive(Debug, Default)]
pub struct RouteLabels {
    templates: Vec<(Vec<Segment>, &'static str)>,
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

impl RouteLabels {
    /// The templates of the public paths of `documents` (service, OpenAPI JSON).
    pub fn from_documents(documents: &[(&str, &str)]) -> Self {
        let mut templates = Vec::new();
        for (_, text) in documents {
            let Ok(doc) = serde_json::from_str::<Value>(text) else {
                continue;
            };
            for path in doc["paths"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(p, _)| p)
            {
                if !is_public(path) {
                    continue;
                }
                let parts: Vec<Segment> = segments(path)
                    .map(|s| {
                        if s.starts_with('{') && s.ends_with('}') {
                            Segment::Param
                        } else {
                            Segment::Literal(s.to_owned())
                        }
                    })
                    .collect();
                // Made once per process (see `shared`): the label outlives every request.
                let label: &'static str = Box::leak(path.clone().into_boxed_str());
                templates.push((parts, label));
            }
        }
        templates.sort_by_key(|(parts, label)| {
            let literals = parts
                .iter()
                .filter(|s| matches!(s, Segment::Literal(_)))
                .count();
            (std::cmp::Reverse(literals), *label)
        });
        templates.dedup_by(|a, b| a.1 == b.1);
        Self { templates }
    }

    /// The labels of the platform's own documents, made once.
    pub fn shared() -> &'static Self {
        static LABELS: OnceLock<RouteLabels> = OnceLock::new();
        LABELS.get_or_init(|| Self::from_documents(&SERVICE_DOCUMENTS))
    }

    /// The label of a request for `path`.
    pub fn label(&self, path: &str) -> &'static str {
        if path == OPENAPI_PATH {
            return OPENAPI_PATH;
        }
        if upstream_for(path) == "frontend" {
            return PAGE;
        }
        'templates: for (parts, label) in &self.templates {
            let mut given = segments(path);
            for part in parts {
                match (part, given.next()) {
                    (Segment::Literal(literal), Some(seg)) if literal == seg => {}
                    (Segment::Param, Some(_)) => {}
                    _ => continue 'templates,
                }
            }
            if given.next().is_none() {
                return label;
            }
        }
        UNMATCHED
    }

    /// How many templates there are.
    pub fn len(&self) -> usize {
        self.templates.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.templates.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_labelled_by_their_template() {
        let labels = RouteLabels::shared();
        assert!(labels.len() > 20, "{}", labels.len());
        assert_eq!(labels.label("/api/products"), "/api/products");
        assert_eq!(labels.label("/api/products/SHO-1"), "/api/products/{id}");
        assert_eq!(labels.label("/api/orders"), "/api/orders");
        assert_eq!(
            labels.label("/api/orders/0193/cancel"),
            "/api/orders/{id}/cancel"
        );
        assert_eq!(labels.label("/api/users/me"), "/api/users/me");
        assert_eq!(
            labels.label("/api/cart/items/SKU-9"),
            "/api/cart/items/{sku}"
        );
        assert_eq!(
            labels.label("/.well-known/jwks.json"),
            "/.well-known/jwks.json"
        );
        assert_eq!(labels.label("/"), PAGE);
        assert_eq!(labels.label("/p/SHO-1"), PAGE);
        assert_eq!(labels.label("/openapi.json"), "/openapi.json");
        assert_eq!(labels.label("/api/products/a/b/c/d"), UNMATCHED);
        assert_eq!(labels.label("/api/users/../../etc"), UNMATCHED);
    }

    #[test]
    fn literal_segments_win_over_parameters() {
        let doc = r#"{"paths": {"/api/products/{id}": {}, "/api/products/search": {}, "/internal/x": {}}}"#;
        let labels = RouteLabels::from_documents(&[("product", doc)]);
        assert_eq!(labels.len(), 2, "internal paths are not public");
        assert_eq!(labels.label("/api/products/search"), "/api/products/search");
        assert_eq!(labels.label("/api/products/42"), "/api/products/{id}");
    }
}
