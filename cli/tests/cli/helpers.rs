//! Running the binary.

use std::{
    path::Path,
    process::{Command, Output},
};

pub(crate) fn shopctl() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_shopctl"));
    // Configuration from the developer's environment must not leak into tests.
    for (key, _) in std::env::vars() {
        if key.starts_with("SHOPCTL_") && key != "SHOPCTL_TEST_POSTGRES_URL" {
            command.env_remove(key);
        }
    }
    command.env("RUST_LOG", "warn");
    command
}

pub(crate) fn run_in(dir: &Path, args: &[&str]) -> Output {
    shopctl().current_dir(dir).args(args).output().unwrap()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Asserts exit code 2 and a single `error:` line containing every `needle`.
pub(crate) fn assert_one_line_error(output: &Output, needles: &[&str]) {
    assert_eq!(
        output.status.code(),
        Some(2),
        "exit code; stderr: {}",
        stderr(output)
    );
    let err = stderr(output);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line expected: {err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    for needle in needles {
        assert!(lines[0].contains(needle), "`{needle}` missing from: {err}");
    }
}
