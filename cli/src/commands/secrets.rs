//! `shopctl secrets apply --from-env-file .env`: the Secrets the rendered pods reference, made
//! in the cluster from an installation's env file (written by `shopctl bootstrap --postgres`).
//! Names and keys are printed; values never are.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde::Serialize;

use serde_json::json;
use shopctl_kit::audit::Outcome;

use super::GlobalArgs;
use crate::ExitStatus;
use crate::deploy::{secrets, values::Values};
use crate::logs::pods;
use crate::platform::evidence;

/// Manage the Secrets of a Kubernetes deployment.
#[derive(Debug, Subcommand)]
pub(crate) enum Secrets {
    /// Create or update the Secrets from an env file (server-side apply).
    Apply(Apply),
}

#[derive(Debug, Args)]
pub(crate) struct Apply {
    /// The env file with the secrets (`shopctl bootstrap --postgres URL` writes one).
    #[arg(long, value_name = "FILE", default_value = ".env")]
    from_env_file: PathBuf,
    /// The values file naming the Secrets (as for `render`).
    #[arg(long, value_name = "FILE")]
    values: Option<PathBuf>,
    /// The Kubernetes context (default: the current one).
    #[arg(long, value_name = "NAME")]
    context: Option<String>,
    /// The namespace (default: the values file's, else `shopctl`).
    #[arg(long, value_name = "NAME")]
    namespace: Option<String>,
    /// Where the operator's audit trail is (`audit/shopctl.jsonl`).
    #[arg(
        long,
        env = "SHOPCTL_DATA_DIR",
        value_name = "DIR",
        default_value = ".shopctl"
    )]
    data_dir: PathBuf,
}

#[derive(Debug, Serialize)]
struct Applied<'a> {
    namespace: &'a str,
    secrets: Vec<AppliedSecret<'a>>,
}

#[derive(Debug, Serialize)]
struct AppliedSecret<'a> {
    name: &'a str,
    keys: Vec<&'a str>,
}

impl Secrets {
    pub(crate) async fn run(self, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        let Self::Apply(args) = self;
        let values = match &args.values {
            Some(path) => Values::load(path)?,
            None => Values::default(),
        };
        let namespace = args.namespace.unwrap_or_else(|| values.namespace.clone());
        let text = std::fs::read_to_string(&args.from_env_file).map_err(|e| {
            anyhow::anyhow!(
                "cannot read {}: {e}; pass --from-env-file, or run `shopctl bootstrap --postgres URL` to write one",
                args.from_env_file.display()
            )
        })?;
        let planned = secrets::plan(&text, &values)
            .map_err(|e| anyhow::anyhow!("{}: {e}", args.from_env_file.display()))?;
        let client = pods::client(args.context.as_deref()).await?;
        let applied = secrets::apply(&client, &namespace, &planned).await;
        // Names and key names only: a value never reaches the audit trail.
        let mut details = json!({"via": "cli", "secrets": planned.iter()
            .map(|p| json!({"name": p.name, "keys": p.keys()})).collect::<Vec<_>>()});
        if let Err(e) = &applied {
            details["error"] = json!(format!("{e:#}"));
        }
        let outcome = if applied.is_ok() {
            Outcome::Success
        } else {
            Outcome::Failure
        };
        evidence::record_or_warn(
            &args.data_dir,
            "secrets_apply",
            &namespace,
            outcome,
            details,
            global.printer(),
        )
        .await;
        applied?;
        let report = Applied {
            namespace: &namespace,
            secrets: planned
                .iter()
                .map(|p| AppliedSecret {
                    name: &p.name,
                    keys: p.keys(),
                })
                .collect(),
        };
        let text = report
            .secrets
            .iter()
            .map(|s| {
                format!(
                    "applied Secret {}/{} ({})",
                    namespace,
                    s.name,
                    s.keys.join(", ")
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        global.printer().result(&text, &report)?;
        Ok(ExitStatus::Success)
    }
}
