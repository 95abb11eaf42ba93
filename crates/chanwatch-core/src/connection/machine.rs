//! The connection state machine: pusher-js's ConnectionManager, channel table and presence
//! bookkeeping as one pure value. Timers are deadlines; the caller owns the clock.

mod signin;
mod subscriptions;

use super::server_values::{ServerActivity, effective_activity, server_activity};
use super::{
    AuthFailure, AuthGrant, AuthRequest, Backoff, Command, ConnId, Endpoint, Input, MachineConfig,
    Members, Output, UserGrant,
};
use crate::crypto::{self, DecryptError};
use crate::protocol::codes::{CloseAction, close_action, describe, hint};
use crate::protocol::frame::{self, Frame, id_string};
use crate::protocol::{ChannelKind, channel};
use crate::record::{Record, State};
use indexmap::IndexMap;
use serde_json::Value;
use std::time::{Duration, Instant};

/// After a dropped connection pusher-js waits 1 s before reconnecting.
const RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// Where a subscription stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscriptionState {
    /// Waiting for a connection.
    Queued,
    /// Waiting for the authorizer; the grant must be for this socket id.
    Authorizing {
        socket_id: String,
    },
    /// `pusher:subscribe` sent, waiting for `subscription_succeeded`.
    Pending,
    Subscribed,
    /// Refused until the next reconnect or an explicit subscribe.
    Failed,
}

#[derive(Debug, Clone)]
struct Channel {
    kind: ChannelKind,
    status: SubscriptionState,
    members: Members,
    /// Encrypted channels: the base64 `shared_secret` from the authorization.
    key: Option<String>,
    /// Encrypted channels: events that failed to decrypt, waiting for a fresh key from a
    /// re-authorization for this socket id.
    reauth: Option<(String, Vec<Frame>)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// The socket is being opened.
    Opening,
    /// Open, waiting for `pusher:connection_established`.
    Handshaking,
    Established {
        socket_id: String,
    },
}

#[derive(Debug, Clone)]
struct Conn {
    id: ConnId,
    url: String,
    phase: Phase,
    handshake_deadline: Option<Instant>,
    /// Effective activity timeout: min(configured, server's).
    activity: Duration,
    ping_at: Option<Instant>,
    ping_sent_at: Option<Instant>,
    pong_deadline: Option<Instant>,
    /// When `connection_established` arrived.
    established_at: Option<Instant>,
}

pub struct Machine {
    config: MachineConfig,
    endpoint: Endpoint,
    state: State,
    conn: Option<Conn>,
    last_conn_id: ConnId,
    backoff: Backoff,
    /// Young losses in a row (see [`Machine::lost`]); a connection that lived, or a connect
    /// the user asked for, starts the count again.
    young_losses: u32,
    retry_at: Option<Instant>,
    unavailable_at: Option<Instant>,
    channels: IndexMap<String, Channel>,
    /// The signed-in user's id on this connection (`pusher:signin_success`).
    user: Option<String>,
    out: Vec<Output>,
}

