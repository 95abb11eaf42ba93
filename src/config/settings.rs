//! The final, merged configuration with every default filled in (pusher-js's
//! defaults), ready to build the connection and the authorizer from.

use super::ConfigError;
use super::keys::KeysLayer;
use super::layer::{ApiLayer, AuthLayer, Layer, UserAuthLayer};
use super::measures::MeasuresLayer;
use super::theme::ThemeLayer;
use super::values::{AuthUrl, ExternalCommand, Secret, format_duration};
use chanwatch_core::auth::AuthTransport;
use chanwatch_core::auth::DEFAULT_AUTH_TIMEOUT;
use chanwatch_core::connection::{Endpoint, MachineConfig, Transports};
use chanwatch_core::pairs::{Headers, Pairs};
use serde::{Serialize, Serializer};
use std::path::PathBuf;
use std::time::Duration;

// The connection defaults belong to the machine; the file only fills in what is missing.
pub use chanwatch_core::connection::transport::{DEFAULT_WS_PORT, DEFAULT_WSS_PORT};
pub use chanwatch_core::connection::{
    DEFAULT_ACTIVITY_TIMEOUT, DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_PONG_TIMEOUT, DEFAULT_RETRY_CAP,
    DEFAULT_UNAVAILABLE_TIMEOUT,
};
pub const DEFAULT_LOG_RING: usize = 10_000;
/// Servers debounce presence changes by a few seconds (Pusher about 3 s), so a member
/// difference between nodes is a ghost only once it outlasts that.
pub const DEFAULT_GHOST_AFTER: Duration = Duration::from_secs(5);

/// The merged configuration. `Debug` and [`Settings::to_masked_toml`] never show the
/// secret or secret-looking header and param values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<Secret>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// The host to dial: `host`, else `ws-CLUSTER.pusher.com`.
    pub host: String,
    pub ws_port: u16,
    pub wss_port: u16,
    pub tls: bool,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    #[serde(skip_serializing_if = "Pairs::is_empty")]
    pub ws_headers: Headers,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    #[serde(serialize_with = "human")]
    pub activity_timeout: Duration,
    #[serde(serialize_with = "human")]
    pub pong_timeout: Duration,
    #[serde(serialize_with = "human")]
    pub unavailable_timeout: Duration,
    #[serde(serialize_with = "human")]
    pub retry_cap: Duration,
    #[serde(serialize_with = "human")]
    pub handshake_timeout: Duration,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled_transports: Option<Vec<String>>,
    pub disabled_transports: Vec<String>,
    pub subscribe: Vec<String>,
    pub log_ring: usize,
    #[serde(serialize_with = "bytes")]
    pub log_bytes: u64,
    pub auth: ChannelAuth,
    pub user_auth: UserAuth,
    pub api: Api,
    /// The dashboard's rebound keys (the rest keep their defaults).
    #[serde(skip_serializing_if = "KeysLayer::is_empty")]
    pub keys: KeysLayer,
    /// The dashboard's colours that differ from the built-in ones.
    #[serde(skip_serializing_if = "ThemeLayer::is_empty")]
    pub theme: ThemeLayer,
    /// The probe, occupancy and stats settings given (the rest take their defaults).
    #[serde(skip_serializing_if = "MeasuresLayer::is_empty")]
    pub measures: MeasuresLayer,
    /// The webhook receiver: where it listens, its path, where it forwards (see
    /// `crate::webhook_server`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_listen: Option<std::net::SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_path: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "super::webhook::ser_forward"
    )]
    pub webhook_forward: Option<String>,
    /// The nodes watched at once; empty for one connection.
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "super::nodes::serialize_list"
    )]
    pub nodes: Vec<super::nodes::NodeSpec>,
    #[serde(serialize_with = "human")]
    pub ghost_after: Duration,
}

/// Channel authorization. The method is the endpoint, else the command, else local signing
/// with [`Settings::secret`]; see [`Settings::auth_method`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChannelAuth {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<AuthUrl>,
    pub transport: AuthTransport,
    #[serde(skip_serializing_if = "Pairs::is_empty")]
    pub params: Pairs,
    #[serde(skip_serializing_if = "Pairs::is_empty")]
    pub headers: Headers,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<ExternalCommand>,
    #[serde(serialize_with = "human")]
    pub timeout: Duration,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "json_for_toml"
    )]
    pub user_info: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_master_key: Option<Secret>,
}

