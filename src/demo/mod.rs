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
//!
//! A [`DemoCluster`] is several such servers, the nodes `a`, `b`, `c` ..., each on its own
//! port with its own WebSocket endpoint, HTTP API and auth endpoint, for the same app,
//! joined as if by a broker: an event published through any node reaches every node's
//! subscribers, client events likewise, presence is cluster-wide and every node's API lists
//! the whole cluster. Its faults (`kill_node`, `partition`, `keep_member`, healed by
//! `restore`) break that the way real nodes break. One hub holds every node's sockets and a
//! view per node ([`hub::Hub`]).
//!
//! ```no_run
//! # async fn f() -> anyhow::Result<()> {
//! use chanwatch::demo::{DemoCluster, DemoConfig};
//! use chanwatch::faults::FaultKind;
//! let cluster = DemoCluster::start(DemoConfig::default(), 3).await?;
//! let b = cluster.handle("b").expect("three nodes: a, b, c");
//! println!("node b at {}", b.ws_url());
//! cluster.inject(&FaultKind::KillNode { node: "b".into() })?;
//! cluster.inject(&FaultKind::Restore)?;
//! # Ok(()) }
//! ```

pub mod http;
pub mod hub;
mod server;
pub mod sign;
pub mod traffic;
pub mod webhooks;

pub use hub::{App, NodeId, Publish, PublishError};
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
        let shared = server::start(config, 1).await?;
        let owner = Arc::new(Owner(shared.clone()));
        Ok(DemoHandle::new(shared, 0, owner))
    }
}

/// Held by a server's or cluster's handles: when the last one goes, every node stops.
struct Owner(Arc<server::Shared>);

impl Drop for Owner {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// Controls of a running demo server, or of one node of a [`DemoCluster`]. The server (the
/// cluster) stops when its last handle, and the [`DemoCluster`], are dropped.
pub struct DemoHandle {
    shared: Arc<server::Shared>,
    node: NodeId,
    addr: SocketAddr,
    _owner: Arc<Owner>,
    /// The webhook sender, once started.
    webhooks: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl DemoHandle {
    fn new(shared: Arc<server::Shared>, node: NodeId, owner: Arc<Owner>) -> DemoHandle {
        let addr = shared.nodes[node].addr;
        DemoHandle {
            shared,
            node,
            addr,
            _owner: owner,
            webhooks: std::sync::Mutex::new(None),
        }
    }

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

    /// Close every socket (of this node) with this code and reason; returns how many were
    /// asked to close.
    pub fn close_all(&self, code: u16, reason: &str) -> usize {
        let inner = self.shared.lock();
        let deliveries = inner.hub.close_all_on(self.node, code, reason);
        inner.dispatch(deliveries)
    }

    /// Whether the server answers `pusher:ping` (off simulates a server that stopped answering).
    pub fn set_answer_pings(&self, on: bool) {
        self.shared.lock().hub.set_answer_pings(self.node, on);
    }

    pub fn answers_pings(&self) -> bool {
        self.shared.lock().hub.answers_pings(self.node)
    }

    /// Open WebSocket connections (to this node).
    pub fn connection_count(&self) -> usize {
        self.shared.lock().hub.conn_ids_on(self.node).len()
    }

    /// Sockets subscribed to `channel`, as this node's HTTP API counts them (on a cluster
    /// without faults: on every node).
    pub fn subscriber_count(&self, channel: &str) -> usize {
        self.shared
            .lock()
            .hub
            .subscriber_count_via(self.node, channel)
    }

    /// Publish like the HTTP API does (encrypted and cached where the channel says so),
    /// through this node. Returns the number of sockets it went to.
    pub fn publish(&self, channel: &str, event: &str, data: &str) -> Result<usize, PublishError> {
        let mut inner = self.shared.lock();
        let deliveries = inner.hub.publish_via(
            self.node,
            &Publish {
                name: event.into(),
                data: data.into(),
                channels: vec![channel.into()],
                exclude_socket: None,
            },
        )?;
        Ok(inner.dispatch(deliveries))
    }

    /// A simulated member joins presence channel `channel` through this node (as the
    /// traffic generator's members do): `member_added` goes to its subscribers unless `id`
    /// is already there. Returns the number of sockets told.
    pub fn join_member(&self, channel: &str, id: &str, info: Value) -> usize {
        let mut inner = self.shared.lock();
        let deliveries = inner.hub.join_simulated_via(self.node, channel, id, info);
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
    /// encrypted vault, cache status). It stops when the returned value is dropped. On a
    /// cluster node it drives the whole cluster, as [`DemoCluster::start_traffic`] does.
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
            other if other.node().is_some() => Err(FaultError::NeedsDemoCluster(other.label())),
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
    /// their close handshake (bounded) in the background. On a cluster, this node only.
    pub fn stop(&self) {
        self.shared.stop_node(self.node);
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
        self.shared.is_node_stopped(self.node)
    }

    /// Whether this node is alive (not killed by `kill_node`).
    pub fn is_alive(&self) -> bool {
        self.shared.lock().hub.is_alive(self.node)
    }
}

impl Drop for DemoHandle {
    fn drop(&mut self) {
        // The nodes stop with the last handle (see `Owner`).
        if let Some(task) = self
            .webhooks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            task.abort();
        }
    }
}

/// The most nodes a [`DemoCluster`] has (`a` to `i`).
pub const MAX_NODES: usize = 9;

/// The name of node `i` of a demo cluster: `a`, `b`, `c` ...
pub fn node_name(i: NodeId) -> String {
    let letter = u8::try_from(i).ok().and_then(|i| b'a'.checked_add(i));
    match letter {
        Some(l) if l <= b'z' => char::from(l).to_string(),
        _ => format!("n{i}"),
    }
}

/// A running demo cluster: its nodes (`a`, `b`, `c` ...) and the cluster faults. Every node
/// stops when the cluster and the last of its nodes' handles are dropped (or at
/// [`DemoCluster::stop`]).
pub struct DemoCluster {
    shared: Arc<server::Shared>,
    owner: Arc<Owner>,
    names: Vec<String>,
    /// The webhook sender, once started.
    webhooks: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl DemoCluster {
    /// Start `nodes` nodes (1 to [`MAX_NODES`]) on the current tokio runtime. With port 0 in
    /// `config.bind` each node gets a free port; with port P, nodes get P, P+1 ...
    pub async fn start(config: DemoConfig, nodes: usize) -> std::io::Result<DemoCluster> {
        if !(1..=MAX_NODES).contains(&nodes) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("a demo cluster has 1 to {MAX_NODES} nodes, not {nodes}"),
            ));
        }
        let shared = server::start(config, nodes).await?;
        Ok(DemoCluster {
            owner: Arc::new(Owner(shared.clone())),
            shared,
            names: (0..nodes).map(node_name).collect(),
            webhooks: std::sync::Mutex::new(None),
        })
    }

