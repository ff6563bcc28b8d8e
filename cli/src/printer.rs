//! All command output goes through a [`Printer`], which honours `--output` and `-q`.

use std::io::Write;

use clap::ValueEnum;
use serde::Serialize;

/// Output format of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum OutputFormat {
    /// Human-readable text.
    #[default]
    Text,
    /// One JSON document on stdout (stable, for scripts and CI).
    Json,
}

/// Writes a command's results.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    /// Output format.
    pub format: OutputFormat,
    /// Suppress text output.
    pub quiet: bool,
}

impl Printer {
    /// Prints `text` in text mode or `json` in JSON mode.
    pub fn result<T: Serialize>(&self, text: &str, json: &T) -> std::io::Result<()> {
        let mut stdout = std::io::stdout().lock();
        match self.format {
            OutputFormat::Json => {
                serde_json::to_writer_pretty(&mut stdout, json)?;
                writeln!(stdout)
            }
            OutputFormat::Text if self.quiet => Ok(()),
            OutputFormat::Text => writeln!(stdout, "{text}"),
        }
    }

    /// Prints `message` on stderr: what happens while a command runs (a service restarted), in
    /// every format, so JSON on stdout stays clean; not when quiet.
    pub fn note(&self, message: &str) {
        if !self.quiet {
            eprintln!("{message}");
        }
    }

    /// Prints `warning: {message}` on stderr (in every format, so JSON on stdout stays clean;
    /// not when quiet).
    pub fn warning(&self, message: &str) {
        if !self.quiet {
            eprintln!("warning: {message}");
        }
    }

    /// Writes raw bytes to stdout whatever the format (generated files, completions).
    pub fn raw(&self, bytes: &[u8]) -> std::io::Result<()> {
        std::io::stdout().lock().write_all(bytes)
    }

    /// Whether progress bars may be drawn (text mode, not quiet, stderr is a terminal).
    pub fn progress(&self) -> bool {
        use std::io::IsTerminal;
        self.format == OutputFormat::Text && !self.quiet && std::io::stderr().is_terminal()
    }
}
