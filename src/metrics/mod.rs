//! Prometheus metrics of a session (`--metrics-listen`): a watcher of the session's records
//! beside the headless writer or the dashboard ([`tap`]), the metrics those records update
//! ([`Metrics`], pure and fed with the `Instant` of every call), and a small HTTP server
//! that serves them ([`server`]).
//!
//! What is exported is bounded whatever the server sends: channel labels are the first
//! [`CHANNEL_CAP`] channels seen (later ones are folded into `channel="_other"`), reconnect
//! causes are a fixed set, and no socket id, user id or secret ever becomes a label.
//!
//! With several nodes (`--node`) every series of a connection gains a `node` label (at
//! most `config::nodes::MAX_NODES` values, names the user gave), and the records about the
//! nodes together (`delivery`, `divergence`) feed the `chanwatch_cluster_*` gauges, with
//! `from` and `to` labels for the delivery matrix's cells. One connection's exposition has
//! neither.

pub mod server;
mod tap;

pub use server::{MetricsServer, ServeError};
pub use tap::tap;

use crate::cluster::{Delivery, Divergence, DivergenceKind};
use crate::session_record::{SessionRecord, Stamped};
use chanwatch_core::record::{NodeName, Record, State};
use prometheus_client::encoding::{EncodeLabel, EncodeLabelSet, LabelSetEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use rustc_hash::FxHashMap;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

/// At most this many channels get a label of their own (per metric family).
pub const CHANNEL_CAP: usize = 64;

/// The label value that the channels past [`CHANNEL_CAP`] share.
pub const OTHER_CHANNEL: &str = "_other";

/// The label value of events that belong to no channel (connection-level events).
pub const NO_CHANNEL: &str = "_connection";

/// Latency buckets in seconds: from under a millisecond (loopback) to tens of seconds (a
/// server that queues or a probe about to be declared lost).
pub const LATENCY_BUCKETS: [f64; 16] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0,
];

const STATES: [State; 6] = [
    State::Initialized,
    State::Connecting,
    State::Connected,
    State::Unavailable,
    State::Failed,
    State::Disconnected,
];

/// Why a connection was lost and retried: a fixed set, so the label stays bounded. Taken
/// from the typed records before the loss (the close code of the `error` record, a ping
/// left unanswered, an injected fault), never from a message's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReconnectCause {
    /// The server closed with 4100-4199: come back later.
    ServerBackoff,
    /// The server closed with 4200-4299: reconnect at once (a restart, say).
    ServerReconnect,
    /// The socket ended without a close frame (1006): a cut, a crash, a dead network.
    AbnormalClose,
    /// Another close code.
    OtherClose,
    /// Our ping went unanswered.
    PongTimeout,
    /// Closed without an error (1000 or 1001).
    NormalClose,
}

impl ReconnectCause {
    pub const ALL: [ReconnectCause; 6] = [
        ReconnectCause::ServerBackoff,
        ReconnectCause::ServerReconnect,
        ReconnectCause::AbnormalClose,
        ReconnectCause::OtherClose,
        ReconnectCause::PongTimeout,
        ReconnectCause::NormalClose,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReconnectCause::ServerBackoff => "server_backoff",
            ReconnectCause::ServerReconnect => "server_reconnect",
            ReconnectCause::AbnormalClose => "abnormal_close",
            ReconnectCause::OtherClose => "other_close",
            ReconnectCause::PongTimeout => "pong_timeout",
            ReconnectCause::NormalClose => "normal_close",
        }
    }

    fn from_code(code: i64) -> ReconnectCause {
        match code {
            4100..=4199 => ReconnectCause::ServerBackoff,
            4200..=4299 => ReconnectCause::ServerReconnect,
            1006 => ReconnectCause::AbnormalClose,
            1000 | 1001 => ReconnectCause::NormalClose,
            _ => ReconnectCause::OtherClose,
        }
    }
}

/// The `node` label of a connection's series when several nodes are watched (`--node`);
/// it encodes nothing for one connection, whose exposition is then exactly as it always
/// was. Node names are bounded: at most `config::nodes::MAX_NODES`, each given once.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct NodeLabel(Option<NodeName>);