/// User sign-in; off unless `enabled`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserAuth {
    pub enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<AuthUrl>,
    pub transport: AuthTransport,
    #[serde(skip_serializing_if = "Pairs::is_empty")]
    pub params: Pairs,
    #[serde(skip_serializing_if = "Pairs::is_empty")]
    pub headers: Headers,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<ExternalCommand>,
    #[serde(serialize_with = "human")]
    pub timeout: Duration,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "json_for_toml"
    )]
    pub user_data: Option<serde_json::Value>,
}

/// Where the HTTP API is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Api {
    pub host: String,
    pub port: u16,
    pub tls: bool,
}

/// How subscriptions (or the sign-in) get authorized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod<'a> {
    Endpoint(&'a AuthUrl, AuthTransport),
    Command(&'a ExternalCommand),
    Local(&'a Secret),
    None,
}

impl Settings {
    /// Fills in the defaults and checks what no single layer could: a key and a server are
    /// present, and each authorization has one method.
    pub fn resolve(layer: Layer) -> Result<Settings, ConfigError> {
        let mut layer = layer
            .normalize()
            .map_err(|message| invalid("config", message))?;
        // With nodes and no other server, the first node is the server: each node's
        // session takes its own socket and API from its entry (`Settings::for_node`).
        if let Some(first) = layer.nodes.as_ref().and_then(|n| n.first())
            && layer.host.is_none()
            && layer.cluster.is_none()
        {
            layer.host = Some(first.host.clone());
            layer.tls.get_or_insert(first.tls);
            layer.ws_port.get_or_insert(first.port);
            layer.wss_port.get_or_insert(first.port);
        }
        let key = layer.key.ok_or_else(|| {
            invalid(
                "key",
                "no app key: set key in the config file, PUSHER_APP_KEY, --key or --url \
                 (`chanwatch config init` writes a starter config file; `chanwatch demo` \
                 needs no server and no key)"
                    .into(),
            )
        })?;
        let host = match (&layer.host, &layer.cluster) {
            (Some(host), _) => host.clone(),
            (None, Some(cluster)) => Endpoint::cluster_host(cluster),
            (None, None) => {
                return Err(invalid(
                    "host",
                    "no server: set cluster (Pusher) or host (sockudo, soketi, Reverb...) in the config file, \
                     PUSHER_CLUSTER / PUSHER_HOST, --cluster / --host, or --url"
                        .into(),
                ));
            }
        };
        let tls = layer.tls.unwrap_or(true);
        let ws_port = layer.ws_port.unwrap_or(DEFAULT_WS_PORT);
        let wss_port = layer.wss_port.unwrap_or(DEFAULT_WSS_PORT);
        let api = resolve_api(
            layer.api.unwrap_or_default(),
            &layer.host,
            &layer.cluster,
            tls,
            ws_port,
            wss_port,
        );
        let auth = resolve_auth(layer.auth.unwrap_or_default())?;
        // The file's reader has checked this already, with line numbers; a layer built
        // another way is checked here.
        let keys = layer.keys.clone().unwrap_or_default();
        if let Err(e) = keys.keymap() {
            return Err(invalid(&format!("keys.{}", e.key), e.message));
        }
        if let Some(nodes) = &layer.nodes {
            super::nodes::check_list(nodes).map_err(|e| invalid("nodes", e))?;
        }
        let user_auth =
            resolve_user_auth(layer.user_auth.unwrap_or_default(), layer.secret.is_some())?;
        Ok(Settings {
            key,
            secret: layer.secret,
            app_id: layer.app_id,
            cluster: layer.cluster,
            host,
            ws_port,
            wss_port,
            tls,
            path: layer.path.unwrap_or_default(),
            origin: layer.origin,
            ws_headers: layer.ws_headers.unwrap_or_default(),
            ca_file: layer.ca_file,
            activity_timeout: layer.activity_timeout.unwrap_or(DEFAULT_ACTIVITY_TIMEOUT),
            pong_timeout: layer.pong_timeout.unwrap_or(DEFAULT_PONG_TIMEOUT),
            unavailable_timeout: layer
                .unavailable_timeout
                .unwrap_or(DEFAULT_UNAVAILABLE_TIMEOUT),
            retry_cap: layer.retry_cap.unwrap_or(DEFAULT_RETRY_CAP),
            handshake_timeout: layer.handshake_timeout.unwrap_or(DEFAULT_HANDSHAKE_TIMEOUT),
            enabled_transports: layer.enabled_transports,
            disabled_transports: layer.disabled_transports.unwrap_or_default(),
            subscribe: layer.subscribe.unwrap_or_default(),
            log_ring: layer.log_ring.unwrap_or(DEFAULT_LOG_RING),
            log_bytes: layer.log_bytes.unwrap_or(super::values::DEFAULT_LOG_BYTES),
            auth,
            user_auth,
            api,
            keys,
            theme: layer.theme.unwrap_or_default(),
            measures: layer.measures.unwrap_or_default(),
            webhook_listen: layer.webhook_listen,
            webhook_path: layer.webhook_path,
            webhook_forward: layer.webhook_forward,
            nodes: layer.nodes.unwrap_or_default(),
            ghost_after: layer.ghost_after.unwrap_or(DEFAULT_GHOST_AFTER),
        })
    }

    /// These settings for one node of [`Settings::nodes`]: its socket and HTTP API, and,
    /// when this side signs presence locally with a given user id, `ID@NODE` as the user,
    /// so that each node's connection is a member of its own.
    pub fn for_node(&self, node: &super::nodes::NodeSpec) -> Settings {
        let mut s = self.clone();
        s.host = node.host.clone();
        s.tls = node.tls;
        s.ws_port = node.port;
        s.wss_port = node.port;
        s.cluster = None;
        if let Ok(url) = url::Url::parse(&node.api) {
            s.api.tls = url.scheme() == "https";
            s.api.host = url
                .host_str()
                .unwrap_or(&node.host)
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string();
            s.api.port = url.port_or_known_default().unwrap_or(node.port);
        }
        if self.nodes.len() > 1
            && let Some(id) = &self.auth.user_id
        {
            s.auth.user_id = Some(format!("{id}@{}", node.name));
        }
        s.nodes = Vec::new();
        s
    }

    pub fn endpoint(&self) -> Endpoint {
        let mut endpoint = Endpoint::new(self.host.clone(), self.key.clone());
        endpoint.ws_port = self.ws_port;
        endpoint.wss_port = self.wss_port;
        endpoint.path = self.path.clone();
        endpoint.tls = self.tls;
        endpoint.transports = Transports {
            enabled: self.enabled_transports.clone(),
            disabled: self.disabled_transports.clone(),
        };
        endpoint
    }

    /// The state machine's configuration, with a fresh jitter seed so that many clients
    /// dropped at once do not retry in lockstep.
    pub fn machine_config(&self) -> MachineConfig {
        let mut config = MachineConfig::new(self.endpoint());
        config.activity_timeout = self.activity_timeout;
        config.pong_timeout = self.pong_timeout;
        config.unavailable_timeout = self.unavailable_timeout;
        config.retry_cap = self.retry_cap;
        config.handshake_timeout = self.handshake_timeout;
        config.seed = rand::random();
        config
    }

    /// How channel subscriptions are authorized.
    pub fn auth_method(&self) -> AuthMethod<'_> {
        method(
            &self.auth.endpoint,
            self.auth.transport,
            &self.auth.command,
            &self.secret,
        )
    }

    /// How the user signs in, when `user_auth.enabled`.
    pub fn user_auth_method(&self) -> AuthMethod<'_> {
        method(
            &self.user_auth.endpoint,
            self.user_auth.transport,
            &self.user_auth.command,
            &self.secret,
        )
    }

    /// The merged configuration as TOML (`--print-config`), secrets masked. The output is
    /// itself a valid config file (with the masked values in it).
    pub fn to_masked_toml(&self) -> String {
        toml::to_string(self)
            .unwrap_or_else(|e| format!("# cannot render the configuration: {e}\n"))
    }
}

