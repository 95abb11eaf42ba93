//! What a user or script asks of a session: a command for the connection, or one that the
//! session serves itself beside it (a fault, a publish, an HTTP API listing). On stdin each
//! is one flat JSON object tagged by `cmd`, the format documented in the README; [`Wire`]
//! is that shape and [`Command`] the split that code matches on.

use crate::faults::FaultKind;
use chanwatch_core::connection;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A command for a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "Line", into = "Line")]
pub enum Command {
    /// With several nodes: `command` for that node's session alone (`"node":"b"` beside
    /// `cmd` on stdin).
    OnNode { node: String, command: Box<Command> },
    /// Passed on to the client task and its connection machine.
    Connection(connection::Command),
    /// Inject a fault through the fault proxy or the demo server.
    Fault(FaultKind),
    /// Publish a server event through the signed HTTP API (needs app id and secret).
    Publish {
        channel: String,
        event: String,
        data: Value,
        /// Leave this connection out of the delivery (`socket_id` in the API call).
        exclude_self: bool,
    },
    /// List occupied channels through the HTTP API, optionally by name prefix.
    ListChannels { prefix: Option<String> },
    /// List the users of a presence channel through the HTTP API.
    ListUsers { channel: String },
    /// Poll the HTTP API for occupied channels and their counts (`on: true`) or stop.
    Occupancy { on: bool },
}

impl Command {
    /// Close the connection and end the session.
    pub const QUIT: Command = Command::Connection(connection::Command::Quit);
}

impl From<connection::Command> for Command {
    fn from(command: connection::Command) -> Command {
        Command::Connection(command)
    }
}

impl From<FaultKind> for Command {
    fn from(kind: FaultKind) -> Command {
        Command::Fault(kind)
    }
}

/// The stdin shape: `{"cmd":"subscribe","channel":"a"}`, `{"cmd":"fault","kind":"cut"}` ...
/// Its variants, their order and their fields are the format (and the order in which an
/// unknown `cmd` lists the known ones), so change them only compatibly.
#[derive(Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
enum Wire {
    Subscribe {
        channel: String,
    },
    Unsubscribe {
        channel: String,
    },
    Disconnect,
    Connect,
    Trigger {
        channel: String,
        event: String,
        #[serde(default)]
        data: Value,
    },
    /// `{"cmd":"fault","kind":"cut"}`, `{"cmd":"fault","kind":"delay","ms":200}`,
    /// `{"cmd":"fault","kind":"close","code":4200}` ... (see the README).
    Fault(FaultKind),
    Publish {
        channel: String,
        event: String,
        #[serde(default)]
        data: Value,
        #[serde(default)]
        exclude_self: bool,
    },
    ListChannels {
        #[serde(default)]
        prefix: Option<String>,
    },
    ListUsers {
        channel: String,
    },
    Signin,
    Occupancy {
        on: bool,
    },
    Quit,
}

/// A stdin line: the command, and the node it is for when there are several.
#[derive(Serialize, Deserialize)]
struct Line {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    node: Option<String>,
    #[serde(flatten)]
    wire: Wire,
}

impl From<Line> for Command {
    fn from(line: Line) -> Command {
        let mut command = Command::from(line.wire);
        let Some(node) = line.node else {
            return command;
        };
        // A fault on a whole node names it with the same `node`.
        if let Command::Fault(
            FaultKind::KillNode { node: target }
            | FaultKind::Partition { node: target }
            | FaultKind::KeepMember { node: target },
        ) = &mut command
        {
            *target = node;
            return command;
        }
        Command::OnNode {
            node,
            command: Box::new(command),
        }
    }
}

impl From<Command> for Line {
    fn from(command: Command) -> Line {
        match command {
            Command::OnNode { node, command } => Line {
                node: Some(node),
                wire: Line::from(*command).wire,
            },
            command => Line {
                node: None,
                wire: Wire::from(command),
            },
        }
    }
}

impl Command {
    /// This command for one node alone. A fault on a whole node names its node itself and
    /// stays as it is.
    pub fn on_node(self, node: &str) -> Command {
        match self {
            Command::OnNode { command, .. } => command.on_node(node),
            command @ Command::Fault(
                FaultKind::KillNode { .. }
                | FaultKind::Partition { .. }
                | FaultKind::KeepMember { .. },
            ) => command,
            command => Command::OnNode {
                node: node.to_string(),
                command: Box::new(command),
            },
        }
    }
}

impl From<Wire> for Command {
    fn from(wire: Wire) -> Command {
        use connection::Command as C;
        match wire {
            Wire::Subscribe { channel } => C::Subscribe { channel }.into(),
            Wire::Unsubscribe { channel } => C::Unsubscribe { channel }.into(),
            Wire::Disconnect => C::Disconnect.into(),
            Wire::Connect => C::Connect.into(),
            Wire::Trigger {
                channel,
                event,
                data,
            } => C::Trigger {
                channel,
                event,
                data,
            }
            .into(),
            Wire::Signin => C::Signin.into(),
            Wire::Quit => C::Quit.into(),
            Wire::Fault(kind) => Command::Fault(kind),
            Wire::Publish {
                channel,
                event,
                data,
                exclude_self,
            } => Command::Publish {
                channel,
                event,
                data,
                exclude_self,
            },
            Wire::ListChannels { prefix } => Command::ListChannels { prefix },
            Wire::ListUsers { channel } => Command::ListUsers { channel },
            Wire::Occupancy { on } => Command::Occupancy { on },
        }
    }
}

