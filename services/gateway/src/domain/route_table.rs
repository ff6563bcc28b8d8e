//! Which service owns a path (DESIGN §11). Services serve their own `/api/<resource>` paths,
//! so the gateway forwards paths unchanged; anything else is the storefront. [`Target`] is an
//! upstream's base URL, parsed once, and the URI a request goes to there.

use http::{
    Uri,
    uri::{Authority, PathAndQuery, Scheme},
};

/// Path prefixes and the service that owns them, most specific first.
const ROUTES: &[(&str, &str)] = &[
    ("/api/products", "product"),
    ("/api/categories", "product"),
    ("/api/users", "user"),
    ("/.well-known/jwks.json", "user"),
    ("/api/cart", "order"),
    ("/api/orders", "order"),
    ("/api/inventory", "inventory"),
    ("/api/payments", "payment"),
    ("/api/notifications", "notification"),
];

/// The "upstream" of paths the gateway answers itself.
pub const GATEWAY: &str = "gateway";

/// Where the gateway serves the platform's public API document.
pub const OPENAPI_PATH: &str = "/openapi.json";

/// The upstream service for `path` ([`GATEWAY`] for the gateway's own document).
pub fn upstream_for(path: &str) -> &'static str {
    if path == OPENAPI_PATH {
        return GATEWAY;
    }
    ROUTES
        .iter()
        .find(|(prefix, _)| {
            path == *prefix
                || path
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
        .map_or("frontend", |(_, service)| service)
}

/// An upstream's base URL (`http://host:port`, optionally with a path), parsed once when the
/// gateway starts.
pub struct Target {
    authority: Authority,
    /// The base's path without its trailing `/` (usually empty).
    prefix: String,
}

impl Target {
    /// The target for `base`; `None` when it is not an absolute `http://` URL (upstreams are
    /// reached over plain HTTP/1.1 inside the platform's network).
    pub fn parse(base: &str) -> Option<Self> {
        let uri: Uri = base.parse().ok()?;
        let parts = uri.into_parts();
        if parts.scheme? != Scheme::HTTP {
            return None;
        }
        Some(Self {
            authority: parts.authority?,
            prefix: parts
                .path_and_query
                .map(|pq| pq.path().trim_end_matches('/').to_owned())
                .unwrap_or_default(),
        })
    }

    /// The upstream's host and port.
    pub fn authority(&self) -> &Authority {
        &self.authority
    }

    /// The origin-form URI (path and query) a request for `original` is sent with: no string
    /// is formatted or parsed again unless the base has a path of its own.
    pub fn uri(&self, original: &Uri) -> Option<Uri> {
        let path_and_query = match original.path_and_query() {
            Some(pq) if self.prefix.is_empty() => pq.clone(),
            other => {
                let pq = other.map_or("/", PathAndQuery::as_str);
                PathAndQuery::try_from(format!("{}{pq}", self.prefix)).ok()?
            }
        };
        Some(Uri::from(path_and_query))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_go_to_their_owner() {
        assert_eq!(upstream_for("/api/products"), "product");
        assert_eq!(upstream_for("/api/products/sku/X"), "product");
        assert_eq!(upstream_for("/api/productsX"), "frontend");
        assert_eq!(upstream_for("/api/users/me"), "user");
        assert_eq!(upstream_for("/.well-known/jwks.json"), "user");
        assert_eq!(upstream_for("/api/orders/1/cancel"), "order");
        assert_eq!(upstream_for("/"), "frontend");
        assert_eq!(upstream_for("/p/SHO-1"), "frontend");
        assert_eq!(upstream_for("/openapi.json"), GATEWAY);
        assert_eq!(upstream_for("/openapi.json/x"), "frontend");
    }

    fn upstream_uri(base: &str, original: &str) -> String {
        let target = Target::parse(base).unwrap_or_else(|| panic!("{base} parses"));
        let original: Uri = original.parse().unwrap_or_else(|e| panic!("{e}"));
        target
            .uri(&original)
            .unwrap_or_else(|| panic!("a URI for {original}"))
            .to_string()
    }

    #[test]
    fn the_path_and_query_go_to_the_upstream_unchanged() {
        let target = Target::parse("http://product:8082").unwrap_or_else(|| panic!("parses"));
        assert_eq!(target.authority().as_str(), "product:8082");
        assert_eq!(
            upstream_uri("http://127.0.0.1:8082", "/api/products?q=lamp&limit=2"),
            "/api/products?q=lamp&limit=2"
        );
        assert_eq!(
            upstream_uri("http://product:8082/", "/api/products/sku/A-1"),
            "/api/products/sku/A-1"
        );
    }

    #[test]
    fn a_base_path_is_kept_in_front_of_the_request_path() {
        assert_eq!(
            upstream_uri("http://10.0.0.5:9000/shop/", "/api/cart?x=1"),
            "/shop/api/cart?x=1"
        );
    }

    #[test]
    fn a_base_without_scheme_or_host_or_over_another_scheme_is_refused() {
        assert!(Target::parse("127.0.0.1:8082").is_none());
        assert!(Target::parse("https://product:8082").is_none());
        assert!(Target::parse("/api").is_none());
        assert!(Target::parse("not a url").is_none());
    }
}
