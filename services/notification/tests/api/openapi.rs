//! The committed `openapi.json` must match the code. Regenerate with
//! `SHOPCTL_BLESS=1 cargo test -p shopctl-notification --test api openapi`.

#[test]
fn committed_openapi_document_matches_the_code() {
    let doc = shopctl_kit::testing::check_openapi(
        &shopctl_notification::openapi(),
        env!("CARGO_MANIFEST_DIR"),
        "shopctl-notification",
    );
    for path in [
        "/internal/events",
        "/api/notifications/outbox",
        "/api/notifications/deliveries",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} documented");
    }
}
