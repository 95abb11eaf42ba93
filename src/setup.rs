//! From parsed flags to everything a session needs: the configuration is loaded and merged
//! (defaults < config file < profile < environment < flags, see [`crate::config`]), then
//! turned into the client's configuration, the authorizers, the HTTP API client and what the
//! dashboard shows about the connection.
//!
//! Every problem found here is the user's configuration, reported as a [`SetupError`] whose
//! message names the flag, environment variable, or file and line to fix; the binary exits
//! with [`SetupError::EXIT_CODE`] for them, as it does for a bad flag.

pub mod demo;

use crate::cli::Cli;
use crate::config::{
    self, AuthLayer, AuthMethod, ConfigError, ExternalCommand, Layer, LoadOptions, Loaded, Secret,
    Settings, UserAuthLayer,
};
use crate::prefs::keymap::Keymap;
use crate::prefs::theme::Palette;
use crate::session::DashboardInfo;
use chanwatch_core::auth::AuthTransport;
use chanwatch_core::auth::{
    Authorizer, CommandAuthorizer, EndpointAuthorizer, LocalSigner, LocalUserSigner,
    UserAuthenticator,
};
use chanwatch_core::client::ws::handshake::Dial;
use chanwatch_core::client::{AuthProvider, Authorizers, ClientConfig};
use chanwatch_core::http_api::HttpApi;
use chanwatch_core::input_file;
use chanwatch_core::pairs::{Headers, Params};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub struct Setup {
    pub client: ClientConfig,
    pub auth: Arc<dyn AuthProvider>,
    /// The signed HTTP API, when an app id and secret are known.
    pub api: Option<HttpApi>,
    pub dashboard: DashboardInfo,
    pub log_ring: usize,
    /// The most memory the dashboard's log may hold.
    pub log_bytes: u64,
    pub prefs: DashboardPrefs,
    /// The probe, occupancy and stats settings: the file's `[measures]` under the flags.
    pub measures: config::MeasuresLayer,
    /// The webhook receiver to start (`--webhook-listen`), with the app it checks for.
    pub webhooks: Option<crate::webhook_server::Options>,
    /// Several nodes watched at once (`--node`, twice or more): each with its own client
    /// configuration, authorizers and HTTP API. Empty for one connection, which `client`,
    /// `auth` and `api` describe (with nodes, they are the first node's).
    pub nodes: Vec<crate::session::cluster::Node>,
    /// How the nodes are compared (`--ghost-after`).
    pub ghost_after: std::time::Duration,
}

/// The dashboard's keys and colours: the config file's `[keys]` and `[theme]`, over the
/// built-in ones.
#[derive(Debug, Clone, Default)]
pub struct DashboardPrefs {
    pub keymap: Keymap,
    pub palette: Palette,
}

impl DashboardPrefs {
    fn from_settings(
        keys: &config::KeysLayer,
        theme: &config::ThemeLayer,
    ) -> Result<DashboardPrefs, SetupError> {
        let keymap = keys.keymap().map_err(|e| {
            SetupError::Config(ConfigError::Invalid {
                key: format!("keys.{}", e.key),
                message: e.message,
            })
        })?;
        Ok(DashboardPrefs {
            keymap,
            palette: theme.palette(),
        })
    }
}

/// A configuration the session cannot start with.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// From the configuration pipeline: names the file and line, the variable or the key.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A value that every source accepted but that cannot be used as it is (an auth endpoint
    /// that cannot be set up, a master key that is not 32 bytes...). Names the flag and key.
    #[error("{0}")]
    Invalid(String),
    /// A `--...-file` option whose file cannot be read or does not hold what it should.
    #[error("{flag} {path}: {message}")]
    SecretFile {
        flag: &'static str,
        path: String,
        message: String,
    },
}

impl SetupError {
    /// The exit code for configuration errors: the same as clap's for a bad flag.
    pub const EXIT_CODE: u8 = 2;
}

