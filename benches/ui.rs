//! Dashboard cost, measured with std::time only: `cargo bench --bench ui`.
//! 1. Ingest: 100 000 `event` records through `App::update` (log ring of 10 000).
//!    The same with the measures model off (`AppConfig::measures`), runs interleaved, and the
//!    measures model alone per event.
//! 2. Frames: drawing the whole dashboard with a full log to a 200x50 `TestBackend`, following,
//!    filtered (the filter walks the ring) and paused; mean and p99 per frame.
//! 3. Detail: opening a 1 MB event and one nested 10 000 deep in the detail view (Enter and
//!    the first frame), then a frame at its bottom.
//! 4. Occupancy: an HTTP API answer of 75 000 channels (about 3.8 MB) parsed as the poller
//!    does, then applied to the occupancy table twice (a first poll, then one that carries
//!    every channel again, whose history is merged).
use chanwatch::session_record::SessionRecord;

use chanwatch_core::record::{Record, State};

use chanwatch::session::DashboardInfo;
use chanwatch::session_record::Stamped;
use chanwatch::ui::app::{App, AppConfig, Msg};
use chanwatch::ui::view;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::json;
use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime};

const EVENTS: usize = 100_000;
const FRAMES: usize = 300;

/// `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it,
/// and then a small smoke run is enough to prove it still works.
fn scale() -> (usize, usize) {
    if std::env::args().any(|a| a == "--bench") {
        (EVENTS, FRAMES)
    } else {
        (2_000, 5)
    }
}

fn info() -> DashboardInfo {
    DashboardInfo {
        nodes: Vec::new(),
        host: "127.0.0.1".into(),
        key: "bench".into(),
        tls: false,
        demo: false,
    }
}

fn records(n: usize) -> Vec<Stamped> {
    let t0 = SystemTime::now();
    (0..n)
        .map(|i| Stamped {
            node: None,
            ts: t0 + Duration::from_micros(i as u64 * 50),
            record: SessionRecord::Client(Record::Event {
                channel: Some(format!("channel-{}", i % 8)),
                event: "price-update".into(),
                data: json!({"id": i, "symbol": "ABC", "price": 101.25, "qty": 3, "side": "buy"})
                    .into(),
                user_id: None,
                decrypted: false,
            }),
        })
        .collect()
}

fn key(app: &mut App, c: char) {
    app.update(
        Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
        Instant::now(),
    );
}

fn frames(label: &str, app: &App, term: &mut Terminal<TestBackend>) {
    let (_, frames) = scale();
    let mut times = Vec::with_capacity(frames);
    for _ in 0..frames {
        let t = Instant::now();
        term.draw(|f| view::render(black_box(app), f)).unwrap();
        times.push(t.elapsed());
    }
    times.sort();
    let mean = times.iter().sum::<Duration>() / frames as u32;
    let p99 = times[(frames * 99 / 100).min(frames - 1)];
    println!(
        "frame 200x50 {label:<10} mean {:>7.3} ms   p99 {:>7.3} ms   ({frames} frames)",
        mean.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3
    );
}

/// The app after connecting and subscribing to the bench's eight channels.
fn connected_app(measures: bool) -> App {
    let config = AppConfig {
        measures,
        ..AppConfig::default()
    };
    let mut app = App::new(info(), config, Instant::now());
    app.update(Msg::Resize(200, 50), Instant::now());
    app.update(
        Msg::Record(Stamped::now(SessionRecord::Client(Record::State {
            previous: State::Connecting,
            current: State::Connected,
            socket_id: Some("1.1".into()),
            cause: None,
        }))),
        Instant::now(),
    );
    for c in 0..8 {
        app.update(
            Msg::Record(Stamped::now(SessionRecord::Client(Record::Subscribed {
                channel: format!("channel-{c}"),
            }))),
            Instant::now(),
        );
    }
    app
}

/// Time `events` records through a fresh app.
fn ingest(measures: bool, events: usize) -> (App, Duration) {
    let mut app = connected_app(measures);
    let input = records(events);
    let start = Instant::now();
    for r in input {
        black_box(app.update(Msg::Record(r), Instant::now()));
    }
    (app, start.elapsed())
}

