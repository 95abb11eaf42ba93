//! Command-line options. Every value is checked while parsing, so a bad flag stops the
//! program with exit code 2 and a message that names the flag (clap's own error path).

use crate::connection::transport::KNOWN_TRANSPORTS;
use crate::connection::{Endpoint, MachineConfig, Transports};
use crate::protocol::channel::validate_channel_name;
use clap::{ArgAction, ArgGroup, Args, Parser};
use serde_json::Value;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// The longest duration any timing flag accepts: longer is surely a typo, and keeps every
/// `Instant + duration` far from overflow.
const MAX_DURATION: Duration = Duration::from_secs(30 * 24 * 3600);

#[derive(Debug, Clone, Parser)]
#[command(
    name = "chanwatch",
    version,
    about = "Watch a Pusher Channels (protocol 7) connection: a terminal dashboard, or NDJSON with --headless",
    after_help = "Durations take human forms: 500ms, 2s, 1m, 1h 30m."
)]
pub struct Cli {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    #[command(flatten)]
    pub timing: TimingArgs,
    #[command(flatten)]
    pub channels: ChannelArgs,
    #[command(flatten)]
    pub auth: AuthArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    // A future `demo` subcommand goes here, with `subcommand_negates_reqs` on the command so
    // that `--key` and `--cluster`/`--host` stop being required for it.
}

