//! Command-line options. Every value is checked while parsing, with the `config` module's
//! checks, so a bad flag stops the program with exit code 2 and a message that names the flag
//! (clap's own error path), in the same words a bad config file or environment value gets.
//!
//! Flags have no built-in defaults: an absent flag is `None` and leaves the value to the
//! config file, the environment or the defaults (see [`crate::config`]). [`Cli::layer`] turns
//! the flags into the highest-priority configuration layer. What is required (a key, a
//! server) is checked after merging, by [`crate::config::Settings::resolve`].
//!
//! Three values are deliberately not checked here but when the session is set up: `--url`
//! and `--encryption-master-key` hold secrets, and clap quotes a rejected value in its
//! message; the setup's messages never do.

use crate::config::{self, AuthLayer, AuthUrl, ExternalCommand, Layer, Secret, UserAuthLayer};
use chanwatch_core::auth::AuthTransport;
use chanwatch_core::pairs::{Pairs, Params};
use clap::{ArgAction, ArgGroup, Args, Parser};
use serde_json::Value;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Parser)]
#[command(
    name = "chanwatch",
    version,
    about = "Watch a Pusher Channels (protocol 7) connection: a terminal dashboard, or NDJSON with --headless",
    after_help = "Values come from, lowest priority first: built-in defaults, the config file \
                  (its base, then the chosen profile), PUSHER_* environment variables, these flags. \
                  --print-config shows the result.\n\
                  Durations take human forms: 500ms, 2s, 1m, 1h 30m.",
    subcommand_negates_reqs = true,
    args_conflicts_with_subcommands = false
)]
pub struct Cli {
    #[command(subcommand)]
    pub mode: Option<Mode>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    #[command(flatten)]
    pub timing: TimingArgs,
    #[command(flatten)]
    pub channels: ChannelArgs,
    #[command(flatten)]
    pub auth: AuthArgs,
    #[command(flatten)]
    pub user_auth: UserAuthArgs,
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub measures: measures::MeasureArgs,
    #[command(flatten)]
    pub webhooks: webhook::WebhookArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// What to watch, when it is not the server named by the flags.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Mode {
    /// Start a built-in demo server on loopback with simulated traffic and watch it: no
    /// network, no config file, no credentials. Faults can be injected (key x, or the
    /// headless `fault` command). With --nodes N, a demo cluster of N nodes.
    Demo(DemoArgs),
    /// Print a completion script for SHELL on stdout (see the README for where it goes).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on stdout, e.g. `chanwatch man > chanwatch.1`.
    Man,
    /// The config file: write a commented starter one, or show where it is looked for.
    #[command(subcommand)]
    Config(ConfigAction),
    /// Replay a recording made with --record: the dashboard at the recorded pace, or its
    /// records as NDJSON with --headless.
    Replay(crate::replay::ReplayArgs),
    /// One-shot health check for monitors, cron and probes: connect, subscribe, publish
    /// probes through the HTTP API and time their delivery; Nagios output and exit codes
    /// (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).
    Check(check::CheckArgs),
}

/// `chanwatch demo`'s own flags.
#[derive(Debug, Clone, Default, Args)]
pub struct DemoArgs {
    /// Start a demo cluster of N nodes (a, b, c ...) joined as if by a broker, and watch
    /// every node at once; cluster faults `kill_node`, `partition` and `keep_member` name a
    /// node. 1 to 9 [default: 1, one demo server].
    #[arg(long, value_name = "N", value_parser = parse_nodes)]
    pub nodes: Option<usize>,
}

impl DemoArgs {
    /// How many nodes to start: 1 is the one-server demo.
    pub fn nodes(&self) -> usize {
        self.nodes.unwrap_or(1)
    }
}

fn parse_nodes(s: &str) -> Result<usize, String> {
    let max = crate::demo::MAX_NODES;
    let n: usize = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of nodes: give 1 to {max}"))?;
    if !(1..=max).contains(&n) {
        return Err(format!("a demo has 1 to {max} nodes, not {n}"));
    }
    Ok(n)
}

