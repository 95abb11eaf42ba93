//! The demo server's brain, with no I/O: sockets, channels, presence members and the cache.
//!
//! Every entry point returns the frames to send as [`Delivery`] values; the server module
//! only moves them onto sockets. That keeps the protocol rules testable without a network.

use super::sign;
use chanwatch_core::protocol::ChannelKind;
use chanwatch_core::protocol::channel::{is_cache, validate_channel_name};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Identifies one accepted WebSocket inside the hub.
pub type ConnId = u64;

/// Largest `data` the HTTP API accepts, as on Pusher (10 KB).
pub const MAX_EVENT_DATA: usize = 10 * 1024;

/// The app the demo server hosts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    pub id: String,
    pub key: String,
    pub secret: String,
    /// Master key of encrypted channels: each channel's key is SHA-256(name || master_key).
    pub master_key: [u8; 32],
}

/// Something to do to one socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Out {
    Text(String),
    Close { code: u16, reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub to: ConnId,
    pub out: Out,
}

/// An event published through the HTTP API (or by the traffic generator).
#[derive(Debug, Clone, PartialEq)]
pub struct Publish {
    pub name: String,
    /// The event data as the API gives it: a string, sent on as is.
    pub data: String,
    pub channels: Vec<String>,
    /// Leave out the connection with this socket id.
    pub exclude_socket: Option<String>,
}

/// Why the HTTP API refused a publish; `status` is the HTTP status to answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishError {
    pub status: u16,
    pub message: String,
}

fn refuse(status: u16, message: impl Into<String>) -> PublishError {
    PublishError {
        status,
        message: message.into(),
    }
}

struct Conn {
    socket_id: String,
    /// Subscribed channels, with the presence user id for presence channels.
    subs: BTreeMap<String, Option<String>>,
    /// The user id after a successful `pusher:signin`.
    user: Option<String>,
}

/// A presence member: present while any of its sockets is subscribed or it is simulated.
struct Slot {
    info: Value,
    sockets: usize,
    simulated: bool,
}

#[derive(Default)]
struct Channel {
    subscribers: BTreeSet<ConnId>,
    members: BTreeMap<String, Slot>,
}

impl Channel {
    fn is_empty(&self) -> bool {
        self.subscribers.is_empty() && self.members.is_empty()
    }
}

pub struct Hub {
    app: App,
    next_conn: ConnId,
    conns: BTreeMap<ConnId, Conn>,
    channels: HashMap<String, Channel>,
    /// Last API-published event per cache channel: (event name, data as sent).
    cache: HashMap<String, (String, String)>,
    answer_pings: bool,
    /// Client events relayed, for the demo's webhooks (bounded; taken by
    /// [`Hub::take_client_events`]).
    client_events: std::collections::VecDeque<ClientEventSeen>,
}

/// A client event the hub relayed: what a `client_event` webhook says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientEventSeen {
    pub channel: String,
    pub event: String,
    pub socket_id: String,
    pub user_id: Option<String>,
}

/// Client events kept until the webhook sender takes them; older ones are dropped.
const CLIENT_EVENTS_KEPT: usize = 256;

/// One outbound frame with `data` as a string, the way servers send channel events.
pub fn frame(event: &str, channel: Option<&str>, data: &str, user_id: Option<&str>) -> String {
    let mut m = Map::new();
    m.insert("event".into(), Value::from(event));
    if let Some(c) = channel {
        m.insert("channel".into(), Value::from(c));
    }
    m.insert("data".into(), Value::from(data));
    if let Some(u) = user_id {
        m.insert("user_id".into(), Value::from(u));
    }
    Value::Object(m).to_string()
}

/// `pusher:error` with an object `data`, as sockudo sends it.
pub fn error_frame(code: Option<u16>, message: &str) -> String {
    json!({"event": "pusher:error", "data": {"code": code, "message": message}}).to_string()
}

impl Hub {
    pub fn new(app: App) -> Hub {
        Hub {
            app,
            next_conn: 1,
            conns: BTreeMap::new(),
            channels: HashMap::new(),
            cache: HashMap::new(),
            answer_pings: true,
            client_events: std::collections::VecDeque::new(),
        }
    }

    pub fn app(&self) -> &App {
        &self.app
    }

    pub fn set_answer_pings(&mut self, on: bool) {
        self.answer_pings = on;
    }

