//! The timeline: what happened to the connection, and what the user did, in order.

use chanwatch_core::record::State;
use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

/// How many timeline entries are kept.
pub const TIMELINE_CAPACITY: usize = 1000;

#[derive(Debug, Clone, PartialEq)]
pub enum TimelineKind {
    State {
        previous: State,
        current: State,
        /// Time spent in `previous`, when the dashboard saw it begin.
        in_previous: Option<Duration>,
        cause: Option<String>,
    },
    Error {
        code: Option<i64>,
        message: String,
    },
    ConnectingIn(Duration),
    PingSent(Duration),
    Pong(Duration),
    /// Something the user did, so cause and effect read in order.
    User(String),
    /// An injected fault ("cut", "close 4200"...), marked so its effects read after it.
    Fault(String),
    /// Sign-in, watchlist and HTTP API news.
    Note(String),
    /// A webhook received or checked; `flagged` when refused, missed or contradicted.
    Webhook {
        text: String,
        flagged: bool,
    },
    ClientGone,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TimelineEntry {
    pub ts: SystemTime,
    pub kind: TimelineKind,
}

/// The newest [`TIMELINE_CAPACITY`] entries, and how many were ever pushed, so that a view
/// scrolled back can keep its rows in place as entries arrive.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    entries: VecDeque<TimelineEntry>,
    pushed: u64,
}

impl Timeline {
    pub fn push(&mut self, ts: SystemTime, kind: TimelineKind) {
        if self.entries.len() == TIMELINE_CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back(TimelineEntry { ts, kind });
        self.pushed += 1;
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries ever pushed, including those forgotten since.
    pub fn pushed(&self) -> u64 {
        self.pushed
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &TimelineEntry> + ExactSizeIterator {
        self.entries.iter()
    }
}
