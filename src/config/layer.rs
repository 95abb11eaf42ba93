//! One source's worth of options, every one optional: the file's base table, a profile, the
//! environment, the CLI. Layers are merged field by field with [`Layer::over`]; the final
//! values and defaults come from [`super::Settings::resolve`].
//!
//! Key names are the CLI flags' names in snake_case. Also accepted, for people coming from
//! pusher-js (see the module docs of [`super`] for the whole mapping):
//! `wsHost`, `wsPort`, `wssPort`, `wsPath`, `forceTLS`, `enabledTransports`,
//! `disabledTransports`, `appId`, `app_key`, the tables `channelAuthorization` (= `auth`) and
//! `userAuthentication` (= `user_auth`), and the legacy top-level `authEndpoint` /
//! `authTransport` (folded into `auth` by [`Layer::normalize`]).

use super::keys::KeysLayer;
use super::measures::MeasuresLayer;
use super::theme::ThemeLayer;
use super::values::{AuthUrl, ExternalCommand, Secret, de_opt, ser_opt};
use chanwatch_core::auth::AuthTransport;
use chanwatch_core::pairs::{Headers, Pairs};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    /// `pusher://KEY:SECRET@HOST:PORT/apps/ID`; its parts fill whatever this same layer
    /// leaves unset (see [`super::url_form`]). Consumed by [`Layer::normalize`].
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt::url_form"
    )]
    pub url: Option<String>,
    #[serde(
        default,
        alias = "app_key",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt::key"
    )]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<Secret>,
    #[serde(
        default,
        alias = "appId",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt::app_id"
    )]
    pub app_id: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt::cluster"
    )]
    pub cluster: Option<String>,
    #[serde(
        default,
        alias = "wsHost",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt::host"
    )]
    pub host: Option<String>,
    #[serde(
        default,
        alias = "wsPort",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt::port"
    )]
    pub ws_port: Option<u16>,
    #[serde(
        default,
        alias = "wssPort",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt::port"
    )]
    pub wss_port: Option<u16>,
    #[serde(default, alias = "forceTLS", skip_serializing_if = "Option::is_none")]
    pub tls: Option<bool>,
    #[serde(
        default,
        alias = "wsPath",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt::path"
    )]
    pub path: Option<String>,
    /// The `Origin` sent with the WebSocket upgrade, for servers with an origin allow-list.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt::origin"
    )]
    pub origin: Option<String>,
    /// Extra headers for the WebSocket upgrade (a reverse proxy's credentials, a cookie).
    /// Merged per name across layers.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt::ws_headers"
    )]
    pub ws_headers: Option<Headers>,
    /// A PEM file of CAs trusted besides the system's and the bundled ones (a private CA),
    /// for the WebSocket and the HTTP clients.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt::ca_file"
    )]
    pub ca_file: Option<PathBuf>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt::duration",
        serialize_with = "ser_opt::duration"
    )]
    pub activity_timeout: Option<Duration>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt::duration",
        serialize_with = "ser_opt::duration"
    )]
    pub pong_timeout: Option<Duration>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt::duration",
        serialize_with = "ser_opt::duration"
    )]
    pub unavailable_timeout: Option<Duration>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt::duration",
        serialize_with = "ser_opt::duration"
    )]
    pub retry_cap: Option<Duration>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt::duration",
        serialize_with = "ser_opt::duration"
    )]
    pub handshake_timeout: Option<Duration>,
    #[serde(
        default,
        alias = "enabledTransports",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt::transports"
    )]
    pub enabled_transports: Option<Vec<String>>,
    #[serde(
        default,
        alias = "disabledTransports",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt::transports"
    )]
    pub disabled_transports: Option<Vec<String>>,
    /// Channels to subscribe at start. A higher layer's list replaces a lower one's.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt::channels"
    )]
    pub subscribe: Option<Vec<String>>,
    /// Events kept in the dashboard's log.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt::log_ring"
    )]
    pub log_ring: Option<usize>,
    /// The most memory the dashboard's log may hold, e.g. "64MiB".
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt::log_bytes"
    )]
    pub log_bytes: Option<u64>,
    /// Legacy pusher-js `authEndpoint` (also `auth_endpoint`, like the CLI flag and
    /// `PUSHER_AUTH_ENDPOINT`): the same as `auth.endpoint`.
    #[serde(
        default,
        rename = "authEndpoint",
        alias = "auth_endpoint",
        skip_serializing_if = "Option::is_none"
    )]
    pub legacy_auth_endpoint: Option<AuthUrl>,
    /// Legacy pusher-js `authTransport`: the same as `auth.transport`.
    #[serde(
        default,
        rename = "authTransport",
        alias = "auth_transport",
        skip_serializing_if = "Option::is_none"
    )]
    pub legacy_auth_transport: Option<AuthTransport>,
    /// Channel authorization (pusher-js `channelAuthorization`, and its legacy `auth`).
    #[serde(
        default,
        alias = "channelAuthorization",
        skip_serializing_if = "Option::is_none"
    )]
    pub auth: Option<AuthLayer>,
    /// User sign-in (pusher-js `userAuthentication`).
    #[serde(
        default,
        alias = "userAuthentication",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_auth: Option<UserAuthLayer>,
    /// Where the HTTP API is, when it is not where the WebSocket is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<ApiLayer>,
    /// The dashboard's keys: action name to key names. Merged per action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<KeysLayer>,
    /// The dashboard's colours: role name to colour. Merged per role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theme: Option<ThemeLayer>,
    /// The latency probe, the occupancy poll and `stats` records. Merged per setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measures: Option<MeasuresLayer>,
    /// Where the webhook receiver listens (`ADDR:PORT`, or `:PORT` on loopback).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::webhook::de_listen"
    )]
    pub webhook_listen: Option<std::net::SocketAddr>,
    /// The path webhooks are posted to (default `/webhooks`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::webhook::de_path"
    )]
    pub webhook_path: Option<String>,
    /// Where received webhook requests are passed on, byte for byte.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::webhook::de_forward",
        serialize_with = "super::webhook::ser_forward"
    )]
    pub webhook_forward: Option<String>,
    /// Several nodes of one deployment, watched at once (see [`super::nodes`]). A layer
    /// that names nodes replaces the lower layer's list.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::nodes::deserialize",
        serialize_with = "super::nodes::serialize"
    )]
    pub nodes: Option<Vec<super::nodes::NodeSpec>>,
    /// How long a presence member may differ between nodes, after it left one or its node
    /// went, before it is called a ghost.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt::duration",
        serialize_with = "ser_opt::duration"
    )]
    pub ghost_after: Option<Duration>,
}

