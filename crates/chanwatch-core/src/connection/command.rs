//! What the connection machine is asked to do: only what it can do itself. Faults, publishing
//! and HTTP API listings are served beside the connection, by the session.

use serde_json::Value;

/// A command for the connection. Each one changes the machine's state or goes out on the
/// socket; the machine never has to turn one away as "not mine".
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Subscribe {
        channel: String,
    },
    Unsubscribe {
        channel: String,
    },
    Disconnect,
    Connect,
    /// Send a client event (`client-` prefix) on a subscribed private or presence channel.
    Trigger {
        channel: String,
        event: String,
        data: Value,
    },
    /// Sign the user in now and after every reconnect (needs user authentication configured).
    Signin,
    /// Close the connection and stop. The machine closes as for `Disconnect`; stopping is
    /// its driver's business.
    Quit,
}
