//! Which webhooks our own connection should cause, and whether they came: a pure state
//! machine under virtual time, fed with the client's records, the client events we send
//! and the webhooks received. Each expectation ends `met` (with its delay), `missed` (past
//! its timeout) or `contradicted`, and a webhook that contradicts what our socket knows
//! (`channel_vacated` while we are subscribed, `member_removed` for a member still present)
//! is flagged even when nothing was expected.

use super::verify::WebhookEvent;
use chanwatch_core::record::{Record, State};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// How long a webhook may take before it counts as missed. Presence and vacated webhooks
/// are debounced by the servers (a few seconds), so they get longer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub occupied: Duration,
    pub vacated: Duration,
    pub member: Duration,
    pub client_event: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            occupied: Duration::from_secs(10),
            vacated: Duration::from_secs(15),
            member: Duration::from_secs(15),
            client_event: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Met,
    Missed,
    Contradicted,
}

/// One expectation's end, as a `webhook_check` record carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// The webhook name expected (or the one that contradicted).
    pub expect: String,
    pub channel: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub user_id: Option<String>,
    /// A client event's name.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub event: Option<String>,
    pub outcome: Outcome,
    /// From what our socket did to the webhook's arrival (met), or how long we waited.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub delay_ms: Option<u64>,
    /// Why, in words, for `missed` and `contradicted`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub detail: Option<String>,
}

/// What an expectation is of, before it has a time.
struct Expected<'a> {
    name: &'static str,
    channel: &'a str,
    user_id: Option<String>,
    event: Option<String>,
    hint: Option<&'static str>,
}

impl<'a> Expected<'a> {
    fn of(name: &'static str, channel: &'a str) -> Expected<'a> {
        Expected {
            name,
            channel,
            user_id: None,
            event: None,
            hint: None,
        }
    }
}

#[derive(Debug, Clone)]
struct Pending {
    name: &'static str,
    channel: String,
    user_id: Option<String>,
    event: Option<String>,
    since: Instant,
    deadline: Instant,
    /// Said when missed: e.g. someone may have been subscribed before us.
    hint: Option<&'static str>,
}

/// The checker. Per record it does a match and, only for subscription and presence
/// records, a map update: events on channels cost nothing but the match.
#[derive(Debug, Default)]
pub struct Expectations {
    timeouts: Timeouts,
    subscribed: HashSet<String>,
    /// Presence channels: who our socket sees as present, and which of them is us.
    rosters: HashMap<String, HashSet<String>>,
    me: HashMap<String, String>,
    pending: Vec<Pending>,
    suspects: Vec<Suspect>,
}

/// How long a contradicting webhook waits for our socket to catch up before it counts: the
/// webhook and the socket's own frame (a member leaving) can arrive in either order.
pub const GRACE: Duration = Duration::from_secs(1);

/// A webhook that contradicts what our socket knows, unless the socket catches up.
#[derive(Debug, Clone)]
struct Suspect {
    hook: WebhookEvent,
    deadline: Instant,
}

/// Expectations kept at once; past this the oldest is dropped (a server that sends nothing
/// must not grow memory while we trigger client events).
const MAX_PENDING: usize = 1024;

impl Expectations {
    pub fn new(timeouts: Timeouts) -> Expectations {
        Expectations {
            timeouts,
            ..Expectations::default()
        }
    }

    fn expect(&mut self, (now, timeout): (Instant, Duration), what: Expected<'_>) {
        if self.pending.len() >= MAX_PENDING {
            self.pending.remove(0);
        }
        self.pending.push(Pending {
            name: what.name,
            channel: what.channel.to_string(),
            user_id: what.user_id,
            event: what.event,
            since: now,
            deadline: now + timeout,
            hint: what.hint,
        });
    }

    fn unsubscribed(&mut self, now: Instant, channel: &str) {
        if !self.subscribed.remove(channel) {
            return;
        }
        // A vacated webhook only if nobody else is left; we know that for presence.
        let others = self
            .rosters
            .get(channel)
            .map(|r| r.len().saturating_sub(1))
            .unwrap_or(0);
        // An occupied still pending when we leave cannot be told apart any more.
        self.pending
            .retain(|p| !(p.name == "channel_occupied" && p.channel == channel));
        if others == 0 {
            let what = Expected {
                hint: Some("another client may still be subscribed"),
                ..Expected::of("channel_vacated", channel)
            };
            self.expect((now, self.timeouts.vacated), what);
        }
        if let Some(me) = self.me.remove(channel) {
            let what = Expected {
                user_id: Some(me),
                ..Expected::of("member_removed", channel)
            };
            self.expect((now, self.timeouts.member), what);
        }
        self.rosters.remove(channel);
    }