/// How private, presence and encrypted channels are authorized. Without an endpoint or a
/// command, the app secret signs locally.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthLayer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<AuthUrl>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<AuthTransport>,
    /// Extra form (ajax) or query (jsonp) parameters. Merged per name across layers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Pairs>,
    /// Extra HTTP headers (ajax only, as in pusher-js). Merged per name across layers.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt::headers"
    )]
    pub headers: Option<Headers>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<ExternalCommand>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt::duration",
        serialize_with = "ser_opt::duration"
    )]
    pub timeout: Option<Duration>,
    /// Presence identity when signing locally (a random id when absent).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt::user_id"
    )]
    pub user_id: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt::user_info"
    )]
    pub user_info: Option<serde_json::Value>,
    /// The server's encryption master key (base64 of 32 bytes): local signing then also
    /// gives `private-encrypted-` channels their key. A secret: never shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_master_key: Option<Secret>,
}

/// User sign-in (`pusher:signin`), redone after every reconnect when enabled.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserAuthLayer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<AuthUrl>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<AuthTransport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Pairs>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt::headers"
    )]
    pub headers: Option<Headers>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<ExternalCommand>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt::duration",
        serialize_with = "ser_opt::duration"
    )]
    pub timeout: Option<Duration>,
    /// What to sign in as when signing locally with the secret: `{id = "...", ...}`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt::user_data"
    )]
    pub user_data: Option<serde_json::Value>,
}

