//! The dashboard's model: everything the records say, apart from how the user looks at it.
//! [`Model::apply`] takes each record with the time it arrived and updates the status, the
//! channels and their rosters, the event log, the timeline, the auth exchanges, the HTTP
//! API's answers and the measures. No keys, no screen and no clock here, so every record's
//! effect is testable on its own; what the interaction layer should show about a record (a
//! notice, a picker) comes back as [`News`].

pub mod api;
pub mod auth;
pub mod caps;
pub mod channels;
pub mod cluster;
pub mod log;
pub mod measures;
pub mod presence;
pub mod status;
pub mod timeline;
pub mod webhooks;

#[cfg(test)]
mod tests;

use crate::session_record::SessionRecord;
pub use api::{ApiUsers, LIST_WAIT};
pub use auth::{AuthExchange, auth_hint};
pub use channels::{Channel, ChannelStatus, subscription_count};
pub use measures::Measured;
pub use status::Status;
pub use timeline::{TIMELINE_CAPACITY, Timeline, TimelineEntry, TimelineKind};

use crate::session_record::Stamped;
use chanwatch_core::record::Record;
use indexmap::IndexMap;
use log::{EventLog, NewEvent};
use serde_json::Value;
use std::time::{Instant, SystemTime};

/// What a record means for the interaction layer, beyond the model it changed.
#[derive(Debug, Clone, PartialEq)]
pub enum News {
    /// An event went into the log.
    Event,
    /// Something for the footer.
    Info(String),
    /// Something that went wrong, for the footer.
    Error(String),
    /// A subscription failed; `auth_failed` when its authorization did, so that the
    /// exchange is worth inspecting.
    SubscriptionFailed { text: String, auth_failed: bool },
    /// The occupied channels the user asked for.
    ChannelList {
        prefix: Option<String>,
        channels: Value,
    },
    /// The channel at this index was forgotten.
    ChannelRemoved(usize),
}

/// How big the model may grow, and whether the measures are fed.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Events kept in the log ring.
    pub log_capacity: usize,
    /// The most memory the log may hold.
    pub log_bytes: u64,
    /// Feed the measures model.
    pub measures: bool,
}

#[derive(Debug)]
pub struct Model {
    status: Status,
    channels: IndexMap<String, Channel>,
    log: EventLog,
    timeline: Timeline,
    /// The latest authorization exchange per channel, for the auth inspector.
    auth: IndexMap<String, AuthExchange>,
    awaited: api::Awaited,
    measured: Measured,
    /// Records about channels past [`caps::MAX_CHANNELS`] (or with names no server may
    /// use), dropped.
    channels_dropped: u64,
    webhooks: webhooks::Webhooks,
}

impl Model {
    pub fn new(limits: Limits, now: Instant) -> Model {
        Model {
            status: Status::new(now),
            channels: IndexMap::new(),
            log: EventLog::new(limits.log_capacity, limits.log_bytes),
            timeline: Timeline::default(),
            auth: IndexMap::new(),
            awaited: api::Awaited::default(),
            measured: Measured::new(now, limits.measures),
            channels_dropped: 0,
            webhooks: webhooks::Webhooks::default(),
        }
    }