    pub fn answers_pings(&self) -> bool {
        self.answer_pings
    }

    /// Register a new socket; returns its id and the `connection_established` frame.
    pub fn open(&mut self, activity_timeout_secs: u64) -> (ConnId, String) {
        let id = self.next_conn;
        self.next_conn += 1;
        let socket_id = format!(
            "{}.{}",
            rand::random_range(1..1_000_000_000u32),
            rand::random_range(1..1_000_000_000u32)
        );
        let data = json!({"socket_id": socket_id, "activity_timeout": activity_timeout_secs});
        self.conns.insert(
            id,
            Conn {
                socket_id,
                subs: BTreeMap::new(),
                user: None,
            },
        );
        let hello = frame(
            "pusher:connection_established",
            None,
            &data.to_string(),
            None,
        );
        (id, hello)
    }

    pub fn socket_id(&self, conn: ConnId) -> Option<&str> {
        self.conns.get(&conn).map(|c| c.socket_id.as_str())
    }

    pub fn conn_ids(&self) -> Vec<ConnId> {
        self.conns.keys().copied().collect()
    }

    /// A socket went away: leave every channel it was in.
    pub fn close(&mut self, conn: ConnId) -> Vec<Delivery> {
        let mut out = Vec::new();
        if let Some(c) = self.conns.remove(&conn) {
            for (channel, user) in c.subs {
                self.leave(conn, &channel, user, &mut out);
            }
        }
        out
    }

