//! `shopctl completions <shell>`.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::{Cli, GlobalArgs};
use crate::ExitStatus;

/// Print a shell completion script.
#[derive(Debug, Args)]
pub(crate) struct Completions {
    /// Shell to generate for.
    #[arg(value_enum)]
    shell: Shell,
}

impl Completions {
    pub(crate) fn run(self, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        let mut script = Vec::new();
        clap_complete::generate(self.shell, &mut Cli::command(), "shopctl", &mut script);
        global.printer().raw(&script)?;
        Ok(ExitStatus::Success)
    }
}
