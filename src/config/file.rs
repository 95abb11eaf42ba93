//! The config file: where it is, and its parsing into a base layer plus named profiles.
//!
//! ```toml
//! default_profile = "local"     # used when no --profile is given (optional)
//! key = "..."                   # top-level keys: the base every profile inherits
//! [profiles.local]              # a profile: any key of the base, overriding it
//! host = "127.0.0.1"
//! ```
//!
//! Errors name the file, the line, the key and the table, e.g.
//! `~/.config/chanwatch/config.toml:12: unknown key "activty_timeout" in [profiles.local]`.

use super::ConfigError;
use super::keys::KeysError;
use super::layer::Layer;
use chanwatch_core::input_file;
use serde::Deserialize;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

pub const FILE_NAME: &str = "config.toml";

/// Which file to read, and whether its absence is an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigLocation {
    /// Named by `--config` or `CHANWATCH_CONFIG`: it must exist.
    Explicit(PathBuf),
    /// The platform default: fine when missing.
    Default(PathBuf),
    /// No explicit file and no platform config directory (no home directory).
    Nowhere,
}

impl ConfigLocation {
    pub fn path(&self) -> Option<&Path> {
        match self {
            ConfigLocation::Explicit(p) | ConfigLocation::Default(p) => Some(p),
            ConfigLocation::Nowhere => None,
        }
    }
}

/// `config.toml` in the platform config directory (`~/.config/chanwatch/` on Linux).
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "chanwatch").map(|d| d.config_dir().join(FILE_NAME))
}

/// `--config PATH` wins over `CHANWATCH_CONFIG`, which wins over the default path.
/// An empty `CHANWATCH_CONFIG` counts as unset.
pub fn locate(cli: Option<&Path>, env: Option<&str>, default: Option<PathBuf>) -> ConfigLocation {
    if let Some(path) = cli {
        return ConfigLocation::Explicit(path.to_path_buf());
    }
    if let Some(path) = env.filter(|p| !p.is_empty()) {
        return ConfigLocation::Explicit(PathBuf::from(path));
    }
    match default {
        Some(path) => ConfigLocation::Default(path),
        None => ConfigLocation::Nowhere,
    }
}

/// A parsed config file.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigFile {
    pub path: PathBuf,
    pub base: Layer,
    /// Sorted by name (the TOML parser does not keep file order).
    pub profiles: Vec<(String, Layer)>,
    pub default_profile: Option<String>,
}

/// Paths the file names relative to itself become paths from its own directory.
fn anchor_paths(layer: &mut Layer, dir: &Path) {
    if let Some(ca) = layer.ca_file.as_mut()
        && ca.is_relative()
    {
        *ca = dir.join(&*ca);
    }
}

impl ConfigFile {
    /// Reads the file at `location`: `Ok(None)` when a default file does not exist.
    pub fn load(location: &ConfigLocation) -> Result<Option<ConfigFile>, ConfigError> {
        let (path, required) = match location {
            ConfigLocation::Explicit(p) => (p, true),
            ConfigLocation::Default(p) => (p, false),
            ConfigLocation::Nowhere => return Ok(None),
        };
        match input_file::read_text(path, input_file::CONFIG_CAP) {
            Ok(text) => ConfigFile::parse(&text, path).map(Some),
            Err(e) if e.io_kind() == Some(std::io::ErrorKind::NotFound) && !required => Ok(None),
            Err(reason) => Err(ConfigError::Read {
                path: path.clone(),
                reason,
            }),
        }
    }

    /// Parses `text`; `path` is only used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<ConfigFile, ConfigError> {
        let at = Place { text, path };
        let mut root = DeTable::parse(text).map_err(|e| at.located(e))?;
        let default_profile = match root.get_mut().remove("default_profile") {
            None => None,
            Some(v) => match v.get_ref().as_str() {
                Some(name) => Some(Spanned::new(v.span(), name.to_string())),
                None => {
                    return Err(at.error(
                        Some(v.span()),
                        "default_profile must be a string naming a [profiles.NAME] table".into(),
                    ));
                }
            },
        };
        let mut profiles = match root.get_mut().remove("profiles") {
            Some(table) => at.profiles(table)?,
            None => Vec::new(),
        };
        let mut base = Layer::deserialize(toml::de::Deserializer::from(root))
            .map_err(|e| at.located(e))?
            .normalize()
            .map_err(|m| at.error(None, m))?;
        at.check_keys(&base, &profiles)?;
        if let Some(name) = &default_profile
            && !profiles.iter().any(|(n, _)| n == name.get_ref())
        {
            return Err(at.error(
                Some(name.span()),
                format!(
                    "default_profile \"{}\" has no [profiles.{}] table; {}",
                    name.get_ref(),
                    name.get_ref(),
                    available(&profiles)
                ),
            ));
        }
        // A relative path in the file means a file beside it, wherever chanwatch runs from.
        let dir = path.parent().unwrap_or(Path::new(""));
        anchor_paths(&mut base, dir);
        for (_, layer) in &mut profiles {
            anchor_paths(layer, dir);
        }
        Ok(ConfigFile {
            path: path.to_path_buf(),
            base,
            profiles,
            default_profile: default_profile.map(Spanned::into_inner),
        })
    }

    pub fn profile_names(&self) -> Vec<String> {
        self.profiles.iter().map(|(n, _)| n.clone()).collect()
    }

    /// The file's layer: the chosen profile (`profile`, else `default_profile`) over the
    /// base, or the base alone when neither names one.
    pub fn layer(&self, profile: Option<&str>) -> Result<Layer, ConfigError> {
        let Some(name) = profile.or(self.default_profile.as_deref()) else {
            return Ok(self.base.clone());
        };
        match self.profiles.iter().find(|(n, _)| n == name) {
            Some((_, layer)) => Ok(layer.clone().over(self.base.clone())),
            None => Err(ConfigError::UnknownProfile {
                name: name.to_string(),
                path: Some(self.path.clone()),
                available: self.profile_names(),
            }),
        }
    }
}

