//! The dashboard's state and its one entry point, [`App::update`]: records from the client,
//! keys, mouse and ticks go in; whether to redraw, a [`Command`] for the client and whether
//! to quit come out. No terminal and no clock here (time is passed in), so every behaviour is
//! testable without a screen.

mod api;
mod auth;
mod export;
mod fault_menu;
mod log_view;
pub mod measures;
mod modal;
pub mod nodes;
mod prompt;

pub use api::{ChannelPicker, PickItem};
pub use auth::AuthView;
pub use export::{ExportKind, default_path as default_export_path};
pub use fault_menu::{DEFAULT_DELAY_MS, parse_delay_ms};
pub use log_view::LogView;
pub use modal::Modal;
pub use prompt::{Prompt, PromptKind};

use super::model::cluster::Cluster;
use super::model::log::{EventLog, Filter, LogEntry};
use super::model::{
    AuthExchange, Channel, Limits, Model, News, Status, TimelineEntry, TimelineKind,
};
use super::view::layout::{self, Areas, Pane};
use crate::prefs::keymap::{Action, Keymap, Mode};
use crate::prefs::theme::Theme;
use crate::session::Command;
use crate::session_record::{SessionRecord, Stamped};
use chanwatch_core::connection;
use chanwatch_core::protocol::codes::describe;
use crossterm::event::{KeyEvent, KeyEventKind, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;
use std::time::{Duration, Instant, SystemTime};

use crate::session::DashboardInfo;

/// What a read-only app (a replay) says when asked to act on a connection.
pub const READ_ONLY: &str = "this is a replay: nothing can be sent to a connection";

#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Events kept in the log ring.
    pub log_capacity: usize,
    /// The most memory the log may hold (payloads, names, previews).
    pub log_bytes: u64,
    pub theme: Theme,
    /// The keys, the config file's `[keys]` over the defaults.
    pub keymap: Keymap,
    /// The wall-clock time matching the `now` given to [`App::new`]; `None` reads the system
    /// clock. Tests fix it so rendered times are stable.
    pub wall_clock: Option<SystemTime>,
    /// Feed the measures model (off only to measure what it costs).
    pub measures: bool,
    /// A replay: nothing is sent to a connection, and nothing the app would change before
    /// sending (a channel it subscribes to) is changed.
    pub read_only: bool,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            log_capacity: crate::config::DEFAULT_LOG_RING,
            log_bytes: crate::config::DEFAULT_LOG_BYTES,
            theme: Theme::coloured(),
            keymap: Keymap::default(),
            wall_clock: None,
            measures: true,
            read_only: false,
        }
    }
}

/// Everything that can change the dashboard.
#[derive(Debug, Clone)]
pub enum Msg {
    Record(Stamped),
    Key(KeyEvent),
    Mouse(MouseEvent),
    /// The terminal's new size (columns, rows).
    Resize(u16, u16),
    /// About once a second: clocks, countdowns and highlights move on.
    Tick,
    /// The client's record channel closed: the client task has ended.
    RecordsClosed,
}

/// What the caller should do after an update.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Update {
    pub redraw: bool,
    pub command: Option<Command>,
    pub quit: bool,
}

impl Update {
    pub(crate) fn redraw() -> Update {
        Update {
            redraw: true,
            ..Update::default()
        }
    }

    fn command(command: impl Into<Command>) -> Update {
        Update {
            redraw: true,
            command: Some(command.into()),
            quit: false,
        }
    }
}

/// How long a footer message stays.
pub const NOTICE_TTL: Duration = Duration::from_secs(6);
/// Lines moved by one mouse-wheel step.
pub const WHEEL_LINES: usize = 3;

/// The boxes that share one place in the modal stack ([`Modal::Overlay`]): opening one
/// closes the others.
#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    FaultMenu,
    Picker(ChannelPicker),
    Auth(AuthView),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeLevel {
    Info,
    Error,
}

#[derive(Debug, Clone)]
pub struct Notice {
    pub text: String,
    pub level: NoticeLevel,
    pub at: Instant,
}