/// `chanwatch config ...`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ConfigAction {
    /// Write a commented starter config file where chanwatch looks for it (or at --config
    /// PATH), with its keys in [profiles.NAME] when --profile NAME is given (1 to 64 ASCII
    /// letters, digits, '-', '_' or '.'); never overwrites a file. Prints the path.
    Init,
    /// Print the path of the config file chanwatch reads (--config, CHANWATCH_CONFIG, or
    /// the platform's config directory), whether or not it exists.
    Path,
}

#[derive(Clone, Args)]
#[command(
    next_help_heading = "Connection",
    group(ArgGroup::new("server").multiple(false))
)]
pub struct ConnectionArgs {
    /// Config file to read instead of the default one (it must exist).
    #[arg(
        global = true,
        long,
        env = "CHANWATCH_CONFIG",
        value_name = "PATH",
        hide_env_values = true
    )]
    pub config: Option<PathBuf>,
    /// Profile of the config file to apply: [profiles.NAME] (default: its default_profile).
    #[arg(global = true, long, env = "CHANWATCH_PROFILE", value_name = "NAME", value_parser = parse_nonempty, hide_env_values = true)]
    pub profile: Option<String>,
    /// Everything at once: pusher://KEY:SECRET@HOST:PORT/apps/ID (pushers:// for TLS);
    /// the other flags win over its parts.
    #[arg(global = true, long, value_name = "URL")]
    pub url: Option<String>,
    /// The app key (never the secret).
    #[arg(global = true, long, value_parser = config::check_key)]
    pub key: Option<String>,
    /// Pusher cluster, e.g. eu or mt1: connects to ws-CLUSTER.pusher.com.
    #[arg(global = true, long, group = "server", value_parser = config::check_cluster)]
    pub cluster: Option<String>,
    /// Server host name or address (sockudo, soketi, Reverb, ...), instead of --cluster.
    #[arg(global = true, long, group = "server", value_parser = config::check_host)]
    pub host: Option<String>,
    /// Port for plain ws:// connections [default: 80].
    #[arg(global = true, long, value_name = "PORT", value_parser = config::parse_port)]
    pub ws_port: Option<u16>,
    /// Port for TLS wss:// connections [default: 443].
    #[arg(global = true, long, value_name = "PORT", value_parser = config::parse_port)]
    pub wss_port: Option<u16>,
    /// Use TLS (wss://); this is the default.
    #[arg(global = true, long, overrides_with = "no_tls")]
    pub tls: bool,
    /// Use plain ws:// (falls back to wss:// if the ws transport is disabled).
    #[arg(global = true, long, overrides_with = "tls")]
    pub no_tls: bool,
    /// Path prefix before /app/KEY, e.g. /ws behind a proxy.
    #[arg(global = true, long, value_parser = config::check_path)]
    pub path: Option<String>,
    /// The Origin header sent with the WebSocket upgrade, e.g. https://app.example.com, for
    /// servers that only accept listed origins.
    #[arg(global = true, long, value_name = "URL", value_parser = config::check_origin)]
    // The help text is written for the terminal, where a bare URL reads best.
    #[allow(rustdoc::bare_urls)]
    pub origin: Option<String>,
    /// Extra header for the WebSocket upgrade, 'Name: value' (repeatable): a reverse proxy's
    /// credentials, a cookie.
    #[arg(global = true, long = "ws-header", value_parser = Sensitive(parse_ws_header), value_name = "'K: V'", action = ArgAction::Append)]
    pub ws_headers: Vec<(String, String)>,
    /// PEM file of CA certificates to trust besides the system's and the bundled ones
    /// (a private CA), for the WebSocket, the auth endpoint and the HTTP API.
    #[arg(global = true, long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// Transports that may be used (comma list: ws, wss; HTTP fallbacks are reported as unsupported).
    #[arg(global = true, long, value_delimiter = ',', value_parser = config::check_transport, value_name = "LIST")]
    pub enabled_transports: Option<Vec<String>>,
    /// Transports that must not be used (comma list); wins over --enabled-transports.
    #[arg(global = true, long, value_delimiter = ',', value_parser = config::check_transport, value_name = "LIST")]
    pub disabled_transports: Option<Vec<String>>,
}

