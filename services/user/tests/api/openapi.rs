//! The committed `openapi.json` must match the code. Regenerate with
//! `SHOPCTL_BLESS=1 cargo test -p shopctl-user --test api openapi`.

#[test]
fn committed_openapi_document_matches_the_code() {
    shopctl_kit::testing::check_openapi(
        &shopctl_user::openapi(),
        env!("CARGO_MANIFEST_DIR"),
        "shopctl-user",
    );
}
