//! The committed `openapi.json` must match the code. Regenerate with
//! `SHOPCTL_BLESS=1 cargo test -p shopctl-inventory --test api openapi`.

#[test]
fn committed_openapi_document_matches_the_code() {
    let doc = shopctl_kit::testing::check_openapi(
        &shopctl_inventory::openapi(),
        env!("CARGO_MANIFEST_DIR"),
        "shopctl-inventory",
    );
    for path in [
        "/api/inventory/{sku}",
        "/api/inventory/{sku}/adjust",
        "/api/inventory/low-stock",
        "/internal/reservations",
        "/internal/reservations/{order_id}/confirm",
        "/internal/reservations/{order_id}/release",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} documented");
    }
}
