//! Rules of the house that the code itself is held to: services never link each other (each is
//! its own deployable with its own database; what they share lives in `shopctl-kit`).

use serde_json::Value;
use shopctl_tests::workspace_root;

/// The service crates: they may depend on `shopctl-kit`, never on one another.
const SERVICES: [&str; 8] = [
    "shopctl-gateway",
    "shopctl-frontend",
    "shopctl-user",
    "shopctl-product",
    "shopctl-order",
    "shopctl-inventory",
    "shopctl-payment",
    "shopctl-notification",
];

/// Every dependency (normal, dev and build) of every service crate, as `cargo metadata` reads
/// the manifests: none names another service crate.
#[test]
fn no_service_crate_depends_on_another() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(workspace_root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut seen = 0;
    let mut edges = Vec::new();
    for package in metadata["packages"].as_array().unwrap() {
        let name = package["name"].as_str().unwrap();
        if !SERVICES.contains(&name) {
            continue;
        }
        seen += 1;
        for dependency in package["dependencies"].as_array().unwrap() {
            let on = dependency["name"].as_str().unwrap();
            if SERVICES.contains(&on) {
                edges.push(format!("{name} -> {on}"));
            }
        }
    }
    assert_eq!(
        seen,
        SERVICES.len(),
        "every service crate is in the workspace"
    );
    assert!(
        edges.is_empty(),
        "service crates linking each other: {edges:?}"
    );
}
