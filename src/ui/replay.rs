//! `chanwatch replay FILE`: the dashboard fed from a recording instead of a client. Records
//! reach the app at the recorded pace ([`crate::replay::player`]); the app's clock is the
//! recording's (the start instant plus the position), so durations read as they did live.
//! A recording is a `Source` of the one dashboard loop (`ui::run_source`): its keys
//! (the keymap's replay mode) are handled here, before the app; keys that would act on a
//! connection are refused with a notice; everything else is the live dashboard's.

use super::app::NoticeLevel;
use super::app::{App, AppConfig, Msg, Update};
use super::source::Source;
use super::view;
use super::view::replay_bar::{self, ReplayBar};
use crate::prefs::keymap::{Action, Mode};
use crate::replay::file;
use crate::replay::file::LineError;
use crate::replay::index::{Index, MAX_MARKS};
use crate::replay::pace::Due;
use crate::replay::player::{Budget, FileSource, Item, Player};
use crate::replay::{ReplayArgs, Speed};
use crate::session::DashboardInfo;
use crossterm::event::KeyEvent;
use std::time::{Duration, Instant};

/// Lines (records and bad lines) read before the loop looks at keys again.
const DRAIN_BATCH: usize = 20_000;
/// Bytes of the file read before the loop looks at keys again; a longer line is read
/// over several turns of the loop.
const DRAIN_BYTES: usize = 4 << 20;

fn budget() -> Budget {
    Budget {
        lines: DRAIN_BATCH,
        bytes: DRAIN_BYTES,
    }
}
/// What `<` and `>` seek by.
pub const SEEK_STEP: Duration = Duration::from_secs(10);

const END_NOTICE: &str = "end of the recording";

/// Builds the app afresh for a rebuild, keeping how the user looks at it.
struct Fresh {
    info: DashboardInfo,
    config: AppConfig,
    t0: Instant,
}

impl Fresh {
    fn app(&self) -> App {
        App::new(self.info.clone(), self.config.clone(), self.t0)
    }

    /// Forget every record, keep the view: node shown, pane, filter, size, overlays,
    /// prompt.
    fn rebuild(&self, old: &mut App) {
        let mut app = self.app();
        if let Some(i) = old.selected_node() {
            app.select_node(i);
        }
        app.size = old.size;
        app.focus = old.focus;
        app.filter = old.filter.clone();
        app.channel_sel = old.channel_sel;
        app.measures = std::mem::take(&mut old.measures);
        app.modals = std::mem::take(&mut old.modals);
        app.notice = old.notice.take();
        *old = app;
    }
}

/// Applies playback's items to the app.
struct Feed<'a> {
    app: &'a mut App,
    fresh: &'a Fresh,
    changed: bool,
    /// Bad lines in this batch, and the last of them: one notice says it.
    bad: u64,
    last_bad: Option<LineError>,
}

impl<'a> Feed<'a> {
    fn new(app: &'a mut App, fresh: &'a Fresh) -> Feed<'a> {
        Feed {
            app,
            fresh,
            changed: false,
            bad: 0,
            last_bad: None,
        }
    }

    fn item(&mut self, item: Item) {
        self.changed = true;
        match item {
            Item::Record(s, at) => {
                self.app.update(Msg::Record(s), self.fresh.t0 + at);
            }
            Item::Bad(e) => {
                self.bad += 1;
                self.last_bad = Some(e);
            }
            Item::Reset => self.fresh.rebuild(self.app),
        }
    }

    /// Say what the batch skipped; whether anything changed.
    fn finish(self) -> bool {
        if let Some(e) = self.last_bad {
            let text = match self.bad {
                1 => format!("{e}; the replay goes on"),
                n => format!("{e} (and {} more bad lines); the replay goes on", n - 1),
            };
            self.app.notify(text, NoticeLevel::Error);
        }
        self.changed
    }
}