/// The file being parsed, for errors that name its path and line.
#[derive(Clone, Copy)]
struct Place<'a> {
    text: &'a str,
    path: &'a Path,
}

impl Place<'_> {
    fn error(&self, span: Option<Range<usize>>, message: String) -> ConfigError {
        ConfigError::File {
            path: self.path.to_path_buf(),
            line: span.map(|s| line_of(self.text, s.start)),
            message,
        }
    }

    fn located(&self, e: toml::de::Error) -> ConfigError {
        let span = e.span();
        self.error(span.clone(), describe(self.text, span, e.message()))
    }

    /// The `[profiles.NAME]` tables, each read as a layer.
    fn profiles(&self, table: Spanned<DeValue<'_>>) -> Result<Vec<(String, Layer)>, ConfigError> {
        let span = table.span();
        let DeValue::Table(entries) = table.into_inner() else {
            return Err(self.error(
                Some(span),
                "profiles must be a table of [profiles.NAME] tables".into(),
            ));
        };
        let mut profiles = Vec::new();
        for (name, value) in entries {
            let name = name.into_inner().into_owned();
            if !value.get_ref().is_table() {
                return Err(self.error(
                    Some(value.span()),
                    format!("profile \"{name}\" must be a table: [profiles.{name}]"),
                ));
            }
            let layer = Layer::deserialize(toml::de::ValueDeserializer::from(value))
                .map_err(|e| self.located(e))?
                .normalize()
                .map_err(|m| self.error(None, format!("in [profiles.{name}]: {m}")))?;
            profiles.push((name, layer));
        }
        Ok(profiles)
    }

    /// The keys as they will be used, the base alone and each profile over it, make a
    /// keymap without conflicts.
    fn check_keys(&self, base: &Layer, profiles: &[(String, Layer)]) -> Result<(), ConfigError> {
        let keys_error = |e: KeysError, profile: Option<&str>| {
            let table = e.span.as_ref().and_then(|s| table_at(self.text, s.start));
            let place = table
                .as_ref()
                .map(|t| format!(" in [{t}]"))
                .unwrap_or_default();
            let with = match profile {
                Some(p) if !table.is_some_and(|t| t.starts_with(&format!("profiles.{p}."))) => {
                    format!(" (with [profiles.{p}])")
                }
                _ => String::new(),
            };
            self.error(
                e.span,
                format!("bad value for \"{}\"{place}{with}: {}", e.key, e.message),
            )
        };
        if let Some(keys) = &base.keys {
            keys.keymap().map_err(|e| keys_error(e, None))?;
        }
        for (name, layer) in profiles {
            if let Some(keys) = layer.clone().over(base.clone()).keys {
                keys.keymap().map_err(|e| keys_error(e, Some(name)))?;
            }
        }
        Ok(())
    }
}

fn available(profiles: &[(String, Layer)]) -> String {
    if profiles.is_empty() {
        "the file has no profiles".into()
    } else {
        let names: Vec<&str> = profiles.iter().map(|(n, _)| n.as_str()).collect();
        format!("available: {}", names.join(", "))
    }
}

/// 1-based line of byte offset `at`.
fn line_of(text: &str, at: usize) -> usize {
    let at = at.min(text.len());
    text.as_bytes()[..at]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The `[table]` header in force at byte `at`: scanning the lines above it.
fn table_at(text: &str, at: usize) -> Option<String> {
    let at = at.min(text.len());
    text[..at]
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let inner = line.strip_prefix('[')?;
            let end = inner.find(']')?;
            let name = inner[..end].trim_start_matches('[').trim();
            (!name.is_empty()).then(|| name.to_string())
        })
        .next_back()
}

/// The key whose value starts at byte `at`: the text between the previous `{`, `,` or the
/// line start and the `=` before the value.
fn key_at(text: &str, at: usize) -> Option<String> {
    let at = at.min(text.len());
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let before = text[line_start..at].trim_end().strip_suffix('=')?;
    let start = before.rfind(['{', ',']).map_or(0, |i| i + 1);
    let key = before[start..].trim().trim_matches('"').trim_matches('\'');
    (!key.is_empty()).then(|| key.to_string())
}

