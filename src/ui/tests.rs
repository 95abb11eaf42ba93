//! The dashboard without a terminal: records and keys go into [`App::update`], and frames are
//! drawn to ratatui's `TestBackend` and compared with reviewed insta snapshots.
use crate::session_record::SessionRecord;

use super::app::{App, AppConfig, LogView, Modal, Msg, NoticeLevel, Overlay, PromptKind, Update};
use super::model::{ChannelStatus, TimelineKind};
use super::view::{self, layout::Pane};
use crate::faults::FaultKind;
use crate::prefs::keymap::{Action, Chord, Mode};
use crate::prefs::theme::Theme;
use crate::session::Command;
use crate::session::DashboardInfo;
use crate::session_record::Stamped;
use chanwatch_core::connection::Command as ConnCommand;
use chanwatch_core::record::{AuthFailureKind, Member, Record, State};
use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;
use ratatui::style::Color;
use serde_json::{Value, json};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// An app with fixed clocks: `ms` arguments are milliseconds after the start, both on the
/// monotonic clock given to `update` and on the wall clock stamped on records.
struct Fx {
    app: App,
    t0: Instant,
    wall0: SystemTime,
    ms: u64,
}

impl Fx {
    fn new() -> Fx {
        Fx::with(AppConfig::default())
    }

    fn with(mut config: AppConfig) -> Fx {
        let t0 = Instant::now();
        let wall0 = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        config.wall_clock = Some(wall0);
        let info = DashboardInfo {
            nodes: Vec::new(),
            host: "ws-mt1.pusher.com".into(),
            key: "app-key".into(),
            tls: true,
            demo: false,
        };
        Fx {
            app: App::new(info, config, t0),
            t0,
            wall0,
            ms: 0,
        }
    }

    fn at(&mut self, ms: u64) -> &mut Fx {
        self.ms = ms;
        self
    }

    fn now(&self) -> Instant {
        self.t0 + Duration::from_millis(self.ms)
    }

    fn msg(&mut self, m: Msg) -> Update {
        let now = self.now();
        self.app.update(m, now)
    }

    fn rec(&mut self, r: SessionRecord) -> Update {
        let ts = self.wall0 + Duration::from_millis(self.ms);
        self.msg(Msg::Record(Stamped {
            node: None,
            ts,
            record: r,
        }))
    }