/// The event opened with Enter.
#[derive(Debug, Clone)]
pub struct Detail {
    pub entry: LogEntry,
    pub scroll: usize,
}

/// The interaction layer over the [`Model`]: focus, selections and scrolling, the modal
/// stack, notices, the keymap, the filter and the log's pause. Records go to the model;
/// keys, mouse and ticks are handled here.
pub struct App {
    pub(crate) info: DashboardInfo,
    pub(crate) theme: Theme,
    pub(crate) keymap: Keymap,
    /// What the records say: with several nodes, the shown node's.
    pub(crate) model: Model,
    /// The other nodes' models, with several nodes (`--node`).
    nodes: Option<nodes::Nodes>,
    /// What the records about the nodes together say: delivery and divergences.
    cluster: Cluster,
    /// The time of the last update, used by the views for clocks and highlights.
    pub(crate) now: Instant,
    pub(crate) size: Rect,
    /// Rows scrolled up from the newest timeline entry.
    pub(crate) timeline_scroll: usize,
    pub(crate) channel_sel: usize,
    pub(crate) filter: Filter,
    pub(crate) log_view: LogView,
    /// Events that arrived while the log was paused.
    pub(crate) unseen: u64,
    pub(crate) members_scroll: usize,
    pub(crate) focus: Pane,
    /// The boxes over the panes, bottom first; the last takes the keys.
    pub(crate) modals: Vec<Modal>,
    pub(crate) notice: Option<Notice>,
    /// Which measures screen is shown, and the occupancy table's selection.
    pub(crate) measures: measures::Panel,
    read_only: bool,
    start: Instant,
    start_wall: SystemTime,
}

impl App {
    /// The timeline's words for a key the user pressed, with the key in force for it.
    fn pressed(&self, action: Action) -> String {
        match self.keymap.first_key(action) {
            Some(key) => format!("user pressed {key}"),
            None => format!("user asked to {}", action.name().replace('_', " ")),
        }
    }

    pub fn new(info: DashboardInfo, config: AppConfig, now: Instant) -> App {
        let limits = Limits {
            log_capacity: config.log_capacity,
            log_bytes: config.log_bytes,
            measures: config.measures,
        };
        App {
            nodes: nodes::Nodes::new(&info.nodes, limits, now),
            cluster: Cluster::default(),
            info,
            theme: config.theme,
            keymap: config.keymap,
            read_only: config.read_only,
            model: Model::new(limits, now),
            now,
            size: Rect::new(0, 0, 80, 24),
            timeline_scroll: 0,
            channel_sel: 0,
            filter: Filter::default(),
            log_view: LogView::Follow,
            unseen: 0,
            members_scroll: 0,
            focus: Pane::Log,
            modals: Vec::new(),
            notice: None,
            measures: measures::Panel::default(),
            start: now,
            start_wall: config.wall_clock.unwrap_or_else(SystemTime::now),
        }
    }

    /// The wall-clock time of the last update, for things the user did (they carry no stamp).
    pub fn wall_now(&self) -> SystemTime {
        self.start_wall + self.now.saturating_duration_since(self.start)
    }

    // ----- read access for the views, the runner and tests -----

