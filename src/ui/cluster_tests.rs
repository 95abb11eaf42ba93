//! Several nodes watched at once, through the app: records routed by their node to one
//! model per node, the selection swapping them in and out, one log for all with a node
//! column, the node strip, and the cluster screen (nodes, delivery matrix, diagnosis,
//! presence across nodes) drawn to `TestBackend` and compared with reviewed insta snapshots.

use super::app::measures::Screen;
use super::app::{App, AppConfig, LogView, Msg, NoticeLevel};
use super::view::{self, layout::Pane};
use crate::cluster::{Delivery, DeliveryCell, Divergence, DivergenceKind};
use crate::prefs::keymap::Action;
use crate::prefs::theme::Theme;
use crate::session::DashboardInfo;
use crate::session_record::{SessionRecord, Stamped};
use crate::ui::model::cluster::tests::{cell, members};
use chanwatch_core::record::{Member, NodeName, Record, State};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;
use ratatui::style::Color;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const NODES: [&str; 3] = ["a", "b", "c"];

struct Fx {
    app: App,
    t0: Instant,
    wall0: SystemTime,
    ms: u64,
}

impl Fx {
    fn new(nodes: &[&str], theme: Theme) -> Fx {
        let t0 = Instant::now();
        let wall0 = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let config = AppConfig {
            theme,
            wall_clock: Some(wall0),
            ..AppConfig::default()
        };
        let info = DashboardInfo {
            nodes: nodes.iter().map(|n| NodeName::from(*n)).collect(),
            host: "127.0.0.1:6001".into(),
            key: "app-key".into(),
            tls: false,
            demo: false,
        };
        let mut app = App::new(info, config, t0);
        app.update(Msg::Resize(80, 24), t0);
        Fx {
            app,
            t0,
            wall0,
            ms: 0,
        }
    }

    fn cluster() -> Fx {
        Fx::new(&NODES, Theme::coloured())
    }

    fn at(&mut self, ms: u64) -> &mut Fx {
        self.ms = ms;
        self
    }

    fn now(&self) -> Instant {
        self.t0 + Duration::from_millis(self.ms)
    }

    /// A record from `node` (`None`: about the nodes together, or no node in particular).
    fn rec(&mut self, node: Option<&str>, record: SessionRecord) {
        let s = Stamped {
            ts: self.wall0 + Duration::from_millis(self.ms),
            node: node.map(NodeName::from),
            record,
        };
        let now = self.now();
        self.app.update(Msg::Record(s), now);
    }

    fn client(&mut self, node: &str, record: Record) {
        self.rec(Some(node), SessionRecord::Client(record));
    }

    fn key(&mut self, code: KeyCode) {
        let now = self.now();
        self.app
            .update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)), now);
    }

    fn ch(&mut self, c: char) {
        self.key(KeyCode::Char(c));
    }

    fn tick(&mut self) {
        let now = self.now();
        self.app.update(Msg::Tick, now);
    }

    fn state(&mut self, node: &str, previous: State, current: State, socket: Option<&str>) {
        self.client(
            node,
            Record::State {
                previous,
                current,
                socket_id: socket.map(str::to_string),
                cause: None,
            },
        );
    }

    fn event(&mut self, node: &str, channel: &str, n: u64) {
        self.client(
            node,
            Record::Event {
                channel: Some(channel.into()),
                event: "tick".into(),
                data: json!({ "n": n }).into(),
                user_id: None,
                decrypted: false,
            },
        );
    }

    fn subscribed(&mut self, node: &str, channel: &str) {
        self.client(
            node,
            Record::Subscribed {
                channel: channel.into(),
            },
        );
    }

    /// `node`'s roster of `channel`: `me` first, then `others`.
    fn roster(&mut self, node: &str, channel: &str, me: &str, others: &[&str]) {
        let member = |id: &str| Member {
            id: id.into(),
            info: json!({ "name": format!("user {id}") }),
        };
        let mut list = vec![member(me)];
        list.extend(others.iter().map(|id| member(id)));
        self.client(
            node,
            Record::Members {
                channel: channel.into(),
                me: Some(member(me)),
                count: list.len(),
                members: list,
            },
        );
    }

    fn delivery(
        &mut self,
        cells: Vec<DeliveryCell>,
        api_errors: &[(&str, &str)],
        diagnosis: Option<&str>,
    ) {
        self.rec(
            None,
            SessionRecord::Delivery(Box::new(Delivery {
                rounds: 30,
                cells,
                api_errors: api_errors
                    .iter()
                    .map(|(n, e)| (n.to_string(), e.to_string()))
                    .collect(),
                diagnosis: diagnosis.map(str::to_string),
            })),
        );
    }

    fn divergence(&mut self, d: Divergence) {
        self.rec(None, SessionRecord::Divergence(Box::new(d)));
    }

    fn render(&self, w: u16, h: u16) -> Terminal<TestBackend> {
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        term.draw(|f| view::render(&self.app, f)).unwrap();
        term
    }

    fn render_pane(
        &self,
        w: u16,
        h: u16,
        pane: fn(&App, &mut ratatui::Frame, Rect),
    ) -> Terminal<TestBackend> {
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        term.draw(|f| pane(&self.app, f, f.area())).unwrap();
        term
    }

    fn text(&self, w: u16, h: u16) -> String {
        format!("{}", self.render(w, h).backend())
    }
}