/// Whether `error` is a configuration problem (exit code [`SetupError::EXIT_CODE`]) rather
/// than a failure while running.
pub fn is_config_error(error: &anyhow::Error) -> bool {
    error.downcast_ref::<SetupError>().is_some()
}

/// Builds a session's setup from the command line, the process environment and the
/// default config file.
pub fn from_cli(cli: &Cli) -> anyhow::Result<Setup> {
    Ok(from_cli_with(cli, process_env, config::default_path())?)
}

/// `--print-config`: the merged configuration, secrets masked, headed by the file and
/// profile it came from.
pub fn print_config(cli: &Cli) -> anyhow::Result<String> {
    Ok(print_config_with(cli, process_env, config::default_path())?)
}

/// The keys and colours of the config file alone, for `chanwatch demo`, which takes nothing
/// else from it (its server is its own): `--config`, `CHANWATCH_CONFIG` or the default
/// file, with `--profile` or `default_profile` applied.
pub fn dashboard_prefs(cli: &Cli) -> anyhow::Result<DashboardPrefs> {
    Ok(dashboard_prefs_with(
        cli,
        process_env,
        config::default_path(),
    )?)
}

/// [`dashboard_prefs`] with the environment and the default config path given.
pub fn dashboard_prefs_with(
    cli: &Cli,
    env: impl Fn(&str) -> Option<String>,
    default_path: Option<PathBuf>,
) -> Result<DashboardPrefs, SetupError> {
    let env_path = env("CHANWATCH_CONFIG");
    let location = config::locate(
        cli.connection.config.as_deref(),
        env_path.as_deref(),
        default_path,
    );
    let Some(file) = config::ConfigFile::load(&location)? else {
        return Ok(DashboardPrefs::default());
    };
    let layer = file.layer(cli.connection.profile.as_deref())?;
    DashboardPrefs::from_settings(
        &layer.keys.unwrap_or_default(),
        &layer.theme.unwrap_or_default(),
    )
}

/// [`from_cli`] with the environment given as a lookup and the default config path given
/// (tests pass their own).
pub fn from_cli_with(
    cli: &Cli,
    env: impl Fn(&str) -> Option<String>,
    default_path: Option<PathBuf>,
) -> Result<Setup, SetupError> {
    let loaded = load(cli, env, default_path)?;
    build(cli, &loaded.settings)
}

/// [`print_config`] with the environment and the default config path given.
pub fn print_config_with(
    cli: &Cli,
    env: impl Fn(&str) -> Option<String>,
    default_path: Option<PathBuf>,
) -> Result<String, SetupError> {
    let loaded = load(cli, env, default_path)?;
    let mut text = loaded.print_config();
    if cli.auth.encryption_master_key.is_some() {
        text.push_str(
            "# encryption master key: given with --encryption-master-key (never shown)\n",
        );
    }
    Ok(text)
}

fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn load(
    cli: &Cli,
    env: impl Fn(&str) -> Option<String>,
    default_path: Option<PathBuf>,
) -> Result<Loaded, SetupError> {
    // Checked here rather than by clap, whose message would quote the URL and its secret.
    if let Some(url) = &cli.connection.url {
        config::url_form::parse(url).map_err(|e| SetupError::Invalid(format!("--url: {e}")))?;
    }
    let options = LoadOptions {
        config: cli.connection.config.clone(),
        profile: cli.connection.profile.clone(),
        cli: cli_layer(cli)?,
        default_path,
    };
    Ok(config::load(options, env)?)
}

