//! Configuration errors. Each one names where the bad value came from (file and line,
//! environment variable, URL) and the key, so the message alone tells the user what to fix.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A bad key or value in a config file, at a known line when the parser gave a position.
    #[error("{}{}: {message}", display_path(path), line.map(|l| format!(":{l}")).unwrap_or_default())]
    File {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },
    /// The config file could not be read. The reason is in the message, not a `source`:
    /// an error chain printed with `{:#}` would say it twice.
    #[error("cannot read config file {}: {reason}", display_path(path))]
    Read {
        path: PathBuf,
        reason: chanwatch_core::input_file::ReadError,
    },
    /// `--profile NAME` (or `default_profile`) names a profile the file does not have.
    #[error("{}", unknown_profile_message(name, path.as_deref(), available))]
    UnknownProfile {
        name: String,
        path: Option<PathBuf>,
        available: Vec<String>,
    },
    /// A bad value in an environment variable.
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    /// A bad value given some other way (a CLI layer, a `pusher://` URL), or a required
    /// value that no source provided.
    #[error("{key}: {message}")]
    Invalid { key: String, message: String },
}

fn unknown_profile_message(
    name: &str,
    path: Option<&std::path::Path>,
    available: &[String],
) -> String {
    let Some(path) = path else {
        return format!("profile \"{name}\" was asked for, but no config file was found");
    };
    let list = if available.is_empty() {
        "the file has no [profiles.NAME] tables".to_string()
    } else {
        format!("available: {}", available.join(", "))
    };
    format!(
        "unknown profile \"{name}\" in {}; {list}",
        display_path(path)
    )
}

/// The path as the user would type it: the home directory shown as `~`.
pub fn display_path(path: &std::path::Path) -> String {
    if let Some(home) = directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf())
        && !home.as_os_str().is_empty()
        && let Ok(rest) = path.strip_prefix(&home)
    {
        return format!("~/{}", rest.display());
    }
    path.display().to_string()
}
