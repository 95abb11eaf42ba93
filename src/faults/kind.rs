//! The faults as data, with a parser for typed words and for JSON objects.

use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// The longest delay accepted, so that every injected fault stays bounded.
pub const MAX_DELAY_MS: u64 = 60_000;

/// One fault. As JSON it is tagged by `kind`: `{"kind":"cut"}`, `{"kind":"delay","ms":200}`,
/// `{"kind":"close","code":4200}`, `{"kind":"no_pong"}`, `{"kind":"kill_node","node":"b"}`.
/// A node fault's `node` defaults to empty, which [`FaultKind::validate`] refuses: on a
/// stdin line the command's own `node` fills it.
/// Other fields (such as a headless command's `"cmd":"fault"`) are ignored, so a whole
/// command line parses as a fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// Stop forwarding both ways; sockets stay open (only ping/pong can tell).
    Cut,
    /// Reset every proxied connection now.
    Drop,
    /// Refuse new connections until restored.
    Down,
    /// Hold every chunk this long before forwarding it.
    Delay { ms: u64 },
    /// Undo cut, down, delay and no_pong.
    Restore,
    /// Demo server: close every socket with this code.
    Close { code: u16 },
    /// Demo server: stop answering `pusher:ping`.
    NoPong,
    /// Demo cluster: the node dies like `kill -9`: its sockets drop without a close frame,
    /// it refuses connections and its HTTP API stops answering; the other nodes never send
    /// `member_removed` for its presence members (ghosts).
    KillNode {
        #[serde(default)]
        node: String,
    },
    /// Demo cluster: the node is cut off the bus between the nodes: publishes, client
    /// events and presence changes no longer cross between it and the others, either way.
    Partition {
        #[serde(default)]
        node: String,
    },
    /// Demo cluster: the node keeps members who leave through other nodes (no
    /// `member_removed`, still listed).
    KeepMember {
        #[serde(default)]
        node: String,
    },
}

/// The longest node name a fault accepts.
pub const MAX_NODE_NAME: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultError {
    #[error("{0}")]
    Parse(String),
    /// The fault acts on the network; it needs the fault proxy between client and server.
    #[error("fault {0:?} needs the fault proxy between client and server")]
    NeedsProxy(String),
    /// The fault acts on the server; only the demo server can do it.
    #[error("fault {0:?} needs the built-in demo server")]
    NeedsDemoServer(String),
    /// The fault acts on one node of a cluster; only the demo cluster can do it.
    #[error("fault {0:?} needs the demo cluster (chanwatch demo --nodes N)")]
    NeedsDemoCluster(String),
    /// `restore` could not bring a killed node back on its port.
    #[error("node {node:?} cannot listen on its port again: {reason}")]
    NodeRestart { node: String, reason: String },
    /// The fault names a node the cluster does not have.
    #[error("no node {node:?} in this cluster; its nodes are {}", known.join(", "))]
    UnknownNode { node: String, known: Vec<String> },
}

/// Close codes a server may send in a close frame (RFC 6455 §7.4: not 1004-1006 or 1015).
fn sendable_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

impl FaultKind {
    /// Words for the timeline: `cut`, `delay 200ms`, `close 4200`, `no_pong` ...
    pub fn label(&self) -> String {
        match self {
            FaultKind::Cut => "cut".into(),
            FaultKind::Drop => "drop".into(),
            FaultKind::Down => "down".into(),
            FaultKind::Delay { ms } => format!("delay {ms}ms"),
            FaultKind::Restore => "restore".into(),
            FaultKind::Close { code } => format!("close {code}"),
            FaultKind::NoPong => "no_pong".into(),
            FaultKind::KillNode { node } => format!("kill_node {node}"),
            FaultKind::Partition { node } => format!("partition {node}"),
            FaultKind::KeepMember { node } => format!("keep_member {node}"),
        }
    }

    /// The node a cluster fault names.
    pub fn node(&self) -> Option<&str> {
        match self {
            FaultKind::KillNode { node }
            | FaultKind::Partition { node }
            | FaultKind::KeepMember { node } => Some(node),
            _ => None,
        }
    }

    /// Whether the fault proxy can apply it (`restore` is both the proxy's and the server's).
    pub fn is_network(&self) -> bool {
        matches!(
            self,
            FaultKind::Cut
                | FaultKind::Drop
                | FaultKind::Down
                | FaultKind::Delay { .. }
                | FaultKind::Restore
        )
    }

    /// Whether the demo server can apply it.
    pub fn is_server(&self) -> bool {
        matches!(
            self,
            FaultKind::Close { .. } | FaultKind::NoPong | FaultKind::Restore
        )
    }

    /// Whether the demo cluster applies it (`restore` heals the cluster too).
    pub fn is_cluster(&self) -> bool {
        self.node().is_some() || *self == FaultKind::Restore
    }

