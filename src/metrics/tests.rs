use super::server::respond;
use super::*;
use chanwatch_core::protocol::RawJson;
use chanwatch_core::record::Member;
use hyper::StatusCode;
use serde_json::json;
use std::sync::Mutex;
use std::time::Duration;

/// The value of the sample `series` (name with its labels, as the text format writes it).
fn value(m: &Metrics, series: &str) -> f64 {
    let mut text = String::new();
    m.encode_text(&mut text).unwrap();
    let prefix = format!("{series} ");
    let line = text
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no {series} in\n{text}"));
    line[prefix.len()..].parse().unwrap()
}

fn client(r: Record) -> SessionRecord {
    SessionRecord::Client(r)
}

fn event(channel: Option<&str>, data: &str) -> SessionRecord {
    client(Record::Event {
        channel: channel.map(str::to_string),
        event: "e".into(),
        data: RawJson::parse(data).unwrap(),
        user_id: None,
        decrypted: false,
    })
}

fn state(previous: State, current: State) -> SessionRecord {
    client(Record::State {
        previous,
        current,
        socket_id: (current == State::Connected).then(|| "123.456".to_string()),
        cause: None,
    })
}

fn connect(m: &mut Metrics, now: Instant) {
    m.observe(&state(State::Connecting, State::Connected), now);
}

fn lose(m: &mut Metrics, now: Instant) {
    m.observe(&state(State::Connected, State::Connecting), now);
}

