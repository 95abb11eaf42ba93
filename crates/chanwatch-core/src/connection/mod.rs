//! The sans-IO connection state machine and the types it speaks.
//!
//! The machine never touches a socket or a clock: the client task feeds it [`Input`]s with
//! the current `Instant`, performs the [`Output`]s it returns, and calls
//! [`Machine::handle`] with [`Input::Tick`] once [`Machine::next_deadline`] has passed.
//! Tests drive it with virtual time the same way.

mod backoff;
mod command;
mod machine;
mod members;
pub mod server_values;
pub mod transport;

pub use backoff::Backoff;
pub use command::Command;
pub use machine::{Machine, SubscriptionState};
pub use members::{MAX_MEMBERS, Members};
pub use transport::{Endpoint, Transports};

use crate::protocol::Text;
use crate::record::Record;
use std::time::Duration;

/// Identifies one socket; events from an older socket are ignored.
pub type ConnId = u64;

/// pusher-js's defaults (src/core/defaults.ts), except the retry cap and handshake timeout,
/// which pusher-js hard-codes into its transport loop.
pub const DEFAULT_ACTIVITY_TIMEOUT: Duration = Duration::from_secs(120);
pub const DEFAULT_PONG_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_UNAVAILABLE_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_RETRY_CAP: Duration = Duration::from_secs(15);
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(15);

/// A connection that ends sooner than this after `connection_established` is a young loss.
/// The first in a row is still retried at once when the close asks for that (4200-4299, as
/// in a rolling restart); from the second on each counts as a failed attempt and the
/// back-off grows instead of restarting, so a server that accepts and then drops every
/// connection (a 4200 storm) sees one immediate retry, then about one attempt a second at
/// most, then fewer.
pub const DEFAULT_YOUNG_CONNECTION: Duration = Duration::from_secs(5);

/// Timing and addressing the machine needs; everything has a pusher-js-like default.
#[derive(Debug, Clone, PartialEq)]
pub struct MachineConfig {
    pub endpoint: Endpoint,
    /// Ping after this long without an inbound frame (capped by the server's value).
    pub activity_timeout: Duration,
    /// Give up on the connection when nothing arrives this long after our ping.
    pub pong_timeout: Duration,
    /// Report `unavailable` after trying to connect for this long.
    pub unavailable_timeout: Duration,
    /// The longest wait between connection attempts.
    pub retry_cap: Duration,
    /// Abandon an attempt whose socket has not said `connection_established` by then.
    pub handshake_timeout: Duration,
    /// A connection lost sooner than this after its handshake is a young loss: all but the
    /// first in a row of those back off like a failed attempt, whatever the close code
    /// ([`DEFAULT_YOUNG_CONNECTION`]).
    pub young_connection: Duration,
    /// Seed for the retry jitter, so tests are repeatable.
    pub seed: u64,
    /// Sign the user in (`pusher:signin`) on every connection.
    pub signin: bool,
}

impl MachineConfig {
    pub fn new(endpoint: Endpoint) -> MachineConfig {
        MachineConfig {
            endpoint,
            activity_timeout: DEFAULT_ACTIVITY_TIMEOUT,
            pong_timeout: DEFAULT_PONG_TIMEOUT,
            unavailable_timeout: DEFAULT_UNAVAILABLE_TIMEOUT,
            retry_cap: DEFAULT_RETRY_CAP,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            young_connection: DEFAULT_YOUNG_CONNECTION,
            seed: 0x9e37_79b9_7f4a_7c15,
            signin: false,
        }
    }
}

/// What a private/presence/encrypted subscription needs signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthRequest {
    pub channel: String,
    pub socket_id: String,
}

/// A successful authorization: the body of a 200 from an auth endpoint, or a local signature.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthGrant {
    pub auth: String,
    pub channel_data: Option<String>,
    pub shared_secret: Option<String>,
}

pub use crate::record::AuthFailureKind;

/// A failed authorization: what kind of failure, the HTTP status when there was one (a 200
/// whose body is unusable has one too), and the message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthFailure {
    pub kind: AuthFailureKind,
    pub status: Option<u16>,
    pub message: String,
}

impl AuthFailure {
    /// A failure without an HTTP status.
    pub fn new(kind: AuthFailureKind, message: impl Into<String>) -> AuthFailure {
        AuthFailure {
            kind,
            status: None,
            message: message.into(),
        }
    }

    /// The same failure, with the HTTP status of the answer it is about.
    pub fn with_status(mut self, status: u16) -> AuthFailure {
        self.status = Some(status);
        self
    }
}

/// A signed user-authentication answer: `auth` for `pusher:signin` and the exact `user_data` signed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserGrant {
    pub auth: String,
    pub user_data: String,
}

/// Everything that can happen to the machine.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A user or script command. `Command::Quit` is the driver's business; the machine
    /// treats it like `Disconnect`.
    Command(Command),
    /// The WebSocket handshake of socket `conn` completed.
    Opened { conn: ConnId },
    /// Socket `conn` could not be opened (refused, DNS, TLS, HTTP error on upgrade).
    OpenFailed { conn: ConnId, message: String },
    /// A text frame arrived: a slice of the read buffer, already checked as UTF-8, so a
    /// frame reaches the machine without being copied.
    Text { conn: ConnId, text: Text },
    /// A binary frame arrived (the protocol has none); `len` bytes.
    Binary { conn: ConnId, len: usize },
    /// A WebSocket-level ping or pong arrived: counts as activity.
    Activity { conn: ConnId },
    /// Socket `conn` closed, with the close code when the peer sent one.
    Closed {
        conn: ConnId,
        code: Option<u16>,
        reason: String,
    },
    /// The answer to an [`Output::Authorize`].
    Authorized {
        request: AuthRequest,
        result: Result<AuthGrant, AuthFailure>,
    },
    /// The answer to an [`Output::AuthenticateUser`].
    UserAuthenticated {
        socket_id: String,
        result: Result<UserGrant, AuthFailure>,
    },
    /// Time has passed; fire whatever deadlines are due.
    Tick,
}

/// Everything the machine asks the outside world to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Open a WebSocket to `url`; report back with `conn`. Drop any older socket first.
    Open { conn: ConnId, url: String },
    /// Send a text frame on socket `conn`. A `droppable` frame (a client event, whose volume
    /// the user sets) may be refused when the server has left too many unread; protocol
    /// frames (subscribes, sign-in, pings) are few and always queued.
    Send {
        conn: ConnId,
        text: String,
        droppable: bool,
    },
    /// Answer a `pusher:ping` on socket `conn`. Kept apart from `Send` so that a flood of
    /// pings queues at most one answer.
    Pong { conn: ConnId },
    /// Close socket `conn` with this code.
    Close {
        conn: ConnId,
        code: u16,
        reason: String,
    },
    /// Authorize a subscription and answer with [`Input::Authorized`].
    Authorize(AuthRequest),
    /// Authenticate the user for `pusher:signin`; answer with [`Input::UserAuthenticated`].
    AuthenticateUser { socket_id: String },
    /// Tell the watchers.
    Record(Record),
}