/// Turns serde/toml's message into one that names the key and the table.
fn describe(text: &str, span: Option<Range<usize>>, message: &str) -> String {
    let message = message.trim();
    let place = span
        .as_ref()
        .and_then(|s| table_at(text, s.start))
        .map(|t| format!(" in [{t}]"))
        .unwrap_or_default();
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some((key, expected)) = rest.split_once('`')
    {
        let hint = expected_names(expected)
            .and_then(|names| closest(key, &names))
            .map(|n| format!("; did you mean \"{n}\"?"))
            .unwrap_or_default();
        let hint = match key {
            "profiles" => {
                "; profiles do not nest: [profiles.NAME] tables belong at the top level".into()
            }
            "default_profile" => "; default_profile belongs at the top level".into(),
            _ => hint,
        };
        return format!("unknown key \"{key}\"{place}{hint}");
    }
    // Our own "unknown action \"x\"; did you mean ..." ([keys], [theme]): the table goes
    // after the name, as above.
    if (message.starts_with("unknown action ") || message.starts_with("unknown colour role "))
        && let Some(i) = message.find("\"; ")
    {
        return format!("{}{place}{}", &message[..=i], &message[i + 1..]);
    }
    if let Some(rest) = message.strip_prefix("duplicate key") {
        return format!("duplicate key{rest}{place}");
    }
    if let Some(rest) = message.strip_prefix("duplicate field `")
        && let Some((key, _)) = rest.split_once('`')
    {
        return format!(
            "\"{key}\" is set twice{place} (an alias such as channelAuthorization/auth counts as the same key)"
        );
    }
    match span.and_then(|s| key_at(text, s.start)) {
        // serde quotes the offending value in type errors; never quote a secret.
        Some(key) if key == "secret" || key.ends_with(".secret") => {
            format!("bad value for \"{key}\"{place}: the secret must be a non-empty string")
        }
        Some(key) => format!("bad value for \"{key}\"{place}: {message}"),
        None => format!("{message}{place}"),
    }
}

/// The names in serde's "expected one of `a`, `b`" tail.
fn expected_names(tail: &str) -> Option<Vec<String>> {
    let names: Vec<String> = tail
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    (!names.is_empty()).then_some(names)
}

/// The known name nearest to a misspelt one, when it is near enough to be a typo.
pub(super) fn closest(key: &str, names: &[String]) -> Option<String> {
    let key_lower = key.to_ascii_lowercase();
    names
        .iter()
        .map(|n| (edit_distance(&key_lower, &n.to_ascii_lowercase()), n))
        .filter(|(d, n)| *d <= 2.max(n.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n.clone())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_precedence() {
        let default = Some(PathBuf::from("/home/u/.config/chanwatch/config.toml"));
        assert_eq!(
            locate(Some(Path::new("/a.toml")), Some("/b.toml"), default.clone()),
            ConfigLocation::Explicit("/a.toml".into())
        );
        assert_eq!(
            locate(None, Some("/b.toml"), default.clone()),
            ConfigLocation::Explicit("/b.toml".into())
        );
        assert_eq!(
            locate(None, Some(""), default.clone()),
            ConfigLocation::Default(default.clone().unwrap())
        );
        assert_eq!(locate(None, None, None), ConfigLocation::Nowhere);
    }

    #[test]
    fn a_relative_ca_file_is_beside_the_config_file() {
        let text = "ca_file = \"certs/ca.pem\"\n[profiles.abs]\nca_file = \"/etc/ca.pem\"\n\
                    [profiles.rel]\nca_file = \"other.pem\"\n";
        let file = ConfigFile::parse(text, Path::new("/home/u/.config/chanwatch/config.toml"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            file.base.ca_file.as_deref(),
            Some(Path::new("/home/u/.config/chanwatch/certs/ca.pem"))
        );
        let profile = |name: &str| {
            file.profiles
                .iter()
                .find(|(n, _)| n == name)
                .and_then(|(_, l)| l.ca_file.clone())
        };
        assert_eq!(profile("abs"), Some(PathBuf::from("/etc/ca.pem")));
        assert_eq!(
            profile("rel"),
            Some(PathBuf::from("/home/u/.config/chanwatch/other.pem"))
        );
    }

    #[test]
    fn default_path_is_in_a_chanwatch_dir() {
        if let Some(p) = default_path() {
            assert!(
                p.ends_with("chanwatch/config.toml") || p.ends_with("chanwatch/config/config.toml"),
                "{p:?}"
            );
        }
    }

    #[test]
    fn helpers_find_key_table_and_typos() {
        let text = "key = \"k\"\n[profiles.local]\nhost = \"h\"\nauth = { timeout = 5 }\n";
        let at = text.find("5 }").unwrap();
        assert_eq!(line_of(text, at), 4);
        assert_eq!(table_at(text, at).as_deref(), Some("profiles.local"));
        assert_eq!(key_at(text, at).as_deref(), Some("timeout"));
        assert_eq!(table_at(text, 2), None);
        let names = vec!["activity_timeout".to_string(), "pong_timeout".to_string()];
        assert_eq!(
            closest("activty_timeout", &names).as_deref(),
            Some("activity_timeout")
        );
        assert_eq!(closest("colour", &names), None);
    }
}
