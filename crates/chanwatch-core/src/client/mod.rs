//! The client task: runs the sans-IO [`Machine`](crate::connection::Machine) against a real
//! socket, real timers and an [`AuthProvider`]. Commands go in, stamped records come out.
//!
//! ```text
//! commands (mpsc) ─┐                       ┌─> records (bounded mpsc, backpressure)
//! socket events ───┼─> Machine::handle ──>─┼─> socket writes / opens / closes
//! auth results ────┤                       └─> auth calls (spawned)
//! next_deadline ───┘
//! ```

pub mod batch;
mod socket;
mod task;
pub mod ws;

use crate::connection::{
    AuthFailure, AuthFailureKind, AuthGrant, AuthRequest, Command, MachineConfig, UserGrant,
};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub use batch::{RecordSender, Records};
pub use socket::describe_open_error;

/// Where sockets and auth calls send the machine's inputs: in batches, a socket's being
/// whatever frames arrived together.
type InputSender = mpsc::Sender<Vec<crate::connection::Input>>;

/// How many records may wait for the watcher before the client task pauses (and with it
/// the socket reader, so a slow watcher slows the server down instead of eating memory).
pub const RECORDS_CAPACITY: usize = 4096;
/// How many commands may wait for the client task.
pub const COMMANDS_CAPACITY: usize = 256;

/// Signs private, presence and encrypted subscriptions. Implemented by the real authorizer
/// (local secret or HTTP endpoint) and by test doubles.
pub trait AuthProvider: Send + Sync + 'static {
    fn authorize(
        &self,
        req: AuthRequest,
    ) -> Pin<Box<dyn Future<Output = Result<AuthGrant, AuthFailure>> + Send>>;

    /// What authorizing `req` involves, for the auth inspector (no secrets); `null` if unknown.
    fn describe(&self, _req: &AuthRequest) -> serde_json::Value {
        serde_json::Value::Null
    }

    /// Sign the user in for `pusher:signin`. Providers without user authentication refuse.
    fn authenticate_user(
        &self,
        _socket_id: String,
    ) -> Pin<Box<dyn Future<Output = Result<UserGrant, AuthFailure>> + Send>> {
        Box::pin(async {
            Err(AuthFailure::new(
                AuthFailureKind::NotConfigured,
                "user sign-in is not configured: set a user-auth endpoint or command, \
                 or --secret with --user-data",
            ))
        })
    }
}

/// What the client task needs to start.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub machine: MachineConfig,
    /// Channels to subscribe to at start; they are queued until the connection is up.
    pub subscribe: Vec<String>,
    /// Connect at once (the CLI does); otherwise wait for a `connect` command.
    pub auto_connect: bool,
    /// Dial this address instead of the URL's host (the fault proxy), still speaking TLS
    /// and HTTP to the URL's host so certificates and Host headers stay right.
    pub connect_via: Option<std::net::SocketAddr>,
    /// The upgrade's origin and extra headers, and the CAs trusted for `wss`.
    pub dial: ws::handshake::Dial,
    /// Panic once connected: a test hook, so that a program's panic reporting can be tested
    /// on the real client task. Never set it otherwise.
    pub panic_once_connected: bool,
}

impl ClientConfig {
    /// Connect at once and subscribe to `subscribe`, directly (no proxy), with the default
    /// upgrade (no origin, no extra headers, the system's and the bundled CAs).
    pub fn new(machine: MachineConfig, subscribe: Vec<String>) -> ClientConfig {
        ClientConfig {
            machine,
            subscribe,
            auto_connect: true,
            connect_via: None,
            dial: ws::handshake::Dial::default(),
            panic_once_connected: false,
        }
    }
}

/// The watcher's side of a running client.
pub struct ClientHandle {
    pub commands: mpsc::Sender<Command>,
    /// Closes after the task has ended (after `quit`, or when `commands` is dropped); the
    /// last record before that is always a `state` record with `current: disconnected`.
    pub records: Records,
    pub task: JoinHandle<()>,
}

/// Start the client task on the current tokio runtime.
pub fn spawn(config: ClientConfig, auth: Arc<dyn AuthProvider>) -> ClientHandle {
    let (commands, command_rx) = mpsc::channel(COMMANDS_CAPACITY);
    let (record_tx, records) = batch::channel(RECORDS_CAPACITY);
    let task = tokio::spawn(task::run(config, auth, command_rx, record_tx));
    ClientHandle {
        commands,
        records,
        task,
    }
}

/// The real authorizer (local secret or HTTP endpoint) serves the client task directly.
impl AuthProvider for crate::auth::Authorizer {
    fn authorize(
        &self,
        req: AuthRequest,
    ) -> Pin<Box<dyn Future<Output = Result<AuthGrant, AuthFailure>> + Send>> {
        // Cheap: a signer or an endpoint with a shared HTTP client.
        let this = self.clone();
        Box::pin(async move { this.authorize(&req).await })
    }

    fn describe(&self, req: &AuthRequest) -> serde_json::Value {
        crate::auth::Authorizer::describe(self, req)
    }
}

/// Everything that signs for one session: channel authorization and, when configured, user
/// authentication for `pusher:signin`.
#[derive(Debug, Clone, Default)]
pub struct Authorizers {
    pub channel: crate::auth::Authorizer,
    pub user: Option<crate::auth::UserAuthenticator>,
}

impl AuthProvider for Authorizers {
    fn authorize(
        &self,
        req: AuthRequest,
    ) -> Pin<Box<dyn Future<Output = Result<AuthGrant, AuthFailure>> + Send>> {
        AuthProvider::authorize(&self.channel, req)
    }

    fn describe(&self, req: &AuthRequest) -> serde_json::Value {
        self.channel.describe(req)
    }

    fn authenticate_user(
        &self,
        socket_id: String,
    ) -> Pin<Box<dyn Future<Output = Result<UserGrant, AuthFailure>> + Send>> {
        match self.user.clone() {
            Some(user) => Box::pin(async move { user.authenticate(&socket_id).await }),
            None => AuthProvider::authenticate_user(&crate::auth::Authorizer::None, socket_id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Authorizer;

    #[tokio::test]
    async fn the_real_authorizer_is_a_provider() {
        let provider: Arc<dyn AuthProvider> = Arc::new(Authorizer::None);
        let failure = provider
            .authorize(AuthRequest {
                channel: "private-a".into(),
                socket_id: "1.2".into(),
            })
            .await
            .unwrap_err();
        assert!(failure.message.contains("--secret"), "{failure:?}");
    }
}
