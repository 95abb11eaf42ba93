//! Presence rosters and channel counts compared across nodes, sans-IO.
//!
//! Every node's socket holds its own roster of each presence channel (its `members`
//! record, then `member_added` / `member_removed`), and every node's HTTP API answers its
//! own count of each occupied channel. In a healthy cluster they agree, give or take the
//! moment a join or a leave takes to cross the bus. [`Rosters`] keeps each node's roster
//! and latest counts and reports every difference as a [`Divergence`] with the time it
//! began, and once more, `resolved`, when it ends.
//!
//! A member difference is a *ghost* when it is not only late but wrong, and has lasted:
//! the member left on a node that listed it (that node sent `member_removed`) yet others
//! still list it, or it is the watcher's own member on a node that has gone (its socket
//! closed, say after `kill -9`) yet others still list it. Servers debounce presence by a
//! few seconds, so it takes `ghost_after` of that before it counts. Seen with sockudo: after
//! `kill -9` of node c, nodes a and b kept c's user with no `member_removed`, for as long
//! as anyone watched.
//!
//! A node's socket roster is also compared with the user list that node's own HTTP API
//! answers for the channel (`api_members`). Seen with sockudo: after `kill -9` of node b,
//! node a's API soon listed only node a's users while node a's socket kept node b's, with no
//! `member_removed`: the server forgot the member, the socket never heard. Each comparison
//! is made when an answer comes (the API is asked now and then, the socket is told at
//! once), so a difference begins only with an answer; a change on the socket can only end
//! one. A member the socket lists and the API does not is a ghost once answers more than
//! `ghost_after` apart have all left it out; one the API lists and the socket does not is
//! never a ghost (the socket may be late). The nodes that disagree about a member are merged
//! into one difference.
//!
//! Bounded: [`MAX_CHANNELS`] presence channels, [`MAX_MEMBERS`] members per roster and per
//! API answer, [`MAX_COUNT_CHANNELS`] channels per count answer and [`MAX_DIVERGENCES`]
//! member differences at once of each kind; what did not fit is counted in [`Dropped`].

use super::record::{Divergence, DivergenceKind};
use chanwatch_core::record::{Member, NodeName, Record, State};
use indexmap::{IndexMap, IndexSet};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant, SystemTime};

/// Presence channels compared at once; later ones are dropped (counted).
pub const MAX_CHANNELS: usize = 64;
/// Members kept per node's roster of one channel; later ones are dropped (counted). An API
/// answer with more users, or a roster this full, is not compared with the other.
pub const MAX_MEMBERS: usize = 10_000;
/// Channels kept from one node's count answer (the occupancy table's cap too).
pub const MAX_COUNT_CHANNELS: usize = 10_000;
/// Member differences followed at once, over all channels (and as many differences between
/// sockets and APIs): one node missing a whole large roster would otherwise be thousands of
/// records every report.
pub const MAX_DIVERGENCES: usize = 1_024;
/// Count differences followed at once.
pub const MAX_COUNT_DIVERGENCES: usize = 256;
/// Resolved differences waiting for [`Rosters::take_resolved`]; the oldest go first.
const MAX_RESOLVED: usize = 1_024;

/// One channel of a node's count answer (`GET /apps/<id>/channels` with `info`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelCount<'a> {
    pub name: &'a str,
    pub subscription_count: Option<u64>,
    pub user_count: Option<u64>,
}

/// What did not fit in the caps, since the start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dropped {
    /// `members` records of presence channels past [`MAX_CHANNELS`].
    pub channels: u64,
    /// Members past [`MAX_MEMBERS`] in one node's roster.
    pub members: u64,
    /// Channels past [`MAX_COUNT_CHANNELS`] in one count answer.
    pub count_channels: u64,
    /// API user answers not compared with the socket's roster: past [`MAX_MEMBERS`], or
    /// the roster was full.
    pub api_answers: u64,
    /// Times a new difference was found while [`MAX_DIVERGENCES`] (or
    /// [`MAX_COUNT_DIVERGENCES`]) were already followed.
    pub divergences: u64,
}

