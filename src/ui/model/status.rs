//! The connection as the status bar shows it: state and since when, socket id, reconnects,
//! the last round trip, the retry countdown and the signed-in user.
use crate::session_record::SessionRecord;

use super::{Model, News, TimelineKind};
use chanwatch_core::record::{Record, State};
use std::time::{Duration, Instant, SystemTime};

#[derive(Debug, Clone)]
pub struct Status {
    pub state: State,
    pub socket_id: Option<String>,
    /// When the current state began (arrival of its record).
    pub since: Instant,
    /// Times `connected` was reached again after the first time.
    pub reconnects: u32,
    connected_before: bool,
    pub last_rtt: Option<Duration>,
    /// When the next connection attempt is due, from the last `connecting_in`.
    pub retry_at: Option<Instant>,
    /// The client task has ended; nothing more will arrive.
    pub client_gone: bool,
    /// The user signed in on this connection (`pusher:signin_success`).
    pub user_id: Option<String>,
}

impl Status {
    pub fn new(now: Instant) -> Status {
        Status {
            state: State::Initialized,
            socket_id: None,
            since: now,
            reconnects: 0,
            connected_before: false,
            last_rtt: None,
            retry_at: None,
            client_gone: false,
            user_id: None,
        }
    }

    /// A `state` record arrived at `now`; the time spent in the state it ends.
    pub(super) fn enter(
        &mut self,
        current: State,
        socket_id: Option<String>,
        now: Instant,
    ) -> Duration {
        let in_previous = now.saturating_duration_since(self.since);
        self.state = current;
        self.since = now;
        if current == State::Connected {
            self.socket_id = socket_id.map(super::caps::text);
            self.retry_at = None;
            if self.connected_before {
                self.reconnects += 1;
            }
            self.connected_before = true;
        } else {
            self.socket_id = None;
            // Sign-in belongs to one connection; the next one signs in again.
            self.user_id = None;
        }
        if matches!(current, State::Disconnected | State::Failed) {
            self.retry_at = None;
        }
        in_previous
    }

    /// A countdown that has run out is no longer shown.
    pub(super) fn tick(&mut self, now: Instant) {
        if self.retry_at.is_some_and(|t| t <= now) {
            self.retry_at = None;
        }
    }

    pub(super) fn client_gone(&mut self) {
        self.client_gone = true;
        self.retry_at = None;
    }
}

impl Model {
    pub(super) fn on_state(
        &mut self,
        ts: SystemTime,
        previous: State,
        current: State,
        socket_id: Option<String>,
        cause: Option<String>,
        now: Instant,
    ) {
        let was = self.status.state;
        let in_previous = Some(self.status.enter(current, socket_id, now));
        let kind = TimelineKind::State {
            previous,
            current,
            in_previous,
            cause,
        };
        self.timeline.push(ts, kind);
        if was == State::Connected && current != State::Connected {
            self.connection_lost();
        }
    }

    /// The connection's other news (retries, errors, pings, sign-in) and the session's
    /// (faults, the watchlist, publishing): the status bar and the timeline.
    pub(super) fn apply_connection(
        &mut self,
        ts: SystemTime,
        record: SessionRecord,
        now: Instant,
    ) -> Option<News> {
        let note = |text: String| TimelineKind::Note(text);
        let kind = match record {
            SessionRecord::Client(Record::ConnectingIn { delay_ms, .. }) => {
                let d = Duration::from_millis(delay_ms);
                self.status.retry_at = Some(now + d);
                TimelineKind::ConnectingIn(d)
            }
            SessionRecord::Client(Record::Error { code, message }) => {
                TimelineKind::Error { code, message }
            }
            SessionRecord::Client(Record::PingSent { after_ms }) => {
                TimelineKind::PingSent(Duration::from_millis(after_ms))
            }
            SessionRecord::Client(Record::Pong { rtt_ms }) => {
                let rtt = Duration::from_millis(rtt_ms);
                self.status.last_rtt = Some(rtt);
                TimelineKind::Pong(rtt)
            }
            SessionRecord::Fault { fault } => TimelineKind::Fault(fault),
            SessionRecord::Client(Record::SignedIn { user_id, .. }) => {
                let kind = note(format!("signed in as {user_id}"));
                self.status.user_id = Some(super::caps::text(user_id));
                kind
            }
            SessionRecord::Client(Record::SigninError { status, message }) => {
                return Some(self.signin_failed(ts, status, message));
            }
            SessionRecord::Client(Record::Watchlist { event, user_ids }) => {
                note(format!("watchlist {event}: {}", user_ids.join(", ")))
            }
            SessionRecord::Published {
                channel,
                event,
                excluded_socket_id,
            } => {
                let excluded = if excluded_socket_id.is_some() {
                    " (this connection excluded)"
                } else {
                    ""
                };
                let text = format!("published {event} to {channel}{excluded}");
                self.timeline.push(ts, note(text.clone()));
                return Some(News::Info(text));
            }
            // The measures have taken these; the rest were applied before.
            _ => return None,
        };
        self.timeline.push(ts, kind);
        None
    }

    fn signin_failed(&mut self, ts: SystemTime, status: Option<u16>, message: String) -> News {
        self.status.user_id = None;
        let text = match status {
            Some(code) => format!("sign-in failed ({code}): {message}"),
            None => format!("sign-in failed: {message}"),
        };
        let kind = TimelineKind::Error {
            code: None,
            message: text.clone(),
        };
        self.timeline.push(ts, kind);
        News::Error(text)
    }
}