    pub fn info(&self) -> &DashboardInfo {
        &self.info
    }
    /// What the records say.
    pub fn model(&self) -> &Model {
        &self.model
    }
    pub fn status(&self) -> &Status {
        self.model.status()
    }
    pub fn log(&self) -> &EventLog {
        self.model.log()
    }
    pub fn filter(&self) -> &Filter {
        &self.filter
    }
    pub fn log_view(&self) -> LogView {
        self.log_view
    }
    pub fn is_following(&self) -> bool {
        self.log_view == LogView::Follow
    }
    pub fn channels(&self) -> impl Iterator<Item = &Channel> {
        self.model.channels().values()
    }
    pub fn channel(&self, name: &str) -> Option<&Channel> {
        self.model.channels().get(name)
    }
    pub fn selected_channel(&self) -> Option<&Channel> {
        self.model
            .channels()
            .get_index(self.channel_sel)
            .map(|(_, c)| c)
    }
    pub fn timeline(&self) -> impl DoubleEndedIterator<Item = &TimelineEntry> + ExactSizeIterator {
        self.model.timeline().iter()
    }
    pub fn focus(&self) -> Pane {
        self.focus
    }
    pub fn notice(&self) -> Option<&Notice> {
        self.notice.as_ref()
    }
    pub fn theme(&self) -> &Theme {
        &self.theme
    }
    pub fn keymap(&self) -> &Keymap {
        &self.keymap
    }
    /// Which measures screen is shown.
    pub fn measures(&self) -> &measures::Panel {
        &self.measures
    }
    /// What the measures screens draw.
    pub fn measured(&self) -> &super::model::Measured {
        self.model.measured()
    }
    /// What the records about the nodes together say (the cluster screen).
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }
    /// What the webhooks screen draws.
    pub fn webhooks(&self) -> &super::model::webhooks::Webhooks {
        self.model.webhooks()
    }
    /// The latest authorization exchange of a channel.
    pub fn auth_exchange(&self, channel: &str) -> Option<&AuthExchange> {
        self.model.auth_exchange(channel)
    }
    /// What the help overlay lists: the keys of the dashboard in force, less those about
    /// several nodes when there is one connection (they would do nothing).
    pub fn help_sections(&self) -> Vec<crate::prefs::keymap::HelpSection> {
        let cluster = self.is_cluster();
        self.keymap
            .help_sections_where(self.dashboard_mode(), |a| cluster || !a.is_cluster())
    }
    /// Which key table applies: the box on top decides.
    pub fn mode(&self) -> Mode {
        match self.top_modal() {
            Some(Modal::Prompt(_)) => Mode::Editing,
            Some(Modal::Overlay(Overlay::FaultMenu)) => Mode::FaultMenu,
            _ => Mode::Normal,
        }
    }
    /// The dashboard whose keys are in force, for the help and the footer: a replay's
    /// ([`Mode::Replay`]) or a live one's ([`Mode::Normal`]).
    pub fn dashboard_mode(&self) -> Mode {
        if self.read_only {
            Mode::Replay
        } else {
            Mode::Normal
        }
    }
    pub fn areas(&self) -> Areas {
        layout::compute(self.size, self.focus)
    }

    /// Rows of events the log pane shows (inside its border, below the filter line).
    pub fn log_rows(&self) -> usize {
        let Some(r) = self.areas().log else { return 1 };
        let filter_line = u16::from(self.filter_line_visible());
        (r.height.saturating_sub(2 + filter_line) as usize).max(1)
    }

    pub(crate) fn filter_line_visible(&self) -> bool {
        !self.filter.is_empty()
            || matches!(
                self.prompt().map(|p| &p.kind),
                Some(PromptKind::Filter { .. })
            )
    }

    /// Show a message in the footer.
    pub fn notify(&mut self, text: impl Into<String>, level: NoticeLevel) {
        self.notice = Some(Notice {
            text: text.into(),
            level,
            at: self.now,
        });
    }

    pub fn update(&mut self, msg: Msg, now: Instant) -> Update {
        self.now = now;
        match msg {
            Msg::Record(r) => {
                self.on_record(r);
                Update::redraw()
            }
            Msg::Key(k) => self.on_key(k),
            Msg::Mouse(m) => self.on_mouse(m),
            Msg::Resize(w, h) => {
                self.size = Rect::new(0, 0, w, h);
                self.clamp_log_view();
                Update::redraw()
            }
            Msg::Tick => {
                self.model.tick(now);
                self.tick_parked(now);
                if self
                    .notice
                    .as_ref()
                    .is_some_and(|n| now.saturating_duration_since(n.at) >= NOTICE_TTL)
                {
                    self.notice = None;
                }
                // The status bar's "time in state" moves every second.
                Update::redraw()
            }
            Msg::RecordsClosed => {
                let pushed = self.model.timeline().pushed();
                self.model.client_gone(self.wall_now());
                self.parked_clients_gone(self.wall_now());
                self.keep_timeline_rows(pushed);
                let quit = self.keymap.first_key(Action::Quit).unwrap_or_default();
                self.notify(
                    format!("the client has stopped; press {quit} to quit"),
                    NoticeLevel::Error,
                );
                Update::redraw()
            }
        }
    }

    // ----- records -----

    /// A record goes to the model; what it means for the screen (a notice, a picker, a
    /// channel gone from under the selection) is handled here.
    fn on_record(&mut self, s: Stamped) {
        if let SessionRecord::Delivery(_) | SessionRecord::Divergence(_) = s.record {
            match self.cluster.apply(s.ts, s.record, self.now) {
                Some(News::Info(text)) => self.notify(text, NoticeLevel::Info),
                Some(News::Error(text)) => self.notify(text, NoticeLevel::Error),
                _ => {}
            }
            return;
        }
        // Another node's record goes to its model; the shown node's comes back.
        let Some(s) = self.route_to_node(s) else {
            return;
        };
        let pushed = self.model.timeline().pushed();
        let news = self.model.apply(s, self.now);
        // An occupancy record may have shortened the table under the selection.
        self.measures.clamp(self.model.measured().occupancy());
        self.keep_timeline_rows(pushed);
        match news {
            None => {}
            Some(News::Event) => self.event_logged(),
            Some(News::Info(text)) => self.notify(text, NoticeLevel::Info),
            Some(News::Error(text)) => self.notify(text, NoticeLevel::Error),
            Some(News::SubscriptionFailed { text, auth_failed }) => {
                let text = match self.keymap.first_key(Action::InspectAuth) {
                    Some(k) if auth_failed => format!("{text} · {k} inspects the auth exchange"),
                    _ => text,
                };
                self.notify(text, NoticeLevel::Error);
            }
            Some(News::ChannelList { prefix, channels }) => {
                self.open_channel_list(prefix, &channels)
            }
            Some(News::ChannelRemoved(i)) => self.channel_removed(i),
        }
    }

    /// An event went into the log: counted as unseen while the log is paused.
    fn event_logged(&mut self) {
        if let LogView::Paused { .. } = self.log_view {
            self.unseen += 1;
        }
    }

    /// Something the user did, in the timeline.
    fn push_timeline(&mut self, ts: SystemTime, kind: TimelineKind) {
        let pushed = self.model.timeline().pushed();
        self.model.note(ts, kind);
        self.keep_timeline_rows(pushed);
    }

    /// Keep the timeline rows the user scrolled back to in place as entries arrive.
    fn keep_timeline_rows(&mut self, pushed_before: u64) {
        let new = self.model.timeline().pushed() - pushed_before;
        if self.timeline_scroll > 0 {
            self.timeline_scroll += new as usize;
        }
    }

    fn on_measures_outcome(&mut self, outcome: measures::Outcome) -> Update {
        use measures::Outcome;
        match outcome {
            Outcome::Redraw => Update::redraw(),
            // In a replay the occupancy view shows what was recorded: no poll to start.
            Outcome::Command(_) if self.read_only => Update::redraw(),
            Outcome::Command(c) => Update::command(c),
            Outcome::Subscribe(channel) => self.subscribe_to(channel),
            Outcome::MoveChannel(d) => self.move_in(Pane::Channels, Move::By(d)),
            Outcome::Sort(sort) => {
                self.model.measured_mut().sort_occupancy(sort);
                Update::redraw()
            }
        }
    }

    /// The channel at `i` is gone: the selection stays on the same channel where it can.
    fn channel_removed(&mut self, i: usize) {
        if self.channel_sel > i || self.channel_sel >= self.model.channels().len() {
            self.channel_sel = self.channel_sel.saturating_sub(1);
        }
        self.members_scroll = 0;
    }

    // ----- keys -----

    fn on_key(&mut self, key: KeyEvent) -> Update {
        // Terminals with the kitty protocol also report releases; act on presses only.
        if key.kind == KeyEventKind::Release {
            return Update::default();
        }
        if let Some(Modal::Prompt(_)) = self.top_modal() {
            return self.on_prompt_key(key);
        }
        match self.keymap.action_for(self.mode(), &key) {
            Some(action) => self.on_action(action),
            None => Update::default(),
        }
    }

    fn subscribe_to(&mut self, channel: String) -> Update {
        if self.read_only {
            self.notify(READ_ONLY, NoticeLevel::Error);
            return Update::redraw();
        }
        self.channel_sel = self.model.subscribing(&channel);
        self.members_scroll = 0;
        Update::command(connection::Command::Subscribe { channel })
    }

    fn on_action(&mut self, action: Action) -> Update {
        // The box on top takes the keys.
        match self.top_modal() {
            Some(Modal::Help) => match action {
                Action::Help | Action::Back => {
                    self.close_help();
                    Update::redraw()
                }
                Action::Quit => quit(),
                _ => Update::default(),
            },
            Some(Modal::Overlay(Overlay::FaultMenu)) => self.on_fault_menu_action(action),
            Some(Modal::Detail(_)) => self.on_detail_action(action),
            Some(Modal::Overlay(Overlay::Picker(_))) => self.on_picker_action(action),
            Some(Modal::Overlay(Overlay::Auth(_))) => self.on_auth_view_action(action),
            // Its keys go to `on_prompt_key`; an action reaching here is not for it.
            Some(Modal::Prompt(_)) => Update::default(),
            None => {
                if let Some(update) = self.on_node_action(action) {
                    return update;
                }
                let occupancy = self.model.measured().occupancy();
                let update = match self.measures.on_action(action, occupancy) {
                    Some(outcome) => self.on_measures_outcome(outcome),
                    None => self.on_pane_action(action),
                };
                if self.measures.screen() == Some(measures::Screen::Cluster) {
                    self.measures
                        .clamp_cluster(super::view::cluster::max_scroll(self));
                }
                update
            }
        }
    }

    /// The keys about several nodes; with one connection they say so. The cluster screen
    /// itself is the measures panel's to toggle.
    fn on_node_action(&mut self, action: Action) -> Option<Update> {
        if !action.is_cluster() {
            return None;
        }
        if !self.is_cluster() {
            self.notify(
                "one connection: give --node NAME=URL twice or more to watch a cluster",
                NoticeLevel::Info,
            );
            return Some(Update::redraw());
        }
        match action {
            Action::NextNode => self.step_node(1),
            Action::PrevNode => self.step_node(-1),
            _ => return None,
        }
        Some(Update::redraw())
    }

    /// An action with no box open and no measures screen taking it.
    fn on_pane_action(&mut self, action: Action) -> Update {
        match action {
            Action::Quit => quit(),
            Action::Help => {
                self.show(Modal::Help);
                Update::redraw()
            }
            Action::Subscribe => {
                self.show(Modal::Prompt(Prompt::new(PromptKind::Subscribe, "")));
                Update::redraw()
            }
            Action::Unsubscribe => self.unsubscribe_selected(),
            Action::Disconnect => {
                self.push_timeline(self.wall_now(), TimelineKind::User(self.pressed(action)));
                Update::command(connection::Command::Disconnect)
            }
            Action::Connect => {
                self.push_timeline(self.wall_now(), TimelineKind::User(self.pressed(action)));
                Update::command(connection::Command::Connect)
            }
            Action::Trigger => self.start_trigger(),
            Action::Filter => {
                let previous = self.filter.text().to_string();
                self.show(Modal::Prompt(Prompt::new(
                    PromptKind::Filter {
                        previous: previous.clone(),
                    },
                    &previous,
                )));
                Update::redraw()
            }
            Action::FocusNext => {
                self.focus = self.focus.next();
                Update::redraw()
            }
            Action::FocusPrev => {
                self.focus = self.focus.prev();
                Update::redraw()
            }
            Action::Up => self.move_in(self.focus, Move::By(-1)),
            Action::Down => self.move_in(self.focus, Move::By(1)),
            Action::PageUp => {
                let n = self.page(self.focus);
                self.move_in(self.focus, Move::By(-(n as isize)))
            }
            Action::PageDown => {
                let n = self.page(self.focus);
                self.move_in(self.focus, Move::By(n as isize))
            }
            Action::Top => self.move_in(self.focus, Move::Top),
            Action::Bottom => self.move_in(self.focus, Move::Bottom),
            Action::Open => self.open(),
            Action::Back => {
                if !self.filter.is_empty() {
                    self.set_filter("");
                } else if self.notice.is_some() {
                    self.notice = None;
                } else {
                    return Update::default();
                }
                Update::redraw()
            }
            Action::TogglePause => {
                match self.log_view {
                    LogView::Follow => self.pause_at_newest(),
                    LogView::Paused { .. } => self.follow(),
                }
                Update::redraw()
            }
            Action::ClearLog => {
                self.model.clear_log();
                self.log_view = LogView::Follow;
                self.unseen = 0;
                self.notify("log cleared", NoticeLevel::Info);
                Update::redraw()
            }
            Action::FaultMenu => self.open_fault_menu(),
            Action::Publish => self.start_publish(),
            Action::ListChannels => self.start_list_channels(),
            Action::ListUsers => self.list_users(),
            Action::InspectAuth => self.open_auth_inspector(),
            Action::ExportLog => self.start_export(ExportKind::Log),
            Action::ExportTimeline => self.start_export(ExportKind::Timeline),
            // Editing-mode, fault-menu and replay actions never come from the normal table
            // (a replay's own keys are read by its loop, before the app's).
            Action::Submit | Action::Cancel | Action::Fault(_) => Update::default(),
            Action::ReplayPause
            | Action::ReplayStep
            | Action::ReplayPrevMark
            | Action::ReplayNextMark
            | Action::ReplaySeekBack
            | Action::ReplaySeekForward
            | Action::ReplayFaster
            | Action::ReplaySlower => Update::default(),
            // Taken by the measures panel above when they apply, or by the nodes' keys.
            Action::Measures
            | Action::Occupancy
            | Action::SortOccupancy
            | Action::Webhooks
            | Action::Cluster
            | Action::NextNode
            | Action::PrevNode => Update::default(),
        }
    }

    fn on_detail_action(&mut self, action: Action) -> Update {
        let page = self.size.height.saturating_sub(6).max(1) as usize;
        let Some(d) = self.detail_mut() else {
            return Update::default();
        };
        if scroll_by(&mut d.scroll, action, page) {
            return Update::redraw();
        }
        match action {
            Action::Quit => return quit(),
            Action::Back | Action::Open => self.close_detail(),
            Action::Help => self.show(Modal::Help),
            Action::Disconnect | Action::Connect => {
                self.close_detail();
                return self.on_action(action);
            }
            _ => return Update::default(),
        }
        Update::redraw()
    }

    fn unsubscribe_selected(&mut self) -> Update {
        let Some((channel, forgotten)) = self.model.unsubscribing(self.channel_sel) else {
            self.notify("no channel selected", NoticeLevel::Error);
            return Update::redraw();
        };
        if forgotten {
            self.channel_removed(self.channel_sel);
        }
        Update::command(connection::Command::Unsubscribe { channel })
    }

    fn open(&mut self) -> Update {
        match self.focus {
            Pane::Log => {
                let (_, sel) = self.visible_log();
                if let Some(e) = sel.and_then(|i| self.model.log().get(i)) {
                    let detail = Detail {
                        entry: e.clone(),
                        scroll: 0,
                    };
                    self.show(Modal::Detail(detail));
                    return Update::redraw();
                }
                Update::default()
            }
            Pane::Channels => {
                let Some(name) = self.selected_channel().map(|c| c.name.clone()) else {
                    return Update::default();
                };
                self.set_filter(&format!("channel:{name}"));
                self.focus = Pane::Log;
                Update::redraw()
            }
            Pane::Timeline | Pane::Members => Update::default(),
        }
    }

    // ----- moving around -----

    fn page(&self, pane: Pane) -> usize {
        match pane {
            Pane::Log => self.log_rows(),
            other => self
                .areas()
                .pane(other)
                .map_or(1, |r| r.height.saturating_sub(2).max(1) as usize),
        }
    }

    fn move_in(&mut self, pane: Pane, m: Move) -> Update {
        match pane {
            Pane::Channels => {
                let n = self.model.channels().len();
                if n == 0 {
                    return Update::default();
                }
                self.channel_sel = m.apply(self.channel_sel, n - 1);
                self.members_scroll = 0;
            }
            Pane::Members => {
                let n = self
                    .selected_channel()
                    .map_or(0, super::view::members::row_count);
                self.members_scroll = m.apply(self.members_scroll, n.saturating_sub(1));
            }
            Pane::Timeline => {
                // Scroll counts up from the newest entry, so the directions swap.
                let max = self.model.timeline().len().saturating_sub(1);
                self.timeline_scroll = match m {
                    Move::Top => max,
                    Move::Bottom => 0,
                    Move::By(d) => Move::By(-d).apply(self.timeline_scroll, max),
                };
            }
            Pane::Log => self.move_log(m),
        }
        Update::redraw()
    }

    // ----- mouse -----

    fn on_mouse(&mut self, m: MouseEvent) -> Update {
        let dir: isize = match m.kind {
            MouseEventKind::ScrollUp => -1,
            MouseEventKind::ScrollDown => 1,
            MouseEventKind::Down(MouseButton::Left) => {
                if !self.modals.is_empty() {
                    return Update::default();
                }
                return match self.areas().pane_at(m.column, m.row) {
                    Some(p) if p != self.focus => {
                        self.focus = p;
                        Update::redraw()
                    }
                    _ => Update::default(),
                };
            }
            _ => return Update::default(),
        };
        let step = dir * WHEEL_LINES as isize;
        // The wheel, like the keys, moves the box on top.
        match self.modals.last_mut() {
            Some(Modal::Detail(d)) => {
                d.scroll = d.scroll.saturating_add_signed(step);
                return Update::redraw();
            }
            Some(Modal::Overlay(Overlay::Auth(v))) => {
                v.scroll = v.scroll.saturating_add_signed(step);
                return Update::redraw();
            }
            Some(Modal::Overlay(Overlay::Picker(p))) => {
                p.move_by(dir);
                return Update::redraw();
            }
            Some(Modal::Prompt(_) | Modal::Help | Modal::Overlay(Overlay::FaultMenu)) => {
                return Update::default();
            }
            None => {}
        }
        let pane = self.areas().pane_at(m.column, m.row).unwrap_or(self.focus);
        self.move_in(pane, Move::By(step))
    }
}

