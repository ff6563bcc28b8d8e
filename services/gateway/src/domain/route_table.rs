//! Which service owns a path (DESIGN §11). Services serve their own `/api/<resource>` paths,
//! so the gateway forwards paths unchanged; anything else is the storefront.

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

/// The upstream service for `path`.
pub fn upstream_for(path: &str) -> &'static str {
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
    }
}
