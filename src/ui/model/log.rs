//! The event log: a bounded ring of events (oldest dropped first, with a count) and the `/`
//! filter. Entries carry consecutive sequence numbers, so a position can be found from a
//! sequence number in O(1) even after the ring has dropped its front.

use crate::ui::format::{contains_ci, prefix_bytes};
use chanwatch_core::protocol::RawJson;
use chanwatch_core::record::NodeName;
use std::collections::VecDeque;
use std::time::SystemTime;

/// How much of an event's data is kept as text for the preview and the filter. The full
/// data stays in `data` for the detail view.
pub const TEXT_BYTES: usize = 1024;

/// The most of one event's data the log keeps (1 MiB); the rest is cut and the entry says
/// how large the data was. Headless output always carries the data whole.
pub const MAX_EVENT_BYTES: usize = 1 << 20;

/// What an entry costs besides its strings: the struct, the ring slot, allocator slack.
const ENTRY_OVERHEAD: usize = 160;

#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    pub seq: u64,
    pub ts: SystemTime,
    /// The node the event came from, when several are watched: a clone of the one shared
    /// name, so it costs no allocation.
    pub node: Option<NodeName>,
    pub channel: Option<String>,
    pub event: String,
    pub user_id: Option<String>,
    pub data: RawJson,
    /// The payload arrived encrypted and `data` is its plaintext.
    pub decrypted: bool,
    /// The data on one line (the raw string when it is a string, else compact JSON), cut
    /// at [`TEXT_BYTES`].
    pub text: String,
    /// 0, or the data's size when it arrived larger than [`MAX_EVENT_BYTES`]: `data` is
    /// then a JSON string of its first bytes.
    pub cut_from: usize,
}

impl LogEntry {
    pub fn new(
        seq: u64,
        ts: SystemTime,
        channel: Option<String>,
        event: String,
        user_id: Option<String>,
        data: RawJson,
    ) -> LogEntry {
        let (data, text, cut_from) = if data.get().len() > MAX_EVENT_BYTES {
            // The preview is the start of the text kept, without decoding it back.
            let whole = data.get();
            let kept = prefix_bytes(whole, MAX_EVENT_BYTES);
            let text = prefix_bytes(kept, TEXT_BYTES).to_string();
            (RawJson::string(kept), text, whole.len())
        } else {
            let text = match data.as_string() {
                Some(s) => prefix_bytes(&s, TEXT_BYTES).to_string(),
                None => prefix_bytes(data.get(), TEXT_BYTES).to_string(),
            };
            (data, text, 0)
        };
        LogEntry {
            seq,
            ts,
            node: None,
            channel,
            event,
            user_id,
            data,
            decrypted: false,
            text,
            cut_from,
        }
    }

    /// About how much memory the entry holds: its buffers' capacities, not their texts'
    /// lengths, so that spare room is counted against `--log-bytes` too. The node's name is
    /// shared by every entry of the node, so only its pointer (in the overhead) counts.
    pub fn bytes(&self) -> usize {
        ENTRY_OVERHEAD
            + self.data.held_bytes()
            + self.text.capacity()
            + self.event.capacity()
            + self.channel.as_ref().map_or(0, String::capacity)
            + self.user_id.as_ref().map_or(0, String::capacity)
    }
}

/// One event as it goes into the log: a client `event` record's fields, with its time and
/// its node.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub ts: SystemTime,
    pub node: Option<NodeName>,
    pub channel: Option<String>,
    pub event: String,
    pub user_id: Option<String>,
    pub data: RawJson,
    pub decrypted: bool,
}

#[derive(Debug, Clone)]
pub struct EventLog {
    entries: VecDeque<LogEntry>,
    capacity: usize,
    /// The most the entries may hold together ([`LogEntry::bytes`]).
    max_bytes: usize,
    bytes: usize,
    dropped: u64,
    next_seq: u64,
}