/// The HTTP API's address when it differs from the WebSocket's (by default the API is at
/// the same host and port, or at `api-CLUSTER.pusher.com` for a cluster).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiLayer {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt::host"
    )]
    pub host: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt::port"
    )]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<bool>,
}

/// `upper` where set, else `lower`; tables merge recursively.
/// Two keys that together make one choice (host or cluster, endpoint or command): the
/// higher layer's pair wins whole when it sets either of them.
fn one_choice<A, B>(
    upper: (Option<A>, Option<B>),
    lower: (Option<A>, Option<B>),
) -> (Option<A>, Option<B>) {
    if upper.0.is_some() || upper.1.is_some() {
        upper
    } else {
        lower
    }
}

fn pick<T>(upper: Option<T>, lower: Option<T>) -> Option<T> {
    upper.or(lower)
}

fn merge_with<T>(upper: Option<T>, lower: Option<T>, f: impl FnOnce(T, T) -> T) -> Option<T> {
    match (upper, lower) {
        (Some(u), Some(l)) => Some(f(u, l)),
        (u, l) => u.or(l),
    }
}

impl Layer {
    /// This layer over `lower`: each field from `self` when set, else from `lower`.
    /// Tables (`auth`, `user_auth`, `api`) merge field by field, `params` and `headers` per
    /// name; lists (`subscribe`, transports) are replaced whole.
    pub fn over(self, lower: Layer) -> Layer {
        // "Which server": `--cluster eu` over a file's `host` means the cluster.
        let (cluster, host) = one_choice((self.cluster, self.host), (lower.cluster, lower.host));
        Layer {
            url: pick(self.url, lower.url),
            key: pick(self.key, lower.key),
            secret: pick(self.secret, lower.secret),
            app_id: pick(self.app_id, lower.app_id),
            cluster,
            host,
            ws_port: pick(self.ws_port, lower.ws_port),
            wss_port: pick(self.wss_port, lower.wss_port),
            tls: pick(self.tls, lower.tls),
            path: pick(self.path, lower.path),
            origin: pick(self.origin, lower.origin),
            ws_headers: merge_with(self.ws_headers, lower.ws_headers, Headers::over),
            ca_file: pick(self.ca_file, lower.ca_file),
            activity_timeout: pick(self.activity_timeout, lower.activity_timeout),
            pong_timeout: pick(self.pong_timeout, lower.pong_timeout),
            unavailable_timeout: pick(self.unavailable_timeout, lower.unavailable_timeout),
            retry_cap: pick(self.retry_cap, lower.retry_cap),
            handshake_timeout: pick(self.handshake_timeout, lower.handshake_timeout),
            enabled_transports: pick(self.enabled_transports, lower.enabled_transports),
            disabled_transports: pick(self.disabled_transports, lower.disabled_transports),
            subscribe: pick(self.subscribe, lower.subscribe),
            log_ring: pick(self.log_ring, lower.log_ring),
            log_bytes: pick(self.log_bytes, lower.log_bytes),
            legacy_auth_endpoint: pick(self.legacy_auth_endpoint, lower.legacy_auth_endpoint),
            legacy_auth_transport: pick(self.legacy_auth_transport, lower.legacy_auth_transport),
            auth: merge_with(self.auth, lower.auth, AuthLayer::over),
            user_auth: merge_with(self.user_auth, lower.user_auth, UserAuthLayer::over),
            api: merge_with(self.api, lower.api, ApiLayer::over),
            keys: merge_with(self.keys, lower.keys, KeysLayer::over),
            theme: merge_with(self.theme, lower.theme, ThemeLayer::over),
            measures: merge_with(self.measures, lower.measures, MeasuresLayer::over),
            webhook_listen: pick(self.webhook_listen, lower.webhook_listen),
            webhook_path: pick(self.webhook_path, lower.webhook_path),
            webhook_forward: pick(self.webhook_forward, lower.webhook_forward),
            nodes: pick(self.nodes, lower.nodes),
            ghost_after: pick(self.ghost_after, lower.ghost_after),
        }
    }

