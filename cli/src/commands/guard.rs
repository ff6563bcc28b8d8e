//! `shopctl guard -- PROGRAM [ARGS…]` (hidden): what `up` starts a monitoring tool behind, so
//! that the tool too stops when `up` ends, however it ends (`platform::lifeline::guard`).

use std::{ffi::OsString, path::PathBuf};

use clap::Args;

use super::GlobalArgs;
use crate::ExitStatus;

/// Run a program until the supervisor's lifeline closes.
#[derive(Debug, Args)]
pub(crate) struct Guard {
    /// The program.
    program: PathBuf,
    /// Its arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<OsString>,
}

impl Guard {
    pub(crate) async fn run(self, _global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        let ended_well =
            crate::platform::lifeline::guard(self.program.as_os_str(), &self.args).await?;
        Ok(if ended_well {
            ExitStatus::Success
        } else {
            ExitStatus::Failure
        })
    }
}