#[derive(Debug, Clone, Args)]
#[command(
    next_help_heading = "Connection",
    group(ArgGroup::new("server").required(true).multiple(false))
)]
pub struct ConnectionArgs {
    /// The app key (never the secret).
    #[arg(long, required = true, value_parser = parse_key)]
    pub key: Option<String>,
    /// Pusher cluster, e.g. eu or mt1: connects to ws-CLUSTER.pusher.com.
    #[arg(long, group = "server", value_parser = parse_host)]
    pub cluster: Option<String>,
    /// Server host name or address (sockudo, soketi, Reverb, ...), instead of --cluster.
    #[arg(long, group = "server", value_parser = parse_host)]
    pub host: Option<String>,
    /// Port for plain ws:// connections.
    #[arg(long, default_value_t = 80, value_name = "PORT")]
    pub ws_port: u16,
    /// Port for TLS wss:// connections.
    #[arg(long, default_value_t = 443, value_name = "PORT")]
    pub wss_port: u16,
    /// Use TLS (wss://); this is the default.
    #[arg(long, overrides_with = "no_tls")]
    pub tls: bool,
    /// Use plain ws:// (falls back to wss:// if the ws transport is disabled).
    #[arg(long, overrides_with = "tls")]
    pub no_tls: bool,
    /// Path prefix before /app/KEY, e.g. /ws behind a proxy.
    #[arg(long, value_parser = parse_path, default_value = "", hide_default_value = true)]
    pub path: String,
    /// Transports that may be used (comma list: ws, wss; HTTP fallbacks are reported as unsupported).
    #[arg(long, value_delimiter = ',', value_parser = parse_transport, value_name = "LIST")]
    pub enabled_transports: Option<Vec<String>>,
    /// Transports that must not be used (comma list); wins over --enabled-transports.
    #[arg(long, value_delimiter = ',', value_parser = parse_transport, value_name = "LIST")]
    pub disabled_transports: Vec<String>,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Timing")]
pub struct TimingArgs {
    /// Ping after this long without an inbound frame (the server's value wins if smaller).
    #[arg(long, default_value = "120s", value_parser = parse_duration, value_name = "DURATION", allow_hyphen_values = true)]
    pub activity_timeout: Duration,
    /// Reconnect when nothing arrives this long after a ping.
    #[arg(long, default_value = "30s", value_parser = parse_duration, value_name = "DURATION", allow_hyphen_values = true)]
    pub pong_timeout: Duration,
    /// Report `unavailable` after trying to connect for this long.
    #[arg(long, default_value = "10s", value_parser = parse_duration, value_name = "DURATION", allow_hyphen_values = true)]
    pub unavailable_timeout: Duration,
    /// The longest wait between connection attempts.
    #[arg(long, default_value = "15s", value_parser = parse_duration, value_name = "DURATION", allow_hyphen_values = true)]
    pub retry_cap: Duration,
    /// Give up on an attempt that has not completed the Pusher handshake by then.
    #[arg(long, default_value = "15s", value_parser = parse_duration, value_name = "DURATION", allow_hyphen_values = true)]
    pub handshake_timeout: Duration,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Channels")]
pub struct ChannelArgs {
    /// Subscribe to CHANNEL at start (repeatable).
    #[arg(short = 's', long = "subscribe", value_parser = parse_channel, value_name = "CHANNEL", action = ArgAction::Append)]
    pub subscribe: Vec<String>,
}

/// How private and presence channels get signed. Plain data: the authorizer is built from it.
#[derive(Clone, Args, Default)]
#[command(next_help_heading = "Authorization")]
pub struct AuthArgs {
    /// App secret: sign subscriptions locally (HMAC-SHA256). Never shown or logged.
    #[arg(long, value_parser = parse_nonempty, value_name = "SECRET")]
    pub secret: Option<String>,
    /// Authorization endpoint: POST socket_id and channel_name as a form.
    #[arg(long, value_parser = parse_endpoint, value_name = "URL")]
    pub auth_endpoint: Option<url::Url>,
    /// Extra form parameter for the auth endpoint, k=v (repeatable).
    #[arg(long = "auth-param", value_parser = crate::auth::parse_param, value_name = "K=V", action = ArgAction::Append)]
    pub auth_params: Vec<(String, String)>,
    /// Extra header for the auth endpoint, 'Name: value' (repeatable).
    #[arg(long = "auth-header", value_parser = crate::auth::parse_header, value_name = "'K: V'", action = ArgAction::Append)]
    pub auth_headers: Vec<(String, String)>,
    /// Presence user id when signing locally (a random id when absent).
    #[arg(long, value_parser = parse_nonempty, value_name = "ID")]
    pub user_id: Option<String>,
    /// Presence user_info as JSON when signing locally.
    #[arg(long, value_parser = parse_json, value_name = "JSON")]
    pub user_info: Option<Value>,
    /// Give up on an authorization request after this long.
    #[arg(long, default_value = "10s", value_parser = parse_duration, value_name = "DURATION", allow_hyphen_values = true)]
    pub auth_timeout: Duration,
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
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .field(
                "auth_endpoint",
                &self.auth_endpoint.as_ref().map(|u| u.as_str()),
            )
            .field("auth_params", &self.auth_params)
            .field("auth_headers", &headers)
            .field("user_id", &self.user_id)
            .field("user_info", &self.user_info)
            .field("auth_timeout", &self.auth_timeout)
            .finish()
    }
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// No dashboard: one JSON record per line on stdout, JSON commands on stdin.
    #[arg(long)]
    pub headless: bool,
    /// Write logs to this file instead of stderr (logs never go to stdout).
    #[arg(long, value_name = "PATH")]
    pub log_file: Option<PathBuf>,
    /// More logging: -v info, -vv debug, -vvv trace (RUST_LOG is used when not given).
    #[arg(short, long, action = ArgAction::Count)]
    pub verbose: u8,
}

impl ConnectionArgs {
    /// TLS unless `--no-tls` came last.
    pub fn use_tls(&self) -> bool {
        !self.no_tls
    }

