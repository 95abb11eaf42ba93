//! Several nodes watched at once (`--node`, more than one): a [`Model`] per node. The shown
//! node's model is the app's own (`App::model`), so every pane, screen and key works on it
//! as on a single connection; the others wait here with the view state they had (channel
//! selection, members and timeline scroll). Selecting a node swaps its model in and the
//! shown one out; the event log is one for every node and stays with the shown model
//! ([`Model::hand_log_to`]), so the same event arriving at each node is seen once per node,
//! under one set of caps.

use super::{App, NoticeLevel};
use crate::session_record::Stamped;
use crate::ui::model::{Limits, Model, News};
use chanwatch_core::record::NodeName;
use std::time::{Instant, SystemTime};

/// The most nodes one dashboard keeps; records of further nodes (named in no header) are
/// counted and dropped.
pub const MAX_NODES: usize = 32;

/// What the user had selected and scrolled on a node, kept while another node is shown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeView {
    pub channel_sel: usize,
    pub members_scroll: usize,
    pub timeline_scroll: usize,
}

/// A node not shown: its model (whose log is an empty stand-in) and its view.
#[derive(Debug)]
struct Parked {
    model: Model,
    view: NodeView,
}

#[derive(Debug)]
pub struct Nodes {
    names: Vec<NodeName>,
    selected: usize,
    /// Node `i`'s model while another is shown; `None` at the shown node's index.
    parked: Vec<Option<Parked>>,
    /// For models of nodes that first appear in a record.
    limits: Limits,
    /// Records of nodes past [`MAX_NODES`], dropped.
    dropped: u64,
}

impl Nodes {
    /// The nodes in order, the first one shown; `None` for fewer than two (one connection,
    /// whose records carry no node, is the app's model alone).
    pub fn new(names: &[NodeName], limits: Limits, now: Instant) -> Option<Nodes> {
        if names.len() < 2 {
            return None;
        }
        let mut nodes = Nodes {
            names: vec![names[0].clone()],
            selected: 0,
            // The first node is shown: its model is the app's own.
            parked: vec![None],
            limits,
            dropped: 0,
        };
        for name in names.iter().skip(1).take(MAX_NODES - 1) {
            nodes.add(name.clone(), now);
        }
        Some(nodes)
    }

    fn add(&mut self, name: NodeName, now: Instant) -> usize {
        // A parked model's log is a stand-in: the shown model holds the one log.
        let limits = Limits {
            log_capacity: 1,
            log_bytes: 0,
            ..self.limits
        };
        self.names.push(name);
        self.parked.push(Some(Parked {
            model: Model::new(limits, now),
            view: NodeView::default(),
        }));
        self.names.len() - 1
    }

    /// The node called `name`, added when it is new and there is room.
    fn index(&mut self, name: &str, now: Instant) -> Option<usize> {
        if let Some(i) = self.names.iter().position(|n| **n == *name) {
            return Some(i);
        }
        if self.names.len() >= MAX_NODES {
            self.dropped += 1;
            return None;
        }
        Some(self.add(NodeName::from(name), now))
    }

    pub fn names(&self) -> &[NodeName] {
        &self.names
    }

    pub fn selected(&self) -> usize {
        self.selected
    }

    /// Records dropped because their node was past [`MAX_NODES`].
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    fn parked(&self, i: usize) -> Option<&Model> {
        self.parked.get(i)?.as_ref().map(|p| &p.model)
    }
}

/// Where a record goes.
enum Route {
    /// The shown model, as with one connection.
    Shown,
    /// A node that is not shown.
    Parked(usize),
    /// Nowhere: its node is past [`MAX_NODES`].
    Dropped,
}

impl App {
    /// The nodes watched, in order; empty for one connection.
    pub fn node_names(&self) -> &[NodeName] {
        self.nodes.as_ref().map_or(&[], Nodes::names)
    }

    /// Whether several nodes are watched.
    pub fn is_cluster(&self) -> bool {
        self.nodes.is_some()
    }

    /// `command` as the session should get it: with several nodes, what acts on one
    /// connection or through one HTTP API (publish, the listings, a client event, connect
    /// and disconnect, a fault on a connection) goes to the node the panes show;
    /// subscriptions, sign-in, the occupancy poll, quitting and the node faults, which
    /// name their node, stay for every node.
    pub fn addressed(&self, command: crate::session::Command) -> crate::session::Command {
        use crate::session::Command;
        use chanwatch_core::connection::Command as C;
        let Some(node) = self.selected_node().and_then(|i| self.node_names().get(i)) else {
            return command;
        };
        let one_node = match &command {
            Command::Publish { .. } | Command::ListChannels { .. } | Command::ListUsers { .. } => {
                true
            }
            Command::Connection(C::Trigger { .. } | C::Connect | C::Disconnect) => true,
            // `restore` and the node faults act on the cluster, not on one connection.
            Command::Fault(kind) => !kind.is_cluster(),
            _ => false,
        };
        if one_node {
            command.on_node(node)
        } else {
            command
        }
    }

    /// The index of the node the panes show.
    pub fn selected_node(&self) -> Option<usize> {
        self.nodes.as_ref().map(Nodes::selected)
    }