    fn key(&mut self, code: KeyCode) -> Update {
        self.msg(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
    }

    fn ch(&mut self, c: char) -> Update {
        self.key(KeyCode::Char(c))
    }

    /// Type text; returns every update so a test can check none of them quit.
    fn type_text(&mut self, s: &str) -> Vec<Update> {
        s.chars().map(|c| self.ch(c)).collect()
    }

    fn state(&mut self, previous: State, current: State, cause: Option<&str>) -> Update {
        let socket_id = (current == State::Connected).then(|| "123.456".to_string());
        self.rec(SessionRecord::Client(Record::State {
            previous,
            current,
            socket_id,
            cause: cause.map(str::to_string),
        }))
    }

    fn event(&mut self, channel: &str, event: &str, data: Value) -> Update {
        self.rec(SessionRecord::Client(Record::Event {
            channel: Some(channel.into()),
            event: event.into(),
            data: data.into(),
            user_id: None,
            decrypted: false,
        }))
    }

    fn subscribed(&mut self, channel: &str) {
        self.rec(SessionRecord::Client(Record::Subscribed {
            channel: channel.into(),
        }));
    }

    fn select_channel(&mut self, name: &str) {
        let i = self
            .app
            .channels()
            .position(|c| c.name == name)
            .expect("channel exists");
        self.app.focus = Pane::Channels;
        self.key(KeyCode::Char('g'));
        for _ in 0..i {
            self.key(KeyCode::Down);
        }
        assert_eq!(self.app.selected_channel().unwrap().name, name);
    }

    fn render(&self, w: u16, h: u16) -> Terminal<TestBackend> {
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        term.draw(|f| view::render(&self.app, f)).unwrap();
        term
    }

    /// Draw one pane's render function into a `w` x `h` buffer.
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
}

fn member(id: &str, name: &str) -> Member {
    Member {
        id: id.into(),
        info: json!({ "name": name }),
    }
}

/// A session that has seen most of what the client reports: a reconnect after a 4201 close,
/// channels of every kind and status, presence with a join and a leave, pings.
fn busy() -> Fx {
    let mut fx = Fx::new();
    fx.msg(Msg::Resize(80, 24));
    fx.at(0).state(State::Initialized, State::Connecting, None);
    fx.at(420).state(State::Connecting, State::Connected, None);
    for ch in ["news", "private-chat", "presence-room", "cache-prices"] {
        fx.app.focus = Pane::Log;
        fx.ch('s');
        fx.type_text(ch);
        fx.key(KeyCode::Enter);
    }
    fx.at(500).subscribed("news");
    fx.subscribed("private-chat");
    fx.subscribed("presence-room");
    fx.rec(SessionRecord::Client(Record::Members {
        channel: "presence-room".into(),
        me: Some(member("1", "Ann")),
        count: 3,
        members: vec![member("1", "Ann"), member("2", "Bob"), member("3", "Cy")],
    }));
    fx.rec(SessionRecord::Client(Record::SubscriptionError {
        channel: "private-secret".into(),
        status: Some(403),
        message: "Forbidden: invalid signature".into(),
    }));
    for i in 0..6u64 {
        fx.at(1_000 + i * 250).event(
            "news",
            "headline",
            json!({ "id": i, "title": format!("Story {i}"), "tags": ["a", "b"] }),
        );
    }
    fx.at(2_600).rec(SessionRecord::Client(Record::Event {
        channel: Some("private-chat".into()),
        event: "client-typing".into(),
        data: json!({ "typing": true }).into(),
        user_id: Some("2".into()),
        decrypted: false,
    }));
    fx.at(3_000).rec(SessionRecord::Client(Record::PingSent {
        after_ms: 120_000,
    }));
    fx.at(3_042)
        .rec(SessionRecord::Client(Record::Pong { rtt_ms: 42 }));
    fx.at(4_000).rec(SessionRecord::Client(Record::Error {
        code: Some(4201),
        message: "Pong reply not received".into(),
    }));
    fx.state(
        State::Connected,
        State::Connecting,
        Some("closed with 4201"),
    );
    fx.rec(SessionRecord::Client(Record::ConnectingIn {
        delay_ms: 1_000,
        reason: None,
    }));
    fx.at(5_100)
        .state(State::Connecting, State::Connected, None);
    fx.subscribed("news");
    fx.subscribed("private-chat");
    fx.subscribed("presence-room");
    fx.rec(SessionRecord::Client(Record::Members {
        channel: "presence-room".into(),
        me: Some(member("1", "Ann")),
        count: 3,
        members: vec![member("1", "Ann"), member("2", "Bob"), member("3", "Cy")],
    }));
    fx.at(9_000).rec(SessionRecord::Client(Record::MemberAdded {
        channel: "presence-room".into(),
        id: "4".into(),
        info: json!({ "name": "Dee" }),
    }));
    fx.rec(SessionRecord::Client(Record::MemberRemoved {
        channel: "presence-room".into(),
        id: "2".into(),
    }));
    fx.event("presence-room", "message", json!("hello\nworld"));
    fx.at(10_000).msg(Msg::Tick);
    fx
}

// ----- state updates -----

#[test]
fn subscribe_prompt_swallows_binding_keys() {
    let mut fx = Fx::new();
    assert!(fx.ch('s').redraw);
    assert!(matches!(
        fx.app.prompt().unwrap().kind,
        PromptKind::Subscribe
    ));
    // Every letter here is a binding in normal mode (q quits, d disconnects...).
    let updates = fx.type_text("quit-d-r-u-c-p");
    assert!(updates.iter().all(|u| !u.quit && u.command.is_none()));
    assert_eq!(fx.app.prompt().unwrap().input.value(), "quit-d-r-u-c-p");
    let u = fx.key(KeyCode::Enter);
    assert_eq!(
        u.command,
        conn(ConnCommand::Subscribe {
            channel: "quit-d-r-u-c-p".into()
        })
    );
    assert!(fx.app.prompt().is_none());
    let c = fx.app.channel("quit-d-r-u-c-p").unwrap();
    assert_eq!(c.status, ChannelStatus::Pending, "pending at once");
    assert_eq!(fx.app.selected_channel().unwrap().name, "quit-d-r-u-c-p");
}

#[test]
fn bad_channel_name_keeps_the_prompt_with_the_reason() {
    let mut fx = Fx::new();
    fx.ch('s');
    fx.type_text("has space");
    let u = fx.key(KeyCode::Enter);
    assert_eq!(u.command, None);
    let p = fx.app.prompt().expect("still open");
    assert!(
        p.error.as_deref().unwrap().contains("contains ' '"),
        "{p:?}"
    );
    // Editing clears the error; Esc closes without subscribing.
    fx.key(KeyCode::Backspace);
    assert!(fx.app.prompt().unwrap().error.is_none());
    assert_eq!(fx.key(KeyCode::Esc).command, None);
    assert!(fx.app.prompt().is_none());
    assert_eq!(fx.app.channels().count(), 0);
}

#[test]
fn quit_keys() {
    let mut fx = Fx::new();
    let u = fx.ch('q');
    assert!(u.quit);
    assert_eq!(u.command, conn(ConnCommand::Quit));
    let mut fx = Fx::new();
    fx.ch('/');
    let u = fx.msg(Msg::Key(KeyEvent::new(
        KeyCode::Char('c'),
        KeyModifiers::CONTROL,
    )));
    assert!(u.quit, "Ctrl-C quits even from a prompt");
}

#[test]
fn key_releases_are_ignored() {
    let mut fx = Fx::new();
    let mut k = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
    k.kind = KeyEventKind::Release;
    assert_eq!(fx.msg(Msg::Key(k)), Update::default());
}

#[test]
fn filter_by_channel_and_text_then_clear() {
    let mut fx = Fx::new();
    fx.event("news", "headline", json!({"t": "Rust"}));
    fx.event("sport", "score", json!({"t": "3-1"}));
    fx.event("news", "weather", json!("rain"));
    fx.ch('/');
    fx.type_text("channel:news");
    // The filter applies while typing.
    let (v, _) = fx.app.visible_log();
    assert_eq!(v, vec![0, 2]);
    fx.key(KeyCode::Enter);
    assert_eq!(fx.app.filter().text(), "channel:news");
    fx.ch('/');
    fx.type_text(" rain");
    fx.key(KeyCode::Enter);
    assert_eq!(fx.app.visible_log().0, vec![2]);
    // Esc in a filter prompt restores the previous filter.
    fx.ch('/');
    fx.type_text(" nothing-matches");
    assert!(fx.app.visible_log().0.is_empty());
    fx.key(KeyCode::Esc);
    assert_eq!(fx.app.visible_log().0, vec![2]);
    // Esc in normal mode clears it.
    fx.key(KeyCode::Esc);
    assert!(fx.app.filter().is_empty());
    assert_eq!(fx.app.visible_log().0, vec![0, 1, 2]);
}

#[test]
fn enter_on_a_channel_filters_the_log_to_it() {
    let mut fx = busy();
    fx.select_channel("private-chat");
    fx.key(KeyCode::Enter);
    assert_eq!(fx.app.focus(), Pane::Log);
    assert_eq!(fx.app.filter().text(), "channel:private-chat");
    let (v, _) = fx.app.visible_log();
    assert_eq!(v.len(), 1);
}

#[test]
fn pause_holds_the_view_while_events_arrive() {
    let mut fx = Fx::new();
    fx.msg(Msg::Resize(80, 24));
    for i in 0..50 {
        fx.event("a", "e", json!(i));
    }
    assert!(fx.app.is_following());
    let (before, sel) = fx.app.visible_log();
    assert_eq!(sel, Some(49));
    fx.ch('p');
    assert!(!fx.app.is_following());
    for i in 50..60 {
        fx.event("a", "e", json!(i));
    }
    assert_eq!(fx.app.visible_log().0, before, "paused view does not move");
    assert_eq!(fx.app.unseen, 10);
    // p again (or G) follows and shows the newest.
    fx.ch('p');
    assert!(fx.app.is_following());
    assert_eq!(fx.app.visible_log().1, Some(59));
    assert_eq!(fx.app.unseen, 0);
}

#[test]
fn moving_up_pauses_and_scrolls_the_window() {
    let mut fx = Fx::new();
    fx.msg(Msg::Resize(80, 24));
    for i in 0..100 {
        fx.event("a", "e", json!(i));
    }
    let rows = fx.app.log_rows();
    assert!(rows >= 5, "{rows}");
    fx.ch('k');
    assert_eq!(fx.app.visible_log().1, Some(98));
    for _ in 0..rows {
        fx.ch('k');
    }
    let (v, sel) = fx.app.visible_log();
    let sel = sel.expect("selection stays on screen");
    assert_eq!(sel, 98 - rows);
    assert_eq!(v.first(), Some(&sel), "window scrolled up to the selection");
    fx.ch('g');
    assert_eq!(fx.app.visible_log().1, Some(0));
    fx.key(KeyCode::PageDown);
    assert_eq!(fx.app.visible_log().1, Some(rows));
    let (v, _) = fx.app.visible_log();
    assert_eq!(
        v.last(),
        Some(&rows),
        "window scrolled down to the selection"
    );
    fx.ch('G');
    assert!(fx.app.is_following());
}

#[test]
fn ring_drops_oldest_and_counts_them() {
    let mut fx = Fx::with(AppConfig {
        log_capacity: 100,
        ..AppConfig::default()
    });
    for i in 0..100 {
        fx.event("a", "e", json!(i));
    }
    fx.ch('g'); // pause on the oldest
    for i in 100..250 {
        fx.event("a", "e", json!(i));
    }
    assert_eq!(fx.app.log().len(), 100);
    assert_eq!(fx.app.log().dropped(), 150);
    assert_eq!(fx.app.log().get(0).unwrap().data, json!(150));
    // The paused position was dropped: the view falls back to the oldest entry held.
    let (v, sel) = fx.app.visible_log();
    assert_eq!(v.first(), Some(&0));
    assert_eq!(sel, Some(0));
    let text = format!("{}", fx.render(80, 24).backend());
    assert!(text.contains("dropped 150"), "{text}");
    fx.ch('c');
    assert_eq!((fx.app.log().len(), fx.app.log().dropped()), (0, 0));
    assert!(fx.app.is_following());
}

#[test]
fn trigger_is_refused_on_public_and_unsubscribed_channels() {
    let mut fx = Fx::new();
    fx.ch('t');
    assert!(fx.app.prompt().is_none());
    assert!(fx.app.notice().unwrap().text.contains("select a private"));
    fx.subscribed("news");
    fx.ch('t');
    assert!(fx.app.prompt().is_none());
    assert!(fx.app.notice().unwrap().text.contains("news is public"));
    fx.ch('s');
    fx.type_text("private-x");
    fx.key(KeyCode::Enter);
    fx.ch('t');
    assert!(fx.app.prompt().is_none());
    assert!(fx.app.notice().unwrap().text.contains("not subscribed yet"));
    fx.ch('s');
    fx.type_text("private-encrypted-x");
    fx.key(KeyCode::Enter);
    fx.subscribed("private-encrypted-x");
    fx.ch('t');
    assert!(fx.app.prompt().is_none());
    assert!(fx.app.notice().unwrap().text.contains("is encrypted"));
}

#[test]
fn trigger_validates_name_and_json() {
    let mut fx = Fx::new();
    fx.ch('s');
    fx.type_text("presence-room");
    fx.key(KeyCode::Enter);
    fx.subscribed("presence-room");
    fx.ch('t');
    let p = fx.app.prompt().unwrap();
    assert_eq!(p.input.value(), "client-", "prefilled prefix");
    // Replace the prefix with a bad name.
    fx.msg(Msg::Key(KeyEvent::new(
        KeyCode::Char('u'),
        KeyModifiers::CONTROL,
    )));
    fx.type_text("typing");
    assert_eq!(fx.key(KeyCode::Enter).command, None);
    assert!(
        fx.app
            .prompt()
            .unwrap()
            .error
            .as_deref()
            .unwrap()
            .contains("client-"),
        "{:?}",
        fx.app.prompt()
    );
    fx.msg(Msg::Key(KeyEvent::new(
        KeyCode::Char('u'),
        KeyModifiers::CONTROL,
    )));
    fx.type_text("client-typing");
    assert_eq!(fx.key(KeyCode::Enter).command, None);
    assert!(matches!(
        fx.app.prompt().unwrap().kind,
        PromptKind::TriggerData { .. }
    ));
    fx.type_text("{\"who\": ");
    assert_eq!(fx.key(KeyCode::Enter).command, None);
    assert!(
        fx.app
            .prompt()
            .unwrap()
            .error
            .as_deref()
            .unwrap()
            .contains("not valid JSON")
    );
    fx.type_text("\"q\"}");
    let u = fx.key(KeyCode::Enter);
    assert_eq!(
        u.command,
        conn(ConnCommand::Trigger {
            channel: "presence-room".into(),
            event: "client-typing".into(),
            data: json!({"who": "q"}),
        })
    );
    assert!(!u.quit);
    assert!(fx.app.prompt().is_none());
}

#[test]
fn empty_trigger_data_sends_an_empty_object() {
    let mut fx = Fx::new();
    fx.subscribed("private-a");
    fx.select_channel("private-a");
    fx.ch('t');
    fx.type_text("x");
    fx.key(KeyCode::Enter);
    let u = fx.key(KeyCode::Enter);
    assert_eq!(
        u.command,
        conn(ConnCommand::Trigger {
            channel: "private-a".into(),
            event: "client-x".into(),
            data: json!({}),
        })
    );
}

#[test]
fn presence_join_and_leave_are_highlighted_then_settle() {
    let mut fx = busy();
    let roster = fx
        .app
        .channel("presence-room")
        .unwrap()
        .roster
        .clone()
        .unwrap();
    assert_eq!(roster.count(), 3);
    assert_eq!(roster.me.as_deref(), Some("1"));
    assert!(roster.members["4"].joined_at.is_some());
    assert_eq!(roster.departed.len(), 1);
    assert_eq!(roster.departed[0].id, "2");
    assert_eq!(
        fx.app
            .channel("presence-room")
            .unwrap()
            .roster
            .as_ref()
            .unwrap()
            .count(),
        3
    );
    fx.at(20_000).msg(Msg::Tick);
    let roster = fx
        .app
        .channel("presence-room")
        .unwrap()
        .roster
        .clone()
        .unwrap();
    assert!(roster.departed.is_empty());
    assert!(roster.members["4"].joined_at.is_none());
}

#[test]
fn state_changes_drive_the_status() {
    let mut fx = busy();
    let st = fx.app.status();
    assert_eq!(st.state, State::Connected);
    assert_eq!(st.socket_id.as_deref(), Some("123.456"));
    assert_eq!(st.reconnects, 1);
    assert_eq!(st.last_rtt, Some(Duration::from_millis(42)));
    assert_eq!(st.retry_at, None, "cleared by connected");
    // The time spent in the previous state is recorded with each change.
    let last_state = fx
        .app
        .timeline()
        .rev()
        .find_map(|e| match &e.kind {
            super::model::TimelineKind::State { in_previous, .. } => *in_previous,
            _ => None,
        })
        .unwrap();
    assert_eq!(last_state, Duration::from_millis(1_100));
    // Dropping the connection makes subscribed channels pending and forgets members.
    fx.at(11_000).state(
        State::Connected,
        State::Unavailable,
        Some("connection lost"),
    );
    fx.rec(SessionRecord::Client(Record::ConnectingIn {
        delay_ms: 4_000,
        reason: None,
    }));
    assert!(
        fx.app
            .channels()
            .all(|c| c.status != ChannelStatus::Subscribed)
    );
    assert!(fx.app.channel("presence-room").unwrap().roster.is_none());
    assert_eq!(
        fx.app.status().retry_at,
        Some(fx.now() + Duration::from_millis(4_000))
    );
    fx.at(12_000).msg(Msg::Tick);
    let text = format!("{}", fx.render(80, 24).backend());
    assert!(text.contains("retry in 3s"), "{text}");
}

#[test]
fn unsubscribe_marks_leaving_until_confirmed() {
    let mut fx = busy();
    fx.select_channel("news");
    let u = fx.ch('u');
    assert_eq!(
        u.command,
        conn(ConnCommand::Unsubscribe {
            channel: "news".into()
        })
    );
    assert_eq!(
        fx.app.channel("news").unwrap().status,
        ChannelStatus::Leaving
    );
    fx.rec(SessionRecord::Client(Record::Unsubscribed {
        channel: "news".into(),
    }));
    assert!(fx.app.channel("news").is_none());
    assert!(fx.app.selected_channel().is_some());
    // A failed channel is forgotten at once.
    fx.select_channel("private-secret");
    fx.ch('u');
    assert!(fx.app.channel("private-secret").is_none());
    // With nothing selected there is a message, not a command.
    let mut fx = Fx::new();
    assert_eq!(fx.ch('u').command, None);
    assert!(fx.app.notice().is_some());
}

#[test]
fn disconnect_and_reconnect_are_commands_and_timeline_causes() {
    let mut fx = Fx::new();
    assert_eq!(fx.ch('d').command, conn(ConnCommand::Disconnect));
    assert_eq!(fx.ch('r').command, conn(ConnCommand::Connect));
    let words: Vec<String> = fx.app.timeline().map(|e| format!("{:?}", e.kind)).collect();
    assert_eq!(words.len(), 2);
    assert!(words[0].contains("user pressed d"), "{words:?}");
    assert!(words[1].contains("user pressed r"), "{words:?}");

    // Rebound, the timeline names the key in force.
    let mut keys = crate::config::keys::KeysLayer::default();
    keys.bind("disconnect", &["D"]).unwrap();
    let mut fx = Fx::with(AppConfig {
        keymap: keys.keymap().unwrap(),
        ..AppConfig::default()
    });
    assert_eq!(fx.ch('D').command, conn(ConnCommand::Disconnect));
    let words: Vec<String> = fx.app.timeline().map(|e| format!("{:?}", e.kind)).collect();
    assert!(words[0].contains("user pressed D"), "{words:?}");
}

#[test]
fn help_overlay_takes_the_keys() {
    let mut fx = Fx::new();
    fx.ch('?');
    assert!(fx.app.help_visible());
    assert_eq!(fx.ch('d').command, None, "bindings are inert under help");
    fx.key(KeyCode::Esc);
    assert!(!fx.app.help_visible());
    fx.ch('?');
    fx.ch('?');
    assert!(!fx.app.help_visible());
}

#[test]
fn enter_opens_detail_and_esc_closes_it() {
    let mut fx = busy();
    fx.app.focus = Pane::Log;
    fx.key(KeyCode::Enter);
    let d = fx.app.detail().expect("detail open");
    assert_eq!(d.entry.event, "message");
    fx.ch('j');
    assert_eq!(fx.app.detail().unwrap().scroll, 1);
    // Events keep arriving under the detail view.
    fx.event("news", "headline", json!(1));
    assert_eq!(fx.app.detail().unwrap().entry.event, "message");
    fx.key(KeyCode::Esc);
    assert!(fx.app.detail().is_none());
}

#[test]
fn focus_moves_with_tab_arrows_and_clicks() {
    let mut fx = Fx::new();
    fx.msg(Msg::Resize(80, 24));
    assert_eq!(fx.app.focus(), Pane::Log);
    fx.key(KeyCode::Tab);
    assert_eq!(fx.app.focus(), Pane::Timeline);
    fx.ch('h');
    assert_eq!(fx.app.focus(), Pane::Log);
    fx.key(KeyCode::BackTab);
    assert_eq!(fx.app.focus(), Pane::Channels);
    let click = MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: 70,
        row: 20,
        modifiers: KeyModifiers::NONE,
    };
    fx.msg(Msg::Mouse(click));
    assert_eq!(fx.app.focus(), Pane::Timeline);
}

