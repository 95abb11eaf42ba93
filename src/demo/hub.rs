//! The demo server's brain, with no I/O: sockets, channels, presence members and the cache,
//! for one server or for every node of a demo cluster (one hub, a view per node).
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

/// One node of a demo cluster, numbered from 0 (a single demo server is node 0).
pub type NodeId = usize;

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
    /// The node whose socket this is.
    node: NodeId,
    socket_id: String,
    /// Subscribed channels, with the presence user id for presence channels.
    subs: BTreeMap<String, Option<String>>,
    /// The user id after a successful `pusher:signin`.
    user: Option<String>,
}

/// A presence member: present while any of its sockets is subscribed or it is simulated.
struct Slot {
    info: Value,
    /// Its subscribed sockets, per node (no zero counts kept).
    sockets: BTreeMap<NodeId, usize>,
    /// The node a simulated member joined through.
    simulated: Option<NodeId>,
}

impl Slot {
    fn held_on(&self, node: NodeId) -> bool {
        self.sockets.contains_key(&node) || self.simulated == Some(node)
    }

    fn is_held(&self) -> bool {
        !self.sockets.is_empty() || self.simulated.is_some()
    }
}

#[derive(Default)]
struct Channel {
    subscribers: BTreeSet<ConnId>,
    /// The members really present: held by a live socket or simulated.
    members: BTreeMap<String, Slot>,
}

impl Channel {
    fn is_empty(&self) -> bool {
        self.subscribers.is_empty() && self.members.is_empty()
    }
}

/// One node of the cluster, as the others see it, and what it has told its own sockets.
struct Node {
    /// False after `kill_node` until `restore`: no sockets, no API.
    alive: bool,
    /// False while partitioned: nothing crosses between it and the other nodes.
    on_bus: bool,
    /// `keep_member`: members who leave through other nodes stay on this node.
    keep_members: bool,
    answer_pings: bool,
    /// Per presence channel, the members this node's sockets were told about (its
    /// roster): `member_added` and `member_removed` are its changes. Without faults it is
    /// the channel's members; after a fault it may hold ghosts or miss members.
    rosters: HashMap<String, BTreeMap<String, Value>>,
    /// Last API-published event per cache channel: (event name, data as sent).
    cache: HashMap<String, (String, String)>,
}

impl Node {
    fn new() -> Node {
        Node {
            alive: true,
            on_bus: true,
            keep_members: false,
            answer_pings: true,
            rosters: HashMap::new(),
            cache: HashMap::new(),
        }
    }
}

/// The protocol state of one demo server, or of every node of a demo cluster at once: one
/// set of sockets, channels and members (the truth), and per node a view of it (what a node
/// reaches over the bus, its roster of each presence channel, its cache). Without faults
/// every node sees everything, so a cluster behaves as one server with several doors; the
/// cluster faults ([`Hub::kill`], [`Hub::partition`], [`Hub::keep_members`]) make the views
/// diverge the way real nodes do, and [`Hub::heal`] brings them back together.
pub struct Hub {
    app: App,
    next_conn: ConnId,
    conns: BTreeMap<ConnId, Conn>,
    channels: HashMap<String, Channel>,
    nodes: Vec<Node>,
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

fn member_added(channel: &str, id: &str, info: &Value) -> String {
    let added = json!({"user_id": id, "user_info": info}).to_string();
    frame("pusher_internal:member_added", Some(channel), &added, None)
}

fn member_removed(channel: &str, id: &str) -> String {
    let removed = json!({"user_id": id}).to_string();
    frame(
        "pusher_internal:member_removed",
        Some(channel),
        &removed,
        None,
    )
}

impl Hub {
    /// One server: a cluster of one node, node 0.
    pub fn new(app: App) -> Hub {
        Hub::cluster(app, 1)
    }

    /// `nodes` nodes (at least one), numbered from 0, all alive and on the bus.
    pub fn cluster(app: App, nodes: usize) -> Hub {
        Hub {
            app,
            next_conn: 1,
            conns: BTreeMap::new(),
            channels: HashMap::new(),
            nodes: (0..nodes.max(1)).map(|_| Node::new()).collect(),
            client_events: std::collections::VecDeque::new(),
        }
    }