/// Every cell of the matrix over `nodes`, as `f(from, to)` says.
fn matrix(f: impl Fn(&str, &str) -> DeliveryCell) -> Vec<DeliveryCell> {
    NODES
        .iter()
        .flat_map(|from| NODES.iter().map(|to| f(from, to)))
        .collect()
}

/// Three nodes connected, each in `presence-room` with its own user (1 on a, 2 on b, 3 on
/// c), `news` on a and b, the probe's rounds all delivered.
fn healthy() -> Fx {
    let mut fx = Fx::cluster();
    for (i, node) in NODES.iter().enumerate() {
        fx.at(i as u64 * 10)
            .state(node, State::Initialized, State::Connecting, None);
    }
    let sockets = ["1001.1", "2002.2", "3003.3"];
    for (i, node) in NODES.iter().enumerate() {
        fx.at(200 + i as u64 * 30).state(
            node,
            State::Connecting,
            State::Connected,
            Some(sockets[i]),
        );
    }
    fx.at(300);
    for node in ["a", "b"] {
        fx.subscribed(node, "news");
    }
    for (i, node) in NODES.iter().enumerate() {
        fx.subscribed(node, "presence-room");
        let me = (i + 1).to_string();
        let others: Vec<String> = (1..=i).map(|j| j.to_string()).collect();
        let others: Vec<&str> = others.iter().map(String::as_str).collect();
        fx.roster(node, "presence-room", &me, &others);
    }
    // Each later node's user joins the earlier nodes' rosters.
    for (i, node) in NODES.iter().enumerate() {
        for later in i + 2..=NODES.len() {
            fx.client(
                node,
                Record::MemberAdded {
                    channel: "presence-room".into(),
                    id: later.to_string(),
                    info: json!({ "name": format!("user {later}") }),
                },
            );
        }
    }
    for (i, node) in NODES.iter().enumerate() {
        fx.at(1_000 + i as u64 * 7).client(
            node,
            Record::Pong {
                rtt_ms: 3 + i as u64 * 4,
            },
        );
    }
    for s in 0..5u64 {
        for node in ["a", "b"] {
            fx.at(2_000 + s * 1_000).event(node, "news", s);
        }
    }
    // The last second's traffic, for the rates.
    for (i, node) in NODES.iter().enumerate() {
        for k in 0..=i as u64 {
            fx.at(7_100 + k * 100).event(node, "presence-room", k);
        }
    }
    fx.at(7_500).delivery(
        matrix(|from, to| {
            let base = if from == to { 1.2 } else { 3.4 };
            cell(from, to, 30, 30, Some((base, base * 3.0)))
        }),
        &[],
        None,
    );
    fx.at(8_000).tick();
    fx
}