/// `--url` may hold the secret.
impl fmt::Debug for ConnectionArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionArgs")
            .field("config", &self.config)
            .field("profile", &self.profile)
            .field("url", &self.url.as_ref().map(|_| "<hidden>"))
            .field("key", &self.key)
            .field("cluster", &self.cluster)
            .field("host", &self.host)
            .field("ws_port", &self.ws_port)
            .field("wss_port", &self.wss_port)
            .field("tls", &self.tls)
            .field("no_tls", &self.no_tls)
            .field("path", &self.path)
            .field("origin", &self.origin)
            .field(
                "ws_headers",
                &self
                    .ws_headers
                    .iter()
                    .map(|(k, _)| (k.as_str(), "***"))
                    .collect::<Vec<_>>(),
            )
            .field("ca_file", &self.ca_file)
            .field("enabled_transports", &self.enabled_transports)
            .field("disabled_transports", &self.disabled_transports)
            .finish()
    }
}

/// Several nodes of one deployment at once.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Cluster")]
pub struct ClusterArgs {
    /// Watch this node of a cluster, NAME=ws://HOST:PORT (repeatable, one connection per
    /// node), optionally ,http://HOST:PORT for its own HTTP API if not on the same port.
    /// The app (key, secret, auth) is the same on every node.
    #[arg(global = true, id = "node", long = "node", value_name = "NAME=URL", value_parser = Sensitive(config::nodes::parse_flag), action = ArgAction::Append)]
    pub nodes: Vec<config::nodes::NodeSpec>,
    /// A presence member that differs between nodes after it left one, or after its node
    /// went, is a ghost once the difference lasts this long [default: 5s].
    #[arg(global = true, long, value_parser = config::parse_duration, value_name = "DURATION")]
    pub ghost_after: Option<Duration>,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Timing")]
pub struct TimingArgs {
    /// Ping after this long without an inbound frame (the server's value wins if smaller) [default: 120s].
    #[arg(global = true, long, value_parser = config::parse_duration, value_name = "DURATION", allow_hyphen_values = true)]
    pub activity_timeout: Option<Duration>,
    /// Reconnect when nothing arrives this long after a ping [default: 30s].
    #[arg(global = true, long, value_parser = config::parse_duration, value_name = "DURATION", allow_hyphen_values = true)]
    pub pong_timeout: Option<Duration>,
    /// Report `unavailable` after trying to connect for this long [default: 10s].
    #[arg(global = true, long, value_parser = config::parse_duration, value_name = "DURATION", allow_hyphen_values = true)]
    pub unavailable_timeout: Option<Duration>,
    /// The longest wait between connection attempts [default: 15s].
    #[arg(global = true, long, value_parser = config::parse_duration, value_name = "DURATION", allow_hyphen_values = true)]
    pub retry_cap: Option<Duration>,
    /// Give up on an attempt that has not completed the Pusher handshake by then [default: 15s].
    #[arg(global = true, long, value_parser = config::parse_duration, value_name = "DURATION", allow_hyphen_values = true)]
    pub handshake_timeout: Option<Duration>,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Channels")]
pub struct ChannelArgs {
    /// Subscribe to CHANNEL at start (repeatable; replaces the config file's list).
    #[arg(global = true, short = 's', long = "subscribe", value_parser = config::check_channel, value_name = "CHANNEL", action = ArgAction::Append)]
    pub subscribe: Vec<String>,
}

/// How private, presence and encrypted channels get authorized.
#[derive(Clone, Args, Default)]
#[command(next_help_heading = "Authorization")]
pub struct AuthArgs {
    /// App secret: sign subscriptions locally (HMAC-SHA256). Never shown or logged.
    /// Prefer PUSHER_APP_SECRET or --secret-file: other users can read a command line.
    #[arg(global = true, long, value_parser = parse_secret, value_name = "SECRET")]
    pub secret: Option<Secret>,
    /// Read the app secret from this file (one trailing newline is ignored).
    #[arg(global = true, long, value_name = "PATH", conflicts_with = "secret")]
    pub secret_file: Option<PathBuf>,
    /// Authorization endpoint: POST socket_id and channel_name as a form.
    #[arg(global = true, long, value_parser = Sensitive(AuthUrl::parse), value_name = "URL")]
    pub auth_endpoint: Option<AuthUrl>,
    /// How to call the auth endpoint: ajax (form POST) or jsonp (GET with a callback) [default: ajax].
    #[arg(global = true, long, value_parser = AuthTransport::parse, value_name = "ajax|jsonp")]
    pub auth_transport: Option<AuthTransport>,
    /// Extra form parameter for the auth endpoint, k=v (repeatable).
    #[arg(global = true, long = "auth-param", value_parser = Sensitive(chanwatch_core::auth::parse_param), value_name = "K=V", action = ArgAction::Append)]
    pub auth_params: Vec<(String, String)>,
    /// Extra header for the auth endpoint, 'Name: value' (repeatable).
    #[arg(global = true, long = "auth-header", value_parser = Sensitive(chanwatch_core::auth::parse_header), value_name = "'K: V'", action = ArgAction::Append)]
    pub auth_headers: Vec<(String, String)>,
    /// Headers for the auth endpoint from a file, one 'Name: value' per line (blank lines
    /// and lines starting with # are skipped); --auth-header wins for the same name.
    #[arg(global = true, long, value_name = "PATH")]
    pub auth_header_file: Option<PathBuf>,
    /// Shell command that authorizes: gets {"socket_id","channel_name"} JSON on stdin, prints
    /// the auth JSON. Instead of --auth-endpoint.
    #[arg(global = true, long, value_parser = parse_command, value_name = "CMD", conflicts_with = "auth_endpoint")]
    pub auth_command: Option<ExternalCommand>,
    /// Presence user id when signing locally (a random id when absent).
    #[arg(global = true, long, value_parser = parse_user_id, value_name = "ID")]
    pub user_id: Option<String>,
    /// Presence user_info as a JSON object when signing locally.
    #[arg(global = true, long, value_parser = parse_user_info, value_name = "JSON")]
    pub user_info: Option<Value>,
    /// The server's encryption master key (base64 of 32 bytes), so that local signing also
    /// gives encrypted channels their key. Never shown or logged.
    #[arg(global = true, long, value_name = "BASE64")]
    pub encryption_master_key: Option<String>,
    /// Read the encryption master key (base64) from this file.
    #[arg(
        global = true,
        long,
        value_name = "PATH",
        conflicts_with = "encryption_master_key"
    )]
    pub encryption_master_key_file: Option<PathBuf>,
    /// Give up on an authorization request after this long [default: 10s].
    #[arg(global = true, long, value_parser = config::parse_duration, value_name = "DURATION", allow_hyphen_values = true)]
    pub auth_timeout: Option<Duration>,
}