    /// The host to dial: `--host`, else the cluster's host.
    pub fn host(&self) -> String {
        match (&self.host, &self.cluster) {
            (Some(h), _) => h.clone(),
            (None, Some(c)) => Endpoint::cluster_host(c),
            // Only reachable under a future subcommand that lifts the requirement.
            (None, None) => Endpoint::cluster_host("mt1"),
        }
    }
}

/// The machine's configuration from the flags, with a fresh jitter seed so that many
/// clients dropped at once do not retry in lockstep.
pub fn machine_config(cli: &Cli) -> MachineConfig {
    let c = &cli.connection;
    let mut endpoint = Endpoint::new(c.host(), c.key.clone().unwrap_or_default());
    endpoint.ws_port = c.ws_port;
    endpoint.wss_port = c.wss_port;
    endpoint.path = c.path.clone();
    endpoint.tls = c.use_tls();
    endpoint.transports = Transports {
        enabled: c.enabled_transports.clone(),
        disabled: c.disabled_transports.clone(),
    };
    let t = &cli.timing;
    let mut config = MachineConfig::new(endpoint);
    config.activity_timeout = t.activity_timeout;
    config.pong_timeout = t.pong_timeout;
    config.unavailable_timeout = t.unavailable_timeout;
    config.retry_cap = t.retry_cap;
    config.handshake_timeout = t.handshake_timeout;
    config.seed = rand::random();
    config
}

// ---- value parsers: each error message is shown by clap after the flag's name ----

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s.trim())
        .map_err(|e| format!("{e} (examples: 500ms, 2s, 1m)"))?;
    if d.is_zero() {
        return Err("must be longer than zero".into());
    }
    if d > MAX_DURATION {
        return Err("must be at most 30 days".into());
    }
    Ok(d)
}

fn parse_transport(s: &str) -> Result<String, String> {
    let name = s.trim();
    if KNOWN_TRANSPORTS.contains(&name) {
        Ok(name.to_owned())
    } else {
        Err(format!(
            "unknown transport {name:?}; known are {}",
            KNOWN_TRANSPORTS.join(", ")
        ))
    }
}

fn parse_channel(s: &str) -> Result<String, String> {
    validate_channel_name(s)?;
    Ok(s.to_owned())
}

fn parse_key(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Err("the app key is empty".into());
    }
    if let Some(bad) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-_.~".contains(*c)))
    {
        return Err(format!(
            "the app key contains {bad:?}, which cannot go in a URL path"
        ));
    }
    Ok(s.to_owned())
}

fn parse_host(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("is empty".into());
    }
    if s.contains("://") || s.contains('/') {
        return Err(format!(
            "{s:?} looks like a URL; give only the host name (ports and paths have their own flags)"
        ));
    }
    if s.contains(char::is_whitespace) {
        return Err(format!("{s:?} contains whitespace"));
    }
    Ok(s.to_owned())
}

fn parse_path(s: &str) -> Result<String, String> {
    let s = s.trim().trim_end_matches('/');
    if s.is_empty() {
        return Ok(String::new());
    }
    if !s.starts_with('/') {
        return Err(format!("{s:?} must start with '/'"));
    }
    if s.contains(['?', '#', ' ']) {
        return Err(format!(
            "{s:?} must be a plain path (no '?', '#' or spaces)"
        ));
    }
    Ok(s.to_owned())
}

fn parse_nonempty(s: &str) -> Result<String, String> {
    if s.is_empty() {
        Err("is empty".into())
    } else {
        Ok(s.to_owned())
    }
}

fn parse_endpoint(s: &str) -> Result<url::Url, String> {
    let u = url::Url::parse(s).map_err(|e| format!("{s:?} is not a URL: {e}"))?;
    match u.scheme() {
        "http" | "https" => Ok(u),
        other => Err(format!("scheme {other:?} is not http or https")),
    }
}

