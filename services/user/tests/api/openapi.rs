//! The committed `openapi.json` must match the code. Regenerate with
//! `SHOPCTL_BLESS=1 cargo test -p shopctl-user --test api openapi`.

#[test]
fn committed_openapi_document_matches_the_code() {
    let generated = serde_json::to_string_pretty(&shopctl_user::openapi()).unwrap() + "\n";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    if std::env::var_os("SHOPCTL_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "services/user/openapi.json is out of date: run `SHOPCTL_BLESS=1 cargo test -p shopctl-user --test api openapi` and commit it"
    );
}