    /// Node `i`'s model: the app's own for the shown node.
    pub fn node_model(&self, i: usize) -> Option<&Model> {
        let nodes = self.nodes.as_ref()?;
        if i == nodes.selected {
            Some(&self.model)
        } else {
            nodes.parked(i)
        }
    }

    /// Every node with its model, in order.
    pub fn node_models(&self) -> impl Iterator<Item = (&NodeName, &Model)> {
        self.node_names()
            .iter()
            .enumerate()
            .filter_map(|(i, name)| self.node_model(i).map(|m| (name, m)))
    }

    /// Show node `i` in the panes: its model and its view swap in, the shown node's go
    /// out, the log stays.
    pub(crate) fn select_node(&mut self, i: usize) {
        let Some(nodes) = self.nodes.as_mut() else {
            return;
        };
        if i == nodes.selected || i >= nodes.names.len() {
            return;
        }
        let Some(mut incoming) = nodes.parked[i].take() else {
            return;
        };
        self.model.hand_log_to(&mut incoming.model);
        let outgoing = Parked {
            model: std::mem::replace(&mut self.model, incoming.model),
            view: NodeView {
                channel_sel: self.channel_sel,
                members_scroll: self.members_scroll,
                timeline_scroll: self.timeline_scroll,
            },
        };
        nodes.parked[nodes.selected] = Some(outgoing);
        nodes.selected = i;
        let v = incoming.view;
        self.channel_sel = v.channel_sel;
        self.members_scroll = v.members_scroll;
        self.timeline_scroll = v.timeline_scroll;
        self.measures.clamp(self.model.measured().occupancy());
    }

    /// The next node (`step` 1) or the previous one (-1), round the ring.
    pub(crate) fn step_node(&mut self, step: isize) {
        let Some(nodes) = self.nodes.as_ref() else {
            return;
        };
        let n = nodes.names.len() as isize;
        let next = (nodes.selected as isize + step).rem_euclid(n) as usize;
        self.select_node(next);
    }

    /// Send a record to its node's model; `Some` gives it back for the shown model (with
    /// its node's one shared name in place of the one it came with).
    pub(super) fn route_to_node(&mut self, mut s: Stamped) -> Option<Stamped> {
        let now = self.now;
        let route = match (self.nodes.as_mut(), s.node.as_deref()) {
            // One connection; or a record about no node in particular (an answer to the
            // user, a note of the session): the shown node's panes show it.
            (None, _) | (Some(_), None) => Route::Shown,
            (Some(nodes), Some(name)) => match nodes.index(name, now) {
                None => Route::Dropped,
                Some(i) => {
                    s.node = Some(nodes.names[i].clone());
                    if i == nodes.selected {
                        Route::Shown
                    } else {
                        Route::Parked(i)
                    }
                }
            },
        };
        match route {
            Route::Shown => Some(s),
            Route::Dropped => None,
            Route::Parked(i) => {
                self.apply_parked(i, s);
                None
            }
        }
    }

    fn apply_parked(&mut self, i: usize, s: Stamped) {
        let Some(nodes) = self.nodes.as_mut() else {
            return;
        };
        let name = nodes.names[i].clone();
        let Some(parked) = nodes.parked[i].as_mut() else {
            return;
        };
        let pushed = parked.model.timeline().pushed();
        let news = parked.model.apply_beside(s, self.now, self.model.log_mut());
        // Rows scrolled back to on that node's timeline stay in place.
        let new = parked.model.timeline().pushed() - pushed;
        if parked.view.timeline_scroll > 0 {
            parked.view.timeline_scroll += new as usize;
        }
        match news {
            None => {}
            Some(News::Event) => self.event_logged(),
            Some(News::Info(text)) => self.notify(format!("{name}: {text}"), NoticeLevel::Info),
            Some(News::Error(text) | News::SubscriptionFailed { text, .. }) => {
                self.notify(format!("{name}: {text}"), NoticeLevel::Error)
            }
            // The user asked for it (then switched nodes): the picker opens all the same.
            Some(News::ChannelList { prefix, channels }) => {
                self.open_channel_list(prefix, &channels)
            }
            Some(News::ChannelRemoved(at)) => {
                let len = parked.model.channels().len();
                let v = &mut parked.view;
                if v.channel_sel > at || v.channel_sel >= len {
                    v.channel_sel = v.channel_sel.saturating_sub(1);
                }
                v.members_scroll = 0;
            }
        }
    }

    /// Every parked node's clocks move on.
    pub(super) fn tick_parked(&mut self, now: Instant) {
        for p in self.parked_mut() {
            p.model.tick(now);
        }
    }

    /// The records channel closed: every node's client has ended.
    pub(super) fn parked_clients_gone(&mut self, ts: SystemTime) {
        for p in self.parked_mut() {
            p.model.client_gone(ts);
        }
    }

    fn parked_mut(&mut self) -> impl Iterator<Item = &mut Parked> {
        self.nodes
            .iter_mut()
            .flat_map(|n| n.parked.iter_mut().flatten())
    }
}
