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