/// `healthy`, then node c killed: its socket lost (a few retries), its HTTP API refusing,
/// nothing published reaches it, and its user still listed on a and b (a ghost); a's API
/// counts one user fewer than b's.
fn node_c_killed() -> Fx {
    let mut fx = healthy();
    fx.at(10_000)
        .state("c", State::Connected, State::Connecting, None);
    fx.client(
        "c",
        Record::ConnectingIn {
            delay_ms: 4_000,
            reason: None,
        },
    );
    fx.at(14_000)
        .state("c", State::Connecting, State::Unavailable, None);
    let refused = "error sending request: connection refused (os error 111)";
    fx.at(38_000).delivery(
        matrix(|from, to| match (from, to) {
            ("c", _) => cell(from, to, 0, 0, None),
            (_, "c") => cell(from, to, 28, 0, None),
            _ => cell(from, to, 30, 30, Some((2.5, 7.0))),
        }),
        &[("c", refused)],
        None,
    );
    fx.divergence(members(
        "presence-room",
        "3",
        &["a", "b"],
        &["c"],
        28_000,
        true,
    ));
    fx.divergence(Divergence {
        kind: DivergenceKind::UserCount,
        member: None,
        listed_on: vec![],
        missing_on: vec![],
        counts: BTreeMap::from([("a".to_string(), 2), ("b".to_string(), 3)]),
        ..members("presence-room", "", &[], &[], 4_000, false)
    });
    fx.at(38_500).tick();
    fx
}

// ----- routing and the selection -----

#[test]
fn records_go_to_their_nodes_and_the_selection_swaps_models_keeping_each_nodes_state() {
    let mut fx = healthy();
    let app = &fx.app;
    assert_eq!(app.node_names().len(), 3);
    assert_eq!(app.selected_node(), Some(0));
    // The shown model is a's; the others are each their own.
    assert_eq!(app.status().socket_id.as_deref(), Some("1001.1"));
    let socket = |app: &App, i| app.node_model(i).unwrap().status().socket_id.clone();
    assert_eq!(socket(app, 1).as_deref(), Some("2002.2"));
    assert_eq!(socket(app, 2).as_deref(), Some("3003.3"));
    let channels = |app: &App, i| -> Vec<String> {
        app.node_model(i)
            .unwrap()
            .channels()
            .keys()
            .cloned()
            .collect()
    };
    assert_eq!(channels(app, 0), ["news", "presence-room"]);
    assert_eq!(channels(app, 2), ["presence-room"]);
    // One log for all: a's and b's events, each with its node.
    let nodes: Vec<&str> = (0..app.log().len())
        .map(|i| app.log().get(i).unwrap().node.as_deref().unwrap())
        .collect();
    assert_eq!(
        nodes,
        [
            "a", "b", "a", "b", "a", "b", "a", "b", "a", "b", "a", "b", "b", "c", "c", "c"
        ]
    );
    // Only the shown model holds the log.
    for i in 1..3 {
        assert!(app.node_model(i).unwrap().log().is_empty());
    }
    // Each node's events are counted on its own channels.
    let events = |app: &App, i| app.node_model(i).unwrap().channels()["news"].events;
    assert_eq!((events(app, 0), events(app, 1)), (5, 5));

    // Select a's presence channel and scroll its timeline, then go to b and back.
    fx.app.focus = Pane::Channels;
    fx.key(KeyCode::Down);
    fx.app.focus = Pane::Timeline;
    fx.key(KeyCode::Up);
    assert_eq!(fx.app.selected_channel().unwrap().name, "presence-room");
    let a_timeline = fx.app.timeline().len();
    fx.ch('n');
    assert_eq!(fx.app.selected_node(), Some(1));
    assert_eq!(fx.app.status().socket_id.as_deref(), Some("2002.2"));
    assert_eq!(fx.app.selected_channel().unwrap().name, "news");
    assert_eq!(fx.app.timeline_scroll, 0);
    assert_eq!(fx.app.log().len(), 16, "the log stays with the shown node");
    // An event of a while b is shown: in the log, counted on a's channel.
    fx.at(9_000).event("a", "news", 99);
    assert_eq!(fx.app.log().len(), 17);
    assert_eq!(events(&fx.app, 0), 6);
    // A new timeline entry on a while a's timeline is scrolled back keeps a's rows in place.
    fx.state("a", State::Connected, State::Connecting, None);
    fx.ch('N');
    assert_eq!(fx.app.selected_node(), Some(0));
    assert_eq!(fx.app.selected_channel().unwrap().name, "presence-room");
    let new = fx.app.timeline().len() - a_timeline;
    assert!(new > 0);
    assert_eq!(fx.app.timeline_scroll, 1 + new);
    assert_eq!(fx.app.status().state, State::Connecting);
    // Round the ring: N from a is c.
    fx.ch('N');
    assert_eq!(fx.app.selected_node(), Some(2));
    assert!(fx.app.channel("news").is_none());
    assert_eq!(fx.app.log().len(), 17);
}