fn parse_json(s: &str) -> Result<Value, String> {
    serde_json::from_str(s).map_err(|e| format!("not valid JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use clap::error::ErrorKind;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("chanwatch").chain(args.iter().copied()))
    }

    fn base() -> Vec<&'static str> {
        vec!["--key", "k", "--host", "127.0.0.1"]
    }

    fn parse_with(extra: &[&str]) -> Result<Cli, clap::Error> {
        let mut args = base();
        args.extend_from_slice(extra);
        parse(&args)
    }

    /// The rendered error, for checking that it names the flag.
    fn error_text(extra: &[&str]) -> String {
        let err = parse_with(extra).expect_err("should be rejected");
        assert_eq!(err.exit_code(), 2, "{err}");
        err.to_string()
    }

    #[test]
    fn command_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn defaults_are_pusher_js_like() {
        let cli = parse_with(&[]).unwrap();
        let m = machine_config(&cli);
        assert_eq!(m.endpoint.host, "127.0.0.1");
        assert_eq!(m.endpoint.key, "k");
        assert_eq!(m.endpoint.ws_port, 80);
        assert_eq!(m.endpoint.wss_port, 443);
        assert!(m.endpoint.tls);
        assert_eq!(m.endpoint.path, "");
        assert_eq!(m.endpoint.transports, Transports::default());
        assert_eq!(m.activity_timeout, Duration::from_secs(120));
        assert_eq!(m.pong_timeout, Duration::from_secs(30));
        assert_eq!(m.unavailable_timeout, Duration::from_secs(10));
        assert_eq!(m.retry_cap, Duration::from_secs(15));
        assert_eq!(m.handshake_timeout, Duration::from_secs(15));
        assert_eq!(cli.auth.auth_timeout, Duration::from_secs(10));
        assert!(!cli.output.headless);
        assert_eq!(cli.output.verbose, 0);
    }

    #[test]
    fn cluster_gives_pusher_host() {
        let cli = parse(&["--key", "k", "--cluster", "eu"]).unwrap();
        assert_eq!(machine_config(&cli).endpoint.host, "ws-eu.pusher.com");
    }

    #[test]
    fn durations_take_human_forms() {
        let cli = parse_with(&[
            "--activity-timeout",
            "500ms",
            "--pong-timeout",
            "2s",
            "--unavailable-timeout",
            "1m",
            "--retry-cap",
            "1m 30s",
            "--handshake-timeout",
            "3s",
            "--auth-timeout",
            "250ms",
        ])
        .unwrap();
        let m = machine_config(&cli);
        assert_eq!(m.activity_timeout, Duration::from_millis(500));
        assert_eq!(m.pong_timeout, Duration::from_secs(2));
        assert_eq!(m.unavailable_timeout, Duration::from_secs(60));
        assert_eq!(m.retry_cap, Duration::from_secs(90));
        assert_eq!(m.handshake_timeout, Duration::from_secs(3));
        assert_eq!(cli.auth.auth_timeout, Duration::from_millis(250));
    }

    #[test]
    fn bad_durations_name_the_flag() {
        for (flag, value) in [
            ("--activity-timeout", "5x"),
            ("--pong-timeout", "0s"),
            ("--retry-cap", "soon"),
            ("--unavailable-timeout", "100 years"),
            ("--handshake-timeout", "-1s"),
            ("--auth-timeout", ""),
        ] {
            let text = error_text(&[flag, value]);
            assert!(text.contains(flag), "{flag}: {text}");
        }
    }

    #[test]
    fn tls_flags_last_one_wins() {
        assert!(!parse_with(&["--no-tls"]).unwrap().connection.use_tls());
        assert!(
            parse_with(&["--no-tls", "--tls"])
                .unwrap()
                .connection
                .use_tls()
        );
        assert!(
            !parse_with(&["--tls", "--no-tls"])
                .unwrap()
                .connection
                .use_tls()
        );
        let m = machine_config(&parse_with(&["--no-tls", "--ws-port", "6001"]).unwrap());
        assert!(!m.endpoint.tls);
        assert_eq!(m.endpoint.ws_port, 6001);
    }

    #[test]
    fn transports_are_checked_lists() {
        let cli = parse_with(&[
            "--enabled-transports",
            "ws,wss",
            "--disabled-transports",
            "xhr_polling",
        ])
        .unwrap();
        let m = machine_config(&cli);
        assert_eq!(
            m.endpoint.transports,
            Transports {
                enabled: Some(vec!["ws".into(), "wss".into()]),
                disabled: vec!["xhr_polling".into()],
            }
        );
        let text = error_text(&["--enabled-transports", "ws,carrier-pigeon"]);
        assert!(text.contains("--enabled-transports"), "{text}");
        assert!(text.contains("carrier-pigeon"), "{text}");
        let text = error_text(&["--disabled-transports", "ws,"]);
        assert!(text.contains("--disabled-transports"), "{text}");
    }

    #[test]
    fn channels_are_validated_at_parse_time() {
        let cli =
            parse_with(&["-s", "a", "--subscribe", "presence-room", "-s", "private-b"]).unwrap();
        assert_eq!(cli.channels.subscribe, ["a", "presence-room", "private-b"]);
        for bad in ["has space", "", "#server-to-user-1"] {
            let text = error_text(&["-s", bad]);
            assert!(text.contains("--subscribe"), "{bad:?}: {text}");
        }
        let long = "a".repeat(201);
        assert!(error_text(&["--subscribe", &long]).contains("200"));
    }

    #[test]
    fn key_and_server_are_required() {
        let err = parse(&["--host", "h"]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MissingRequiredArgument);
        assert!(err.to_string().contains("--key"), "{err}");
        let err = parse(&["--key", "k"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let err = parse(&["--key", "k", "--host", "h", "--cluster", "eu"]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ArgumentConflict);
        let text = error_text(&["--key", "a/b"]);
        assert!(text.contains("--key"), "{text}");
    }

    #[test]
    fn hosts_and_paths_are_checked() {
        assert!(error_text(&["--path", "ws"]).contains("--path"));
        let cli = parse_with(&["--path", "/ws/"]).unwrap();
        assert_eq!(machine_config(&cli).endpoint.path, "/ws");
        let text = parse(&["--key", "k", "--host", "ws://x.example"])
            .unwrap_err()
            .to_string();
        assert!(text.contains("--host"), "{text}");
        assert!(error_text(&["--ws-port", "70000"]).contains("--ws-port"));
    }

    #[test]
    fn auth_flags_are_parsed_into_plain_data() {
        let cli = parse_with(&[
            "--secret",
            "s3cr3t",
            "--auth-endpoint",
            "http://127.0.0.1:9000/pusher/auth",
            "--auth-param",
            "team=a=b",
            "--auth-param",
            "x=",
            "--auth-header",
            "Authorization: Bearer abc",
            "--auth-header",
            "X-Trace:1",
            "--user-id",
            "42",
            "--user-info",
            r#"{"name":"Ann"}"#,
        ])
        .unwrap();
        let a = &cli.auth;
        assert_eq!(a.secret.as_deref(), Some("s3cr3t"));
        assert_eq!(
            a.auth_endpoint.as_ref().map(|u| u.as_str()),
            Some("http://127.0.0.1:9000/pusher/auth")
        );
        assert_eq!(
            a.auth_params,
            [("team".into(), "a=b".into()), ("x".into(), String::new())]
        );
        assert_eq!(
            a.auth_headers,
            [
                ("Authorization".into(), "Bearer abc".into()),
                ("X-Trace".into(), "1".into())
            ]
        );
        assert_eq!(a.user_id.as_deref(), Some("42"));
        assert_eq!(a.user_info, Some(serde_json::json!({"name":"Ann"})));
        let shown = format!("{a:?}");
        assert!(
            !shown.contains("s3cr3t") && !shown.contains("Bearer"),
            "{shown}"
        );
    }

    #[test]
    fn bad_auth_values_name_the_flag() {
        for (flag, value) in [
            ("--user-info", "{name:"),
            ("--auth-param", "novalue"),
            ("--auth-header", "NoColon"),
            ("--auth-header", "Bad Name: v"),
            ("--auth-endpoint", "ftp://x/auth"),
            ("--auth-endpoint", "not a url"),
        ] {
            let text = error_text(&[flag, value]);
            assert!(text.contains(flag), "{flag} {value}: {text}");
        }
    }

    #[test]
    fn output_flags() {
        let cli = parse_with(&["--headless", "-vv", "--log-file", "/tmp/x.log"]).unwrap();
        assert!(cli.output.headless);
        assert_eq!(cli.output.verbose, 2);
        assert_eq!(cli.output.log_file, Some(PathBuf::from("/tmp/x.log")));
    }

    #[test]
    fn help_groups_options() {
        let help = Cli::command().render_help().to_string();
        for heading in [
            "Connection:",
            "Timing:",
            "Channels:",
            "Authorization:",
            "Output:",
        ] {
            assert!(help.contains(heading), "missing {heading} in\n{help}");
        }
    }
}
