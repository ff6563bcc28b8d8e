//! `shopctl`: run and operate the shopctl e-commerce platform.
//!
//! The clap tree lives in [`commands`], one file per command; each command resolves its
//! settings, does its work and returns an [`ExitStatus`] (0 ok, 1 ran and found problems,
//! 2 error or bad usage). Errors print as one `error: …` line that says how to fix them.

pub mod backup;
pub mod commands;
pub mod deploy;
pub mod loadgen;
pub mod logs;
pub mod platform;
pub mod printer;

use std::process::ExitCode;

use clap::Parser;

pub use commands::Cli;

/// How a command ended, mapped to the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Everything worked (exit 0).
    Success,
    /// The command ran and found problems: failed checks, unhealthy services (exit 1).
    Failure,
    /// The command could not do its job: bad usage, bad configuration, unreachable dependency
    /// (exit 2).
    Error,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        match status {
            ExitStatus::Success => Self::SUCCESS,
            ExitStatus::Failure => Self::from(1),
            ExitStatus::Error => Self::from(2),
        }
    }
}

/// Parses the command line, runs the command and returns the exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap prints help/version to stdout (exit 0) and usage errors to stderr (exit 2).
            let _ = err.print();
            return if err.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(cli.run()) {
        Ok(status) => status.into(),
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