fn quit() -> Update {
    Update {
        redraw: false,
        command: Some(Command::QUIT),
        quit: true,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Move {
    By(isize),
    Top,
    Bottom,
}

impl Move {
    fn apply(self, current: usize, max: usize) -> usize {
        match self {
            Move::Top => 0,
            Move::Bottom => max,
            Move::By(d) => current.saturating_add_signed(d).min(max),
        }
    }
}

/// Move a scrollable overlay (event detail, auth inspector) for a scroll action; false
/// when `action` is not one. The views clamp the offset to their content.
pub(crate) fn scroll_by(scroll: &mut usize, action: Action, page: usize) -> bool {
    match action {
        Action::Up => *scroll = scroll.saturating_sub(1),
        Action::Down => *scroll += 1,
        Action::PageUp => *scroll = scroll.saturating_sub(page),
        Action::PageDown => *scroll += page,
        Action::Top => *scroll = 0,
        Action::Bottom => *scroll = usize::MAX / 2,
        _ => return false,
    }
    true
}

/// Append the meaning of a close/error code found in a cause text, unless it is already there.
pub fn explain_cause(cause: &str) -> String {
    let code = cause
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse::<i64>().ok())
        .find(|n| (1000..5000).contains(n));
    match code {
        Some(c) if !cause.to_lowercase().contains(describe(c)) => {
            format!("{cause} ({})", describe(c))
        }
        _ => cause.to_string(),
    }
}