    /// One text frame from a client.
    pub fn handle_text(&mut self, conn: ConnId, text: &str) -> Vec<Delivery> {
        let mut out = Vec::new();
        if !self.conns.contains_key(&conn) {
            return out;
        }
        let reply = |out: &mut Vec<Delivery>, text: String| {
            out.push(Delivery {
                to: conn,
                out: Out::Text(text),
            })
        };
        let parsed: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                reply(
                    &mut out,
                    error_frame(None, &format!("frame is not JSON: {e}")),
                );
                return out;
            }
        };
        let Some(event) = parsed.get("event").and_then(Value::as_str) else {
            reply(&mut out, error_frame(None, "frame has no string \"event\""));
            return out;
        };
        // `data` may be an object or a double-encoded string; control events want the object.
        let raw_data = parsed.get("data").cloned().unwrap_or(Value::Null);
        let data = match &raw_data {
            Value::String(s) => serde_json::from_str(s).unwrap_or(raw_data.clone()),
            other => other.clone(),
        };
        match event {
            "pusher:ping" => {
                if self.answer_pings {
                    reply(&mut out, frame("pusher:pong", None, "{}", None));
                }
            }
            "pusher:pong" => {}
            "pusher:subscribe" => self.subscribe(conn, &data, &mut out),
            "pusher:unsubscribe" => {
                if let Some(channel) = data.get("channel").and_then(Value::as_str) {
                    let user = self
                        .conns
                        .get_mut(&conn)
                        .and_then(|c| c.subs.remove(channel));
                    if let Some(user) = user {
                        self.leave(conn, channel, user, &mut out);
                    }
                } else {
                    reply(
                        &mut out,
                        error_frame(Some(4300), "pusher:unsubscribe needs data.channel"),
                    );
                }
            }
            "pusher:signin" => self.signin(conn, &data, &mut out),
            e if e.starts_with("client-") => {
                let channel = parsed.get("channel").and_then(Value::as_str);
                self.client_event(conn, e, channel, &raw_data, &mut out)
            }
            other => reply(
                &mut out,
                error_frame(None, &format!("unsupported event {other:?}")),
            ),
        }
        out
    }

    fn subscribe(&mut self, conn: ConnId, data: &Value, out: &mut Vec<Delivery>) {
        let reply = |out: &mut Vec<Delivery>, text: String| {
            out.push(Delivery {
                to: conn,
                out: Out::Text(text),
            })
        };
        let Some(channel) = data.get("channel").and_then(Value::as_str) else {
            reply(
                out,
                error_frame(Some(4300), "pusher:subscribe needs data.channel"),
            );
            return;
        };
        // `#server-to-user-ID` is reserved for the signed-in user ID itself.
        let own_user_channel = channel
            .strip_prefix("#server-to-user-")
            .is_some_and(|id| self.conns[&conn].user.as_deref() == Some(id));
        if let Err(e) = validate_channel_name(channel)
            .or_else(|e| if own_user_channel { Ok(()) } else { Err(e) })
        {
            reply(out, error_frame(Some(4300), &e.to_string()));
            return;
        }
        let kind = ChannelKind::of(channel);
        let user = match self.authorize(conn, channel, kind, data) {
            Ok(user) => user,
            Err(refusal) => {
                reply(out, refusal);
                return;
            }
        };
        let already = self.conns[&conn].subs.contains_key(channel);
        if !already {
            let user_id = user.as_ref().map(|(id, _)| id.clone());
            self.conns
                .get_mut(&conn)
                .expect("checked above")
                .subs
                .insert(channel.to_string(), user_id);
            let ch = self.channels.entry(channel.to_string()).or_default();
            ch.subscribers.insert(conn);
            if let Some((id, info)) = &user {
                let slot = ch.members.entry(id.clone()).or_insert(Slot {
                    info: info.clone(),
                    sockets: 0,
                    simulated: false,
                });
                let was_present = slot.sockets > 0 || slot.simulated;
                slot.sockets += 1;
                if !was_present {
                    slot.info = info.clone();
                    let added = json!({"user_id": id, "user_info": info}).to_string();
                    let text = frame("pusher_internal:member_added", Some(channel), &added, None);
                    for &other in ch.subscribers.iter().filter(|&&c| c != conn) {
                        out.push(Delivery {
                            to: other,
                            out: Out::Text(text.clone()),
                        });
                    }
                }
            }
        }
        let succeeded = match kind {
            ChannelKind::Presence => self.presence_data(channel).to_string(),
            _ => "{}".to_string(),
        };
        reply(
            out,
            frame(
                "pusher_internal:subscription_succeeded",
                Some(channel),
                &succeeded,
                None,
            ),
        );
        if is_cache(channel) {
            match self.cache.get(channel) {
                Some((event, data)) => reply(out, frame(event, Some(channel), data, None)),
                None => reply(out, frame("pusher:cache_miss", Some(channel), "{}", None)),
            }
        }
    }

    /// Whether `conn` may subscribe to `channel`: the presence member it joins as, if any;
    /// or the error frame that refuses it.
    fn authorize(
        &self,
        conn: ConnId,
        channel: &str,
        kind: ChannelKind,
        data: &Value,
    ) -> Result<Option<(String, Value)>, String> {
        let socket_id = self.conns[&conn].socket_id.clone();
        let auth = data.get("auth").and_then(Value::as_str).unwrap_or("");
        let channel_data = data.get("channel_data").and_then(Value::as_str);
        match kind {
            ChannelKind::Public => {}
            ChannelKind::Private | ChannelKind::Encrypted => {
                if !sign::verify_channel_auth(
                    &self.app.key,
                    &self.app.secret,
                    &socket_id,
                    channel,
                    None,
                    auth,
                ) {
                    return Err(bad_signature(&socket_id, channel, None, auth));
                }
            }
            ChannelKind::Presence => {
                let Some(cd) = channel_data else {
                    return Err(error_frame(
                        Some(4009),
                        "presence subscription needs channel_data",
                    ));
                };
                if !sign::verify_channel_auth(
                    &self.app.key,
                    &self.app.secret,
                    &socket_id,
                    channel,
                    Some(cd),
                    auth,
                ) {
                    return Err(bad_signature(&socket_id, channel, Some(cd), auth));
                }
                let parsed: Value = serde_json::from_str(cd).unwrap_or(Value::Null);
                let Some(id) = parsed
                    .get("user_id")
                    .and_then(chanwatch_core::protocol::frame::id_string)
                else {
                    return Err(error_frame(
                        Some(4009),
                        "channel_data must be JSON with a user_id",
                    ));
                };
                let info = parsed.get("user_info").cloned().unwrap_or(Value::Null);
                return Ok(Some((id, info)));
            }
        }
        Ok(None)
    }

    fn presence_data(&self, channel: &str) -> Value {
        let mut hash = Map::new();
        if let Some(ch) = self.channels.get(channel) {
            for (id, slot) in &ch.members {
                if slot.sockets > 0 || slot.simulated {
                    hash.insert(id.clone(), slot.info.clone());
                }
            }
        }
        let ids: Vec<&String> = hash.keys().collect();
        json!({"presence": {"ids": ids, "hash": hash, "count": hash.len()}})
    }

    /// `conn` is no longer subscribed to `channel` (its entry in `subs` is already gone).
    fn leave(
        &mut self,
        conn: ConnId,
        channel: &str,
        user: Option<String>,
        out: &mut Vec<Delivery>,
    ) {
        let Some(ch) = self.channels.get_mut(channel) else {
            return;
        };
        ch.subscribers.remove(&conn);
        if let Some(id) = user
            && let Some(slot) = ch.members.get_mut(&id)
        {
            slot.sockets = slot.sockets.saturating_sub(1);
            // Only the user's last socket leaving makes them leave (pusher's dedup rule).
            if slot.sockets == 0 && !slot.simulated {
                ch.members.remove(&id);
                let removed = json!({"user_id": id}).to_string();
                let text = frame(
                    "pusher_internal:member_removed",
                    Some(channel),
                    &removed,
                    None,
                );
                for &other in &ch.subscribers {
                    out.push(Delivery {
                        to: other,
                        out: Out::Text(text.clone()),
                    });
                }
            }
        }
        if ch.is_empty() {
            self.channels.remove(channel);
        }
    }

    fn client_event(
        &mut self,
        conn: ConnId,
        event: &str,
        channel: Option<&str>,
        raw_data: &Value,
        out: &mut Vec<Delivery>,
    ) {
        let refuse = |out: &mut Vec<Delivery>, msg: String| {
            out.push(Delivery {
                to: conn,
                out: Out::Text(error_frame(Some(4301), &msg)),
            })
        };
        let Some(channel) = channel else {
            refuse(out, format!("client event {event:?} has no channel"));
            return;
        };
        if !matches!(
            ChannelKind::of(channel),
            ChannelKind::Private | ChannelKind::Presence
        ) {
            refuse(
                out,
                format!(
                    "client events are only allowed on private and presence channels, not {channel:?}"
                ),
            );
            return;
        }
        let Some(user) = self.conns[&conn].subs.get(channel).cloned() else {
            refuse(out, format!("not subscribed to {channel:?}"));
            return;
        };
        let data = match raw_data {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if data.len() > MAX_EVENT_DATA {
            refuse(
                out,
                format!("client event data is over {MAX_EVENT_DATA} bytes"),
            );
            return;
        }
        let text = frame(event, Some(channel), &data, user.as_deref());
        if self.client_events.len() == CLIENT_EVENTS_KEPT {
            self.client_events.pop_front();
        }
        self.client_events.push_back(ClientEventSeen {
            channel: channel.to_string(),
            event: event.to_string(),
            socket_id: self.conns[&conn].socket_id.clone(),
            user_id: user.clone(),
        });
        if let Some(ch) = self.channels.get(channel) {
            for &other in ch.subscribers.iter().filter(|&&c| c != conn) {
                out.push(Delivery {
                    to: other,
                    out: Out::Text(text.clone()),
                });
            }
        }
    }

    fn signin(&mut self, conn: ConnId, data: &Value, out: &mut Vec<Delivery>) {
        let socket_id = self.conns[&conn].socket_id.clone();
        let auth = data.get("auth").and_then(Value::as_str).unwrap_or("");
        let user_data = data.get("user_data").and_then(Value::as_str).unwrap_or("");
        let expected = format!(
            "{}:{}",
            self.app.key,
            sign::hmac_hex(&self.app.secret, &format!("{socket_id}::user::{user_data}"))
        );
        let has_id = serde_json::from_str::<Value>(user_data)
            .ok()
            .and_then(|v| v.get("id").and_then(Value::as_str).map(|s| !s.is_empty()))
            .unwrap_or(false);
        let text = if auth != expected {
            error_frame(Some(4009), "invalid signin signature")
        } else if !has_id {
            error_frame(
                Some(4009),
                "user_data must be JSON with a non-empty string id",
            )
        } else {
            let id = serde_json::from_str::<Value>(user_data)
                .ok()
                .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_string));
            if let Some(c) = self.conns.get_mut(&conn) {
                c.user = id;
            }
            json!({"event": "pusher:signin_success", "data": {"user_data": user_data}}).to_string()
        };
        out.push(Delivery {
            to: conn,
            out: Out::Text(text),
        });
    }

    /// An HTTP API publish: checked like Pusher checks it, encrypted on encrypted channels
    /// (unless the data already is a `{nonce, ciphertext}` payload from a server library),
    /// remembered on cache channels.
    pub fn publish(&mut self, p: &Publish) -> Result<Vec<Delivery>, PublishError> {
        if p.name.is_empty() || p.name.len() > 200 {
            return Err(refuse(400, "event name must be 1 to 200 characters"));
        }
        if p.data.len() > MAX_EVENT_DATA {
            return Err(refuse(413, format!("data is over {MAX_EVENT_DATA} bytes")));
        }
        if p.channels.is_empty() || p.channels.len() > 100 {
            return Err(refuse(400, "give 1 to 100 channels"));
        }
        for c in &p.channels {
            validate_channel_name(c).map_err(|e| refuse(400, e.to_string()))?;
        }
        if p.channels.len() > 1
            && p.channels
                .iter()
                .any(|c| ChannelKind::of(c) == ChannelKind::Encrypted)
        {
            return Err(refuse(
                400,
                "cannot trigger one event on several channels when one is encrypted",
            ));
        }
        let excluded: Option<ConnId> = p.exclude_socket.as_deref().and_then(|sid| {
            self.conns
                .iter()
                .find(|(_, c)| c.socket_id == sid)
                .map(|(&id, _)| id)
        });
        let mut out = Vec::new();
        for channel in &p.channels {
            let data = if ChannelKind::of(channel) == ChannelKind::Encrypted
                && !looks_encrypted(&p.data)
            {
                sign::encrypt_event_data(channel, &self.app.master_key, &p.data)
            } else {
                p.data.clone()
            };
            if is_cache(channel) {
                self.cache
                    .insert(channel.clone(), (p.name.clone(), data.clone()));
            }
            self.broadcast(channel, &p.name, &data, None, excluded, &mut out);
        }
        Ok(out)
    }

    /// Deliver an event as if a client had sent it (not cached, never encrypted here),
    /// with `user_id` when given, e.g. a simulated presence member talking.
    pub fn relay(
        &self,
        channel: &str,
        event: &str,
        data: &str,
        user_id: Option<&str>,
    ) -> Vec<Delivery> {
        let mut out = Vec::new();
        self.broadcast(channel, event, data, user_id, None, &mut out);
        out
    }

    fn broadcast(
        &self,
        channel: &str,
        event: &str,
        data: &str,
        user_id: Option<&str>,
        exclude: Option<ConnId>,
        out: &mut Vec<Delivery>,
    ) {
        if let Some(ch) = self.channels.get(channel) {
            let text = frame(event, Some(channel), data, user_id);
            for &c in ch.subscribers.iter().filter(|&&c| Some(c) != exclude) {
                out.push(Delivery {
                    to: c,
                    out: Out::Text(text.clone()),
                });
            }
        }
    }

    /// A simulated member joins a presence channel (member_added unless already present).
    pub fn join_simulated(&mut self, channel: &str, id: &str, info: Value) -> Vec<Delivery> {
        let mut out = Vec::new();
        let ch = self.channels.entry(channel.to_string()).or_default();
        let slot = ch.members.entry(id.to_string()).or_insert(Slot {
            info: info.clone(),
            sockets: 0,
            simulated: false,
        });
        let was_present = slot.sockets > 0 || slot.simulated;
        slot.simulated = true;
        if !was_present {
            slot.info = info.clone();
            let added = json!({"user_id": id, "user_info": info}).to_string();
            let text = frame("pusher_internal:member_added", Some(channel), &added, None);
            for &c in &ch.subscribers {
                out.push(Delivery {
                    to: c,
                    out: Out::Text(text.clone()),
                });
            }
        }
        out
    }

    /// A simulated member leaves (member_removed unless a real socket still holds the id).
    pub fn leave_simulated(&mut self, channel: &str, id: &str) -> Vec<Delivery> {
        let mut out = Vec::new();
        let Some(ch) = self.channels.get_mut(channel) else {
            return out;
        };
        if let Some(slot) = ch.members.get_mut(id) {
            if !slot.simulated {
                return out;
            }
            slot.simulated = false;
            if slot.sockets == 0 {
                ch.members.remove(id);
                let text = frame(
                    "pusher_internal:member_removed",
                    Some(channel),
                    &json!({"user_id": id}).to_string(),
                    None,
                );
                for &c in &ch.subscribers {
                    out.push(Delivery {
                        to: c,
                        out: Out::Text(text.clone()),
                    });
                }
            }
        }
        if ch.is_empty() {
            self.channels.remove(channel);
        }
        out
    }

    /// Close every socket with this code (they leave their channels when the socket ends).
    pub fn close_all(&self, code: u16, reason: &str) -> Vec<Delivery> {
        self.conns
            .keys()
            .map(|&c| Delivery {
                to: c,
                out: Out::Close {
                    code,
                    reason: reason.to_string(),
                },
            })
            .collect()
    }

    /// Occupied channels (a subscriber or a simulated member) whose name starts with
    /// `prefix`, sorted, with their presence member count.
    pub fn occupied(&self, prefix: &str) -> Vec<(String, usize)> {
        let mut out: Vec<(String, usize)> = self
            .channels
            .iter()
            .filter(|(name, ch)| name.starts_with(prefix) && !ch.is_empty())
            .map(|(name, ch)| (name.clone(), ch.members.len()))
            .collect();
        out.sort();
        out
    }

    /// The client events relayed since the last call, oldest first.
    pub fn take_client_events(&mut self) -> Vec<ClientEventSeen> {
        self.client_events.drain(..).collect()
    }

    /// The ids of a presence channel's members, sorted.
    pub fn member_ids(&self, channel: &str) -> Vec<String> {
        self.channels
            .get(channel)
            .map(|c| c.members.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The number of sockets subscribed to a channel (for tests and the traffic generator).
    pub fn subscriber_count(&self, channel: &str) -> usize {
        self.channels
            .get(channel)
            .map_or(0, |c| c.subscribers.len())
    }
}

fn bad_signature(socket_id: &str, channel: &str, channel_data: Option<&str>, got: &str) -> String {
    error_frame(
        Some(4009),
        &format!(
            "Invalid signature: expected HMAC SHA256 hex digest of {}, but got {got:?}",
            sign::channel_string_to_sign(socket_id, channel, channel_data)
        ),
    )
}

/// Whether API data already is an encrypted payload produced by a server library.
fn looks_encrypted(data: &str) -> bool {
    serde_json::from_str::<Value>(data).is_ok_and(|v| {
        v.get("nonce").is_some_and(Value::is_string)
            && v.get("ciphertext").is_some_and(Value::is_string)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> App {
        App {
            id: "demo".into(),
            key: "k".into(),
            secret: "s".into(),
            master_key: [1; 32],
        }
    }

    fn texts(out: &[Delivery], to: ConnId) -> Vec<Value> {
        out.iter()
            .filter(|d| d.to == to)
            .filter_map(|d| match &d.out {
                Out::Text(t) => Some(serde_json::from_str(t).unwrap()),
                Out::Close { .. } => None,
            })
            .collect()
    }

    fn sub_presence(hub: &mut Hub, conn: ConnId, channel: &str, user: &str) -> Vec<Delivery> {
        let sid = hub.socket_id(conn).unwrap().to_string();
        let cd = json!({"user_id": user, "user_info": {"n": user}}).to_string();
        let auth = sign::channel_auth("k", "s", &sid, channel, Some(&cd));
        let msg = json!({"event":"pusher:subscribe","data":{"channel":channel,"auth":auth,"channel_data":cd}});
        hub.handle_text(conn, &msg.to_string())
    }

    #[test]
    fn only_the_signed_in_user_may_join_its_own_user_channel() {
        let mut hub = Hub::new(app());
        let (a, _) = hub.open(120);
        let sub =
            json!({"event":"pusher:subscribe","data":{"channel":"#server-to-user-u1","auth":""}});
        let out = hub.handle_text(a, &sub.to_string());
        assert_eq!(
            texts(&out, a)[0]["event"],
            "pusher:error",
            "not signed in yet"
        );
        let sid = hub.socket_id(a).unwrap().to_string();
        let user_data = r#"{"id":"u1"}"#;
        let auth = format!(
            "k:{}",
            sign::hmac_hex("s", &format!("{sid}::user::{user_data}"))
        );
        let signin = json!({"event":"pusher:signin","data":{"auth":auth,"user_data":user_data}});
        let out = hub.handle_text(a, &signin.to_string());
        assert_eq!(texts(&out, a)[0]["event"], "pusher:signin_success");
        let out = hub.handle_text(a, &sub.to_string());
        assert_eq!(
            texts(&out, a)[0]["event"],
            "pusher_internal:subscription_succeeded"
        );
        let other =
            json!({"event":"pusher:subscribe","data":{"channel":"#server-to-user-u2","auth":""}});
        let out = hub.handle_text(a, &other.to_string());
        assert_eq!(texts(&out, a)[0]["event"], "pusher:error");
    }

    #[test]
    fn handshake_has_socket_id_and_timeout() {
        let mut hub = Hub::new(app());
        let (_, hello) = hub.open(120);
        let v: Value = serde_json::from_str(&hello).unwrap();
        assert_eq!(v["event"], "pusher:connection_established");
        let d: Value = serde_json::from_str(v["data"].as_str().unwrap()).unwrap();
        let sid = d["socket_id"].as_str().unwrap();
        let (a, b) = sid.split_once('.').unwrap();
        assert!(a.bytes().all(|c| c.is_ascii_digit()) && b.bytes().all(|c| c.is_ascii_digit()));
        assert_eq!(d["activity_timeout"], 120);
    }

    #[test]
    fn presence_dedups_per_user_and_counts_simulated_members() {
        let mut hub = Hub::new(app());
        let (a, _) = hub.open(120);
        let (b1, _) = hub.open(120);
        let (b2, _) = hub.open(120);
        hub.join_simulated("presence-x", "bot", json!({}));
        let out = sub_presence(&mut hub, a, "presence-x", "alice");
        let ok = &texts(&out, a)[0];
        let pres: Value = serde_json::from_str(ok["data"].as_str().unwrap()).unwrap();
        assert_eq!(pres["presence"]["count"], 2);
        // bob's first socket is announced, his second is not
        let out = sub_presence(&mut hub, b1, "presence-x", "bob");
        assert_eq!(texts(&out, a)[0]["event"], "pusher_internal:member_added");
        let out = sub_presence(&mut hub, b2, "presence-x", "bob");
        assert!(texts(&out, a).is_empty());
        assert!(hub.close(b1).is_empty());
        let out = hub.close(b2);
        assert_eq!(texts(&out, a)[0]["event"], "pusher_internal:member_removed");
        let out = hub.leave_simulated("presence-x", "bot");
        assert_eq!(texts(&out, a)[0]["data"], r#"{"user_id":"bot"}"#);
    }

    #[test]
    fn bad_input_gets_an_error_not_a_panic() {
        let mut hub = Hub::new(app());
        let (a, _) = hub.open(120);
        for bad in [
            "",
            "[]",
            "{}",
            r#"{"event":5}"#,
            r#"{"event":"pusher:subscribe"}"#,
            r##"{"event":"pusher:subscribe","data":{"channel":"#bad"}}"##,
            r#"{"event":"client-x","channel":"public","data":{}}"#,
        ] {
            let out = hub.handle_text(a, bad);
            assert_eq!(texts(&out, a)[0]["event"], "pusher:error", "{bad}");
        }
    }

    #[test]
    fn publish_rules() {
        let mut hub = Hub::new(app());
        let p = |chs: &[&str], data: &str| Publish {
            name: "e".into(),
            data: data.into(),
            channels: chs.iter().map(|s| s.to_string()).collect(),
            exclude_socket: None,
        };
        assert_eq!(
            hub.publish(&p(&["a", "private-encrypted-b"], "x"))
                .unwrap_err()
                .status,
            400
        );
        assert_eq!(
            hub.publish(&p(&["a"], &"x".repeat(MAX_EVENT_DATA + 1)))
                .unwrap_err()
                .status,
            413
        );
        assert_eq!(hub.publish(&p(&[], "x")).unwrap_err().status, 400);
        hub.publish(&p(&["cache-a"], "1")).unwrap();
        hub.publish(&p(&["cache-a"], "2")).unwrap();
        let (c, _) = hub.open(120);
        let out = hub.handle_text(
            c,
            r#"{"event":"pusher:subscribe","data":{"channel":"cache-a"}}"#,
        );
        let t = texts(&out, c);
        assert_eq!(t[0]["event"], "pusher_internal:subscription_succeeded");
        assert_eq!(t[1]["data"], "2");
    }
}