/// The flags as a configuration layer, with the secrets given as files read in: a secret
/// on the command line can be read by anyone who can list processes, one in a file only
/// by who can read the file.
fn cli_layer(cli: &Cli) -> Result<Layer, SetupError> {
    let mut layer = cli.layer();
    let a = &cli.auth;
    if let Some(path) = &a.secret_file {
        let text = read_secret_file("--secret-file", path)?;
        let secret =
            Secret::new(text).map_err(|message| file_error("--secret-file", path, message))?;
        layer.secret = Some(secret);
    }
    if let Some(path) = &a.encryption_master_key_file {
        let flag = "--encryption-master-key-file";
        let text = read_secret_file(flag, path)?;
        let key = Secret::new(text.trim()).map_err(|message| file_error(flag, path, message))?;
        layer
            .auth
            .get_or_insert_with(AuthLayer::default)
            .encryption_master_key = Some(key);
    }
    if let Some(path) = &a.auth_header_file {
        let from_file = read_header_file("--auth-header-file", path)?;
        let auth = layer.auth.get_or_insert_with(AuthLayer::default);
        auth.headers = Some(flags_over_file(auth.headers.take(), from_file));
    }
    if let Some(path) = &cli.user_auth.user_auth_header_file {
        let from_file = read_header_file("--user-auth-header-file", path)?;
        let user = layer.user_auth.get_or_insert_with(UserAuthLayer::default);
        user.headers = Some(flags_over_file(user.headers.take(), from_file));
    }
    Ok(layer)
}

/// The flags name headers one by one: they win over a header file's.
fn flags_over_file(
    flags: Option<chanwatch_core::pairs::Headers>,
    from_file: chanwatch_core::pairs::Headers,
) -> chanwatch_core::pairs::Headers {
    match flags {
        Some(flags) => flags.over(from_file),
        None => from_file,
    }
}

fn file_error(flag: &'static str, path: &Path, message: String) -> SetupError {
    SetupError::SecretFile {
        flag,
        path: config::display_path(path),
        message,
    }
}

/// The file's text without one trailing line break, which editors add and nobody means as
/// part of a secret.
fn read_secret_file(flag: &'static str, path: &Path) -> Result<String, SetupError> {
    let text = read_small_file(flag, path)?;
    let text = text
        .strip_suffix('\n')
        .map(|t| t.strip_suffix('\r').unwrap_or(t))
        .unwrap_or(&text);
    Ok(text.to_string())
}

/// A secret or header file, capped at [`input_file::SECRET_CAP`].
fn read_small_file(flag: &'static str, path: &Path) -> Result<String, SetupError> {
    input_file::read_text(path, input_file::SECRET_CAP)
        .map_err(|e| file_error(flag, path, format!("cannot read it: {e}")))
}

fn read_header_file(flag: &'static str, path: &Path) -> Result<Headers, SetupError> {
    let text = read_small_file(flag, path)?;
    config::parse_header_lines(&text).map_err(|message| file_error(flag, path, message))
}