#[test]
fn mouse_wheel_scrolls_the_pane_under_the_pointer() {
    let mut fx = Fx::new();
    fx.msg(Msg::Resize(80, 24));
    for i in 0..40 {
        fx.event("a", "e", json!(i));
    }
    let log = fx.app.areas().log.unwrap();
    let wheel = |kind| MouseEvent {
        kind,
        column: log.x + 3,
        row: log.y + 3,
        modifiers: KeyModifiers::NONE,
    };
    fx.msg(Msg::Mouse(wheel(MouseEventKind::ScrollUp)));
    assert!(matches!(fx.app.log_view(), LogView::Paused { .. }));
    assert_eq!(fx.app.visible_log().1, Some(39 - 3));
    fx.msg(Msg::Mouse(wheel(MouseEventKind::ScrollDown)));
    assert_eq!(fx.app.visible_log().1, Some(39));
}

#[test]
fn records_closed_is_shown_and_the_ui_stays() {
    let mut fx = Fx::new();
    let u = fx.msg(Msg::RecordsClosed);
    assert!(u.redraw && !u.quit);
    assert!(fx.app.status().client_gone);
    let text = format!("{}", fx.render(80, 24).backend());
    assert!(text.contains("client stopped"), "{text}");
}

#[test]
fn subscription_error_shows_status_and_reason() {
    let mut fx = busy();
    let c = fx.app.channel("private-secret").unwrap();
    assert_eq!(
        c.status,
        ChannelStatus::Failed {
            status: Some(403),
            message: "Forbidden: invalid signature".into()
        }
    );
    fx.select_channel("private-secret");
    let text = format!("{}", fx.render(80, 24).backend());
    assert!(
        text.contains("failed 403") || text.contains("✗ private-secret"),
        "{text}"
    );
    assert!(text.contains("Forbidden"), "{text}");
}

#[test]
fn every_size_renders_without_panic() {
    let mut fx = busy();
    for (w, h) in [
        (80, 24),
        (200, 50),
        (120, 40),
        (59, 30),
        (100, 11),
        (40, 10),
        (20, 5),
        (10, 3),
        (1, 1),
        (0, 0),
    ] {
        fx.msg(Msg::Resize(w, h));
        for pane in Pane::ORDER {
            fx.app.focus = pane;
            fx.render(w, h);
        }
        fx.app.focus = Pane::Log;
        fx.ch('?');
        fx.render(w, h);
        fx.ch('?');
        fx.key(KeyCode::Enter);
        fx.render(w, h);
        fx.key(KeyCode::Esc);
        fx.ch('s');
        fx.type_text("a-very-long-channel-name-that-does-not-fit-anywhere");
        fx.render(w, h);
        fx.key(KeyCode::Esc);
        fx.ch('/');
        fx.render(w, h);
        fx.key(KeyCode::Esc);
        fx.ch('x');
        fx.render(w, h);
        fx.key(KeyCode::Esc);
        fx.select_channel("private-secret");
        fx.ch('a');
        fx.render(w, h);
        fx.key(KeyCode::Esc);
        fx.app.focus = Pane::Log;
        fx.ch('L');
        fx.key(KeyCode::Enter);
        fx.rec(SessionRecord::Channels {
            prefix: None,
            channels: json!({"presence-a-very-long-name-indeed-that-goes-on": {"user_count": 12}, "b": {}}),
        });
        fx.render(w, h);
        fx.key(KeyCode::Esc);
    }
}

