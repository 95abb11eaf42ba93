//! The HTTP API's answers: the occupied channels (`L`) and a presence channel's users
//! (`U`). An answer to a request the user made is news for the interaction layer (a
//! picker, a notice); any other answer, or one that comes too late, is a timeline note.

use super::{Model, News, TimelineKind};
use crate::ui::model::presence::Roster;
use indexmap::IndexMap;
use serde_json::Value;
use std::time::{Duration, Instant, SystemTime};

/// How long an answer to `L` or `U` is awaited (the HTTP client gives up after 30 s).
pub const LIST_WAIT: Duration = Duration::from_secs(60);

/// The listings asked for and not yet answered.
#[derive(Debug, Clone, Default)]
pub(super) struct Awaited {
    /// A channel list (its prefix, and when it was asked for).
    list: Option<(Option<String>, Instant)>,
    /// Presence channels whose users were asked for, and when.
    users: IndexMap<String, Instant>,
}

/// The users the HTTP API reported for a presence channel.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiUsers {
    pub ids: Vec<String>,
    pub ts: SystemTime,
}

impl ApiUsers {
    /// Whether the live member list has this id (else the API and the socket disagree).
    pub fn is_live(id: &str, roster: Option<&Roster>) -> bool {
        roster.is_some_and(|r| r.members.contains_key(id))
    }

    /// The API's ids missing from the live member list.
    pub fn not_live<'a>(&'a self, roster: Option<&Roster>) -> Vec<&'a str> {
        self.ids
            .iter()
            .filter(|id| !ApiUsers::is_live(id, roster))
            .map(String::as_str)
            .collect()
    }

    /// Live members the API did not report.
    pub fn missing<'a>(&self, roster: Option<&'a Roster>) -> Vec<&'a str> {
        roster
            .map(|r| {
                r.members
                    .keys()
                    .filter(|id| !self.ids.contains(id))
                    .map(String::as_str)
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Model {
    /// The user asked for the occupied channels (with this name prefix).
    pub fn await_channel_list(&mut self, prefix: Option<String>, now: Instant) {
        self.awaited.list = Some((prefix, now));
    }

    /// The user asked for the users of a presence channel.
    pub fn await_users(&mut self, channel: &str, now: Instant) {
        self.awaited.users.insert(channel.to_string(), now);
    }

    /// A `channels` record: news when it answers the user's request, else a timeline note.
    pub(super) fn on_channels_answer(
        &mut self,
        ts: SystemTime,
        prefix: Option<String>,
        channels: Value,
        now: Instant,
    ) -> Option<News> {
        let asked =
            self.awaited.list.as_ref().is_some_and(|(p, at)| {
                *p == prefix && now.saturating_duration_since(*at) <= LIST_WAIT
            });
        if asked {
            self.awaited.list = None;
            return Some(News::ChannelList { prefix, channels });
        }
        let names: Vec<&str> = channels
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let text = format!("{} occupied channel(s): {}", names.len(), names.join(", "));
        self.timeline.push(ts, TimelineKind::Note(text));
        None
    }

    /// A `users` record: kept on its channel for the members pane and, when it answers the
    /// user's request, summed up in a notice; otherwise a timeline note.
    pub(super) fn on_users_answer(
        &mut self,
        ts: SystemTime,
        channel: String,
        users: Vec<String>,
        now: Instant,
    ) -> Option<News> {
        let asked = self
            .awaited
            .users
            .shift_remove(&channel)
            .is_some_and(|at| now.saturating_duration_since(at) <= LIST_WAIT);
        let Some(c) = self.channels.get_mut(&channel) else {
            let text = format!("{channel} users: {}", users.join(", "));
            self.timeline.push(ts, TimelineKind::Note(text));
            return None;
        };
        // As many as a roster keeps, with ids a roster would keep.
        let ids = users
            .into_iter()
            .filter(|id| id.len() <= super::caps::MAX_MEMBER_ID)
            .take(chanwatch_core::connection::MAX_MEMBERS)
            .collect();
        let api = ApiUsers { ids, ts };
        let not_live = api.not_live(c.roster.as_ref()).len();
        let missing = api.missing(c.roster.as_ref()).len();
        let n = api.ids.len();
        let note = (!asked).then(|| format!("{channel} users: {}", api.ids.join(", ")));
        let had_roster = c.roster.is_some();
        c.api_users = Some(api);
        if let Some(text) = note {
            self.timeline.push(ts, TimelineKind::Note(text));
            return None;
        }
        let text = if had_roster {
            let mut text = format!(
                "HTTP API: {n} user(s) on {channel}, {not_live} not in the live member list"
            );
            if missing > 0 {
                text.push_str(&format!(", {missing} live member(s) missing from it"));
            }
            text
        } else {
            format!("HTTP API: {n} user(s) on {channel} (no live member list to compare)")
        };
        Some(News::Info(text))
    }

    /// A failed side command (HTTP API, faults): the request it answers is no longer
    /// awaited, and the footer says what went wrong, since the user just pressed a key and
    /// is waiting for something to happen.
    pub(super) fn on_command_error(
        &mut self,
        ts: SystemTime,
        cmd: &str,
        channel: Option<&str>,
        status: Option<u16>,
        message: String,
    ) -> News {
        match (cmd, channel) {
            ("list_channels", _) => self.awaited.list = None,
            ("list_users", Some(channel)) => {
                self.awaited.users.shift_remove(channel);
            }
            _ => {}
        }
        let code = status.map(i64::from);
        self.timeline.push(
            ts,
            TimelineKind::Error {
                code,
                message: message.clone(),
            },
        );
        News::Error(message)
    }
}