/// Everything a session needs from the merged settings: one connection, or one per node.
fn build(cli: &Cli, settings: &Settings) -> Result<Setup, SetupError> {
    match settings.nodes.as_slice() {
        [] => build_one(cli, settings),
        [only] => build_one(cli, &settings.for_node(only)),
        nodes => {
            let mut built = Vec::with_capacity(nodes.len());
            for spec in nodes {
                built.push((spec, build_one(cli, &settings.for_node(spec))?));
            }
            let names: Vec<chanwatch_core::record::NodeName> =
                nodes.iter().map(|n| n.name.as_str().into()).collect();
            let mut setup = build_one(cli, &settings.for_node(&nodes[0]))?;
            setup.dashboard.nodes = names;
            setup.dashboard.host = format!(
                "{} nodes: {}",
                nodes.len(),
                nodes
                    .iter()
                    .map(|n| format!("{}={}:{}", n.name, n.host, n.port))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            setup.nodes = built
                .into_iter()
                .map(|(spec, one)| {
                    crate::session::cluster::Node::new(
                        spec.name.as_str(),
                        one.client,
                        one.auth,
                        one.api,
                    )
                })
                .collect();
            Ok(setup)
        }
    }
}

/// One connection's worth of [`build`].
fn build_one(cli: &Cli, settings: &Settings) -> Result<Setup, SetupError> {
    let tls = chanwatch_core::tls::client_config(settings.ca_file.as_deref())
        .map_err(|e| SetupError::Invalid(e.to_string()))?;
    // The flag wins over the config file's `auth.encryption_master_key`.
    let master_key = cli.auth.encryption_master_key.as_deref().or(settings
        .auth
        .encryption_master_key
        .as_ref()
        .map(|k| k.expose()));
    let channel = channel_authorizer(settings, master_key, &tls)?;
    let user = if settings.user_auth.enabled {
        Some(user_authenticator(settings, &tls)?)
    } else {
        None
    };
    let mut machine = settings.machine_config();
    machine.signin = user.is_some();
    let dashboard = DashboardInfo {
        nodes: Vec::new(),
        host: settings.host.clone(),
        key: settings.key.clone(),
        tls: settings.tls,
        demo: false,
    };
    Ok(Setup {
        client: ClientConfig {
            machine,
            subscribe: settings.subscribe.clone(),
            auto_connect: true,
            connect_via: None,
            dial: Dial {
                origin: settings.origin.clone(),
                headers: settings
                    .ws_headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                tls: tls.clone(),
            },
            panic_once_connected: crate::panic_report::debug_panic_requested(),
        },
        auth: Arc::new(Authorizers { channel, user }),
        api: http_api(settings).map(|api| api.with_tls(tls)),
        dashboard,
        log_ring: settings.log_ring,
        log_bytes: settings.log_bytes,
        prefs: DashboardPrefs::from_settings(&settings.keys, &settings.theme)?,
        measures: settings.measures.clone(),
        webhooks: webhook_options(settings)?,
        nodes: Vec::new(),
        ghost_after: settings.ghost_after,
    })
}

/// The webhook receiver's options, when one is asked for: it needs the app secret, which
/// signs every webhook.
fn webhook_options(
    settings: &Settings,
) -> Result<Option<crate::webhook_server::Options>, SetupError> {
    let Some(listen) = settings.webhook_listen else {
        if settings.webhook_forward.is_some() || settings.webhook_path.is_some() {
            return Err(SetupError::Invalid(
                "--webhook-path and --webhook-forward need --webhook-listen (or webhook_listen \
                 in the config file)"
                    .into(),
            ));
        }
        return Ok(None);
    };
    let Some(secret) = &settings.secret else {
        return Err(SetupError::Invalid(
            "--webhook-listen needs the app secret to check webhook signatures: --secret-file, \
             PUSHER_APP_SECRET or secret in the config file"
                .into(),
        ));
    };
    let forward = match &settings.webhook_forward {
        Some(url) => Some(
            config::webhook::parse_forward(url)
                .map_err(|e| SetupError::Invalid(format!("--webhook-forward: {e}")))?,
        ),
        None => None,
    };
    Ok(Some(crate::webhook_server::Options {
        listen,
        path: settings
            .webhook_path
            .clone()
            .unwrap_or_else(|| crate::webhook_server::DEFAULT_PATH.to_string()),
        forward,
        app: crate::webhook::App {
            key: settings.key.clone(),
            secret: secret.expose().to_string(),
        },
    }))
}

/// The channel authorizer: the endpoint, else the command, else local signing with the
/// secret (and the master key, for encrypted channels), else none.
fn channel_authorizer(
    settings: &Settings,
    master_key: Option<&str>,
    tls: &Arc<rustls::ClientConfig>,
) -> Result<Authorizer, SetupError> {
    let auth = &settings.auth;
    let method = settings.auth_method();
    if master_key.is_some() && !matches!(method, AuthMethod::Local(_)) {
        return Err(SetupError::Invalid(
            "--encryption-master-key is only used when signing locally with the secret; with \
             an auth endpoint or command, that side gives encrypted channels their key"
                .into(),
        ));
    }
    Ok(match method {
        AuthMethod::Endpoint(url, transport) => Authorizer::Endpoint(endpoint(
            url.0.as_str(),
            transport,
            &auth.params,
            &auth.headers,
            auth.timeout,
            tls,
            "auth (--auth-endpoint)",
        )?),
        AuthMethod::Command(command) => Authorizer::Command(
            CommandAuthorizer::new(&shell_line(command), auth.timeout)
                .map_err(|e| SetupError::Invalid(format!("auth.command (--auth-command): {e}")))?,
        ),
        AuthMethod::Local(secret) => {
            let signer = LocalSigner::new(
                &settings.key,
                secret.expose(),
                auth.user_id.clone(),
                auth.user_info.clone(),
            )
            .map_err(|e| SetupError::Invalid(format!("secret (--secret): {e}")))?;
            Authorizer::Local(match master_key {
                Some(b64) => signer
                    .with_master_key(b64)
                    .map_err(|e| SetupError::Invalid(format!("--encryption-master-key: {e}")))?,
                None => signer,
            })
        }
        AuthMethod::None => Authorizer::None,
    })
}

/// The user authenticator for `pusher:signin`. Only called when sign-in is enabled, which
/// [`Settings::resolve`] allows only with a way to sign.
fn user_authenticator(
    settings: &Settings,
    tls: &Arc<rustls::ClientConfig>,
) -> Result<UserAuthenticator, SetupError> {
    let user = &settings.user_auth;
    Ok(match settings.user_auth_method() {
        AuthMethod::Endpoint(url, transport) => UserAuthenticator::Endpoint(endpoint(
            url.0.as_str(),
            transport,
            &user.params,
            &user.headers,
            user.timeout,
            tls,
            "user_auth (--user-auth-endpoint)",
        )?),
        AuthMethod::Command(command) => UserAuthenticator::Command(
            CommandAuthorizer::new(&shell_line(command), user.timeout).map_err(|e| {
                SetupError::Invalid(format!("user_auth.command (--user-auth-command): {e}"))
            })?,
        ),
        AuthMethod::Local(secret) => {
            let Some(user_data) = &user.user_data else {
                return Err(SetupError::Invalid(
                    "user_auth.user_data (--user-data): signing in locally with the secret \
                     needs the user, e.g. {\"id\":\"alice\"}"
                        .into(),
                ));
            };
            UserAuthenticator::Local(
                LocalUserSigner::new(&settings.key, secret.expose(), user_data.to_string())
                    .map_err(|e| {
                        SetupError::Invalid(format!("user_auth.user_data (--user-data): {e}"))
                    })?,
            )
        }
        AuthMethod::None => {
            return Err(SetupError::Invalid(
                "user sign-in is on but has no way to sign: set --user-auth-endpoint, \
                 --user-auth-command, or --secret with --user-data (user_auth.endpoint, \
                 user_auth.command, or secret with user_auth.user_data in the config file)"
                    .into(),
            ));
        }
    })
}

fn endpoint(
    url: &str,
    transport: AuthTransport,
    params: &Params,
    headers: &Headers,
    timeout: Duration,
    tls: &Arc<rustls::ClientConfig>,
    what: &str,
) -> Result<EndpointAuthorizer, SetupError> {
    EndpointAuthorizer::new(url, params.to_vec(), headers.to_vec(), timeout)
        .and_then(|e| e.with_transport(transport))
        .and_then(|e| e.with_tls(tls.clone()))
        .map_err(|e| SetupError::Invalid(format!("{what}: {e}")))
}

/// The command as one shell line: an argument vector from the config file is quoted so
/// that `sh -c` sees exactly those arguments.
fn shell_line(command: &ExternalCommand) -> String {
    match command {
        ExternalCommand::Shell(line) => line.clone(),
        ExternalCommand::Argv(argv) => argv
            .iter()
            .map(|a| shell_quote(a))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:=@%+,".contains(c));
    if plain {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// The signed HTTP API, when the app id and the secret are both known.
fn http_api(settings: &Settings) -> Option<HttpApi> {
    let app_id = settings.app_id.as_ref()?;
    let secret = settings.secret.as_ref()?;
    let api = &settings.api;
    let scheme = if api.tls { "https" } else { "http" };
    let host = if api.host.contains(':') {
        format!("[{}]", api.host)
    } else {
        api.host.clone()
    };
    Some(HttpApi::new(
        format!("{scheme}://{host}:{}", api.port),
        app_id,
        &settings.key,
        secret.expose(),
    ))
}

#[cfg(test)]
mod tests;
