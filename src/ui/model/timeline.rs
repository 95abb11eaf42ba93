//! The timeline: what happened to the connection, and what the user did, in order.

use chanwatch_core::record::State;
use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

/// How many timeline entries are kept.
pub const TIMELINE_CAPACITY: usize = 1000;

/// The most the kept entries may hold together ([`TimelineEntry::bytes`]), the oldest going
/// first; the newest entry is always kept. Server texts arrive cut to an excerpt
/// ([`chanwatch_core::protocol::excerpt`]), so this is reached only by a stream of long messages.
pub const TIMELINE_MAX_BYTES: usize = 1 << 20;

/// What an entry costs besides its text: the struct, the ring slot.
const ENTRY_OVERHEAD: usize = 96;

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

impl TimelineEntry {
    /// About how much memory the entry holds.
    pub fn bytes(&self) -> usize {
        let text = match &self.kind {
            TimelineKind::State { cause, .. } => cause.as_ref().map_or(0, String::capacity),
            TimelineKind::Error { message, .. } => message.capacity(),
            TimelineKind::User(t) | TimelineKind::Fault(t) | TimelineKind::Note(t) => t.capacity(),
            TimelineKind::Webhook { text, .. } => text.capacity(),
            TimelineKind::ConnectingIn(_)
            | TimelineKind::PingSent(_)
            | TimelineKind::Pong(_)
            | TimelineKind::ClientGone => 0,
        };
        ENTRY_OVERHEAD + text
    }
}

/// The newest [`TIMELINE_CAPACITY`] entries holding at most [`TIMELINE_MAX_BYTES`], and how
/// many were ever pushed, so that a view scrolled back can keep its rows in place as
/// entries arrive.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    entries: VecDeque<TimelineEntry>,
    bytes: usize,
    pushed: u64,
}

impl Timeline {
    /// Push an entry, its texts cut to [`super::caps::MAX_TEXT`].
    pub fn push(&mut self, ts: SystemTime, kind: TimelineKind) {
        use super::caps::text;
        let kind = match kind {
            TimelineKind::State {
                previous,
                current,
                in_previous,
                cause,
            } => TimelineKind::State {
                previous,
                current,
                in_previous,
                cause: cause.map(text),
            },
            TimelineKind::Error { code, message } => TimelineKind::Error {
                code,
                message: text(message),
            },
            TimelineKind::User(t) => TimelineKind::User(text(t)),
            TimelineKind::Fault(t) => TimelineKind::Fault(text(t)),
            TimelineKind::Note(t) => TimelineKind::Note(text(t)),
            TimelineKind::Webhook { text: t, flagged } => TimelineKind::Webhook {
                text: text(t),
                flagged,
            },
            other => other,
        };
        let entry = TimelineEntry { ts, kind };
        let size = entry.bytes();
        while !self.entries.is_empty()
            && (self.entries.len() >= TIMELINE_CAPACITY || self.bytes + size > TIMELINE_MAX_BYTES)
        {
            if let Some(old) = self.entries.pop_front() {
                self.bytes -= old.bytes();
            }
        }
        self.entries.push_back(entry);
        self.bytes += size;
        self.pushed += 1;
    }

    /// What the kept entries hold together ([`TimelineEntry::bytes`]).
    pub fn bytes(&self) -> usize {
        self.bytes
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_by_count_and_by_bytes() {
        let mut t = Timeline::default();
        for i in 0..(TIMELINE_CAPACITY + 5) {
            t.push(SystemTime::UNIX_EPOCH, TimelineKind::Note(format!("n{i}")));
        }
        assert_eq!(t.len(), TIMELINE_CAPACITY);
        assert_eq!(t.pushed(), TIMELINE_CAPACITY as u64 + 5);
        // Long texts (20 KiB each, kept cut to the model's text cap): the byte bound holds
        // fewer than the count bound.
        let mut t = Timeline::default();
        for _ in 0..400 {
            t.push(
                SystemTime::UNIX_EPOCH,
                TimelineKind::Error {
                    code: None,
                    message: "x".repeat(20 << 10),
                },
            );
        }
        assert!(t.bytes() <= TIMELINE_MAX_BYTES, "{}", t.bytes());
        assert!(t.len() > 100 && t.len() < 400, "{}", t.len());
        let held: usize = t.iter().map(TimelineEntry::bytes).sum();
        assert_eq!(held, t.bytes());
        // A huge note is kept, cut.
        t.push(
            SystemTime::UNIX_EPOCH,
            TimelineKind::User("y".repeat(2 << 20)),
        );
        assert!(t.iter().last().unwrap().bytes() < 8 << 10);
        assert!(t.bytes() <= TIMELINE_MAX_BYTES, "{}", t.bytes());
    }
}