#[test]
fn records_about_no_node_go_to_the_cluster_or_the_shown_node_and_new_nodes_are_added() {
    let mut fx = healthy();
    // A delivery record is the cluster's: no node's timeline has it.
    let timelines: Vec<usize> = (0..3)
        .map(|i| fx.app.node_model(i).unwrap().timeline().len())
        .collect();
    fx.at(9_000).delivery(vec![], &[], None);
    let after: Vec<usize> = (0..3)
        .map(|i| fx.app.node_model(i).unwrap().timeline().len())
        .collect();
    assert_eq!(timelines, after);
    assert!(
        fx.app
            .cluster()
            .delivery()
            .unwrap()
            .delivery
            .cells
            .is_empty()
    );
    // A session record with no node (a note, an answer) goes to the node shown.
    fx.ch('n');
    fx.rec(
        None,
        SessionRecord::Fault {
            fault: "cut".into(),
        },
    );
    assert_eq!(
        fx.app.node_model(1).unwrap().timeline().len(),
        timelines[1] + 1
    );
    assert_eq!(fx.app.node_model(0).unwrap().timeline().len(), timelines[0]);
    // A node no header named is added at the end, with its own model.
    fx.state("d", State::Initialized, State::Connecting, None);
    assert_eq!(fx.app.node_names().len(), 4);
    assert_eq!(
        fx.app.node_model(3).unwrap().status().state,
        State::Connecting
    );
    // Records of one node share the one name the app holds.
    fx.event("b", "news", 1);
    let last = fx.app.log().get(fx.app.log().len() - 1).unwrap();
    assert!(std::sync::Arc::ptr_eq(
        last.node.as_ref().unwrap(),
        &fx.app.node_names()[1]
    ));
}

#[test]
fn nodes_not_shown_tick_pause_the_log_and_say_their_news_with_their_name() {
    let mut fx = healthy();
    // c's join highlight fades on c's model although a is shown.
    fx.at(9_000).client(
        "c",
        Record::MemberAdded {
            channel: "presence-room".into(),
            id: "9".into(),
            info: json!(null),
        },
    );
    let joined = |fx: &Fx| {
        let m = fx.app.node_model(2).unwrap();
        m.channels()["presence-room"]
            .roster
            .as_ref()
            .unwrap()
            .members["9"]
            .joined_at
    };
    assert!(joined(&fx).is_some());
    fx.at(15_000).tick();
    assert!(joined(&fx).is_none());
    // The paused log counts what every node adds.
    fx.ch('p');
    assert!(matches!(fx.app.log_view(), LogView::Paused { .. }));
    fx.event("b", "news", 1);
    fx.event("a", "news", 2);
    assert_eq!(fx.app.unseen, 2);
    // A node not shown says what went wrong with its name.
    fx.client(
        "c",
        Record::SubscriptionError {
            channel: "private-x".into(),
            status: Some(403),
            message: "Forbidden".into(),
        },
    );
    let notice = fx.app.notice().unwrap();
    assert_eq!(notice.level, NoticeLevel::Error);
    assert!(notice.text.starts_with("c: "), "{}", notice.text);
    // A new diagnosis and a new ghost are said too.
    fx.delivery(
        vec![],
        &[],
        Some("adapter failing: each node delivers only its own"),
    );
    assert_eq!(
        fx.app.notice().unwrap().text,
        "cluster: adapter failing: each node delivers only its own"
    );
    fx.divergence(members(
        "presence-room",
        "3",
        &["a", "b"],
        &["c"],
        9_000,
        true,
    ));
    assert!(fx.app.notice().unwrap().text.contains("3 is a ghost"));
    // The records channel closing ends every node's client.
    let now = fx.now();
    fx.app.update(Msg::RecordsClosed, now);
    for i in 0..3 {
        assert!(fx.app.node_model(i).unwrap().status().client_gone, "{i}");
    }
}