impl EventLog {
    /// A ring holding at most `capacity` events (at least one) and about `max_bytes` of
    /// them; the newest event is always kept.
    pub fn new(capacity: usize, max_bytes: u64) -> EventLog {
        let capacity = capacity.max(1);
        EventLog {
            entries: VecDeque::with_capacity(capacity.min(4096)),
            capacity,
            max_bytes: usize::try_from(max_bytes).unwrap_or(usize::MAX),
            bytes: 0,
            dropped: 0,
            next_seq: 0,
        }
    }

    pub fn push(&mut self, e: NewEvent) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let mut entry = LogEntry::new(seq, e.ts, e.channel, e.event, e.user_id, e.data);
        entry.node = e.node;
        if e.decrypted {
            entry.decrypted = true;
            entry.text.insert_str(0, "[decrypted] ");
        }
        let size = entry.bytes();
        while !self.entries.is_empty()
            && (self.entries.len() >= self.capacity || self.bytes + size > self.max_bytes)
        {
            if let Some(old) = self.entries.pop_front() {
                self.bytes -= old.bytes();
                self.dropped += 1;
            }
        }
        self.bytes += size;
        self.entries.push_back(entry);
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
        self.dropped = 0;
    }

    /// About how much memory the entries hold.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Events pushed out of the ring since the start (or the last clear).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    pub fn get(&self, index: usize) -> Option<&LogEntry> {
        self.entries.get(index)
    }

    /// The index of the entry with this sequence number, clamped into the ring (a dropped
    /// entry maps to the oldest one still held). `None` when the log is empty.
    pub fn index_of(&self, seq: u64) -> Option<usize> {
        let front = self.entries.front()?.seq;
        let i = seq.saturating_sub(front) as usize;
        Some(i.min(self.entries.len() - 1))
    }

    /// The nearest matching index at or before `from`.
    pub fn match_at_or_before(&self, from: usize, filter: &Filter) -> Option<usize> {
        let from = from.min(self.entries.len().checked_sub(1)?);
        (0..=from).rev().find(|&i| filter.matches(&self.entries[i]))
    }

    /// The nearest matching index at or after `from`.
    pub fn match_at_or_after(&self, from: usize, filter: &Filter) -> Option<usize> {
        (from..self.entries.len()).find(|&i| filter.matches(&self.entries[i]))
    }

    /// Up to `n` matching indices ending with the newest, oldest first.
    pub fn tail(&self, n: usize, filter: &Filter) -> Vec<usize> {
        let mut out: Vec<usize> = (0..self.entries.len())
            .rev()
            .filter(|&i| filter.matches(&self.entries[i]))
            .take(n)
            .collect();
        out.reverse();
        out
    }

    /// Up to `n` matching indices starting at `from`.
    pub fn window(&self, from: usize, n: usize, filter: &Filter) -> Vec<usize> {
        (from..self.entries.len())
            .filter(|&i| filter.matches(&self.entries[i]))
            .take(n)
            .collect()
    }

    /// How many entries match (walks the ring; used for titles, not per row).
    pub fn count_matching(&self, filter: &Filter) -> usize {
        if filter.is_empty() {
            return self.entries.len();
        }
        self.entries.iter().filter(|e| filter.matches(e)).count()
    }
}

/// One word of a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Term {
    /// Anywhere: channel, event, user id or data text.
    Any(String),
    Channel(String),
    Event(String),
    /// The node the event came from (several nodes).
    Node(String),
}

/// `/` filter: whitespace-separated words that must all match, case-insensitively.
/// `channel:NAME`, `event:NAME` and `node:NAME` (also `c:`, `e:` and `n:`) restrict a word
/// to that field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    source: String,
    terms: Vec<Term>,
}