/// One member's difference between the nodes, for the dashboard's rosters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberState {
    /// How long the difference has lasted.
    pub age: Duration,
    /// There is evidence it is wrong, not late (see the module's comment).
    pub candidate: bool,
    /// A candidate for longer than the ghost threshold.
    pub ghost: bool,
}

/// One node's roster of one channel.
#[derive(Debug, Default)]
struct Roster {
    members: IndexSet<String>,
    /// Members this node listed and then removed, with when: the evidence that a member
    /// others still list has left. Kept only while the member differs between nodes.
    removed: HashMap<String, Instant>,
}

/// A member listed by some nodes and not by others.
#[derive(Debug)]
struct MemberDivergence {
    since: Instant,
    since_wall: SystemTime,
    listed_on: Vec<usize>,
    missing_on: Vec<usize>,
    /// The earliest evidence that the member is not there (a removal on a node missing
    /// it, or its node going): ghost once older than the threshold.
    evidence: Option<Instant>,
    /// It was a ghost at some point (kept when the evidence goes before the difference
    /// ends, so the resolved record still says so).
    was_ghost: bool,
}

impl MemberDivergence {
    fn ghost(&self, now: Instant, ghost_after: Duration) -> bool {
        self.was_ghost
            || self
                .evidence
                .is_some_and(|e| now.saturating_duration_since(e) > ghost_after)
    }
}

/// A member that some nodes' sockets and those nodes' own HTTP APIs disagree on.
#[derive(Debug)]
struct ApiDivergence {
    since: Instant,
    since_wall: SystemTime,
    /// The nodes that disagree, in node order, one side each.
    sides: Vec<ApiSide>,
    /// It was a ghost at some point (kept when a side goes before the difference ends).
    was_ghost: bool,
}

/// How one node's socket and its HTTP API disagree about a member.
#[derive(Debug, Clone, Copy)]
struct ApiSide {
    node: usize,
    /// The socket lists the member and the API does not; else the API lists it and the
    /// socket does not.
    socket_only: bool,
    /// The first answer that showed it.
    first: Instant,
    /// The latest answer that still showed it.
    latest: Instant,
}

impl ApiDivergence {
    /// A socket lists the member that its API's answers have left out for longer than the
    /// threshold: the server forgot it and the socket never heard.
    fn ghost(&self, ghost_after: Duration) -> bool {
        self.was_ghost
            || self
                .sides
                .iter()
                .any(|s| s.socket_only && s.latest.saturating_duration_since(s.first) > ghost_after)
    }
}

/// One presence channel as every node sees it.
#[derive(Debug)]
struct Channel {
    /// Per node; `None`: the node has no roster (not subscribed, or not connected).
    rosters: Vec<Option<Roster>>,
    /// Per node: its own member (`me`), this watcher's connection through that node.
    me: Vec<Option<String>>,
    /// Per node: when its roster ended (unsubscribed, or the node went) while `me` was
    /// in it. Others should drop that member after their debounce.
    departed: Vec<Option<Instant>>,
    divergences: IndexMap<String, MemberDivergence>,
    /// Members sockets and their own nodes' APIs disagree on.
    api: IndexMap<String, ApiDivergence>,
}

impl Channel {
    fn new(n: usize) -> Channel {
        Channel {
            rosters: (0..n).map(|_| None).collect(),
            me: vec![None; n],
            departed: vec![None; n],
            divergences: IndexMap::new(),
            api: IndexMap::new(),
        }
    }

    fn has_rosters(&self) -> bool {
        self.rosters.iter().any(Option::is_some)
    }

    /// Every member some node lists or is (its own `me`), or that differs.
    fn names(&self) -> Vec<String> {
        let mut seen: HashSet<&str> = HashSet::new();
        let rosters = self.rosters.iter().flatten();
        let listed = rosters.flat_map(|r| r.members.iter());
        let names = listed
            .chain(self.me.iter().flatten())
            .chain(self.divergences.keys());
        names
            .filter(|name| seen.insert(name.as_str()))
            .cloned()
            .collect()
    }
}