#[test]
fn one_connection_has_no_node_keys_in_help_or_footer_and_says_why_they_do_nothing() {
    let mut fx = Fx::new(&[], Theme::coloured());
    assert!(!fx.app.is_cluster());
    assert!(fx.app.node_names().is_empty());
    for c in ['n', 'N', 'C'] {
        fx.app.notice = None;
        fx.ch(c);
        let notice = fx.app.notice().map(|n| n.text.clone()).unwrap_or_default();
        assert!(notice.contains("--node NAME=URL"), "{c}: {notice}");
        assert_eq!(fx.app.measures().screen(), None);
    }
    // A record carrying a node is the one connection's all the same.
    fx.state("x", State::Initialized, State::Connecting, None);
    assert_eq!(fx.app.status().state, State::Connecting);
    let help = fx.app.help_sections();
    assert!(help[0].1.iter().all(|(_, what)| !what.contains("node")));
    fx.app.notice = None;
    let footer = fx.text(120, 24);
    assert!(!footer.contains("n node"), "{footer}");
}

#[test]
fn several_nodes_list_their_keys_in_help_and_footer() {
    let mut fx = healthy();
    let km = fx.app.keymap().clone();
    let help = fx.app.help_sections();
    for action in [Action::NextNode, Action::PrevNode, Action::Cluster] {
        let key = km.first_key(action).unwrap();
        assert!(help[0].1.iter().any(|(k, _)| *k == key), "{action:?}");
    }
    fx.app.notice = None;
    let text = fx.text(80, 24);
    let footer = text.lines().last().unwrap();
    assert!(
        footer.contains("n node") && footer.contains("C cluster"),
        "{footer}"
    );
    fx.ch('?');
    let text = fx.text(100, 40);
    for want in [
        "next node (--node)",
        "previous node",
        "cluster screen",
        "node:NAME",
        "Nodes:",
    ] {
        assert!(text.contains(want), "help lacks {want:?}\n{text}");
    }
    // Every key still fits a short terminal.
    let text = fx.text(80, 25);
    assert!(!text.contains("taller terminal"), "{text}");
    for (_, rows) in fx.app.help_sections() {
        for (keys, what) in rows {
            assert!(
                text.contains(what) && text.contains(&keys),
                "{what}\n{text}"
            );
        }
    }
}

// ----- the log, the detail and the strip -----

#[test]
fn the_log_filters_by_node_and_the_detail_says_the_node() {
    let mut fx = healthy();
    fx.ch('/');
    for c in "node:b".chars() {
        fx.ch(c);
    }
    fx.key(KeyCode::Enter);
    let (visible, _) = fx.app.visible_log();
    assert_eq!(visible.len(), 7);
    assert!(
        visible
            .iter()
            .all(|&i| fx.app.log().get(i).unwrap().node.as_deref() == Some("b"))
    );
    fx.app.focus = Pane::Log;
    fx.key(KeyCode::Enter);
    let text = fx.text(80, 24);
    assert!(text.contains("node    b"), "{text}");
}

#[test]
fn snapshot_log_node_column() {
    let mut fx = healthy();
    fx.at(9_000).event("c", "presence-room", 7);
    let now = fx.now();
    fx.app.update(Msg::Resize(100, 24), now);
    insta::assert_snapshot!("log_node_column", fx.render(100, 24).backend());
    // A narrow terminal shows the log alone, the node column shorter.
    fx.app.update(Msg::Resize(56, 12), now);
    insta::assert_snapshot!("log_node_column_narrow", fx.render(56, 12).backend());
}

#[test]
fn snapshot_node_strip() {
    let mut fx = node_c_killed();
    fx.ch('n');
    insta::assert_snapshot!(
        "node_strip",
        fx.render_pane(100, 2, view::status::render).backend()
    );
    // The one connection's status bar is as it was: no strip, no node name.
    let one = Fx::new(&[], Theme::coloured());
    let text = format!(
        "{}",
        one.render_pane(100, 2, view::status::render).backend()
    );
    assert!(
        text.contains("host 127.0.0.1:6001") && !text.contains("nodes"),
        "{text}"
    );
}

// ----- the cluster screen -----

