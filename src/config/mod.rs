//! Configuration: defaults < file (base < profile) < environment < CLI, merged field by field.
//!
//! Everything here is pure except [`ConfigFile::load`] (reads one file) and
//! [`file::default_path`] (asks the platform where config lives); the environment comes in
//! as a lookup closure. [`load`] runs the whole pipeline.
//!
//! # Sources, lowest priority first
//! 1. Built-in defaults (pusher-js's): ports 80/443, TLS on, activity 120 s, pong 30 s,
//!    unavailable 10 s, retry cap 15 s, handshake 15 s, auth timeout 10 s, log ring 10 000.
//! 2. The config file's top-level keys (the base).
//! 3. The chosen profile `[profiles.NAME]` (`--profile NAME`, else `default_profile`).
//! 4. The environment: `PUSHER_URL`, then `PUSHER_APP_KEY`, `PUSHER_APP_SECRET`,
//!    `PUSHER_APP_ID`, `PUSHER_CLUSTER`, `PUSHER_HOST`, `PUSHER_PORT`, `PUSHER_TLS`,
//!    `PUSHER_AUTH_ENDPOINT`, `PUSHER_ENCRYPTION_MASTER_KEY` (see [`env`]).
//! 5. The CLI flags (a [`Layer`] the caller builds; `--url` is its `url` field).
//!
//! # Merging
//! A set value in a higher layer wins. Tables (`auth`, `user_auth`, `api`) merge key by
//! key; `params` and `headers` merge per name. Lists (`subscribe`, transports) are replaced
//! whole. The way to authorize (`endpoint` or `command`) is one choice: a layer that sets
//! either replaces both of the lower layer's. Within one layer, a `url` fills only what the
//! layer leaves unset.
//!
//! # pusher-js names
//! | pusher-js option                          | here                          |
//! |-------------------------------------------|-------------------------------|
//! | `wsHost`, `wsPort`, `wssPort`, `wsPath`   | `host`, `ws_port`, `wss_port`, `path` |
//! | `forceTLS`                                | `tls`                         |
//! | `enabledTransports`, `disabledTransports` | `enabled_transports`, `disabled_transports` |
//! | `channelAuthorization { ... }`            | `[auth]` (same keys)          |
//! | `userAuthentication { ... }`              | `[user_auth]` (same keys)     |
//! | `authEndpoint` (legacy, top level)        | `auth.endpoint`               |
//! | `authTransport` (legacy, top level)       | `auth.transport`              |
//! | `auth: { params, headers }` (legacy)      | `[auth]` `params`, `headers`  |
//! | `customHandler`                           | `auth.command` / `user_auth.command` |
//!
//! # The dashboard's keys and colours
//! `[keys]` (action name to key names, see [`keys`]) and `[theme]` (role name to colour, see
//! [`theme`]) are file-only, at the top level or in a profile, merged per action and per role.
//!
//! Both spellings of one key in the same table is an error, not a silent choice.
//! Durations are strings with a unit (`"500ms"`, `"2s"`, `"1m"`), never bare numbers:
//! pusher-js counts milliseconds where people often mean seconds.

mod env;
mod error;
pub mod file;
pub mod keys;
mod layer;
pub mod measures;
pub mod nodes;
mod settings;
pub mod starter;
pub mod theme;
pub mod url_form;
mod values;
pub mod webhook;

pub use env::{VARIABLES as ENV_VARIABLES, layer_from_env};
pub use error::{ConfigError, display_path};
pub use file::{ConfigFile, ConfigLocation, default_path, locate};
pub use keys::{KeyList, KeysError, KeysLayer};
pub use layer::{ApiLayer, AuthLayer, Layer, UserAuthLayer, merge};
pub use measures::{MeasuresLayer, Probe};
pub use settings::{
    Api, AuthMethod, ChannelAuth, DEFAULT_ACTIVITY_TIMEOUT, DEFAULT_GHOST_AFTER,
    DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_LOG_RING, DEFAULT_PONG_TIMEOUT, DEFAULT_RETRY_CAP,
    DEFAULT_UNAVAILABLE_TIMEOUT, DEFAULT_WS_PORT, DEFAULT_WSS_PORT, Settings, UserAuth,
};
pub use theme::{Colour, ThemeLayer};
pub use values::{
    AuthUrl, DEFAULT_LOG_BYTES, ExternalCommand, MAX_DURATION, MAX_LOG_RING, Secret, check_app_id,
    check_ca_file, check_channel, check_cluster, check_header, check_host, check_key,
    check_log_bytes, check_log_ring, check_object, check_origin, check_path, check_transport,
    check_user_data, check_ws_header, parse_bool, parse_duration, parse_header_lines, parse_port,
};

use std::path::PathBuf;

/// What the caller knows before reading any configuration.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `--config PATH`.
    pub config: Option<PathBuf>,
    /// `--profile NAME`.
    pub profile: Option<String>,
    /// The values given as CLI flags (unset flags left `None`).
    pub cli: Layer,
    /// Where the config file is when nothing names one: normally [`default_path`]`()`;
    /// tests pass a temporary path or `None`.
    pub default_path: Option<PathBuf>,
}

/// The merged settings and where they came from (for `--print-config`).
#[derive(Debug, Clone)]
pub struct Loaded {
    pub settings: Settings,
    /// The file that was read, if any.
    pub file: Option<PathBuf>,
    /// The profile that was applied, if any.
    pub profile: Option<String>,
}

impl Loaded {
    /// `--print-config`: where the values came from, then the masked TOML.
    pub fn print_config(&self) -> String {
        let file = match &self.file {
            Some(p) => display_path(p),
            None => "none".into(),
        };
        let profile = self.profile.as_deref().unwrap_or("none");
        format!(
            "# chanwatch configuration (file: {file}; profile: {profile}; secrets masked)\n{}",
            self.settings.to_masked_toml()
        )
    }
}

/// The whole pipeline: locate and read the file, pick the profile, read the environment
/// through `env` (which also supplies `CHANWATCH_CONFIG`), lay the CLI on top, resolve.
pub fn load(
    options: LoadOptions,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Loaded, ConfigError> {
    let env_path = env("CHANWATCH_CONFIG");
    let location = locate(
        options.config.as_deref(),
        env_path.as_deref(),
        options.default_path.clone(),
    );
    let file = ConfigFile::load(&location)?;
    let (file_layer, profile) = match &file {
        Some(file) => {
            let profile = options
                .profile
                .clone()
                .or_else(|| file.default_profile.clone());
            (file.layer(profile.as_deref())?, profile)
        }
        None => {
            if let Some(name) = options.profile {
                return Err(ConfigError::UnknownProfile {
                    name,
                    path: None,
                    available: Vec::new(),
                });
            }
            (Layer::default(), None)
        }
    };
    let env_layer = layer_from_env(&env)?;
    let merged = merge(vec![
        ("config file".into(), file_layer),
        ("environment".into(), env_layer),
        ("command line".into(), options.cli),
    ])?;
    Ok(Loaded {
        settings: Settings::resolve(merged)?,
        file: file.map(|f| f.path),
        profile,
    })
}

#[cfg(test)]
mod tests;
