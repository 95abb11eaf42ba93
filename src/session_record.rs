//! What a session tells whoever watches it (headless writer, dashboard, recording): the
//! client's [`Record`]s plus the session's own, for what it serves beside the connection
//! (faults, publishing, HTTP API listings, the probe, live measures, occupancy). The serde
//! shapes here and in `chanwatch_core::record` ARE the headless NDJSON format documented in
//! the README, so change them only compatibly.

use chanwatch_core::record::{LineRecord, Record, State};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// A session's record stamped with its wall-clock time.
pub type Stamped = chanwatch_core::record::Stamped<SessionRecord>;

/// Something the session observed or did: a client record, or one of its own. Serialised
/// with `"type"` as the tag; a client record keeps its own tag and shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SessionRecord {
    /// A fault was injected (fault proxy or demo server); `fault` is its label, e.g. "cut".
    Fault { fault: String },
    /// An event was published through the HTTP API.
    Published {
        channel: String,
        event: String,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        excluded_socket_id: Option<String>,
    },
    /// Occupied channels from the HTTP API (`GET /channels`), as the API returned them:
    /// `{"<name>": {...attributes}}`.
    Channels {
        #[serde(skip_serializing_if = "Option::is_none", default)]
        prefix: Option<String>,
        channels: Value,
    },
    /// Presence users of a channel from the HTTP API (`GET /channels/<name>/users`).
    Users { channel: String, users: Vec<String> },

    /// A command served beside the connection failed: `cmd` is `publish`, `list_channels`,
    /// `list_users` or `fault`; `channel` is the one it was about; `status` the HTTP status
    /// when the HTTP API answered one.
    CommandError {
        cmd: String,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        channel: Option<String>,
        status: Option<u16>,
        message: String,
    },

    /// Live measures every `--stats-interval`: rates, round trips, probe percentiles, uptime
    /// and outages (see [`Stats`]). Boxed: records are moved by value on
    /// the hot path, and this one is several times the size of the others.
    Stats(Box<Stats>),
    /// One latency probe (`--probe`): published through the HTTP API, then received here
    /// after `latency_ms`, or `lost`; `api_ms` is the HTTP API's own response time.
    Probe {
        seq: u64,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        latency_ms: Option<u64>,
        #[serde(skip_serializing_if = "std::ops::Not::not", default)]
        lost: bool,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        api_ms: Option<u64>,
        /// Why the publish failed, when it did.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        error: Option<String>,
    },
    /// The app's occupied channels with their counts, from one poll of the HTTP API.
    Occupancy { channels: Vec<OccupiedChannel> },

    /// The webhook receiver (`--webhook-listen`) is up: where the server should post
    /// (`url`), and where requests are passed on (`forward`).
    WebhookListening {
        url: String,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        forward: Option<String>,
    },
    /// One webhook request: our answer, the verdict on its key and signature, the server's
    /// `time_ms` and the delay to its arrival, and its events.
    Webhook(Box<crate::webhook::Received>),
    /// The backend's answer to a forwarded webhook request (`--webhook-forward`).
    WebhookForward(crate::webhook::Forwarded),
    /// A webhook our connection should cause came (`met`), did not (`missed`), or one came
    /// that contradicts what our socket knows (`contradicted`).
    WebhookCheck(crate::webhook::Check),

    /// The delivery matrix between the nodes (several `--node`s), every `--stats-interval`.
    Delivery(Box<crate::cluster::Delivery>),
    /// A difference between the nodes about a channel: members or counts (several
    /// `--node`s).
    Divergence(Box<crate::cluster::Divergence>),

    /// What the client observed or did.
    #[serde(untagged)]
    Client(Record),
}

impl From<Record> for SessionRecord {
    fn from(record: Record) -> SessionRecord {
        SessionRecord::Client(record)
    }
}

impl LineRecord for SessionRecord {
    fn as_client(&self) -> Option<&Record> {
        match self {
            SessionRecord::Client(record) => Some(record),
            _ => None,
        }
    }
}

