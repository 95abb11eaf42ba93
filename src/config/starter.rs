//! `chanwatch config init`: a commented starter config file, written where chanwatch will
//! find it, never over an existing file.
//!
//! The text is built by [`text`] (pure); [`write_new`] is the only I/O.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Why no starter file was written.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(
        "{} already exists; nothing was written (edit it, or move it away and run chanwatch \
         config init again)",
        super::display_path(.0)
    )]
    Exists(PathBuf),
    #[error(
        "this platform has no config directory for chanwatch (no home directory?); name a \
         file with --config PATH"
    )]
    NoLocation,
    #[error("cannot write {}: {source}", super::display_path(.path))]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The connection keys, commented out: uncommenting one line is all a first setup needs.
const KEYS: &str = r#"# The app key (public: it is in every connection URL).
# key = "app-key"
# The app secret signs private and presence channels locally; never shown or logged.
# secret = "app-secret"
# The app id, with the secret, enables the signed HTTP API (publish, channel lists).
# app_id = "app-id"

# Pusher itself: the cluster picks ws-CLUSTER.pusher.com ...
# cluster = "eu"
# ... or a self-hosted server (sockudo, soketi, Laravel Reverb).
# host = "127.0.0.1"
# ws_port = 6001
# tls = false

# Or everything at once: pusher://KEY:SECRET@HOST:PORT/apps/ID (pushers:// for TLS).
# url = "pusher://app-key:app-secret@127.0.0.1:6001/apps/app-id"

# Channels to subscribe at start.
# subscribe = ["my-channel", "private-orders"]

# An app endpoint that authorizes private and presence channels instead of the secret.
# [auth]
# endpoint = "https://example.com/broadcasting/auth"
# headers = { Authorization = "Bearer TOKEN" }
"#;

/// The starter file: a header that says where the full reference is, then the keys, at the
/// top level or (with `profile`) in `[profiles.NAME]` chosen by `default_profile`.
pub fn text(profile: Option<&str>) -> String {
    let mut out = String::from(
        "# chanwatch configuration, written by `chanwatch config init`.\n\
         # Uncomment and fill in what you need; every key is optional here, and flags and\n\
         # PUSHER_* environment variables win over this file. config.example.toml in the\n\
         # chanwatch repository documents every key; `chanwatch --print-config` shows the\n\
         # merged result, secrets masked. No server at hand? `chanwatch demo` needs none.\n\n",
    );
    match profile {
        None => out.push_str(KEYS),
        Some(name) => {
            let table = table_name(name);
            out.push_str(&format!(
                "# The profile used when no --profile is given.\n\
                 default_profile = {}\n\n\
                 # Keys at the top level are shared by every profile; a profile's own win.\n\
                 [profiles.{table}]\n",
                toml_string(name)
            ));
            out.push_str(&KEYS.replace("# [auth]", &format!("# [profiles.{table}.auth]")));
        }
    }
    out
}

/// A profile name as a TOML key: bare when it can be, quoted otherwise.
fn table_name(name: &str) -> String {
    let bare = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if bare {
        name.to_string()
    } else {
        toml_string(name)
    }
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Writes `contents` to `path`, creating its directory, and fails when the file exists
/// (the check and the creation are one step, so a file appearing meanwhile is not lost).
pub fn write_new(path: &Path, contents: &str) -> Result<(), InitError> {
    let failed = |source| InitError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(failed)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    // The file is where the app secret and auth tokens may go: only its owner reads it.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = match options.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(InitError::Exists(path.to_path_buf()));
        }
        Err(e) => return Err(failed(e)),
    };
    file.write_all(contents.as_bytes()).map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigFile;

    #[test]
    fn the_starter_parses_and_sets_nothing() {
        let file = ConfigFile::parse(&text(None), Path::new("config.toml")).unwrap();
        assert_eq!(file.base, crate::config::Layer::default());
        assert!(file.profiles.is_empty());
    }

    #[test]
    fn a_profile_becomes_the_default() {
        for name in ["local", "my profile"] {
            let t = text(Some(name));
            let file = ConfigFile::parse(&t, Path::new("config.toml"))
                .unwrap_or_else(|e| panic!("{name}: {e}\n{t}"));
            assert_eq!(file.default_profile.as_deref(), Some(name));
            assert_eq!(file.profile_names(), [name]);
        }
        assert!(text(Some("local")).contains("# [profiles.local.auth]"));
    }

    #[test]
    fn never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/dir/config.toml");
        write_new(&path, "first").unwrap();
        let err = write_new(&path, "second").unwrap_err();
        assert!(matches!(err, InitError::Exists(_)), "{err}");
        assert!(err.to_string().contains("already exists"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "first");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "readable by its owner only: {mode:o}");
        }
    }
}
