//! The committed `openapi.json` must match the code. Regenerate with
//! `SHOPCTL_BLESS=1 cargo test -p shopctl-order --test api openapi`.

#[test]
fn committed_openapi_document_matches_the_code() {
    let doc = shopctl_kit::testing::check_openapi(
        &shopctl_order::openapi(),
        env!("CARGO_MANIFEST_DIR"),
        "shopctl-order",
    );
    for path in [
        "/api/cart",
        "/api/cart/items",
        "/api/cart/items/{sku}",
        "/api/cart/merge",
        "/api/orders",
        "/api/orders/{id}",
        "/api/orders/{id}/cancel",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} documented");
    }
}