/// Secrets stay out of logs and panics even when someone prints the options.
impl fmt::Debug for AuthArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .auth_headers
            .iter()
            .map(|(k, _)| (k.as_str(), "***"))
            .collect();
        f.debug_struct("AuthArgs")
            .field("secret", &self.secret)
            .field("secret_file", &self.secret_file)
            .field("auth_endpoint", &self.auth_endpoint)
            .field("auth_transport", &self.auth_transport)
            .field("auth_params", &Params::from_iter(self.auth_params.clone()))
            .field("auth_headers", &headers)
            .field("auth_header_file", &self.auth_header_file)
            .field("auth_command", &self.auth_command.as_ref().map(|_| "<set>"))
            .field("user_id", &self.user_id)
            .field("user_info", &self.user_info)
            .field(
                "encryption_master_key",
                &self.encryption_master_key.as_ref().map(|_| "<hidden>"),
            )
            .field(
                "encryption_master_key_file",
                &self.encryption_master_key_file,
            )
            .field("auth_timeout", &self.auth_timeout)
            .finish()
    }
}

/// User sign-in (`pusher:signin`). Any of these flags turns it on.
#[derive(Clone, Args, Default)]
#[command(next_help_heading = "User sign-in")]
pub struct UserAuthArgs {
    /// Sign the user in (pusher:signin) after every connect: with --user-auth-endpoint,
    /// --user-auth-command, or locally with --secret and --user-data.
    #[arg(global = true, long)]
    pub signin: bool,
    /// User authentication endpoint: POST socket_id as a form (implies --signin).
    #[arg(global = true, long, value_parser = Sensitive(AuthUrl::parse), value_name = "URL")]
    pub user_auth_endpoint: Option<AuthUrl>,
    /// How to call the user authentication endpoint: ajax or jsonp [default: ajax].
    #[arg(global = true, long, value_parser = AuthTransport::parse, value_name = "ajax|jsonp")]
    pub user_auth_transport: Option<AuthTransport>,
    /// Extra form parameter for the user authentication endpoint, k=v (repeatable).
    #[arg(global = true, long = "user-auth-param", value_parser = Sensitive(chanwatch_core::auth::parse_param), value_name = "K=V", action = ArgAction::Append)]
    pub user_auth_params: Vec<(String, String)>,
    /// Extra header for the user authentication endpoint, 'Name: value' (repeatable).
    #[arg(global = true, long = "user-auth-header", value_parser = Sensitive(chanwatch_core::auth::parse_header), value_name = "'K: V'", action = ArgAction::Append)]
    pub user_auth_headers: Vec<(String, String)>,
    /// Shell command that signs the user in: gets {"socket_id"} JSON on stdin, prints
    /// {"auth","user_data"} (implies --signin).
    #[arg(global = true, long, value_parser = parse_command, value_name = "CMD", conflicts_with = "user_auth_endpoint")]
    pub user_auth_command: Option<ExternalCommand>,
    /// The user to sign in as when signing locally with --secret: a JSON object with a string
    /// "id" (implies --signin).
    #[arg(global = true, long, value_parser = parse_user_data, value_name = "JSON")]
    pub user_data: Option<Value>,
    /// Headers for the user authentication endpoint from a file, one 'Name: value' per line.
    #[arg(global = true, long, value_name = "PATH")]
    pub user_auth_header_file: Option<PathBuf>,
}