/// The player over the file, and how to build its dashboard; whether the index of marks
/// was cut short. One pass over the file before the screen is taken: its length and the
/// marks to jump to.
fn open(
    args: &ReplayArgs,
    config: AppConfig,
    t0: Instant,
) -> anyhow::Result<(Player<FileSource>, Fresh, bool)> {
    let (header, mut reader) = file::open(&args.file)?;
    let index = Index::build(&mut reader, header.started);
    drop(reader);
    let speed = args.speed.unwrap_or_default();
    let truncated = index.truncated;
    let player = Player::new(
        FileSource(args.file.clone()),
        header.started,
        index,
        speed,
        t0,
    )?;
    let fresh = Fresh {
        info: header.dashboard_info(),
        config: AppConfig {
            wall_clock: Some(header.started),
            read_only: true,
            ..config
        },
        t0,
    };
    Ok((player, fresh, truncated))
}

pub async fn run(args: &ReplayArgs, config: AppConfig) -> anyhow::Result<()> {
    let t0 = Instant::now();
    let (player, fresh, truncated) = open(args, config, t0)?;
    let mut app = fresh.app();
    if truncated {
        app.notify(
            format!("only the first {MAX_MARKS} state changes and faults are indexed for [ and ]"),
            NoticeLevel::Info,
        );
    }
    let replay = Replay {
        player,
        fresh,
        end_noted: false,
        due: Due::Now,
    };
    super::run_source(app, replay).await
}

/// A recording as the dashboard's source: records at the recorded pace, the replay keys,
/// nothing sent anywhere, the replay bar over the status line.
struct Replay {
    player: Player<FileSource>,
    fresh: Fresh,
    /// Whether the end-of-recording notice was given.
    end_noted: bool,
    /// When the next record is due, as of the last pump.
    due: Due,
}

impl Source for Replay {
    fn pump(&mut self, app: &mut App, now: Instant) -> anyhow::Result<bool> {
        let mut feed = Feed::new(app, &self.fresh);
        self.due = self.player.play(now, &mut budget(), &mut |i| feed.item(i));
        let mut changed = feed.finish();
        if self.due == Due::End && !self.end_noted {
            self.end_noted = true;
            let quit = app.keymap().first_key(Action::Quit).unwrap_or_default();
            app.notify(
                format!("{END_NOTICE}: [ < go back, {quit} quits"),
                NoticeLevel::Info,
            );
            changed = true;
        }
        Ok(changed)
    }

    async fn next_record(&mut self) -> Option<crate::session_record::Stamped> {
        std::future::pending().await
    }

    fn apply(&mut self, _: &mut App, _: Option<crate::session_record::Stamped>) -> bool {
        false
    }

    fn wake_at(&self, now: Instant) -> Option<Instant> {
        let next_record = match self.due {
            Due::Now => Some(now),
            Due::In(d) => Some(now + d),
            Due::Paused | Due::End => None,
        };
        // While playing, the position in the status bar moves with the clock.
        let bar = (!self.player.clock.is_paused() && self.due != Due::End)
            .then(|| now + Duration::from_millis(100));
        next_record.into_iter().chain(bar).min()
    }

    fn clock(&self, now: Instant) -> Instant {
        self.fresh.t0 + self.player.position(now)
    }

    fn key(&mut self, app: &mut App, key: KeyEvent, _: Instant) -> anyhow::Result<Update> {
        on_key(app, &mut self.player, &self.fresh, key, &mut self.end_noted)
    }

    fn tick(&mut self, app: &mut App, now: Instant) -> Update {
        app.update(Msg::Tick, self.clock(now));
        Update::redraw()
    }

    fn send(&mut self, app: &mut App, command: crate::session::Command) -> bool {
        tracing::debug!("replay: dropped {command:?}");
        app.notify(super::app::READ_ONLY, NoticeLevel::Error);
        true
    }

    async fn quit(&mut self) {}

    /// The dashboard with the replay bar over its status line.
    fn draw(&self, app: &App, frame: &mut ratatui::Frame, now: Instant) {
        let player = &self.player;
        let bar = ReplayBar {
            position: player.position(now),
            total: player.index.end,
            speed: player.clock.speed(),
            paused: player.clock.is_paused(),
            ended: player.at_end(),
        };
        view::render(app, frame);
        replay_bar::render(&bar, app, frame);
    }
}