    /// A record of our client.
    pub fn on_record(&mut self, now: Instant, record: &Record) {
        match record {
            Record::Subscribed { channel } if !self.subscribed.contains(channel) => {
                self.subscribed.insert(channel.clone());
                let what = Expected {
                    hint: Some("another client may have been subscribed before us"),
                    ..Expected::of("channel_occupied", channel)
                };
                self.expect((now, self.timeouts.occupied), what);
            }
            Record::Members {
                channel,
                me,
                members,
                ..
            } => {
                let roster: HashSet<String> = members.iter().map(|m| m.id.clone()).collect();
                if roster.len() > 1 {
                    // Others were here first: the channel was already occupied.
                    self.pending
                        .retain(|p| !(p.name == "channel_occupied" && p.channel == *channel));
                }
                self.rosters.insert(channel.clone(), roster);
                if let Some(me) = me {
                    self.me.insert(channel.clone(), me.id.clone());
                    let what = Expected {
                        user_id: Some(me.id.clone()),
                        ..Expected::of("member_added", channel)
                    };
                    self.expect((now, self.timeouts.member), what);
                }
            }
            Record::MemberAdded { channel, id, .. } => {
                if let Some(r) = self.rosters.get_mut(channel) {
                    r.insert(id.clone());
                }
            }
            Record::MemberRemoved { channel, id } => {
                if let Some(r) = self.rosters.get_mut(channel) {
                    r.remove(id);
                }
            }
            Record::Event {
                channel: Some(channel),
                event,
                data,
                ..
            } if event == "pusher_internal:subscription_count"
                || event == "pusher:subscription_count" =>
            {
                let text = data.as_string().unwrap_or_else(|| data.get().to_string());
                let count = serde_json::from_str::<serde_json::Value>(&text)
                    .ok()
                    .and_then(|v| v.get("subscription_count").and_then(|c| c.as_u64()));
                if count.is_some_and(|c| c > 1) {
                    self.pending
                        .retain(|p| !(p.name == "channel_occupied" && p.channel == *channel));
                }
            }
            Record::Unsubscribed { channel } => self.unsubscribed(now, channel),
            Record::State {
                previous, current, ..
            } if *previous == State::Connected && *current != State::Connected => {
                // The server drops a lost socket's subscriptions as it would unsubscribes.
                let channels: Vec<String> = self.subscribed.iter().cloned().collect();
                for channel in channels {
                    self.unsubscribed(now, &channel);
                }
            }
            _ => {}
        }
    }

    /// We sent a client event on `channel`.
    pub fn on_client_event_sent(&mut self, now: Instant, channel: &str, event: &str) {
        let what = Expected {
            event: Some(event.to_string()),
            ..Expected::of("client_event", channel)
        };
        self.expect((now, self.timeouts.client_event), what);
    }

    /// A webhook event received (from a verified request).
    pub fn on_webhook(&mut self, now: Instant, hook: &WebhookEvent) -> Option<Check> {
        let position = self.pending.iter().position(|p| {
            p.name == hook.name
                && p.channel == hook.channel
                && (p.user_id.is_none() || p.user_id == hook.user_id)
                && (p.event.is_none() || p.event == hook.event)
        });
        if let Some(i) = position {
            let p = self.pending.remove(i);
            return Some(Check {
                expect: p.name.to_string(),
                channel: p.channel,
                user_id: p.user_id,
                event: p.event,
                outcome: Outcome::Met,
                delay_ms: Some(millis(now - p.since)),
                detail: None,
            });
        }
        if self.contradiction(hook).is_some() {
            if self.suspects.len() >= MAX_PENDING {
                self.suspects.remove(0);
            }
            self.suspects.push(Suspect {
                hook: hook.clone(),
                deadline: now + GRACE,
            });
        }
        None
    }

    /// What is wrong with `hook`, given what our socket knows now.
    fn contradiction(&self, hook: &WebhookEvent) -> Option<&'static str> {
        match hook.name.as_str() {
            "channel_vacated" if self.subscribed.contains(&hook.channel) => {
                Some("channel_vacated while we are still subscribed")
            }
            "member_removed"
                if hook.user_id.as_ref().is_some_and(|u| {
                    self.rosters
                        .get(&hook.channel)
                        .is_some_and(|r| r.contains(u))
                }) =>
            {
                Some("member_removed for a user still present")
            }
            _ => None,
        }
    }

    /// When the next expectation times out, or a suspect webhook's grace ends.
    pub fn next_deadline(&self) -> Option<Instant> {
        let pending = self.pending.iter().map(|p| p.deadline);
        pending
            .chain(self.suspects.iter().map(|s| s.deadline))
            .min()
    }

    /// The expectations past their timeout, as missed, and the webhooks that still
    /// contradict our socket after their grace.
    pub fn tick(&mut self, now: Instant) -> Vec<Check> {
        let mut missed = Vec::new();
        let (due, waiting): (Vec<Suspect>, Vec<Suspect>) = std::mem::take(&mut self.suspects)
            .into_iter()
            .partition(|s| s.deadline <= now);
        self.suspects = waiting;
        for suspect in due {
            if let Some(detail) = self.contradiction(&suspect.hook) {
                let hook = suspect.hook;
                missed.push(Check {
                    expect: hook.name,
                    channel: hook.channel,
                    user_id: hook.user_id,
                    event: None,
                    outcome: Outcome::Contradicted,
                    delay_ms: None,
                    detail: Some(detail.to_string()),
                });
            }
        }
        self.pending.retain(|p| {
            if p.deadline > now {
                return true;
            }
            let waited = format!(
                "no {} within {} s",
                p.name,
                (p.deadline - p.since).as_secs()
            );
            missed.push(Check {
                expect: p.name.to_string(),
                channel: p.channel.clone(),
                user_id: p.user_id.clone(),
                event: p.event.clone(),
                outcome: Outcome::Missed,
                delay_ms: Some(millis(now - p.since)),
                detail: Some(match p.hint {
                    Some(hint) => format!("{waited} ({hint})"),
                    None => waited,
                }),
            });
            false
        });
        missed
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
#[path = "expect_tests.rs"]
mod tests;