    pub fn status(&self) -> &Status {
        &self.status
    }
    pub fn channels(&self) -> &IndexMap<String, Channel> {
        &self.channels
    }
    /// Records dropped because their channel was not kept ([`caps::MAX_CHANNELS`]).
    pub fn channels_dropped(&self) -> u64 {
        self.channels_dropped
    }
    pub fn log(&self) -> &EventLog {
        &self.log
    }
    /// The log, for another node's records ([`Model::apply_beside`]).
    pub fn log_mut(&mut self) -> &mut EventLog {
        &mut self.log
    }
    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }
    /// The latest authorization exchange of a channel.
    pub fn auth_exchange(&self, channel: &str) -> Option<&AuthExchange> {
        self.auth.get(channel)
    }
    pub fn measured(&self) -> &Measured {
        &self.measured
    }
    pub fn measured_mut(&mut self) -> &mut Measured {
        &mut self.measured
    }
    /// The webhook receiver's requests and checks.
    pub fn webhooks(&self) -> &webhooks::Webhooks {
        &self.webhooks
    }

    /// The user cleared the log.
    pub fn clear_log(&mut self) {
        self.log.clear();
    }

    /// Something that did not come as a record (the user's doing), in the timeline.
    pub fn note(&mut self, ts: SystemTime, kind: TimelineKind) {
        self.timeline.push(ts, kind);
    }

    /// The record channel closed: the client task has ended.
    pub fn client_gone(&mut self, ts: SystemTime) {
        self.status.client_gone();
        self.timeline.push(ts, TimelineKind::ClientGone);
    }

    /// About once a second: highlights fade, countdowns end, the measures move on.
    pub fn tick(&mut self, now: Instant) {
        self.measured.on_tick(now);
        for c in self.channels.values_mut() {
            if let Some(r) = c.roster.as_mut() {
                r.expire(now);
            }
        }
        self.status.tick(now);
    }

    /// Apply one record that arrived at `now`.
    pub fn apply(&mut self, stamped: Stamped, now: Instant) -> Option<News> {
        self.apply_logging_to(stamped, now, None)
    }

    /// Apply one record of a node whose model is not the one shown: everything goes to this
    /// model but its events, which go to `log`, the shown model's (one log for every node,
    /// so that the same event arriving at each node is seen, under one set of caps).
    pub fn apply_beside(
        &mut self,
        stamped: Stamped,
        now: Instant,
        log: &mut EventLog,
    ) -> Option<News> {
        self.apply_logging_to(stamped, now, Some(log))
    }

    /// Hand the log to `other`, taking its (empty) one: the shown model holds the one log.
    pub fn hand_log_to(&mut self, other: &mut Model) {
        std::mem::swap(&mut self.log, &mut other.log);
    }

    fn apply_logging_to(
        &mut self,
        stamped: Stamped,
        now: Instant,
        log: Option<&mut EventLog>,
    ) -> Option<News> {
        self.measured.on_record(now, &stamped.record);
        let ts = stamped.ts;
        match stamped.record {
            SessionRecord::Client(Record::State {
                current,
                previous,
                socket_id,
                cause,
            }) => self.on_state(ts, previous, current, socket_id, cause, now),
            SessionRecord::Client(Record::Event {
                channel,
                event,
                data,
                user_id,
                decrypted,
            }) => {
                self.count_event(channel.as_deref(), &event, &data);
                log.unwrap_or(&mut self.log).push(NewEvent {
                    ts,
                    node: stamped.node,
                    channel,
                    event,
                    user_id,
                    data,
                    decrypted,
                });
                return Some(News::Event);
            }
            SessionRecord::Client(Record::Subscribed { channel }) => self.on_subscribed(&channel),
            SessionRecord::Client(Record::SubscriptionError {
                channel,
                status,
                message,
            }) => return Some(self.on_subscription_error(channel, status, message)),
            SessionRecord::Client(Record::Unsubscribed { channel }) => {
                return self.on_unsubscribed(&channel);
            }
            SessionRecord::Client(Record::Members {
                channel,
                me,
                count,
                members,
            }) => self.on_members(&channel, me.as_ref(), &members, count),
            SessionRecord::Client(Record::MemberAdded { channel, id, info }) => {
                self.on_member_added(&channel, &id, info, now)
            }
            SessionRecord::Client(Record::MemberRemoved { channel, id }) => {
                self.on_member_removed(&channel, &id, now)
            }
            record => return self.apply_other(ts, record, now),
        }
        None
    }

    /// The records about the session rather than one channel's subscription.
    fn apply_other(&mut self, ts: SystemTime, record: SessionRecord, now: Instant) -> Option<News> {
        match record {
            SessionRecord::Channels { prefix, channels } => {
                self.on_channels_answer(ts, prefix, channels, now)
            }
            SessionRecord::Users { channel, users } => {
                self.on_users_answer(ts, channel, users, now)
            }
            SessionRecord::CommandError {
                cmd,
                channel,
                status,
                message,
            } => Some(self.on_command_error(ts, &cmd, channel.as_deref(), status, message)),
            SessionRecord::Client(Record::Auth {
                channel,
                socket_id,
                request,
                ok,
                status,
                response,
                duration_ms,
                failure,
            }) => {
                // The subscription_error that follows a failed exchange carries the message;
                // this keeps the exchange for the inspector.
                let exchange = AuthExchange {
                    ts,
                    socket_id: caps::text(socket_id),
                    request: caps::json(request, caps::MAX_AUTH_JSON),
                    ok,
                    status,
                    response: caps::json(response, caps::MAX_AUTH_JSON),
                    duration_ms,
                    failure,
                };
                self.keep_auth(channel, exchange);
                None
            }
            record @ (SessionRecord::WebhookListening { .. }
            | SessionRecord::Webhook(_)
            | SessionRecord::WebhookForward(_)
            | SessionRecord::WebhookCheck(_)) => {
                let (text, flagged) = self.webhooks.apply(ts, record)?;
                self.timeline
                    .push(ts, TimelineKind::Webhook { text, flagged });
                None
            }
            record => self.apply_connection(ts, record, now),
        }
    }
}
