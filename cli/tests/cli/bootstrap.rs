//! `shopctl bootstrap`: idempotent set-up from `templates/`, `--check` that changes nothing,
//! and `serve` reading the secrets it wrote.

use std::time::Duration;

use serde_json::Value;
use sqlx::Connection as _;

use crate::helpers::{free_base, run_in, shopctl, stderr, stdout};

fn report(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", stdout(output), stderr(output)))
}

fn state<'a>(report: &'a Value, step: &str) -> &'a str {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"].as_str().unwrap().starts_with(step))
        .unwrap_or_else(|| panic!("no step {step}: {report}"))["state"]
        .as_str()
        .unwrap()
}

#[test]
fn bootstrap_sets_up_once_and_check_then_finds_everything() {
    let dir = tempfile::tempdir().unwrap();
    let check = run_in(dir.path(), &["bootstrap", "--check", "--output", "json"]);
    assert_eq!(check.status.code(), Some(1), "{}", stderr(&check));
    let found = report(&check);
    assert_eq!(state(&found, "config"), "missing");
    assert_eq!(state(&found, "secrets"), "missing");
    assert!(
        !dir.path().join("shopctl.toml").exists(),
        "--check wrote nothing"
    );
    assert!(
        !dir.path().join(".shopctl").exists(),
        "--check wrote nothing"
    );

    let first = run_in(dir.path(), &["bootstrap", "--output", "json"]);
    assert_eq!(first.status.code(), Some(0), "{}", stdout(&first));
    let done = report(&first);
    for step in [
        "config",
        "secrets",
        "database user",
        "database order",
        "signing key",
        "demo data",
    ] {
        assert_eq!(state(&done, step), "created", "{step}: {done}");
    }
    let config = std::fs::read_to_string(dir.path().join("shopctl.toml")).unwrap();
    let env = std::fs::read_to_string(dir.path().join(".env")).unwrap();
    assert!(
        !config
            .lines()
            .any(|l| l.starts_with("service_key") || l.starts_with("admin_token")),
        "no secret in the configuration: {config}"
    );
    assert!(env.contains("SHOPCTL_ORDER__SERVICE_KEY="), "{env}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path().join(".env"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // Again: everything is kept, nothing regenerated.
    let second = run_in(dir.path(), &["bootstrap", "--output", "json"]);
    assert_eq!(second.status.code(), Some(0));
    let again = report(&second);
    for step in [
        "config",
        "secrets",
        "database user",
        "signing key",
        "demo data",
    ] {
        assert_eq!(state(&again, step), "ok", "{step}: {again}");
    }
    assert_eq!(
        std::fs::read_to_string(dir.path().join(".env")).unwrap(),
        env
    );
    let check = run_in(dir.path(), &["bootstrap", "--check"]);
    assert_eq!(check.status.code(), Some(0), "{}", stdout(&check));
    assert!(stdout(&check).contains("everything is in place"));

    // A configuration broken by hand is named, not overwritten, and nothing else is written.
    std::fs::remove_file(dir.path().join(".env")).unwrap();
    std::fs::write(
        dir.path().join("shopctl.toml"),
        format!("{config}\nport = \n"),
    )
    .unwrap();
    let broken = run_in(dir.path(), &["bootstrap", "--output", "json"]);
    assert_eq!(broken.status.code(), Some(1));
    let found = report(&broken);
    assert_eq!(state(&found, "config"), "failed");
    assert!(found.to_string().contains("shopctl.toml"), "{found}");
    assert!(!dir.path().join(".env").exists(), "nothing half-created");
}

/// `serve` run where bootstrap ran reads `.env`: the admin token it generated opens
/// `/admin/info`, and the generated configuration's data directory holds the seeded catalog.
#[tokio::test]
async fn serve_reads_the_secrets_bootstrap_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_base();
    let done = run_in(
        dir.path(),
        &["bootstrap", "--base-port", &(port - 3).to_string()],
    );
    assert_eq!(done.status.code(), Some(0), "{}", stdout(&done));
    let env = std::fs::read_to_string(dir.path().join(".env")).unwrap();
    let token = env
        .lines()
        .find_map(|l| l.strip_prefix("SHOPCTL_PRODUCT__ADMIN_TOKEN="))
        .unwrap()
        .to_owned();
    let mut child = shopctl()
        .current_dir(dir.path())
        .args(["serve", "product"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}");
    let mut info = None;
    for _ in 0..100 {
        if let Ok(answer) = client
            .get(format!("{url}/admin/info"))
            .bearer_auth(&token)
            .send()
            .await
        {
            info = Some(answer);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let info = info.expect("the product service answered");
    assert_eq!(info.status(), 200);
    let body: Value = info.json().await.unwrap();
    assert_eq!(body["settings"]["admin_token"], "[redacted]");
    let products: Value = reqwest::get(format!("{url}/api/products?limit=1"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(products["items"].as_array().unwrap().len(), 1);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn bootstrap_names_missing_prerequisites_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let output = shopctl()
        .current_dir(dir.path())
        .env("PATH", "/nonexistent")
        .env("KUBECONFIG", dir.path().join("no-kubeconfig"))
        .env_remove("KUBERNETES_SERVICE_HOST")
        .args(["bootstrap", "--kubernetes", "--output", "json"])
        .args(["--postgres", "postgres://postgres@127.0.0.1:1/shop"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let found = report(&output);
    assert_eq!(state(&found, "kubectl"), "failed");
    assert!(found.to_string().contains("install"), "{found}");
    // No cluster to check: said in one step, with the fix.
    assert_eq!(state(&found, "cluster"), "failed");
    assert!(found.to_string().contains("set KUBECONFIG"), "{found}");
    assert_eq!(state(&found, "database server"), "failed");
    assert!(found.to_string().contains("--postgres"), "{found}");
    assert!(!dir.path().join("shopctl.toml").exists());
    assert!(!dir.path().join(".env").exists());
}

#[tokio::test]
async fn bootstrap_on_postgres_creates_and_migrates_a_database_per_service() {
    let server = shopctl_kit::testing::postgres_admin_url();
    let base = server.rsplit_once('/').unwrap().0.to_owned();
    let prefix = format!("bs_{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("{base}/{prefix}");
    let output = run_in(
        dir.path(),
        &["bootstrap", "--postgres", &url, "--output", "json"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let check = run_in(dir.path(), &["bootstrap", "--check"]);
    assert_eq!(check.status.code(), Some(0), "{}", stdout(&check));
    let mut catalog = sqlx::PgConnection::connect(&format!("{base}/{prefix}_product"))
        .await
        .unwrap();
    let (products,): (i64,) = sqlx::query_as("SELECT count(*) FROM products")
        .fetch_one(&mut catalog)
        .await
        .unwrap();
    assert_eq!(products, 100);
    catalog.close().await.unwrap();
    let mut admin = sqlx::PgConnection::connect(&server).await.unwrap();
    for service in [
        "user",
        "product",
        "inventory",
        "payment",
        "notification",
        "order",
    ] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            r#"DROP DATABASE "{prefix}_{service}" WITH (FORCE)"#
        )))
        .execute(&mut admin)
        .await
        .unwrap();
    }
}