/// A key: replay's own first (outside prompts), then the app's, with anything that would
/// reach a connection refused.
fn on_key(
    app: &mut App,
    player: &mut Player<FileSource>,
    fresh: &Fresh,
    key: KeyEvent,
    end_noted: &mut bool,
) -> anyhow::Result<Update> {
    let now = Instant::now();
    let free = app.prompt().is_none() && !app.help_visible() && app.mode() == Mode::Normal;
    if free && let Some(action) = app.keymap().replay_action(&key) {
        let mut feed = Feed::new(&mut *app, fresh);
        let mut sink = |i| feed.item(i);
        // A seek, jump or step only starts here: the loop applies its records a batch at a
        // time, answering keys between batches.
        let note = match action {
            Action::ReplayPause => {
                player.clock.toggle(now);
                None
            }
            Action::ReplayStep => (!player.step(now)).then(|| END_NOTICE.to_string()),
            Action::ReplayPrevMark | Action::ReplayNextMark => {
                let forward = action == Action::ReplayNextMark;
                match player.jump(forward, now, &mut sink)? {
                    Some(_) => None,
                    None if forward => Some("no later state change or fault".into()),
                    None => Some("no earlier state change or fault".into()),
                }
            }
            Action::ReplaySeekBack | Action::ReplaySeekForward => {
                let pos = player.position(now);
                let target = if action == Action::ReplaySeekBack {
                    pos.saturating_sub(SEEK_STEP)
                } else {
                    pos + SEEK_STEP
                };
                player.seek_time(target, now, &mut sink)?;
                None
            }
            Action::ReplayFaster | Action::ReplaySlower => match player.clock.speed() {
                Speed::Max => Some("the speed is max".into()),
                Speed::Times(x) => {
                    let x = if action == Action::ReplayFaster {
                        x * 2.0
                    } else {
                        x / 2.0
                    };
                    player
                        .clock
                        .set_speed(Speed::Times(x.clamp(0.01, 10_000.0)), now);
                    None
                }
            },
            // The replay table holds replay actions only.
            _ => None,
        };
        feed.finish();
        if let Some(text) = note {
            app.notify(text, NoticeLevel::Info);
        }
        if !player.at_end() && *end_noted {
            *end_noted = false;
            if app.notice().is_some_and(|n| n.text.starts_with(END_NOTICE)) {
                app.notice = None;
            }
        }
        return Ok(Update {
            redraw: true,
            ..Update::default()
        });
    }
    let vnow = fresh.t0 + player.position(now);
    if app.prompt().is_none()
        && app
            .keymap()
            .action_for(app.mode(), &key)
            .is_some_and(Action::acts_on_connection)
        && !app.help_visible()
    {
        app.update(Msg::Tick, vnow);
        app.notify(super::app::READ_ONLY, NoticeLevel::Error);
        return Ok(Update {
            redraw: true,
            ..Update::default()
        });
    }
    let mut update = app.update(Msg::Key(key), vnow);
    if let Some(command) = update.command.take()
        && !update.quit
    {
        // Nothing should get here (the keys are refused above); if it does, it goes nowhere.
        tracing::debug!("replay: dropped {command:?}");
        app.notify(super::app::READ_ONLY, NoticeLevel::Error);
        update.redraw = true;
    }
    Ok(update)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prefs::keymap::Chord;
    use crate::session_record::SessionRecord;
    use crossterm::event::KeyCode;
    use crossterm::event::KeyModifiers;

    #[test]
    fn replay_keys_do_not_clash_with_the_live_keymap() {
        let keymap = crate::prefs::keymap::Keymap::default();
        for action in Action::all().filter(|a| a.is_replay()) {
            assert!(
                keymap.first_key_in(Mode::Replay, action).is_some(),
                "{action:?}"
            );
        }
        for c in "P.[]<>+-".chars() {
            let key = KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
            assert_eq!(keymap.action_for(Mode::Normal, &key), None, "{c}");
            assert!(
                keymap.replay_action(&key).is_some_and(Action::is_replay),
                "{c}"
            );
        }
        assert!(Action::Subscribe.acts_on_connection());
        assert!(!Action::Filter.acts_on_connection());
    }

    /// A crafted recording played to its end through the dashboard's own path (player,
    /// budget, feed, app, model), as `--speed max` would, without a terminal; the app and
    /// how many turns of the loop it took.
    fn play_crafted(lines: &[String]) -> (App, usize) {
        use crate::replay::file::tests::file;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("crafted.ndjson");
        std::fs::write(&path, file(lines)).unwrap();
        let t0 = Instant::now();
        let (header, mut reader) = file::open(&path).unwrap();
        let index = Index::build(&mut reader, header.started);
        let mut player = Player::new(
            FileSource(path.clone()),
            header.started,
            index,
            Speed::Max,
            t0,
        )
        .unwrap();
        let fresh = Fresh {
            info: header.dashboard_info(),
            config: AppConfig {
                wall_clock: Some(header.started),
                read_only: true,
                ..AppConfig::default()
            },
            t0,
        };
        let mut app = fresh.app();
        let mut turns = 0;
        loop {
            turns += 1;
            let mut feed = Feed::new(&mut app, &fresh);
            let due = player.play(t0, &mut budget(), &mut |i| feed.item(i));
            feed.finish();
            if due == Due::End {
                return (app, turns);
            }
        }
    }

    fn ts(ms: u64) -> String {
        use crate::replay::file::tests::T0;
        let at = std::time::UNIX_EPOCH + Duration::from_millis(T0 + ms);
        humantime::format_rfc3339_millis(at).to_string()
    }

    /// An `auth` line whose request is an array of `n` zeros, written by hand: the test
    /// must not build the value it proves is never built.
    fn auth_line(channel: &str, n: usize) -> String {
        format!(
            r#"{{"ts":"{}","type":"auth","channel":"{channel}","socket_id":"1.2","request":[{}0],"ok":true,"status":null,"response":null,"duration_ms":1}}"#,
            ts(1),
            "0,".repeat(n - 1)
        )
    }

    #[test]
    fn a_recording_of_huge_auth_arrays_keeps_a_bounded_exchange() {
        use crate::ui::model::caps::{CUT_MARK, MAX_AUTH_JSON};
        let (app, turns) = play_crafted(&[
            auth_line("private-huge", 20_000_000),
            auth_line("private-big", 2_000_000),
            auth_line("private-small", 3),
        ]);
        let model = app.model();
        assert!(
            model.auth_exchange("private-huge").is_none(),
            "skipped unparsed"
        );
        let big = model.auth_exchange("private-big").unwrap();
        let kept = big.request.as_str().expect("cut to text");
        assert_eq!(kept.len(), MAX_AUTH_JSON + CUT_MARK.len());
        let small = model.auth_exchange("private-small").unwrap();
        assert_eq!(small.request, serde_json::json!([0, 0, 0]));
        // 40 MB of line read 4 MiB a turn: the keys are looked at in between.
        assert!(turns >= 10, "{turns} turns");
        let notice = app.notice().map(|n| n.text.clone()).unwrap_or_default();
        assert!(
            notice.contains("line 2: a \"auth\" line longer than 8 MiB"),
            "{notice}"
        );
    }

    #[test]
    fn a_recording_naming_more_channels_than_the_cap_keeps_the_cap() {
        use crate::replay::file::tests::line;
        use crate::ui::model::caps::MAX_CHANNELS;
        use chanwatch_core::record::Record;
        let n = MAX_CHANNELS + 5_000;
        let lines: Vec<String> = (0..n)
            .map(|i| {
                line(
                    i as u64,
                    SessionRecord::Client(Record::MemberAdded {
                        channel: format!("presence-{i}"),
                        id: i.to_string(),
                        info: serde_json::json!({ "name": "x" }),
                    }),
                )
            })
            .collect();
        let (app, _) = play_crafted(&lines);
        assert_eq!(app.model().channels().len(), MAX_CHANNELS);
        assert_eq!(app.model().channels_dropped(), 5_000);
    }

    #[test]
    fn bad_lines_are_skipped_a_batch_at_a_time_and_counted() {
        use crate::replay::file::tests::state;
        use chanwatch_core::record::State;
        let mut lines = vec!["garbage".to_string(); 50_000];
        lines.push(state(5, State::Connected));
        let (app, turns) = play_crafted(&lines);
        assert_eq!(turns, 50_000usize.div_ceil(DRAIN_BATCH));
        assert_eq!(app.model().status().state, State::Connected);
        let notice = app.notice().map(|n| n.text.clone()).unwrap_or_default();
        let more = 50_000 - 2 * DRAIN_BATCH - 1;
        assert!(
            notice.contains(&format!("(and {more} more bad lines)")),
            "{notice}"
        );
    }

    use super::super::app::Modal;
    use super::super::view::layout::Pane;
    use crate::replay::file::tests::{event, file, line, state};
    use crate::ui::app::measures::Screen;
    use chanwatch_core::record::{Record, State};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    fn ticker(ms: u64, n: u64) -> String {
        line(
            ms,
            SessionRecord::Client(Record::Event {
                channel: Some("ticker".into()),
                event: "price".into(),
                data: serde_json::json!({ "n": n }).into(),
                user_id: None,
                decrypted: false,
            }),
        )
    }

    fn subscribed(ms: u64, channel: &str) -> String {
        line(
            ms,
            SessionRecord::Client(Record::Subscribed {
                channel: channel.into(),
            }),
        )
    }

    /// A replay of `lines` at `speed`, its file kept in `dir`, with its dashboard.
    fn replay(
        dir: &tempfile::TempDir,
        lines: &[String],
        speed: Speed,
        t0: Instant,
    ) -> (Player<FileSource>, Fresh, App) {
        let path = dir.path().join("r.ndjson");
        std::fs::write(&path, file(lines)).unwrap();
        let args = ReplayArgs {
            file: path,
            speed: Some(speed),
            channels: vec![],
            events: vec![],
            since: None,
            until: None,
        };
        let (player, fresh, truncated) = open(&args, AppConfig::default(), t0).unwrap();
        assert!(!truncated);
        let mut app = fresh.app();
        app.update(Msg::Resize(100, 30), t0);
        (player, fresh, app)
    }

    /// Carry a seek under way to its target, a line a turn as the loop would (at most the
    /// one record read ahead of the target is applied past it).
    fn finish_seek(player: &mut Player<FileSource>, app: &mut App, fresh: &Fresh, now: Instant) {
        let mut feed = Feed::new(app, fresh);
        while player.seeking() {
            let mut budget = Budget {
                lines: 1,
                bytes: usize::MAX,
            };
            player.play(now, &mut budget, &mut |i| feed.item(i));
        }
        feed.finish();
    }

    fn play_all(player: &mut Player<FileSource>, app: &mut App, fresh: &Fresh, now: Instant) {
        let mut feed = Feed::new(app, fresh);
        assert_eq!(
            player.play(now, &mut { Budget::UNLIMITED }, &mut |i| feed.item(i)),
            Due::End
        );
    }

    fn key(app: &mut App, code: KeyCode) {
        app.update(
            Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)),
            Instant::now(),
        );
    }

    fn render(app: &App) -> String {
        let mut term = Terminal::new(TestBackend::new(100, 30)).unwrap();
        term.draw(|f| view::render(app, f)).unwrap();
        format!("{}", term.backend())
    }

    /// A minute: connected, two channels, an event on each every second, a fault at 30 s.
    fn minute() -> Vec<String> {
        let mut lines = vec![
            state(0, State::Connected),
            subscribed(10, "news"),
            subscribed(10, "ticker"),
        ];
        for s in 1..=60 {
            lines.push(event(s * 1000, s));
            lines.push(ticker(s * 1000 + 500, s));
            if s == 30 {
                lines.push(line(
                    30_700,
                    SessionRecord::Fault {
                        fault: "cut".into(),
                    },
                ));
            }
        }
        lines
    }

    #[test]
    fn seeking_keeps_the_filter_the_selection_the_measures_screen_and_overlays() {
        let dir = tempfile::tempdir().unwrap();
        let t0 = Instant::now();
        let (mut player, fresh, mut app) = replay(&dir, &minute(), Speed::Max, t0);
        play_all(&mut player, &mut app, &fresh, t0);
        let all = app.log().len();
        // The user's view: a filter, the ticker channel selected, the measures screen.
        key(&mut app, KeyCode::Char('/'));
        for c in "c:ticker".chars() {
            key(&mut app, KeyCode::Char(c));
        }
        key(&mut app, KeyCode::Enter);
        app.focus = Pane::Channels;
        key(&mut app, KeyCode::Char('g'));
        while app.selected_channel().map(|c| c.name.as_str()) != Some("ticker") {
            key(&mut app, KeyCode::Down);
        }
        key(&mut app, KeyCode::Char('m'));
        assert_eq!(app.measures().screen(), Some(Screen::Measures));
        let mut end_noted = false;
        let back = KeyEvent::new(KeyCode::Char('<'), KeyModifiers::NONE);
        on_key(&mut app, &mut player, &fresh, back, &mut end_noted).unwrap();
        finish_seek(&mut player, &mut app, &fresh, t0);
        assert!(app.log().len() < all, "the seek rebuilt the dashboard");
        assert_eq!(app.filter().text(), "c:ticker");
        assert_eq!(app.focus(), Pane::Channels);
        assert_eq!(
            app.selected_channel().map(|c| c.name.as_str()),
            Some("ticker")
        );
        assert_eq!(app.measures().screen(), Some(Screen::Measures));
        render(&app);

        // An overlay open over a seek (the bar's keys are the app's while one is open, so
        // the seek comes from the player here): still open, still on top.
        key(&mut app, KeyCode::Char('m'));
        app.focus = Pane::Log;
        key(&mut app, KeyCode::Enter);
        assert!(matches!(app.top_modal(), Some(Modal::Detail(_))));
        let mut feed = Feed::new(&mut app, &fresh);
        player
            .seek_time(Duration::from_secs(10), t0, &mut |i| feed.item(i))
            .unwrap();
        assert!(matches!(app.top_modal(), Some(Modal::Detail(_))));
        key(&mut app, KeyCode::Esc);
        key(&mut app, KeyCode::Char('?'));
        assert!(app.help_visible());
        let mut feed = Feed::new(&mut app, &fresh);
        player
            .seek_time(Duration::from_secs(5), t0, &mut |i| feed.item(i))
            .unwrap();
        assert!(app.help_visible());
        assert_eq!(app.filter().text(), "c:ticker");
        assert!(
            render(&app).contains("Replay"),
            "the help keeps its replay keys"
        );
    }

    /// A recording of several nodes (written as `--record` writes it) replays with its
    /// nodes: the header names them, each record goes to its node, the log has a node
    /// column's worth, the cluster records reach the cluster screen, and a seek back keeps
    /// the node shown.
    #[test]
    fn a_cluster_recording_replays_with_its_nodes() {
        use crate::cluster::Delivery;
        use crate::recording::{Header, Recorder};
        use crate::session_record::Stamped;
        use chanwatch_core::record::NodeName;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cluster.ndjson");
        let info = DashboardInfo {
            nodes: vec!["a".into(), "b".into()],
            host: "h".into(),
            key: "k".into(),
            tls: false,
            demo: false,
        };
        let started = std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let rec = Recorder::create(&path, &Header::new(&info, vec![], started)).unwrap();
        let from = |node: Option<&str>, ms: u64, record: SessionRecord| Stamped {
            ts: started + Duration::from_millis(ms),
            node: node.map(NodeName::from),
            record,
        };
        let connected = |socket: &str| {
            SessionRecord::Client(Record::State {
                previous: State::Connecting,
                current: State::Connected,
                socket_id: Some(socket.into()),
                cause: None,
            })
        };
        let news = || {
            SessionRecord::Client(Record::Event {
                channel: Some("news".into()),
                event: "tick".into(),
                data: serde_json::json!(1).into(),
                user_id: None,
                decrypted: false,
            })
        };
        let delivery = SessionRecord::Delivery(Box::new(Delivery {
            rounds: 1,
            cells: vec![],
            api_errors: [("b".to_string(), "refused".to_string())].into(),
            diagnosis: None,
        }));
        let mut records = vec![
            from(Some("a"), 0, connected("1.1")),
            from(Some("b"), 10, connected("2.2")),
            from(None, 200, delivery),
        ];
        for node in ["a", "b"] {
            let subscribed = Record::Subscribed {
                channel: "news".into(),
            };
            records.push(from(Some(node), 300, SessionRecord::Client(subscribed)));
        }
        for s in 1..=30 {
            records.push(from(Some("a"), s * 1000, news()));
            records.push(from(Some("b"), s * 1000 + 5, news()));
        }
        rec.records(&records);
        rec.flush().unwrap();
        let args = ReplayArgs {
            file: path,
            speed: Some(Speed::Max),
            channels: vec![],
            events: vec![],
            since: None,
            until: None,
        };
        let t0 = Instant::now();
        let (mut player, fresh, _) = open(&args, AppConfig::default(), t0).unwrap();
        let mut app = fresh.app();
        app.update(Msg::Resize(100, 30), t0);
        play_all(&mut player, &mut app, &fresh, t0);
        let names: Vec<&str> = app.node_names().iter().map(|n| &**n).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(app.status().socket_id.as_deref(), Some("1.1"));
        let b = app.node_model(1).unwrap();
        assert_eq!(b.status().socket_id.as_deref(), Some("2.2"));
        assert_eq!(b.channels()["news"].events, 30);
        let nodes: Vec<Option<&str>> = (0..2)
            .map(|i| app.log().get(i).unwrap().node.as_deref())
            .collect();
        assert_eq!(nodes, [Some("a"), Some("b")]);
        assert_eq!(app.log().len(), 60);
        let delivery = &app.cluster().delivery().unwrap().delivery;
        assert_eq!(delivery.api_errors["b"], "refused");
        assert!(render(&app).contains("nodes [a ●] b ●"));
        // The node keys work in a replay, and a seek back keeps the node shown.
        key(&mut app, KeyCode::Char('n'));
        assert_eq!(app.selected_node(), Some(1));
        let mut end_noted = false;
        let back = KeyEvent::new(KeyCode::Char('<'), KeyModifiers::NONE);
        on_key(&mut app, &mut player, &fresh, back, &mut end_noted).unwrap();
        finish_seek(&mut player, &mut app, &fresh, t0);
        assert!(app.log().len() < 60, "the seek rebuilt the dashboard");
        assert_eq!(app.selected_node(), Some(1));
        assert_eq!(app.status().socket_id.as_deref(), Some("2.2"));
    }

    /// The replay keys are the keymap's: `replay_pause` rebound under `[keys]` in a config
    /// pauses and resumes a replay through the dashboard loop's own step, and its default
    /// key no longer does.
    #[tokio::test]
    async fn a_rebound_replay_pause_pauses_the_replay() {
        use crate::ui::source::Event as E;
        use crossterm::event::Event;
        let config: std::collections::BTreeMap<String, crate::config::keys::KeysLayer> =
            toml::from_str("[keys]\nreplay_pause = \"ctrl-p\"\n").unwrap();
        let keymap = config["keys"].keymap().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.ndjson");
        std::fs::write(&path, file(&minute())).unwrap();
        let args = ReplayArgs {
            file: path,
            speed: Some(Speed::Times(1.0)),
            channels: vec![],
            events: vec![],
            since: None,
            until: None,
        };
        let t0 = Instant::now();
        let config = AppConfig {
            keymap,
            ..AppConfig::default()
        };
        let (player, fresh, _) = open(&args, config, t0).unwrap();
        let mut app = fresh.app();
        app.update(Msg::Resize(100, 40), t0);
        let mut replay = Replay {
            player,
            fresh,
            end_noted: false,
            due: Due::Now,
        };
        let mut pacer = crate::ui::pacer::FramePacer::new(crate::ui::FRAME_INTERVAL);
        let key = |code, mods| E::Input(Event::Key(KeyEvent::new(code, mods)));
        let ctrl_p = || key(KeyCode::Char('p'), KeyModifiers::CONTROL);
        let presses = [
            (key(KeyCode::Char('P'), KeyModifiers::NONE), false),
            (ctrl_p(), true),
            (ctrl_p(), false),
        ];
        for (i, (event, paused)) in presses.into_iter().enumerate() {
            let go_on = crate::ui::step(&mut app, &mut replay, &mut pacer, event).await;
            assert!(go_on.unwrap());
            assert_eq!(replay.player.clock.is_paused(), paused, "press {i}");
        }
        // The help shows the key as bound.
        let help = key(KeyCode::Char('?'), KeyModifiers::NONE);
        let go_on = crate::ui::step(&mut app, &mut replay, &mut pacer, help).await;
        assert!(go_on.unwrap());
        let label = Chord::parse("ctrl-p").unwrap().label();
        assert!(render(&app).contains(&label), "{}", render(&app));
    }

    /// Lines whose times go backwards (clocks stepped, files joined): played in file order,
    /// the position never runs back, nothing panics, and the dashboard draws at every step.
    #[test]
    fn out_of_order_timestamps_play_in_file_order() {
        let dir = tempfile::tempdir().unwrap();
        let t0 = Instant::now();
        let lines = vec![
            state(0, State::Connected),
            subscribed(10, "news"),
            event(1000, 1),
            event(5000, 2),
            event(2000, 3),
            line(
                4000,
                SessionRecord::Fault {
                    fault: "cut".into(),
                },
            ),
            event(7000, 4),
            event(3000, 5),
            state(6000, State::Connecting),
        ];
        let (mut player, fresh, mut app) = replay(&dir, &lines, Speed::Times(1.0), t0);
        key(&mut app, KeyCode::Char('m'));
        let mut order = Vec::new();
        let mut last = Duration::ZERO;
        for ms in (0..=8000).step_by(250) {
            let now = t0 + Duration::from_millis(ms);
            let mut feed = Feed::new(&mut app, &fresh);
            player.play(now, &mut { Budget::UNLIMITED }, &mut |i| {
                if let Item::Record(s, _) = &i
                    && let SessionRecord::Client(Record::Event { data, .. }) = &s.record
                {
                    order.push(data.get().to_string());
                }
                feed.item(i)
            });
            let pos = player.position(now);
            assert!(pos >= last, "the position ran back: {pos:?} < {last:?}");
            last = pos;
            render(&app);
        }
        assert!(player.at_end());
        let n = |k: u64| format!(r#"{{"n":{k}}}"#);
        assert_eq!(order, [n(1), n(2), n(3), n(4), n(5)]);
        assert_eq!(player.index.end, Duration::from_secs(7));
        assert_eq!(app.log().len(), 5);
        // Seeking into the tangle and back out again: no panic, a whole dashboard.
        for target in [2500, 0, 6500, 1000, 7000] {
            let mut feed = Feed::new(&mut app, &fresh);
            player
                .seek_time(Duration::from_millis(target), t0, &mut |i| feed.item(i))
                .unwrap();
            feed.finish();
            finish_seek(&mut player, &mut app, &fresh, t0);
            render(&app);
        }
        assert_eq!(app.log().len(), 5, "the seek to the end applies every line");
    }
}
