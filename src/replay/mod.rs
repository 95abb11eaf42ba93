//! `chanwatch replay FILE`: a recording made with `--record` (format: [`crate::recording`])
//! played back, in the dashboard ([`crate::ui::replay`]) or as NDJSON ([`headless`]).

mod args;
pub mod file;
pub mod headless;
pub mod index;
pub mod pace;
pub mod player;

pub use args::{Bound, ReplayArgs, Speed, parse_bound, parse_speed};

use std::path::PathBuf;

/// Why a recording cannot be replayed at all (a bad line only skips that line).
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("cannot open the recording {path}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the recording {path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a chanwatch recording: {why}")]
    NotARecording { path: PathBuf, why: String },
    #[error(
        "{path} is a recording of format {found}, newer than this chanwatch reads \
         (format {supported}): replay it with a newer chanwatch"
    )]
    NewerFormat {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
}

impl ReplayError {
    /// A file this version cannot replay is a usage error, like a bad flag.
    pub fn exit_code(&self) -> u8 {
        match self {
            ReplayError::NewerFormat { .. } | ReplayError::NotARecording { .. } => 2,
            ReplayError::Open { .. } | ReplayError::Read { .. } => 1,
        }
    }
}

/// The exit code for an error that ended the program, when it is a replay error.
pub fn exit_code(e: &anyhow::Error) -> Option<u8> {
    e.downcast_ref::<ReplayError>().map(ReplayError::exit_code)
}