impl Machine {
    pub fn new(config: MachineConfig) -> Machine {
        Machine {
            endpoint: config.endpoint.clone(),
            backoff: Backoff::new(config.retry_cap, config.seed),
            config,
            young_losses: 0,
            state: State::Initialized,
            conn: None,
            last_conn_id: 0,
            retry_at: None,
            unavailable_at: None,
            channels: IndexMap::new(),
            user: None,
            out: Vec::new(),
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn socket_id(&self) -> Option<&str> {
        match &self.conn.as_ref()?.phase {
            Phase::Established { socket_id } => Some(socket_id),
            _ => None,
        }
    }

    /// Whether TLS is in use now (a 4000 close switches it on).
    pub fn tls(&self) -> bool {
        self.endpoint.tls
    }

    /// Channel names and their status, in subscription order.
    pub fn channels(&self) -> impl Iterator<Item = (&str, &SubscriptionState)> {
        self.channels.iter().map(|(n, c)| (n.as_str(), &c.status))
    }

    /// The earliest moment at which [`Input::Tick`] has something to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        let unavailable = self
            .unavailable_at
            .filter(|_| self.state == State::Connecting);
        let conn = self.conn.as_ref();
        [
            self.retry_at,
            unavailable,
            conn.and_then(|c| c.handshake_deadline),
            conn.and_then(|c| c.ping_at),
            conn.and_then(|c| c.pong_deadline),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    pub fn handle(&mut self, now: Instant, input: Input) -> Vec<Output> {
        let mut out = Vec::new();
        self.handle_into(now, input, &mut out);
        out
    }

    /// [`Machine::handle`], appending the outputs to `out`: the client task reuses one
    /// vector for a whole stream instead of allocating one per frame.
    pub fn handle_into(&mut self, now: Instant, input: Input, out: &mut Vec<Output>) {
        match input {
            Input::Command(cmd) => self.on_command(now, cmd),
            Input::Opened { conn } => {
                if let Some(c) = self.current(conn) {
                    c.phase = Phase::Handshaking;
                }
            }
            Input::OpenFailed { conn, message } => {
                if let Some(c) = self.take_current(conn) {
                    self.error(None, format!("cannot connect to {}: {message}", c.url));
                    self.retry_after_backoff(now, "server unreachable");
                }
            }
            Input::Text { conn, text } => {
                if self.current(conn).is_some() {
                    self.on_text(now, &text);
                }
            }
            Input::Binary { conn, len } => {
                if self.current(conn).is_some() {
                    self.saw_activity(now);
                    self.error(
                        None,
                        format!("ignored a binary frame of {len} bytes: the protocol uses text frames only"),
                    );
                }
            }
            Input::Activity { conn } => {
                if self.current(conn).is_some() {
                    self.saw_activity(now);
                }
            }
            Input::Closed { conn, code, reason } => {
                if let Some(c) = self.take_current(conn) {
                    self.on_closed(now, c, code, reason);
                }
            }
            Input::Authorized { request, result } => self.on_authorized(request, result),
            Input::UserAuthenticated { socket_id, result } => {
                self.on_user_authenticated(&socket_id, result)
            }
            Input::Tick => self.on_tick(now),
        }
        out.append(&mut self.out);
    }

    // ----- commands -----

    fn on_command(&mut self, now: Instant, cmd: Command) {
        match cmd {
            Command::Connect => self.connect(now),
            Command::Disconnect | Command::Quit => self.disconnect("disconnect requested"),
            Command::Subscribe { channel } => self.subscribe(channel),
            Command::Unsubscribe { channel } => self.unsubscribe(&channel),
            Command::Trigger {
                channel,
                event,
                data,
            } => self.trigger(&channel, &event, &data),
            Command::Signin => {
                self.config.signin = true;
                if self.user.is_none() {
                    self.request_signin();
                }
            }
        }
    }

    fn connect(&mut self, now: Instant) {
        match self.state {
            State::Connected => {}
            State::Connecting | State::Unavailable => {
                // Already trying; a user asking again means "try now", not "wait out the back-off".
                if self.retry_at.is_some() {
                    self.retry_at = Some(now);
                    self.on_tick(now);
                }
            }
            State::Initialized | State::Disconnected | State::Failed => {
                if self.state == State::Initialized {
                    self.report_unsupported_transports();
                }
                if self.endpoint.candidates().is_empty() {
                    self.fail_no_transport();
                    return;
                }
                self.backoff.reset();
                self.young_losses = 0;
                self.set_state(State::Connecting, Some("connect requested".into()), None);
                self.unavailable_at = Some(now + self.config.unavailable_timeout);
                self.open(now);
            }
        }
    }

    /// pusher-js's HTTP fallbacks are accepted in the options but do not exist here: say so
    /// once, rather than let them look enabled.
    fn report_unsupported_transports(&mut self) {
        let unsupported: Vec<String> = self
            .endpoint
            .transports
            .enabled
            .iter()
            .flatten()
            .filter(|t| !matches!(t.as_str(), "ws" | "wss"))
            .cloned()
            .collect();
        if !unsupported.is_empty() {
            self.error(
                None,
                format!(
                    "transport(s) {} are HTTP fallbacks that chanwatch does not have; only ws and wss are used",
                    unsupported.join(", ")
                ),
            );
        }
    }

    fn fail_no_transport(&mut self) {
        let t = &self.endpoint.transports;
        let cause = format!(
            "no usable transport (TLS {}, enabled: {}, disabled: {}); only ws/wss exist here",
            if self.endpoint.tls { "on" } else { "off" },
            t.enabled
                .as_ref()
                .map_or("all".to_string(), |e| e.join(",")),
            if t.disabled.is_empty() {
                "none".to_string()
            } else {
                t.disabled.join(",")
            },
        );
        self.set_state(State::Failed, Some(cause), None);
    }

    fn disconnect(&mut self, cause: &str) {
        self.close_socket(cause);
        self.retry_at = None;
        self.unavailable_at = None;
        self.requeue_channels();
        self.set_state(State::Disconnected, Some(cause.to_string()), None);
    }

    fn trigger(&mut self, channel: &str, event: &str, data: &Value) {
        let problem = if let Err(e) = channel::validate_client_event_name(event) {
            Some(e.to_string())
        } else {
            match self.channels.get(channel) {
                None => Some(format!("cannot trigger on {channel}: not subscribed")),
                Some(c) if c.kind == ChannelKind::Encrypted => Some(format!(
                    "cannot trigger on {channel}: client events are not supported on encrypted channels"
                )),
                Some(c) if !c.kind.allows_client_events() => Some(format!(
                    "cannot trigger on {channel}: client events need a private or presence channel"
                )),
                Some(c) if c.status != SubscriptionState::Subscribed => Some(format!(
                    "cannot trigger on {channel}: the subscription has not succeeded yet"
                )),
                Some(_) => None,
            }
        };
        if let Some(message) = problem {
            self.error(None, message);
            return;
        }
        match self.established_id() {
            Some(conn) => {
                let text = frame::encode(event, Some(channel), data);
                self.out.push(Output::Send {
                    conn,
                    text,
                    droppable: true,
                });
            }
            None => self.error(None, format!("cannot trigger {event}: not connected")),
        }
    }

    // ----- connection lifecycle -----

    fn open(&mut self, now: Instant) {
        let candidates = self.endpoint.candidates();
        if candidates.is_empty() {
            self.fail_no_transport();
            return;
        }
        // The first usable transport only: with TLS off that is `ws`, and alternating with
        // `wss://host:443` would send every other attempt to a port a self-hosted server
        // rarely has. pusher-js's 2 s-delayed parallel `wss` race buys little in a terminal.
        let (_, url) = &candidates[0];
        self.last_conn_id += 1;
        let id = self.last_conn_id;
        self.conn = Some(Conn {
            id,
            url: url.clone(),
            phase: Phase::Opening,
            handshake_deadline: Some(now + self.config.handshake_timeout),
            activity: self.config.activity_timeout,
            ping_at: None,
            ping_sent_at: None,
            pong_deadline: None,
            established_at: None,
        });
        self.out.push(Output::Open {
            conn: id,
            url: url.clone(),
        });
    }

    /// Leave the current socket (if any) and schedule the next attempt after `delay`.
    fn retry_in(&mut self, now: Instant, delay: Duration, cause: String) {
        self.schedule_retry(now, delay, cause, !delay.is_zero());
    }

    /// `retry_in`, saying whether a `connecting_in` announces the attempt: every wait is
    /// announced, and an attempt without one only when its reason has something to tell.
    fn schedule_retry(&mut self, now: Instant, delay: Duration, cause: String, announce: bool) {
        self.close_socket("reconnecting");
        if self.state == State::Connected {
            self.requeue_channels();
        }
        if !matches!(self.state, State::Connecting | State::Unavailable) {
            self.unavailable_at = Some(now + self.config.unavailable_timeout);
            self.set_state(State::Connecting, Some(cause.clone()), None);
        }
        if announce {
            self.record(Record::ConnectingIn {
                delay_ms: delay.as_millis() as u64,
                reason: Some(cause),
            });
        }
        if delay.is_zero() {
            self.retry_at = None;
            self.open(now);
        } else {
            self.retry_at = Some(now + delay);
        }
    }

    fn retry_after_backoff(&mut self, now: Instant, cause: &str) {
        let delay = self.backoff.next_delay();
        self.retry_in(now, delay, cause.to_string());
    }

    fn on_tick(&mut self, now: Instant) {
        // Each pass handles the earliest due deadline; bounded because each clears or moves it.
        for _ in 0..16 {
            let Some(due) = self.next_deadline() else {
                return;
            };
            if due > now {
                return;
            }
            if self.retry_at.is_some_and(|t| t <= now) {
                self.retry_at = None;
                self.open(now);
            } else if self.state == State::Connecting
                && self.unavailable_at.is_some_and(|t| t <= now)
            {
                self.unavailable_at = None;
                let cause = format!(
                    "not connected after {}",
                    humantime::format_duration(self.config.unavailable_timeout)
                );
                self.set_state(State::Unavailable, Some(cause), None);
            } else if let Some(c) = &self.conn {
                if c.handshake_deadline.is_some_and(|t| t <= now) {
                    let message = format!(
                        "no connection_established from {} within {}",
                        c.url,
                        humantime::format_duration(self.config.handshake_timeout)
                    );
                    self.error(None, message);
                    self.retry_after_backoff(now, "handshake timeout");
                } else if c.pong_deadline.is_some_and(|t| t <= now) {
                    let cause = format!(
                        "pong timeout: nothing received within {} of our ping",
                        humantime::format_duration(self.config.pong_timeout)
                    );
                    let established_at = c.established_at;
                    self.lost(now, established_at, CloseAction::ReconnectNow, cause);
                } else if c.ping_at.is_some_and(|t| t <= now) {
                    let (id, after) = (c.id, c.activity);
                    if let Some(c) = self.conn.as_mut() {
                        c.ping_at = None;
                        c.ping_sent_at = Some(now);
                        c.pong_deadline = Some(now + self.config.pong_timeout);
                    }
                    self.send(id, frame::ping());
                    self.record(Record::PingSent {
                        after_ms: after.as_millis() as u64,
                    });
                } else {
                    return;
                }
            } else {
                return;
            }
        }
    }

    fn on_closed(&mut self, now: Instant, c: Conn, code: Option<u16>, reason: String) {
        let effective = code.unwrap_or(1006);
        let mut cause = format!("closed {effective} ({})", describe(effective as i64));
        if !reason.is_empty() {
            cause.push_str(": ");
            cause.push_str(&reason);
            if let Some(hint) = hint(Some(i64::from(effective)), &reason) {
                cause.push_str(&format!(" ({hint})"));
            }
        }
        if !matches!(effective, 1000 | 1001) {
            self.error(Some(effective as i64), cause.clone());
        }
        self.lost(now, c.established_at, close_action(effective), cause);
    }

    /// A connection is gone (`established_at` is when its handshake finished, if it did):
    /// do what `action` says, except for the storm guard. A connection lost sooner than
    /// `young_connection` after its handshake is a young loss: the first one in a row still
    /// reconnects at once if the close asks for that (4200-4299, a pong timeout), as a
    /// rolling restart expects; every later one in a row, and any young loss that would have
    /// waited anyway (a lost socket, 4100-4199), backs off, so that a server that drops every
    /// connection is not hammered. One lost before its handshake backs off too. One that
    /// lived longer restarts the back-off from 1 s.
    fn lost(
        &mut self,
        now: Instant,
        established_at: Option<Instant>,
        action: CloseAction,
        mut cause: String,
    ) {
        let reconnect = matches!(action, CloseAction::Reconnect | CloseAction::ReconnectNow);
        let lived = established_at.map(|t| now.saturating_duration_since(t));
        let action = match lived {
            Some(lived) if lived >= self.config.young_connection => {
                self.backoff.reset();
                self.young_losses = 0;
                action
            }
            Some(lived) => {
                self.young_losses = self.young_losses.saturating_add(1);
                let ms = lived.as_millis();
                if action == CloseAction::ReconnectNow && self.young_losses == 1 {
                    cause = format!(
                        "{cause}; it ended {ms} ms after connecting: reconnecting at once, \
                         but another loss this soon after connecting backs off"
                    );
                    // Announced although there is no wait: the reason tells a watcher why
                    // the next young loss will not be retried at once.
                    self.schedule_retry(now, Duration::ZERO, cause, true);
                    return;
                } else if reconnect {
                    cause = format!(
                        "{cause}; it ended {ms} ms after connecting, so the retry backs off"
                    );
                    CloseAction::Backoff
                } else {
                    action
                }
            }
            None if reconnect => CloseAction::Backoff,
            None => action,
        };
        self.apply(now, action, cause);
    }

    fn apply(&mut self, now: Instant, action: CloseAction, cause: String) {
        match action {
            // Already on TLS: asking again cannot help, so do not spin; back off instead.
            CloseAction::SwitchToTls if self.endpoint.tls => {
                let delay = self.backoff.next_delay();
                self.retry_in(now, delay, cause);
            }
            CloseAction::SwitchToTls => {
                self.endpoint.tls = true;
                if self.endpoint.candidates().is_empty() {
                    self.close_socket("");
                    self.retry_at = None;
                    self.requeue_channels();
                    self.fail_no_transport();
                } else {
                    self.retry_in(now, Duration::ZERO, format!("{cause}; switching to TLS"));
                }
            }
            CloseAction::Refused => {
                self.close_socket("");
                self.retry_at = None;
                self.unavailable_at = None;
                self.requeue_channels();
                self.set_state(State::Disconnected, Some(cause), None);
            }
            CloseAction::Backoff => {
                let delay = self.backoff.next_delay();
                self.retry_in(now, delay, cause);
            }
            CloseAction::ReconnectNow => self.retry_in(now, Duration::ZERO, cause),
            CloseAction::Reconnect => self.retry_in(now, RECONNECT_DELAY, cause),
        }
    }

    // ----- inbound frames -----

    fn on_text(&mut self, now: Instant, text: &str) {
        let established = self.socket_id().is_some();
        if established {
            self.saw_activity(now);
        }
        let frame = match Frame::decode(text) {
            Ok(f) => f,
            Err(e) => {
                self.error(None, format!("malformed frame: {e}: {}", excerpt(text)));
                if !established {
                    self.retry_after_backoff(now, "malformed handshake");
                }
                return;
            }
        };
        if established {
            self.on_frame(frame);
        } else {
            self.on_handshake(now, frame);
        }
    }

    fn on_handshake(&mut self, now: Instant, f: Frame) {
        match f.event.as_str() {
            "pusher:connection_established" => {
                let Some(socket_id) = f.data_field("socket_id").and_then(id_string) else {
                    self.error(None, "connection_established without a socket_id".into());
                    self.retry_after_backoff(now, "bad handshake");
                    return;
                };
                // Everything signed or sent to an auth endpoint carries the socket id, so one
                // of another shape is a broken server, not a connection to use.
                if let Err(e) = crate::protocol::check_socket_id(&socket_id) {
                    self.error(None, format!("connection_established refused: {e}"));
                    self.retry_after_backoff(now, "bad handshake");
                    return;
                }
                // A missing activity_timeout falls back to ours (pusher-js would fail); any
                // other value is clamped into a sane range first.
                let server = server_activity(f.data_field("activity_timeout"));
                if let ServerActivity::Ignored { note }
                | ServerActivity::Seconds {
                    note: Some(note), ..
                } = &server
                {
                    self.error(None, note.clone());
                }
                let activity = effective_activity(self.config.activity_timeout, &server);
                if let Some(c) = self.conn.as_mut() {
                    c.phase = Phase::Established {
                        socket_id: socket_id.clone(),
                    };
                    c.handshake_deadline = None;
                    c.activity = activity;
                    c.ping_at = Some(now + activity);
                    c.established_at = Some(now);
                }
                // The back-off restarts only once this connection has lived (young_loss).
                self.retry_at = None;
                self.unavailable_at = None;
                self.set_state(State::Connected, None, Some(socket_id));
                if self.config.signin {
                    self.request_signin();
                }
                let names: Vec<String> = self.channels.keys().cloned().collect();
                for name in names {
                    self.start_subscription(&name);
                }
            }
            "pusher:error" => {
                let (code, message) = error_fields(&f);
                self.error(code, message.clone());
                let action = match code {
                    Some(c) => u16::try_from(c).map_or(CloseAction::Refused, close_action),
                    None => CloseAction::Refused,
                };
                let cause = match code {
                    Some(c) => format!("pusher:error {c} ({}): {message}", describe(c)),
                    None => format!("pusher:error: {message}"),
                };
                // Refused during the handshake: reconnecting at once would only repeat it.
                let action = match action {
                    CloseAction::Reconnect | CloseAction::ReconnectNow => CloseAction::Backoff,
                    a => a,
                };
                self.apply(now, action, cause);
            }
            other => {
                self.error(
                    None,
                    format!("expected pusher:connection_established first, got {other}"),
                );
                self.retry_after_backoff(now, "bad handshake");
            }
        }
    }

    fn on_frame(&mut self, f: Frame) {
        match f.event.as_str() {
            "pusher:ping" => {
                if let Some(conn) = self.established_id() {
                    self.out.push(Output::Pong { conn });
                }
            }
            "pusher:pong" => {}
            "pusher:error" => self.on_pusher_error(&f),
            "pusher:connection_established" => self.error(
                None,
                "ignored a second pusher:connection_established on an open connection".into(),
            ),
            "pusher_internal:subscription_succeeded" => self.on_subscribed(f),
            "pusher:subscription_error" => {
                let status = f
                    .data_field("status")
                    .and_then(Value::as_u64)
                    .and_then(|s| u16::try_from(s).ok());
                let message = ["error", "message"]
                    .iter()
                    .find_map(|k| f.data_field(k).and_then(Value::as_str))
                    .map_or_else(|| f.data.to_string(), str::to_string);
                match f.channel {
                    Some(channel) if self.channels.contains_key(&channel) => {
                        self.fail_channel(channel, status, message)
                    }
                    _ => self.error(None, format!("pusher:subscription_error: {message}")),
                }
            }
            "pusher:signin_success" => self.on_signin_success(&f),
            "pusher_internal:watchlist_events" => {
                let events = f.data_field("events").and_then(Value::as_array).cloned();
                for e in events.unwrap_or_default() {
                    let name = e.get("name").and_then(Value::as_str).unwrap_or("unknown");
                    self.watchlist(name.to_string(), e.get("user_ids"));
                }
            }
            // sockudo sends bare `online`/`offline` events without a channel.
            "online" | "offline" if f.channel.is_none() => {
                self.watchlist(f.event.clone(), f.data_field("user_ids"))
            }
            "pusher_internal:member_added" => self.on_member(f, true),
            "pusher_internal:member_removed" => self.on_member(f, false),
            _ => self.on_event(f),
        }
    }

    fn on_pusher_error(&mut self, f: &Frame) {
        let (code, message) = error_fields(f);
        // Servers answer a bad subscription with a plain pusher:error (code null on Pusher,
        // 4009 elsewhere); pin it on the channel the user is waiting for.
        let named = f.channel.clone().filter(|c| {
            self.channels
                .get(c)
                .is_some_and(|c| c.status == SubscriptionState::Pending)
        });
        let subscription_like = matches!(code, None | Some(4009) | Some(4300..=4399));
        let pending = named.or_else(|| {
            subscription_like
                .then(|| {
                    self.channels
                        .iter()
                        .find(|(_, c)| c.status == SubscriptionState::Pending)
                        .map(|(n, _)| n.clone())
                })
                .flatten()
        });
        let text = match code {
            Some(c) => format!("pusher:error {c}: {message}"),
            None => format!("pusher:error: {message}"),
        };
        match pending {
            Some(channel) => self.fail_channel(channel, None, text),
            None => self.error(code, message),
        }
    }

    fn on_event(&mut self, mut f: Frame) {
        // pusher-js re-emits internal events under the public prefix.
        if let Some(rest) = f.event.strip_prefix("pusher_internal:") {
            f.event = format!("pusher:{rest}");
        }
        let event = &f.event;
        // One lookup per event: this is the hot path of a busy stream.
        let kind = match &f.channel {
            Some(channel) => match self.channels.get(channel) {
                Some(ch) => Some(ch.kind),
                None if self.is_user_channel(channel) => None,
                None => {
                    let message =
                        format!("event {event} for channel {channel}, which is not subscribed");
                    return self.error(None, message);
                }
            },
            None => None,
        };
        if kind == Some(ChannelKind::Encrypted) && !event.starts_with("pusher") {
            return self.on_encrypted_event(f);
        }
        self.record(Record::Event {
            channel: f.channel,
            event: f.event,
            data: f.data,
            user_id: f.user_id,
            decrypted: false,
        });
    }

    /// Decrypt with the channel's key; on a MAC failure ask for a fresh key once and retry
    /// every event that failed meanwhile (pusher-js re-authorizes once per failed event).
    fn on_encrypted_event(&mut self, f: Frame) {
        let name = f.channel.clone().unwrap_or_default();
        let socket_id = self.socket_id().map(str::to_string);
        let ch = &mut self.channels[&name];
        if let Some((_, parked)) = ch.reauth.as_mut() {
            parked.push(f);
            return;
        }
        let Some(key) = ch.key.clone() else {
            return self.error(
                None,
                format!(
                    "encrypted event {} on {name} arrived before its key; dropped",
                    f.event
                ),
            );
        };
        match self.record_decrypted(&key, &f) {
            Ok(()) => {}
            Err(DecryptError::WrongKey) if socket_id.is_some() => {
                let socket_id = socket_id.unwrap_or_default();
                self.channels[&name].reauth = Some((socket_id.clone(), vec![f]));
                self.out.push(Output::Authorize(AuthRequest {
                    channel: name,
                    socket_id,
                }));
            }
            Err(e) => self.error(
                None,
                format!("cannot decrypt event {} on {name}: {e}; dropped", f.event),
            ),
        }
    }

    /// Decrypt `f` with `key` and record the plaintext.
    fn record_decrypted(&mut self, key: &str, f: &Frame) -> Result<(), DecryptError> {
        let data = crypto::decrypt_event(key, f.data_value())?;
        self.record(Record::Event {
            channel: f.channel.clone(),
            event: f.event.clone(),
            data,
            user_id: f.user_id.clone(),
            decrypted: true,
        });
        Ok(())
    }

    fn saw_activity(&mut self, now: Instant) {
        let Some(c) = self.conn.as_mut() else {
            return;
        };
        if !matches!(c.phase, Phase::Established { .. }) {
            return;
        }
        c.ping_at = Some(now + c.activity);
        c.pong_deadline = None;
        if let Some(sent) = c.ping_sent_at.take() {
            let rtt_ms = now.saturating_duration_since(sent).as_millis() as u64;
            self.record(Record::Pong { rtt_ms });
        }
    }

    // ----- small helpers -----

    fn current(&mut self, conn: ConnId) -> Option<&mut Conn> {
        self.conn.as_mut().filter(|c| c.id == conn)
    }

    fn take_current(&mut self, conn: ConnId) -> Option<Conn> {
        if self.conn.as_ref().is_some_and(|c| c.id == conn) {
            self.conn.take()
        } else {
            None
        }
    }

    fn established_id(&self) -> Option<ConnId> {
        self.conn
            .as_ref()
            .filter(|c| matches!(c.phase, Phase::Established { .. }))
            .map(|c| c.id)
    }

    /// Let go of the current socket, if any, closing it normally (1000).
    fn close_socket(&mut self, reason: &str) {
        if let Some(c) = self.conn.take() {
            self.out.push(Output::Close {
                conn: c.id,
                code: 1000,
                reason: reason.to_string(),
            });
        }
    }

    fn send(&mut self, conn: ConnId, text: String) {
        self.out.push(Output::Send {
            conn,
            text,
            droppable: false,
        });
    }

    /// Every record leaves through here, so a server's text is cut once, where it enters.
    fn record(&mut self, mut r: Record) {
        r.cut_server_text();
        self.out.push(Output::Record(r));
    }

    fn error(&mut self, code: Option<i64>, message: String) {
        self.record(Record::Error { code, message });
    }

    fn set_state(&mut self, new: State, cause: Option<String>, socket_id: Option<String>) {
        if new == self.state {
            return;
        }
        let previous = std::mem::replace(&mut self.state, new);
        self.record(Record::State {
            previous,
            current: new,
            socket_id,
            cause,
        });
    }
}

fn error_fields(f: &Frame) -> (Option<i64>, String) {
    let code = f.data_field("code").and_then(Value::as_i64);
    let message = f.data_field("message").and_then(Value::as_str).map_or_else(
        || match f.data_value() {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        },
        str::to_string,
    );
    let message = match hint(code, &message) {
        Some(hint) => format!("{message} ({hint})"),
        None => message,
    };
    (code, message)
}

/// The start of a long text, for error messages that must stay one readable line.
fn excerpt(text: &str) -> String {
    const MAX: usize = 120;
    if text.len() <= MAX {
        return text.to_string();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &text[..end], text.len())
}

#[cfg(test)]
#[path = "machine_tests.rs"]
mod tests;
