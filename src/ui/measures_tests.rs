//! The measures and occupancy screens driven through the app, drawn to `TestBackend` and
//! compared with reviewed insta snapshots (80x24, in colour and with `NO_COLOR`).
use crate::session_record::SessionRecord;

use super::app::measures::Screen;
use super::app::{App, AppConfig, Msg};
use super::view;
use crate::occupancy::OccupiedChannel;
use crate::prefs::theme::Role;
use crate::prefs::theme::Theme;
use crate::session::Command;
use crate::session::DashboardInfo;
use crate::session_record::Stamped;
use chanwatch_core::connection;
use chanwatch_core::protocol::RawJson;
use chanwatch_core::record::{Record, State};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

struct Fx {
    app: App,
    t0: Instant,
    wall0: SystemTime,
}

impl Fx {
    fn new(theme: Theme) -> Fx {
        let t0 = Instant::now();
        let wall0 = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let config = AppConfig {
            theme,
            wall_clock: Some(wall0),
            ..AppConfig::default()
        };
        let info = DashboardInfo {
            nodes: Vec::new(),
            host: "127.0.0.1:6001".into(),
            key: "app-key".into(),
            tls: false,
            demo: true,
        };
        let mut app = App::new(info, config, t0);
        app.update(Msg::Resize(80, 24), t0);
        Fx { app, t0, wall0 }
    }

    fn rec(&mut self, ms: u64, record: SessionRecord) {
        let ts = self.wall0 + Duration::from_millis(ms);
        let now = self.t0 + Duration::from_millis(ms);
        self.app.update(
            Msg::Record(Stamped {
                node: None,
                ts,
                record,
            }),
            now,
        );
    }

    fn key(&mut self, ms: u64, c: char) -> super::app::Update {
        let now = self.t0 + Duration::from_millis(ms);
        let code = KeyCode::Char(c);
        self.app
            .update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)), now)
    }

    fn code(&mut self, ms: u64, code: KeyCode) -> super::app::Update {
        let now = self.t0 + Duration::from_millis(ms);
        self.app
            .update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)), now)
    }

    fn render(&self) -> Terminal<TestBackend> {
        let mut term = Terminal::new(TestBackend::new(80, 24)).unwrap();
        term.draw(|f| view::render(&self.app, f)).unwrap();
        term
    }
}

fn state(previous: State, current: State, cause: Option<&str>) -> SessionRecord {
    SessionRecord::Client(Record::State {
        previous,
        current,
        socket_id: (current == State::Connected).then(|| "1.2".to_string()),
        cause: cause.map(str::to_string),
    })
}

