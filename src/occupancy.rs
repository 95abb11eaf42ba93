//! Server occupancy: the app's occupied channels with `subscription_count` and `user_count`,
//! polled from the HTTP API (`GET /apps/<id>/channels`), and the table the dashboard shows
//! with a short history per channel for its sparkline.
//!
//! Servers differ in what one listing may carry. Pusher and sockudo refuse `user_count`
//! unless the listing is limited to `presence-` channels, and Pusher has no
//! `subscription_count` in listings. So a poll first asks for both at once; if the server
//! refuses (HTTP 400), later polls ask for `subscription_count` on all channels (or, if that
//! is refused too, for the bare list) and for `user_count` on `presence-` channels apart,
//! the second only when there are presence channels.

use chanwatch_core::http_api::{HttpApi, HttpApiError};
use serde_json::Value;
use std::collections::{HashMap, VecDeque};

pub use crate::session_record::OccupiedChannel;

/// Channels of a listing answer (`{"channels":{"<name>":{...}}}`), sorted by name.
pub fn parse_listing(answer: &Value) -> Vec<OccupiedChannel> {
    let Some(map) = answer.get("channels").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut out: Vec<OccupiedChannel> = map
        .iter()
        .map(|(name, attrs)| OccupiedChannel {
            name: name.clone(),
            subscription_count: attrs.get("subscription_count").and_then(Value::as_u64),
            user_count: attrs.get("user_count").and_then(Value::as_u64),
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Put the `user_count`s of a presence listing into `channels`. An app may have tens of
/// thousands of channels, so channels are found by name in a map, not one by one.
pub fn merge_user_counts(channels: &mut Vec<OccupiedChannel>, presence: &[OccupiedChannel]) {
    let at: HashMap<&str, usize> = channels
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name.as_str(), i))
        .collect();
    let mut counts = Vec::new();
    let mut new = Vec::new();
    for p in presence {
        match at.get(p.name.as_str()) {
            Some(&i) => counts.push((i, p.user_count)),
            None => new.push(p.clone()),
        }
    }
    drop(at);
    for (i, count) in counts {
        channels[i].user_count = count;
    }
    channels.extend(new);
    channels.sort_by(|a, b| a.name.cmp(&b.name));
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ask {
    /// `info=subscription_count,user_count` in one listing.
    Both,
    /// `info=subscription_count`, then `user_count` for presence channels apart.
    Split,
    /// A bare listing, then `user_count` for presence channels apart.
    Bare,
}

/// Polls one app's occupancy, remembering what the server accepts.
#[derive(Debug, Clone)]
pub struct Poller {
    api: HttpApi,
    ask: Ask,
}

impl Poller {
    pub fn new(api: HttpApi) -> Poller {
        Poller {
            api,
            ask: Ask::Both,
        }
    }

    /// One poll: one request, or two or three while learning what the server accepts.
    pub async fn poll(&mut self) -> Result<Vec<OccupiedChannel>, HttpApiError> {
        loop {
            let info = match self.ask {
                Ask::Both => Some("subscription_count,user_count"),
                Ask::Split => Some("subscription_count"),
                Ask::Bare => None,
            };
            match self.api.channels_with_info(None, info).await {
                Ok(answer) => {
                    let mut channels = parse_listing(&answer);
                    if self.ask != Ask::Both
                        && channels.iter().any(|c| c.name.starts_with("presence-"))
                    {
                        let presence = self
                            .api
                            .channels_with_info(Some("presence-"), Some("user_count"))
                            .await?;
                        merge_user_counts(&mut channels, &parse_listing(&presence));
                    }
                    return Ok(channels);
                }
                Err(e) if e.status() == Some(400) && self.ask != Ask::Bare => {
                    self.ask = match self.ask {
                        Ask::Both => Ask::Split,
                        _ => Ask::Bare,
                    };
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// Samples of a channel's count kept for its sparkline (one per poll).
pub const HISTORY: usize = 60;

/// The most rows the table keeps; the rest of a larger poll is counted ("+N more"). Which
/// rows are kept follows the sort: the first names, or the largest counts.
pub const MAX_ROWS: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub channel: OccupiedChannel,
    pub history: VecDeque<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    #[default]
    Name,
    /// Largest count first.
    Count,
}

/// The occupancy table: the latest poll, each channel's count history, and the sort order.
#[derive(Debug, Clone, Default)]
pub struct Table {
    rows: Vec<Row>,
    /// Channels of the last poll past [`MAX_ROWS`], not kept.
    more: usize,
    sort: SortBy,
    polls: u64,
}

impl SortBy {
    fn order(self, a: &OccupiedChannel, b: &OccupiedChannel) -> std::cmp::Ordering {
        match self {
            SortBy::Name => a.name.cmp(&b.name),
            SortBy::Count => b.count().cmp(&a.count()).then_with(|| a.name.cmp(&b.name)),
        }
    }
}

impl Table {
    /// Apply one poll: channels no longer listed were vacated and leave the table. O(n) to
    /// pick the rows kept, O(k log k) to sort them, with k at most [`MAX_ROWS`].
    pub fn apply(&mut self, channels: &[OccupiedChannel]) {
        let sort = self.sort;
        let mut kept: Vec<&OccupiedChannel> = channels.iter().collect();
        if kept.len() > MAX_ROWS {
            kept.select_nth_unstable_by(MAX_ROWS - 1, |a, b| sort.order(a, b));
            kept.truncate(MAX_ROWS);
        }
        self.more = channels.len() - kept.len();
        let mut old: HashMap<String, VecDeque<u64>> = std::mem::take(&mut self.rows)
            .into_iter()
            .map(|r| (r.channel.name, r.history))
            .collect();
        self.rows = kept
            .into_iter()
            .map(|c| {
                let mut history = old.remove(&c.name).unwrap_or_default();
                if history.len() == HISTORY {
                    history.pop_front();
                }
                history.push_back(c.count().unwrap_or(0));
                Row {
                    channel: c.clone(),
                    history,
                }
            })
            .collect();
        self.polls += 1;
        self.sort_rows();
    }

    /// Sort the rows kept; which rows are kept follows the new order from the next poll.
    pub fn set_sort(&mut self, sort: SortBy) {
        self.sort = sort;
        self.sort_rows();
    }

    pub fn sort(&self) -> SortBy {
        self.sort
    }

    fn sort_rows(&mut self) {
        let sort = self.sort;
        self.rows
            .sort_unstable_by(|a, b| sort.order(&a.channel, &b.channel));
    }

    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// Channels of the last poll not kept, past [`MAX_ROWS`].
    pub fn more(&self) -> usize {
        self.more
    }

    /// Polls applied so far (0: nothing has arrived yet).
    pub fn polls(&self) -> u64 {
        self.polls
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ch(name: &str, subs: Option<u64>, users: Option<u64>) -> OccupiedChannel {
        OccupiedChannel {
            name: name.into(),
            subscription_count: subs,
            user_count: users,
        }
    }

    #[test]
    fn listings_parse_and_merge() {
        let mut all = parse_listing(&json!({"channels": {
            "news": {"subscription_count": 3},
            "presence-room": {"subscription_count": 2},
            "bare": {}
        }}));
        assert_eq!(all[0], ch("bare", None, None));
        let presence = parse_listing(&json!({"channels": {"presence-room": {"user_count": 1}}}));
        merge_user_counts(&mut all, &presence);
        assert_eq!(all[2], ch("presence-room", Some(2), Some(1)));
        assert_eq!(all[2].count(), Some(1));
        assert!(parse_listing(&json!({})).is_empty());
    }

    #[test]
    fn the_table_keeps_history_and_sorts() {
        let mut t = Table::default();
        t.apply(&[ch("b", Some(1), None), ch("a", Some(5), None)]);
        t.apply(&[ch("b", Some(2), None), ch("c", None, Some(9))]);
        let names: Vec<&str> = t.rows().iter().map(|r| r.channel.name.as_str()).collect();
        assert_eq!(names, ["b", "c"], "a was vacated");
        assert_eq!(t.rows()[0].history, [1, 2]);
        t.set_sort(SortBy::Count);
        assert_eq!(t.rows()[0].channel.name, "c");
        for i in 0..HISTORY as u64 + 5 {
            t.apply(&[ch("b", Some(i), None)]);
        }
        assert_eq!(t.rows()[0].history.len(), HISTORY);
        assert_eq!(t.polls(), 2 + HISTORY as u64 + 5);
    }

    /// 75 000 channels (an answer of about 3.8 MB): the table keeps [`MAX_ROWS`] of them,
    /// counts the rest, and still merges each kept channel's history by name.
    #[test]
    fn a_huge_poll_keeps_the_cap_and_counts_the_rest() {
        const N: usize = 75_000;
        let poll = |round: u64| -> Vec<OccupiedChannel> {
            (0..N)
                .map(|i| ch(&format!("channel-{i:06}"), Some(i as u64 + round), None))
                .collect()
        };
        let mut t = Table::default();
        t.apply(&poll(0));
        assert_eq!((t.rows().len(), t.more()), (MAX_ROWS, N - MAX_ROWS));
        assert_eq!(t.rows()[0].channel.name, "channel-000000");
        assert_eq!(t.rows()[MAX_ROWS - 1].channel.name, "channel-009999");
        t.apply(&poll(1));
        assert_eq!(t.rows()[5].history, [5, 6], "the history follows the name");
        // By count: the largest counts are the rows kept.
        t.set_sort(SortBy::Count);
        t.apply(&poll(2));
        assert_eq!((t.rows().len(), t.more()), (MAX_ROWS, N - MAX_ROWS));
        assert_eq!(t.rows()[0].channel.name, format!("channel-{:06}", N - 1));
        assert_eq!(t.rows()[0].history, [N as u64 + 1], "new to the table");
        // A smaller poll keeps everything.
        t.apply(&poll(3)[..10]);
        assert_eq!((t.rows().len(), t.more()), (10, 0));
    }

    #[test]
    fn presence_counts_merge_by_name() {
        let mut all: Vec<OccupiedChannel> = (0..50_000)
            .map(|i| ch(&format!("presence-{i:05}"), Some(1), None))
            .collect();
        let presence: Vec<OccupiedChannel> = (0..50_001)
            .map(|i| ch(&format!("presence-{i:05}"), None, Some(i)))
            .collect();
        merge_user_counts(&mut all, &presence);
        assert_eq!(all.len(), 50_001);
        assert_eq!(all[49_999], ch("presence-49999", Some(1), Some(49_999)));
        assert_eq!(all[50_000], ch("presence-50000", None, Some(50_000)));
    }
}
