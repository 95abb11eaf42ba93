//! The webhooks screen and the timeline's webhook lines, driven through the app with the
//! records the demo produces (a batch of occupied channels, checks met, a forged
//! signature, a false `channel_vacated`) and drawn to `TestBackend`.

use super::app::measures::Screen;
use super::app::{App, AppConfig, Msg};
use super::view;
use crate::prefs::theme::Theme;
use crate::session::DashboardInfo;
use crate::session_record::{SessionRecord, Stamped};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const DEMO_LINES: &[&str] = &[
    r#"{"type":"webhook_listening","url":"http://127.0.0.1:33345/webhooks"}"#,
    r#"{"type":"subscribed","channel":"news"}"#,
    r#"{"type":"webhook","seq":1,"status":200,"verdict":"ok","time_ms":1700000000230,"delay_ms":1,"batch":2,"events":[{"name":"channel_occupied","channel":"news"},{"name":"member_added","channel":"presence-lobby","user_id":"you"}],"bytes":200}"#,
    r#"{"type":"webhook_check","expect":"channel_occupied","channel":"news","outcome":"met","delay_ms":230}"#,
    r#"{"type":"webhook_check","expect":"member_added","channel":"presence-lobby","user_id":"you","outcome":"met","delay_ms":228}"#,
    r#"{"type":"webhook_forward","seq":1,"status":202,"duration_ms":3}"#,
    r#"{"type":"webhook","seq":2,"status":401,"verdict":"bad_signature","batch":0,"events":[],"bytes":91}"#,
    r#"{"type":"webhook","seq":3,"status":200,"verdict":"ok","time_ms":1700000010999,"delay_ms":1,"batch":1,"events":[{"name":"channel_vacated","channel":"news"}],"bytes":80}"#,
    r#"{"type":"webhook_check","expect":"channel_vacated","channel":"news","outcome":"contradicted","detail":"channel_vacated while we are still subscribed"}"#,
];

fn app_with_demo_webhooks(width: u16, height: u16) -> (App, Instant) {
    let t0 = Instant::now();
    let wall0 = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let config = AppConfig {
        theme: Theme::monochrome(),
        wall_clock: Some(wall0),
        ..AppConfig::default()
    };
    let info = DashboardInfo {
        nodes: Vec::new(),
        host: "demo".into(),
        key: "demo-key".into(),
        tls: false,
        demo: true,
    };
    let mut app = App::new(info, config, t0);
    app.update(Msg::Resize(width, height), t0);
    for (i, line) in DEMO_LINES.iter().enumerate() {
        let record: SessionRecord = serde_json::from_str(line).unwrap();
        let ms = if i < 6 {
            230 + i as u64
        } else {
            4000 + 1000 * i as u64
        };
        let ts: SystemTime = wall0 + Duration::from_millis(ms);
        app.update(
            Msg::Record(Stamped {
                node: None,
                ts,
                record,
            }),
            t0 + Duration::from_millis(ms),
        );
    }
    (app, t0)
}

fn key(app: &mut App, t0: Instant, c: char) {
    let code = KeyCode::Char(c);
    app.update(
        Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)),
        t0 + Duration::from_secs(20),
    );
}

fn text(app: &App, width: u16, height: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(width, height)).unwrap();
    term.draw(|f| view::render(app, f)).unwrap();
    let buf = term.backend().buffer();
    (0..height)
        .map(|y| {
            (0..width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect::<String>()
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn w_shows_requests_checks_and_the_contradiction() {
    let (mut app, t0) = app_with_demo_webhooks(100, 24);
    key(&mut app, t0, 'W');
    assert_eq!(app.measures().screen(), Some(Screen::Webhooks));
    let screen = text(&app, 100, 24);
    println!("{screen}");
    for want in [
        "Webhooks",
        "3 received, 1 refused · met 2, missed 0, contradicted 1",
        "receiving on http://127.0.0.1:33345/webhooks",
        "sig ok",
        "→ backend 202 in 3 ms",
        "channel_occupied",
        "user you",
        "401 X-Pusher-Signature does not match the body",
        "CONTRADICTED",
        "channel_vacated while we are still subscribed",
        "after 230 ms",
        "batch 2",
    ] {
        assert!(screen.contains(want), "no {want:?} in\n{screen}");
    }
    // Esc goes back to the panes; W again too.
    app.update(
        Msg::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)),
        t0 + Duration::from_secs(21),
    );
    assert_eq!(app.measures().screen(), None);
}

#[test]
fn the_timeline_has_a_line_per_webhook_and_flags_the_bad_ones() {
    let (app, _) = app_with_demo_webhooks(100, 24);
    let lines: Vec<(String, bool)> = app
        .model()
        .timeline()
        .iter()
        .filter_map(|e| match &e.kind {
            super::model::TimelineKind::Webhook { text, flagged } => Some((text.clone(), *flagged)),
            _ => None,
        })
        .collect();
    let flagged: Vec<&str> = lines.iter().filter(|l| l.1).map(|l| l.0.as_str()).collect();
    assert_eq!(lines.len(), 8, "{lines:?}");
    assert_eq!(flagged.len(), 2, "{flagged:?}");
    assert!(flagged[0].contains("refused 401"));
    assert!(flagged[1].contains("CONTRADICTED"));
}

#[test]
fn scrolling_back_shows_older_rows_and_end_follows_again() {
    let (mut app, t0) = app_with_demo_webhooks(100, 10);
    key(&mut app, t0, 'W');
    let newest = text(&app, 100, 10);
    assert!(newest.contains("CONTRADICTED"), "{newest}");
    for _ in 0..20 {
        key(&mut app, t0, 'k');
    }
    let oldest = text(&app, 100, 10);
    assert!(!oldest.contains("CONTRADICTED"), "{oldest}");
    assert!(oldest.contains("#1"), "{oldest}");
    app.update(
        Msg::Key(KeyEvent::new(KeyCode::End, KeyModifiers::NONE)),
        t0 + Duration::from_secs(20),
    );
    assert_eq!(text(&app, 100, 10), newest);
}