/// A count differing between the nodes' APIs.
#[derive(Debug)]
struct CountDivergence {
    since: Instant,
    since_wall: SystemTime,
    counts: Vec<(usize, u64)>,
}

/// One node's latest count answer: channel → (`subscription_count`, `user_count`).
type Counts = HashMap<String, (Option<u64>, Option<u64>)>;

/// What the comparisons share: where ended differences go, and what did not fit.
#[derive(Debug, Default)]
struct Ledger {
    resolved: VecDeque<Divergence>,
    /// Member differences followed, over all channels.
    followed: usize,
    /// Differences between sockets and APIs followed, over all channels.
    api_followed: usize,
    dropped: Dropped,
}

impl Ledger {
    fn resolve(&mut self, divergence: Divergence) {
        if self.resolved.len() == MAX_RESOLVED {
            self.resolved.pop_front();
        }
        self.resolved.push_back(divergence);
    }
}

/// Every node's presence rosters and counts, and how they differ.
#[derive(Debug)]
pub struct Rosters {
    nodes: Vec<NodeName>,
    ghost_after: Duration,
    connected: Vec<bool>,
    channels: IndexMap<String, Channel>,
    /// Per node: its latest count answer; `None` before one, or when its API did not
    /// answer the latest poll (that node is left out of count comparisons).
    counts: Vec<Option<Counts>>,
    count_divergences: IndexMap<(String, DivergenceKind), CountDivergence>,
    ledger: Ledger,
}

impl Rosters {
    /// Rosters of `nodes` (indices `0..n` in this order); a member difference with evidence
    /// against it becomes a ghost after `ghost_after`.
    pub fn new(nodes: &[NodeName], ghost_after: Duration) -> Rosters {
        Rosters {
            nodes: nodes.to_vec(),
            ghost_after,
            connected: vec![false; nodes.len()],
            channels: IndexMap::new(),
            counts: vec![None; nodes.len()],
            count_divergences: IndexMap::new(),
            ledger: Ledger::default(),
        }
    }

    pub fn nodes(&self) -> &[NodeName] {
        &self.nodes
    }

