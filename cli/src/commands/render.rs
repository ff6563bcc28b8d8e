//! `shopctl render`: the whole platform as plain Kubernetes YAML (deterministic: the same
//! values give the same bytes), on stdout as one stream or into `--out DIR` one file per
//! piece, named in apply order.

use std::path::PathBuf;

use clap::Args;

use super::GlobalArgs;
use crate::ExitStatus;
use crate::deploy::render;
use crate::platform::target::Rendering;

/// Render the platform's Kubernetes manifests.
#[derive(Debug, Args)]
pub(crate) struct Render {
    #[command(flatten)]
    rendering: Rendering,
    /// Write one file per piece into this directory instead of one stream on stdout.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

impl Render {
    pub(crate) fn run(self, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        let (_, manifests) = self.rendering.render(None)?;
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