#[test]
fn small_terminal_shows_the_focused_pane_only() {
    let mut fx = busy();
    fx.select_channel("presence-room");
    fx.msg(Msg::Resize(50, 14));
    fx.app.focus = Pane::Members;
    let text = format!("{}", fx.render(50, 14).backend());
    assert!(text.contains("Members"), "{text}");
    assert!(!text.contains("Timeline"), "{text}");
    fx.key(KeyCode::Tab);
    let text = format!("{}", fx.render(50, 14).backend());
    assert!(text.contains("Channels"), "{text}");
}

#[test]
fn no_color_theme_draws_no_colours() {
    let mut fx = Fx::with(AppConfig {
        theme: Theme::monochrome(),
        ..AppConfig::default()
    });
    let mut coloured = busy();
    fx.msg(Msg::Resize(80, 24));
    // Same content as the busy fixture, but monochrome.
    std::mem::swap(&mut fx.app.model, &mut coloured.app.model);
    fx.app.modals.push(Modal::Help);
    let term = fx.render(80, 24);
    for cell in term.backend().buffer().content() {
        assert_eq!(cell.fg, Color::Reset, "{cell:?}");
        assert_eq!(cell.bg, Color::Reset, "{cell:?}");
    }
    let term = busy().render(80, 24);
    assert!(
        term.backend()
            .buffer()
            .content()
            .iter()
            .any(|c| c.fg != Color::Reset),
        "the coloured theme does use colour"
    );
}

#[test]
fn help_is_built_from_the_live_keymap() {
    let mut fx = Fx::new();
    fx.ch('?');
    // Tall: one column; 80x24: two columns. Either way every binding is shown.
    for (w, h) in [(100, 40), (80, 24)] {
        let text = format!("{}", fx.render(w, h).backend());
        for (_, rows) in fx.app.help_sections() {
            for (keys, what) in rows {
                assert!(text.contains(what), "help lacks {what:?}\n{text}");
                assert!(text.contains(&keys), "help lacks {keys:?}\n{text}");
            }
        }
    }
    assert_eq!(
        fx.app.keymap().first_key(Action::Filter).as_deref(),
        Some("/")
    );
}

#[test]
fn close_codes_are_explained() {
    use super::app::explain_cause;
    assert_eq!(
        explain_cause("closed with 4004"),
        "closed with 4004 (over connection quota)"
    );
    assert_eq!(
        explain_cause("4200 server asked to reconnect"),
        "4200 server asked to reconnect"
    );
    assert_eq!(explain_cause("pong timeout"), "pong timeout");
}

// ----- snapshots (reviewed by eye; see src/ui/snapshots) -----

#[test]
fn snapshot_dashboard_80x24() {
    let fx = busy();
    insta::assert_snapshot!("dashboard_80x24", fx.render(80, 24).backend());
}

#[test]
fn snapshot_dashboard_140x36() {
    let mut fx = busy();
    fx.msg(Msg::Resize(140, 36));
    fx.select_channel("presence-room");
    insta::assert_snapshot!("dashboard_140x36", fx.render(140, 36).backend());
}

#[test]
fn snapshot_status_bar() {
    let mut fx = busy();
    fx.at(11_000).state(
        State::Connected,
        State::Connecting,
        Some("closed with 4200"),
    );
    fx.rec(SessionRecord::Client(Record::ConnectingIn {
        delay_ms: 2_500,
        reason: None,
    }));
    fx.at(12_000);
    fx.msg(Msg::Tick);
    fx.app.info.demo = true;
    insta::assert_snapshot!(
        "status_bar",
        fx.render_pane(100, 2, view::status::render).backend()
    );
}

#[test]
fn snapshot_timeline() {
    let fx = busy();
    insta::assert_snapshot!(
        "timeline",
        fx.render_pane(90, 12, view::timeline::render).backend()
    );
}

#[test]
fn snapshot_channels_wide_and_narrow() {
    let mut fx = busy();
    fx.select_channel("presence-room");
    insta::assert_snapshot!(
        "channels_wide",
        fx.render_pane(70, 9, view::channels::render).backend()
    );
    insta::assert_snapshot!(
        "channels_narrow",
        fx.render_pane(30, 9, view::channels::render).backend()
    );
}

#[test]
fn snapshot_event_log_with_filter() {
    let mut fx = busy();
    fx.msg(Msg::Resize(120, 40));
    fx.ch('/');
    fx.type_text("e:headline");
    fx.key(KeyCode::Enter);
    fx.ch('k');
    insta::assert_snapshot!(
        "event_log_filtered",
        fx.render_pane(90, 10, view::events::render).backend()
    );
}

#[test]
fn snapshot_members() {
    let mut fx = busy();
    fx.select_channel("presence-room");
    insta::assert_snapshot!(
        "members_presence",
        fx.render_pane(40, 8, view::members::render).backend()
    );
    fx.select_channel("private-secret");
    insta::assert_snapshot!(
        "members_failed_channel",
        fx.render_pane(40, 8, view::members::render).backend()
    );
}

#[test]
fn snapshot_detail() {
    let mut fx = busy();
    fx.app.focus = Pane::Log;
    fx.ch('k');
    fx.ch('k'); // two back: a news headline with nested JSON
    fx.key(KeyCode::Enter);
    insta::assert_snapshot!(
        "detail",
        fx.render_pane(60, 16, view::detail::render).backend()
    );
}

#[test]
fn snapshot_help_overlay() {
    let mut fx = busy();
    fx.ch('?');
    insta::assert_snapshot!("help_80x24", fx.render(80, 24).backend());
}

#[test]
fn snapshot_prompt_with_error() {
    let mut fx = busy();
    fx.ch('s');
    fx.type_text("#server-to-user-1");
    fx.key(KeyCode::Enter);
    insta::assert_snapshot!(
        "prompt_error",
        fx.render_pane(80, 9, view::prompt::render).backend()
    );
}

// ----- fault menu, HTTP API, auth inspector -----

/// `busy` plus an auth exchange for each of its authorized channels: private-chat passed,
/// private-secret was refused with 403 by an endpoint.
fn busy_with_auth() -> Fx {
    let mut fx = busy();
    fx.at(9_500).rec(SessionRecord::Client(Record::Auth {
        channel: "private-chat".into(),
        socket_id: "123.456".into(),
        request: json!({"kind": "local", "hmac_sha256_of": "123.456:private-chat"}),
        ok: true,
        status: None,
        response: json!({"auth": "app-key:0f3c", "channel_data": null, "shared_secret": null}),
        duration_ms: 0,
        failure: None,
    }));
    fx.rec(SessionRecord::Client(Record::Auth {
        channel: "private-secret".into(),
        socket_id: "123.456".into(),
        request: json!({
            "kind": "endpoint",
            "transport": "ajax",
            "method": "POST",
            "url": "http://127.0.0.1:3000/pusher/auth",
            "form": {"socket_id": "123.456", "channel_name": "private-secret"},
            "headers": {"Authorization": "Bea…(31 chars)", "X-Team": "blue"},
        }),
        ok: false,
        status: Some(403),
        response: json!({"error": "auth endpoint answered HTTP 403 Forbidden: {\"message\":\"no\"}"}),
        duration_ms: 12,
        failure: Some(AuthFailureKind::HttpStatus(403)),
    }));
    fx
}

#[test]
fn fault_menu_sends_the_chosen_fault_and_closes() {
    let mut fx = busy();
    let before = fx.app.timeline().len();
    let events = fx.app.log().len();
    fx.ch('x');
    assert_eq!(fx.app.overlay(), Some(&Overlay::FaultMenu));
    assert_eq!(fx.app.mode(), Mode::FaultMenu);
    // Letters that mean something else in normal mode are the menu's (or nothing) here.
    let u = fx.ch('q');
    assert!(
        !u.quit && u.command.is_none(),
        "q is not a fault and does not quit"
    );
    let u = fx.ch('c');
    assert_eq!(u.command, Some(Command::Fault(FaultKind::Cut)));
    assert!(fx.app.overlay().is_none());
    assert_eq!(fx.app.log().len(), events, "c did not clear the log");
    // The session's fault record marks the timeline; the key press adds nothing of its own.
    assert_eq!(fx.app.timeline().len(), before);
    fx.rec(SessionRecord::Fault {
        fault: "cut".into(),
    });
    let last = fx.app.timeline().last().unwrap();
    assert_eq!(last.kind, TimelineKind::Fault("cut".into()));

    for (key, fault) in [
        ('o', FaultKind::Drop),
        ('w', FaultKind::Down),
        ('e', FaultKind::Restore),
        ('1', FaultKind::Close { code: 4001 }),
        ('4', FaultKind::Close { code: 4004 }),
        ('0', FaultKind::Close { code: 4100 }),
        ('2', FaultKind::Close { code: 4200 }),
        ('3', FaultKind::Close { code: 4201 }),
        ('n', FaultKind::NoPong),
    ] {
        fx.ch('x');
        assert_eq!(fx.ch(key).command, Some(Command::Fault(fault)), "{key}");
    }
    fx.ch('x');
    assert_eq!(fx.key(KeyCode::Esc).command, None);
    assert!(fx.app.overlay().is_none());
    assert_eq!(fx.app.mode(), Mode::Normal);
}