impl From<Command> for Wire {
    fn from(command: Command) -> Wire {
        use connection::Command as C;
        match command {
            Command::Connection(c) => match c {
                C::Subscribe { channel } => Wire::Subscribe { channel },
                C::Unsubscribe { channel } => Wire::Unsubscribe { channel },
                C::Disconnect => Wire::Disconnect,
                C::Connect => Wire::Connect,
                C::Trigger {
                    channel,
                    event,
                    data,
                } => Wire::Trigger {
                    channel,
                    event,
                    data,
                },
                C::Signin => Wire::Signin,
                C::Quit => Wire::Quit,
            },
            Command::Fault(kind) => Wire::Fault(kind),
            Command::Publish {
                channel,
                event,
                data,
                exclude_self,
            } => Wire::Publish {
                channel,
                event,
                data,
                exclude_self,
            },
            Command::ListChannels { prefix } => Wire::ListChannels { prefix },
            Command::ListUsers { channel } => Wire::ListUsers { channel },
            Command::Occupancy { on } => Wire::Occupancy { on },
            Command::OnNode { command, .. } => Wire::from(*command),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn commands_parse() {
        let c: Command = serde_json::from_str(r#"{"cmd":"subscribe","channel":"a"}"#).unwrap();
        assert_eq!(
            c,
            Command::Connection(connection::Command::Subscribe {
                channel: "a".into()
            })
        );
        let c: Command = serde_json::from_str(
            r#"{"cmd":"trigger","channel":"private-a","event":"client-x","data":{"k":1}}"#,
        )
        .unwrap();
        assert_eq!(
            c,
            Command::Connection(connection::Command::Trigger {
                channel: "private-a".into(),
                event: "client-x".into(),
                data: json!({"k":1})
            })
        );
        assert_eq!(
            serde_json::from_str::<Command>(r#"{"cmd":"quit"}"#).unwrap(),
            Command::QUIT
        );
        assert!(serde_json::from_str::<Command>(r#"{"cmd":"nope"}"#).is_err());
        assert_eq!(
            serde_json::from_str::<Command>(r#"{"cmd":"fault","kind":"delay","ms":200}"#).unwrap(),
            Command::Fault(FaultKind::Delay { ms: 200 })
        );
        assert!(serde_json::from_str::<Command>(r#"{"cmd":"fault","kind":"melt"}"#).is_err());
        assert_eq!(
            serde_json::from_str::<Command>(r#"{"cmd":"list_channels"}"#).unwrap(),
            Command::ListChannels { prefix: None }
        );
    }

    #[test]
    fn a_node_addresses_a_command_to_one_node() {
        let c: Command =
            serde_json::from_str(r#"{"cmd":"list_users","channel":"presence-a","node":"b"}"#)
                .unwrap();
        assert_eq!(
            c,
            Command::OnNode {
                node: "b".into(),
                command: Box::new(Command::ListUsers {
                    channel: "presence-a".into()
                })
            }
        );
        // Addressing again moves it, never nests.
        assert_eq!(
            c.clone().on_node("c"),
            Command::ListUsers {
                channel: "presence-a".into()
            }
            .on_node("c")
        );
        assert!(serde_json::from_str::<Command>(r#"{"cmd":"quit","node":7}"#).is_err());
        // A fault on a whole node already names its node: addressing leaves it alone.
        let kill = Command::Fault(FaultKind::KillNode { node: "c".into() });
        assert_eq!(kill.clone().on_node("a"), kill);
    }

    /// An unknown `cmd` is reported with the known ones in the order the README lists them.
    #[test]
    fn an_unknown_command_lists_the_known_ones_in_order() {
        let e = serde_json::from_str::<Command>(r#"{"cmd":"nope"}"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown variant `nope`, expected one of `subscribe`, `unsubscribe`, `disconnect`, \
             `connect`, `trigger`, `fault`, `publish`, `list_channels`, `list_users`, `signin`, \
             `occupancy`, `quit` at line 1 column 14"
        );
    }

    #[test]
    fn every_command_serialises_back_to_its_line() {
        for line in [
            r#"{"cmd":"subscribe","channel":"a"}"#,
            r#"{"cmd":"unsubscribe","channel":"a"}"#,
            r#"{"cmd":"disconnect"}"#,
            r#"{"cmd":"occupancy","on":true}"#,
            r#"{"cmd":"connect"}"#,
            r#"{"cmd":"trigger","channel":"private-a","event":"client-x","data":{"k":1}}"#,
            r#"{"cmd":"fault","kind":"close","code":4200}"#,
            r#"{"cmd":"publish","channel":"a","event":"e","data":"x","exclude_self":true}"#,
            r#"{"cmd":"list_channels","prefix":"presence-"}"#,
            r#"{"cmd":"list_users","channel":"presence-a"}"#,
            r#"{"cmd":"signin"}"#,
            r#"{"cmd":"quit"}"#,
            r#"{"node":"b","cmd":"publish","channel":"a","event":"e","data":"x","exclude_self":false}"#,
            r#"{"node":"c","cmd":"fault","kind":"no_pong"}"#,
            r#"{"cmd":"fault","kind":"kill_node","node":"b"}"#,
            r#"{"node":"a","cmd":"disconnect"}"#,
        ] {
            let c: Command = serde_json::from_str(line).unwrap();
            assert_eq!(serde_json::to_string(&c).unwrap(), line);
        }
    }
}