#[test]
fn the_cluster_key_toggles_the_screen_and_it_scrolls_within_its_content() {
    let mut fx = node_c_killed();
    fx.ch('C');
    assert_eq!(fx.app.measures().screen(), Some(Screen::Cluster));
    fx.key(KeyCode::End);
    let max = view::cluster::max_scroll(&fx.app);
    assert!(max > 0, "80x24 scrolls this screen");
    assert_eq!(fx.app.measures().cluster_scroll(), max);
    fx.key(KeyCode::Up);
    assert_eq!(fx.app.measures().cluster_scroll(), max - 1);
    // The node keys work on the screen too.
    fx.ch('n');
    assert_eq!(fx.app.selected_node(), Some(1));
    assert_eq!(fx.app.measures().screen(), Some(Screen::Cluster));
    fx.key(KeyCode::Esc);
    assert_eq!(fx.app.measures().screen(), None);
    fx.ch('C');
    assert_eq!(fx.app.measures().cluster_scroll(), 0);
    fx.ch('C');
    assert_eq!(fx.app.measures().screen(), None);
    // A wide, tall terminal shows it whole.
    fx.app.update(Msg::Resize(160, 60), fx.now());
    assert_eq!(view::cluster::max_scroll(&fx.app), 0);
}

#[test]
fn snapshot_cluster_healthy_80x24() {
    let mut fx = healthy();
    fx.ch('C');
    let text = fx.text(80, 24);
    for want in ["API ok", "1.2/3.6 0%", "3.4/10 0%"] {
        assert!(text.contains(want), "{want}\n{text}");
    }
    insta::assert_snapshot!("cluster_healthy_80x24", fx.render(80, 24).backend());
    fx.key(KeyCode::End);
    insta::assert_snapshot!("cluster_healthy_80x24_end", fx.render(80, 24).backend());
}

#[test]
fn snapshot_cluster_node_c_killed_80x24() {
    let mut fx = node_c_killed();
    fx.ch('C');
    let text = fx.text(80, 24);
    assert!(
        text.contains("API unreachable: error sending request"),
        "{text}"
    );
    assert!(text.contains("lost 100%"), "{text}");
    insta::assert_snapshot!("cluster_node_c_killed_80x24", fx.render(80, 24).backend());
    fx.key(KeyCode::End);
    let text = fx.text(80, 24);
    assert!(
        text.contains("GHOST") && text.contains("missing on c for 28s"),
        "{text}"
    );
    insta::assert_snapshot!(
        "cluster_node_c_killed_80x24_end",
        fx.render(80, 24).backend()
    );
}

#[test]
fn snapshot_cluster_adapter_failing_wide() {
    let mut fx = healthy();
    fx.at(20_000).delivery(
        matrix(|from, to| {
            if from == to {
                cell(from, to, 30, 30, Some((1.1, 2.9)))
            } else {
                cell(from, to, 30, 0, None)
            }
        }),
        &[],
        Some(
            "adapter failing: each node delivers its own publishes and no other node's; \
             is the adapter (Redis, NATS) reachable from every node?",
        ),
    );
    fx.ch('C');
    insta::assert_snapshot!(
        "cluster_adapter_failing_140x30",
        fx.render(140, 30).backend()
    );
    // On 80 columns the diagnosis wraps and comes first.
    let text = fx.text(80, 24);
    let third = text.lines().nth(3).unwrap();
    assert!(
        third.contains("DIAGNOSIS") && third.contains("adapter failing"),
        "{text}"
    );
}