    /// The nodes' names, in order: `a`, `b`, `c` ...
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The number of the node called `name`, or the error that names the known ones.
    pub fn node_id(&self, name: &str) -> Result<NodeId, FaultError> {
        self.names
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| FaultError::UnknownNode {
                node: name.to_string(),
                known: self.names.clone(),
            })
    }

    /// A handle on node `name`: its addresses and its own faults (`close`, `no_pong`). It
    /// keeps the cluster running as the cluster itself does.
    pub fn handle(&self, name: &str) -> Option<DemoHandle> {
        let node = self.node_id(name).ok()?;
        Some(DemoHandle::new(
            self.shared.clone(),
            node,
            self.owner.clone(),
        ))
    }

    /// A handle on every node, in order.
    pub fn handles(&self) -> Vec<DemoHandle> {
        (0..self.names.len())
            .map(|node| DemoHandle::new(self.shared.clone(), node, self.owner.clone()))
            .collect()
    }

    pub fn app(&self) -> App {
        self.shared.config.app()
    }

    /// Start the traffic generator on the cluster: publishes and simulated members take
    /// turns among the live nodes. It stops when the returned value is dropped.
    pub fn start_traffic(&self) -> Traffic {
        Traffic::spawn(self.shared.clone())
    }

    /// Post the app's webhooks (for the whole cluster) to `url`, replacing an earlier sender.
    pub fn send_webhooks_to(&self, url: String) {
        let task = webhooks::spawn(self.shared.clone(), url);
        let mut slot = self.webhooks.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(old) = slot.replace(task) {
            old.abort();
        }
    }

    /// Apply a fault to the cluster:
    ///
    /// - `kill_node`: the node dies like `kill -9`: its sockets drop without a close frame,
    ///   it refuses connections and its HTTP API stops answering. The other nodes send no
    ///   `member_removed` for its presence members: they stay on their sockets' rosters
    ///   (ghosts), while the live nodes' HTTP APIs and new subscribers no longer see them,
    ///   as on sockudo with Redis.
    /// - `partition`: the node leaves the bus: what is published through it reaches only
    ///   its own sockets, what is published elsewhere does not reach them, and presence
    ///   changes do not cross either way; its sockets and HTTP API keep working.
    /// - `keep_member`: the node keeps the members who leave through other nodes: no
    ///   `member_removed`, still listed by its API and to its new subscribers.
    /// - `restore`: killed nodes come back on their ports (empty, as restarted processes),
    ///   partitions close, kept members are released, every node answers pings again, and
    ///   every node's sockets are told what changed meanwhile (`member_removed` for ghosts,
    ///   `member_added` for members they missed), as a re-sync would.
    /// - `close` and `no_pong` act on every node (a node's own [`DemoHandle`] acts on it
    ///   alone); the network faults need a fault proxy.
    pub fn inject(&self, fault: &FaultKind) -> Result<(), FaultError> {
        let fault = fault.clone().validate()?;
        let node = fault.node().map(|name| self.node_id(name)).transpose()?;
        match (&fault, node) {
            (FaultKind::KillNode { .. }, Some(node)) => self.shared.kill_node(node),
            (FaultKind::Partition { .. }, Some(node)) => self.shared.lock().hub.partition(node),
            (FaultKind::KeepMember { .. }, Some(node)) => self.shared.lock().hub.keep_members(node),
            (FaultKind::Restore, _) => return self.restore(),
            (FaultKind::Close { .. } | FaultKind::NoPong, _) => {
                for handle in self.handles() {
                    handle.apply_fault(&fault)?;
                }
            }
            _ => return Err(FaultError::NeedsProxy(fault.label())),
        }
        Ok(())
    }

    fn restore(&self) -> Result<(), FaultError> {
        let dead: Vec<NodeId> = (0..self.names.len())
            .filter(|&node| !self.shared.lock().hub.is_alive(node))
            .collect();
        let mut stay_down = Vec::new();
        let mut failure = None;
        for node in dead {
            // A node stopped for good does not come back.
            if self.shared.is_node_stopped(node) {
                stay_down.push(node);
                continue;
            }
            if let Err(e) = self.shared.revive_listener(node) {
                stay_down.push(node);
                failure.get_or_insert(FaultError::NodeRestart {
                    node: self.names[node].clone(),
                    reason: e.to_string(),
                });
            }
        }
        let mut inner = self.shared.lock();
        let deliveries = inner.hub.heal(&stay_down);
        inner.dispatch(deliveries);
        failure.map_or(Ok(()), Err)
    }

    /// Whether node `name` is alive (not killed).
    pub fn is_alive(&self, name: &str) -> bool {
        self.node_id(name)
            .is_ok_and(|node| self.shared.lock().hub.is_alive(node))
    }

    /// Whether node `name` is cut off the bus.
    pub fn is_partitioned(&self, name: &str) -> bool {
        self.node_id(name)
            .is_ok_and(|node| self.shared.lock().hub.is_partitioned(node))
    }

    /// Whether node `name` keeps departed members.
    pub fn keeps_members(&self, name: &str) -> bool {
        self.node_id(name)
            .is_ok_and(|node| self.shared.lock().hub.keeps_members(node))
    }

    /// The ids node `name`'s sockets were told are in presence channel `channel` (its
    /// roster, ghosts included), sorted.
    pub fn roster(&self, name: &str, channel: &str) -> Vec<String> {
        self.node_id(name)
            .map(|node| self.shared.lock().hub.roster(node, channel))
            .unwrap_or_default()
    }

    /// The ids node `name`'s HTTP API lists for presence channel `channel`, sorted.
    pub fn member_ids(&self, name: &str, channel: &str) -> Vec<String> {
        self.node_id(name)
            .map(|node| self.shared.lock().hub.member_ids_via(node, channel))
            .unwrap_or_default()
    }

    /// Stop every node (sockets closed with 1001) and the webhook sender.
    pub fn stop(&self) {
        self.shared.stop();
        if let Some(task) = self
            .webhooks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            task.abort();
        }
    }
}

impl Drop for DemoCluster {
    fn drop(&mut self) {
        // The nodes stop with the last handle (see `Owner`); the webhooks with the cluster.
        if let Some(task) = self
            .webhooks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            task.abort();
        }
    }
}
