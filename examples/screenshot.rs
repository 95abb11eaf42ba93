//! Screenshots of the dashboard for the README: the real [`App`] and views, fed a scripted
//! session like the demo's (channels of every kind, presence, a cut and the reconnection
//! after it) on a fixed clock, drawn into ratatui's `TestBackend` and written as SVG.
//!
//! `cargo run --example screenshot -- assets` writes `assets/dashboard.svg` (120x36),
//! `assets/dashboard-80x24.svg` and `assets/cluster.svg` (the cluster screen, 120x36); `scripts/gen-assets.sh` runs it. The output depends on
//! nothing but this file and the dashboard's code, so `tests/integration/assets.rs` renders it again
//! and compares it with the committed files byte for byte.
use chanwatch::session_record::SessionRecord;

use chanwatch_core::record::{Member, Record, State};

use chanwatch::session::DashboardInfo;
use chanwatch::session_record::Stamped;
use chanwatch::ui::app::{App, AppConfig, Msg};
use chanwatch::ui::view;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The sizes written, with their file names: the demo's dashboard, and the cluster screen
/// of three nodes a moment after node c was killed.
pub const SHOTS: [(u16, u16, &str); 3] = [
    (120, 36, "dashboard.svg"),
    (80, 24, "dashboard-80x24.svg"),
    (120, 36, "cluster.svg"),
];

#[allow(dead_code)]
fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "assets".into());
    std::fs::create_dir_all(&dir).expect("create the output directory");
    for (w, h, name) in SHOTS {
        let path = format!("{dir}/{name}");
        std::fs::write(&path, shot(w, h, name)).unwrap_or_else(|e| panic!("write {path}: {e}"));
        println!("{path}");
    }
}

/// The scripted session drawn at `width` x `height`, as SVG.
pub fn svg(width: u16, height: u16) -> String {
    render(&session(width, height), width, height)
}

/// The shot written to `name`.
pub fn shot(width: u16, height: u16, name: &str) -> String {
    if name.starts_with("cluster") {
        render(&cluster(width, height), width, height)
    } else {
        svg(width, height)
    }
}

fn render(app: &App, width: u16, height: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(width, height)).expect("a test terminal");
    term.draw(|f| view::render(app, f)).expect("draw");
    to_svg(term.backend().buffer())
}

// ----- the session -----

/// An app on a fixed clock: `at(ms)` moves both the monotonic and the wall clock.
struct Script {
    app: App,
    t0: Instant,
    wall0: SystemTime,
    ms: u64,
}

impl Script {
    fn at(&mut self, ms: u64) -> &mut Script {
        self.ms = ms;
        self
    }

    fn now(&self) -> Instant {
        self.t0 + Duration::from_millis(self.ms)
    }

    fn msg(&mut self, m: Msg) {
        let now = self.now();
        self.app.update(m, now);
    }

    fn rec(&mut self, record: SessionRecord) {
        self.rec_on(None, record);
    }

    /// A record from one node of a cluster (`None`: about the nodes together).
    fn rec_on(&mut self, node: Option<&str>, record: SessionRecord) {
        let ts = self.wall0 + Duration::from_millis(self.ms);
        self.msg(Msg::Record(Stamped {
            node: node.map(Into::into),
            ts,
            record,
        }));
    }

