//! Rules of the house that the code itself is held to: services never link each other (each is
//! its own deployable with its own database; what they share lives in `shopctl-kit`), every
//! service has the same inner shape, and no file of code outside tests is over 600 lines.

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

/// What every service's `src/` holds, and nothing else: the one inner shape ARCHITECTURE.md
/// shows. A service's own modules live under `domain/`, `routes/` and `store/`.
const SERVICE_SRC: [&str; 9] = [
    "domain",
    "domain.rs",
    "error.rs",
    "lib.rs",
    "routes",
    "routes.rs",
    "settings.rs",
    "store",
    "store.rs",
];

/// Sorted names in `dir`.
fn listing(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Every service directory has the same listing: `src/` as [`SERVICE_SRC`], `tests/api/` with
/// `main.rs` and `helpers.rs`; a service with a database also has its migrations per backend,
/// `store/sqlite.rs` and `store/postgres.rs`, and a store contract suite.
#[test]
fn every_service_has_the_same_inner_shape() {
    let expected: Vec<&str> = SERVICE_SRC.to_vec();
    let mut wrong = Vec::new();
    for crate_name in SERVICES {
        let name = crate_name.trim_start_matches("shopctl-");
        let dir = workspace_root().join("services").join(name);
        let src = listing(&dir.join("src"));
        if src != expected {
            wrong.push(format!("services/{name}/src holds {src:?}"));
        }
        let mut required = vec!["tests/api/main.rs", "tests/api/helpers.rs"];
        if dir.join("migrations").exists() {
            required.extend([
                "migrations/sqlite",
                "migrations/postgres",
                "src/store/sqlite.rs",
                "src/store/postgres.rs",
                "tests/api/store_contract.rs",
                "openapi.json",
            ]);
        }
        for path in required {
            if !dir.join(path).exists() {
                wrong.push(format!("services/{name}/{path} is missing"));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// The code outside tests: every `.rs` file under `cli/src` and `services/*/src`, up to its
/// `#[cfg(test)]` module.
fn source_files(dir: &std::path::Path, found: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            source_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

/// No file of non-test code is over 600 lines: a file that grows past that holds more than one
/// responsibility and is split by them.
#[test]
fn no_source_file_is_over_600_lines() {
    let root = workspace_root();
    let mut files = Vec::new();
    source_files(&root.join("cli/src"), &mut files);
    for service in listing(&root.join("services")) {
        source_files(&root.join("services").join(service).join("src"), &mut files);
    }
    assert!(files.len() > 100, "found the sources: {}", files.len());
    let long: Vec<String> = files
        .iter()
        .filter_map(|path| {
            let text = std::fs::read_to_string(path).unwrap();
            let lines = text
                .lines()
                .take_while(|line| !line.starts_with("#[cfg(test)]"))
                .count();
            (lines > 600).then(|| format!("{}: {lines}", path.display()))
        })
        .collect();
    assert!(
        long.is_empty(),
        "over 600 lines of non-test code: {long:#?}"
    );
}
