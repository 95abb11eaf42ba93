//! The shapes of the `delivery` and `divergence` records: part of the headless output
//! format (the README's record table), so they change only compatibly.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::SystemTime;

/// The delivery matrix over the last rounds of the cluster probe: every `--stats-interval`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// Probe rounds in the window the cells are computed over.
    pub rounds: u32,
    /// One cell per publishing node and receiving node, publishers in the order the nodes
    /// were given, then receivers in the same order.
    pub cells: Vec<DeliveryCell>,
    /// Per node whose HTTP API failed its latest publish: why (the latest reason, kept
    /// until that API answers a publish again).
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub api_errors: BTreeMap<String, String>,
    /// What the matrix means, in words, when it means something is wrong between nodes
    /// (for example the adapter failing: each node delivers its own publishes, no node
    /// delivers another's).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub diagnosis: Option<String>,
}

/// Publishes through node `from`'s HTTP API, as node `to`'s socket received them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryCell {
    pub from: String,
    pub to: String,
    /// Probes published through `from` in the window whose fate is known (received, or
    /// past the timeout).
    pub sent: u32,
    /// Of those, received by `to`.
    pub received: u32,
    /// `1 - received / sent`, or `null` before anything was sent.
    pub loss: Option<f64>,
    /// Publish-to-receive latency percentiles in milliseconds, over the received probes.
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

/// What differs between nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DivergenceKind {
    /// A presence member listed by some nodes' sockets and not by others'.
    Members,
    /// A presence member a node's socket lists and that node's own HTTP API does not, or
    /// the reverse.
    ApiMembers,
    /// A channel's subscription count differs between the nodes' HTTP APIs.
    SubscriptionCount,
    /// A presence channel's user count differs between the nodes' HTTP APIs.
    UserCount,
}

/// One difference between the nodes about one channel: while it lasts, once every
/// `--stats-interval`, and once more with `resolved` when it ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Divergence {
    pub channel: String,
    pub kind: DivergenceKind,
    /// The member (a `members` or `api_members` divergence).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub member: Option<String>,
    /// Nodes that list the member (a `members` divergence); nodes whose socket lists it
    /// while their own HTTP API does not (an `api_members` divergence).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub listed_on: Vec<String>,
    /// Nodes subscribed to the channel that do not list it, or the node it was connected
    /// through when that node has gone (a `members` divergence); nodes whose HTTP API lists
    /// it while their socket does not (an `api_members` divergence).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub missing_on: Vec<String>,
    /// Each node's count (a count divergence).
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub counts: BTreeMap<String, u64>,
    /// When the difference began.
    #[serde(with = "rfc3339")]
    pub since: SystemTime,
    /// How long it has lasted, in milliseconds.
    pub for_ms: u64,
    /// A member still listed after its node went, or after it left the other nodes, for
    /// longer than the ghost threshold (`--ghost-after`); or still listed by a node's socket
    /// while that node's own HTTP API has not listed it for longer than the threshold.
    pub ghost: bool,
    /// The difference has ended (the last record about it).
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub resolved: bool,
}

/// A time as the `ts` of every record writes it: RFC 3339 in UTC, to the millisecond.
mod rfc3339 {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::SystemTime;

    pub fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_rfc3339_millis(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        humantime::parse_rfc3339_weak(&text).map_err(serde::de::Error::custom)
    }
}