    pub fn app(&self) -> &App {
        &self.app
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    pub fn set_answer_pings(&mut self, node: NodeId, on: bool) {
        if let Some(n) = self.nodes.get_mut(node) {
            n.answer_pings = on;
        }
    }

    pub fn answers_pings(&self, node: NodeId) -> bool {
        self.nodes.get(node).is_some_and(|n| n.answer_pings)
    }

    pub fn is_alive(&self, node: NodeId) -> bool {
        self.nodes.get(node).is_some_and(|n| n.alive)
    }

    pub fn is_partitioned(&self, node: NodeId) -> bool {
        self.nodes.get(node).is_some_and(|n| !n.on_bus)
    }

    pub fn keeps_members(&self, node: NodeId) -> bool {
        self.nodes.get(node).is_some_and(|n| n.keep_members)
    }

    /// Whether what happens on node `from` reaches the sockets and the view of node `to`:
    /// always on the node itself (while it lives), else when both live on the bus.
    fn reaches(&self, from: NodeId, to: NodeId) -> bool {
        let (Some(f), Some(t)) = (self.nodes.get(from), self.nodes.get(to)) else {
            return false;
        };
        f.alive && t.alive && (from == to || (f.on_bus && t.on_bus))
    }

    fn node_of(&self, conn: ConnId) -> Option<NodeId> {
        self.conns.get(&conn).map(|c| c.node)
    }

    /// Register a new socket on `node`; returns its id and the `connection_established`
    /// frame, or `None` when the node is down.
    pub fn open(&mut self, node: NodeId, activity_timeout_secs: u64) -> Option<(ConnId, String)> {
        if !self.is_alive(node) {
            return None;
        }
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
                node,
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
        Some((id, hello))
    }

    pub fn socket_id(&self, conn: ConnId) -> Option<&str> {
        self.conns.get(&conn).map(|c| c.socket_id.as_str())
    }

    /// Every open socket, on every node.
    pub fn conn_ids(&self) -> Vec<ConnId> {
        self.conns.keys().copied().collect()
    }

    /// The open sockets of one node.
    pub fn conn_ids_on(&self, node: NodeId) -> Vec<ConnId> {
        self.conns
            .iter()
            .filter(|(_, c)| c.node == node)
            .map(|(&id, _)| id)
            .collect()
    }

    /// A socket went away: leave every channel it was in.
    pub fn close(&mut self, conn: ConnId) -> Vec<Delivery> {
        let mut out = Vec::new();
        if let Some(c) = self.conns.remove(&conn) {
            for (channel, user) in c.subs {
                self.leave(conn, c.node, &channel, user, &mut out);
            }
        }
        out
    }

    /// One text frame from a client.
    pub fn handle_text(&mut self, conn: ConnId, text: &str) -> Vec<Delivery> {
        let mut out = Vec::new();
        let Some(node) = self.node_of(conn) else {
            return out;
        };
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
                if self.answers_pings(node) {
                    reply(&mut out, frame("pusher:pong", None, "{}", None));
                }
            }
            "pusher:pong" => {}
            "pusher:subscribe" => self.subscribe(conn, node, &data, &mut out),
            "pusher:unsubscribe" => {
                if let Some(channel) = data.get("channel").and_then(Value::as_str) {
                    let user = self
                        .conns
                        .get_mut(&conn)
                        .and_then(|c| c.subs.remove(channel));
                    if let Some(user) = user {
                        self.leave(conn, node, channel, user, &mut out);
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
                self.client_event(conn, node, e, channel, &raw_data, &mut out)
            }
            other => reply(
                &mut out,
                error_frame(None, &format!("unsupported event {other:?}")),
            ),
        }
        out
    }

    fn subscribe(&mut self, conn: ConnId, node: NodeId, data: &Value, out: &mut Vec<Delivery>) {
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
                    sockets: BTreeMap::new(),
                    simulated: None,
                });
                if !slot.is_held() {
                    slot.info = info.clone();
                }
                *slot.sockets.entry(node).or_default() += 1;
                self.member_changed(node, channel, id, Some(conn), out);
            }
        }
        let succeeded = match kind {
            ChannelKind::Presence => self.presence_data(node, channel).to_string(),
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
            match self.nodes[node].cache.get(channel) {
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

    /// Whether member `id` of `channel` is present as node `node` can tell: held on a node
    /// whose changes reach it.
    fn present_for(&self, node: NodeId, channel: &str, id: &str) -> bool {
        self.channels
            .get(channel)
            .and_then(|ch| ch.members.get(id))
            .is_some_and(|slot| {
                (0..self.nodes.len()).any(|k| slot.held_on(k) && self.reaches(k, node))
            })
    }

    /// The members node `node` lists (in `subscription_succeeded` and through its HTTP
    /// API): those of its roster it can still find on a live node it reaches, and with
    /// `keep_member` all of its roster. A killed node's members drop out of the listing at
    /// once while they stay on the rosters of the sockets told about them, as on sockudo.
    fn listed(&self, node: NodeId, channel: &str) -> BTreeMap<&str, &Value> {
        let Some(n) = self.nodes.get(node) else {
            return BTreeMap::new();
        };
        n.rosters
            .get(channel)
            .into_iter()
            .flatten()
            .filter(|(id, _)| n.keep_members || self.present_for(node, channel, id))
            .map(|(id, info)| (id.as_str(), info))
            .collect()
    }

    fn presence_data(&self, node: NodeId, channel: &str) -> Value {
        let mut hash = Map::new();
        for (id, info) in self.listed(node, channel) {
            hash.insert(id.to_string(), info.clone());
        }
        let ids: Vec<&String> = hash.keys().collect();
        json!({"presence": {"ids": ids, "hash": hash, "count": hash.len()}})
    }

    /// The sockets of node `node` subscribed to `channel`.
    fn subscribers_on(&self, node: NodeId, channel: &str) -> Vec<ConnId> {
        self.channels
            .get(channel)
            .map(|ch| {
                ch.subscribers
                    .iter()
                    .copied()
                    .filter(|c| self.node_of(*c) == Some(node))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Member `id` of `channel` joined or left through node `origin` (the truth is already
    /// updated): every node it reaches brings its roster in line and tells its sockets,
    /// `except` the socket that joined (it gets `subscription_succeeded`). A node that
    /// keeps members does not drop one who left through another node.
    fn member_changed(
        &mut self,
        origin: NodeId,
        channel: &str,
        id: &str,
        except: Option<ConnId>,
        out: &mut Vec<Delivery>,
    ) {
        let info = self
            .channels
            .get(channel)
            .and_then(|ch| ch.members.get(id))
            .map(|slot| slot.info.clone());
        for node in 0..self.nodes.len() {
            if !self.reaches(origin, node) {
                continue;
            }
            let present = self.present_for(node, channel, id);
            let n = &self.nodes[node];
            let on_roster = n.rosters.get(channel).is_some_and(|r| r.contains_key(id));
            let keeps = n.keep_members && node != origin;
            let text = match (present, on_roster, &info) {
                (true, false, Some(info)) => {
                    self.nodes[node]
                        .rosters
                        .entry(channel.to_string())
                        .or_default()
                        .insert(id.to_string(), info.clone());
                    member_added(channel, id, info)
                }
                (false, true, _) if !keeps => {
                    self.unroster(node, channel, id);
                    member_removed(channel, id)
                }
                _ => continue,
            };
            for to in self.subscribers_on(node, channel) {
                if Some(to) != except {
                    out.push(Delivery {
                        to,
                        out: Out::Text(text.clone()),
                    });
                }
            }
        }
    }

    fn unroster(&mut self, node: NodeId, channel: &str, id: &str) {
        let rosters = &mut self.nodes[node].rosters;
        if let Some(r) = rosters.get_mut(channel) {
            r.remove(id);
            if r.is_empty() {
                rosters.remove(channel);
            }
        }
    }

    /// `conn` (of `node`) is no longer subscribed to `channel` (its entry in `subs` is
    /// already gone).
    fn leave(
        &mut self,
        conn: ConnId,
        node: NodeId,
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
            if let Some(n) = slot.sockets.get_mut(&node) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    slot.sockets.remove(&node);
                }
            }
            // Only the user's last socket leaving makes them leave (pusher's dedup rule).
            if !slot.is_held() {
                ch.members.remove(&id);
            }
            self.member_changed(node, channel, &id, None, out);
        }
        self.drop_if_empty(channel);
    }

    fn drop_if_empty(&mut self, channel: &str) {
        if self.channels.get(channel).is_some_and(Channel::is_empty) {
            self.channels.remove(channel);
        }
    }

    fn client_event(
        &mut self,
        conn: ConnId,
        node: NodeId,
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
        if self.client_events.len() == CLIENT_EVENTS_KEPT {
            self.client_events.pop_front();
        }
        self.client_events.push_back(ClientEventSeen {
            channel: channel.to_string(),
            event: event.to_string(),
            socket_id: self.conns[&conn].socket_id.clone(),
            user_id: user.clone(),
        });
        self.broadcast(
            node,
            channel,
            event,
            &data,
            user.as_deref(),
            Some(conn),
            out,
        );
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

    /// An HTTP API publish through node 0 (see [`Hub::publish_via`]).
    pub fn publish(&mut self, p: &Publish) -> Result<Vec<Delivery>, PublishError> {
        self.publish_via(0, p)
    }

    /// An HTTP API publish through node `node`: checked like Pusher checks it, encrypted on
    /// encrypted channels (unless the data already is a `{nonce, ciphertext}` payload from a
    /// server library), remembered on cache channels, delivered on every node it reaches.
    pub fn publish_via(
        &mut self,
        node: NodeId,
        p: &Publish,
    ) -> Result<Vec<Delivery>, PublishError> {
        if !self.is_alive(node) {
            return Err(refuse(503, "this node is down"));
        }
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
                for k in 0..self.nodes.len() {
                    if self.reaches(node, k) {
                        self.nodes[k]
                            .cache
                            .insert(channel.clone(), (p.name.clone(), data.clone()));
                    }
                }
            }
            self.broadcast(node, channel, &p.name, &data, None, excluded, &mut out);
        }
        Ok(out)
    }

    /// Deliver an event as if a client of node 0 had sent it (see [`Hub::relay_via`]).
    pub fn relay(
        &self,
        channel: &str,
        event: &str,
        data: &str,
        user_id: Option<&str>,
    ) -> Vec<Delivery> {
        self.relay_via(0, channel, event, data, user_id)
    }

    /// Deliver an event as if a client of node `node` had sent it (not cached, never
    /// encrypted here), with `user_id` when given, e.g. a simulated presence member talking.
    pub fn relay_via(
        &self,
        node: NodeId,
        channel: &str,
        event: &str,
        data: &str,
        user_id: Option<&str>,
    ) -> Vec<Delivery> {
        let mut out = Vec::new();
        self.broadcast(node, channel, event, data, user_id, None, &mut out);
        out
    }

    /// Send to the subscribers of `channel` on every node that `node` reaches.
    #[allow(clippy::too_many_arguments)]
    fn broadcast(
        &self,
        node: NodeId,
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
                if self.node_of(c).is_some_and(|k| self.reaches(node, k)) {
                    out.push(Delivery {
                        to: c,
                        out: Out::Text(text.clone()),
                    });
                }
            }
        }
    }

    /// A simulated member joins a presence channel through node 0 (see
    /// [`Hub::join_simulated_via`]).
    pub fn join_simulated(&mut self, channel: &str, id: &str, info: Value) -> Vec<Delivery> {
        self.join_simulated_via(0, channel, id, info)
    }

    /// A simulated member joins a presence channel through node `node`, as if a socket of
    /// that node had (`member_added` where it is new). Nothing when the node is down.
    pub fn join_simulated_via(
        &mut self,
        node: NodeId,
        channel: &str,
        id: &str,
        info: Value,
    ) -> Vec<Delivery> {
        let mut out = Vec::new();
        if !self.is_alive(node) {
            return out;
        }
        let ch = self.channels.entry(channel.to_string()).or_default();
        let slot = ch.members.entry(id.to_string()).or_insert(Slot {
            info: info.clone(),
            sockets: BTreeMap::new(),
            simulated: None,
        });
        if !slot.is_held() {
            slot.info = info;
        }
        let moved_from = slot.simulated.replace(node).filter(|&was| was != node);
        if let Some(was) = moved_from {
            self.member_changed(was, channel, id, None, &mut out);
        }
        self.member_changed(node, channel, id, None, &mut out);
        out
    }

    /// A simulated member leaves through the node it joined through (`member_removed`
    /// unless a real socket still holds the id).
    pub fn leave_simulated(&mut self, channel: &str, id: &str) -> Vec<Delivery> {
        let mut out = Vec::new();
        let Some(ch) = self.channels.get_mut(channel) else {
            return out;
        };
        if let Some(slot) = ch.members.get_mut(id) {
            let Some(node) = slot.simulated.take() else {
                return out;
            };
            if !slot.is_held() {
                ch.members.remove(id);
            }
            self.member_changed(node, channel, id, None, &mut out);
        }
        self.drop_if_empty(channel);
        out
    }

    /// The node a simulated member joined through, if it is simulated.
    pub fn simulated_node(&self, channel: &str, id: &str) -> Option<NodeId> {
        self.channels
            .get(channel)
            .and_then(|ch| ch.members.get(id))
            .and_then(|slot| slot.simulated)
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

    /// Close every socket of one node with this code.
    pub fn close_all_on(&self, node: NodeId, code: u16, reason: &str) -> Vec<Delivery> {
        self.conn_ids_on(node)
            .into_iter()
            .map(|c| Delivery {
                to: c,
                out: Out::Close {
                    code,
                    reason: reason.to_string(),
                },
            })
            .collect()
    }

    /// `kill_node`: the node dies at once. Its sockets are forgotten without a word to
    /// anyone (returned, so that the server drops them without a close frame), its
    /// simulated members go with it, and no other node hears of it: their rosters keep
    /// its members (ghosts) until a leave through a live node or [`Hub::heal`].
    pub fn kill(&mut self, node: NodeId) -> Vec<ConnId> {
        let Some(n) = self.nodes.get_mut(node) else {
            return Vec::new();
        };
        n.alive = false;
        n.rosters.clear();
        n.cache.clear();
        let dead = self.conn_ids_on(node);
        for conn in &dead {
            if let Some(c) = self.conns.remove(conn) {
                for (channel, _) in c.subs {
                    if let Some(ch) = self.channels.get_mut(&channel) {
                        ch.subscribers.remove(conn);
                    }
                }
            }
        }
        for ch in self.channels.values_mut() {
            ch.members.retain(|_, slot| {
                slot.sockets.remove(&node);
                if slot.simulated == Some(node) {
                    slot.simulated = None;
                }
                slot.is_held()
            });
        }
        self.channels.retain(|_, ch| !ch.is_empty());
        dead
    }

    /// `partition`: nothing crosses between `node` and the other nodes any more.
    pub fn partition(&mut self, node: NodeId) {
        if let Some(n) = self.nodes.get_mut(node) {
            n.on_bus = false;
        }
    }

    /// `keep_member`: `node` keeps the members who leave through other nodes.
    pub fn keep_members(&mut self, node: NodeId) {
        if let Some(n) = self.nodes.get_mut(node) {
            n.keep_members = true;
        }
    }

    /// `restore` for the whole cluster: every node alive (a killed one comes back empty, as
    /// a restarted process), on the bus, answering pings and releasing kept members; then
    /// every roster is brought back to the members really present, as a server re-syncing
    /// its presence would (`member_removed` for ghosts, `member_added` for the missed).
    /// Nodes in `stay_down` stay dead (their port could not be bound again).
    pub fn heal(&mut self, stay_down: &[NodeId]) -> Vec<Delivery> {
        for (i, n) in self.nodes.iter_mut().enumerate() {
            n.alive = n.alive || !stay_down.contains(&i);
            n.on_bus = true;
            n.keep_members = false;
            n.answer_pings = true;
        }
        self.resync()
    }

    /// Bring every live node's rosters in line with the members it can see.
    fn resync(&mut self) -> Vec<Delivery> {
        let mut out = Vec::new();
        let mut channels: BTreeSet<String> = self
            .channels
            .iter()
            .filter(|(_, ch)| !ch.members.is_empty())
            .map(|(name, _)| name.clone())
            .collect();
        for n in &self.nodes {
            channels.extend(n.rosters.keys().cloned());
        }
        for node in 0..self.nodes.len() {
            if !self.is_alive(node) {
                continue;
            }
            for channel in &channels {
                let mut ids: BTreeSet<String> = self.nodes[node]
                    .rosters
                    .get(channel)
                    .map(|r| r.keys().cloned().collect())
                    .unwrap_or_default();
                if let Some(ch) = self.channels.get(channel) {
                    ids.extend(ch.members.keys().cloned());
                }
                for id in ids {
                    self.member_changed(node, channel, &id, None, &mut out);
                }
            }
        }
        out
    }

    /// Occupied channels (a subscriber or a simulated member) whose name starts with
    /// `prefix`, sorted, with their presence member count: the whole cluster's truth.
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

    /// What node `node`'s HTTP API lists as occupied: channels with a subscriber on a node
    /// it reaches, or with members it lists; sorted, with that member count.
    pub fn occupied_via(&self, node: NodeId, prefix: &str) -> Vec<(String, usize)> {
        let mut names: BTreeSet<&String> = self.channels.keys().collect();
        if let Some(n) = self.nodes.get(node) {
            names.extend(n.rosters.keys());
        }
        names
            .into_iter()
            .filter(|name| name.starts_with(prefix))
            .filter_map(|name| {
                let members = self.listed(node, name).len();
                (members > 0 || self.subscriber_count_via(node, name) > 0)
                    .then(|| (name.clone(), members))
            })
            .collect()
    }

    /// The client events relayed since the last call, oldest first.
    pub fn take_client_events(&mut self) -> Vec<ClientEventSeen> {
        self.client_events.drain(..).collect()
    }

    /// The ids of a presence channel's members, sorted: the whole cluster's truth.
    pub fn member_ids(&self, channel: &str) -> Vec<String> {
        self.channels
            .get(channel)
            .map(|c| c.members.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The ids node `node` lists for a presence channel, sorted.
    pub fn member_ids_via(&self, node: NodeId, channel: &str) -> Vec<String> {
        self.listed(node, channel)
            .into_keys()
            .map(str::to_string)
            .collect()
    }

    /// The ids on node `node`'s roster of a presence channel (what its sockets were told),
    /// sorted.
    pub fn roster(&self, node: NodeId, channel: &str) -> Vec<String> {
        self.nodes
            .get(node)
            .and_then(|n| n.rosters.get(channel))
            .map(|r| r.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The number of sockets subscribed to a channel (for tests and the traffic generator).
    pub fn subscriber_count(&self, channel: &str) -> usize {
        self.channels
            .get(channel)
            .map_or(0, |c| c.subscribers.len())
    }

    /// The sockets subscribed to a channel on the nodes node `node` reaches.
    pub fn subscriber_count_via(&self, node: NodeId, channel: &str) -> usize {
        self.channels.get(channel).map_or(0, |c| {
            c.subscribers
                .iter()
                .filter(|&&s| self.node_of(s).is_some_and(|k| self.reaches(k, node)))
                .count()
        })
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
        let (a, _) = hub.open(0, 120).unwrap();
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
        let (_, hello) = hub.open(0, 120).unwrap();
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
        let (a, _) = hub.open(0, 120).unwrap();
        let (b1, _) = hub.open(0, 120).unwrap();
        let (b2, _) = hub.open(0, 120).unwrap();
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
        let (a, _) = hub.open(0, 120).unwrap();
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
        let (c, _) = hub.open(0, 120).unwrap();
        let out = hub.handle_text(
            c,
            r#"{"event":"pusher:subscribe","data":{"channel":"cache-a"}}"#,
        );
        let t = texts(&out, c);
        assert_eq!(t[0]["event"], "pusher_internal:subscription_succeeded");
        assert_eq!(t[1]["data"], "2");
    }

    /// A three-node hub with one socket per node subscribed to `presence-x` (users `ua`,
    /// `ub`, `uc`) and to `news`.
    fn three() -> (Hub, [ConnId; 3]) {
        let mut hub = Hub::cluster(app(), 3);
        let mut conns = [0; 3];
        for (node, user) in ["ua", "ub", "uc"].into_iter().enumerate() {
            let (c, _) = hub.open(node, 120).unwrap();
            sub_presence(&mut hub, c, "presence-x", user);
            hub.handle_text(
                c,
                r#"{"event":"pusher:subscribe","data":{"channel":"news"}}"#,
            );
            conns[node] = c;
        }
        (hub, conns)
    }

    fn events(out: &[Delivery], to: ConnId) -> Vec<String> {
        texts(out, to)
            .iter()
            .map(|v| {
                format!(
                    "{} {}",
                    v["event"].as_str().unwrap(),
                    v["data"].as_str().unwrap_or("")
                )
            })
            .collect()
    }

    fn news(text: &str) -> Publish {
        Publish {
            name: "headline".into(),
            data: text.into(),
            channels: vec!["news".into()],
            exclude_socket: None,
        }
    }

    #[test]
    fn a_cluster_is_one_server_with_several_doors() {
        let mut hub = Hub::cluster(app(), 3);
        let (a, _) = hub.open(0, 120).unwrap();
        let (b, _) = hub.open(1, 120).unwrap();
        let (c, _) = hub.open(2, 120).unwrap();
        sub_presence(&mut hub, a, "presence-x", "ua");
        let out = sub_presence(&mut hub, b, "presence-x", "ub");
        assert_eq!(texts(&out, a)[0]["event"], "pusher_internal:member_added");
        let out = sub_presence(&mut hub, c, "presence-x", "uc");
        let ok = &texts(&out, c)[0];
        let pres: Value = serde_json::from_str(ok["data"].as_str().unwrap()).unwrap();
        assert_eq!(pres["presence"]["ids"], json!(["ua", "ub", "uc"]));
        assert_eq!(texts(&out, a).len(), 1);
        assert_eq!(texts(&out, b).len(), 1);
        for node in 0..3 {
            let out = hub.publish_via(node, &news("x")).unwrap();
            assert_eq!(out.len(), 0, "nobody is on news yet");
            assert_eq!(hub.member_ids_via(node, "presence-x"), ["ua", "ub", "uc"]);
            assert_eq!(hub.subscriber_count_via(node, "presence-x"), 3);
            assert_eq!(
                hub.occupied_via(node, "presence-"),
                [("presence-x".to_string(), 3)]
            );
        }
        // A member joining through one node is announced on every node; leaving likewise.
        let out = hub.join_simulated_via(1, "presence-x", "bot", json!({}));
        assert!([a, b, c].iter().all(|&s| texts(&out, s).len() == 1));
        let out = hub.leave_simulated("presence-x", "bot");
        assert!(
            [a, b, c]
                .iter()
                .all(|&s| texts(&out, s)[0]["event"] == "pusher_internal:member_removed")
        );
        // The same user on two nodes leaves when its last socket does.
        let (b2, _) = hub.open(1, 120).unwrap();
        assert!(
            sub_presence(&mut hub, b2, "presence-x", "ua").len() == 1,
            "only b2's own answer"
        );
        assert!(hub.close(a).is_empty());
        let out = hub.close(b2);
        assert_eq!(
            events(&out, c),
            [r#"pusher_internal:member_removed {"user_id":"ua"}"#]
        );
        // Client events cross nodes too.
        let out = hub.handle_text(
            b,
            r#"{"event":"client-hi","channel":"presence-x","data":{"n":1}}"#,
        );
        assert_eq!(events(&out, c), [r#"client-hi {"n":1}"#]);
        assert!(texts(&out, b).is_empty());
    }

    #[test]
    fn publishes_reach_every_node() {
        let (mut hub, [a, b, c]) = three();
        let out = hub.publish_via(0, &news("1")).unwrap();
        assert!([a, b, c].iter().all(|&s| events(&out, s) == ["headline 1"]));
    }

    #[test]
    fn a_killed_node_leaves_ghosts_on_the_others() {
        let (mut hub, [a, b, c]) = three();
        let dead = hub.kill(2);
        assert_eq!(dead, [c]);
        assert!(!hub.is_alive(2));
        assert!(hub.open(2, 120).is_none(), "refuses sockets");
        assert_eq!(hub.publish_via(2, &news("x")).unwrap_err().status, 503);
        // Nobody was told: uc stays on a's and b's rosters, a ghost ...
        assert_eq!(hub.roster(0, "presence-x"), ["ua", "ub", "uc"]);
        assert_eq!(hub.roster(1, "presence-x"), ["ua", "ub", "uc"]);
        // ... while the live nodes' APIs and new subscribers no longer see it.
        assert_eq!(hub.member_ids_via(0, "presence-x"), ["ua", "ub"]);
        assert_eq!(hub.member_ids("presence-x"), ["ua", "ub"]);
        let out = hub.publish_via(0, &news("2")).unwrap();
        assert_eq!(out.len(), 2);
        assert!(events(&out, a) == ["headline 2"] && events(&out, b) == ["headline 2"]);
        // A simulated member of the dead node goes with it, silently.
        let mut hub2 = Hub::cluster(app(), 2);
        let (x, _) = hub2.open(0, 120).unwrap();
        sub_presence(&mut hub2, x, "presence-x", "ux");
        hub2.join_simulated_via(1, "presence-x", "bot", json!({}));
        hub2.kill(1);
        assert_eq!(hub2.roster(0, "presence-x"), ["bot", "ux"]);
        assert!(hub2.leave_simulated("presence-x", "bot").is_empty());
        // restore: the ghost is removed, and the node is back, empty.
        let out = hub2.heal(&[]);
        assert_eq!(
            events(&out, x),
            [r#"pusher_internal:member_removed {"user_id":"bot"}"#]
        );
        assert!(hub2.is_alive(1) && hub2.conn_ids_on(1).is_empty());
    }

    #[test]
    fn a_partitioned_node_is_cut_off_both_ways() {
        let (mut hub, [a, b, c]) = three();
        hub.partition(2);
        let out = hub.publish_via(2, &news("from c")).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(events(&out, c), ["headline from c"]);
        let out = hub.publish_via(0, &news("from a")).unwrap();
        assert!(texts(&out, c).is_empty());
        assert_eq!(texts(&out, a).len() + texts(&out, b).len(), 2);
        let out = hub.relay_via(1, "presence-x", "client-x", "{}", Some("ub"));
        assert!(texts(&out, c).is_empty() && texts(&out, a).len() == 1);
        // Presence does not cross, either way.
        let out = hub.join_simulated_via(2, "presence-x", "cbot", json!({}));
        assert_eq!(out.iter().map(|d| d.to).collect::<Vec<_>>(), [c]);
        let out = hub.join_simulated_via(0, "presence-x", "abot", json!({}));
        assert!(texts(&out, c).is_empty() && texts(&out, b).len() == 1);
        let out = hub.close(b);
        assert!(texts(&out, c).is_empty(), "ub stays on c");
        assert_eq!(
            events(&out, a),
            [r#"pusher_internal:member_removed {"user_id":"ub"}"#]
        );
        assert_eq!(hub.roster(2, "presence-x"), ["cbot", "ua", "ub", "uc"]);
        assert_eq!(hub.roster(0, "presence-x"), ["abot", "ua", "uc"]);
        // The sides' APIs list what they can reach.
        assert_eq!(hub.member_ids_via(2, "presence-x"), ["cbot", "uc"]);
        assert_eq!(hub.member_ids_via(0, "presence-x"), ["abot", "ua"]);
        assert_eq!(hub.subscriber_count_via(2, "news"), 1);
        // restore re-syncs both sides.
        let out = hub.heal(&[]);
        let mut on_c = events(&out, c);
        on_c.sort();
        assert_eq!(
            on_c,
            [
                r#"pusher_internal:member_added {"user_id":"abot","user_info":{}}"#,
                r#"pusher_internal:member_removed {"user_id":"ub"}"#
            ]
        );
        assert_eq!(
            events(&out, a),
            [r#"pusher_internal:member_added {"user_id":"cbot","user_info":{}}"#]
        );
        for node in 0..3 {
            assert_eq!(hub.roster(node, "presence-x"), ["abot", "cbot", "ua", "uc"]);
        }
    }

    #[test]
    fn a_node_that_keeps_members_never_removes_them() {
        let (mut hub, [a, b, c]) = three();
        hub.keep_members(1);
        let out = hub.close(a);
        assert!(texts(&out, b).is_empty(), "b keeps ua");
        assert_eq!(
            events(&out, c),
            [r#"pusher_internal:member_removed {"user_id":"ua"}"#]
        );
        assert_eq!(hub.member_ids_via(1, "presence-x"), ["ua", "ub", "uc"]);
        assert_eq!(hub.member_ids_via(2, "presence-x"), ["ub", "uc"]);
        // Its own members still leave.
        let (b2, _) = hub.open(1, 120).unwrap();
        sub_presence(&mut hub, b2, "presence-x", "ub2");
        let out = hub.close(b2);
        assert_eq!(
            events(&out, b),
            [r#"pusher_internal:member_removed {"user_id":"ub2"}"#]
        );
        let out = hub.heal(&[]);
        assert_eq!(
            events(&out, b),
            [r#"pusher_internal:member_removed {"user_id":"ua"}"#]
        );
        assert!(texts(&out, c).is_empty());
    }

    #[test]
    fn one_node_answers_pings_and_closes_on_its_own() {
        let (mut hub, [a, b, _]) = three();
        hub.set_answer_pings(0, false);
        assert!(hub.handle_text(a, r#"{"event":"pusher:ping"}"#).is_empty());
        assert_eq!(
            texts(&hub.handle_text(b, r#"{"event":"pusher:ping"}"#), b)[0]["event"],
            "pusher:pong"
        );
        let out = hub.close_all_on(1, 4200, "x");
        assert_eq!(out.iter().map(|d| d.to).collect::<Vec<_>>(), [b]);
    }
}
