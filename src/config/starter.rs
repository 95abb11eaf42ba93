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
    #[error(
        "--profile {0:?}: a profile name for config init is 1 to {MAX_PROFILE_NAME} ASCII \
         letters, digits, '-', '_' or '.'"
    )]
    BadProfileName(String),
    #[error("cannot write {}: {source}", super::display_path(.path))]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The longest profile name `config init` writes.
pub const MAX_PROFILE_NAME: usize = 64;

/// The profile names `config init` writes: ASCII letters, digits, `-`, `_` and `.`, which
/// every TOML writer and reader, and every shell, handle alike. A file written by hand may
/// use other names; they are selected with --profile as they are.
pub fn check_profile_name(name: &str) -> Result<(), InitError> {
    let ok = (1..=MAX_PROFILE_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(InitError::BadProfileName(name.to_string()))
    }
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
/// top level or (with `profile`, checked with [`check_profile_name`] first) in
/// `[profiles.NAME]` chosen by `default_profile`.
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

    /// The written file parses and chooses exactly that profile, with its own table.
    fn round_trips(name: &str) {
        check_profile_name(name).unwrap_or_else(|e| panic!("{name:?}: {e}"));
        let t = text(Some(name));
        let file = ConfigFile::parse(&t, Path::new("config.toml"))
            .unwrap_or_else(|e| panic!("{name:?}: {e}\n{t}"));
        assert_eq!(file.default_profile.as_deref(), Some(name), "{t}");
        assert_eq!(file.profile_names(), [name], "{t}");
    }

    #[test]
    fn a_profile_becomes_the_default() {
        round_trips("local");
        assert!(text(Some("local")).contains("# [profiles.local.auth]"));
    }

    #[test]
    fn every_accepted_profile_name_round_trips() {
        const ALPHABET: &[u8] =
            b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.";
        let mut names: Vec<String> = [
            ".",
            "..",
            "-",
            "_",
            "a.b",
            "a..b",
            ".a",
            "a.",
            "1",
            "0.5",
            "true",
            "inf",
            "nan",
            "-1",
            "2026-01-01",
            "profiles",
            "auth",
            "default_profile",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        names.push("x".repeat(MAX_PROFILE_NAME));
        names.extend(ALPHABET.iter().map(|&b| (b as char).to_string()));
        // And a few thousand drawn from the alphabet (a fixed seed: the same every run).
        let mut rng = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..3000 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let len = 1 + (rng % 12) as usize;
            let name = (0..len)
                .map(|i| ALPHABET[((rng >> (i * 5)) % ALPHABET.len() as u64) as usize] as char)
                .collect();
            names.push(name);
        }
        for name in &names {
            round_trips(name);
        }
    }

    #[test]
    fn other_profile_names_are_refused() {
        for name in [
            "",
            "my profile",
            "a\"b",
            "a'b",
            "a\nb",
            "a\rb",
            "tab\there",
            "a]b",
            "a[b",
            "a=b",
            "a#b",
            "a/b",
            "a\\b",
            "é",
            "a\u{0}b",
        ] {
            let e = check_profile_name(name).unwrap_err();
            assert!(matches!(e, InitError::BadProfileName(_)), "{e}");
            assert!(e.to_string().contains("--profile"), "{e}");
        }
        assert!(check_profile_name(&"x".repeat(MAX_PROFILE_NAME + 1)).is_err());
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
