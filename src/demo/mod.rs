//! `chanwatch demo`'s built-in server: a small protocol 7 server on loopback, a test fixture
//! and a playground, not a product server.
//!
//! One port serves the WebSocket endpoint `/app/<key>`, the HTTP trigger API
//! (`POST /apps/<id>/events`, `POST /apps/<id>/batch_events`, signed as in protocol.md §9)
//! and an auth endpoint `POST /pusher/auth` (form `socket_id`, `channel_name`, optional
//! `user_id`/`user_info`) that answers like an app's backend, `shared_secret` included.
//!
//! ```no_run
//! # async fn f() -> std::io::Result<()> {
//! use chanwatch::demo::{DemoConfig, DemoServer};
//! let server = DemoServer::start(DemoConfig::default()).await?;
//! let _traffic = server.start_traffic();
//! println!("connect to {}", server.ws_url());
//! # Ok(()) }
//! ```

pub mod http;
pub mod hub;
mod server;
pub mod sign;
pub mod traffic;
pub mod webhooks;

pub use hub::{App, Publish, PublishError};
pub use traffic::Traffic;

use crate::faults::{FaultError, FaultKind};
use chanwatch_core::connection::AuthGrant;
use serde_json::Value;
use sha2::Digest;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// How the demo server is set up. Everything has a default that needs no configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoConfig {
    pub app_id: String,
    pub key: String,
    pub secret: String,
    /// Master key for `private-encrypted-` channels; by default SHA-256 of the secret, so a
    /// client given the secret could derive channel keys too.
    pub master_key: Option<[u8; 32]>,
    /// Where to listen; port 0 picks a free one. Keep it on loopback.
    pub bind: SocketAddr,
    /// Sent in `connection_established`; the server pings a socket quiet for this long.
    pub activity_timeout: Duration,
    /// After its own ping, the server closes with 4201 when nothing arrives in this time.
    pub pong_timeout: Duration,
}

impl Default for DemoConfig {
    fn default() -> DemoConfig {
        DemoConfig {
            app_id: "demo".into(),
            key: "demo-key".into(),
            secret: "demo-secret".into(),
            master_key: None,
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            activity_timeout: Duration::from_secs(120),
            pong_timeout: Duration::from_secs(30),
        }
    }
}

impl DemoConfig {
    pub fn app(&self) -> App {
        App {
            id: self.app_id.clone(),
            key: self.key.clone(),
            secret: self.secret.clone(),
            master_key: self
                .master_key
                .unwrap_or_else(|| sha2::Sha256::digest(self.secret.as_bytes()).into()),
        }
    }
}

pub struct DemoServer;

impl DemoServer {
    /// Bind and start serving on the current tokio runtime.
    pub async fn start(config: DemoConfig) -> std::io::Result<DemoHandle> {
        let (shared, listener) = server::bind(config).await?;
        let addr = listener.local_addr()?;
        let accept = tokio::spawn(server::accept_loop(shared.clone(), listener));
        Ok(DemoHandle {
            shared,
            addr,
            accept,
            webhooks: std::sync::Mutex::new(None),
        })
    }
}

/// Controls of a running demo server. Dropping it stops the server.
pub struct DemoHandle {
    shared: Arc<server::Shared>,
    addr: SocketAddr,
    accept: JoinHandle<()>,
    /// The webhook sender, once started.
    webhooks: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl DemoHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn app_id(&self) -> &str {
        &self.shared.config.app_id
    }

    pub fn key(&self) -> &str {
        &self.shared.config.key
    }

    pub fn secret(&self) -> &str {
        &self.shared.config.secret
    }

    pub fn app(&self) -> App {
        self.shared.config.app()
    }

    /// `ws://127.0.0.1:PORT/app/KEY?protocol=7&client=chanwatch-test&version=0`.
    pub fn ws_url(&self) -> String {
        format!(
            "ws://{}/app/{}?protocol=7&client=chanwatch-test&version=0",
            self.addr,
            self.key()
        )
    }

    /// `http://127.0.0.1:PORT`, the base of the HTTP API and of the auth endpoint.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/pusher/auth`, usable as a client's auth endpoint.
    pub fn auth_endpoint(&self) -> String {
        format!("http://{}/pusher/auth", self.addr)
    }