impl Filter {
    pub fn parse(text: &str) -> Filter {
        let terms = text
            .split_whitespace()
            .map(|w| {
                let lower = w.to_lowercase();
                if let Some(v) = lower
                    .strip_prefix("channel:")
                    .or_else(|| lower.strip_prefix("c:"))
                {
                    Term::Channel(v.to_string())
                } else if let Some(v) = lower
                    .strip_prefix("event:")
                    .or_else(|| lower.strip_prefix("e:"))
                {
                    Term::Event(v.to_string())
                } else if let Some(v) = lower
                    .strip_prefix("node:")
                    .or_else(|| lower.strip_prefix("n:"))
                {
                    Term::Node(v.to_string())
                } else {
                    Term::Any(lower)
                }
            })
            .collect();
        Filter {
            source: text.trim().to_string(),
            terms,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    pub fn text(&self) -> &str {
        &self.source
    }

    pub fn matches(&self, e: &LogEntry) -> bool {
        let channel = e.channel.as_deref().unwrap_or("");
        self.terms.iter().all(|t| match t {
            Term::Channel(n) => contains_ci(channel, n),
            Term::Event(n) => contains_ci(&e.event, n),
            Term::Node(n) => e.node.as_deref().is_some_and(|node| contains_ci(node, n)),
            Term::Any(n) => {
                contains_ci(channel, n)
                    || contains_ci(&e.event, n)
                    || e.user_id.as_deref().is_some_and(|u| contains_ci(u, n))
                    || contains_ci(&e.text, n)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::UNIX_EPOCH;

    fn push(log: &mut EventLog, ch: &str, ev: &str, data: serde_json::Value) {
        push_from(log, None, ch, ev, data);
    }

    fn push_from(
        log: &mut EventLog,
        node: Option<&NodeName>,
        ch: &str,
        ev: &str,
        data: serde_json::Value,
    ) {
        log.push(NewEvent {
            ts: UNIX_EPOCH,
            node: node.cloned(),
            channel: Some(ch.into()),
            event: ev.into(),
            user_id: None,
            data: data.into(),
            decrypted: false,
        });
    }

    #[test]
    fn ring_drops_oldest_and_counts() {
        let mut log = EventLog::new(3, u64::MAX);
        for i in 0..5 {
            push(&mut log, "a", "e", json!(i));
        }
        assert_eq!(log.len(), 3);
        assert_eq!(log.dropped(), 2);
        assert_eq!(log.get(0).unwrap().seq, 2);
        assert_eq!(log.index_of(0), Some(0), "dropped seq clamps to oldest");
        assert_eq!(log.index_of(4), Some(2));
        log.clear();
        assert_eq!((log.len(), log.dropped()), (0, 0));
        assert_eq!(log.index_of(4), None);
    }

    #[test]
    fn ring_is_bounded_by_bytes_too() {
        let max = 1 << 20;
        let mut log = EventLog::new(1_000_000, max);
        let payload = json!("x".repeat(10_000));
        for _ in 0..1_000 {
            push(&mut log, "a", "e", payload.clone());
        }
        assert!(log.bytes() <= max as usize, "{}", log.bytes());
        // Each entry counts what it holds: at least its text, at most about twice that.
        let per = log.get(0).unwrap().bytes();
        assert!((10_000..=2 * 10_000 + 2_000).contains(&per), "{per}");
        assert_eq!(log.len(), max as usize / per, "{per}");
        assert_eq!(log.dropped() as usize + log.len(), 1_000);
        // The newest event is kept even when it alone is over the bound.
        let mut tiny = EventLog::new(10, 1);
        push(&mut tiny, "a", "e", json!(1));
        push(&mut tiny, "a", "e", json!(2));
        assert_eq!((tiny.len(), tiny.dropped()), (1, 1));
    }

    #[test]
    fn padded_frames_are_counted_as_held_and_hold_little() {
        let pad = " ".repeat(4 << 20);
        let mut log = EventLog::new(1_000, 64 << 20);
        for _ in 0..20 {
            let frame = format!(r#"{{"event":"e","channel":"c","data":"1"{pad}}}"#);
            let f = chanwatch_core::protocol::Frame::decode(&frame).unwrap();
            log.push(NewEvent {
                ts: UNIX_EPOCH,
                node: None,
                channel: f.channel,
                event: f.event,
                user_id: f.user_id,
                data: f.data,
                decrypted: false,
            });
        }
        assert_eq!(log.len(), 20);
        for i in 0..log.len() {
            let e = log.get(i).unwrap();
            assert!(e.data.held_bytes() >= e.data.get().len());
            assert!(e.bytes() >= ENTRY_OVERHEAD + e.data.held_bytes() + e.text.capacity());
            // 4 MiB of padding behind the data is not kept.
            assert!(e.bytes() < 8 << 10, "{}", e.bytes());
        }
        assert!(log.bytes() < 20 * (8 << 10), "{}", log.bytes());
    }

    #[test]
    fn a_huge_payload_is_kept_up_to_the_cap_and_marked() {
        let mut log = EventLog::new(10, u64::MAX);
        let huge = "é".repeat(MAX_EVENT_BYTES); // 2 MiB of text
        let data = json!({ "blob": huge });
        let whole = data.to_string().len();
        push(&mut log, "a", "e", data);
        let e = log.get(0).unwrap();
        assert_eq!(e.cut_from, whole);
        let kept = e.data.as_string().expect("kept as a JSON string");
        assert!(kept.len() <= MAX_EVENT_BYTES && kept.len() > MAX_EVENT_BYTES - 4);
        assert!(kept.starts_with(r#"{"blob":"éé"#));
        assert!(e.bytes() < 3 * MAX_EVENT_BYTES);
        // A payload under the cap is untouched.
        push(&mut log, "a", "e", json!({"k": 1}));
        assert_eq!(log.get(1).unwrap().cut_from, 0);
        assert_eq!(log.get(1).unwrap().data.get(), r#"{"k":1}"#);
    }

    #[test]
    fn filter_terms() {
        let mut log = EventLog::new(10, u64::MAX);
        push(
            &mut log,
            "private-chat",
            "client-typing",
            json!({"who": "Ann"}),
        );
        push(&mut log, "news", "headline", json!("Rust released"));
        push(&mut log, "news", "client-typing", json!({}));
        let f = Filter::parse("channel:NEWS");
        assert_eq!(log.tail(10, &f), vec![1, 2]);
        let f = Filter::parse("e:typing ann");
        assert_eq!(log.tail(10, &f), vec![0]);
        let f = Filter::parse("rust");
        assert_eq!(log.tail(10, &f), vec![1]);
        assert_eq!(log.count_matching(&Filter::parse("")), 3);
        assert_eq!(log.window(1, 1, &Filter::default()), vec![1]);
        assert_eq!(
            log.match_at_or_before(1, &Filter::parse("private")),
            Some(0)
        );
        assert_eq!(log.match_at_or_after(1, &Filter::parse("private")), None);
    }

    #[test]
    fn entries_share_their_node_name_and_filter_by_it() {
        let a: NodeName = "node-a".into();
        let b: NodeName = "b".into();
        let mut log = EventLog::new(10, u64::MAX);
        push_from(&mut log, Some(&a), "news", "tick", json!(1));
        push_from(&mut log, Some(&b), "news", "tick", json!(1));
        push_from(&mut log, None, "news", "tick", json!(2));
        // The entry holds the one shared name: no copy of its text.
        let held = log.get(0).unwrap().node.as_ref().unwrap();
        assert!(std::sync::Arc::ptr_eq(held, &a));
        assert_eq!(std::sync::Arc::strong_count(&a), 2);
        assert_eq!(log.tail(10, &Filter::parse("node:NODE-A")), vec![0]);
        assert_eq!(log.tail(10, &Filter::parse("n:b tick")), vec![1]);
        // A plain word does not look at the node: "b" is in no channel, event or data.
        assert_eq!(log.tail(10, &Filter::parse("b")), Vec::<usize>::new());
        // The same event from two nodes is two entries, each counted against the caps.
        let mut capped = EventLog::new(2, u64::MAX);
        for node in [&a, &b, &a] {
            push_from(&mut capped, Some(node), "news", "tick", json!(1));
        }
        assert_eq!((capped.len(), capped.dropped()), (2, 1));
        assert_eq!(capped.get(0).unwrap().node.as_deref(), Some("b"));
    }

    #[test]
    fn long_data_is_cut_on_a_char_boundary() {
        let e = LogEntry::new(
            0,
            UNIX_EPOCH,
            None,
            "e".into(),
            None,
            json!("é".repeat(600)).into(),
        );
        assert!(e.text.len() <= TEXT_BYTES);
        assert!(e.text.chars().all(|c| c == 'é'));
    }
}