#[test]
fn fault_delay_asks_for_milliseconds() {
    let mut fx = Fx::new();
    fx.ch('x');
    assert_eq!(fx.ch('l').command, None);
    let p = fx.app.prompt().expect("delay prompt");
    assert_eq!(p.kind, PromptKind::FaultDelay);
    assert_eq!(p.input.value(), "500");
    assert_eq!(
        fx.key(KeyCode::Enter).command,
        Some(Command::Fault(FaultKind::Delay { ms: 500 }))
    );
    fx.ch('x');
    fx.ch('l');
    for _ in 0..3 {
        fx.key(KeyCode::Backspace);
    }
    fx.type_text("70000");
    assert_eq!(fx.key(KeyCode::Enter).command, None);
    let err = fx.app.prompt().unwrap().error.clone().unwrap();
    assert!(err.contains("1 to 60000"), "{err}");
    for _ in 0..5 {
        fx.key(KeyCode::Backspace);
    }
    fx.type_text("1200");
    assert_eq!(
        fx.key(KeyCode::Enter).command,
        Some(Command::Fault(FaultKind::Delay { ms: 1200 }))
    );
}

#[test]
fn publish_walks_four_prompts_and_parses_data() {
    let mut fx = busy();
    fx.select_channel("news");
    fx.ch('T');
    let p = fx.app.prompt().expect("channel prompt");
    assert_eq!(p.kind, PromptKind::PublishChannel);
    assert_eq!(
        p.input.value(),
        "news",
        "prefilled with the selected channel"
    );
    fx.key(KeyCode::Enter);
    assert!(matches!(
        fx.app.prompt().unwrap().kind,
        PromptKind::PublishEvent { .. }
    ));
    // An empty event name is refused; letters that are bindings are text.
    assert_eq!(fx.key(KeyCode::Enter).command, None);
    assert!(fx.app.prompt().unwrap().error.is_some());
    fx.type_text("breaking-q");
    fx.key(KeyCode::Enter);
    fx.type_text(r#"{"title":"#);
    assert_eq!(fx.key(KeyCode::Enter).command, None);
    let err = fx.app.prompt().unwrap().error.clone().unwrap();
    assert!(err.contains("not valid JSON"), "{err}");
    fx.type_text(r#""Rust 2"}"#);
    fx.key(KeyCode::Enter);
    let p = fx.app.prompt().expect("exclude prompt");
    assert_eq!(p.input.value(), "n");
    fx.key(KeyCode::Backspace);
    fx.type_text("maybe");
    assert_eq!(fx.key(KeyCode::Enter).command, None);
    for _ in 0..5 {
        fx.key(KeyCode::Backspace);
    }
    fx.ch('y');
    let u = fx.key(KeyCode::Enter);
    assert_eq!(
        u.command,
        Some(Command::Publish {
            channel: "news".into(),
            event: "breaking-q".into(),
            data: json!({"title": "Rust 2"}),
            exclude_self: true,
        })
    );
    assert!(fx.app.prompt().is_none());

    // Plain text is sent as a JSON string; the default answer does not exclude.
    fx.ch('T');
    fx.key(KeyCode::Enter);
    fx.type_text("note");
    fx.key(KeyCode::Enter);
    fx.type_text("hello world");
    fx.key(KeyCode::Enter);
    let u = fx.key(KeyCode::Enter);
    assert_eq!(
        u.command,
        Some(Command::Publish {
            channel: "news".into(),
            event: "note".into(),
            data: json!("hello world"),
            exclude_self: false,
        })
    );
    fx.rec(SessionRecord::Published {
        channel: "news".into(),
        event: "note".into(),
        excluded_socket_id: None,
    });
    assert!(
        fx.app
            .notice()
            .unwrap()
            .text
            .contains("published note to news")
    );
}

#[test]
fn publish_without_the_api_says_why() {
    let mut fx = Fx::new();
    fx.rec(SessionRecord::CommandError {
        cmd: "publish".into(),
        channel: Some("news".into()),
        status: None,
        message:
            "the HTTP API needs an app id and secret (--app-id and --secret, or the config file)"
                .into(),
    });
    let n = fx.app.notice().expect("notice");
    assert_eq!(n.level, NoticeLevel::Error);
    assert!(n.text.contains("app id and secret"), "{}", n.text);
    // Connection errors keep to the timeline.
    fx.app.notice = None;
    fx.rec(SessionRecord::Client(Record::Error {
        code: None,
        message: "event x for channel y, which is not subscribed".into(),
    }));
    assert!(fx.app.notice().is_none());
}

/// Boxes stack: a channel list that arrives while an event's detail is open opens the picker
/// over it, and the picker is both what is drawn on top and what takes the keys. Closing it
/// gives the keys back to the detail.
#[test]
fn a_picker_that_arrives_over_the_detail_is_on_top_and_takes_the_keys() {
    let mut fx = busy();
    fx.app.focus = Pane::Log;
    fx.ch('L');
    fx.key(KeyCode::Enter); // list every channel
    fx.key(KeyCode::Enter); // open the selected event
    assert!(fx.app.detail().is_some());
    let names = ["zz-orders-eu", "zz-orders-us"];
    let text = format!("{}", fx.render(80, 24).backend());
    assert!(
        !names.iter().any(|n| text.contains(n)),
        "not yet listed\n{text}"
    );

    fx.rec(SessionRecord::Channels {
        prefix: None,
        channels: json!({names[0]: {}, names[1]: {}}),
    });
    assert!(matches!(
        fx.app.top_modal(),
        Some(Modal::Overlay(Overlay::Picker(_)))
    ));
    assert!(fx.app.detail().is_some(), "the detail stays open beneath");
    assert_eq!(fx.app.mode(), Mode::Normal);
    // Drawn on top: the picker's rows show over the detail.
    let text = format!("{}", fx.render(80, 24).backend());
    for name in names {
        assert!(text.contains(name), "picker hidden: {name}\n{text}");
    }
    // The keys go to it: j moves the picker, not the detail's scroll.
    fx.ch('j');
    let Some(Overlay::Picker(p)) = fx.app.overlay() else {
        panic!("picker open: {:?}", fx.app.overlay());
    };
    assert_eq!(p.selected, 1);
    assert_eq!(fx.app.detail().unwrap().scroll, 0);
    assert_eq!(
        fx.key(KeyCode::Enter).command,
        conn(ConnCommand::Subscribe {
            channel: names[1].into()
        })
    );
    // The picker closed; the detail has the keys again.
    assert!(fx.app.overlay().is_none());
    assert!(matches!(fx.app.top_modal(), Some(Modal::Detail(_))));
    fx.ch('j');
    assert_eq!(fx.app.detail().unwrap().scroll, 1);
    fx.key(KeyCode::Esc);
    assert!(fx.app.top_modal().is_none());
}

/// Help opened from the detail goes over it and closes back to it.
#[test]
fn help_over_the_detail_closes_back_to_it() {
    let mut fx = busy();
    fx.app.focus = Pane::Log;
    fx.key(KeyCode::Enter);
    fx.ch('?');
    assert!(matches!(fx.app.top_modal(), Some(Modal::Help)));
    let text = format!("{}", fx.render(80, 24).backend());
    assert!(
        text.contains("Help: ? or Esc closes"),
        "help drawn on top\n{text}"
    );
    fx.ch('j'); // help ignores it
    assert_eq!(fx.app.detail().unwrap().scroll, 0);
    fx.ch('?');
    assert!(matches!(fx.app.top_modal(), Some(Modal::Detail(_))));
}

#[test]
fn channel_picker_subscribes_to_the_chosen_channel() {
    let mut fx = busy();
    fx.app.focus = Pane::Log;
    fx.ch('L');
    assert_eq!(fx.app.prompt().unwrap().kind, PromptKind::ListPrefix);
    fx.type_text("presence-");
    assert_eq!(
        fx.key(KeyCode::Enter).command,
        Some(Command::ListChannels {
            prefix: Some("presence-".into())
        })
    );
    // An answer for another prefix is not ours: a timeline note, no picker.
    let notes = fx.app.timeline().len();
    fx.rec(SessionRecord::Channels {
        prefix: None,
        channels: json!({"news": {}}),
    });
    assert!(fx.app.overlay().is_none());
    assert_eq!(fx.app.timeline().len(), notes + 1);
    fx.rec(SessionRecord::Channels {
        prefix: Some("presence-".into()),
        channels: json!({
            "presence-room": {"user_count": 3},
            "presence-lobby": {"user_count": 12},
        }),
    });
    let Some(Overlay::Picker(p)) = fx.app.overlay() else {
        panic!("picker open: {:?}", fx.app.overlay());
    };
    assert_eq!(p.items.len(), 2);
    assert_eq!(p.items[0].name, "presence-lobby", "sorted");
    assert_eq!(fx.app.timeline().len(), notes + 1, "no note for our answer");
    // j moves in the picker, not in the log; Enter subscribes and selects.
    fx.ch('j');
    fx.ch('k');
    let u = fx.key(KeyCode::Enter);
    assert_eq!(
        u.command,
        conn(ConnCommand::Subscribe {
            channel: "presence-lobby".into()
        })
    );
    assert!(fx.app.overlay().is_none());
    assert_eq!(fx.app.selected_channel().unwrap().name, "presence-lobby");
    assert_eq!(
        fx.app.channel("presence-lobby").unwrap().status,
        ChannelStatus::Pending
    );
    // Channels no client may subscribe to are refused with the reason; the picker stays.
    fx.ch('L');
    fx.key(KeyCode::Enter);
    fx.rec(SessionRecord::Channels {
        prefix: None,
        channels: json!({"#server-to-user-7": {}}),
    });
    assert_eq!(fx.key(KeyCode::Enter).command, None);
    assert!(matches!(fx.app.overlay(), Some(Overlay::Picker(_))));
    assert!(fx.app.notice().unwrap().text.contains("reserved"));
    fx.key(KeyCode::Esc);
    // Picking a channel already subscribed only selects it.
    fx.ch('L');
    fx.type_text("presence-");
    fx.key(KeyCode::Enter);
    fx.rec(SessionRecord::Channels {
        prefix: Some("presence-".into()),
        channels: json!({"presence-room": {}}),
    });
    assert_eq!(fx.key(KeyCode::Enter).command, None);
    assert_eq!(fx.app.selected_channel().unwrap().name, "presence-room");
    // Esc closes without subscribing; a later answer is unsolicited.
    fx.ch('L');
    fx.key(KeyCode::Enter);
    fx.rec(SessionRecord::Channels {
        prefix: None,
        channels: json!({"x": {}}),
    });
    assert_eq!(fx.key(KeyCode::Esc).command, None);
    assert!(fx.app.overlay().is_none());
    fx.rec(SessionRecord::Channels {
        prefix: None,
        channels: json!({"x": {}}),
    });
    assert!(fx.app.overlay().is_none());
}

#[test]
fn empty_channel_list_is_a_notice() {
    let mut fx = Fx::new();
    fx.ch('L');
    fx.key(KeyCode::Enter);
    fx.rec(SessionRecord::Channels {
        prefix: None,
        channels: json!({}),
    });
    assert!(fx.app.overlay().is_none());
    assert_eq!(fx.app.notice().unwrap().text, "no occupied channels");
}

#[test]
fn presence_users_are_compared_with_the_live_list() {
    let mut fx = busy();
    fx.select_channel("news");
    let u = fx.ch('U');
    assert_eq!(u.command, None);
    assert_eq!(fx.app.notice().unwrap().level, NoticeLevel::Error);
    fx.select_channel("presence-room");
    assert_eq!(
        fx.ch('U').command,
        Some(Command::ListUsers {
            channel: "presence-room".into()
        })
    );
    fx.rec(SessionRecord::Users {
        channel: "presence-room".into(),
        users: vec!["1".into(), "3".into(), "9".into()],
    });
    let n = fx.app.notice().unwrap().text.clone();
    assert!(
        n.contains("3 user(s) on presence-room, 1 not in the live member list"),
        "{n}"
    );
    assert!(n.contains("1 live member(s) missing"), "{n}");
    let text = format!(
        "{}",
        fx.render_pane(40, 12, view::members::render).backend()
    );
    assert!(text.contains("HTTP API users 3"), "{text}");
    assert!(text.contains("? 9 not in the live list"), "{text}");
    assert!(text.contains("live only: 4"), "{text}");
}

#[test]
fn auth_inspector_shows_request_response_and_hint() {
    let mut fx = busy_with_auth();
    fx.select_channel("news");
    fx.ch('a');
    assert!(fx.app.overlay().is_none());
    assert!(fx.app.notice().unwrap().text.contains("public"));
    fx.select_channel("private-secret");
    let text = format!("{}", fx.render(80, 24).backend());
    assert!(text.contains("auth   failed 403 (12 ms)"), "{text}");
    fx.ch('a');
    assert!(matches!(fx.app.overlay(), Some(Overlay::Auth(_))));
    let text = format!("{}", fx.render(80, 30).backend());
    for want in [
        "failed 403 (12 ms)",
        "the endpoint refused",
        "POST",
        "http://127.0.0.1:3000/pusher/auth",
        "channel_name",
        "Bea…(31 chars)",
        "403 Forbidden",
    ] {
        assert!(text.contains(want), "inspector lacks {want:?}\n{text}");
    }
    // The inspector scrolls, and Esc returns to the panes.
    fx.ch('j');
    let Some(Overlay::Auth(v)) = fx.app.overlay() else {
        panic!()
    };
    assert_eq!(v.scroll, 1);
    fx.key(KeyCode::Esc);
    assert!(fx.app.overlay().is_none());
    // A later exchange replaces the earlier one.
    fx.rec(SessionRecord::Client(Record::Auth {
        channel: "private-secret".into(),
        socket_id: "123.456".into(),
        request: json!({"kind": "local"}),
        ok: true,
        status: None,
        response: json!({"auth": "k:s"}),
        duration_ms: 3,
        failure: None,
    }));
    assert!(fx.app.auth_exchange("private-secret").unwrap().ok);
}

#[test]
fn failed_subscription_notice_points_at_the_inspector() {
    let mut fx = busy_with_auth();
    fx.rec(SessionRecord::Client(Record::SubscriptionError {
        channel: "private-secret".into(),
        status: Some(403),
        message: "Forbidden".into(),
    }));
    let n = fx.app.notice().unwrap().text.clone();
    assert!(n.ends_with("a inspects the auth exchange"), "{n}");
}

#[test]
fn subscription_count_and_cache_miss_show_on_the_channel() {
    let mut fx = busy();
    fx.event(
        "news",
        "pusher:subscription_count",
        json!({"subscription_count": 7}),
    );
    fx.event(
        "private-chat",
        "pusher:subscription_count",
        json!("{\"subscription_count\":2}"),
    );
    fx.event("cache-prices", "pusher:cache_miss", json!({}));
    assert_eq!(fx.app.channel("news").unwrap().subscription_count, Some(7));
    assert_eq!(
        fx.app.channel("private-chat").unwrap().subscription_count,
        Some(2)
    );
    assert!(fx.app.channel("cache-prices").unwrap().cache_miss);
    let text = format!(
        "{}",
        fx.render_pane(30, 9, view::channels::render).backend()
    );
    assert!(text.contains("✓ news                7    7"), "{text}");
    assert!(text.contains("✓ private-chat        2    2"), "{text}");
    fx.select_channel("cache-prices");
    let text = format!("{}", fx.render(80, 24).backend());
    assert!(text.contains("kind   public cache"), "{text}");
    assert!(text.contains("miss: none cached"), "{text}");
    fx.select_channel("news");
    let text = format!("{}", fx.render(80, 24).backend());
    assert!(text.contains("subs   7"), "{text}");
    // A new connection brings new counts: the old ones go.
    fx.state(
        State::Connected,
        State::Connecting,
        Some("closed with 4200"),
    );
    assert_eq!(fx.app.channel("news").unwrap().subscription_count, None);
    assert!(!fx.app.channel("cache-prices").unwrap().cache_miss);
}

#[test]
fn signed_in_user_is_in_the_status_bar_until_the_connection_ends() {
    let mut fx = busy();
    fx.rec(SessionRecord::Client(Record::SignedIn {
        user_id: "ann-42".into(),
        user_data: json!({"id": "ann-42"}),
    }));
    let text = format!("{}", fx.render_pane(100, 2, view::status::render).backend());
    assert!(text.contains("user ann-42"), "{text}");
    fx.state(
        State::Connected,
        State::Connecting,
        Some("closed with 4200"),
    );
    assert_eq!(fx.app.status().user_id, None);
}

#[test]
fn help_lists_the_fault_menu_keys() {
    let mut fx = Fx::new();
    fx.ch('?');
    let text = format!("{}", fx.render(80, 24).backend());
    for (keys, pick, what) in fx.app.keymap().fault_entries() {
        // One connection: the demo cluster's node faults are not offered.
        let listed = text.contains(&format!("{keys} {what}"));
        assert_eq!(listed, !pick.needs_node(), "{keys}\n{text}");
    }
}

#[test]
fn snapshot_fault_menu() {
    let mut fx = busy();
    fx.ch('x');
    insta::assert_snapshot!("fault_menu_80x24", fx.render(80, 24).backend());
}

#[test]
fn snapshot_publish_prompt() {
    let mut fx = busy();
    fx.select_channel("news");
    fx.ch('T');
    fx.key(KeyCode::Enter);
    fx.type_text("breaking");
    fx.key(KeyCode::Enter);
    fx.type_text("{oops");
    fx.key(KeyCode::Enter);
    insta::assert_snapshot!(
        "publish_prompt_error",
        fx.render_pane(80, 9, view::prompt::render).backend()
    );
}

#[test]
fn snapshot_channel_picker() {
    let mut fx = busy();
    fx.ch('L');
    fx.key(KeyCode::Enter);
    fx.rec(SessionRecord::Channels {
        prefix: None,
        channels: json!({
            "news": {},
            "presence-room": {"user_count": 3},
            "presence-lobby": {"user_count": 12},
            "private-orders": {"subscription_count": 2},
        }),
    });
    fx.ch('j');
    insta::assert_snapshot!("channel_picker_80x24", fx.render(80, 24).backend());
}

#[test]
fn snapshot_auth_inspector() {
    let mut fx = busy_with_auth();
    fx.select_channel("private-secret");
    fx.ch('a');
    insta::assert_snapshot!("auth_inspector_80x24", fx.render(80, 24).backend());
}

#[test]
fn overlays_draw_no_colours_under_no_color() {
    let mut fx = busy_with_auth();
    fx.app.theme = Theme::monochrome();
    let no_colour = |fx: &Fx, what: &str| {
        let term = fx.render(80, 24);
        for cell in term.backend().buffer().content() {
            assert_eq!(cell.fg, Color::Reset, "{what}: {cell:?}");
            assert_eq!(cell.bg, Color::Reset, "{what}: {cell:?}");
        }
    };
    fx.ch('x');
    no_colour(&fx, "fault menu");
    fx.key(KeyCode::Esc);
    fx.select_channel("private-secret");
    fx.ch('a');
    no_colour(&fx, "auth inspector");
    fx.key(KeyCode::Esc);
    fx.ch('L');
    fx.key(KeyCode::Enter);
    fx.rec(SessionRecord::Channels {
        prefix: None,
        channels: json!({"news": {}, "presence-x": {"user_count": 2}}),
    });
    no_colour(&fx, "channel picker");
}

#[test]
fn mouse_wheel_moves_inside_the_overlays() {
    let mut fx = busy_with_auth();
    fx.select_channel("private-secret");
    fx.ch('a');
    let wheel = MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column: 10,
        row: 10,
        modifiers: KeyModifiers::NONE,
    };
    fx.msg(Msg::Mouse(wheel));
    let Some(Overlay::Auth(v)) = fx.app.overlay() else {
        panic!("inspector open")
    };
    assert_eq!(v.scroll, 3);
    fx.key(KeyCode::Esc);
    fx.ch('L');
    fx.key(KeyCode::Enter);
    fx.rec(SessionRecord::Channels {
        prefix: None,
        channels: json!({"a": {}, "b": {}}),
    });
    fx.msg(Msg::Mouse(wheel));
    let Some(Overlay::Picker(p)) = fx.app.overlay() else {
        panic!("picker open")
    };
    assert_eq!(
        p.selected, 1,
        "one step per wheel notch, bounded by the list"
    );
    let before = fx.app.channel_sel;
    fx.msg(Msg::Mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        ..wheel
    }));
    assert_eq!(fx.app.channel_sel, before, "clicks do not reach the panes");
    assert!(fx.app.overlay().is_some());
}