    /// The index of the node named `name` (a record's `node`).
    pub fn node_index(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|node| &**node == name)
    }

    /// One of node `node`'s client records, at `now` (`wall` for the records).
    pub fn on_record(&mut self, node: usize, record: &Record, now: Instant, wall: SystemTime) {
        if node >= self.nodes.len() {
            return;
        }
        match record {
            Record::State { current, .. } => {
                let connected = *current == State::Connected;
                self.connected[node] = connected;
                if !connected {
                    // Its rosters are unknown from now on; a reconnect brings new `members`.
                    let channels: Vec<usize> = (0..self.channels.len())
                        .filter(|&c| self.channels[c].rosters[node].is_some())
                        .collect();
                    for c in channels.into_iter().rev() {
                        self.drop_roster(c, node, now, wall);
                    }
                }
            }
            Record::Members {
                channel,
                me,
                members,
                ..
            } => self.on_members(node, channel, me.as_ref(), members, now, wall),
            Record::MemberAdded { channel, id, .. } => {
                let Some(c) = self.channels.get_index_of(channel.as_str()) else {
                    return;
                };
                let Some(roster) = self.channels[c].rosters[node].as_mut() else {
                    return;
                };
                if roster.members.len() >= MAX_MEMBERS && !roster.members.contains(id) {
                    self.ledger.dropped.members += 1;
                    return;
                }
                roster.removed.remove(id);
                roster.members.insert(id.clone());
                self.evaluate(c, id, now, wall);
                self.settle_api(c, node, Some(id), false, now);
            }
            Record::MemberRemoved { channel, id } => {
                let Some(c) = self.channels.get_index_of(channel.as_str()) else {
                    return;
                };
                let Some(roster) = self.channels[c].rosters[node].as_mut() else {
                    return;
                };
                // shift_remove: the dashboard draws rosters in the order members came.
                if roster.members.shift_remove(id.as_str()) {
                    roster.removed.insert(id.clone(), now);
                }
                self.evaluate(c, id, now, wall);
                self.settle_api(c, node, Some(id), false, now);
            }
            Record::Unsubscribed { channel } | Record::SubscriptionError { channel, .. } => {
                if let Some(c) = self.channels.get_index_of(channel.as_str())
                    && self.channels[c].rosters[node].is_some()
                {
                    self.drop_roster(c, node, now, wall);
                }
            }
            _ => {}
        }
    }

    /// One poll of node `node`'s HTTP API: the occupied channels with their counts, or
    /// `None` when the API did not answer (the node is then left out of the comparison
    /// until it answers again).
    pub fn on_counts(
        &mut self,
        node: usize,
        counts: Option<&[ChannelCount]>,
        now: Instant,
        wall: SystemTime,
    ) {
        if node >= self.nodes.len() {
            return;
        }
        self.counts[node] = counts.map(|counts| {
            if counts.len() > MAX_COUNT_CHANNELS {
                self.ledger.dropped.count_channels += (counts.len() - MAX_COUNT_CHANNELS) as u64;
            }
            counts
                .iter()
                .take(MAX_COUNT_CHANNELS)
                .map(|c| (c.name.to_string(), (c.subscription_count, c.user_count)))
                .collect()
        });
        self.compare_counts(now, wall);
    }

    /// One answer of node `node`'s HTTP API with the users of presence channel `channel`,
    /// compared with the node's socket roster of it; `None` when the API did not answer
    /// (the node is then left out of that channel's comparison until it answers again). A
    /// node with no roster of the channel is left out too.
    pub fn on_api_members(
        &mut self,
        node: usize,
        channel: &str,
        users: Option<&[String]>,
        now: Instant,
        wall: SystemTime,
    ) {
        if node >= self.nodes.len() {
            return;
        }
        let Some(c) = self.channels.get_index_of(channel) else {
            return;
        };
        let (Some(users), Some(roster)) = (users, self.channels[c].rosters[node].as_ref()) else {
            self.settle_api(c, node, None, true, now);
            return;
        };
        if users.len() > MAX_MEMBERS || roster.members.len() >= MAX_MEMBERS {
            self.ledger.dropped.api_answers += 1;
            self.settle_api(c, node, None, true, now);
            return;
        }
        let ghost_after = self.ghost_after;
        let (channel, ch) = self.channels.get_index_mut(c).expect("a channel index");
        let roster = ch.rosters[node].as_ref().expect("checked above");
        let answer: HashSet<&str> = users.iter().map(String::as_str).collect();
        // How each member differs on this node now (`true`: only the socket lists it), in
        // the roster's order then the answer's, so that new differences come in that order.
        let socket_only = roster.members.iter().map(String::as_str);
        let socket_only = socket_only
            .filter(|m| !answer.contains(m))
            .map(|m| (m, true));
        let api_only = users.iter().map(String::as_str);
        let api_only = api_only.filter(|m| !roster.members.contains(*m));
        let ordered: Vec<(&str, bool)> = socket_only.chain(api_only.map(|m| (m, false))).collect();
        let mut current: HashMap<&str, bool> = ordered.iter().copied().collect();

        let mut ended = Vec::new();
        for (member, d) in ch.api.iter_mut() {
            let Some(at) = d.sides.iter().position(|s| s.node == node) else {
                continue;
            };
            match current.remove(member.as_str()) {
                Some(way) if way == d.sides[at].socket_only => d.sides[at].latest = now,
                Some(way) => {
                    d.was_ghost = d.ghost(ghost_after);
                    d.sides[at] = ApiSide {
                        node,
                        socket_only: way,
                        first: now,
                        latest: now,
                    };
                }
                None if d.sides.len() == 1 => ended.push(member.clone()),
                None => {
                    d.was_ghost = d.ghost(ghost_after);
                    d.sides.remove(at);
                }
            }
        }
        for (member, way) in ordered {
            if current.remove(member).is_none() {
                continue;
            }
            let side = ApiSide {
                node,
                socket_only: way,
                first: now,
                latest: now,
            };
            match ch.api.get_mut(member) {
                Some(d) => {
                    let at = d.sides.partition_point(|s| s.node < node);
                    d.sides.insert(at, side);
                }
                None if self.ledger.api_followed >= MAX_DIVERGENCES => {
                    self.ledger.dropped.divergences += 1;
                }
                None => {
                    self.ledger.api_followed += 1;
                    let d = ApiDivergence {
                        since: now,
                        since_wall: wall,
                        sides: vec![side],
                        was_ghost: false,
                    };
                    ch.api.insert(member.to_string(), d);
                }
            }
        }
        for member in ended {
            let d = ch.api.shift_remove(&member).expect("listed");
            self.ledger.api_followed -= 1;
            let record = api_record(&self.nodes, channel, &member, &d, now, ghost_after);
            self.ledger.resolve(Divergence {
                resolved: true,
                ..record
            });
        }
    }

    /// Every current difference, for the periodic `divergence` records: by channel, its
    /// member differences then those between sockets and APIs; then count differences.
    pub fn report(&self, now: Instant) -> Vec<Divergence> {
        let ghost_after = self.ghost_after;
        let members = self.channels.iter().flat_map(|(channel, c)| {
            let members = c
                .divergences
                .iter()
                .map(move |(member, d)| self.member_record(channel, member, d, now, false));
            let api = c.api.iter().map(move |(member, d)| {
                api_record(&self.nodes, channel, member, d, now, ghost_after)
            });
            members.chain(api)
        });
        let counts = self
            .count_divergences
            .iter()
            .map(|((channel, kind), d)| self.count_record(channel, *kind, d, now, false));
        members.chain(counts).collect()
    }

    /// Each difference that ended since the last call, once, with `resolved` (and
    /// `for_ms`, `ghost` as they were when it ended).
    pub fn take_resolved(&mut self) -> Vec<Divergence> {
        self.ledger.resolved.drain(..).collect()
    }

    /// The presence channels compared, in the order they came.
    pub fn channels(&self) -> impl Iterator<Item = &str> {
        self.channels.keys().map(String::as_str)
    }

    /// Node `node`'s roster of `channel`, in the order members came; `None` when the node
    /// has none (not subscribed, or not connected).
    pub fn roster(&self, channel: &str, node: usize) -> Option<&IndexSet<String>> {
        let roster = self.channels.get(channel)?.rosters.get(node)?.as_ref()?;
        Some(&roster.members)
    }

    /// Node `node`'s own member in `channel` (this watcher's connection through it), also
    /// after the node went.
    pub fn me(&self, channel: &str, node: usize) -> Option<&str> {
        self.channels.get(channel)?.me.get(node)?.as_deref()
    }

    /// Whether node `node`'s socket is connected (its latest state record).
    pub fn is_connected(&self, node: usize) -> bool {
        self.connected.get(node).copied().unwrap_or(false)
    }

    /// How `member` of `channel` differs between the nodes, if it does.
    pub fn member_state(&self, channel: &str, member: &str, now: Instant) -> Option<MemberState> {
        let d = self.channels.get(channel)?.divergences.get(member)?;
        Some(MemberState {
            age: now.saturating_duration_since(d.since),
            candidate: d.evidence.is_some(),
            ghost: d.ghost(now, self.ghost_after),
        })
    }

    pub fn dropped(&self) -> Dropped {
        self.ledger.dropped
    }

    fn on_members(
        &mut self,
        node: usize,
        channel: &str,
        me: Option<&Member>,
        members: &[Member],
        now: Instant,
        wall: SystemTime,
    ) {
        let c = match self.channels.get_index_of(channel) {
            Some(c) => c,
            None if self.channels.len() >= MAX_CHANNELS => {
                self.ledger.dropped.channels += 1;
                return;
            }
            None => {
                let n = self.nodes.len();
                self.channels
                    .insert_full(channel.to_string(), Channel::new(n))
                    .0
            }
        };
        if members.len() > MAX_MEMBERS {
            self.ledger.dropped.members += (members.len() - MAX_MEMBERS) as u64;
        }
        let roster = Roster {
            members: members
                .iter()
                .take(MAX_MEMBERS)
                .map(|m| m.id.clone())
                .collect(),
            removed: HashMap::new(),
        };
        let ch = &mut self.channels[c];
        ch.rosters[node] = Some(roster);
        ch.me[node] = me.map(|m| m.id.clone());
        ch.departed[node] = None;
        self.evaluate_channel(c, now, wall);
        self.settle_api(c, node, None, false, now);
    }

    /// Node `node` no longer has a roster of channel `c`: its own member departed now.
    fn drop_roster(&mut self, c: usize, node: usize, now: Instant, wall: SystemTime) {
        let ch = &mut self.channels[c];
        ch.rosters[node] = None;
        ch.departed[node] = ch.me[node].as_ref().map(|_| now);
        // Its socket says nothing any more: it is left out of the API comparisons.
        self.settle_api(c, node, None, true, now);
        self.evaluate_channel(c, now, wall);
    }

    /// Node `node`'s sides of channel `c`'s differences between sockets and APIs (only
    /// `member`'s, when given) brought in line with its roster: a side its socket no
    /// longer bears out ends (a change on the socket never begins one: that waits for the
    /// next answer); with `leave_out`, or without a roster, every side of the node ends.
    /// A difference with no side left has ended.
    fn settle_api(
        &mut self,
        c: usize,
        node: usize,
        member: Option<&str>,
        leave_out: bool,
        now: Instant,
    ) {
        let ghost_after = self.ghost_after;
        let (channel, ch) = self.channels.get_index_mut(c).expect("a channel index");
        let roster = if leave_out {
            None
        } else {
            ch.rosters[node].as_ref()
        };
        let mut ended = Vec::new();
        let mut settle = |name: &str, d: &mut ApiDivergence| {
            let Some(at) = d.sides.iter().position(|s| s.node == node) else {
                return;
            };
            let listed = roster.map(|r| r.members.contains(name));
            if listed == Some(d.sides[at].socket_only) {
                return;
            }
            if d.sides.len() == 1 {
                ended.push(name.to_string());
            } else {
                d.was_ghost = d.ghost(ghost_after);
                d.sides.remove(at);
            }
        };
        match member {
            Some(name) => {
                if let Some(d) = ch.api.get_mut(name) {
                    settle(name, d);
                }
            }
            None => {
                for (name, d) in ch.api.iter_mut() {
                    settle(name, d);
                }
            }
        }
        for name in ended {
            let d = ch.api.shift_remove(&name).expect("listed");
            self.ledger.api_followed -= 1;
            let record = api_record(&self.nodes, channel, &name, &d, now, ghost_after);
            self.ledger.resolve(Divergence {
                resolved: true,
                ..record
            });
        }
    }

    /// Every member of channel `c` compared again; the channel is forgotten once no node
    /// has a roster of it (nothing to compare, and every difference has ended).
    fn evaluate_channel(&mut self, c: usize, now: Instant, wall: SystemTime) {
        for name in self.channels[c].names() {
            self.evaluate(c, &name, now, wall);
        }
        if !self.channels[c].has_rosters() {
            // With no roster, no socket has a side left to compare; said in case.
            for node in 0..self.nodes.len() {
                self.settle_api(c, node, None, true, now);
            }
            self.channels.shift_remove_index(c);
        }
    }

    /// Member `member` of channel `c` compared across the nodes: a difference begins,
    /// changes or ends.
    fn evaluate(&mut self, c: usize, member: &str, now: Instant, wall: SystemTime) {
        let ghost_after = self.ghost_after;
        let (channel, ch) = self.channels.get_index_mut(c).expect("a channel index");
        let mut listed = Vec::new();
        let mut missing = Vec::new();
        let mut evidence: Option<Instant> = None;
        let mut earliest = |t: Instant| evidence = Some(evidence.map_or(t, |e| e.min(t)));
        // The member is this watcher's own through a node that has a roster: it is there.
        let mut present_me = false;
        for (i, roster) in ch.rosters.iter().enumerate() {
            let Some(roster) = roster else { continue };
            if roster.members.contains(member) {
                listed.push(i);
                present_me |= ch.me[i].as_deref() == Some(member);
            } else {
                missing.push(i);
                if let Some(&t) = roster.removed.get(member) {
                    earliest(t);
                }
            }
        }
        if !present_me {
            for i in 0..ch.rosters.len() {
                if ch.rosters[i].is_none()
                    && ch.me[i].as_deref() == Some(member)
                    && let Some(t) = ch.departed[i]
                {
                    missing.push(i);
                    earliest(t);
                }
            }
            missing.sort_unstable();
        }

        let differs = !listed.is_empty() && !missing.is_empty();
        if !differs {
            if let Some(d) = ch.divergences.shift_remove(member) {
                self.ledger.followed -= 1;
                let record = member_record(&self.nodes, channel, member, &d, now, ghost_after);
                self.ledger.resolve(Divergence {
                    resolved: true,
                    ..record
                });
            }
            // Removal marks are evidence only while the member differs: a stale one would
            // make a later join's ordinary lag look like a ghost.
            for roster in ch.rosters.iter_mut().flatten() {
                roster.removed.remove(member);
            }
            // Listed by no node that has a roster: the departed member has gone for good.
            if listed.is_empty() && ch.has_rosters() {
                for i in 0..ch.me.len() {
                    if ch.rosters[i].is_none() && ch.me[i].as_deref() == Some(member) {
                        ch.me[i] = None;
                        ch.departed[i] = None;
                    }
                }
            }
            return;
        }

        match ch.divergences.get_mut(member) {
            Some(d) => {
                d.was_ghost = d.ghost(now, ghost_after);
                d.listed_on = listed;
                d.missing_on = missing;
                d.evidence = evidence;
            }
            None if self.ledger.followed >= MAX_DIVERGENCES => {
                self.ledger.dropped.divergences += 1;
            }
            None => {
                self.ledger.followed += 1;
                ch.divergences.insert(
                    member.to_string(),
                    MemberDivergence {
                        since: now,
                        since_wall: wall,
                        listed_on: listed,
                        missing_on: missing,
                        evidence,
                        was_ghost: false,
                    },
                );
            }
        }
    }

    /// Every channel's counts compared between the nodes whose API answered its latest
    /// poll. A channel a node does not list counts 0 there (an unoccupied channel is not
    /// listed); a node that lists it without that count is left out of that count.
    fn compare_counts(&mut self, now: Instant, wall: SystemTime) {
        let answered: Vec<(usize, &Counts)> = self
            .counts
            .iter()
            .enumerate()
            .filter_map(|(i, c)| Some((i, c.as_ref()?)))
            .collect();
        let mut current: IndexMap<(String, DivergenceKind), Vec<(usize, u64)>> = IndexMap::new();
        if answered.len() >= 2 {
            // In name order, so that the records come in the same order every time.
            let channels: BTreeSet<&String> = answered
                .iter()
                .flat_map(|(_, counts)| counts.keys())
                .collect();
            for channel in channels {
                for kind in [DivergenceKind::SubscriptionCount, DivergenceKind::UserCount] {
                    let values: Vec<(usize, u64)> = answered
                        .iter()
                        .filter_map(|&(i, counts)| Some((i, count_of(counts, channel, kind)?)))
                        .collect();
                    // Differing values include one that is not 0, so from a node that
                    // lists the channel: zeros alone (nobody lists it) never differ.
                    if values.windows(2).any(|w| w[0].1 != w[1].1) {
                        current.insert((channel.clone(), kind), values);
                    }
                }
            }
        }

        // Ended: no longer different, or no longer comparable.
        let ended: Vec<(String, DivergenceKind)> = self
            .count_divergences
            .keys()
            .filter(|key| !current.contains_key(*key))
            .cloned()
            .collect();
        for key in ended {
            let d = self.count_divergences.shift_remove(&key).expect("listed");
            let record = self.count_record(&key.0, key.1, &d, now, true);
            self.ledger.resolve(record);
        }
        for (key, values) in current {
            let full = self.count_divergences.len() >= MAX_COUNT_DIVERGENCES;
            match self.count_divergences.get_mut(&key) {
                Some(d) => d.counts = values,
                None if full => {
                    self.ledger.dropped.divergences += 1;
                }
                None => {
                    self.count_divergences.insert(
                        key,
                        CountDivergence {
                            since: now,
                            since_wall: wall,
                            counts: values,
                        },
                    );
                }
            }
        }
    }

    fn member_record(
        &self,
        channel: &str,
        member: &str,
        d: &MemberDivergence,
        now: Instant,
        resolved: bool,
    ) -> Divergence {
        Divergence {
            resolved,
            ..member_record(&self.nodes, channel, member, d, now, self.ghost_after)
        }
    }

    fn count_record(
        &self,
        channel: &str,
        kind: DivergenceKind,
        d: &CountDivergence,
        now: Instant,
        resolved: bool,
    ) -> Divergence {
        Divergence {
            channel: channel.to_string(),
            kind,
            member: None,
            listed_on: Vec::new(),
            missing_on: Vec::new(),
            counts: d
                .counts
                .iter()
                .map(|&(i, count)| (self.nodes[i].to_string(), count))
                .collect::<BTreeMap<_, _>>(),
            since: d.since_wall,
            for_ms: millis(now.saturating_duration_since(d.since)),
            ghost: false,
            resolved,
        }
    }
}

