//! What is generated from the flag definitions for installing chanwatch: shell completion
//! scripts (clap_complete) and the man page (clap_mangen), so that neither can drift from
//! the flags. Both are built in memory: clap_complete panics on a failed write (`| head`),
//! and the caller decides what a closed stdout means.

use crate::cli::Cli;
use clap::CommandFactory;

/// The completion script for `shell`, for the binary named `chanwatch`.
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "chanwatch", &mut out);
    out
}

/// The man page, in roff.
pub fn man() -> Vec<u8> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .expect("writing into memory cannot fail");
    out
}
