//! Prometheus metrics of a session (`--metrics-listen`): a watcher of the session's records
//! beside the headless writer or the dashboard ([`tap`]), the metrics those records update
//! ([`Metrics`], pure and fed with the `Instant` of every call), and a small HTTP server
//! that serves them ([`server`]).
//!
//! What is exported is bounded whatever the server sends: channel labels are the first
//! [`CHANNEL_CAP`] channels seen (later ones are folded into `channel="_other"`), reconnect
//! causes are a fixed set, and no socket id, user id or secret ever becomes a label.

pub mod server;
mod tap;

pub use server::{MetricsServer, ServeError};
pub use tap::tap;

use crate::session_record::SessionRecord;
use chanwatch_core::record::{Record, State};
use prometheus_client::encoding::EncodeLabelSet;
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

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ChannelLabel {
    channel: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CauseLabel {
    cause: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

type F64Counter = Counter<f64, AtomicU64>;

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// The handles of one channel's event counters, cached so that counting an event is one
/// hash look-up by `&str` and two atomic adds.
#[derive(Clone)]
struct ChannelCounters {
    events: Counter,
    bytes: Counter,
}

/// Round trips and the latency probe: histograms and the probe's counts.
struct LatencyMetrics {
    ping_rtt: Histogram,
    probe_latency: Histogram,
    probes: Counter,
    probes_lost: Counter,
    probe_errors: Counter,
    probe_success: Gauge,
    auth: Family<ResultLabel, Histogram, fn() -> Histogram>,
}

impl LatencyMetrics {
    fn register(registry: &mut Registry) -> LatencyMetrics {
        let ping_rtt = latency_histogram();
        registry.register_with_unit(
            "ping_rtt",
            "Round trips of pusher:ping (to the first frame after it)",
            Unit::Seconds,
            ping_rtt.clone(),
        );
        let probe_latency = latency_histogram();
        registry.register_with_unit(
            "probe_latency",
            "Latency probe: from the HTTP API publish to the event's arrival here",
            Unit::Seconds,
            probe_latency.clone(),
        );
        let probes = Counter::default();
        registry.register("probes", "Latency probes finished", probes.clone());
        let probes_lost = Counter::default();
        registry.register(
            "probe_lost",
            "Latency probes that never arrived (publish failures included)",
            probes_lost.clone(),
        );
        let probe_errors = Counter::default();
        registry.register(
            "probe_errors",
            "Latency probes whose publish through the HTTP API failed",
            probe_errors.clone(),
        );
        let probe_success = Gauge::default();
        registry.register(
            "probe_success",
            "1 if the last latency probe arrived, 0 if it was lost (0 before the first)",
            probe_success.clone(),
        );
        let auth = Family::<ResultLabel, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        registry.register_with_unit(
            "auth_duration",
            "Authorization round trips, by result (ok or error)",
            Unit::Seconds,
            auth.clone(),
        );
        LatencyMetrics {
            ping_rtt,
            probe_latency,
            probes,
            probes_lost,
            probe_errors,
            probe_success,
            auth,
        }
    }
}

/// The session's metrics and the bookkeeping that updates them from records.
pub struct Metrics {
    registry: Registry,
    connected: Gauge,
    state: [Gauge; 6],
    connected_seconds: F64Counter,
    connections: Counter,
    reconnects: Family<CauseLabel, Counter>,
    events_by_channel: Family<ChannelLabel, Counter>,
    bytes_by_channel: Family<ChannelLabel, Counter>,
    channels: FxHashMap<Box<str>, ChannelCounters>,
    connection_events: ChannelCounters,
    other_channels: ChannelCounters,
    latency: LatencyMetrics,
    presence_members: Family<ChannelLabel, Gauge>,
    presence: FxHashMap<Box<str>, Gauge>,
    // Bookkeeping between records.
    current: State,
    connected_since: Option<Instant>,
    /// The close code of the last `error` record since the connection was established.
    last_code: Option<i64>,
    /// A ping went out and nothing has come back yet.
    ping_pending: bool,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("chanwatch");
        let connected = Gauge::default();
        registry.register(
            "connected",
            "1 while the connection is established, else 0",
            connected.clone(),
        );
        let state_family = Family::<StateLabel, Gauge>::default();
        registry.register(
            "connection_state",
            "1 for the connection's current state, 0 for the others",
            state_family.clone(),
        );
        let state =
            STATES.map(|s| state_family.get_or_create_owned(&StateLabel { state: s.as_str() }));
        let connected_seconds = F64Counter::default();
        registry.register_with_unit(
            "connected",
            "Time spent connected",
            Unit::Seconds,
            connected_seconds.clone(),
        );
        let connections = Counter::default();
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
        for cause in ReconnectCause::ALL {
            // Every cause is exported from the start, at 0, so rate() sees its first loss.
            reconnects.get_or_create_owned(&CauseLabel {
                cause: cause.as_str(),
            });
        }
        let events_by_channel = Family::<ChannelLabel, Counter>::default();
        registry.register(
            "events_received",
            "Events received, by channel (the first 64 channels; the rest as _other)",
            events_by_channel.clone(),
        );
        let bytes_by_channel = Family::<ChannelLabel, Counter>::default();
        registry.register_with_unit(
            "event_data_received",
            "Event data received, by channel (the first 64 channels; the rest as _other)",
            Unit::Bytes,
            bytes_by_channel.clone(),
        );
        let latency = LatencyMetrics::register(&mut registry);
        let presence_members = Family::<ChannelLabel, Gauge>::default();
        registry.register(
            "presence_members",
            "Members of each subscribed presence channel (the first 64 channels)",
            presence_members.clone(),
        );
        let channel_counters = |name: &str| ChannelCounters {
            events: events_by_channel.get_or_create_owned(&ChannelLabel {
                channel: name.into(),
            }),
            bytes: bytes_by_channel.get_or_create_owned(&ChannelLabel {
                channel: name.into(),
            }),
        };
        let connection_events = channel_counters(NO_CHANNEL);
        let other_channels = channel_counters(OTHER_CHANNEL);
        let metrics = Metrics {
            registry,
            connected,
            state,
            connected_seconds,
            connections,
            reconnects,
            events_by_channel,
            bytes_by_channel,
            channels: FxHashMap::default(),
            connection_events,
            other_channels,
            latency,
            presence_members,
            presence: FxHashMap::default(),
            current: State::Initialized,
            connected_since: None,
            last_code: None,
            ping_pending: false,
        };
        metrics.state[0].set(1);
        metrics
    }

    /// The registry the metrics are in, to encode.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Whether the connection is established now (what `/ready` answers).
    pub fn is_connected(&self) -> bool {
        self.current == State::Connected
    }

    /// Bring the time-based metrics up to `now` (before a scrape).
    pub fn refresh(&mut self, now: Instant) {
        if let Some(since) = self.connected_since.as_mut() {
            let lived = now.saturating_duration_since(*since);
            self.connected_seconds.inc_by(lived.as_secs_f64());
            *since = now;
        }
    }

    /// Update the metrics from one record seen at `now`. O(1) per event, allocating only
    /// the first time a channel is seen.
    pub fn observe(&mut self, record: &SessionRecord, now: Instant) {
        match record {
            SessionRecord::Client(r) => self.observe_client(r, now),
            SessionRecord::Probe {
                latency_ms,
                lost,
                error,
                ..
            } => {
                self.latency.probes.inc();
                if *lost {
                    self.latency.probes_lost.inc();
                    self.latency.probe_success.set(0);
                } else {
                    self.latency.probe_success.set(1);
                }
                if error.is_some() {
                    self.latency.probe_errors.inc();
                }
                if let Some(ms) = latency_ms {
                    self.latency.probe_latency.observe(seconds(*ms));
                }
            }
            _ => {}
        }
    }

    fn observe_client(&mut self, record: &Record, now: Instant) {
        match record {
            Record::Event { channel, data, .. } => {
                self.ping_pending = false;
                self.count_event(channel.as_deref(), data.get().len() as u64);
            }
            Record::State { current, .. } => self.on_state(*current, now),
            Record::Error {
                code: Some(code), ..
            } => self.last_code = Some(*code),
            Record::PingSent { .. } => self.ping_pending = true,
            Record::Pong { rtt_ms } => {
                self.ping_pending = false;
                self.latency.ping_rtt.observe(seconds(*rtt_ms));
            }
            Record::Auth {
                ok, duration_ms, ..
            } => {
                let result = if *ok { "ok" } else { "error" };
                self.latency
                    .auth
                    .get_or_create(&ResultLabel { result })
                    .observe(seconds(*duration_ms));
            }
            Record::Members { channel, count, .. } => {
                if let Some(g) = self.presence_gauge(channel) {
                    g.set(i64::try_from(*count).unwrap_or(i64::MAX));
                }
            }
            Record::MemberAdded { channel, .. } => {
                if let Some(g) = self.presence_gauge(channel) {
                    g.inc();
                }
            }
            Record::MemberRemoved { channel, .. } => {
                if let Some(g) = self.presence_gauge(channel) {
                    g.dec();
                }
            }
            Record::Unsubscribed { channel } => {
                if let Some(g) = self.presence.get(channel.as_str()) {
                    g.set(0);
                }
            }
            _ => {}
        }
    }

    /// One event: a hash look-up by `&str` and two atomic adds; a channel seen for the
    /// first time gets counters of its own while under the cap (its only allocation).
    fn count_event(&mut self, channel: Option<&str>, bytes: u64) {
        let counters = match channel {
            None => &self.connection_events,
            Some(name) => match self.channels.get(name) {
                Some(c) => c,
                None if self.channels.len() >= CHANNEL_CAP => &self.other_channels,
                None => {
                    let label = ChannelLabel {
                        channel: name.to_string(),
                    };
                    let counters = ChannelCounters {
                        events: self.events_by_channel.get_or_create_owned(&label),
                        bytes: self.bytes_by_channel.get_or_create_owned(&label),
                    };
                    self.channels.entry(name.into()).or_insert(counters)
                }
            },
        };
        counters.events.inc();
        counters.bytes.inc_by(bytes);
    }

    /// A presence channel's gauge; none past the cap (a sum over unrelated channels would
    /// mean nothing).
    fn presence_gauge(&mut self, channel: &str) -> Option<&Gauge> {
        if !self.presence.contains_key(channel) {
            if self.presence.len() >= CHANNEL_CAP {
                return None;
            }
            let gauge = self.presence_members.get_or_create_owned(&ChannelLabel {
                channel: channel.to_string(),
            });
            self.presence.insert(channel.into(), gauge);
        }
        self.presence.get(channel)
    }

    fn on_state(&mut self, current: State, now: Instant) {
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
        for g in self.presence.values() {
            g.set(0);
        }
        if previous == State::Connected && matches!(current, State::Connecting | State::Unavailable)
        {
            let cause = match (self.last_code, self.ping_pending) {
                (Some(code), _) => ReconnectCause::from_code(code),
                (None, true) => ReconnectCause::PongTimeout,
                (None, false) => ReconnectCause::NormalClose,
            };
            self.reconnects
                .get_or_create(&CauseLabel {
                    cause: cause.as_str(),
                })
                .inc();
        }
        self.last_code = None;
        self.ping_pending = false;
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