/// What the dashboard sends when it asks the connection for `c`.
fn conn(c: ConnCommand) -> Option<Command> {
    Some(c.into())
}

/// Text of the whole buffer, row by row.
fn screen_text(term: &Terminal<TestBackend>) -> String {
    let buf = term.backend().buffer();
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_one_megabyte_event_opens_in_the_detail_view_top_and_bottom() {
    let mut fx = Fx::new();
    fx.msg(Msg::Resize(80, 24));
    let items: Vec<Value> = (0..16_000)
        .map(|i| json!({"id": i, "name": format!("item-{i:05}"), "pad": "x".repeat(20)}))
        .collect();
    let data = json!({ "items": items, "last": "the end" });
    let size = data.to_string().len();
    assert!(
        (900_000..crate::ui::model::log::MAX_EVENT_BYTES).contains(&size),
        "{size}"
    );
    fx.event("big", "dump", data);
    fx.app.focus = Pane::Log;
    fx.key(KeyCode::Enter);
    assert!(fx.app.detail().is_some());
    let top = screen_text(&fx.render(80, 24));
    assert!(top.contains("\"items\": ["), "{top}");
    assert!(top.contains("\"id\": 0,"), "{top}");
    fx.ch('G');
    let bottom = screen_text(&fx.render(80, 24));
    assert!(bottom.contains("\"last\": \"the end\""), "{bottom}");
}

#[test]
fn an_event_nested_ten_thousand_deep_opens_and_scrolls() {
    let mut fx = Fx::new();
    fx.msg(Msg::Resize(80, 24));
    let depth = 10_000;
    let text = format!("{}\"core\"{}", "[".repeat(depth), "]".repeat(depth));
    let data: chanwatch_core::protocol::RawJson =
        chanwatch_core::protocol::RawJson::parse(&text).expect("valid JSON");
    fx.rec(SessionRecord::Client(Record::Event {
        channel: Some("deep".into()),
        event: "nest".into(),
        data,
        user_id: None,
        decrypted: false,
    }));
    fx.app.focus = Pane::Log;
    fx.key(KeyCode::Enter);
    let top = screen_text(&fx.render(80, 24));
    assert!(top.contains("┃data"), "{top}");
    // To the middle of it: the innermost value, its depth shown instead of 20 000 spaces.
    for _ in 0..depth {
        fx.ch('j');
    }
    let middle = screen_text(&fx.render(80, 24));
    assert!(middle.contains("[depth 10000] \"core\""), "{middle}");
}

// ----- keys and colours from the config file -----

/// An app with the config file's `[keys]` quit = ["z", "ctrl-c"], help = "f1".
fn rebound() -> Fx {
    let mut keys = crate::config::KeysLayer::default();
    keys.bind("quit", &["z", "ctrl-c"]).unwrap();
    keys.bind("help", &["f1"]).unwrap();
    Fx::with(AppConfig {
        keymap: keys.keymap().unwrap(),
        ..AppConfig::default()
    })
}

#[test]
fn rebound_keys_act_and_the_old_ones_do_not() {
    let mut fx = rebound();
    assert!(!fx.ch('q').quit, "q is no longer quit");
    fx.ch('?');
    assert!(!fx.app.help_visible(), "? is no longer help");
    fx.key(KeyCode::F(1));
    assert!(fx.app.help_visible());
    fx.key(KeyCode::Esc);
    // In a prompt `z` is text; Ctrl-C still quits there.
    fx.ch('s');
    assert!(fx.type_text("presence-z").iter().all(|u| !u.quit));
    fx.key(KeyCode::Esc);
    let u = fx.ch('z');
    assert!(u.quit);
    assert_eq!(u.command, conn(ConnCommand::Quit));
}

#[test]
fn help_overlay_shows_the_rebound_keys() {
    let mut fx = rebound();
    fx.msg(Msg::Resize(100, 40));
    fx.key(KeyCode::F(1));
    let text = screen_text(&fx.render(100, 40));
    let quit_row = text
        .lines()
        .find(|l| l.contains("quit") && !l.contains("Ctrl-c quit"))
        .unwrap_or_else(|| panic!("no quit row in\n{text}"));
    assert!(quit_row.contains("z Ctrl-c"), "{quit_row}\n{text}");
    assert!(text.contains("F1  "), "{text}");
    assert!(text.contains("Help: F1 or Esc closes"), "{text}");
    // The default keys of the rebound actions are gone from the overlay.
    assert!(!text.contains("q Ctrl-c"), "{text}");
    // The footer's hint follows the keymap too.
    fx.key(KeyCode::Esc);
    let footer = screen_text(&fx.render(100, 40));
    assert!(
        footer.lines().last().unwrap().contains("F1 help"),
        "{footer}"
    );
}

#[test]
fn theme_colours_are_drawn_unless_no_color() {
    use crate::prefs::theme::{Palette, Role};
    let pink = Color::Rgb(0xff, 0x55, 0xaa);
    let palette = Palette::with([(Role::Title, pink)]);
    for (theme, want) in [
        (Theme::coloured().with_palette(palette), true),
        (Theme::monochrome().with_palette(palette), false),
    ] {
        let mut fx = Fx::with(AppConfig {
            theme,
            ..AppConfig::default()
        });
        fx.msg(Msg::Resize(80, 24));
        let term = fx.render(80, 24);
        let cells = term.backend().buffer().content();
        assert_eq!(cells.iter().any(|c| c.fg == pink), want);
        if !want {
            assert!(cells.iter().all(|c| c.fg == Color::Reset));
        }
    }
}

/// Where colour carries meaning, the cells carry it: the state word in the status bar, the
/// selected channel's row, a member who just joined, one who just left.
#[test]
fn colour_that_carries_meaning_is_on_the_cells() {
    let theme = Theme::coloured();
    let mut fx = Fx::with(AppConfig {
        theme,
        ..AppConfig::default()
    });
    fx.msg(Msg::Resize(100, 30));
    fx.at(0).state(State::Initialized, State::Connecting, None);
    fx.at(100).state(State::Connecting, State::Connected, None);
    fx.subscribed("news");
    fx.subscribed("presence-room");
    fx.rec(SessionRecord::Client(Record::Members {
        channel: "presence-room".into(),
        me: Some(member("1", "Ann")),
        count: 2,
        members: vec![member("1", "Ann"), member("2", "Bob")],
    }));
    fx.select_channel("presence-room");
    fx.at(200).rec(SessionRecord::Client(Record::MemberAdded {
        channel: "presence-room".into(),
        id: "3".into(),
        info: json!({"name": "Cy"}),
    }));
    fx.rec(SessionRecord::Client(Record::MemberRemoved {
        channel: "presence-room".into(),
        id: "2".into(),
    }));
    let term = fx.render(100, 30);
    let buf = term.backend().buffer();
    // The style of the first cell of the first place `text` is drawn.
    let style_of = |text: &str| {
        for y in 0..buf.area.height {
            let row: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
            if let Some(byte) = row.find(text) {
                let x = row[..byte].chars().count() as u16;
                return buf[(x, y)].style();
            }
        }
        panic!("{text:?} is not on screen:\n{}", screen_text(&term));
    };
    let fg = |s: ratatui::style::Style| s.fg;
    assert_eq!(fg(style_of("connected")), theme.state(State::Connected).fg);
    assert_ne!(
        theme.state(State::Connected).fg,
        theme.state(State::Connecting).fg,
        "states are told apart by colour too"
    );
    let marks = |s: ratatui::style::Style| (s.bg, s.add_modifier);
    let selected = style_of("presence-room");
    let want = theme.selected();
    assert!(
        selected.add_modifier.contains(want.add_modifier)
            && (want.bg.is_none() || selected.bg == want.bg),
        "the selected row: {selected:?}, the theme's selection: {want:?}"
    );
    assert_ne!(
        marks(style_of("news")),
        marks(selected),
        "an unselected row differs"
    );
    assert_eq!(fg(style_of("+ 3")), theme.joined().fg, "a join");
    assert_eq!(fg(style_of("- 2")), theme.left().fg, "a leave");
    assert_ne!(theme.joined().fg, theme.left().fg);
}

/// A read-only app (a replay) changes nothing it would change before sending: a channel
/// asked for is not added, and the notice says why.
#[test]
fn a_read_only_app_subscribes_to_nothing() {
    let mut fx = Fx::with(AppConfig {
        read_only: true,
        ..AppConfig::default()
    });
    fx.msg(Msg::Resize(80, 24));
    fx.ch('s');
    fx.type_text("news");
    let u = fx.key(KeyCode::Enter);
    assert_eq!(u.command, None);
    assert!(fx.app.channel("news").is_none());
    assert_eq!(
        fx.app.notice().map(|n| n.text.as_str()),
        Some(super::app::READ_ONLY)
    );
}

/// Every screen a person can open, each proved open, drawn at every size from 1x1 to 200x60
/// (stepped, denser where layouts change their minds) and resized while open: no panic, and
/// a resize closes nothing.
#[test]
fn every_screen_renders_at_every_size() {
    use super::app::measures::Screen;
    type Open = fn(&mut Fx);
    type IsOpen = fn(&App) -> bool;
    fn occupancy(fx: &mut Fx) {
        fx.ch('o');
        fx.rec(SessionRecord::Occupancy {
            channels: vec![crate::occupancy::OccupiedChannel {
                name: "presence-a-very-long-channel-name-that-does-not-fit".into(),
                subscription_count: Some(12),
                user_count: Some(3),
            }],
        });
    }
    fn picker(fx: &mut Fx) {
        fx.app.focus = Pane::Log;
        fx.ch('L');
        fx.key(KeyCode::Enter);
        fx.rec(SessionRecord::Channels {
            prefix: None,
            channels: json!({"presence-a-very-long-name-indeed-that-goes-on": {"user_count": 12}, "b": {}}),
        });
    }
    fn prompt_open(app: &App) -> bool {
        app.prompt().is_some()
    }
    let screens: [(&str, Open, IsOpen); 12] = [
        (
            "measures",
            |fx| {
                fx.ch('m');
            },
            |app| app.measures().screen() == Some(Screen::Measures),
        ),
        ("occupancy", occupancy, |app| {
            app.measures().screen() == Some(Screen::Occupancy)
        }),
        (
            "help",
            |fx| {
                fx.ch('?');
            },
            App::help_visible,
        ),
        (
            "detail",
            |fx| {
                fx.app.focus = Pane::Log;
                fx.key(KeyCode::Enter);
            },
            |app| matches!(app.top_modal(), Some(Modal::Detail(_))),
        ),
        (
            "fault menu",
            |fx| {
                fx.ch('x');
            },
            |app| matches!(app.top_modal(), Some(Modal::Overlay(Overlay::FaultMenu))),
        ),
        ("channel picker", picker, |app| {
            matches!(app.top_modal(), Some(Modal::Overlay(Overlay::Picker(_))))
        }),
        (
            "auth inspector",
            |fx| {
                fx.select_channel("private-chat");
                fx.ch('a');
            },
            |app| matches!(app.top_modal(), Some(Modal::Overlay(Overlay::Auth(_)))),
        ),
        (
            "subscribe prompt",
            |fx| {
                fx.ch('s');
                fx.type_text("a-very-long-channel-name-that-does-not-fit-anywhere-at-all");
            },
            prompt_open,
        ),
        (
            "subscribe prompt with an error",
            |fx| {
                fx.ch('s');
                fx.type_text("#server-to-user-1");
                fx.key(KeyCode::Enter);
            },
            prompt_open,
        ),
        (
            "filter prompt",
            |fx| {
                fx.ch('/');
                fx.type_text("e:headline c:news");
            },
            prompt_open,
        ),
        (
            "trigger prompt",
            |fx| {
                fx.select_channel("private-chat");
                fx.ch('t');
            },
            prompt_open,
        ),
        (
            "publish prompt",
            |fx| {
                fx.select_channel("news");
                fx.ch('T');
                fx.key(KeyCode::Enter);
                fx.type_text("breaking");
                fx.key(KeyCode::Enter);
            },
            prompt_open,
        ),
    ];
    let widths = [
        1u16, 2, 3, 4, 6, 9, 13, 20, 27, 39, 40, 41, 59, 60, 61, 79, 80, 100, 121, 160, 200,
    ];
    let heights = [
        1u16, 2, 3, 4, 5, 6, 8, 10, 11, 12, 14, 17, 20, 24, 30, 40, 50, 60,
    ];
    for (name, open, is_open) in screens {
        let mut fx = busy_with_auth();
        fx.at(10_000);
        open(&mut fx);
        assert!(is_open(&fx.app), "{name} did not open");
        for &w in &widths {
            for &h in &heights {
                fx.msg(Msg::Resize(w, h));
                fx.render(w, h);
            }
        }
        assert!(is_open(&fx.app), "{name} closed on a resize");
    }
}

/// The help's height counts every section, a replay's too: where one column would run
/// past the bottom the bindings go into two, then the blank line and the notes give way to
/// keys, and on a terminal too short for the keys the last line says so.
#[test]
fn help_shows_every_section_when_short() {
    for read_only in [false, true] {
        let mut fx = Fx::with(AppConfig {
            read_only,
            ..AppConfig::default()
        });
        help_fits(&mut fx);
    }
}

fn help_fits(fx: &mut Fx) {
    fx.ch('?');
    // On 80x24 the notes may or may not fit, as the sections' lengths go; the bindings do.
    for (w, h, notes) in [
        (100, 40, Some(true)),
        (100, 36, Some(true)),
        (120, 30, Some(true)),
        (80, 25, None),
    ] {
        let text = format!("{}", fx.render(w, h).backend());
        let shown = text.contains("Mouse:");
        assert!(notes.is_none_or(|n| n == shown), "{w}x{h}\n{text}");
        let notes = shown;
        assert!(!text.contains("taller terminal"), "{w}x{h}\n{text}");
        let sections = fx.app.help_sections();
        for (i, (title, rows)) in sections.into_iter().enumerate() {
            // The first section's heading is the first thing to go, after the notes.
            assert!(
                text.contains(&title) || (i == 0 && !notes),
                "{w}x{h}: no {title:?}\n{text}"
            );
            for (keys, what) in rows {
                assert!(text.contains(what), "{w}x{h}: help lacks {what:?}\n{text}");
                assert!(text.contains(&keys), "{w}x{h}: help lacks {keys:?}\n{text}");
            }
        }
    }
    let term = fx.render(60, 12);
    let bottom = (0..60)
        .map(|x| term.backend().buffer()[(x, 10)].symbol().to_string())
        .collect::<String>();
    assert!(
        bottom.contains("… a taller terminal shows the rest"),
        "{bottom:?}"
    );
}

/// A replay's help is the replay's keymap: its own keys, the dashboard's that work there,
/// none that acts on a connection.
#[test]
fn replay_help_80x24() {
    let mut fx = Fx::with(AppConfig {
        read_only: true,
        ..AppConfig::default()
    });
    fx.ch('?');
    let text = format!("{}", fx.render(80, 24).backend());
    assert!(text.contains("pause / play"), "{text}");
    assert!(!text.contains("Fault menu"), "{text}");
    insta::assert_snapshot!(text);
}

/// A replay's footer leaves out the keys a replay refuses and reminds of its own, rebound
/// ones as bound.
#[test]
fn replay_footer_shows_the_replay_keys() {
    let mut fx = Fx::with(AppConfig {
        read_only: true,
        ..AppConfig::default()
    });
    let bottom = |fx: &mut Fx, w: u16| {
        let term = fx.render(w, 24);
        (0..w)
            .map(|x| term.backend().buffer()[(x, 23)].symbol().to_string())
            .collect::<String>()
    };
    let line = bottom(&mut fx, 140);
    insta::assert_snapshot!("replay_footer_140", line.trim_end());
    for gone in [
        "subscribe",
        "unsub",
        "faults",
        "trigger",
        "disconnect",
        "reconnect",
    ] {
        assert!(!line.contains(gone), "{gone} in {line:?}");
    }
    assert!(line.contains("P play"), "{line:?}");
    let mut km = fx.app.keymap().clone();
    let chord = Chord::parse("ctrl-p").unwrap();
    km.rebind(Action::ReplayPause, &[chord]).unwrap();
    fx.app.keymap = km;
    let line = bottom(&mut fx, 140);
    assert!(
        line.contains(&format!("{} play", chord.label())),
        "{line:?}"
    );
    // The live footer is unchanged.
    let mut live = Fx::new();
    let line = bottom(&mut live, 140);
    assert!(
        line.contains("subscribe") && !line.contains("play"),
        "{line:?}"
    );
}