fn main() {
    let (events, _) = scale();
    // StatsModel on and off, interleaved so that a busy neighbour slows both alike.
    let (mut on, mut off) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        off.push(ingest(false, events).1);
        on.push(ingest(true, events).1);
    }
    let best = |v: &[Duration]| *v.iter().min().unwrap();
    println!(
        "ingest {events} events, best of 3: measures on {:.1} ms, off {:.1} ms ({:+.1} %)",
        best(&on).as_secs_f64() * 1e3,
        best(&off).as_secs_f64() * 1e3,
        (best(&on).as_secs_f64() / best(&off).as_secs_f64() - 1.0) * 100.0
    );
    // The model alone, over records already in cache (as they are when they arrive from
    // the socket), eight channels in turn so the last-channel shortcut never applies.
    let mut model = chanwatch::stats::StatsModel::new(Instant::now());
    let input = records(1000);
    let now = Instant::now();
    let start = Instant::now();
    for _ in 0..events / 1000 {
        for r in &input {
            model.on_record(black_box(now), black_box(&r.record));
        }
    }
    let took = start.elapsed();
    println!(
        "measures model alone: {:.1} ns per event",
        took.as_secs_f64() * 1e9 / events as f64
    );

    let (mut app, took) = ingest(true, events);
    println!(
        "ingest {events} events: {:.1} ms, {:.0} events/s (log holds {}, dropped {})",
        took.as_secs_f64() * 1e3,
        events as f64 / took.as_secs_f64(),
        app.log().len(),
        app.log().dropped()
    );

    let mut term = Terminal::new(TestBackend::new(200, 50)).unwrap();
    frames("following", &app, &mut term);
    // A filter matching one channel in eight: the view walks back through the ring.
    key(&mut app, '/');
    for c in "channel:channel-3".chars() {
        key(&mut app, c);
    }
    app.update(
        Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
        Instant::now(),
    );
    frames("filtered", &app, &mut term);
    app.update(
        Msg::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)),
        Instant::now(),
    );
    key(&mut app, 'g');
    frames("paused", &app, &mut term);
    key(&mut app, 'm');
    frames("measures", &app, &mut term);

    let items: Vec<_> = (0..16_000)
        .map(|i| json!({"id": i, "name": format!("item-{i:05}"), "pad": "x".repeat(20)}))
        .collect();
    let big = json!({ "items": items }).to_string();
    let deep = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
    for (label, text) in [("1 MB", big), ("10k deep", deep)] {
        detail(label, &text, &mut term);
    }

    occupancy(if events == EVENTS { 75_000 } else { 2_000 });
}

/// Parse an occupancy answer of `n` channels and apply it to the table twice.
fn occupancy(n: usize) {
    let channels: serde_json::Map<String, serde_json::Value> = (0..n)
        .map(|i| {
            let name = if i % 10 == 0 {
                format!("presence-room-{i:06}")
            } else {
                format!("private-channel-{i:06}")
            };
            (
                name,
                json!({"subscription_count": i % 97, "user_count": i % 13}),
            )
        })
        .collect();
    let body = json!({ "channels": channels }).to_string();
    let start = Instant::now();
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    let listing = chanwatch::occupancy::parse_listing(&answer);
    let parsed = start.elapsed();
    let mut table = chanwatch::occupancy::Table::default();
    let start = Instant::now();
    table.apply(black_box(&listing));
    let first = start.elapsed();
    let start = Instant::now();
    table.apply(black_box(&listing));
    let second = start.elapsed();
    println!(
        "occupancy: {n} channels ({:.1} MB answer) parsed in {:.1} ms; applied in {:.1} ms \
         (first poll), {:.1} ms (second poll); {} rows kept",
        body.len() as f64 / 1e6,
        parsed.as_secs_f64() * 1e3,
        first.as_secs_f64() * 1e3,
        second.as_secs_f64() * 1e3,
        table.rows().len()
    );
}

/// Open one event in the detail view: the time to the first frame, and a frame at the bottom.
fn detail(label: &str, text: &str, term: &mut Terminal<TestBackend>) {
    let mut app = App::new(info(), AppConfig::default(), Instant::now());
    app.update(Msg::Resize(200, 50), Instant::now());
    let data = chanwatch_core::protocol::RawJson::parse(text).expect("valid JSON");
    app.update(
        Msg::Record(Stamped::now(SessionRecord::Client(Record::Event {
            channel: Some("big".into()),
            event: "dump".into(),
            data,
            user_id: None,
            decrypted: false,
        }))),
        Instant::now(),
    );
    let start = Instant::now();
    app.update(
        Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
        Instant::now(),
    );
    term.draw(|f| view::render(black_box(&app), f)).unwrap();
    let open = start.elapsed();
    key(&mut app, 'G');
    let start = Instant::now();
    term.draw(|f| view::render(black_box(&app), f)).unwrap();
    let bottom = start.elapsed();
    println!(
        "detail {label:<9} ({} bytes): open + first frame {:>7.3} ms, frame at the bottom {:>7.3} ms",
        text.len(),
        open.as_secs_f64() * 1e3,
        bottom.as_secs_f64() * 1e3
    );
}
