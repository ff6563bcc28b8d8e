//! `shopctl render`: the whole platform as plain Kubernetes YAML (deterministic: the same
//! values give the same bytes), on stdout as one stream or into `--out DIR` one file per
//! piece, named in apply order.

use std::path::PathBuf;

use clap::Args;

use super::GlobalArgs;
use crate::ExitStatus;
use crate::deploy::{render, values::Values};

/// Render the platform's Kubernetes manifests.
#[derive(Debug, Args)]
pub(crate) struct Render {
    /// The values of this installation (TOML: image, replicas, resources, ingress, secret
    /// names); without it, the defaults.
    #[arg(long, value_name = "FILE")]
    values: Option<PathBuf>,
    /// The services' environment (overrides the values file's).
    #[arg(long, value_parser = ["production", "dev"])]
    environment: Option<String>,
    /// Write one file per piece into this directory instead of one stream on stdout.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Add a PostgreSQL StatefulSet (development clusters; production names its databases in
    /// the databases Secret).
    #[arg(long)]
    with_postgres: bool,
    /// Add the Prometheus Operator's ServiceMonitor and PrometheusRule (the shop's recording
    /// and alert rules) and the Grafana dashboard as a ConfigMap.
    #[arg(long)]
    with_monitoring: bool,
}

impl Render {
    pub(crate) fn run(self, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        let mut values = match &self.values {
            Some(path) => Values::load(path)?,
            None => Values::default(),
        };
        if let Some(environment) = self.environment {
            values.environment = environment;
        }
        let manifests = render::platform_with(
            &values,
            render::Pieces {
                postgres: self.with_postgres,
                monitoring: self.with_monitoring,
            },
        )?;
        let Some(dir) = &self.out else {
            if global.output == crate::printer::OutputFormat::Json {
                global.printer().result("", &manifests)?;
            } else {
                use std::io::Write as _;
                std::io::stdout().write_all(render::stream(&manifests).as_bytes())?;
            }
            return Ok(ExitStatus::Success);
        };
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
        for manifest in &manifests {
            let path = dir.join(&manifest.file);
            std::fs::write(&path, &manifest.text)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        }
        let objects: usize = manifests.iter().map(|m| m.objects.len()).sum();
        global.printer().result(
            &format!(
                "wrote {objects} objects in {} files to {}",
                manifests.len(),
                dir.display()
            ),
            &manifests,
        )?;
        Ok(ExitStatus::Success)
    }
}