    /// Makes the layer canonical, so that merging compares like with like: the `url` is
    /// expanded (its parts fill only what this layer leaves unset) and the legacy
    /// `authEndpoint` / `authTransport` move into `auth`. Setting both a legacy key and its
    /// `auth` counterpart in one layer is an error: which one was meant is unclear.
    pub fn normalize(mut self) -> Result<Layer, String> {
        if let Some(url) = self.url.take() {
            let from_url = super::url_form::parse(&url).map_err(|e| format!("url: {e}"))?;
            self = self.over(from_url);
        }
        let endpoint = self.legacy_auth_endpoint.take();
        let transport = self.legacy_auth_transport.take();
        if endpoint.is_some() || transport.is_some() {
            let auth = self.auth.get_or_insert_with(AuthLayer::default);
            if endpoint.is_some() && auth.endpoint.is_some() {
                return Err(
                    "authEndpoint and auth.endpoint are both set; keep one (they mean the same)"
                        .into(),
                );
            }
            if transport.is_some() && auth.transport.is_some() {
                return Err(
                    "authTransport and auth.transport are both set; keep one (they mean the same)"
                        .into(),
                );
            }
            auth.endpoint = auth.endpoint.take().or(endpoint);
            auth.transport = auth.transport.take().or(transport);
        }
        Ok(self)
    }
}

impl AuthLayer {
    pub fn over(self, lower: AuthLayer) -> AuthLayer {
        // "How to authorize": a layer that names a method replaces the lower one's method
        // instead of adding a second one to it.
        let (endpoint, command) = one_choice(
            (self.endpoint, self.command),
            (lower.endpoint, lower.command),
        );
        AuthLayer {
            endpoint,
            transport: pick(self.transport, lower.transport),
            params: merge_with(self.params, lower.params, Pairs::over),
            headers: merge_with(self.headers, lower.headers, Pairs::over),
            command,
            timeout: pick(self.timeout, lower.timeout),
            user_id: pick(self.user_id, lower.user_id),
            user_info: pick(self.user_info, lower.user_info),
            encryption_master_key: pick(self.encryption_master_key, lower.encryption_master_key),
        }
    }
}

impl UserAuthLayer {
    pub fn over(self, lower: UserAuthLayer) -> UserAuthLayer {
        let (endpoint, command) = one_choice(
            (self.endpoint, self.command),
            (lower.endpoint, lower.command),
        );
        UserAuthLayer {
            enabled: pick(self.enabled, lower.enabled),
            endpoint,
            transport: pick(self.transport, lower.transport),
            params: merge_with(self.params, lower.params, Pairs::over),
            headers: merge_with(self.headers, lower.headers, Pairs::over),
            command,
            timeout: pick(self.timeout, lower.timeout),
            user_data: pick(self.user_data, lower.user_data),
        }
    }
}

impl ApiLayer {
    pub fn over(self, lower: ApiLayer) -> ApiLayer {
        ApiLayer {
            host: pick(self.host, lower.host),
            port: pick(self.port, lower.port),
            tls: pick(self.tls, lower.tls),
        }
    }
}

/// Merges layers listed from lowest to highest priority (e.g. `[file, env, cli]`), each
/// normalized first. `what` names each layer for error messages.
pub fn merge(layers: Vec<(String, Layer)>) -> Result<Layer, super::ConfigError> {
    let mut merged = Layer::default();
    for (what, layer) in layers {
        let layer = layer
            .normalize()
            .map_err(|message| super::ConfigError::Invalid { key: what, message })?;
        merged = layer.over(merged);
    }
    Ok(merged)
}