impl EncodeLabelSet for NodeLabel {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> std::fmt::Result {
        match &self.0 {
            Some(node) => ("node", &**node).encode(encoder.encode_label()),
            None => Ok(()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ChannelLabel {
    #[prometheus(flatten)]
    node: NodeLabel,
    channel: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct StateLabel {
    #[prometheus(flatten)]
    node: NodeLabel,
    state: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CauseLabel {
    #[prometheus(flatten)]
    node: NodeLabel,
    cause: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ResultLabel {
    #[prometheus(flatten)]
    node: NodeLabel,
    result: &'static str,
}

/// A cell of the delivery matrix: published through `from`, received by `to`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct PairLabel {
    from: NodeName,
    to: NodeName,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

type F64Counter = Counter<f64, AtomicU64>;
type F64Gauge = Gauge<f64, AtomicU64>;
type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

fn histogram_family<L: Clone + Eq + std::hash::Hash>() -> HistogramFamily<L> {
    Family::new_with_constructor(latency_histogram as fn() -> Histogram)
}

/// The handles of one channel's event counters, cached so that counting an event is one
/// hash look-up by `&str` and two atomic adds.
#[derive(Clone)]
struct ChannelCounters {
    events: Counter,
    bytes: Counter,
}

/// The families of the per-connection metrics; one connection's series have no `node`
/// label, a cluster's one per node.
struct Families {
    connected: Family<NodeLabel, Gauge>,
    state: Family<StateLabel, Gauge>,
    connected_seconds: Family<NodeLabel, F64Counter>,
    connections: Family<NodeLabel, Counter>,
    reconnects: Family<CauseLabel, Counter>,
    events: Family<ChannelLabel, Counter>,
    bytes: Family<ChannelLabel, Counter>,
    ping_rtt: HistogramFamily<NodeLabel>,
    auth: HistogramFamily<ResultLabel>,
    presence_members: Family<ChannelLabel, Gauge>,
}

/// The one-connection latency probe (`--probe`): its histogram and counts. A cluster's
/// delivery probe replaces it (see [`ClusterMetrics`]), so a cluster does not export it.
struct ProbeMetrics {
    latency: Histogram,
    probes: Counter,
    lost: Counter,
    errors: Counter,
    success: Gauge,
}

impl Families {
    /// Registers the families in the order they have always been exposed, the probe's
    /// metrics among them when `probe`.
    fn register(registry: &mut Registry, probe: bool) -> (Families, Option<ProbeMetrics>) {
        let connected = Family::<NodeLabel, Gauge>::default();
        registry.register(
            "connected",
            "1 while the connection is established, else 0",
            connected.clone(),
        );
        let state = Family::<StateLabel, Gauge>::default();
        registry.register(
            "connection_state",
            "1 for the connection's current state, 0 for the others",
            state.clone(),
        );
        let connected_seconds = Family::<NodeLabel, F64Counter>::default();
        registry.register_with_unit(
            "connected",
            "Time spent connected",
            Unit::Seconds,
            connected_seconds.clone(),
        );
        let connections = Family::<NodeLabel, Counter>::default();
        registry.register(
            "connections",
            "Connections established (the first one and every reconnect)",
            connections.clone(),
        );
        let reconnects = Family::<CauseLabel, Counter>::default();
        registry.register(
            "reconnects",
            "Established connections lost and retried, by cause",
            reconnects.clone(),
        );
        let events = Family::<ChannelLabel, Counter>::default();
        registry.register(
            "events_received",
            "Events received, by channel (the first 64 channels; the rest as _other)",
            events.clone(),
        );
        let bytes = Family::<ChannelLabel, Counter>::default();
        registry.register_with_unit(
            "event_data_received",
            "Event data received, by channel (the first 64 channels; the rest as _other)",
            Unit::Bytes,
            bytes.clone(),
        );
        let ping_rtt = histogram_family();
        registry.register_with_unit(
            "ping_rtt",
            "Round trips of pusher:ping (to the first frame after it)",
            Unit::Seconds,
            ping_rtt.clone(),
        );
        let probe = probe.then(|| ProbeMetrics::register(registry));
        let auth = histogram_family();
        registry.register_with_unit(
            "auth_duration",
            "Authorization round trips, by result (ok or error)",
            Unit::Seconds,
            auth.clone(),
        );
        let presence_members = Family::<ChannelLabel, Gauge>::default();
        registry.register(
            "presence_members",
            "Members of each subscribed presence channel (the first 64 channels)",
            presence_members.clone(),
        );
        let families = Families {
            connected,
            state,
            connected_seconds,
            connections,
            reconnects,
            events,
            bytes,
            ping_rtt,
            auth,
            presence_members,
        };
        (families, probe)
    }
}

impl ProbeMetrics {
    fn register(registry: &mut Registry) -> ProbeMetrics {
        let latency = latency_histogram();
        registry.register_with_unit(
            "probe_latency",
            "Latency probe: from the HTTP API publish to the event's arrival here",
            Unit::Seconds,
            latency.clone(),
        );
        let probes = Counter::default();
        registry.register("probes", "Latency probes finished", probes.clone());
        let lost = Counter::default();
        registry.register(
            "probe_lost",
            "Latency probes that never arrived (publish failures included)",
            lost.clone(),
        );
        let errors = Counter::default();
        registry.register(
            "probe_errors",
            "Latency probes whose publish through the HTTP API failed",
            errors.clone(),
        );
        let success = Gauge::default();
        registry.register(
            "probe_success",
            "1 if the last latency probe arrived, 0 if it was lost (0 before the first)",
            success.clone(),
        );
        ProbeMetrics {
            latency,
            probes,
            lost,
            errors,
            success,
        }
    }

    fn observe(&self, latency_ms: Option<u64>, lost: bool, error: bool) {
        self.probes.inc();
        if lost {
            self.lost.inc();
            self.success.set(0);
        } else {
            self.success.set(1);
        }
        if error {
            self.errors.inc();
        }
        if let Some(ms) = latency_ms {
            self.latency.observe(seconds(ms));
        }
    }
}

/// One connection's series (handles into the families) and the bookkeeping between its
/// records.
struct Conn {
    node: NodeLabel,
    connected: Gauge,
    state: [Gauge; 6],
    connected_seconds: F64Counter,
    connections: Counter,
    ping_rtt: Histogram,
    channels: FxHashMap<Box<str>, ChannelCounters>,
    connection_events: ChannelCounters,
    other_channels: ChannelCounters,
    presence: FxHashMap<Box<str>, Roster>,
    current: State,
    connected_since: Option<Instant>,
    /// The close code of the last `error` record since the connection was established.
    last_code: Option<i64>,
    /// A ping went out and nothing has come back yet.
    ping_pending: bool,
}

impl Conn {
    fn new(f: &Families, node: Option<NodeName>) -> Conn {
        let node = NodeLabel(node);
        let state = STATES.map(|s| {
            f.state.get_or_create_owned(&StateLabel {
                node: node.clone(),
                state: s.as_str(),
            })
        });
        for cause in ReconnectCause::ALL {
            // Every cause is exported from the start, at 0, so rate() sees its first loss.
            f.reconnects.get_or_create_owned(&CauseLabel {
                node: node.clone(),
                cause: cause.as_str(),
            });
        }
        let channel_counters = |name: &str| {
            let label = ChannelLabel {
                node: node.clone(),
                channel: name.into(),
            };
            ChannelCounters {
                events: f.events.get_or_create_owned(&label),
                bytes: f.bytes.get_or_create_owned(&label),
            }
        };
        let connection_events = channel_counters(NO_CHANNEL);
        let other_channels = channel_counters(OTHER_CHANNEL);
        let conn = Conn {
            connected: f.connected.get_or_create_owned(&node),
            state,
            connected_seconds: f.connected_seconds.get_or_create_owned(&node),
            connections: f.connections.get_or_create_owned(&node),
            ping_rtt: f.ping_rtt.get_or_create_owned(&node),
            channels: FxHashMap::default(),
            connection_events,
            other_channels,
            presence: FxHashMap::default(),
            current: State::Initialized,
            connected_since: None,
            last_code: None,
            ping_pending: false,
            node,
        };
        conn.state[0].set(1);
        conn
    }

    fn refresh(&mut self, now: Instant) {
        if let Some(since) = self.connected_since.as_mut() {
            let lived = now.saturating_duration_since(*since);
            self.connected_seconds.inc_by(lived.as_secs_f64());
            *since = now;
        }
    }

    fn observe(&mut self, f: &Families, record: &Record, now: Instant) {
        match record {
            Record::Event { channel, data, .. } => {
                self.ping_pending = false;
                self.count_event(f, channel.as_deref(), data.get().len() as u64);
            }
            Record::State { current, .. } => self.on_state(f, *current, now),
            Record::Error {
                code: Some(code), ..
            } => self.last_code = Some(*code),
            Record::PingSent { .. } => self.ping_pending = true,
            Record::Pong { rtt_ms } => {
                self.ping_pending = false;
                self.ping_rtt.observe(seconds(*rtt_ms));
            }
            Record::Auth {
                ok, duration_ms, ..
            } => {
                let result = if *ok { "ok" } else { "error" };
                f.auth
                    .get_or_create(&ResultLabel {
                        node: self.node.clone(),
                        result,
                    })
                    .observe(seconds(*duration_ms));
            }
            Record::Members {
                channel,
                count,
                members,
                ..
            } => {
                if let Some(r) = self.roster(f, channel) {
                    r.replace(*count as u64, members.iter().map(|m| m.id.as_str()));
                }
            }
            Record::MemberAdded { channel, id, .. } => {
                if let Some(r) = self.roster(f, channel) {
                    r.add(id);
                }
            }
            Record::MemberRemoved { channel, id } => {
                if let Some(r) = self.roster(f, channel) {
                    r.remove(id);
                }
            }
            Record::Unsubscribed { channel } => {
                if let Some(r) = self.presence.get_mut(channel.as_str()) {
                    r.clear();
                }
            }
            _ => {}
        }
    }

    /// One event: a hash look-up by `&str` and two atomic adds; a channel seen for the
    /// first time gets counters of its own while under the cap (its only allocation).
    fn count_event(&mut self, f: &Families, channel: Option<&str>, bytes: u64) {
        let counters = match channel {
            None => &self.connection_events,
            Some(name) => match self.channels.get(name) {
                Some(c) => c,
                None if self.channels.len() >= CHANNEL_CAP => &self.other_channels,
                None => {
                    let label = ChannelLabel {
                        node: self.node.clone(),
                        channel: name.to_string(),
                    };
                    let counters = ChannelCounters {
                        events: f.events.get_or_create_owned(&label),
                        bytes: f.bytes.get_or_create_owned(&label),
                    };
                    self.channels.entry(name.into()).or_insert(counters)
                }
            },
        };
        counters.events.inc();
        counters.bytes.inc_by(bytes);
    }

    /// A presence channel's roster and gauge; none past the cap (a sum over unrelated
    /// channels would mean nothing).
    fn roster(&mut self, f: &Families, channel: &str) -> Option<&mut Roster> {
        if !self.presence.contains_key(channel) {
            if self.presence.len() >= CHANNEL_CAP {
                return None;
            }
            let gauge = f.presence_members.get_or_create_owned(&ChannelLabel {
                node: self.node.clone(),
                channel: channel.to_string(),
            });
            self.presence.insert(channel.into(), Roster::new(gauge));
        }
        self.presence.get_mut(channel)
    }

    fn on_state(&mut self, f: &Families, current: State, now: Instant) {
        let previous = self.current;
        if previous == current {
            return;
        }
        self.refresh(now);
        self.current = current;
        for (gauge, s) in self.state.iter().zip(STATES) {
            gauge.set(i64::from(s == current));
        }
        self.connected.set(i64::from(current == State::Connected));
        if current == State::Connected {
            self.connected_since = Some(now);
            self.connections.inc();
            self.last_code = None;
            self.ping_pending = false;
            return;
        }
        self.connected_since = None;
        // Members are counted again when the subscriptions are renewed.
        for r in self.presence.values_mut() {
            r.clear();
        }
        if previous == State::Connected && matches!(current, State::Connecting | State::Unavailable)
        {
            let cause = match (self.last_code, self.ping_pending) {
                (Some(code), _) => ReconnectCause::from_code(code),
                (None, true) => ReconnectCause::PongTimeout,
                (None, false) => ReconnectCause::NormalClose,
            };
            f.reconnects
                .get_or_create(&CauseLabel {
                    node: self.node.clone(),
                    cause: cause.as_str(),
                })
                .inc();
        }
        self.last_code = None;
        self.ping_pending = false;
    }
}

/// Members of one presence channel followed by id, so that the gauge counts members, not
/// `member_added` records: a server may announce a member the subscription's list already
/// held (sockudo on a cluster does, when members join on several nodes at once), and the
/// connection's roster, like pusher-js's, counts it once.
pub const ROSTER_CAP: usize = 10_000;

/// One presence channel's members, as 64-bit hashes of their ids (never the ids: kept
/// small, and nothing here is ever a label), with its gauge.
struct Roster {
    gauge: Gauge,
    ids: rustc_hash::FxHashSet<u64>,
    /// Members counted but not followed by id: past [`ROSTER_CAP`], or counted by the
    /// server's `count` beyond the list it sent.
    unnamed: u64,
}

impl Roster {
    fn new(gauge: Gauge) -> Roster {
        Roster {
            gauge,
            ids: Default::default(),
            unnamed: 0,
        }
    }

    fn hash(id: &str) -> u64 {
        use std::hash::BuildHasher;
        rustc_hash::FxBuildHasher.hash_one(id)
    }

    /// The subscription's member list (`count` as the server said it).
    fn replace<'a>(&mut self, count: u64, ids: impl Iterator<Item = &'a str>) {
        self.ids.clear();
        self.unnamed = 0;
        for id in ids {
            self.insert(id);
        }
        let followed = self.ids.len() as u64 + self.unnamed;
        self.unnamed += count.saturating_sub(followed);
        self.set();
    }

    fn insert(&mut self, id: &str) {
        let hash = Roster::hash(id);
        if self.ids.len() < ROSTER_CAP {
            self.ids.insert(hash);
        } else if !self.ids.contains(&hash) {
            self.unnamed += 1;
        }
    }

    fn add(&mut self, id: &str) {
        self.insert(id);
        self.set();
    }

    fn remove(&mut self, id: &str) {
        if !self.ids.remove(&Roster::hash(id)) {
            self.unnamed = self.unnamed.saturating_sub(1);
        }
        self.set();
    }

    fn clear(&mut self) {
        self.ids.clear();
        self.unnamed = 0;
        self.set();
    }

    fn set(&self) {
        let n = self.ids.len() as u64 + self.unnamed;
        self.gauge.set(i64::try_from(n).unwrap_or(i64::MAX));
    }
}

/// The most divergences between nodes followed at once for the gauges (the session's own
/// bookkeeping is bounded the same way: `cluster::presence`).
pub const DIVERGENCE_CAP: usize = 4096;

const DIVERGENCE_KINDS: [DivergenceKind; 4] = [
    DivergenceKind::Members,
    DivergenceKind::SubscriptionCount,
    DivergenceKind::UserCount,
    DivergenceKind::ApiMembers,
];

fn kind_str(kind: DivergenceKind) -> &'static str {
    match kind {
        DivergenceKind::Members => "members",
        DivergenceKind::SubscriptionCount => "subscription_count",
        DivergenceKind::UserCount => "user_count",
        DivergenceKind::ApiMembers => "api_members",
    }
}

/// A divergence in force: which report last said so, and whether it is a ghost.
struct InForce {
    report: u64,
    ghost: bool,
}

type DivergenceKey = (String, DivergenceKind, Option<String>);

/// The metrics of the nodes together, from the `delivery` and `divergence` records: gauges
/// of what the last report said (the records carry percentiles, not samples).
struct ClusterMetrics {
    nodes: Vec<NodeName>,
    loss: Family<PairLabel, F64Gauge>,
    p50: Family<PairLabel, F64Gauge>,
    p99: Family<PairLabel, F64Gauge>,
    api_up: Family<NodeLabel, Gauge>,
    divergences: [Gauge; DIVERGENCE_KINDS.len()],
    ghosts: Gauge,
    adapter_failing: Gauge,
    /// The divergences the reports say are in force, by channel, kind and member.
    in_force: FxHashMap<DivergenceKey, InForce>,
    /// `delivery` records seen: each report begins with one, then lists every divergence
    /// still in force.
    reports: u64,
}

impl ClusterMetrics {
    fn register(registry: &mut Registry, nodes: &[NodeName]) -> ClusterMetrics {
        let loss = Family::<PairLabel, F64Gauge>::default();
        registry.register(
            "cluster_delivery_loss_ratio",
            "Delivery probes published through node `from` that node `to`'s socket did not \
             receive, over the last rounds (0 to 1; absent before any was sent)",
            loss.clone(),
        );
        let p50 = Family::<PairLabel, F64Gauge>::default();
        registry.register_with_unit(
            "cluster_delivery_latency_p50",
            "Median publish-to-receive latency of the delivery probes from node `from` to \
             node `to`, over the last rounds (absent while none was received)",
            Unit::Seconds,
            p50.clone(),
        );
        let p99 = Family::<PairLabel, F64Gauge>::default();
        registry.register_with_unit(
            "cluster_delivery_latency_p99",
            "99th percentile publish-to-receive latency of the delivery probes from node \
             `from` to node `to`, over the last rounds (absent while none was received)",
            Unit::Seconds,
            p99.clone(),
        );
        let api_up = Family::<NodeLabel, Gauge>::default();
        registry.register(
            "cluster_node_api_up",
            "1 while the node's HTTP API answers the delivery probe's publishes, else 0",
            api_up.clone(),
        );
        let divergence_family = Family::<KindLabel, Gauge>::default();
        registry.register(
            "cluster_divergences",
            "Differences between the nodes in force, by kind: members (rosters), \
             subscription_count and user_count (HTTP API counts)",
            divergence_family.clone(),
        );
        let divergences = DIVERGENCE_KINDS.map(|kind| {
            divergence_family.get_or_create_owned(&KindLabel {
                kind: kind_str(kind),
            })
        });
        let ghosts = Gauge::default();
        registry.register(
            "cluster_ghosts",
            "Presence members still listed on some nodes after they left the others or \
             their node went, for longer than --ghost-after",
            ghosts.clone(),
        );
        let adapter_failing = Gauge::default();
        registry.register(
            "cluster_adapter_failing",
            "1 while each node delivers its own publishes and no node receives another's \
             (the bus between nodes is not passing messages), else 0",
            adapter_failing.clone(),
        );
        ClusterMetrics {
            nodes: nodes.to_vec(),
            loss,
            p50,
            p99,
            api_up,
            divergences,
            ghosts,
            adapter_failing,
            in_force: FxHashMap::default(),
            reports: 0,
        }
    }

    /// A node of ours by its name in a record (records name nodes as text).
    fn node(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| &**n == name)
    }

    fn on_delivery(&mut self, delivery: &Delivery) {
        let n = self.nodes.len();
        let mut grid = vec![(0u32, 0u32); n * n];
        for cell in &delivery.cells {
            let (Some(from), Some(to)) = (self.node(&cell.from), self.node(&cell.to)) else {
                continue;
            };
            grid[from * n + to] = (cell.sent, cell.received);
            let label = PairLabel {
                from: self.nodes[from].clone(),
                to: self.nodes[to].clone(),
            };
            for (family, value) in [
                (&self.loss, cell.loss),
                (&self.p50, cell.p50_ms.map(|ms| ms / 1000.0)),
                (&self.p99, cell.p99_ms.map(|ms| ms / 1000.0)),
            ] {
                match value {
                    Some(v) => {
                        family.get_or_create(&label).set(v);
                    }
                    None => {
                        family.remove(&label);
                    }
                }
            }
        }
        for node in &self.nodes {
            let up = !delivery.api_errors.contains_key(&**node);
            self.api_up
                .get_or_create(&NodeLabel(Some(node.clone())))
                .set(i64::from(up));
        }
        self.adapter_failing
            .set(i64::from(crate::cluster::matrix::adapter_failing(n, &grid)));
        // The report before this one is complete: what it did not list is no longer in
        // force (a difference that ends is reported `resolved`; this is for one that ended
        // before it was ever reported as such).
        let closed = self.reports;
        self.in_force.retain(|_, d| d.report >= closed);
        self.reports += 1;
        self.set_divergence_gauges();
    }

    fn on_divergence(&mut self, d: &Divergence) {
        let key = (d.channel.clone(), d.kind, d.member.clone());
        if d.resolved {
            self.in_force.remove(&key);
        } else if let Some(known) = self.in_force.get_mut(&key) {
            known.report = self.reports;
            known.ghost = d.ghost;
        } else if self.in_force.len() < DIVERGENCE_CAP {
            self.in_force.insert(
                key,
                InForce {
                    report: self.reports,
                    ghost: d.ghost,
                },
            );
        }
        self.set_divergence_gauges();
    }

    fn set_divergence_gauges(&self) {
        let mut by_kind = [0i64; DIVERGENCE_KINDS.len()];
        let mut ghosts = 0;
        for ((_, kind, _), d) in &self.in_force {
            if let Some(i) = DIVERGENCE_KINDS.iter().position(|k| k == kind) {
                by_kind[i] += 1;
            }
            ghosts += i64::from(d.ghost);
        }
        for (gauge, n) in self.divergences.iter().zip(by_kind) {
            gauge.set(n);
        }
        self.ghosts.set(ghosts);
    }
}

/// The session's metrics and the bookkeeping that updates them from records.
pub struct Metrics {
    registry: Registry,
    families: Families,
    /// One connection (no `node` label), or one per node in the order given.
    conns: Vec<Conn>,
    /// Several nodes are watched: a record is its node's, and records from no node are
    /// about the nodes together.
    several: bool,
    probe: Option<ProbeMetrics>,
    cluster: Option<ClusterMetrics>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// The metrics of one connection.
    pub fn new() -> Metrics {
        Metrics::for_nodes(&[])
    }

    /// The metrics of a session over `nodes` (`--node`, twice or more): the connection's
    /// series once per node with a `node` label, and the cluster's. Fewer than two names
    /// is one connection, as [`Metrics::new`].
    pub fn for_nodes(nodes: &[NodeName]) -> Metrics {
        let several = nodes.len() >= 2;
        let mut registry = Registry::with_prefix("chanwatch");
        let (families, probe) = Families::register(&mut registry, !several);
        let conns = if several {
            nodes
                .iter()
                .map(|n| Conn::new(&families, Some(n.clone())))
                .collect()
        } else {
            vec![Conn::new(&families, None)]
        };
        let cluster = several.then(|| ClusterMetrics::register(&mut registry, nodes));
        Metrics {
            registry,
            families,
            conns,
            several,
            probe,
            cluster,
        }
    }

    /// The registry the metrics are in, to encode.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Whether the connection is established now (what `/ready` answers); with several
    /// nodes, whether every node's is.
    pub fn is_connected(&self) -> bool {
        self.conns.iter().all(|c| c.current == State::Connected)
    }

    /// The nodes whose connection is not established now (none for one connection).
    pub fn nodes_not_connected(&self) -> Vec<&str> {
        self.conns
            .iter()
            .filter(|c| c.current != State::Connected)
            .filter_map(|c| c.node.0.as_deref())
            .collect()
    }

    /// Bring the time-based metrics up to `now` (before a scrape).
    pub fn refresh(&mut self, now: Instant) {
        for conn in &mut self.conns {
            conn.refresh(now);
        }
    }

    /// Update the metrics from one record of one connection seen at `now` (as
    /// [`Metrics::observe_stamped`] with no node).
    pub fn observe(&mut self, record: &SessionRecord, now: Instant) {
        self.observe_from(None, record, now);
    }

    /// Update the metrics from one record as the session hands it over: its node says
    /// whose connection it is about.
    pub fn observe_stamped(&mut self, stamped: &Stamped, now: Instant) {
        self.observe_from(stamped.node.as_ref(), &stamped.record, now);
    }

    /// Update the metrics from one record seen at `now`, from `node` (`None`: the one
    /// connection, or the nodes together). O(1) per event, allocating only the first time
    /// a channel is seen.
    pub fn observe_from(&mut self, node: Option<&NodeName>, record: &SessionRecord, now: Instant) {
        match record {
            SessionRecord::Client(r) => {
                if let Some(i) = self.conn_index(node) {
                    self.conns[i].observe(&self.families, r, now);
                }
            }
            SessionRecord::Probe {
                latency_ms,
                lost,
                error,
                ..
            } => {
                if let Some(probe) = &self.probe {
                    probe.observe(*latency_ms, *lost, error.is_some());
                }
            }
            SessionRecord::Delivery(d) => {
                if let Some(cluster) = &mut self.cluster {
                    cluster.on_delivery(d);
                }
            }
            SessionRecord::Divergence(d) => {
                if let Some(cluster) = &mut self.cluster {
                    cluster.on_divergence(d);
                }
            }
            _ => {}
        }
    }

    /// Whose connection a record from `node` is: the one connection whatever it says, or
    /// the node of that name (the same shared name, usually: a pointer comparison).
    fn conn_index(&self, node: Option<&NodeName>) -> Option<usize> {
        if !self.several {
            return Some(0);
        }
        let node = node?;
        self.conns.iter().position(|c| {
            c.node
                .0
                .as_ref()
                .is_some_and(|n| std::sync::Arc::ptr_eq(n, node) || n == node)
        })
    }

    /// The Prometheus text format (0.0.4).
    pub fn encode_text(&self, out: &mut String) -> std::fmt::Result {
        prometheus_client::encoding::prometheus_text::encode(out, &self.registry)
    }

    /// The OpenMetrics text format, `# EOF` included.
    pub fn encode_openmetrics(&self, out: &mut String) -> std::fmt::Result {
        prometheus_client::encoding::text::encode(out, &self.registry)
    }
}

fn seconds(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

#[cfg(test)]
mod tests;