fn event(channel: &str) -> SessionRecord {
    SessionRecord::Client(Record::Event {
        channel: Some(channel.into()),
        event: "tick".into(),
        data: RawJson::parse(r#"{"n":1}"#).unwrap(),
        user_id: None,
        decrypted: false,
    })
}

/// Two minutes of a demo-like session: two channels at varying rates, pings (round trips
/// of 20 ms and more, well above the probe's few ms, so neither series hides the other), a
/// probe a second, and a cut that ends in a reconnect.
fn session(theme: Theme) -> Fx {
    let mut fx = Fx::new(theme);
    fx.rec(0, state(State::Initialized, State::Connecting, None));
    fx.rec(300, state(State::Connecting, State::Connected, None));
    for ch in ["news", "ticker"] {
        fx.rec(
            310,
            SessionRecord::Client(Record::Subscribed { channel: ch.into() }),
        );
    }
    fx.rec(
        320,
        SessionRecord::Client(Record::Auth {
            channel: "ticker".into(),
            socket_id: "1.2".into(),
            request: serde_json::json!({}),
            ok: true,
            status: None,
            response: serde_json::json!({}),
            duration_ms: 14,
            failure: None,
        }),
    );
    let cut = 60..80;
    for s in 0..120u64 {
        let at = s * 1000;
        if !cut.contains(&s) {
            let ticker = 10 + (s % 20);
            for i in 0..ticker {
                fx.rec(at + i * 20, event("ticker"));
            }
            for i in 0..(s / 10) {
                fx.rec(at + 500 + i, event("news"));
            }
            let latency = 3 + (s % 7);
            fx.rec(
                at + 900,
                SessionRecord::Probe {
                    seq: s,
                    latency_ms: Some(latency),
                    lost: false,
                    api_ms: Some(2),
                    error: None,
                },
            );
        } else if s < 66 {
            fx.rec(
                at + 900,
                SessionRecord::Probe {
                    seq: s,
                    latency_ms: None,
                    lost: true,
                    api_ms: Some(2),
                    error: None,
                },
            );
        }
        if s % 10 == 5 && !cut.contains(&s) {
            fx.rec(
                at + 100,
                SessionRecord::Client(Record::Pong {
                    rtt_ms: 20 + s / 20,
                }),
            );
        }
    }
    fx.rec(
        60_000,
        SessionRecord::Fault {
            fault: "cut".into(),
        },
    );
    fx.rec(
        70_000,
        state(State::Connected, State::Connecting, Some("pong timeout")),
    );
    fx.rec(75_000, state(State::Connecting, State::Unavailable, None));
    fx.rec(
        79_500,
        SessionRecord::Fault {
            fault: "restore".into(),
        },
    );
    fx.rec(80_000, state(State::Unavailable, State::Connected, None));
    fx
}

/// The cells strictly inside the pane whose title begins `┌ {title}`: (symbol, fg) by row.
fn pane_cells(buf: &Buffer, title: &str) -> Vec<Vec<(String, Color)>> {
    let area = buf.area;
    let row = |y: u16| -> String { (0..area.width).map(|x| buf[(x, y)].symbol()).collect() };
    let top = (0..area.height)
        .find(|y| row(*y).starts_with(&format!("┌ {title}")))
        .unwrap_or_else(|| panic!("no {title} pane"));
    let bottom = (top + 1..area.height)
        .find(|y| row(*y).starts_with('└'))
        .unwrap_or_else(|| panic!("the {title} pane has no bottom"));
    (top + 1..bottom)
        .map(|y| {
            (1..area.width - 1)
                .map(|x| (buf[(x, y)].symbol().to_string(), buf[(x, y)].fg))
                .collect()
        })
        .collect()
}

fn is_braille(symbol: &str) -> bool {
    symbol
        .chars()
        .next()
        .is_some_and(|c| ('\u{2801}'..='\u{28ff}').contains(&c))
}

fn is_half_block(symbol: &str) -> bool {
    matches!(symbol, "▀" | "▄" | "█")
}

/// The latency chart's glyphs by series: rtt dots, probe p50 braille, p99 half blocks.
fn latency_series(buf: &Buffer) -> [Vec<Color>; 3] {
    let mut out: [Vec<Color>; 3] = Default::default();
    for row in pane_cells(buf, "Latency") {
        for (symbol, fg) in row {
            let series = match symbol.as_str() {
                "•" => 0,
                s if is_braille(s) => 1,
                s if is_half_block(s) => 2,
                _ => continue,
            };
            out[series].push(fg);
        }
    }
    out
}

/// The state band's glyphs and their colours, in order.
fn band(buf: &Buffer) -> Vec<(String, Color)> {
    let rows = pane_cells(buf, "State");
    assert_eq!(rows.len(), 1);
    rows.into_iter().next().unwrap()
}

/// Pongs every ten seconds outside the cut: ten rtt points, each in a cell of its own.
const RTT_POINTS: usize = 10;

#[test]
fn snapshot_measures_80x24() {
    let mut fx = session(Theme::coloured());
    fx.key(120_000, 'm');
    fx.code(120_000, KeyCode::Down); // select "ticker"
    assert_eq!(fx.app.measures().screen(), Some(Screen::Measures));
    assert_eq!(fx.app.selected_channel().unwrap().name, "ticker");
    let term = fx.render();
    insta::assert_snapshot!("measures_80x24", term.backend());
    let buf = term.backend().buffer();
    let palette = *Theme::coloured().palette();
    let role = |r: Role| palette.get(r);
    // Each latency series in its role's colour, every rtt point visible.
    let [rtt, p50, p99] = latency_series(buf);
    assert_eq!(rtt.len(), RTT_POINTS, "rtt points hidden");
    assert!(rtt.iter().all(|c| *c == role(Role::Warn)), "{rtt:?}");
    assert!(!p50.is_empty() && p50.iter().all(|c| *c == role(Role::Ok)));
    assert!(!p99.is_empty() && p99.iter().all(|c| *c == role(Role::Error)));
    // The state band: each state in its colour, the faults marked.
    let band = band(buf);
    for (glyph, r) in [
        ("█", Role::Ok),
        ("▒", Role::Warn),
        ("░", Role::Error),
        ("!", Role::Value),
    ] {
        let cells: Vec<_> = band.iter().filter(|(s, _)| s == glyph).collect();
        assert!(!cells.is_empty(), "no {glyph} in the band");
        assert!(
            cells.iter().all(|(_, fg)| *fg == role(r)),
            "{glyph}: {cells:?}"
        );
    }
    assert_eq!(
        band.iter().filter(|(s, _)| s == "!").count(),
        2,
        "cut and restore"
    );
}

#[test]
fn snapshot_measures_80x24_no_color() {
    let mut fx = session(Theme::monochrome());
    fx.key(120_000, 'm');
    fx.code(120_000, KeyCode::Down);
    let term = fx.render();
    for cell in term.backend().buffer().content() {
        assert_eq!(cell.fg, Color::Reset, "{cell:?}");
        assert_eq!(cell.bg, Color::Reset, "{cell:?}");
    }
    let text = format!("{}", term.backend());
    // Without colour, the series and states still differ by their glyphs.
    for glyph in [
        "⣿ total",
        "• ticker",
        "• rtt",
        "⣿ probe p50",
        "▀ p99",
        "█",
        "░",
        "!",
    ] {
        assert!(text.contains(glyph), "{glyph:?} missing\n{text}");
    }
    // ... in the chart itself, not only in the legends: each series has its marker there.
    let buf = term.backend().buffer();
    let [rtt, p50, p99] = latency_series(buf);
    assert_eq!(rtt.len(), RTT_POINTS, "rtt points hidden\n{text}");
    assert!(!p50.is_empty() && !p99.is_empty(), "{text}");
    let band = band(buf);
    for glyph in ["█", "▒", "░", "!"] {
        assert!(
            band.iter().any(|(s, _)| s == glyph),
            "{glyph} not in the band"
        );
    }
    insta::assert_snapshot!("measures_80x24_no_color", term.backend());
}

#[test]
fn the_status_bar_shows_events_per_second_and_the_probe_p50() {
    let fx = session(Theme::coloured());
    let mut fx = fx;
    fx.app
        .update(Msg::Tick, fx.t0 + Duration::from_millis(119_500));
    let text = format!("{}", fx.render().backend());
    assert!(text.contains("ev/s 39"), "{text}");
    assert!(text.contains("probe p50 "), "{text}");
}

#[test]
fn occupancy_screen_polls_only_while_shown_and_enter_subscribes() {
    let mut fx = Fx::new(Theme::coloured());
    let u = fx.key(0, 'o');
    assert_eq!(u.command, Some(Command::Occupancy { on: true }));
    let ch = |name: &str, subs: Option<u64>, users: Option<u64>| OccupiedChannel {
        name: name.into(),
        subscription_count: subs,
        user_count: users,
    };
    for (i, n) in [1u64, 2, 4, 3, 5].into_iter().enumerate() {
        fx.rec(
            i as u64 * 5000,
            SessionRecord::Occupancy {
                channels: vec![
                    ch("news", Some(n), None),
                    ch("presence-lobby", Some(3), Some(n + 1)),
                    ch("ticker", Some(12), None),
                ],
            },
        );
    }
    fx.key(25_000, 'S'); // by count: ticker (12), presence-lobby (6), news (5)
    fx.code(25_000, KeyCode::Down);
    insta::assert_snapshot!("occupancy_80x24", fx.render().backend());
    let u = fx.code(25_000, KeyCode::Enter);
    assert_eq!(
        u.command,
        Some(Command::Connection(connection::Command::Subscribe {
            channel: "presence-lobby".into()
        }))
    );
    let u = fx.key(25_000, 'o');
    assert_eq!(u.command, Some(Command::Occupancy { on: false }));
    assert_eq!(fx.app.measures().screen(), None);
}

#[test]
fn with_measures_off_nothing_is_counted() {
    let t0 = Instant::now();
    let config = AppConfig {
        measures: false,
        ..AppConfig::default()
    };
    let info = DashboardInfo {
        nodes: Vec::new(),
        host: "h".into(),
        key: "k".into(),
        tls: false,
        demo: false,
    };
    let mut app = App::new(info, config, t0);
    let ts = SystemTime::now();
    app.update(
        Msg::Record(Stamped {
            node: None,
            ts,
            record: event("a"),
        }),
        t0,
    );
    let later = t0 + Duration::from_secs(1);
    assert_eq!(app.measured().model().events_per_s(later), 0);
}

/// In a replay (a read-only app) the occupancy screen shows the recorded polls and asks the
/// session for none: no command goes out when it opens or closes.
#[test]
fn occupancy_screen_in_a_replay_asks_for_no_polls() {
    let t0 = Instant::now();
    let config = AppConfig {
        read_only: true,
        ..AppConfig::default()
    };
    let info = DashboardInfo {
        nodes: Vec::new(),
        host: "h".into(),
        key: "k".into(),
        tls: false,
        demo: false,
    };
    let mut app = App::new(info, config, t0);
    app.update(Msg::Resize(80, 24), t0);
    let o = || Msg::Key(KeyEvent::new(KeyCode::Char('o'), KeyModifiers::NONE));
    assert_eq!(app.update(o(), t0).command, None);
    assert_eq!(app.measures().screen(), Some(Screen::Occupancy));
    assert_eq!(app.update(o(), t0).command, None);
    assert_eq!(app.measures().screen(), None);
}
