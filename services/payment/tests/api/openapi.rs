//! The committed `openapi.json` must match the code. Regenerate with
//! `SHOPCTL_BLESS=1 cargo test -p shopctl-payment --test api openapi`.

#[test]
fn committed_openapi_document_matches_the_code() {
    let generated = serde_json::to_string_pretty(&shopctl_payment::openapi()).unwrap() + "\n";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    if std::env::var_os("SHOPCTL_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "services/payment/openapi.json is out of date: run `SHOPCTL_BLESS=1 cargo test -p shopctl-payment --test api openapi` and commit it"
    );
    let doc: serde_json::Value = serde_json::from_str(&generated).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/payments/{id}",
        "/api/payments/{id}/refund",
        "/internal/payments",
        "/internal/payments/{id}/capture",
        "/internal/payments/{id}/void",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} documented");
    }
    let card = &doc["paths"]["/internal/payments"]["post"];
    assert!(
        card["parameters"].to_string().contains("Idempotency-Key"),
        "{card}"
    );
}