/// A command line may carry a token as an argument.
impl fmt::Debug for UserAuthArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserAuthArgs")
            .field("signin", &self.signin)
            .field("user_auth_endpoint", &self.user_auth_endpoint)
            .field("user_auth_transport", &self.user_auth_transport)
            .field(
                "user_auth_params",
                &Params::from_iter(self.user_auth_params.clone()),
            )
            .field(
                "user_auth_headers",
                &self
                    .user_auth_headers
                    .iter()
                    .map(|(k, _)| (k.as_str(), "***"))
                    .collect::<Vec<_>>(),
            )
            .field(
                "user_auth_command",
                &self.user_auth_command.as_ref().map(|_| "<set>"),
            )
            .field("user_data", &self.user_data)
            .field("user_auth_header_file", &self.user_auth_header_file)
            .finish()
    }
}

#[derive(Debug, Clone, Args, Default)]
#[command(next_help_heading = "HTTP API")]
pub struct ApiArgs {
    /// The app id: with the secret, enables the signed HTTP API (publishing, channel queries).
    #[arg(global = true, long, value_parser = config::check_app_id, value_name = "ID")]
    pub app_id: Option<String>,
    /// HTTP API host, when not the WebSocket's (default: --host, or api-CLUSTER.pusher.com).
    #[arg(global = true, long, value_parser = config::check_host, value_name = "HOST")]
    pub api_host: Option<String>,
    /// HTTP API port, when not the WebSocket's.
    #[arg(global = true, long, value_parser = config::parse_port, value_name = "PORT")]
    pub api_port: Option<u16>,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// No dashboard: one JSON record per line on stdout, JSON commands on stdin.
    #[arg(long, global = true)]
    pub headless: bool,
    /// Put a fault-injection proxy on loopback between chanwatch and the server, so that
    /// cut/drop/down/delay faults can be injected (always on in the demo).
    #[arg(long, global = true)]
    pub fault_proxy: bool,
    /// Print the merged configuration (secrets masked) and where it came from, then exit.
    #[arg(global = true, long)]
    pub print_config: bool,
    /// How many events the dashboard's log keeps [default: 10000].
    #[arg(global = true, long, value_parser = parse_log_ring, value_name = "N")]
    pub log_ring: Option<usize>,
    /// The most memory the dashboard's log may use, e.g. 64MiB; the oldest events go first
    /// [default: 64MiB].
    #[arg(global = true, long, value_parser = config::check_log_bytes, value_name = "SIZE")]
    pub log_bytes: Option<u64>,
    /// Record the session to this file: every record, as headless mode prints it, and the
    /// commands issued, after a header line (see `chanwatch replay`).
    #[arg(long, global = true, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Write logs to this file instead of stderr (logs never go to stdout).
    #[arg(global = true, long, value_name = "PATH")]
    pub log_file: Option<PathBuf>,
    /// More logging: -v info, -vv debug, -vvv trace (RUST_LOG is used when not given).
    #[arg(global = true, short, long, action = ArgAction::Count)]
    pub verbose: u8,
}