    fn key(&mut self, code: KeyCode) {
        self.msg(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }

    fn state(&mut self, previous: State, current: State, cause: Option<&str>) {
        let socket_id = (current == State::Connected).then(|| "218904.7731506".to_string());
        self.rec(SessionRecord::Client(Record::State {
            previous,
            current,
            socket_id,
            cause: cause.map(str::to_string),
        }));
    }

    fn event(&mut self, channel: &str, event: &str, data: Value) {
        self.rec(SessionRecord::Client(Record::Event {
            channel: Some(channel.into()),
            event: event.into(),
            data: data.into(),
            user_id: None,
            decrypted: channel.starts_with("private-encrypted-"),
        }));
    }

    fn subscribe_all(&mut self) {
        for channel in CHANNELS {
            self.rec(SessionRecord::Client(Record::Subscribed {
                channel: channel.into(),
            }));
        }
        self.rec(SessionRecord::Client(Record::Members {
            channel: "presence-lobby".into(),
            me: Some(member("you", "You (chanwatch)")),
            count: 4,
            members: vec![
                member("you", "You (chanwatch)"),
                member("ada", "Ada"),
                member("grace", "Grace"),
                member("linus", "Linus"),
            ],
        }));
    }

    /// Demo-like traffic from `from` ms for `seconds`: prices every 500 ms, a headline,
    /// chat and the encrypted balance now and then.
    fn traffic(&mut self, from: u64, seconds: u64) {
        for i in 0..seconds * 2 {
            let t = from + i * 500;
            let n = from / 1000 + i;
            // Tenths from integers, so every number prints short.
            let price = (1000 + (n * 37) % 200) as f64 / 10.0;
            let change = ((n % 7) as f64 - 3.0) / 10.0;
            self.at(t).event(
                "ticker",
                "price",
                json!({ "symbol": "CHW", "price": price, "change_pct": change }),
            );
            match n % 6 {
                1 => self.at(t + 120).event(
                    "news",
                    "headline",
                    json!({ "n": n, "title": HEADLINES[(n as usize / 6) % HEADLINES.len()] }),
                ),
                3 => self.at(t + 200).rec(SessionRecord::Client(Record::Event {
                    channel: Some("private-chat".into()),
                    event: "client-message".into(),
                    data: json!({ "from": "Grace", "text": "anyone seen the 4201s?" }).into(),
                    user_id: None,
                    decrypted: false,
                })),
                5 => self.at(t + 250).event(
                    "private-encrypted-vault",
                    "balance",
                    json!({ "account": "demo", "balance": 1200 + n * 3 }),
                ),
                _ => {}
            }
        }
    }
}

const CHANNELS: [&str; 6] = [
    "ticker",
    "news",
    "cache-status",
    "private-encrypted-vault",
    "private-chat",
    "presence-lobby",
];

const HEADLINES: [&str; 3] = [
    "Reconnect storms, explained",
    "Presence at scale",
    "Encrypted channels in practice",
];

fn member(id: &str, name: &str) -> Member {
    Member {
        id: id.into(),
        info: json!({ "name": name }),
    }
}

/// A demo session: connected and signed in, six channels, traffic; then a cut found by the
/// ping, the reconnection after the restore, and traffic again; presence-lobby selected.
fn session(width: u16, height: u16) -> App {
    let info = DashboardInfo {
        nodes: Vec::new(),
        host: "demo server 127.0.0.1:6001 via fault proxy".into(),
        key: "demo-key".into(),
        tls: false,
        demo: true,
    };
    let wall0 = UNIX_EPOCH + Duration::from_secs(1_764_600_000);
    let t0 = Instant::now();
    let config = AppConfig {
        wall_clock: Some(wall0),
        ..AppConfig::default()
    };
    let mut s = Script {
        app: App::new(info, config, t0),
        t0,
        wall0,
        ms: 0,
    };
    s.msg(Msg::Resize(width, height));
    s.at(1).state(
        State::Initialized,
        State::Connecting,
        Some("connect requested"),
    );
    s.at(5).state(State::Connecting, State::Connected, None);
    s.rec(SessionRecord::Client(Record::SignedIn {
        user_id: "you".into(),
        user_data: json!({ "id": "you", "name": "You (chanwatch)" }),
    }));
    s.at(12).subscribe_all();
    s.traffic(500, 8);
    s.at(8_600).rec(SessionRecord::Client(Record::MemberAdded {
        channel: "presence-lobby".into(),
        id: "barbara".into(),
        info: json!({ "name": "Barbara" }),
    }));
    // The cut: the socket stays open, only the ping can tell.
    s.at(9_000).rec(SessionRecord::Fault {
        fault: "cut".into(),
    });
    s.at(11_000)
        .rec(SessionRecord::Client(Record::PingSent { after_ms: 2_000 }));
    s.at(12_000)
        .state(State::Connected, State::Connecting, Some("pong timeout"));
    s.rec(SessionRecord::Client(Record::ConnectingIn {
        delay_ms: 1_000,
        reason: Some("pong timeout".into()),
    }));
    s.at(15_000).state(
        State::Connecting,
        State::Unavailable,
        Some("still trying after 3s"),
    );
    s.at(16_000).rec(SessionRecord::Fault {
        fault: "restore".into(),
    });
    s.at(16_210)
        .state(State::Unavailable, State::Connecting, None);
    s.at(16_214)
        .state(State::Connecting, State::Connected, None);
    s.at(16_230).subscribe_all();
    s.at(16_300)
        .rec(SessionRecord::Client(Record::MemberRemoved {
            channel: "presence-lobby".into(),
            id: "linus".into(),
        }));
    s.traffic(16_500, 6);
    s.at(22_000)
        .rec(SessionRecord::Client(Record::PingSent { after_ms: 2_000 }));
    s.at(22_003)
        .rec(SessionRecord::Client(Record::Pong { rtt_ms: 3 }));
    // presence-lobby, the last channel, selected: its members show.
    s.at(22_500).key(KeyCode::BackTab);
    s.key(KeyCode::End);
    s.at(23_000).msg(Msg::Tick);
    s.app
}

// ----- SVG -----

/// Cell size in pixels and the font size: monospace text at 0.6em per character.
const CELL_W: u32 = 9;
const CELL_H: u32 = 18;
const FONT_SIZE: u32 = 15;
const BACKGROUND: &str = "#1d1f21";
const FOREGROUND: &str = "#d0d0d0";

/// The 16 ANSI colours as a dark terminal theme draws them.
fn hex(color: Color, default: &'static str) -> String {
    let named = match color {
        Color::Reset => default,
        Color::Black => "#1d1f21",
        Color::Red => "#cc6666",
        Color::Green => "#8fbf5f",
        Color::Yellow => "#e0b050",
        Color::Blue => "#6699cc",
        Color::Magenta => "#b294bb",
        Color::Cyan => "#6cc5c5",
        Color::Gray => "#b4b7b4",
        Color::DarkGray => "#707880",
        Color::LightRed => "#ff7b7b",
        Color::LightGreen => "#b5e890",
        Color::LightYellow => "#f0d080",
        Color::LightBlue => "#81a2f0",
        Color::LightMagenta => "#d7a9e0",
        Color::LightCyan => "#9be8e8",
        Color::White => "#ffffff",
        Color::Rgb(r, g, b) => return format!("#{r:02x}{g:02x}{b:02x}"),
        Color::Indexed(i) => return indexed(i),
    };
    named.to_string()
}

/// xterm's 256-colour cube and grey ramp (the first 16 as the named colours).
fn indexed(i: u8) -> String {
    const NAMED: [Color; 16] = [
        Color::Black,
        Color::Red,
        Color::Green,
        Color::Yellow,
        Color::Blue,
        Color::Magenta,
        Color::Cyan,
        Color::Gray,
        Color::DarkGray,
        Color::LightRed,
        Color::LightGreen,
        Color::LightYellow,
        Color::LightBlue,
        Color::LightMagenta,
        Color::LightCyan,
        Color::White,
    ];
    match i {
        0..=15 => hex(NAMED[i as usize], FOREGROUND),
        16..=231 => {
            let level = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            let n = i - 16;
            let (r, g, b) = (level(n / 36), level(n / 6 % 6), level(n % 6));
            format!("#{r:02x}{g:02x}{b:02x}")
        }
        _ => {
            let v = 8 + (i - 232) * 10;
            format!("#{v:02x}{v:02x}{v:02x}")
        }
    }
}

/// What a run of cells shares: colours after REVERSED is applied, and the text modifiers.
#[derive(Clone, PartialEq)]
struct Look {
    fg: String,
    bg: Option<String>,
    bold: bool,
    dim: bool,
    italic: bool,
    underline: bool,
    crossed: bool,
}

fn look(cell: &ratatui::buffer::Cell) -> Look {
    let m = cell.modifier;
    let (mut fg, mut bg) = (hex(cell.fg, FOREGROUND), hex(cell.bg, BACKGROUND));
    if m.contains(Modifier::REVERSED) {
        std::mem::swap(&mut fg, &mut bg);
    }
    Look {
        fg,
        bg: (bg != BACKGROUND).then_some(bg),
        bold: m.contains(Modifier::BOLD),
        dim: m.contains(Modifier::DIM),
        italic: m.contains(Modifier::ITALIC),
        underline: m.contains(Modifier::UNDERLINED),
        crossed: m.contains(Modifier::CROSSED_OUT),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The buffer as SVG: one background rectangle per run of cells with the same background,
/// one `<text>` per run with the same look, each stretched over exactly its cells so that
/// the columns line up whatever the font's widths.
fn to_svg(buf: &Buffer) -> String {
    let (w, h) = (buf.area.width as u32, buf.area.height as u32);
    let (pw, ph) = (w * CELL_W, h * CELL_H);
    let mut backgrounds = String::new();
    let mut texts = String::new();
    for y in 0..buf.area.height {
        let cells: Vec<(u16, Look, &str)> = (0..buf.area.width)
            .map(|x| {
                let cell = &buf[(x, y)];
                (x, look(cell), cell.symbol())
            })
            .collect();
        let top = y as u32 * CELL_H;
        // Backgrounds: runs of one colour.
        let mut x = 0;
        while x < cells.len() {
            let bg = cells[x].1.bg.clone();
            let start = x;
            while x < cells.len() && cells[x].1.bg == bg {
                x += 1;
            }
            if let Some(bg) = bg {
                let _ = writeln!(
                    backgrounds,
                    r#"<rect x="{}" y="{top}" width="{}" height="{CELL_H}" fill="{bg}"/>"#,
                    start as u32 * CELL_W,
                    (x - start) as u32 * CELL_W,
                );
            }
        }
        // Text: runs of one look; a wide character's second cell has an empty symbol.
        let mut x = 0;
        while x < cells.len() {
            let l = cells[x].1.clone();
            let start = x;
            let mut text = String::new();
            while x < cells.len() && cells[x].1 == l {
                text.push_str(cells[x].2);
                x += 1;
            }
            if text.trim().is_empty() {
                continue;
            }
            let mut attrs = format!(r#" fill="{}""#, l.fg);
            if l.bold {
                attrs.push_str(r#" font-weight="bold""#);
            }
            if l.dim {
                attrs.push_str(r#" opacity="0.6""#);
            }
            if l.italic {
                attrs.push_str(r#" font-style="italic""#);
            }
            match (l.underline, l.crossed) {
                (true, true) => attrs.push_str(r#" text-decoration="underline line-through""#),
                (true, false) => attrs.push_str(r#" text-decoration="underline""#),
                (false, true) => attrs.push_str(r#" text-decoration="line-through""#),
                (false, false) => {}
            }
            let _ = writeln!(
                texts,
                r#"<text x="{}" y="{}" textLength="{}" lengthAdjust="spacingAndGlyphs"{attrs}>{}</text>"#,
                start as u32 * CELL_W,
                top + CELL_H - 5,
                (x - start) as u32 * CELL_W,
                escape(&text),
            );
        }
    }
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{pw}" height="{ph}" viewBox="0 0 {pw} {ph}">
<style>text {{ font-family: "DejaVu Sans Mono", Menlo, Consolas, "Liberation Mono", monospace; font-size: {FONT_SIZE}px; white-space: pre; }}</style>
<rect width="{pw}" height="{ph}" fill="{BACKGROUND}"/>
{backgrounds}<g xml:space="preserve">
{texts}</g>
</svg>
"#
    )
}

// ----- the cluster screen -----

const NODES: [&str; 3] = ["a", "b", "c"];

/// Three sockudo nodes joined by Redis, a watcher on each in `presence-room` (watcher@a,
/// watcher@b, watcher@c) and traffic on `orders`; then node c killed with `kill -9`: its
/// socket lost, its HTTP API refusing, its column lost, its watcher a ghost on a and b. The
/// cluster screen open (`C`).
fn cluster(width: u16, height: u16) -> App {
    use chanwatch::cluster::{Delivery, DeliveryCell, Divergence, DivergenceKind};
    let info = DashboardInfo {
        nodes: NODES.iter().map(|&n| n.into()).collect(),
        host: "3 nodes: a=127.0.0.1:6001 b=127.0.0.1:6002 c=127.0.0.1:6003".into(),
        key: "testkey".into(),
        tls: false,
        demo: false,
    };
    let wall0 = UNIX_EPOCH + Duration::from_secs(1_765_000_000);
    let t0 = Instant::now();
    let config = AppConfig {
        wall_clock: Some(wall0),
        ..AppConfig::default()
    };
    let mut s = Script {
        app: App::new(info, config, t0),
        t0,
        wall0,
        ms: 0,
    };
    s.msg(Msg::Resize(width, height));
    let client = |s: &mut Script, node: &str, r: Record| s.rec_on(Some(node), r.into());
    let watcher = |node: &str| member(&format!("watcher@{node}"), "chanwatch");
    for (i, node) in NODES.iter().enumerate() {
        s.at(1 + i as u64);
        client(
            &mut s,
            node,
            Record::State {
                previous: State::Initialized,
                current: State::Connecting,
                socket_id: None,
                cause: None,
            },
        );
        s.at(20 + i as u64 * 3);
        client(
            &mut s,
            node,
            Record::State {
                previous: State::Connecting,
                current: State::Connected,
                socket_id: Some(format!("{}.{}", 7_082_979_582u64 + i as u64, 9_924 + i)),
                cause: None,
            },
        );
        for channel in ["orders", "presence-room"] {
            client(
                &mut s,
                node,
                Record::Subscribed {
                    channel: channel.into(),
                },
            );
        }
        let members: Vec<Member> = NODES.iter().map(|n| watcher(n)).collect();
        client(
            &mut s,
            node,
            Record::Members {
                channel: "presence-room".into(),
                me: Some(watcher(node)),
                count: members.len(),
                members,
            },
        );
    }
    for (i, node) in NODES.iter().enumerate() {
        s.at(900 + i as u64);
        client(
            &mut s,
            node,
            Record::Pong {
                rtt_ms: 1 + i as u64,
            },
        );
    }
    // Orders published through the API reach every node while all is well, then a and b.
    for n in 0..40u64 {
        let live: &[&str] = if n < 20 { &NODES } else { &NODES[..2] };
        for (i, node) in live.iter().enumerate() {
            s.at(1_000 + n * 500 + i as u64);
            client(
                &mut s,
                node,
                Record::Event {
                    channel: Some("orders".into()),
                    event: "order.placed".into(),
                    data: json!({ "order": 1_000 + n, "total": 40 + n % 13 }).into(),
                    user_id: None,
                    decrypted: false,
                },
            );
        }
    }
    // kill -9 of node c at 11 s.
    s.at(11_000);
    client(
        &mut s,
        "c",
        Record::State {
            previous: State::Connected,
            current: State::Connecting,
            socket_id: None,
            cause: Some("closed 1006 (abnormal closure (connection lost))".into()),
        },
    );
    s.at(11_001);
    client(
        &mut s,
        "c",
        Record::ConnectingIn {
            delay_ms: 0,
            reason: None,
        },
    );
    s.at(15_000);
    client(
        &mut s,
        "c",
        Record::State {
            previous: State::Connecting,
            current: State::Unavailable,
            socket_id: None,
            cause: Some("connection refused".into()),
        },
    );
    let cell = |from: &str, to: &str| {
        let (sent, received, p50, p99) = match (from, to) {
            (_, "c") => (30, 11, 2.1, 4.4),
            ("c", _) => (11, 11, 1.9, 4.2),
            (f, t) if f == t => (30, 30, 0.9, 2.3),
            _ => (30, 30, 1.7, 3.8),
        };
        DeliveryCell {
            from: from.into(),
            to: to.into(),
            sent,
            received,
            loss: Some(1.0 - f64::from(received) / f64::from(sent)),
            p50_ms: Some(p50),
            p99_ms: Some(p99),
        }
    };
    s.at(21_000).rec(SessionRecord::Delivery(Box::new(Delivery {
        rounds: 30,
        cells: NODES
            .iter()
            .flat_map(|f| NODES.iter().map(move |t| (f, t)))
            .map(|(f, t)| cell(f, t))
            .collect(),
        api_errors: [(
            "c".to_string(),
            "POST /apps/app1/events: error sending request: connection refused".to_string(),
        )]
        .into(),
        diagnosis: Some(
            "node c looks down: it receives nothing and its HTTP API is not answering: \
             POST /apps/app1/events: error sending request: connection refused"
                .into(),
        ),
    })));
    s.rec(SessionRecord::Divergence(Box::new(Divergence {
        channel: "presence-room".into(),
        kind: DivergenceKind::Members,
        member: Some("watcher@c".into()),
        listed_on: vec!["a".into(), "b".into()],
        missing_on: vec!["c".into()],
        counts: Default::default(),
        since: wall0 + Duration::from_millis(11_000),
        for_ms: 10_000,
        ghost: true,
        resolved: false,
    })));
    s.at(21_500).msg(Msg::Tick);
    s.key(KeyCode::Char('C'));
    s.app
}
