//! `chanwatch replay FILE`: the dashboard fed from a recording instead of a client. Records
//! reach the app at the recorded pace ([`crate::replay::player`]); the app's clock is the
//! recording's (the start instant plus the position), so durations read as they did live.
//! Replay keys are handled here, before the app; keys that would act on a connection are
//! refused with a notice; everything else is the live dashboard's.

use super::app::NoticeLevel;
use super::keymap::{Action, Chord, Mode};
use super::replay_bar::{self, ReplayBar};
use super::{App, AppConfig, DashboardInfo, FRAME_INTERVAL, Msg, TICK_INTERVAL, Update, view};
use super::{Signals, TerminalGuard, pacer, to_msg};
use crate::replay::file;
use crate::replay::index::{Index, MAX_MARKS};
use crate::replay::pace::Due;
use crate::replay::player::{FileSource, Item, Player};
use crate::replay::{ReplayArgs, Speed};
use anyhow::Context;
use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind};
use futures_util::StreamExt;
use std::time::{Duration, Instant};

/// Records applied before the loop looks at keys again.
const DRAIN_BATCH: usize = 20_000;
/// What `<` and `>` seek by.
pub const SEEK_STEP: Duration = Duration::from_secs(10);

/// What the replay keys do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayAction {
    PlayPause,
    Step,
    PrevMark,
    NextMark,
    Back,
    Forward,
    Faster,
    Slower,
}

/// The replay keys; none of them means anything to the live keymap.
pub fn bindings() -> Vec<(Chord, ReplayAction, &'static str)> {
    let c = |ch| Chord::plain(KeyCode::Char(ch));
    vec![
        (c('P'), ReplayAction::PlayPause, "pause / play"),
        (c('.'), ReplayAction::Step, "step one record"),
        (
            c('['),
            ReplayAction::PrevMark,
            "previous state change or fault",
        ),
        (c(']'), ReplayAction::NextMark, "next state change or fault"),
        (c('<'), ReplayAction::Back, "back 10 s"),
        (c('>'), ReplayAction::Forward, "forward 10 s"),
        (c('+'), ReplayAction::Faster, "twice as fast"),
        (c('-'), ReplayAction::Slower, "half as fast"),
    ]
}

fn replay_action(key: &KeyEvent) -> Option<ReplayAction> {
    bindings()
        .into_iter()
        .find(|(chord, _, _)| chord.matches(key))
        .map(|(_, a, _)| a)
}

/// Actions that would send something to a server: there is none in a replay.
fn acts_on_a_connection(action: Action) -> bool {
    matches!(
        action,
        Action::Subscribe
            | Action::Unsubscribe
            | Action::Disconnect
            | Action::Connect
            | Action::Trigger
            | Action::FaultMenu
            | Action::Publish
            | Action::ListChannels
            | Action::ListUsers
    )
}

const END_NOTICE: &str = "end of the recording";

/// Builds the app afresh for a rebuild, keeping how the user looks at it.
struct Fresh {
    info: DashboardInfo,
    config: AppConfig,
    t0: Instant,
}

