//! One Pusher-protocol server for a test, whichever it is: a real sockudo process or the
//! in-process demo server. Both serve the same app (`app1` / `testkey` / `testsecret`), so a
//! scenario passes the client identical arguments and only the server differs.

#![allow(dead_code)] // a kit for every area's tests: not every part is in use at once

use super::sockudo::{self, Sockudo};
use chanwatch::demo::{DemoConfig, DemoHandle, DemoServer};
use chanwatch_core::http_api::HttpApi;
use std::net::SocketAddr;
use std::time::Duration;

/// Which server a scenario runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind {
    Sockudo,
    Demo,
}

pub enum TestServer {
    Sockudo(Sockudo),
    /// The handle and the configuration it was started with (for [`TestServer::restart`]).
    Demo(DemoHandle, DemoConfig),
}

/// How long a restarted demo server may wait for its old port to be released.
const REBIND_WITHIN: Duration = Duration::from_secs(30);

impl TestServer {
    /// Start a server of `kind` with the tests' app and default timings.
    pub async fn start(kind: ServerKind) -> TestServer {
        TestServer::start_with_activity_timeout(kind, None).await
    }

    /// Start a server that announces (and enforces) `activity_timeout` in whole seconds, or
    /// its default when `None`.
    pub async fn start_with_activity_timeout(kind: ServerKind, secs: Option<u64>) -> TestServer {
        match kind {
            ServerKind::Sockudo => {
                let secs = secs.map(|s| s.to_string());
                let env: Vec<(&str, &str)> = secs
                    .iter()
                    .map(|s| ("ACTIVITY_TIMEOUT", s.as_str()))
                    .collect();
                TestServer::Sockudo(Sockudo::start_with(&env))
            }
            ServerKind::Demo => {
                let mut config = DemoConfig {
                    app_id: sockudo::APP_ID.into(),
                    key: sockudo::KEY.into(),
                    secret: sockudo::SECRET.into(),
                    bind: SocketAddr::from(([127, 0, 0, 1], 0)),
                    ..DemoConfig::default()
                };
                if let Some(secs) = secs {
                    config.activity_timeout = Duration::from_secs(secs);
                }
                let handle = DemoServer::start(config.clone())
                    .await
                    .unwrap_or_else(|e| panic!("demo server did not start: {e}"));
                TestServer::Demo(handle, config)
            }
        }
    }

    pub fn kind(&self) -> ServerKind {
        match self {
            TestServer::Sockudo(_) => ServerKind::Sockudo,
            TestServer::Demo(..) => ServerKind::Demo,
        }
    }

    /// For failure messages: which server a scenario failed against.
    pub fn name(&self) -> &'static str {
        match self {
            TestServer::Sockudo(_) => "sockudo",
            TestServer::Demo(..) => "demo server",
        }
    }

    /// The loopback port of the WebSocket endpoint and the HTTP API (one port on both).
    pub fn port(&self) -> u16 {
        match self {
            TestServer::Sockudo(s) => s.port(),
            TestServer::Demo(h, _) => h.addr().port(),
        }
    }

    pub fn http_base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port())
    }

    pub fn app_id(&self) -> &str {
        match self {
            TestServer::Sockudo(_) => sockudo::APP_ID,
            TestServer::Demo(h, _) => h.app_id(),
        }
    }

    pub fn key(&self) -> &str {
        match self {
            TestServer::Sockudo(_) => sockudo::KEY,
            TestServer::Demo(h, _) => h.key(),
        }
    }

    pub fn secret(&self) -> &str {
        match self {
            TestServer::Sockudo(_) => sockudo::SECRET,
            TestServer::Demo(h, _) => h.secret(),
        }
    }

    /// An HTTP API client for the tests' app.
    pub fn api(&self) -> HttpApi {
        HttpApi::new(self.http_base(), self.app_id(), self.key(), self.secret())
    }

    /// Arguments for a headless client of this server's app, plus `extra`.
    pub fn client_args(&self, extra: &[&str]) -> Vec<String> {
        let port = self.port().to_string();
        let mut args: Vec<String> = [
            "--headless",
            "--no-tls",
            "--host",
            "127.0.0.1",
            "--ws-port",
            &port,
            "--key",
            self.key(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    }

    /// Stop the server and start a fresh one on the same port with the same settings: its
    /// connections and channels are gone. sockudo is killed like a crash; the demo server
    /// stops (closing its sockets with 1001 "going away") and a new one binds the port.
    pub async fn restart(&mut self) {
        match self {
            TestServer::Sockudo(s) => s.restart(),
            TestServer::Demo(handle, config) => {
                let port = handle.addr().port();
                handle.stop();
                let config = DemoConfig {
                    bind: SocketAddr::from(([127, 0, 0, 1], port)),
                    ..config.clone()
                };
                // The old listener closes once its aborted accept task is dropped, which the
                // runtime does shortly: retry the bind, bounded.
                let deadline = tokio::time::Instant::now() + REBIND_WITHIN;
                let fresh = loop {
                    match DemoServer::start(config.clone()).await {
                        Ok(fresh) => break fresh,
                        Err(e) if tokio::time::Instant::now() > deadline => {
                            panic!("demo server did not restart on port {port}: {e}")
                        }
                        Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                    }
                };
                *self = TestServer::Demo(fresh, config);
            }
        }
    }
}