fn method<'a>(
    endpoint: &'a Option<AuthUrl>,
    transport: AuthTransport,
    command: &'a Option<ExternalCommand>,
    secret: &'a Option<Secret>,
) -> AuthMethod<'a> {
    match (endpoint, command, secret) {
        (Some(url), _, _) => AuthMethod::Endpoint(url, transport),
        (None, Some(command), _) => AuthMethod::Command(command),
        (None, None, Some(secret)) => AuthMethod::Local(secret),
        (None, None, None) => AuthMethod::None,
    }
}

fn invalid(key: &str, message: String) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_string(),
        message,
    }
}

fn resolve_api(
    api: ApiLayer,
    host: &Option<String>,
    cluster: &Option<String>,
    tls: bool,
    ws_port: u16,
    wss_port: u16,
) -> Api {
    let tls = api.tls.unwrap_or(tls);
    // Self-hosted servers answer the API on the WebSocket's host and port; Pusher's API is
    // at api-CLUSTER.pusher.com on the standard ports.
    let (default_host, default_port) = match (host, cluster) {
        (Some(h), _) => (h.clone(), if tls { wss_port } else { ws_port }),
        (None, Some(c)) => (format!("api-{c}.pusher.com"), if tls { 443 } else { 80 }),
        (None, None) => (String::new(), 0),
    };
    Api {
        host: api.host.unwrap_or(default_host),
        port: api.port.unwrap_or(default_port),
        tls,
    }
}