/// The two-node sockudo run: a watcher on each node, `guest` connected through b, then
/// `kill -9` of b. a's socket keeps b's watcher and the guest (no `member_removed`); a's
/// own HTTP API soon lists neither.
fn two_nodes_b_killed() -> Fx {
    let mut fx = Fx::new(&["a", "b"], Theme::coloured());
    for (i, node) in ["a", "b"].iter().enumerate() {
        fx.at(i as u64 * 10)
            .state(node, State::Initialized, State::Connecting, None);
    }
    for (i, (node, socket)) in [("a", "1001.1"), ("b", "2002.2")].iter().enumerate() {
        fx.at(200 + i as u64 * 30)
            .state(node, State::Connecting, State::Connected, Some(socket));
    }
    fx.at(300);
    fx.subscribed("a", "presence-room");
    fx.roster("a", "presence-room", "watcher@a", &["watcher@b", "guest"]);
    fx.subscribed("b", "presence-room");
    fx.roster("b", "presence-room", "watcher@b", &["watcher@a", "guest"]);
    fx.at(10_000)
        .state("b", State::Connected, State::Connecting, None);
    fx.at(14_000)
        .state("b", State::Connecting, State::Unavailable, None);
    let refused = "error sending request: connection refused (os error 111)";
    fx.at(18_000).delivery(
        vec![
            cell("a", "a", 30, 30, Some((1.1, 2.9))),
            cell("a", "b", 22, 0, None),
            cell("b", "a", 0, 0, None),
            cell("b", "b", 0, 0, None),
        ],
        &[("b", refused)],
        None,
    );
    fx.divergence(members(
        "presence-room",
        "watcher@b",
        &["a"],
        &["b"],
        8_000,
        true,
    ));
    let api = |member: &str, listed_on: &[&str], missing_on: &[&str], for_ms| Divergence {
        kind: DivergenceKind::ApiMembers,
        ..members("presence-room", member, listed_on, missing_on, for_ms, true)
    };
    fx.divergence(api("guest", &["a"], &[], 4_000));
    fx.divergence(api("watcher@b", &["a"], &[], 4_000));
    fx.at(18_500).tick();
    fx
}

#[test]
fn snapshot_cluster_api_members_80x24() {
    let mut fx = two_nodes_b_killed();
    assert!(
        fx.app
            .notice()
            .is_some_and(|n| n.text.contains("a's socket lists it, a's API does not")),
        "{:?}",
        fx.app.notice()
    );
    fx.ch('C');
    fx.key(KeyCode::End);
    let text = fx.text(80, 24);
    let row = |who: &str| {
        text.lines()
            .find(|l| l.contains(&format!("   {who} ")))
            .unwrap_or_else(|| panic!("no row for {who}\n{text}"))
            .to_string()
    };
    // The guest: listed by a's socket, b has no roster; only a's API disagrees, on its row.
    let guest = row("guest");
    assert!(
        guest.contains("a's API does not list it for 4.5s") && guest.contains("GHOST"),
        "{text}"
    );
    // b's watcher differs between the sockets too: that on its row, the API on the next.
    let at = text
        .lines()
        .position(|l| l.contains("   watcher@b "))
        .unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[at].contains("missing on b"), "{text}");
    assert!(
        lines[at + 1].contains("a's API does not list it") && lines[at + 1].contains("GHOST"),
        "{text}"
    );
    insta::assert_snapshot!("cluster_api_members_80x24_end", fx.render(80, 24).backend());
    // A node's API listing a member its socket does not says so, and is no ghost.
    fx.divergence(Divergence {
        kind: DivergenceKind::ApiMembers,
        ..members("presence-room", "late", &[], &["a"], 2_000, false)
    });
    let text = fx.text(80, 24);
    let late = text.lines().find(|l| l.contains("   late ")).unwrap();
    assert!(
        late.contains("✗") && late.contains("a's API lists it for 2.0s") && !late.contains("GHOST"),
        "{text}"
    );
    // Every size still draws.
    for (w, h) in [(1, 1), (20, 6), (40, 10), (200, 60)] {
        fx.app.update(Msg::Resize(w, h), fx.now());
        let _ = fx.render(w, h);
    }
}