    /// Range checks that serde cannot express.
    pub fn validate(self) -> Result<FaultKind, FaultError> {
        if let Some(node) = self.node() {
            check_node_name(node)?;
        }
        match self {
            FaultKind::Delay { ms } if ms > MAX_DELAY_MS => Err(FaultError::Parse(format!(
                "delay {ms}ms is longer than the {MAX_DELAY_MS}ms limit"
            ))),
            FaultKind::Close { code } if !sendable_close_code(code) => Err(FaultError::Parse(
                format!("close code {code} cannot be sent; use 1000-1003, 1007-1014 or 3000-4999"),
            )),
            ok => Ok(ok),
        }
    }

    /// Parse a JSON object (`{"kind":"delay","ms":200}`).
    pub fn from_json(value: &serde_json::Value) -> Result<FaultKind, FaultError> {
        serde_json::from_value::<FaultKind>(value.clone())
            .map_err(|e| FaultError::Parse(format!("bad fault {value}: {e}")))?
            .validate()
    }
}

/// A node name as a fault may carry it: 1 to [`MAX_NODE_NAME`] bytes, no whitespace or
/// control characters (the typed form splits on them).
fn check_node_name(node: &str) -> Result<(), FaultError> {
    if node.is_empty() {
        return Err(FaultError::Parse("the node name is empty".into()));
    }
    if node.len() > MAX_NODE_NAME {
        return Err(FaultError::Parse(format!(
            "the node name is longer than {MAX_NODE_NAME} bytes"
        )));
    }
    if node.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(FaultError::Parse(format!(
            "bad node name {node:?}: no spaces or control characters"
        )));
    }
    Ok(())
}

const USAGE: &str = "faults are: cut, drop, down, delay <ms>, restore, close <code>, no_pong, \
                     kill_node <node>, partition <node>, keep_member <node> (or JSON {\"kind\":..})";

/// Typed words: `cut`, `drop`, `down`, `restore`, `no_pong` (or `no-pong`, `nopong`),
/// `delay 200`, `delay 200ms`, `delay 2s`, `close 4200`, `kill_node b` (or `kill-node b`),
/// `partition b`, `keep_member b` (or `keep-member b`); or a JSON object.
impl FromStr for FaultKind {
    type Err = FaultError;

