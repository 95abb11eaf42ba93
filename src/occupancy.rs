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
use std::collections::VecDeque;

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

/// Put the `user_count`s of a presence listing into `channels`.
pub fn merge_user_counts(channels: &mut Vec<OccupiedChannel>, presence: &[OccupiedChannel]) {
    for p in presence {
        match channels.iter_mut().find(|c| c.name == p.name) {
            Some(c) => c.user_count = p.user_count,
            None => channels.push(p.clone()),
        }
    }
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
    sort: SortBy,
    polls: u64,
}

impl Table {
    /// Apply one poll: channels no longer listed were vacated and leave the table.
    pub fn apply(&mut self, channels: &[OccupiedChannel]) {
        let mut rows = Vec::with_capacity(channels.len());
        for c in channels {
            let mut history = self
                .rows
                .iter_mut()
                .find(|r| r.channel.name == c.name)
                .map(|r| std::mem::take(&mut r.history))
                .unwrap_or_default();
            if history.len() == HISTORY {
                history.pop_front();
            }
            history.push_back(c.count().unwrap_or(0));
            rows.push(Row {
                channel: c.clone(),
                history,
            });
        }
        self.rows = rows;
        self.polls += 1;
        self.sort_rows();
    }

    pub fn set_sort(&mut self, sort: SortBy) {
        self.sort = sort;
        self.sort_rows();
    }

    pub fn sort(&self) -> SortBy {
        self.sort
    }

    fn sort_rows(&mut self) {
        match self.sort {
            SortBy::Name => self
                .rows
                .sort_by(|a, b| a.channel.name.cmp(&b.channel.name)),
            SortBy::Count => self.rows.sort_by(|a, b| {
                b.channel
                    .count()
                    .cmp(&a.channel.count())
                    .then_with(|| a.channel.name.cmp(&b.channel.name))
            }),
        }
    }

    pub fn rows(&self) -> &[Row] {
        &self.rows
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
}
