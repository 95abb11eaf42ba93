//! Several nodes of one deployment at once: one full session per node (its own client,
//! state, socket id, subscriptions, back-off and timeline), joined into one
//! [`SessionHandle`] whose records carry their node. Beside them the cluster probe publishes
//! one message through each node's HTTP API per round and watches every node's socket
//! receive it (`cluster::matrix`), and the nodes' presence rosters and API counts are
//! compared (`cluster::presence`); the results are `delivery` and `divergence` records.

use super::Extras;
use chanwatch_core::client::{AuthProvider, ClientConfig};
use chanwatch_core::http_api::HttpApi;
use chanwatch_core::record::NodeName;
use std::sync::Arc;
use std::time::Duration;

/// One node to watch: how to reach its socket and its HTTP API, and what stands beside
/// its client.
pub struct Node {
    pub name: NodeName,
    pub client: ClientConfig,
    /// Its own authorizers: the same app on every node, but each node's connection is a
    /// presence member of its own.
    pub auth: Arc<dyn AuthProvider>,
    /// The node's own HTTP API, which the delivery probe publishes through.
    pub api: Option<HttpApi>,
    pub extras: Extras,
}

/// How the nodes are compared.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterOptions {
    /// One probe round (a publish through each node) this often.
    pub probe_interval: Duration,
    /// A probe not received this long after its publish began is lost.
    pub probe_timeout: Duration,
    /// Rounds a delivery cell is computed over.
    pub window: u32,
    /// `delivery` and `divergence` records this often (`--stats-interval`).
    pub report_interval: Duration,
    /// A member difference that lasts longer than this is a ghost (`--ghost-after`).
    pub ghost_after: Duration,
    /// The nodes' HTTP APIs are asked for the occupied channels' counts this often.
    pub occupancy_interval: Duration,
}

/// The channel every node subscribes to for the delivery probe.
pub const PROBE_CHANNEL: &str = "chanwatch-cluster-probe";
/// The probe's event name.
pub const PROBE_EVENT: &str = "chanwatch:cluster-probe";

impl Default for ClusterOptions {
    fn default() -> ClusterOptions {
        ClusterOptions {
            probe_interval: Duration::from_secs(1),
            probe_timeout: Duration::from_secs(5),
            window: 30,
            report_interval: Duration::from_secs(10),
            ghost_after: Duration::from_secs(5),
            occupancy_interval: Duration::from_secs(5),
        }
    }
}