#[test]
fn events_and_bytes_are_counted_per_channel() {
    let mut m = Metrics::new();
    let t = Instant::now();
    m.observe(&event(Some("ticker"), r#"{"p":1}"#), t);
    m.observe(&event(Some("ticker"), r#"{"p":22}"#), t);
    m.observe(&event(Some("news"), "null"), t);
    m.observe(&event(None, "{}"), t);
    assert_eq!(
        value(&m, r#"chanwatch_events_received_total{channel="ticker"}"#),
        2.0
    );
    assert_eq!(
        value(
            &m,
            r#"chanwatch_event_data_received_bytes_total{channel="ticker"}"#
        ),
        15.0
    );
    assert_eq!(
        value(&m, r#"chanwatch_events_received_total{channel="news"}"#),
        1.0
    );
    assert_eq!(
        value(
            &m,
            r#"chanwatch_events_received_total{channel="_connection"}"#
        ),
        1.0
    );
}

#[test]
fn channels_past_the_cap_fold_into_other() {
    let mut m = Metrics::new();
    let t = Instant::now();
    for i in 0..CHANNEL_CAP + 10 {
        m.observe(&event(Some(&format!("ch-{i}")), "1"), t);
    }
    // The 65th channel again: still folded, not given a label late.
    m.observe(&event(Some(&format!("ch-{CHANNEL_CAP}")), "1"), t);
    assert_eq!(m.channels.len(), CHANNEL_CAP);
    assert_eq!(
        value(&m, r#"chanwatch_events_received_total{channel="ch-63"}"#),
        1.0
    );
    assert_eq!(
        value(&m, r#"chanwatch_events_received_total{channel="_other"}"#),
        11.0
    );
    let mut text = String::new();
    m.encode_text(&mut text).unwrap();
    assert!(!text.contains("ch-64"), "{text}");
    // Labels: the 64 channels plus _other and _connection.
    let series = text
        .lines()
        .filter(|l| l.starts_with("chanwatch_events_received_total{"))
        .count();
    assert_eq!(series, CHANNEL_CAP + 2);
}

#[test]
fn reconnects_are_counted_by_cause() {
    let mut m = Metrics::new();
    let t = Instant::now();
    connect(&mut m, t);
    // A cut: the socket ends without a close frame.
    m.observe(
        &client(Record::Error {
            code: Some(1006),
            message: "closed 1006".into(),
        }),
        t,
    );
    lose(&mut m, t);
    connect(&mut m, t);
    // A ping that nothing answered.
    m.observe(&client(Record::PingSent { after_ms: 120_000 }), t);
    lose(&mut m, t);
    connect(&mut m, t);
    // A ping answered, then a restart asking for an immediate reconnect.
    m.observe(&client(Record::PingSent { after_ms: 120_000 }), t);
    m.observe(&client(Record::Pong { rtt_ms: 3 }), t);
    m.observe(
        &client(Record::Error {
            code: Some(4200),
            message: "restart".into(),
        }),
        t,
    );
    m.observe(&state(State::Connected, State::Unavailable), t);
    connect(&mut m, t);
    // The user disconnects: no reconnect.
    m.observe(&state(State::Connected, State::Disconnected), t);
    for (cause, n) in [
        ("abnormal_close", 1.0),
        ("pong_timeout", 1.0),
        ("server_reconnect", 1.0),
        ("server_backoff", 0.0),
        ("normal_close", 0.0),
        ("other_close", 0.0),
    ] {
        assert_eq!(
            value(
                &m,
                &format!(r#"chanwatch_reconnects_total{{cause="{cause}"}}"#)
            ),
            n,
            "{cause}"
        );
    }
    assert_eq!(value(&m, "chanwatch_connections_total"), 4.0);
    assert_eq!(value(&m, "chanwatch_ping_rtt_seconds_count"), 1.0);
    assert_eq!(value(&m, "chanwatch_connected"), 0.0);
}

#[test]
fn an_error_before_the_connection_does_not_name_a_later_loss() {
    let mut m = Metrics::new();
    let t = Instant::now();
    m.observe(
        &client(Record::Error {
            code: Some(4100),
            message: "over quota".into(),
        }),
        t,
    );
    connect(&mut m, t);
    lose(&mut m, t);
    assert_eq!(
        value(&m, r#"chanwatch_reconnects_total{cause="normal_close"}"#),
        1.0
    );
    assert_eq!(
        value(&m, r#"chanwatch_reconnects_total{cause="server_backoff"}"#),
        0.0
    );
}

#[test]
fn time_connected_follows_the_virtual_clock() {
    let mut m = Metrics::new();
    let t0 = Instant::now();
    m.refresh(t0 + Duration::from_secs(3));
    assert_eq!(value(&m, "chanwatch_connected_seconds_total"), 0.0);
    connect(&mut m, t0);
    m.refresh(t0 + Duration::from_secs(5));
    assert_eq!(value(&m, "chanwatch_connected_seconds_total"), 5.0);
    lose(&mut m, t0 + Duration::from_secs(7));
    m.refresh(t0 + Duration::from_secs(60));
    assert_eq!(value(&m, "chanwatch_connected_seconds_total"), 7.0);
    connect(&mut m, t0 + Duration::from_secs(60));
    m.refresh(t0 + Duration::from_millis(60_500));
    assert_eq!(value(&m, "chanwatch_connected_seconds_total"), 7.5);
    assert_eq!(
        value(&m, r#"chanwatch_connection_state{state="connected"}"#),
        1.0
    );
    assert_eq!(
        value(&m, r#"chanwatch_connection_state{state="connecting"}"#),
        0.0
    );
}

fn probe(latency_ms: Option<u64>, error: Option<&str>) -> SessionRecord {
    SessionRecord::Probe {
        seq: 1,
        latency_ms,
        lost: latency_ms.is_none(),
        api_ms: Some(2),
        error: error.map(str::to_string),
    }
}

#[test]
fn probes_feed_the_histogram_loss_and_success() {
    let mut m = Metrics::new();
    let t = Instant::now();
    assert_eq!(value(&m, "chanwatch_probe_success"), 0.0);
    m.observe(&probe(Some(4), None), t);
    m.observe(&probe(Some(1500), None), t);
    assert_eq!(value(&m, "chanwatch_probe_success"), 1.0);
    m.observe(&probe(None, None), t);
    assert_eq!(value(&m, "chanwatch_probe_success"), 0.0);
    m.observe(&probe(None, Some("HTTP 500")), t);
    m.observe(&probe(Some(7), None), t);
    assert_eq!(value(&m, "chanwatch_probes_total"), 5.0);
    assert_eq!(value(&m, "chanwatch_probe_lost_total"), 2.0);
    assert_eq!(value(&m, "chanwatch_probe_errors_total"), 1.0);
    assert_eq!(value(&m, "chanwatch_probe_latency_seconds_count"), 3.0);
    assert_eq!(
        value(&m, r#"chanwatch_probe_latency_seconds_bucket{le="0.005"}"#),
        1.0
    );
    assert_eq!(
        value(&m, r#"chanwatch_probe_latency_seconds_bucket{le="2.5"}"#),
        3.0
    );
}

#[test]
fn auth_round_trips_by_result() {
    let mut m = Metrics::new();
    let t = Instant::now();
    for (ok, ms) in [(true, 12), (true, 30), (false, 5000)] {
        m.observe(
            &client(Record::Auth {
                channel: "private-x".into(),
                socket_id: "1.2".into(),
                request: json!({}),
                ok,
                status: Some(200),
                response: json!({}),
                duration_ms: ms,
                failure: None,
            }),
            t,
        );
    }
    assert_eq!(
        value(&m, r#"chanwatch_auth_duration_seconds_count{result="ok"}"#),
        2.0
    );
    assert_eq!(
        value(&m, r#"chanwatch_auth_duration_seconds_sum{result="error"}"#),
        5.0
    );
}

#[test]
fn presence_members_follow_the_roster_and_reset_on_loss() {
    let mut m = Metrics::new();
    let t = Instant::now();
    connect(&mut m, t);
    let member = |id: &str| Member {
        id: id.into(),
        info: json!({}),
    };
    m.observe(
        &client(Record::Members {
            channel: "presence-room".into(),
            me: Some(member("me")),
            count: 3,
            members: vec![member("me"), member("a"), member("b")],
        }),
        t,
    );
    m.observe(
        &client(Record::MemberAdded {
            channel: "presence-room".into(),
            id: "user-secret-7".into(),
            info: json!({"name": "x"}),
        }),
        t,
    );
    let series = r#"chanwatch_presence_members{channel="presence-room"}"#;
    assert_eq!(value(&m, series), 4.0);
    m.observe(
        &client(Record::MemberRemoved {
            channel: "presence-room".into(),
            id: "a".into(),
        }),
        t,
    );
    assert_eq!(value(&m, series), 3.0);
    lose(&mut m, t);
    assert_eq!(value(&m, series), 0.0);
    // No user id and no socket id is ever a label or a value.
    let mut text = String::new();
    m.encode_openmetrics(&mut text).unwrap();
    assert!(!text.contains("user-secret-7") && !text.contains("123.456"));
}

#[test]
fn presence_channels_past_the_cap_are_not_exported() {
    let mut m = Metrics::new();
    let t = Instant::now();
    for i in 0..CHANNEL_CAP + 3 {
        m.observe(
            &client(Record::MemberAdded {
                channel: format!("presence-{i}"),
                id: "u".into(),
                info: json!(null),
            }),
            t,
        );
    }
    assert_eq!(m.presence.len(), CHANNEL_CAP);
    let mut text = String::new();
    m.encode_text(&mut text).unwrap();
    assert!(!text.contains(&format!("presence-{CHANNEL_CAP}\"")));
}

#[test]
fn the_endpoint_answers_per_path_and_accept_header() {
    let m = Mutex::new(Metrics::new());
    let t = Instant::now();
    let (status, _, body) = respond(&m, "/ready", "", t);
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "not connected\n")
    );
    connect(&mut m.lock().unwrap(), t);
    assert_eq!(respond(&m, "/ready", "", t).0, StatusCode::OK);

    let (status, ty, body) = respond(&m, "/metrics", "text/plain", t);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ty, "text/plain; version=0.0.4; charset=utf-8");
    assert!(body.contains("\nchanwatch_connected 1\n"), "{body}");
    assert!(!body.contains("# EOF"));

    let accept = "application/openmetrics-text;version=1.0.0,text/plain;q=0.5";
    let (status, ty, body) = respond(&m, "/metrics", accept, t);
    assert_eq!(status, StatusCode::OK);
    assert!(ty.starts_with("application/openmetrics-text"), "{ty}");
    assert!(body.ends_with("# EOF\n"), "{body}");
    assert!(body.contains("# UNIT chanwatch_probe_latency_seconds seconds"));

    let (status, _, body) = respond(&m, "/", "", t);
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("/metrics") && body.contains("/ready"));
    assert_eq!(respond(&m, "/metricz", "", t).0, StatusCode::NOT_FOUND);
}

/// A session of one connection touching every metric: connected, events on a few
/// channels, a ping, a probe or two, an auth, a presence roster, a loss and a reconnect.
fn one_connection_session(m: &mut Metrics, t0: Instant) {
    let at = |s: u64| t0 + Duration::from_secs(s);
    m.observe(&state(State::Initialized, State::Connecting), at(0));
    connect(m, at(1));
    m.observe(&event(Some("ticker"), r#"{"p":1}"#), at(2));
    m.observe(&event(None, "{}"), at(2));
    m.observe(&client(Record::PingSent { after_ms: 120_000 }), at(3));
    m.observe(&client(Record::Pong { rtt_ms: 3 }), at(3));
    m.observe(&probe(Some(4), None), at(4));
    m.observe(&probe(None, Some("HTTP 500")), at(5));
    m.observe(
        &client(Record::Auth {
            channel: "presence-room".into(),
            socket_id: "1.2".into(),
            request: json!({}),
            ok: true,
            status: Some(200),
            response: json!({}),
            duration_ms: 12,
            failure: None,
        }),
        at(5),
    );
    m.observe(
        &client(Record::MemberAdded {
            channel: "presence-room".into(),
            id: "u".into(),
            info: json!(null),
        }),
        at(6),
    );
    m.observe(
        &client(Record::Error {
            code: Some(4200),
            message: "restart".into(),
        }),
        at(7),
    );
    lose(m, at(8));
    connect(m, at(9));
    m.refresh(at(10));
}

/// The exposition with each metric family's lines sorted (a family's series come in hash
/// order), families in registration order.
fn canonical(text: &str) -> String {
    let mut blocks: Vec<Vec<&str>> = Vec::new();
    for line in text.lines() {
        if line.starts_with("# HELP") || blocks.is_empty() {
            blocks.push(Vec::new());
        }
        blocks.last_mut().unwrap().push(line);
    }
    let mut out = String::new();
    for mut block in blocks {
        block.sort_unstable();
        for line in block {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// One connection's exposition is exactly what it was before nodes existed: no `node`
/// label, no cluster metric (the golden files were written by the code before them).
#[test]
fn one_connection_exposition_is_unchanged() {
    let mut m = Metrics::new();
    one_connection_session(&mut m, Instant::now());
    let mut text = String::new();
    m.encode_text(&mut text).unwrap();
    let mut open = String::new();
    m.encode_openmetrics(&mut open).unwrap();
    if std::env::var_os("CHANWATCH_WRITE_GOLDEN").is_some() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/metrics/testdata");
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(format!("{dir}/one_connection.prom"), canonical(&text)).unwrap();
        std::fs::write(
            format!("{dir}/one_connection.openmetrics"),
            canonical(&open),
        )
        .unwrap();
    }
    assert_eq!(
        canonical(&text),
        include_str!("testdata/one_connection.prom"),
        "{text}"
    );
    assert_eq!(
        canonical(&open),
        include_str!("testdata/one_connection.openmetrics"),
        "{open}"
    );
}
