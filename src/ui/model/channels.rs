//! The channels the dashboard knows, in the order they were first named, with what each
//! subscription reported: its status, events counted, the presence roster, the server's
//! subscription count and a cache miss.

use super::{ApiUsers, Model, News, caps};
use crate::ui::model::presence::Roster;
use chanwatch_core::protocol::RawJson;
use chanwatch_core::protocol::channel::{ChannelKind, MAX_CHANNEL_NAME, is_cache};
use chanwatch_core::record::Member;
use serde_json::Value;
use std::time::Instant;

#[derive(Debug, Clone, PartialEq)]
pub enum ChannelStatus {
    Pending,
    Subscribed,
    Failed {
        status: Option<u16>,
        message: String,
    },
    /// `u` was pressed; waiting for `unsubscribed`.
    Leaving,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Channel {
    pub name: String,
    pub kind: ChannelKind,
    pub cache: bool,
    pub status: ChannelStatus,
    pub events: u64,
    /// Presence channels only, once the member list arrived.
    pub roster: Option<Roster>,
    /// The server's `pusher:subscription_count` for this subscription, when it sent one.
    pub subscription_count: Option<u64>,
    /// A cache channel's subscription found nothing cached (`pusher:cache_miss`).
    pub cache_miss: bool,
    /// The users the HTTP API reported for this presence channel (`U`).
    pub api_users: Option<ApiUsers>,
}

impl Channel {
    fn new(name: &str) -> Channel {
        Channel {
            name: name.to_string(),
            kind: ChannelKind::of(name),
            cache: is_cache(name),
            status: ChannelStatus::Pending,
            events: 0,
            roster: None,
            subscription_count: None,
            cache_miss: false,
            api_users: None,
        }
    }

    /// Forget what belonged to one subscription, which the next one reports afresh.
    fn reset_subscription_facts(&mut self) {
        self.roster = None;
        self.subscription_count = None;
        self.cache_miss = false;
    }
}

impl Model {
    /// The user's own channel: always kept (the user names it, one at a time).
    fn channel_entry(&mut self, name: &str) -> &mut Channel {
        self.channels
            .entry(name.to_string())
            .or_insert_with(|| Channel::new(name))
    }

    /// The channel a record is about, added when there is room: past
    /// [`caps::MAX_CHANNELS`], or named longer than any server accepts, the record is
    /// counted and dropped.
    fn record_channel(&mut self, name: &str) -> Option<&mut Channel> {
        let room = self.channels.len() < caps::MAX_CHANNELS && name.len() <= MAX_CHANNEL_NAME;
        if !room && !self.channels.contains_key(name) {
            self.channels_dropped += 1;
            return None;
        }
        Some(self.channel_entry(name))
    }

    /// The user asked to subscribe: a failed or leaving channel starts over. Its index.
    pub fn subscribing(&mut self, name: &str) -> usize {
        let c = self.channel_entry(name);
        if matches!(
            c.status,
            ChannelStatus::Failed { .. } | ChannelStatus::Leaving
        ) {
            c.status = ChannelStatus::Pending;
            c.reset_subscription_facts();
        }
        self.channels.get_index_of(name).unwrap_or(0)
    }

    /// The user asked to unsubscribe from the channel at `index`: its name, and whether it
    /// was forgotten at once (a failed channel: nothing is subscribed on the server).
    pub fn unsubscribing(&mut self, index: usize) -> Option<(String, bool)> {
        let c = self.channels.get_index_mut(index).map(|(_, c)| c)?;
        let name = c.name.clone();
        let failed = matches!(c.status, ChannelStatus::Failed { .. });
        if failed {
            self.channels.shift_remove_index(index);
        } else {
            c.status = ChannelStatus::Leaving;
        }
        Some((name, failed))
    }

    /// The connection was lost: the client resubscribes everything on the next one.
    pub(super) fn connection_lost(&mut self) {
        for c in self.channels.values_mut() {
            if c.status == ChannelStatus::Subscribed {
                c.status = ChannelStatus::Pending;
            }
            c.reset_subscription_facts();
        }
    }

    pub(super) fn on_subscribed(&mut self, channel: &str) {
        let Some(c) = self.record_channel(channel) else {
            return;
        };
        if c.status != ChannelStatus::Leaving {
            c.status = ChannelStatus::Subscribed;
        }
    }

    pub(super) fn on_subscription_error(
        &mut self,
        channel: String,
        status: Option<u16>,
        message: String,
    ) -> News {
        let text = match status {
            Some(code) => format!("subscribing {channel} failed ({code}): {message}"),
            None => format!("subscribing {channel} failed: {message}"),
        };
        let message = caps::text(message);
        let text = caps::text(text);
        if let Some(c) = self.record_channel(&channel) {
            c.status = ChannelStatus::Failed { status, message };
        }
        let auth_failed = self.auth.get(&channel).is_some_and(|a| !a.ok);
        News::SubscriptionFailed { text, auth_failed }
    }

    pub(super) fn on_unsubscribed(&mut self, channel: &str) -> Option<News> {
        let i = self.channels.get_index_of(channel)?;
        self.channels.shift_remove_index(i);
        Some(News::ChannelRemoved(i))
    }

    /// Count an event on its channel; the protocol's own events update its facts.
    pub(super) fn count_event(&mut self, channel: Option<&str>, event: &str, data: &RawJson) {
        let Some(c) = channel.and_then(|n| self.channels.get_mut(n)) else {
            return;
        };
        c.events += 1;
        match event {
            "pusher:subscription_count" => {
                if let Some(n) = subscription_count(data) {
                    c.subscription_count = Some(n);
                }
            }
            "pusher:cache_miss" => c.cache_miss = true,
            _ => {}
        }
    }

    pub(super) fn on_members(
        &mut self,
        channel: &str,
        me: Option<&Member>,
        members: &[Member],
        count: usize,
    ) {
        if let Some(c) = self.record_channel(channel) {
            c.roster = Some(Roster::from_snapshot(me, members, count));
        }
    }

    pub(super) fn on_member_added(&mut self, channel: &str, id: &str, info: Value, now: Instant) {
        let Some(c) = self.record_channel(channel) else {
            return;
        };
        c.roster
            .get_or_insert_with(Roster::default)
            .add(id, info, now);
    }

    pub(super) fn on_member_removed(&mut self, channel: &str, id: &str, now: Instant) {
        if let Some(r) = self
            .channels
            .get_mut(channel)
            .and_then(|c| c.roster.as_mut())
        {
            r.remove(id, now);
        }
    }
}

/// The count in a `pusher:subscription_count` event's data, `{"subscription_count":N}`, also
/// when the data arrived as a JSON string.
pub fn subscription_count(data: &RawJson) -> Option<u64> {
    let field = |v: &serde_json::Value| v.get("subscription_count").and_then(|n| n.as_u64());
    match &data.to_value() {
        serde_json::Value::String(s) => serde_json::from_str(s).ok().as_ref().and_then(field),
        other => field(other),
    }
}