/// The matrix cells are coloured by the theme's roles: ok, warn, error and dim; with
/// `NO_COLOR` they differ by their words alone.
#[test]
fn matrix_cells_are_coloured_by_health() {
    let run = |theme: Theme| {
        let mut fx = Fx::new(&NODES, theme);
        fx.at(1_000).delivery(
            matrix(|from, to| match (from, to) {
                ("a", "a") => cell(from, to, 10, 10, Some((1.0, 2.0))),
                ("a", "b") => cell(from, to, 10, 7, Some((5.0, 80.0))),
                ("a", "c") => cell(from, to, 10, 0, None),
                _ => cell(from, to, 0, 0, None),
            }),
            &[],
            None,
        );
        fx.ch('C');
        fx.app.update(Msg::Resize(120, 40), fx.now());
        fx.render(120, 40)
    };
    let fg_of = |term: &Terminal<TestBackend>, text: &str| -> Option<Color> {
        let buf = term.backend().buffer();
        let area = buf.area;
        for y in 0..area.height {
            let row: String = (0..area.width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect();
            if let Some(byte) = row.find(text) {
                let x = row[..byte].chars().count() as u16;
                return buf[(x, y)].fg.into();
            }
        }
        panic!("{text} is not on screen");
    };
    let coloured = run(Theme::coloured());
    assert_eq!(fg_of(&coloured, "1.0/2.0 0%"), Some(Color::Green));
    assert_eq!(fg_of(&coloured, "5.0/80 30%"), Some(Color::Yellow));
    assert_eq!(fg_of(&coloured, "lost 100%"), Some(Color::Red));
    assert_eq!(fg_of(&coloured, "no data"), Some(Color::DarkGray));
    let mono = run(Theme::monochrome());
    for text in ["1.0/2.0 0%", "5.0/80 30%", "lost 100%", "no data"] {
        assert_eq!(fg_of(&mono, text), Some(Color::Reset), "{text}");
    }
}

#[test]
fn every_size_renders_the_cluster_screen_without_panic() {
    let mut fx = node_c_killed();
    fx.ch('C');
    for (w, h) in [(1, 1), (10, 4), (40, 10), (80, 24), (200, 60)] {
        fx.app.update(Msg::Resize(w, h), fx.now());
        fx.key(KeyCode::End);
        let _ = fx.render(w, h);
    }
}

#[test]
fn snapshot_help_80x24_with_nodes() {
    let mut fx = healthy();
    fx.ch('?');
    insta::assert_snapshot!("help_80x24_nodes", fx.render(80, 24).backend());
}

#[test]
fn the_fault_menu_kills_partitions_or_keeps_members_on_the_node_shown() {
    use crate::faults::FaultKind;
    use crate::session::Command;
    let mut fx = healthy();
    fx.ch('n'); // the panes show b
    let press = |fx: &mut Fx, c: char| {
        let now = fx.now();
        fx.app.update(
            Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
            now,
        )
    };
    press(&mut fx, 'x');
    let text = fx.text(100, 30);
    assert!(text.contains("the demo's node b"), "{text}");
    assert!(text.contains("kill node"), "{text}");
    let update = press(&mut fx, 'k');
    assert_eq!(
        update.command,
        Some(Command::Fault(FaultKind::KillNode { node: "b".into() }))
    );
    fx.ch('n'); // c
    press(&mut fx, 'x');
    assert_eq!(
        press(&mut fx, 'p').command,
        Some(Command::Fault(FaultKind::Partition { node: "c".into() }))
    );
    press(&mut fx, 'x');
    assert_eq!(
        press(&mut fx, 'm').command,
        Some(Command::Fault(FaultKind::KeepMember { node: "c".into() }))
    );
}

#[test]
fn commands_for_one_connection_go_to_the_node_shown_and_the_rest_to_every_node() {
    use crate::faults::FaultKind;
    use crate::session::Command;
    use chanwatch_core::connection::Command as C;
    let mut fx = healthy();
    fx.ch('n'); // b
    let publish = Command::Publish {
        channel: "news".into(),
        event: "e".into(),
        data: json!(1),
        exclude_self: false,
    };
    assert_eq!(
        fx.app.addressed(publish.clone()),
        publish.clone().on_node("b")
    );
    let disconnect = Command::Connection(C::Disconnect);
    assert_eq!(
        fx.app.addressed(disconnect.clone()),
        disconnect.on_node("b")
    );
    let close = Command::Fault(FaultKind::Close { code: 4200 });
    assert_eq!(fx.app.addressed(close.clone()), close.on_node("b"));
    for everywhere in [
        Command::Connection(C::Subscribe {
            channel: "x".into(),
        }),
        Command::QUIT,
        Command::Occupancy { on: true },
        Command::Fault(FaultKind::Restore),
        Command::Fault(FaultKind::KillNode { node: "c".into() }),
    ] {
        assert_eq!(fx.app.addressed(everywhere.clone()), everywhere);
    }
    // One connection: nothing is addressed.
    let one = Fx::new(&[], Theme::coloured());
    assert_eq!(one.app.addressed(publish.clone()), publish);
}