impl Fresh {
    fn app(&self) -> App {
        let mut app = App::new(self.info.clone(), self.config.clone(), self.t0);
        let rows: Vec<(String, &'static str)> = bindings()
            .into_iter()
            .map(|(chord, _, what)| (chord.label(), what))
            .collect();
        app.keymap.add_help_section("Replay", rows);
        app
    }

    /// Forget every record, keep the view: pane, filter, size, overlays, prompt.
    fn rebuild(&self, old: &mut App) {
        let mut app = self.app();
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
}

impl Feed<'_> {
    fn item(&mut self, item: Item) {
        self.changed = true;
        match item {
            Item::Record(s, at) => {
                self.app.update(Msg::Record(s), self.fresh.t0 + at);
            }
            Item::Bad(e) => self
                .app
                .notify(format!("{e}; the replay goes on"), NoticeLevel::Error),
            Item::Reset => self.fresh.rebuild(self.app),
        }
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

/// One frame: the dashboard with the replay bar over its status line.
fn draw(
    term: &mut TerminalGuard,
    app: &App,
    player: &Player<FileSource>,
    now: Instant,
) -> anyhow::Result<()> {
    let bar = ReplayBar {
        position: player.position(now),
        total: player.index.end,
        speed: player.clock.speed(),
        paused: player.clock.is_paused(),
        ended: player.at_end(),
    };
    term.draw(|f| {
        view::render(app, f);
        replay_bar::render(&bar, app, f);
    })
}

pub async fn run(args: &ReplayArgs, config: AppConfig) -> anyhow::Result<()> {
    let t0 = Instant::now();
    let (mut player, fresh, truncated) = open(args, config, t0)?;

    let mut term = TerminalGuard::enter()?;
    let mut app = fresh.app();
    let size = term.terminal.size().context("reading the terminal size")?;
    app.update(Msg::Resize(size.width, size.height), t0);
    if truncated {
        app.notify(
            format!("only the first {MAX_MARKS} state changes and faults are indexed for [ and ]"),
            NoticeLevel::Info,
        );
    }

    let mut events = crossterm::event::EventStream::new();
    let mut tick = tokio::time::interval(TICK_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut signals = Signals::new()?;
    let mut pacer = pacer::FramePacer::new(FRAME_INTERVAL);
    let mut end_noted = false;

    loop {
        if let Some(message) = crate::panic_report::message() {
            anyhow::bail!("{message}");
        }
        let now = Instant::now();
        let mut feed = Feed {
            app: &mut app,
            fresh: &fresh,
            changed: false,
        };
        let due = player.play(now, DRAIN_BATCH, &mut |i| feed.item(i));
        if feed.changed {
            pacer.mark_dirty();
        }
        if due == Due::End && !end_noted {
            end_noted = true;
            let quit = app.keymap().first_key(Action::Quit).unwrap_or_default();
            app.notify(
                format!("{END_NOTICE}: [ < go back, {quit} quits"),
                NoticeLevel::Info,
            );
            pacer.mark_dirty();
        }
        if pacer.should_draw(now) {
            draw(&mut term, &app, &player, now)?;
            pacer.drawn(Instant::now());
        }
        let wake = pacer.wake_at();
        let next_record = match due {
            Due::Now => Some(now),
            Due::In(d) => Some(now + d),
            Due::Paused | Due::End => None,
        };
        // While playing, the position in the status bar moves with the clock.
        let bar_wake = (!player.clock.is_paused() && due != Due::End)
            .then(|| now + Duration::from_millis(100));
        let virtual_now = |player: &Player<FileSource>| t0 + player.position(Instant::now());

        tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) if k.kind != KeyEventKind::Release => {
                    let update = on_key(&mut app, &mut player, &fresh, k, &mut end_noted)?;
                    if update.quit {
                        break;
                    }
                    if update.redraw {
                        pacer.mark_input();
                    }
                }
                Some(Ok(ev)) => {
                    if let Some(msg) = to_msg(ev) {
                        let update = app.update(msg, virtual_now(&player));
                        if update.redraw {
                            pacer.mark_input();
                        }
                    }
                }
                Some(Err(e)) => return Err(e).context("reading the terminal"),
                None => break,
            },
            _ = tick.tick() => {
                app.update(Msg::Tick, virtual_now(&player));
                pacer.mark_dirty();
            }
            _ = tokio::time::sleep_until(next_record.unwrap_or(now).into()), if next_record.is_some() => {}
            _ = tokio::time::sleep_until(bar_wake.unwrap_or(now).into()), if bar_wake.is_some() => {
                pacer.mark_dirty();
            }
            _ = tokio::time::sleep_until(wake.unwrap_or(now).into()), if wake.is_some() => {}
            _ = signals.terminate() => break,
        }
    }
    drop(term);
    Ok(())
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
    if free && let Some(action) = replay_action(&key) {
        let mut feed = Feed {
            app,
            fresh,
            changed: false,
        };
        let mut sink = |i| feed.item(i);
        let note = match action {
            ReplayAction::PlayPause => {
                player.clock.toggle(now);
                None
            }
            ReplayAction::Step => (!player.step(now, &mut sink)).then(|| END_NOTICE.to_string()),
            ReplayAction::PrevMark | ReplayAction::NextMark => {
                let forward = action == ReplayAction::NextMark;
                match player.jump(forward, now, &mut sink)? {
                    Some(_) => None,
                    None if forward => Some("no later state change or fault".into()),
                    None => Some("no earlier state change or fault".into()),
                }
            }
            ReplayAction::Back | ReplayAction::Forward => {
                let pos = player.position(now);
                let target = if action == ReplayAction::Back {
                    pos.saturating_sub(SEEK_STEP)
                } else {
                    pos + SEEK_STEP
                };
                player.seek_time(target, now, &mut sink)?;
                None
            }
            ReplayAction::Faster | ReplayAction::Slower => match player.clock.speed() {
                Speed::Max => Some("the speed is max".into()),
                Speed::Times(x) => {
                    let x = if action == ReplayAction::Faster {
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
        };
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
            .is_some_and(acts_on_a_connection)
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
    use crossterm::event::KeyModifiers;

    #[test]
    fn replay_keys_do_not_clash_with_the_live_keymap() {
        let keymap = super::super::keymap::Keymap::default();
        for (chord, action, _) in bindings() {
            let key = KeyEvent::new(chord.code, KeyModifiers::NONE);
            assert_eq!(
                keymap.action_for(Mode::Normal, &key),
                None,
                "{action:?} ({}) is bound in the live keymap",
                chord.label()
            );
            assert_eq!(replay_action(&key), Some(action));
        }
        assert!(acts_on_a_connection(Action::Subscribe));
        assert!(!acts_on_a_connection(Action::Filter));
    }

    use super::super::app::Modal;
    use super::super::measures::Screen;
    use super::super::view::layout::Pane;
    use crate::record::{Record, State};
    use crate::replay::file::tests::{event, file, line, state};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    fn ticker(ms: u64, n: u64) -> String {
        line(
            ms,
            Record::Event {
                channel: Some("ticker".into()),
                event: "price".into(),
                data: serde_json::json!({ "n": n }).into(),
                user_id: None,
                decrypted: false,
            },
        )
    }

    fn subscribed(ms: u64, channel: &str) -> String {
        line(
            ms,
            Record::Subscribed {
                channel: channel.into(),
            },
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

    fn play_all(player: &mut Player<FileSource>, app: &mut App, fresh: &Fresh, now: Instant) {
        let mut feed = Feed {
            app,
            fresh,
            changed: false,
        };
        assert_eq!(
            player.play(now, usize::MAX, &mut |i| feed.item(i)),
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
                    Record::Fault {
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
        let mut feed = Feed {
            app: &mut app,
            fresh: &fresh,
            changed: false,
        };
        player
            .seek_time(Duration::from_secs(10), t0, &mut |i| feed.item(i))
            .unwrap();
        assert!(matches!(app.top_modal(), Some(Modal::Detail(_))));
        key(&mut app, KeyCode::Esc);
        key(&mut app, KeyCode::Char('?'));
        assert!(app.help_visible());
        let mut feed = Feed {
            app: &mut app,
            fresh: &fresh,
            changed: false,
        };
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
                Record::Fault {
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
            let mut feed = Feed {
                app: &mut app,
                fresh: &fresh,
                changed: false,
            };
            player.play(now, usize::MAX, &mut |i| {
                if let Item::Record(s, _) = &i
                    && let Record::Event { data, .. } = &s.record
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
            let mut feed = Feed {
                app: &mut app,
                fresh: &fresh,
                changed: false,
            };
            player
                .seek_time(Duration::from_millis(target), t0, &mut |i| feed.item(i))
                .unwrap();
            render(&app);
        }
        assert_eq!(app.log().len(), 5, "the seek to the end applies every line");
    }
}
