//! Bad usage and bad configuration: exit 2 with one line that says what to fix.

use crate::helpers::{assert_one_line_error, run_in, shopctl, stdout};

#[test]
fn version_prints_json_for_scripts() {
    let output = shopctl()
        .args(["version", "--output", "json"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let info: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    assert!(
        info["services"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "product")
    );
}

#[test]
fn unknown_commands_and_services_are_usage_errors() {
    for args in [
        &["frobnicate"][..],
        &["serve", "warehouse"],
        &["seed", "products", "--count", "0"],
    ] {
        let output = shopctl().args(args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn completions_are_generated() {
    let output = shopctl().args(["completions", "bash"]).output().unwrap();
    assert!(output.status.success());
    assert!(stdout(&output).contains("shopctl"));
}

#[test]
fn a_corrupt_config_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("shopctl.toml"), "[product\nport = 1").unwrap();
    let output = run_in(dir.path(), &["migrate", "product"]);
    assert_one_line_error(&output, &["shopctl.toml"]);
    assert!(
        !dir.path().join(".shopctl").exists(),
        "nothing half-created"
    );
}

#[test]
fn an_unknown_setting_is_named_with_its_known_neighbours() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("shopctl.toml"), "[product]\nprot = 9000\n").unwrap();
    let output = run_in(dir.path(), &["serve", "product"]);
    assert_one_line_error(&output, &["product.prot", "port"]);
}

#[test]
fn a_wrongly_typed_environment_variable_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let output = shopctl()
        .current_dir(dir.path())
        .env("SHOPCTL_PRODUCT__PORT", "eighty")
        .args(["migrate", "product"])
        .output()
        .unwrap();
    assert_one_line_error(&output, &["port"]);
}

#[test]
fn a_missing_config_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_in(dir.path(), &["--config", "nope.toml", "migrate", "product"]);
    assert_one_line_error(&output, &["nope.toml"]);
}

#[test]
fn an_unusable_data_directory_is_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("blocker"), "").unwrap();
    let output = run_in(
        dir.path(),
        &["migrate", "product", "--data-dir", "blocker/data"],
    );
    assert_one_line_error(&output, &["blocker", "--data-dir"]);
}

#[test]
fn an_unreachable_postgres_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_in(
        dir.path(),
        &[
            "migrate",
            "product",
            "--database-url",
            "postgres://postgres@127.0.0.1:1/none",
        ],
    );
    assert_one_line_error(&output, &["postgres", "127.0.0.1:1"]);
}

#[test]
fn migrate_reports_applied_migrations_as_json_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let output = run_in(dir.path(), &["migrate", "all", "--output", "json"]);
        assert!(
            output.status.success(),
            "{}",
            crate::helpers::stderr(&output)
        );
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(report[0]["service"], "product");
        assert_eq!(report[0]["backend"], "sqlite");
        assert_eq!(report[0]["applied"].as_array().unwrap().len(), 1);
        assert_eq!(report[1]["service"], "user");
    }
}