impl SessionRecord {
    /// Cut every text a server chose to an excerpt, as the client's records are (see
    /// `Record::cut_server_text`): a command error may quote an HTTP API answer, a probe's
    /// error the same.
    pub fn cut_server_text(&mut self) {
        use chanwatch_core::protocol::excerpt::{cut, cut_option};
        match self {
            SessionRecord::Client(record) => record.cut_server_text(),
            SessionRecord::CommandError {
                channel, message, ..
            } => {
                cut_option(channel);
                cut(message);
            }
            SessionRecord::Probe { error, .. } => cut_option(error),
            // The receiver bounds what a webhook request may hold (the body, the events
            // kept) where it reads it.
            SessionRecord::WebhookListening { .. }
            | SessionRecord::Webhook(_)
            | SessionRecord::WebhookForward(_)
            | SessionRecord::WebhookCheck(_) => {}
            // Built from names and counts the other records already cut.
            SessionRecord::Delivery(_) | SessionRecord::Divergence(_) => {}
            SessionRecord::Fault { .. }
            | SessionRecord::Published { .. }
            | SessionRecord::Channels { .. }
            | SessionRecord::Users { .. }
            | SessionRecord::Stats(_)
            | SessionRecord::Occupancy { .. } => {}
        }
    }
}

// ----- the shapes inside `stats` and `occupancy` records -----

/// The numbers of a `stats` record (see the README's record table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Events in the last complete second, all channels.
    pub events_per_s: u64,
    /// Bytes of event data in the last complete second.
    pub bytes_per_s: u64,
    /// Mean events per second over the last minute.
    pub events_per_s_1m: f64,
    /// Channels with events in the last minute (the first 64 channels seen are tracked).
    pub channels: BTreeMap<String, ChannelRate>,
    /// Ping round trips (the last 300 pongs), when there were any.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rtt_ms: Option<Percentiles>,
    /// The latency probe over its window, when it has run.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub probe: Option<ProbeStats>,
    pub state: State,
    /// Share of the time since the first state change spent connected.
    pub uptime_pct: Option<f64>,
    /// Time spent in each state, by state name.
    pub time_in_state_ms: BTreeMap<String, u64>,
    /// Outages (connected, then not, then connected again) since the start.
    pub outages: u64,
    pub mean_reconnect_ms: Option<u64>,
    /// The latest outages, newest last, with the one going on now.
    pub recent_outages: Vec<OutageStat>,
    /// Authorization round trips per channel.
    pub auth_ms: BTreeMap<String, AuthTimes>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ChannelRate {
    pub events_per_s: u64,
    pub bytes_per_s: u64,
    pub events_per_s_1m: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeStats {
    /// Probes received in the window.
    pub received: usize,
    /// Probes lost in the window.
    pub lost: usize,
    pub p50_ms: Option<u64>,
    pub p95_ms: Option<u64>,
    pub p99_ms: Option<u64>,
    pub max_ms: Option<u64>,
    /// The HTTP API's own response time to the probe's publish.
    pub api_p50_ms: Option<u64>,
    pub api_max_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutageStat {
    pub duration_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cause: Option<String>,
    /// Still going on.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub ongoing: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Percentiles {
    pub p50: u64,
    pub p95: u64,
    pub p99: u64,
    pub max: u64,
    /// Received samples in the window.
    pub count: usize,
}

/// Authorization round trips of one channel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthTimes {
    pub count: u64,
    pub last_ms: u64,
    pub mean_ms: u64,
    pub max_ms: u64,
}

/// One occupied channel as an `occupancy` record carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OccupiedChannel {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub subscription_count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub user_count: Option<u64>,
}

impl OccupiedChannel {
    /// The number the table sorts by and draws: users on presence channels, connections
    /// elsewhere.
    pub fn count(&self) -> Option<u64> {
        self.user_count.or(self.subscription_count)
    }
}

/// Text for the tests that hold output safe to print.
#[cfg(test)]
pub(crate) mod hostile {
    /// Server text with what a terminal acts on: ESC (a colour, a screen clear, a title),
    /// BEL, CR, DEL and C1 controls (NEL, the one-byte CSI).
    pub(crate) const HOSTILE: &str =
        "\u{1b}[31mred \u{1b}]0;title\u{7} cr\rover \u{7f}del \u{85}nel \u{9b}2J csi";

    /// No raw control character but the line feeds between lines, and no C1 one.
    pub(crate) fn assert_terminal_safe(text: &str) {
        for c in text.chars() {
            assert!(c == '\n' || !c.is_control(), "{c:?} in {text:?}");
        }
    }
}
