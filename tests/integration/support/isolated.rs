//! The chanwatch binary as a command that sees none of the developer's own settings: no
//! config file, no `PUSHER_*` or `CHANWATCH_*` variables, no RUST_LOG. Tests pass what
//! they mean on the command line.

use std::process::Command;

pub const BIN: &str = env!("CARGO_BIN_EXE_chanwatch");

pub fn chanwatch() -> Command {
    let mut cmd = Command::new(BIN);
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        if name.starts_with("PUSHER_") || name.starts_with("CHANWATCH_") || name == "RUST_LOG" {
            cmd.env_remove(&name);
        }
    }
    // The default config file lives under XDG_CONFIG_HOME (or HOME/.config): point both at
    // an empty place.
    let empty = std::env::temp_dir().join("chanwatch-tests-no-config");
    cmd.env("XDG_CONFIG_HOME", &empty).env("HOME", &empty);
    cmd
}
