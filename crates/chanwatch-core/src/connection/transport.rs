//! Where to connect: host, ports, TLS and which transports may be used. Pure URL building.

use crate::protocol::PROTOCOL_VERSION;

/// Every transport name pusher-js knows. Only the WebSocket ones exist in a terminal;
/// the HTTP fallbacks are accepted in options and reported as unsupported.
pub const KNOWN_TRANSPORTS: &[&str] = &[
    "ws",
    "wss",
    "xhr_streaming",
    "xhr_polling",
    "sockjs",
    "xdr_streaming",
    "xdr_polling",
];

pub const DEFAULT_WS_PORT: u16 = 80;
pub const DEFAULT_WSS_PORT: u16 = 443;

/// `enabledTransports` / `disabledTransports`: disabled wins over enabled.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Transports {
    pub enabled: Option<Vec<String>>,
    pub disabled: Vec<String>,
}

impl Transports {
    pub fn allows(&self, name: &str) -> bool {
        self.enabled
            .as_ref()
            .is_none_or(|e| e.iter().any(|n| n == name))
            && !self.disabled.iter().any(|n| n == name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub ws_port: u16,
    pub wss_port: u16,
    /// Prefix before `/app/KEY`, e.g. `/ws` behind a proxy; empty by default.
    pub path: String,
    pub key: String,
    /// Use TLS (the default, as in pusher-js since 6.0).
    pub tls: bool,
    pub transports: Transports,
}

impl Endpoint {
    pub fn new(host: impl Into<String>, key: impl Into<String>) -> Endpoint {
        Endpoint {
            host: host.into(),
            ws_port: DEFAULT_WS_PORT,
            wss_port: DEFAULT_WSS_PORT,
            path: String::new(),
            key: key.into(),
            tls: true,
            transports: Transports::default(),
        }
    }

    /// `ws-CLUSTER.pusher.com`, the host pusher-js derives from a cluster.
    pub fn cluster_host(cluster: &str) -> String {
        format!("ws-{cluster}.pusher.com")
    }

    pub fn url(&self, secure: bool) -> String {
        let (scheme, port) = if secure {
            ("wss", self.wss_port)
        } else {
            ("ws", self.ws_port)
        };
        let host = if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]", self.host) // a bare IPv6 address
        } else {
            self.host.clone()
        };
        format!(
            "{scheme}://{host}:{port}{}/app/{}?protocol={PROTOCOL_VERSION}&client=chanwatch&version={}",
            self.path,
            self.key,
            env!("CARGO_PKG_VERSION")
        )
    }

    /// The URLs to try, in order, as `(transport name, url)`.
    ///
    /// As in pusher-js: with TLS on only the transport named `ws` is used, dialling `wss://`;
    /// with TLS off `ws` comes first and `wss` second. Empty means the state is `failed`.
    pub fn candidates(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if self.tls {
            if self.transports.allows("ws") {
                out.push(("ws", self.url(true)));
            }
        } else {
            if self.transports.allows("ws") {
                out.push(("ws", self.url(false)));
            }
            if self.transports.allows("wss") {
                out.push(("wss", self.url(true)));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_like_pusher_js() {
        let e = Endpoint::new(Endpoint::cluster_host("eu"), "KEY");
        assert_eq!(
            e.url(true),
            format!(
                "wss://ws-eu.pusher.com:443/app/KEY?protocol=7&client=chanwatch&version={}",
                env!("CARGO_PKG_VERSION")
            )
        );
        let mut e = Endpoint::new("127.0.0.1", "k");
        e.ws_port = 6001;
        e.path = "/ws".into();
        assert!(
            e.url(false)
                .starts_with("ws://127.0.0.1:6001/ws/app/k?protocol=7")
        );
    }

    #[test]
    fn candidates_follow_transport_rules() {
        let mut e = Endpoint::new("h", "k");
        assert_eq!(e.candidates().len(), 1);
        assert!(e.candidates()[0].1.starts_with("wss://"));
        e.transports.enabled = Some(vec!["wss".into()]);
        assert!(
            e.candidates().is_empty(),
            "TLS uses only the transport named ws"
        );
        e.tls = false;
        let c = e.candidates();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].0, "wss");
        e.transports = Transports {
            enabled: None,
            disabled: vec!["ws".into(), "wss".into()],
        };
        assert!(e.candidates().is_empty());
        e.transports = Transports {
            enabled: Some(vec!["xhr_polling".into()]),
            disabled: vec![],
        };
        assert!(
            e.candidates().is_empty(),
            "HTTP fallbacks are not supported"
        );
    }

    #[test]
    fn ipv6_hosts_are_bracketed() {
        let e = Endpoint::new("::1", "k");
        assert!(e.url(true).starts_with("wss://[::1]:443/"));
    }
}