impl ConnectionArgs {
    /// `--tls` / `--no-tls`, whichever came last; `None` when neither was given.
    pub fn tls(&self) -> Option<bool> {
        match (self.tls, self.no_tls) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        }
    }
}

impl Cli {
    /// The flags as the highest-priority configuration layer: every flag that was not given
    /// is `None`, so it leaves the value to the lower layers. `--url` is carried as given
    /// (the layer expands it when merging). The encryption master key is not configuration
    /// (it is not in any file); the setup reads it from [`AuthArgs`].
    pub fn layer(&self) -> Layer {
        let c = &self.connection;
        let t = &self.timing;
        Layer {
            url: c.url.clone(),
            key: c.key.clone(),
            secret: self.auth.secret.clone(),
            app_id: self.api.app_id.clone(),
            cluster: c.cluster.clone(),
            host: c.host.clone(),
            ws_port: c.ws_port,
            wss_port: c.wss_port,
            tls: c.tls(),
            path: c.path.clone(),
            origin: c.origin.clone(),
            ws_headers: pairs(&c.ws_headers),
            ca_file: c.ca_file.clone(),
            activity_timeout: t.activity_timeout,
            pong_timeout: t.pong_timeout,
            unavailable_timeout: t.unavailable_timeout,
            retry_cap: t.retry_cap,
            handshake_timeout: t.handshake_timeout,
            enabled_transports: c.enabled_transports.clone(),
            disabled_transports: c.disabled_transports.clone(),
            subscribe: non_empty(self.channels.subscribe.clone()),
            log_ring: self.output.log_ring,
            log_bytes: self.output.log_bytes,
            legacy_auth_endpoint: None,
            legacy_auth_transport: None,
            auth: self.auth.layer(),
            user_auth: self.user_auth.layer(),
            api: self.api.layer(),
            // The dashboard's keys and colours are set in the config file only.
            keys: None,
            theme: None,
            measures: self.measures.layer(),
            webhook_listen: self.webhooks.webhook_listen,
            webhook_path: self.webhooks.webhook_path.clone(),
            webhook_forward: self.webhooks.webhook_forward.clone(),
            nodes: non_empty(self.cluster.nodes.clone()),
            ghost_after: self.cluster.ghost_after,
        }
    }
}

impl AuthArgs {
    fn layer(&self) -> Option<AuthLayer> {
        let layer = AuthLayer {
            endpoint: self.auth_endpoint.clone(),
            transport: self.auth_transport,
            params: pairs(&self.auth_params),
            headers: pairs(&self.auth_headers),
            command: self.auth_command.clone(),
            timeout: self.auth_timeout,
            user_id: self.user_id.clone(),
            user_info: self.user_info.clone(),
            // Checked during setup, where a bad key is reported without being quoted.
            encryption_master_key: None,
        };
        (layer != AuthLayer::default()).then_some(layer)
    }
}