    fn from_str(s: &str) -> Result<FaultKind, FaultError> {
        let s = s.trim();
        if s.starts_with('{') {
            let v: serde_json::Value = serde_json::from_str(s)
                .map_err(|e| FaultError::Parse(format!("fault is not valid JSON: {e}")))?;
            return FaultKind::from_json(&v);
        }
        let mut words = s.split(|c: char| c.is_whitespace() || c == '=' || c == ':');
        let word = words.next().unwrap_or("").to_ascii_lowercase();
        let arg = words.find(|w| !w.is_empty());
        let need = |what: &str| {
            arg.ok_or_else(|| {
                let example = match word.as_str() {
                    "delay" => "200ms",
                    "close" => "4200",
                    _ => "b",
                };
                FaultError::Parse(format!("{word} needs {what}, e.g. \"{word} {example}\""))
            })
        };
        let kind = match word.as_str() {
            "cut" => FaultKind::Cut,
            "drop" | "reset" => FaultKind::Drop,
            "down" => FaultKind::Down,
            "restore" | "heal" => FaultKind::Restore,
            "no_pong" | "no-pong" | "nopong" => FaultKind::NoPong,
            "delay" => {
                let a = need("a duration")?;
                let ms = match a.parse::<u64>() {
                    Ok(ms) => ms,
                    Err(_) => humantime::parse_duration(a)
                        .map_err(|e| FaultError::Parse(format!("bad delay {a:?}: {e}")))?
                        .as_millis()
                        .try_into()
                        .unwrap_or(u64::MAX),
                };
                FaultKind::Delay { ms }
            }
            "close" => {
                let a = need("a close code")?;
                let code = a
                    .parse::<u16>()
                    .map_err(|_| FaultError::Parse(format!("bad close code {a:?}")))?;
                FaultKind::Close { code }
            }
            "kill_node" | "kill-node" | "killnode" => FaultKind::KillNode {
                node: need("a node name")?.to_string(),
            },
            "partition" => FaultKind::Partition {
                node: need("a node name")?.to_string(),
            },
            "keep_member" | "keep-member" | "keepmember" => FaultKind::KeepMember {
                node: need("a node name")?.to_string(),
            },
            "" => return Err(FaultError::Parse(format!("empty fault; {USAGE}"))),
            other => {
                return Err(FaultError::Parse(format!(
                    "unknown fault {other:?}; {USAGE}"
                )));
            }
        };
        kind.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn words() {
        assert_eq!("cut".parse(), Ok(FaultKind::Cut));
        assert_eq!(" Drop ".parse(), Ok(FaultKind::Drop));
        assert_eq!("down".parse(), Ok(FaultKind::Down));
        assert_eq!("restore".parse(), Ok(FaultKind::Restore));
        assert_eq!("no-pong".parse(), Ok(FaultKind::NoPong));
        assert_eq!("delay 200".parse(), Ok(FaultKind::Delay { ms: 200 }));
        assert_eq!("delay=2s".parse(), Ok(FaultKind::Delay { ms: 2000 }));
        assert_eq!("delay 150ms".parse(), Ok(FaultKind::Delay { ms: 150 }));
        assert_eq!("close 4200".parse(), Ok(FaultKind::Close { code: 4200 }));
        for bad in [
            "",
            "explode",
            "delay",
            "delay soon",
            "delay 2h",
            "close",
            "close x",
            "close 1006",
            "close 70000",
        ] {
            let err = bad.parse::<FaultKind>().unwrap_err();
            assert!(matches!(err, FaultError::Parse(_)), "{bad}: {err}");
        }
    }

    #[test]
    fn json_shapes_round_trip() {
        for (v, k) in [
            (json!({"kind":"cut"}), FaultKind::Cut),
            (
                json!({"kind":"delay","ms":200}),
                FaultKind::Delay { ms: 200 },
            ),
            (
                json!({"kind":"close","code":4200}),
                FaultKind::Close { code: 4200 },
            ),
            (json!({"kind":"no_pong"}), FaultKind::NoPong),
            (json!({"cmd":"fault","kind":"drop"}), FaultKind::Drop),
        ] {
            assert_eq!(FaultKind::from_json(&v), Ok(k.clone()));
            assert_eq!(v.to_string().parse(), Ok(k));
        }
        assert_eq!(
            serde_json::to_value(FaultKind::Delay { ms: 5 }).unwrap(),
            json!({"kind":"delay","ms":5})
        );
        assert!(FaultKind::from_json(&json!({"kind":"delay"})).is_err());
        assert!(FaultKind::from_json(&json!({"kind":"close","code":1005})).is_err());
        assert!(FaultKind::from_json(&json!({"ms":3})).is_err());
        assert!("{not json".parse::<FaultKind>().is_err());
    }

    #[test]
    fn labels_and_targets() {
        assert_eq!(FaultKind::Delay { ms: 200 }.label(), "delay 200ms");
        assert_eq!(FaultKind::Close { code: 4201 }.label(), "close 4201");
        assert!(FaultKind::Cut.is_network() && !FaultKind::Cut.is_server());
        assert!(FaultKind::NoPong.is_server() && !FaultKind::NoPong.is_network());
        assert!(FaultKind::Restore.is_server() && FaultKind::Restore.is_network());
        let kill = FaultKind::KillNode { node: "b".into() };
        assert_eq!(kill.label(), "kill_node b");
        assert_eq!(kill.node(), Some("b"));
        assert!(kill.is_cluster() && !kill.is_server() && !kill.is_network());
        assert!(FaultKind::Restore.is_cluster() && !FaultKind::Cut.is_cluster());
        assert_eq!(FaultKind::NoPong.node(), None);
    }

    fn node_fault(kind: &str, node: &str) -> FaultKind {
        match kind {
            "kill_node" => FaultKind::KillNode { node: node.into() },
            "partition" => FaultKind::Partition { node: node.into() },
            _ => FaultKind::KeepMember { node: node.into() },
        }
    }

    #[test]
    fn cluster_faults_typed_and_as_json() {
        for kind in ["kill_node", "partition", "keep_member"] {
            let want = node_fault(kind, "b");
            assert_eq!(format!("{kind} b").parse(), Ok(want.clone()));
            assert_eq!(format!(" {kind}=b ").parse(), Ok(want.clone()));
            assert_eq!(
                kind.parse::<FaultKind>().map_err(|e| e.to_string()),
                Err(format!("{kind} needs a node name, e.g. \"{kind} b\""))
            );
            let line = json!({"cmd": "fault", "kind": kind, "node": "b"});
            assert_eq!(FaultKind::from_json(&line), Ok(want.clone()));
            assert_eq!(line.to_string().parse(), Ok(want.clone()));
            assert_eq!(
                serde_json::to_value(&want).unwrap(),
                json!({"kind": kind, "node": "b"})
            );
            assert_eq!(want.label(), format!("{kind} b"));
            assert!(
                FaultKind::from_json(&json!({"kind": kind})).is_err(),
                "{kind}"
            );
            assert!(FaultKind::from_json(&json!({"kind": kind, "node": ""})).is_err());
            assert!(FaultKind::from_json(&json!({"kind": kind, "node": "a b"})).is_err());
            let long = "n".repeat(MAX_NODE_NAME + 1);
            assert!(FaultKind::from_json(&json!({"kind": kind, "node": long})).is_err());
        }
        assert_eq!("kill-node c".parse(), Ok(node_fault("kill_node", "c")));
        assert_eq!(
            "keep-member eu-1".parse(),
            Ok(node_fault("keep_member", "eu-1"))
        );
        let unknown = "explode".parse::<FaultKind>().unwrap_err().to_string();
        assert!(unknown.contains("kill_node <node>"), "{unknown}");
    }

    #[test]
    fn an_unknown_node_is_named_with_the_known_ones() {
        let e = FaultError::UnknownNode {
            node: "z".into(),
            known: vec!["a".into(), "b".into()],
        };
        assert_eq!(
            e.to_string(),
            "no node \"z\" in this cluster; its nodes are a, b"
        );
    }
}
