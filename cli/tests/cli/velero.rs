//! `backup create --engine velero` and `restore --engine velero`. No Velero server can run on
//! these machines, so `velero` is a stand-in executable put first on `PATH`: it records its
//! arguments and answers `get -o json` with Velero objects recorded in
//! `fixtures/velero/` (Completed, PartiallyFailed, Failed), exiting 0 after `create --wait`
//! whatever the outcome, as Velero does. What is tested is that shopctl passes Velero the right
//! arguments and judges the phase, never Velero's exit status.

use std::path::{Path, PathBuf};

use crate::helpers::{assert_one_line_error, free_base, shopctl, stderr, stdout};

/// A directory holding the stand-in `velero`, answering with the `scenario` fixtures.
struct StandIn {
    dir: tempfile::TempDir,
}

impl StandIn {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("velero");
        std::fs::write(
            &script,
            r#"#!/usr/bin/env bash
echo "$*" >> "$VELERO_LOG"
case "$1 $2" in
  "backup create"|"restore create") echo "Waiting for completion..."; exit 0 ;;
  "backup get") cat "$VELERO_FIXTURES/backup-$VELERO_SCENARIO.json" ;;
  "restore get") cat "$VELERO_FIXTURES/restore-$VELERO_SCENARIO.json" ;;
  *) echo "unexpected: $*" >&2; exit 3 ;;
esac
"#,
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        Self { dir }
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("calls.log")
    }

    fn run(&self, scenario: &str, args: &[&str]) -> std::process::Output {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli/fixtures/velero");
        let path = format!(
            "{}:{}",
            self.dir.path().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        shopctl()
            .args(args)
            .env("PATH", path)
            .env("VELERO_LOG", self.log())
            .env("VELERO_FIXTURES", fixtures)
            .env("VELERO_SCENARIO", scenario)
            .output()
            .unwrap()
    }

    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.log())
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

fn backup(velero: &StandIn, scenario: &str) -> std::process::Output {
    let base = free_base().to_string();
    let data = velero.dir.path().join("data");
    velero.run(
        scenario,
        &[
            "backup",
            "create",
            "--engine",
            "velero",
            "--name",
            "nightly",
            "--namespace",
            "shop",
            "--base-port",
            &base,
            "--data-dir",
            data.to_str().unwrap(),
            "--output",
            "json",
        ],
    )
}

#[test]
fn a_completed_velero_backup_is_success_and_velero_is_asked_the_right_way() {
    let velero = StandIn::new();
    let output = backup(&velero, "completed");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["outcome"]["phase"], "Completed");
    assert_eq!(
        velero.calls(),
        [
            "backup create nightly --include-namespaces shop --ttl 720h0m0s --wait",
            "backup get nightly -o json"
        ]
    );
    assert!(
        stderr(&output).contains("not paused"),
        "no services answered here: {}",
        stderr(&output)
    );
}

/// Velero exits 0 after `--wait` whatever the backup's fate; shopctl does not.
#[test]
fn a_partially_failed_or_failed_velero_backup_exits_1_saying_why() {
    let velero = StandIn::new();
    let partial = backup(&velero, "partially-failed");
    assert_eq!(partial.status.code(), Some(1), "{}", stderr(&partial));
    let report: serde_json::Value = serde_json::from_str(&stdout(&partial)).unwrap();
    assert_eq!(report["outcome"]["phase"], "PartiallyFailed");
    assert_eq!(report["outcome"]["errors"], 2);

    let text = velero.run(
        "failed",
        &[
            "backup",
            "create",
            "--engine",
            "velero",
            "--name",
            "nightly",
            "--base-port",
            &free_base().to_string(),
        ],
    );
    assert_eq!(text.status.code(), Some(1));
    let said = stdout(&text);
    assert!(said.contains("Failed"), "{said}");
    assert!(said.contains("AccessDenied"), "the failure reason: {said}");
    assert!(said.contains("velero backup logs nightly"), "{said}");
}

#[test]
fn velero_restores_are_judged_by_phase_and_the_shop_asked_to_serve() {
    let velero = StandIn::new();
    let done = velero.run("completed", &["restore", "nightly", "--engine", "velero"]);
    assert_eq!(done.status.code(), Some(0), "{}", stderr(&done));
    let calls = velero.calls();
    assert!(
        calls[0].starts_with("restore create nightly-")
            && calls[0].ends_with("--from-backup nightly --wait"),
        "{calls:?}"
    );
    assert!(calls[1].starts_with("restore get nightly-") && calls[1].ends_with("-o json"));
    assert!(stderr(&done).contains("--gateway"), "{}", stderr(&done));

    let unserved = velero.run(
        "completed",
        &[
            "restore",
            "nightly",
            "--engine",
            "velero",
            "--gateway",
            "http://127.0.0.1:1",
        ],
    );
    assert_eq!(unserved.status.code(), Some(1));
    assert!(
        stdout(&unserved).contains("does NOT serve"),
        "{}",
        stdout(&unserved)
    );

    let partial = velero.run(
        "partially-failed",
        &["restore", "nightly", "--engine", "velero"],
    );
    assert_eq!(partial.status.code(), Some(1));
    assert!(
        stdout(&partial).contains("PartiallyFailed (7 error(s)"),
        "{}",
        stdout(&partial)
    );
}

#[test]
fn without_velero_installed_the_error_says_so_in_one_line() {
    let empty = tempfile::tempdir().unwrap();
    let output = shopctl()
        .args(["backup", "create", "--engine", "velero", "--base-port"])
        .arg(free_base().to_string())
        .env("PATH", empty.path())
        .output()
        .unwrap();
    assert_one_line_error(&output, &["velero is not installed", "PATH"]);
}