impl UserAuthArgs {
    /// Naming a way to sign in on the command line means wanting to sign in: only `--signin`
    /// or one of these turns `enabled` on; none of them leaves it to the lower layers.
    fn layer(&self) -> Option<UserAuthLayer> {
        let wants = self.signin
            || self.user_auth_endpoint.is_some()
            || self.user_auth_command.is_some()
            || self.user_data.is_some();
        let layer = UserAuthLayer {
            enabled: wants.then_some(true),
            endpoint: self.user_auth_endpoint.clone(),
            transport: self.user_auth_transport,
            params: pairs(&self.user_auth_params),
            headers: pairs(&self.user_auth_headers),
            command: self.user_auth_command.clone(),
            user_data: self.user_data.clone(),
            ..UserAuthLayer::default()
        };
        (layer != UserAuthLayer::default()).then_some(layer)
    }
}

impl ApiArgs {
    fn layer(&self) -> Option<config::ApiLayer> {
        let layer = config::ApiLayer {
            host: self.api_host.clone(),
            port: self.api_port,
            tls: None,
        };
        (layer != config::ApiLayer::default()).then_some(layer)
    }
}

fn non_empty<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}

fn pairs<K>(v: &[(String, String)]) -> Option<Pairs<K>> {
    (!v.is_empty()).then(|| v.iter().cloned().collect())
}

// ---- value parsers: each error message is shown by clap after the flag's name ----

fn parse_nonempty(s: &str) -> Result<String, String> {
    if s.trim().is_empty() {
        Err("is empty".into())
    } else {
        Ok(s.to_owned())
    }
}

/// Parses a value that may carry a credential (an auth header, a token in an auth URL or a
/// param). clap's own error for a rejected value quotes the value; this one only names the
/// flag and says what is wrong, so a typo never prints a token to the terminal or a CI log.
#[derive(Clone)]
struct Sensitive<T>(fn(&str) -> Result<T, String>);

impl<T: Clone + Send + Sync + 'static> clap::builder::TypedValueParser for Sensitive<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        use clap::error::ErrorKind;
        let flag = arg
            .and_then(|a| a.get_long())
            .map_or_else(|| "a value".to_string(), |l| format!("--{l}"));
        let text = value.to_str().ok_or_else(|| {
            clap::Error::raw(
                ErrorKind::InvalidUtf8,
                format!("the value of {flag} is not valid UTF-8\n"),
            )
            .with_cmd(cmd)
        })?;
        (self.0)(text).map_err(|e| {
            clap::Error::raw(ErrorKind::ValueValidation, format!("invalid {flag}: {e}\n"))
                .with_cmd(cmd)
        })
    }
}

fn parse_ws_header(s: &str) -> Result<(String, String), String> {
    let (name, value) = chanwatch_core::auth::parse_header(s)?;
    config::check_ws_header(&name, &value)?;
    Ok((name, value))
}

fn parse_secret(s: &str) -> Result<Secret, String> {
    Secret::new(s)
}

fn parse_user_id(s: &str) -> Result<String, String> {
    if s.trim().is_empty() {
        Err("the user id is empty; omit it to get a random one".into())
    } else {
        Ok(s.to_owned())
    }
}

fn parse_json(s: &str) -> Result<Value, String> {
    serde_json::from_str(s).map_err(|e| format!("not valid JSON: {e}"))
}

fn parse_user_info(s: &str) -> Result<Value, String> {
    config::check_object("user_info", parse_json(s)?)
}

fn parse_user_data(s: &str) -> Result<Value, String> {
    config::check_user_data(parse_json(s)?)
}

fn parse_command(s: &str) -> Result<ExternalCommand, String> {
    if s.trim().is_empty() {
        Err("the command is empty".into())
    } else {
        Ok(ExternalCommand::Shell(s.to_owned()))
    }
}

fn parse_log_ring(s: &str) -> Result<usize, String> {
    let n: i64 = s
        .trim()
        .parse()
        .map_err(|_| format!("\"{s}\" is not a number of events"))?;
    config::check_log_ring(n)
}

pub mod check;
pub mod measures;
pub mod webhook;

#[cfg(test)]
mod tests;
