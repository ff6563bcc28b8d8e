//! The committed `openapi.json` must match the code. Regenerate with
//! `SHOPCTL_BLESS=1 cargo test -p shopctl-product --test api openapi`.

#[test]
fn committed_openapi_document_matches_the_code() {
    let doc = shopctl_kit::testing::check_openapi(
        &shopctl_product::openapi(),
        env!("CARGO_MANIFEST_DIR"),
        "shopctl-product",
    );
    for path in [
        "/api/products",
        "/api/products/{id}",
        "/api/products/sku/{sku}",
        "/api/categories",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} documented");
    }
}