/// Node's count of `kind` for `channel` in its answer: 0 when it does not list the channel
/// (an unoccupied channel is not listed), `None` when it lists it without that count.
fn count_of(counts: &Counts, channel: &str, kind: DivergenceKind) -> Option<u64> {
    let Some(&(subscriptions, users)) = counts.get(channel) else {
        return Some(0);
    };
    match kind {
        DivergenceKind::SubscriptionCount => subscriptions,
        DivergenceKind::UserCount => users,
        DivergenceKind::Members | DivergenceKind::ApiMembers => None,
    }
}

/// A member difference as a record (not resolved); a free function so that it can be
/// called while a channel is borrowed mutably.
fn member_record(
    nodes: &[NodeName],
    channel: &str,
    member: &str,
    d: &MemberDivergence,
    now: Instant,
    ghost_after: Duration,
) -> Divergence {
    let named = |list: &[usize]| list.iter().map(|&i| nodes[i].to_string()).collect();
    Divergence {
        channel: channel.to_string(),
        kind: DivergenceKind::Members,
        member: Some(member.to_string()),
        listed_on: named(&d.listed_on),
        missing_on: named(&d.missing_on),
        counts: BTreeMap::new(),
        since: d.since_wall,
        for_ms: millis(now.saturating_duration_since(d.since)),
        ghost: d.ghost(now, ghost_after),
        resolved: false,
    }
}

/// A difference between sockets and their APIs as a record (not resolved): the nodes whose
/// socket lists the member are `listed_on`, those whose API lists it `missing_on`.
fn api_record(
    nodes: &[NodeName],
    channel: &str,
    member: &str,
    d: &ApiDivergence,
    now: Instant,
    ghost_after: Duration,
) -> Divergence {
    let named = |socket_only: bool| {
        d.sides
            .iter()
            .filter(|s| s.socket_only == socket_only)
            .map(|s| nodes[s.node].to_string())
            .collect()
    };
    Divergence {
        channel: channel.to_string(),
        kind: DivergenceKind::ApiMembers,
        member: Some(member.to_string()),
        listed_on: named(true),
        missing_on: named(false),
        counts: BTreeMap::new(),
        since: d.since_wall,
        for_ms: millis(now.saturating_duration_since(d.since)),
        ghost: d.ghost(ghost_after),
        resolved: false,
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
#[path = "presence_tests.rs"]
mod tests;
