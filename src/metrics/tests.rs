use super::server::respond;
use super::*;
use crate::cluster::DeliveryCell;
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
    assert_eq!(m.conns[0].channels.len(), CHANNEL_CAP);
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
fn presence_members_are_counted_once_however_often_announced() {
    let mut m = Metrics::new();
    let t = Instant::now();
    connect(&mut m, t);
    let member = |id: &str| Member {
        id: id.into(),
        info: json!({}),
    };
    let added = |id: &str| {
        client(Record::MemberAdded {
            channel: "presence-room".into(),
            id: id.into(),
            info: json!({}),
        })
    };
    // Announced before the list that holds it (sockudo on a cluster does this) ...
    m.observe(&added("b"), t);
    m.observe(
        &client(Record::Members {
            channel: "presence-room".into(),
            me: Some(member("me")),
            count: 2,
            members: vec![member("me"), member("b")],
        }),
        t,
    );
    // ... and after it, once more.
    m.observe(&added("b"), t);
    m.observe(&added("c"), t);
    m.observe(&added("c"), t);
    let series = r#"chanwatch_presence_members{channel="presence-room"}"#;
    assert_eq!(value(&m, series), 3.0);
    m.observe(
        &client(Record::MemberRemoved {
            channel: "presence-room".into(),
            id: "b".into(),
        }),
        t,
    );
    assert_eq!(value(&m, series), 2.0);
    // A count beyond the list the server sent is counted too.
    m.observe(
        &client(Record::Members {
            channel: "presence-room".into(),
            me: Some(member("me")),
            count: 5,
            members: vec![member("me")],
        }),
        t,
    );
    assert_eq!(value(&m, series), 5.0);
    m.observe(
        &client(Record::Unsubscribed {
            channel: "presence-room".into(),
        }),
        t,
    );
    assert_eq!(value(&m, series), 0.0);
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
    assert_eq!(m.conns[0].presence.len(), CHANNEL_CAP);
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

fn names(list: &[&str]) -> Vec<NodeName> {
    list.iter().map(|n| NodeName::from(*n)).collect()
}

fn from_node(m: &mut Metrics, node: &NodeName, record: SessionRecord, now: Instant) {
    let stamped = Stamped {
        ts: std::time::SystemTime::now(),
        node: Some(node.clone()),
        record,
    };
    m.observe_stamped(&stamped, now);
}

fn text_of(m: &Metrics) -> String {
    let mut text = String::new();
    m.encode_text(&mut text).unwrap();
    text
}

#[test]
fn with_several_nodes_each_connection_has_its_node_label() {
    let nodes = names(&["a", "b", "c"]);
    let mut m = Metrics::for_nodes(&nodes);
    let t0 = Instant::now();
    // Every node is exported from the start, initialized.
    for node in ["a", "b", "c"] {
        assert_eq!(
            value(
                &m,
                &format!(r#"chanwatch_connection_state{{node="{node}",state="initialized"}}"#)
            ),
            1.0
        );
        assert_eq!(
            value(&m, &format!(r#"chanwatch_connected{{node="{node}"}}"#)),
            0.0
        );
    }
    // The same name in another allocation finds its node too.
    let a_again = NodeName::from("a");
    from_node(
        &mut m,
        &a_again,
        state(State::Connecting, State::Connected),
        t0,
    );
    from_node(
        &mut m,
        &nodes[1],
        state(State::Connecting, State::Connected),
        t0,
    );
    from_node(&mut m, &nodes[0], event(Some("ticker"), "12"), t0);
    from_node(&mut m, &nodes[1], event(Some("ticker"), "1"), t0);
    from_node(&mut m, &nodes[1], event(Some("ticker"), "1"), t0);
    from_node(
        &mut m,
        &nodes[1],
        client(Record::Error {
            code: Some(1006),
            message: "cut".into(),
        }),
        t0,
    );
    from_node(
        &mut m,
        &nodes[1],
        state(State::Connected, State::Connecting),
        t0 + Duration::from_secs(4),
    );
    from_node(&mut m, &nodes[2], client(Record::Pong { rtt_ms: 7 }), t0);
    m.refresh(t0 + Duration::from_secs(10));
    for (series, v) in [
        (r#"chanwatch_connected{node="a"}"#, 1.0),
        (r#"chanwatch_connected{node="b"}"#, 0.0),
        (
            r#"chanwatch_connection_state{node="b",state="connecting"}"#,
            1.0,
        ),
        (r#"chanwatch_connected_seconds_total{node="a"}"#, 10.0),
        (r#"chanwatch_connected_seconds_total{node="b"}"#, 4.0),
        (r#"chanwatch_connections_total{node="a"}"#, 1.0),
        (
            r#"chanwatch_events_received_total{node="a",channel="ticker"}"#,
            1.0,
        ),
        (
            r#"chanwatch_events_received_total{node="b",channel="ticker"}"#,
            2.0,
        ),
        (
            r#"chanwatch_event_data_received_bytes_total{node="a",channel="ticker"}"#,
            2.0,
        ),
        (
            r#"chanwatch_reconnects_total{node="b",cause="abnormal_close"}"#,
            1.0,
        ),
        (
            r#"chanwatch_reconnects_total{node="a",cause="abnormal_close"}"#,
            0.0,
        ),
        (r#"chanwatch_ping_rtt_seconds_count{node="c"}"#, 1.0),
        (r#"chanwatch_ping_rtt_seconds_count{node="a"}"#, 0.0),
    ] {
        assert_eq!(value(&m, series), v, "{series}");
    }
    let text = text_of(&m);
    // Every connection series has its node; the one-connection probe is not exported (the
    // delivery probe replaces it).
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        assert!(
            line.contains("node=\"") || line.starts_with("chanwatch_cluster_"),
            "{line}"
        );
    }
    assert!(!text.contains("chanwatch_probe"), "{text}");
    // Not ready while a node is not connected, and it says which.
    let shared = Mutex::new(m);
    let (status, _, body) = respond(&shared, "/ready", "", t0);
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "not connected: b, c\n")
    );
}

#[test]
fn records_of_unknown_or_no_node_touch_no_connection_of_a_cluster() {
    let nodes = names(&["a", "b"]);
    let mut m = Metrics::for_nodes(&nodes);
    let t = Instant::now();
    let before = text_of(&m);
    from_node(&mut m, &NodeName::from("zz"), event(Some("x"), "1"), t);
    m.observe(&event(Some("x"), "1"), t);
    m.observe(&probe(Some(3), None), t);
    assert_eq!(text_of(&m), before);
}

fn cell(from: &str, to: &str, sent: u32, received: u32, p50: f64, p99: f64) -> DeliveryCell {
    DeliveryCell {
        from: from.into(),
        to: to.into(),
        sent,
        received,
        loss: (sent > 0).then(|| 1.0 - f64::from(received) / f64::from(sent)),
        p50_ms: (received > 0).then_some(p50),
        p99_ms: (received > 0).then_some(p99),
    }
}

fn delivery(cells: Vec<DeliveryCell>, api_errors: &[(&str, &str)]) -> SessionRecord {
    SessionRecord::Delivery(Box::new(Delivery {
        rounds: 4,
        cells,
        api_errors: api_errors
            .iter()
            .map(|(n, e)| (n.to_string(), e.to_string()))
            .collect(),
        diagnosis: None,
    }))
}

#[test]
fn the_delivery_matrix_becomes_gauges_per_pair() {
    let nodes = names(&["a", "b"]);
    let mut m = Metrics::for_nodes(&nodes);
    let t = Instant::now();
    // Nothing reported yet: the gauges of the nodes together are there, at 0.
    assert_eq!(value(&m, "chanwatch_cluster_adapter_failing"), 0.0);
    assert_eq!(value(&m, "chanwatch_cluster_ghosts"), 0.0);
    assert!(!text_of(&m).contains("chanwatch_cluster_delivery_loss_ratio{"));
    m.observe(
        &delivery(
            vec![
                cell("a", "a", 4, 4, 1.0, 2.0),
                cell("a", "b", 4, 3, 3.0, 250.0),
                cell("b", "a", 0, 0, 0.0, 0.0),
                cell("b", "b", 0, 0, 0.0, 0.0),
            ],
            &[("b", "HTTP 500")],
        ),
        t,
    );
    assert_eq!(
        value(
            &m,
            r#"chanwatch_cluster_delivery_loss_ratio{from="a",to="b"}"#
        ),
        0.25
    );
    assert_eq!(
        value(
            &m,
            r#"chanwatch_cluster_delivery_loss_ratio{from="a",to="a"}"#
        ),
        0.0
    );
    assert_eq!(
        value(
            &m,
            r#"chanwatch_cluster_delivery_latency_p50_seconds{from="a",to="b"}"#
        ),
        0.003
    );
    assert_eq!(
        value(
            &m,
            r#"chanwatch_cluster_delivery_latency_p99_seconds{from="a",to="b"}"#
        ),
        0.25
    );
    // Nothing sent through b: no loss and no latency to show, so none exported.
    let text = text_of(&m);
    assert!(!text.contains(r#"{from="b",to="a"}"#), "{text}");
    assert_eq!(value(&m, r#"chanwatch_cluster_node_api_up{node="a"}"#), 1.0);
    assert_eq!(value(&m, r#"chanwatch_cluster_node_api_up{node="b"}"#), 0.0);
    assert_eq!(value(&m, "chanwatch_cluster_adapter_failing"), 0.0);

    // The bus down: each node delivers only its own publishes.
    m.observe(
        &delivery(
            vec![
                cell("a", "a", 4, 4, 1.0, 2.0),
                cell("a", "b", 4, 0, 0.0, 0.0),
                cell("b", "a", 4, 0, 0.0, 0.0),
                cell("b", "b", 4, 4, 1.0, 1.0),
            ],
            &[],
        ),
        t,
    );
    assert_eq!(value(&m, "chanwatch_cluster_adapter_failing"), 1.0);
    assert_eq!(value(&m, r#"chanwatch_cluster_node_api_up{node="b"}"#), 1.0);
    assert_eq!(
        value(
            &m,
            r#"chanwatch_cluster_delivery_loss_ratio{from="b",to="a"}"#
        ),
        1.0
    );
    // A cell that received nothing has no latency any more.
    assert!(!text_of(&m).contains(r#"latency_p50_seconds{from="a",to="b"}"#));

    // Back: one round through a and b reached everyone.
    m.observe(
        &delivery(
            vec![
                cell("a", "a", 1, 1, 1.0, 1.0),
                cell("a", "b", 1, 1, 1.0, 1.0),
                cell("b", "a", 1, 1, 1.0, 1.0),
                cell("b", "b", 1, 1, 1.0, 1.0),
            ],
            &[],
        ),
        t,
    );
    assert_eq!(value(&m, "chanwatch_cluster_adapter_failing"), 0.0);
}

fn divergence(
    kind: DivergenceKind,
    member: Option<&str>,
    ghost: bool,
    resolved: bool,
) -> SessionRecord {
    SessionRecord::Divergence(Box::new(Divergence {
        channel: "presence-room".into(),
        kind,
        member: member.map(str::to_string),
        listed_on: vec!["a".into()],
        missing_on: vec!["b".into()],
        counts: Default::default(),
        since: std::time::SystemTime::UNIX_EPOCH,
        for_ms: 6000,
        ghost,
        resolved,
    }))
}

#[test]
fn divergences_and_ghosts_count_what_is_in_force() {
    let nodes = names(&["a", "b"]);
    let mut m = Metrics::for_nodes(&nodes);
    let t = Instant::now();
    let report = || delivery(vec![cell("a", "a", 1, 1, 1.0, 1.0)], &[]);
    let members = r#"chanwatch_cluster_divergences{kind="members"}"#;
    let counts = r#"chanwatch_cluster_divergences{kind="user_count"}"#;
    assert_eq!(value(&m, members), 0.0);

    // Report 1: two member differences (one a ghost) and a count difference.
    m.observe(&report(), t);
    m.observe(
        &divergence(DivergenceKind::Members, Some("u1"), false, false),
        t,
    );
    m.observe(
        &divergence(DivergenceKind::Members, Some("u2"), true, false),
        t,
    );
    m.observe(
        &divergence(DivergenceKind::UserCount, None, false, false),
        t,
    );
    assert_eq!(value(&m, members), 2.0);
    assert_eq!(value(&m, counts), 1.0);
    assert_eq!(value(&m, "chanwatch_cluster_ghosts"), 1.0);

    // Report 2: u1 has become a ghost too, u2 is resolved, the count difference is not
    // listed any more (it ended before it was said to).
    m.observe(&report(), t);
    m.observe(
        &divergence(DivergenceKind::Members, Some("u1"), true, false),
        t,
    );
    m.observe(
        &divergence(DivergenceKind::Members, Some("u2"), true, true),
        t,
    );
    assert_eq!(value(&m, members), 1.0);
    assert_eq!(value(&m, "chanwatch_cluster_ghosts"), 1.0);
    // Still counted until report 2 is known to be complete: the next one begins.
    assert_eq!(value(&m, counts), 1.0);
    m.observe(&report(), t);
    assert_eq!(value(&m, counts), 0.0);
    // u1 was in report 2: still in force until a report leaves it out.
    assert_eq!(value(&m, members), 1.0);
    m.observe(&report(), t);
    assert_eq!(value(&m, members), 0.0);
    assert_eq!(value(&m, "chanwatch_cluster_ghosts"), 0.0);
    // No member id ever becomes a label.
    assert!(!text_of(&m).contains("u1"));
}

#[test]
fn divergences_are_bounded() {
    let nodes = names(&["a", "b"]);
    let mut m = Metrics::for_nodes(&nodes);
    let t = Instant::now();
    for i in 0..DIVERGENCE_CAP + 10 {
        m.observe(
            &divergence(
                DivergenceKind::Members,
                Some(&format!("u{i}")),
                false,
                false,
            ),
            t,
        );
    }
    assert_eq!(
        value(&m, r#"chanwatch_cluster_divergences{kind="members"}"#),
        DIVERGENCE_CAP as f64
    );
}

#[test]
fn every_divergence_kind_has_its_gauge() {
    let nodes = names(&["a", "b"]);
    let mut m = Metrics::for_nodes(&nodes);
    let t = Instant::now();
    m.observe(&delivery(vec![cell("a", "a", 1, 1, 1.0, 1.0)], &[]), t);
    for (kind, name) in [
        (DivergenceKind::Members, "members"),
        (DivergenceKind::SubscriptionCount, "subscription_count"),
        (DivergenceKind::UserCount, "user_count"),
        (DivergenceKind::ApiMembers, "api_members"),
    ] {
        m.observe(&divergence(kind, Some("guest"), true, false), t);
        let gauge = format!("chanwatch_cluster_divergences{{kind=\"{name}\"}}");
        assert_eq!(value(&m, &gauge), 1.0, "{name}");
    }
    assert_eq!(value(&m, "chanwatch_cluster_ghosts"), 4.0);
}