    /// Close every socket with this code and reason; returns how many were asked to close.
    pub fn close_all(&self, code: u16, reason: &str) -> usize {
        let inner = self.shared.lock();
        let deliveries = inner.hub.close_all(code, reason);
        inner.dispatch(deliveries)
    }

    /// Whether the server answers `pusher:ping` (off simulates a server that stopped answering).
    pub fn set_answer_pings(&self, on: bool) {
        self.shared.lock().hub.set_answer_pings(on);
    }

    pub fn answers_pings(&self) -> bool {
        self.shared.lock().hub.answers_pings()
    }

    /// Open WebSocket connections.
    pub fn connection_count(&self) -> usize {
        self.shared.lock().hub.conn_ids().len()
    }

    pub fn subscriber_count(&self, channel: &str) -> usize {
        self.shared.lock().hub.subscriber_count(channel)
    }

    /// Publish like the HTTP API does (encrypted and cached where the channel says so).
    /// Returns the number of sockets it went to.
    pub fn publish(&self, channel: &str, event: &str, data: &str) -> Result<usize, PublishError> {
        let mut inner = self.shared.lock();
        let deliveries = inner.hub.publish(&Publish {
            name: event.into(),
            data: data.into(),
            channels: vec![channel.into()],
            exclude_socket: None,
        })?;
        Ok(inner.dispatch(deliveries))
    }

    /// A simulated member joins presence channel `channel` (as the traffic generator's
    /// members do): `member_added` goes to its subscribers unless `id` is already there.
    /// Returns the number of sockets told.
    pub fn join_member(&self, channel: &str, id: &str, info: Value) -> usize {
        let mut inner = self.shared.lock();
        let deliveries = inner.hub.join_simulated(channel, id, info);
        inner.dispatch(deliveries)
    }

    /// A simulated member leaves again (`member_removed` unless a real socket holds `id`).
    pub fn leave_member(&self, channel: &str, id: &str) -> usize {
        let mut inner = self.shared.lock();
        let deliveries = inner.hub.leave_simulated(channel, id);
        inner.dispatch(deliveries)
    }

    /// Sign a subscription as the demo app's backend would (the same as `POST /pusher/auth`).
    pub fn authorize(
        &self,
        socket_id: &str,
        channel: &str,
        user_id: Option<&str>,
        user_info: Option<Value>,
    ) -> Result<AuthGrant, String> {
        http::authorize(&self.app(), socket_id, channel, user_id, user_info)
    }

    /// Start the traffic generator (public ticker and news, presence lobby, private chat,
    /// encrypted vault, cache status). It stops when the returned value is dropped.
    pub fn start_traffic(&self) -> Traffic {
        Traffic::spawn(self.shared.clone())
    }

    /// Apply a server-side fault: `close` (close every socket with the code), `no_pong`
    /// (stop answering pings), `restore` (answer pings again). Network faults belong to
    /// the [`crate::faults::FaultProxy`] and give [`FaultError::NeedsProxy`].
    pub fn apply_fault(&self, fault: &FaultKind) -> Result<(), FaultError> {
        match fault {
            FaultKind::Close { code } => {
                self.close_all(
                    *code,
                    chanwatch_core::protocol::codes::describe(i64::from(*code)),
                );
                Ok(())
            }
            FaultKind::NoPong => {
                self.set_answer_pings(false);
                Ok(())
            }
            FaultKind::Restore => {
                self.set_answer_pings(true);
                Ok(())
            }
            other => Err(FaultError::NeedsProxy(other.label())),
        }
    }

    /// Post the app's webhooks to `url` (see [`webhooks`]), replacing an earlier sender.
    pub fn send_webhooks_to(&self, url: String) {
        let task = webhooks::spawn(self.shared.clone(), url);
        let mut slot = self.webhooks.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(old) = slot.replace(task) {
            old.abort();
        }
    }

    /// Stop listening and close every socket with 1001. Returns at once; sockets finish
    /// their close handshake (bounded) in the background.
    pub fn stop(&self) {
        self.shared.stop();
        self.accept.abort();
        if let Some(task) = self
            .webhooks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            task.abort();
        }
    }

    pub fn is_stopped(&self) -> bool {
        self.shared.is_stopped()
    }
}

impl Drop for DemoHandle {
    fn drop(&mut self) {
        self.stop();
    }
}
