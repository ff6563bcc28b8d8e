//! `shopctl user create|rotate-keys` and `migrate` across services.

use std::{io::Write, process::Stdio};

use crate::helpers::{assert_one_line_error, run_in, shopctl, stderr};

fn create(dir: &std::path::Path, email: &str, stdin: &str) -> std::process::Output {
    let mut child = shopctl()
        .current_dir(dir)
        .args([
            "user", "create", "--email", email, "--role", "admin", "--output", "json",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn the_first_admin_is_created_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let output = create(dir.path(), "Root@Example.com", "violet-harbour-kettle-9\n");
    assert!(output.status.success(), "{}", stderr(&output));
    let created: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(created["email"], "root@example.com");
    assert_eq!(created["role"], "admin");
    assert!(
        created.get("generated_password").is_none(),
        "a typed password is never echoed"
    );

    let again = create(dir.path(), "root@example.com", "violet-harbour-kettle-9\n");
    assert_one_line_error(&again, &["already exists"]);
    let weak = create(dir.path(), "two@example.com", "password\n");
    assert_one_line_error(&weak, &["password"]);
}

#[test]
fn an_empty_stdin_generates_a_password_shown_once() {
    let dir = tempfile::tempdir().unwrap();
    let output = create(dir.path(), "ops@example.com", "");
    assert!(output.status.success(), "{}", stderr(&output));
    let created: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(created["generated_password"].as_str().unwrap().len() >= 20);
}

#[test]
fn quiet_still_prints_a_generated_password_and_the_cli_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = shopctl()
        .current_dir(dir.path())
        .args([
            "-q",
            "user",
            "create",
            "--email",
            "quiet@example.com",
            "--role",
            "admin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdin.take());
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let printed = String::from_utf8(output.stdout).unwrap();
    assert_eq!(printed.trim().len(), 24, "only the password: {printed:?}");
    let audit = std::fs::read_to_string(dir.path().join(".shopctl/audit/user.jsonl")).unwrap();
    assert!(audit.contains("\"action\":\"user_create\""), "{audit}");
    assert!(
        !audit.contains(printed.trim()),
        "the password is not audited"
    );
}

#[test]
fn rotate_keys_names_the_new_key() {
    let dir = tempfile::tempdir().unwrap();
    let first = run_in(dir.path(), &["user", "rotate-keys", "--output", "json"]);
    let second = run_in(dir.path(), &["user", "rotate-keys", "--output", "json"]);
    let kid = |o: &std::process::Output| {
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()["kid"].clone()
    };
    assert!(first.status.success() && second.status.success());
    assert_ne!(kid(&first), kid(&second));
}

#[test]
fn migrate_all_covers_every_service_and_refuses_one_url_for_all() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_in(dir.path(), &["migrate", "all", "--output", "json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let services: Vec<&str> = report
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["service"].as_str().unwrap())
        .collect();
    assert_eq!(
        services,
        [
            "product",
            "user",
            "inventory",
            "payment",
            "order",
            "notification"
        ]
    );
    let shared = run_in(
        dir.path(),
        &["migrate", "all", "--database-url", "sqlite://x.db"],
    );
    assert_one_line_error(&shared, &["--database-url", "each service"]);
}
