//! The README is the flag reference: every flag and subcommand the binary knows must be
//! documented there. (Record types and commands: tests/readme_contract.rs.)

use chanwatch::cli::Cli;
use clap::CommandFactory;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

fn long_flags(cmd: &clap::Command) -> Vec<String> {
    let mut flags: Vec<String> = cmd
        .get_arguments()
        .filter_map(|a| a.get_long())
        .filter(|l| !matches!(*l, "help" | "version"))
        .map(|l| format!("--{l}"))
        .collect();
    for sub in cmd.get_subcommands() {
        flags.extend(long_flags(sub));
    }
    flags.sort();
    flags.dedup();
    flags
}

#[test]
fn every_flag_is_in_the_readme() {
    let readme = readme();
    let missing: Vec<String> = long_flags(&Cli::command())
        .into_iter()
        .filter(|f| !readme.contains(&format!("`{f}")))
        .collect();
    assert!(
        missing.is_empty(),
        "README.md does not document {missing:?}"
    );
    for sub in Cli::command().get_subcommands() {
        assert!(
            readme.contains(&format!("chanwatch {}", sub.get_name())),
            "{}",
            sub.get_name()
        );
    }
}

/// The README lists the `[keys]` actions by name; a new action must be added there.
#[test]
fn every_key_action_is_in_the_readme() {
    let readme = readme();
    let missing: Vec<&str> = chanwatch::prefs::keymap::Action::names()
        .filter(|name| !readme.contains(&format!("`{name}`")))
        // Close codes after the first are named together ("also 4004, 4100 ...").
        .filter(|name| !name.starts_with("fault_close_") || *name == "fault_close_4001")
        .collect();
    assert!(
        missing.is_empty(),
        "README.md lacks the actions {missing:?}"
    );
}
