//! The CLI reference (`docs/cli.md`) is kept true by the binary: every command and subcommand
//! that `shopctl --help` lists has a section of its own there.

use crate::helpers::{shopctl, stdout};

/// The subcommands a `--help` page lists under `Commands:` (`help` itself left out).
fn subcommands(args: &[&str]) -> Vec<String> {
    let output = shopctl().args(args).arg("--help").output().unwrap();
    assert!(output.status.success(), "{args:?} --help");
    let text = stdout(&output);
    let Some((_, listed)) = text.split_once("Commands:\n") else {
        return Vec::new();
    };
    listed
        .lines()
        .take_while(|line| line.starts_with("  "))
        // A name stands two spaces in; a wrapped description is indented further.
        .filter(|line| !line.starts_with("   "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_command_and_subcommand_has_a_section_in_the_cli_reference() {
    let reference = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/cli.md"),
    )
    .unwrap();
    let commands = subcommands(&[]);
    assert!(commands.len() >= 13, "{commands:?}");
    let mut missing = Vec::new();
    for command in &commands {
        if !reference.contains(&format!("\n## `shopctl {command}`\n")) {
            missing.push(command.clone());
        }
        for sub in subcommands(&[command]) {
            if !reference.contains(&format!("\n### `shopctl {command} {sub}`\n")) {
                missing.push(format!("{command} {sub}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "docs/cli.md has no section for: {missing:?}"
    );
}