fn resolve_auth(auth: AuthLayer) -> Result<ChannelAuth, ConfigError> {
    if auth.endpoint.is_some() && auth.command.is_some() {
        return Err(invalid(
            "auth",
            "auth.endpoint and auth.command are both set; choose one way to authorize".into(),
        ));
    }
    Ok(ChannelAuth {
        endpoint: auth.endpoint,
        transport: auth.transport.unwrap_or_default(),
        params: auth.params.unwrap_or_default(),
        headers: auth.headers.unwrap_or_default(),
        command: auth.command,
        timeout: auth.timeout.unwrap_or(DEFAULT_AUTH_TIMEOUT),
        user_id: auth.user_id,
        user_info: auth.user_info,
        encryption_master_key: auth.encryption_master_key,
    })
}

fn resolve_user_auth(user: UserAuthLayer, has_secret: bool) -> Result<UserAuth, ConfigError> {
    if user.endpoint.is_some() && user.command.is_some() {
        return Err(invalid(
            "user_auth",
            "user_auth.endpoint and user_auth.command are both set; choose one way to sign in"
                .into(),
        ));
    }
    let enabled = user.enabled.unwrap_or(false);
    if enabled && user.endpoint.is_none() && user.command.is_none() {
        if !has_secret {
            return Err(invalid(
                "user_auth",
                "user sign-in is enabled but has no way to sign: set user_auth.endpoint, \
                 user_auth.command, or the secret with user_auth.user_data"
                    .into(),
            ));
        }
        if user.user_data.is_none() {
            return Err(invalid(
                "user_auth.user_data",
                "signing in locally with the secret needs user_auth.user_data, e.g. { id = \"alice\" }"
                    .into(),
            ));
        }
    }
    Ok(UserAuth {
        enabled,
        endpoint: user.endpoint,
        transport: user.transport.unwrap_or_default(),
        params: user.params.unwrap_or_default(),
        headers: user.headers.unwrap_or_default(),
        command: user.command,
        timeout: user.timeout.unwrap_or(DEFAULT_AUTH_TIMEOUT),
        user_data: user.user_data,
    })
}

fn human<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_duration(*d))
}

/// Sizes as the config is written (`64MiB`), exactly, so that the printed config reads
/// back to the same number of bytes.
fn bytes<S: Serializer>(n: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&exact_size(*n))
}

fn exact_size(n: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    UNITS
        .iter()
        .find(|(unit, _)| n >= *unit && n.is_multiple_of(*unit))
        .map_or_else(
            || n.to_string(),
            |(unit, name)| format!("{}{name}", n / unit),
        )
}

#[cfg(test)]
#[test]
fn sizes_print_exactly_and_read_back() {
    for n in [
        64 << 20,
        1 << 20,
        3 << 30,
        (1 << 20) + 1024,
        1_500_000,
        16 << 30,
    ] {
        let text = exact_size(n);
        assert_eq!(super::check_log_bytes(&text), Ok(n), "{text}");
    }
    assert_eq!(exact_size(64 << 20), "64MiB");
}

/// TOML has no null: a JSON null inside user_info (possible from a CLI flag) is shown as
/// the string "null" rather than failing the whole rendering.
fn json_for_toml<S: Serializer>(v: &Option<serde_json::Value>, s: S) -> Result<S::Ok, S::Error> {
    fn replace_nulls(v: &serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Null => serde_json::Value::String("null".into()),
            serde_json::Value::Array(a) => a.iter().map(replace_nulls).collect(),
            serde_json::Value::Object(o) => o
                .iter()
                .map(|(k, v)| (k.clone(), replace_nulls(v)))
                .collect::<serde_json::Map<_, _>>()
                .into(),
            other => other.clone(),
        }
    }
    v.as_ref().map(replace_nulls).serialize(s)
}
