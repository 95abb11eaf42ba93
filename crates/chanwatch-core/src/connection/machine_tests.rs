//! The state machine under virtual time: no sockets, no clocks, every path of the protocol notes.

use super::*;
use crate::connection::{AuthFailureKind, DEFAULT_YOUNG_CONNECTION, Transports};
use serde_json::json;

struct H {
    m: Machine,
    now: Instant,
}

const SOCKET: &str = "123.456";

fn established(socket_id: &str, activity: Option<u64>) -> String {
    let data = match activity {
        Some(a) => json!({"socket_id": socket_id, "activity_timeout": a}),
        None => json!({"socket_id": socket_id}),
    };
    json!({"event":"pusher:connection_established","data":data.to_string()}).to_string()
}

fn frame(event: &str, channel: Option<&str>, data: Value) -> String {
    let mut v = json!({"event": event, "data": data.to_string()});
    if let Some(c) = channel {
        v["channel"] = json!(c);
    }
    v.to_string()
}

fn records(out: &[Output]) -> Vec<Record> {
    out.iter()
        .filter_map(|o| match o {
            Output::Record(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

fn states(out: &[Output]) -> Vec<(State, State)> {
    records(out)
        .into_iter()
        .filter_map(|r| match r {
            Record::State {
                previous, current, ..
            } => Some((previous, current)),
            _ => None,
        })
        .collect()
}

fn sent(out: &[Output]) -> Vec<Value> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send { text, .. } => Some(serde_json::from_str(text).unwrap()),
            Output::Pong { .. } => Some(serde_json::from_str(&frame::pong()).unwrap()),
            _ => None,
        })
        .collect()
}

fn opened(out: &[Output]) -> Option<(ConnId, String)> {
    out.iter().find_map(|o| match o {
        Output::Open { conn, url } => Some((*conn, url.clone())),
        _ => None,
    })
}

fn delays(out: &[Output]) -> Vec<u64> {
    records(out)
        .into_iter()
        .filter_map(|r| match r {
            Record::ConnectingIn { delay_ms, .. } => Some(delay_ms),
            _ => None,
        })
        .collect()
}

fn errors(out: &[Output]) -> Vec<(Option<i64>, String)> {
    records(out)
        .into_iter()
        .filter_map(|r| match r {
            Record::Error { code, message } => Some((code, message)),
            _ => None,
        })
        .collect()
}

fn auth_requests(out: &[Output]) -> Vec<AuthRequest> {
    out.iter()
        .filter_map(|o| match o {
            Output::Authorize(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

impl H {
    fn new() -> H {
        H::with(|_| {})
    }

    fn with(f: impl FnOnce(&mut MachineConfig)) -> H {
        let mut endpoint = Endpoint::new("127.0.0.1", "key");
        endpoint.tls = false;
        endpoint.ws_port = 6001;
        let mut config = MachineConfig::new(endpoint);
        // Most tests close a connection at the instant it opened; the storm guard for
        // young connections has tests of its own.
        config.young_connection = Duration::ZERO;
        f(&mut config);
        H {
            m: Machine::new(config),
            now: Instant::now(),
        }
    }

    fn feed(&mut self, input: Input) -> Vec<Output> {
        self.m.handle(self.now, input)
    }

    fn cmd(&mut self, c: Command) -> Vec<Output> {
        self.feed(Input::Command(c))
    }

    fn advance(&mut self, d: Duration) -> Vec<Output> {
        self.now += d;
        self.feed(Input::Tick)
    }

    /// Advance in small steps, collecting everything, as a real driver would.
    fn run_for(&mut self, d: Duration) -> Vec<Output> {
        let end = self.now + d;
        let mut out = Vec::new();
        while let Some(next) = self.m.next_deadline().filter(|t| *t <= end) {
            self.now = next.max(self.now);
            out.extend(self.feed(Input::Tick));
        }
        self.now = end;
        out
    }

    fn text(&mut self, conn: ConnId, text: &str) -> Vec<Output> {
        self.feed(Input::Text {
            conn,
            text: text.into(),
        })
    }

    /// From an Open output, complete the socket and the handshake.
    fn complete(&mut self, conn: ConnId, socket_id: &str) -> Vec<Output> {
        let mut out = self.feed(Input::Opened { conn });
        out.extend(self.text(conn, &established(socket_id, Some(120))));
        out
    }

    fn connect(&mut self) -> (ConnId, Vec<Output>) {
        let mut out = self.cmd(Command::Connect);
        let (conn, _) = opened(&out).expect("connect opens a socket");
        out.extend(self.complete(conn, SOCKET));
        (conn, out)
    }

    fn subscribe(&mut self, name: &str) -> Vec<Output> {
        self.cmd(Command::Subscribe {
            channel: name.to_string(),
        })
    }

    fn close(&mut self, conn: ConnId, code: Option<u16>) -> Vec<Output> {
        self.feed(Input::Closed {
            conn,
            code,
            reason: "bye".into(),
        })
    }

    fn succeed(&mut self, conn: ConnId, channel: &str, data: Value) -> Vec<Output> {
        self.text(
            conn,
            &frame(
                "pusher_internal:subscription_succeeded",
                Some(channel),
                data,
            ),
        )
    }
}

#[test]
fn connects_and_reports_each_state_once() {
    let mut h = H::new();
    assert_eq!(h.m.state(), State::Initialized);
    let (_, out) = h.connect();
    assert_eq!(
        states(&out),
        vec![
            (State::Initialized, State::Connecting),
            (State::Connecting, State::Connected)
        ]
    );
    let connected = records(&out).into_iter().last().unwrap();
    assert!(
        matches!(connected, Record::State { socket_id: Some(ref s), .. } if s == SOCKET),
        "{connected:?}"
    );
    assert_eq!(h.m.socket_id(), Some(SOCKET));
    assert!(
        opened(&h.cmd(Command::Connect)).is_none(),
        "connect while connected is a no-op"
    );
}

#[test]
fn url_has_protocol_7_and_key() {
    let mut h = H::new();
    let (_, url) = opened(&h.cmd(Command::Connect)).unwrap();
    assert!(
        url.starts_with("ws://127.0.0.1:6001/app/key?protocol=7&client=chanwatch"),
        "{url}"
    );
}

#[test]
fn subscribe_before_connect_is_queued_then_sent() {
    let mut h = H::new();
    assert!(sent(&h.subscribe("news")).is_empty());
    let (conn, out) = h.connect();
    assert_eq!(
        sent(&out),
        vec![json!({"event":"pusher:subscribe","data":{"auth":"","channel":"news"}})]
    );
    let out = h.succeed(conn, "news", json!({}));
    assert_eq!(
        records(&out),
        vec![Record::Subscribed {
            channel: "news".into()
        }]
    );
}

#[test]
fn invalid_channel_names_are_refused_before_sending() {
    let mut h = H::new();
    h.connect();
    let out = h.subscribe("bad name");
    assert!(sent(&out).is_empty());
    assert!(
        matches!(&records(&out)[0], Record::SubscriptionError { channel, .. } if channel == "bad name")
    );
}

#[test]
fn private_channel_is_authorized_for_the_current_socket() {
    let mut h = H::new();
    let (conn, _) = h.connect();
    let out = h.subscribe("private-a");
    let req = auth_requests(&out);
    assert_eq!(
        req,
        vec![AuthRequest {
            channel: "private-a".into(),
            socket_id: SOCKET.into()
        }]
    );
    let out = h.feed(Input::Authorized {
        request: req[0].clone(),
        result: Ok(AuthGrant {
            auth: "key:sig".into(),
            ..Default::default()
        }),
    });
    assert_eq!(
        sent(&out),
        vec![json!({"event":"pusher:subscribe","data":{"auth":"key:sig","channel":"private-a"}})]
    );
    let out = h.succeed(conn, "private-a", json!({}));
    assert_eq!(
        records(&out),
        vec![Record::Subscribed {
            channel: "private-a".into()
        }]
    );
}

#[test]
fn auth_failure_becomes_a_subscription_error_with_status() {
    let mut h = H::new();
    h.connect();
    let req = auth_requests(&h.subscribe("private-a")).remove(0);
    let out = h.feed(Input::Authorized {
        request: req,
        result: Err(
            AuthFailure::new(AuthFailureKind::HttpStatus(403), "forbidden").with_status(403),
        ),
    });
    assert_eq!(
        records(&out),
        vec![Record::SubscriptionError {
            channel: "private-a".into(),
            status: Some(403),
            message: "forbidden".into()
        }]
    );
    assert_eq!(h.m.state(), State::Connected);
}

#[test]
fn auth_results_for_an_older_socket_are_dropped() {
    let mut h = H::new();
    let (conn, _) = h.connect();
    let old = auth_requests(&h.subscribe("private-a")).remove(0);
    let (conn2, _) = opened(&h.close(conn, Some(4200))).expect("4200 opens again at once");
    let out = h.complete(conn2, "999.1");
    let fresh = auth_requests(&out);
    assert_eq!(fresh.len(), 1);
    assert_eq!(fresh[0].socket_id, "999.1");
    let out = h.feed(Input::Authorized {
        request: old,
        result: Ok(AuthGrant {
            auth: "key:stale".into(),
            ..Default::default()
        }),
    });
    assert!(out.is_empty(), "stale grant must be dropped: {out:?}");
}

/// A cluster node may pass another node's join (or leave) to a socket before that socket's
/// `subscription_succeeded`, whose snapshot was taken before it (seen with sockudo on
/// Redis): the joins and leaves that came first are replayed over the snapshot, where
/// pusher-js would lose them.
#[test]
fn joins_and_leaves_before_the_snapshot_are_not_lost_by_it() {
    let mut h = H::new();
    let (conn, _) = h.connect();
    let req = auth_requests(&h.subscribe("presence-room")).remove(0);
    h.feed(Input::Authorized {
        request: req,
        result: Ok(AuthGrant {
            auth: "key:sig".into(),
            channel_data: Some(r#"{"user_id":"me"}"#.into()),
            shared_secret: None,
        }),
    });
    let early = |h: &mut H, event: &str, data: Value| {
        h.text(conn, &frame(event, Some("presence-room"), data))
    };
    let out = early(
        &mut h,
        "pusher_internal:member_added",
        json!({"user_id":"c","user_info":{"node":"c"}}),
    );
    assert_eq!(records(&out).len(), 1, "the join is still said as it comes");
    early(
        &mut h,
        "pusher_internal:member_removed",
        json!({"user_id":"old"}),
    );
    let out = h.succeed(
        conn,
        "presence-room",
        json!({"presence":{"ids":["me","old"],"hash":{"me":{},"old":{}},"count":2}}),
    );
    match &records(&out)[1] {
        Record::Members { count, members, .. } => {
            let ids: Vec<&str> = members.iter().map(|m| m.id.as_str()).collect();
            assert_eq!(ids, ["me", "c"], "{members:?}");
            assert_eq!(*count, 2);
            assert_eq!(members[1].info, json!({"node":"c"}));
        }
        other => panic!("{other:?}"),
    }
    // Once subscribed, a snapshot of a later subscription starts afresh.
    let out = early(
        &mut h,
        "pusher_internal:member_removed",
        json!({"user_id":"c"}),
    );
    assert_eq!(records(&out).len(), 1);
}

#[test]
fn presence_members_join_and_leave_with_string_ids() {
    let mut h = H::new();
    let (conn, _) = h.connect();
    let req = auth_requests(&h.subscribe("presence-room")).remove(0);
    let out = h.feed(Input::Authorized {
        request: req,
        result: Ok(AuthGrant {
            auth: "key:sig".into(),
            channel_data: Some(r#"{"user_id":10,"user_info":{"name":"me"}}"#.into()),
            shared_secret: None,
        }),
    });
    assert_eq!(
        sent(&out)[0]["data"]["channel_data"],
        json!(r#"{"user_id":10,"user_info":{"name":"me"}}"#)
    );
    let out = h.succeed(
        conn,
        "presence-room",
        json!({"presence":{"ids":["10","7"],"hash":{"10":{"name":"me"},"7":{"name":"x"}},"count":2}}),
    );
    let recs = records(&out);
    assert_eq!(
        recs[0],
        Record::Subscribed {
            channel: "presence-room".into()
        }
    );
    match &recs[1] {
        Record::Members {
            me, count, members, ..
        } => {
            assert_eq!(*count, 2);
            assert_eq!(me.as_ref().unwrap().id, "10");
            assert_eq!(members.len(), 2);
        }
        other => panic!("{other:?}"),
    }
    let out = h.text(
        conn,
        &frame(
            "pusher_internal:member_added",
            Some("presence-room"),
            json!({"user_id":8,"user_info":{"n":1}}),
        ),
    );
    assert_eq!(
        records(&out),
        vec![Record::MemberAdded {
            channel: "presence-room".into(),
            id: "8".into(),
            info: json!({"n":1})
        }]
    );
    let out = h.text(
        conn,
        &frame(
            "pusher_internal:member_removed",
            Some("presence-room"),
            json!({"user_id":"8"}),
        ),
    );
    assert_eq!(
        records(&out),
        vec![Record::MemberRemoved {
            channel: "presence-room".into(),
            id: "8".into()
        }]
    );
    let out = h.text(
        conn,
        &frame(
            "pusher_internal:member_removed",
            Some("presence-room"),
            json!({"user_id":"8"}),
        ),
    );
    assert!(
        records(&out).is_empty(),
        "removing an absent member says nothing"
    );
}

#[test]
fn presence_grant_without_channel_data_fails_clearly() {
    let mut h = H::new();
    h.connect();
    let req = auth_requests(&h.subscribe("presence-room")).remove(0);
    let out = h.feed(Input::Authorized {
        request: req,
        result: Ok(AuthGrant {
            auth: "key:sig".into(),
            ..Default::default()
        }),
    });
    assert!(sent(&out).is_empty());
    assert!(
        matches!(&records(&out)[0], Record::SubscriptionError { message, .. } if message.contains("channel_data"))
    );
}

#[test]
fn close_4001_disconnects_without_retry() {
    let mut h = H::new();
    let (conn, _) = h.connect();
    let out = h.close(conn, Some(4001));
    assert_eq!(errors(&out)[0].0, Some(4001));
    assert!(errors(&out)[0].1.contains("application does not exist"));
    assert_eq!(states(&out), vec![(State::Connected, State::Disconnected)]);
    assert!(h.m.next_deadline().is_none());
    assert!(h.run_for(Duration::from_secs(600)).is_empty());
}

#[test]
fn close_4100_backs_off_at_least_a_second_and_grows() {
    let mut h = H::new();
    let (conn, _) = h.connect();
    let out = h.close(conn, Some(4100));
    assert_eq!(states(&out), vec![(State::Connected, State::Connecting)]);
    let first = delays(&out);
    assert_eq!(first.len(), 1);
    assert!((1000..=1250).contains(&first[0]), "{first:?}");
    assert!(opened(&out).is_none());
    let out = h.run_for(Duration::from_millis(first[0] - 1));
    assert!(opened(&out).is_none(), "not before the delay");
    let out = h.advance(Duration::from_millis(1));
    let (conn, _) = opened(&out).expect("opens after the delay");
    // Rejected again during the handshake: the delay grows.
    h.feed(Input::Opened { conn });
    let out = h.text(
        conn,
        &frame(
            "pusher:error",
            None,
            json!({"code":4100,"message":"over capacity"}),
        ),
    );
    let second = delays(&out);
    assert!((1500..=2500).contains(&second[0]), "{second:?}");
}

#[test]
fn close_4200_reconnects_at_once() {
    let mut h = H::new();
    let (conn, _) = h.connect();
    let out = h.close(conn, Some(4200));
    assert!(delays(&out).is_empty());
    let (new, _) = opened(&out).expect("immediate reconnect");
    assert_ne!(new, conn);
    assert_eq!(states(&out), vec![(State::Connected, State::Connecting)]);
    let cause = records(&out).into_iter().find_map(|r| match r {
        Record::State { cause, .. } => cause,
        _ => None,
    });
    assert!(cause.unwrap().contains("4200 (server asked to reconnect)"));
}

#[test]
fn abnormal_drop_reconnects_after_one_second() {
    let mut h = H::new();
    let (conn, _) = h.connect();
    let out = h.close(conn, None);
    assert_eq!(errors(&out)[0].0, Some(1006));
    assert_eq!(delays(&out), vec![1000]);
    assert!(opened(&h.advance(Duration::from_millis(999))).is_none());
    assert!(opened(&h.advance(Duration::from_millis(1))).is_some());
}

#[test]
fn clean_server_close_reconnects_without_an_error() {
    let mut h = H::new();
    let (conn, _) = h.connect();
    let out = h.close(conn, Some(1000));
    assert!(errors(&out).is_empty());
    assert_eq!(delays(&out), vec![1000]);
}

#[test]
fn close_4000_switches_to_tls() {
    let mut h = H::new();
    let (conn, _) = h.connect();
    let out = h.close(conn, Some(4000));
    let (_, url) = opened(&out).expect("retry at once");
    assert!(url.starts_with("wss://127.0.0.1:443/"), "{url}");
    assert!(h.m.tls());
}

#[test]
fn unreachable_server_backs_off_to_the_cap_and_becomes_unavailable() {
    let mut h = H::with(|c| c.retry_cap = Duration::from_secs(15));
    let out = h.cmd(Command::Connect);
    let (mut conn, _) = opened(&out).unwrap();
    let mut all_delays = Vec::new();
    let mut saw_unavailable = false;
    for _ in 0..8 {
        let out = h.feed(Input::OpenFailed {
            conn,
            message: "connection refused".into(),
        });
        assert!(errors(&out)[0].1.contains("connection refused"));
        let d = delays(&out);
        assert_eq!(d.len(), 1, "connecting_in before every wait");
        all_delays.push(d[0]);
        let out = h.run_for(Duration::from_millis(d[0]));
        saw_unavailable |= states(&out).contains(&(State::Connecting, State::Unavailable));
        conn = opened(&out).expect("next attempt").0;
    }
    assert!(saw_unavailable);
    assert_eq!(h.m.state(), State::Unavailable);
    for w in all_delays.windows(2).take(3) {
        assert!(w[1] > w[0], "grows: {all_delays:?}");
    }
    assert!(
        all_delays.iter().all(|d| (1000..=15000).contains(d)),
        "{all_delays:?}"
    );
    assert!(
        all_delays[5..].iter().all(|d| *d >= 11250),
        "capped near 15 s: {all_delays:?}"
    );
    // The server comes back.
    let out = h.complete(conn, "1.2");
    assert_eq!(states(&out), vec![(State::Unavailable, State::Connected)]);
    // ...and the back-off starts from 1 s again.
    let out = h.close(conn, Some(4100));
    assert!(delays(&out)[0] <= 1250);
}

#[test]
fn unavailable_after_the_configured_time() {
    let mut h = H::with(|c| c.unavailable_timeout = Duration::from_secs(3));
    h.cmd(Command::Connect);
    let out = h.run_for(Duration::from_millis(2999));
    assert!(states(&out).is_empty());
    let out = h.run_for(Duration::from_millis(1));
    assert_eq!(states(&out), vec![(State::Connecting, State::Unavailable)]);
}

#[test]
fn pings_after_activity_timeout_and_measures_the_pong() {
    let mut h = H::with(|c| c.activity_timeout = Duration::from_secs(60));
    let (conn, _) = h.connect(); // server says 120; we use min(60, 120)
    let out = h.run_for(Duration::from_millis(59_999));
    assert!(sent(&out).is_empty());
    let out = h.advance(Duration::from_millis(1));
    assert_eq!(sent(&out), vec![json!({"event":"pusher:ping","data":{}})]);
    assert_eq!(records(&out), vec![Record::PingSent { after_ms: 60_000 }]);
    h.now += Duration::from_millis(40);
    let out = h.text(conn, r#"{"event":"pusher:pong"}"#);
    assert_eq!(records(&out), vec![Record::Pong { rtt_ms: 40 }]);
    // Any inbound frame resets the activity timer.
    h.now += Duration::from_secs(50);
    h.text(conn, r#"{"event":"pusher:pong"}"#);
    assert!(sent(&h.run_for(Duration::from_secs(59))).is_empty());
}

#[test]
fn server_activity_timeout_is_used_when_lower() {
    let mut h = H::new();
    let out = h.cmd(Command::Connect);
    let (conn, _) = opened(&out).unwrap();
    h.feed(Input::Opened { conn });
    h.text(conn, &established("1.1", Some(5)));
    assert!(sent(&h.run_for(Duration::from_millis(4999))).is_empty());
    assert_eq!(sent(&h.advance(Duration::from_millis(1))).len(), 1);
}

#[test]
fn missing_activity_timeout_falls_back_to_the_default() {
    let mut h = H::new();
    let out = h.cmd(Command::Connect);
    let (conn, _) = opened(&out).unwrap();
    h.feed(Input::Opened { conn });
    let out = h.text(conn, &established("1.1", None));
    assert_eq!(h.m.state(), State::Connected, "{out:?}");
    assert!(sent(&h.run_for(Duration::from_secs(119))).is_empty());
    assert_eq!(sent(&h.run_for(Duration::from_secs(1))).len(), 1);
}

#[test]
fn pong_timeout_drops_and_reconnects_at_once() {
    let mut h = H::with(|c| {
        c.activity_timeout = Duration::from_secs(10);
        c.pong_timeout = Duration::from_secs(5);
    });
    let (conn, _) = h.connect();
    h.run_for(Duration::from_secs(10));
    let out = h.run_for(Duration::from_millis(4999));
    assert!(out.is_empty());
    let out = h.advance(Duration::from_millis(1));
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::Close { conn: c, .. } if *c == conn))
    );
    assert_eq!(states(&out), vec![(State::Connected, State::Connecting)]);
    assert!(
        matches!(&records(&out)[0], Record::State { cause: Some(c), .. } if c.contains("pong timeout"))
    );
    assert!(opened(&out).is_some());
}

#[test]
fn websocket_level_activity_counts() {
    let mut h = H::with(|c| c.activity_timeout = Duration::from_secs(10));
    let (conn, _) = h.connect();
    h.now += Duration::from_secs(9);
    h.feed(Input::Activity { conn });
    assert!(sent(&h.run_for(Duration::from_secs(9))).is_empty());
}

#[test]
fn answers_server_pings() {
    let mut h = H::new();
    let (conn, _) = h.connect();
    let out = h.text(conn, r#"{"event":"pusher:ping"}"#);
    assert_eq!(sent(&out), vec![json!({"event":"pusher:pong","data":{}})]);
}

#[test]
fn malformed_frames_are_errors_and_the_connection_stays() {
    let mut h = H::new();
    let (conn, _) = h.connect();
    let big = format!(r#"{{"event":"x","data":"{}""#, "a".repeat(1 << 20));
    for bad in [
        "not json",
        "[1]",
        r#"{"data":"{}"}"#,
        r#"{"event":42}"#,
        big.as_str(),
    ] {
        let out = h.text(conn, bad);
        let e = errors(&out);
        assert_eq!(e.len(), 1, "{bad:.40}");
        assert_eq!(e[0].0, None);
        assert!(e[0].1.len() < 400, "error messages stay short");
    }
    let out = h.feed(Input::Binary { conn, len: 3 });
    assert_eq!(errors(&out).len(), 1);
    let out = h.text(conn, &frame("ev", Some("unknown"), json!({})));
    assert!(errors(&out)[0].1.contains("not subscribed"));
    let out = h.text(conn, &established("9.9", Some(120)));
    assert_eq!(errors(&out).len(), 1);
    assert_eq!(h.m.state(), State::Connected);
    assert_eq!(h.m.socket_id(), Some(SOCKET));
}

#[test]
fn events_are_delivered_with_decoded_data_and_user_id() {
    let mut h = H::new();
    let (conn, _) = h.connect();
    h.subscribe("news");
    h.succeed(conn, "news", json!({}));
    let out = h.text(
        conn,
        r#"{"event":"update","channel":"news","data":"{\"n\":1}","user_id":"u1"}"#,
    );
    assert_eq!(
        records(&out),
        vec![Record::Event {
            channel: Some("news".into()),
            event: "update".into(),
            data: json!({"n":1}).into(),
            user_id: Some("u1".into()),
            decrypted: false
        }]
    );
    let out = h.text(conn, r#"{"event":"pusher_internal:subscription_count","channel":"news","data":"{\"subscription_count\":3}"}"#);
    assert!(
        matches!(&records(&out)[0], Record::Event { event, .. } if event == "pusher:subscription_count")
    );
}

#[test]
fn handshake_errors_follow_their_codes() {
    for (code, expect_disconnected) in [
        (json!(4001), true),
        (json!(null), true),
        (json!(4100), false),
    ] {
        let mut h = H::new();
        let (conn, _) = opened(&h.cmd(Command::Connect)).unwrap();
        h.feed(Input::Opened { conn });
        let out = h.text(
            conn,
            &frame("pusher:error", None, json!({"code":code,"message":"no"})),
        );
        assert_eq!(
            h.m.state() == State::Disconnected,
            expect_disconnected,
            "{code}: {out:?}"
        );
        assert!(
            out.iter().any(|o| matches!(o, Output::Close { .. })),
            "socket closed"
        );
    }
}

#[test]
fn an_origin_refusal_says_to_set_the_origin() {
    let mut h = H::new();
    let (conn, _) = opened(&h.cmd(Command::Connect)).unwrap();
    h.feed(Input::Opened { conn });
    let out = h.text(
        conn,
        &frame(
            "pusher:error",
            None,
            json!({"code":4009,"message":"Origin not allowed"}),
        ),
    );
    assert_eq!(h.m.state(), State::Disconnected);
    let errors = errors(&out);
    assert_eq!(errors.len(), 1, "{out:?}");
    assert_eq!(errors[0].0, Some(4009));
    assert!(
        errors[0].1.starts_with("Origin not allowed (") && errors[0].1.contains("--origin"),
        "{errors:?}"
    );
}

#[test]
fn unexpected_first_frame_backs_off() {
    let mut h = H::new();
    let (conn, _) = opened(&h.cmd(Command::Connect)).unwrap();
    h.feed(Input::Opened { conn });
    let out = h.text(conn, r#"{"event":"hello"}"#);
    assert_eq!(delays(&out).len(), 1);
    assert_eq!(h.m.state(), State::Connecting);
}

#[test]
fn a_malformed_socket_id_is_a_bad_handshake() {
    for bad in ["1.2:private-x", "abc", "1.2.3", "", "12"] {
        let mut h = H::new();
        h.subscribe("private-a");
        let (conn, _) = opened(&h.cmd(Command::Connect)).unwrap();
        h.feed(Input::Opened { conn });
        let out = h.text(conn, &established(bad, Some(120)));
        assert_eq!(h.m.state(), State::Connecting, "{bad:?}: {out:?}");
        assert_eq!(delays(&out).len(), 1, "{bad:?}: backs off: {out:?}");
        let errors = errors(&out);
        assert!(
            errors.iter().any(|(_, m)| m.contains("socket id")),
            "{bad:?}: {errors:?}"
        );
        assert!(
            !out.iter().any(|o| matches!(o, Output::Authorize(_))),
            "{bad:?}: nothing is authorized with it: {out:?}"
        );
    }
    // The same handshake with a well-formed id connects and authorizes.
    let mut h = H::new();
    h.subscribe("private-a");
    let (conn, _) = opened(&h.cmd(Command::Connect)).unwrap();
    h.feed(Input::Opened { conn });
    let out = h.text(conn, &established(SOCKET, Some(120)));
    assert_eq!(h.m.state(), State::Connected);
    assert!(out.iter().any(|o| matches!(o, Output::Authorize(_))));
}

#[test]
fn slow_or_silent_handshakes_time_out_into_a_retry() {
    let mut h = H::with(|c| c.handshake_timeout = Duration::from_secs(5));
    let (conn, _) = opened(&h.cmd(Command::Connect)).unwrap();
    h.feed(Input::Opened { conn });
    let out = h.run_for(Duration::from_millis(4999));
    assert!(out.is_empty());
    let out = h.advance(Duration::from_millis(1));
    assert!(errors(&out)[0].1.contains("no connection_established"));
    assert_eq!(delays(&out).len(), 1);
}

#[test]
fn pusher_error_during_a_pending_subscribe_fails_that_channel() {
    let mut h = H::new();
    let (conn, _) = h.connect();
    let req = auth_requests(&h.subscribe("private-x")).remove(0);
    h.feed(Input::Authorized {
        request: req,
        result: Ok(AuthGrant {
            auth: "key:bad".into(),
            ..Default::default()
        }),
    });
    let out = h.text(
        conn,
        &frame(
            "pusher:error",
            None,
            json!({"code":4009,"message":"Invalid signature"}),
        ),
    );
    assert!(matches!(
        &records(&out)[0],
        Record::SubscriptionError { channel, status: None, message } if channel == "private-x" && message.contains("Invalid signature")
    ));
    assert_eq!(h.m.state(), State::Connected);
    // Unrelated errors with nothing pending stay connection errors.
    let out = h.text(
        conn,
        &frame("pusher:error", None, json!({"code":4301,"message":"rate"})),
    );
    assert_eq!(errors(&out), vec![(Some(4301), "rate".to_string())]);
}

#[test]
fn wire_subscription_error_is_channel_scoped() {
    let mut h = H::new();
    let (conn, _) = h.connect();
    h.subscribe("news");
    let out = h.text(
        conn,
        &frame(
            "pusher:subscription_error",
            Some("news"),
            json!({"type":"AuthError","error":"nope","status":401}),
        ),
    );
    assert_eq!(
        records(&out),
        vec![Record::SubscriptionError {
            channel: "news".into(),
            status: Some(401),
            message: "nope".into()
        }]
    );
}

#[test]
fn every_channel_is_resubscribed_after_a_reconnect() {
    let mut h = H::new();
    let (conn, _) = h.connect();
    h.subscribe("a");
    h.subscribe("b");
    h.succeed(conn, "a", json!({}));
    h.succeed(conn, "b", json!({}));
    let out = h.close(conn, Some(4200));
    let (conn2, _) = opened(&out).unwrap();
    let out = h.complete(conn2, "2.2");
    let subs: Vec<Value> = sent(&out)
        .into_iter()
        .map(|f| f["data"]["channel"].clone())
        .collect();
    assert_eq!(subs, vec![json!("a"), json!("b")]);
}

#[test]
fn disconnect_stops_everything_until_connect() {
    let mut h = H::new();
    let (conn, _) = h.connect();
    h.subscribe("a");
    let out = h.cmd(Command::Disconnect);
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::Close { conn: c, code: 1000, .. } if *c == conn))
    );
    assert_eq!(states(&out), vec![(State::Connected, State::Disconnected)]);
    assert!(h.run_for(Duration::from_secs(600)).is_empty());
    // Events from the closed socket are ignored.
    assert!(h.close(conn, None).is_empty());
    let out = h.cmd(Command::Connect);
    assert_eq!(states(&out), vec![(State::Disconnected, State::Connecting)]);
    let (conn2, _) = opened(&out).unwrap();
    let out = h.complete(conn2, "3.3");
    assert_eq!(sent(&out).len(), 1, "queued channel resubscribed");
}

#[test]
fn connect_during_a_backoff_wait_tries_at_once() {
    let mut h = H::new();
    let (conn, _) = opened(&h.cmd(Command::Connect)).unwrap();
    h.feed(Input::OpenFailed {
        conn,
        message: "refused".into(),
    });
    assert!(opened(&h.cmd(Command::Connect)).is_some());
}

#[test]
fn unsubscribe_sends_and_reports() {
    let mut h = H::new();
    let (conn, _) = h.connect();
    h.subscribe("a");
    h.succeed(conn, "a", json!({}));
    let out = h.cmd(Command::Unsubscribe {
        channel: "a".into(),
    });
    assert_eq!(
        sent(&out),
        vec![json!({"event":"pusher:unsubscribe","data":{"channel":"a"}})]
    );
    assert_eq!(
        records(&out),
        vec![Record::Unsubscribed {
            channel: "a".into()
        }]
    );
    let out = h.cmd(Command::Unsubscribe {
        channel: "a".into(),
    });
    assert_eq!(errors(&out).len(), 1);
    let out = h.text(conn, &frame("late", Some("a"), json!({})));
    assert_eq!(
        errors(&out).len(),
        1,
        "events after unsubscribe are for an unknown channel"
    );
}

#[test]
fn client_events_are_checked_then_sent() {
    let mut h = H::new();
    let (conn, _) = h.connect();
    h.subscribe("news");
    h.succeed(conn, "news", json!({}));
    let req = auth_requests(&h.subscribe("private-chat")).remove(0);
    h.feed(Input::Authorized {
        request: req,
        result: Ok(AuthGrant {
            auth: "k:s".into(),
            ..Default::default()
        }),
    });
    let trig = |ch: &str, ev: &str| Command::Trigger {
        channel: ch.into(),
        event: ev.into(),
        data: json!({"t":1}),
    };
    assert!(
        sent(&h.cmd(trig("private-chat", "client-x"))).is_empty(),
        "not yet subscribed"
    );
    h.succeed(conn, "private-chat", json!({}));
    let out = h.cmd(trig("private-chat", "client-x"));
    assert_eq!(
        sent(&out),
        vec![json!({"event":"client-x","channel":"private-chat","data":{"t":1}})]
    );
    for (ch, ev) in [
        ("private-chat", "x"),
        ("news", "client-x"),
        ("nope", "client-x"),
    ] {
        let out = h.cmd(trig(ch, ev));
        assert!(sent(&out).is_empty());
        assert_eq!(errors(&out).len(), 1, "{ch} {ev}");
    }
}

#[test]
fn no_usable_transport_means_failed() {
    let mut h = H::with(|c| {
        c.endpoint.transports = Transports {
            enabled: Some(vec!["xhr_polling".into()]),
            disabled: vec![],
        };
    });
    let out = h.cmd(Command::Connect);
    assert_eq!(states(&out), vec![(State::Initialized, State::Failed)]);
    assert!(opened(&out).is_none());
}

#[test]
fn http_fallback_transports_are_reported_as_unsupported() {
    let mut h = H::with(|c| {
        c.endpoint.transports = Transports {
            enabled: Some(vec!["ws".into(), "xhr_polling".into()]),
            disabled: vec![],
        };
    });
    let out = h.cmd(Command::Connect);
    let e = errors(&out);
    assert_eq!(e.len(), 1, "{out:?}");
    assert!(e[0].1.contains("xhr_polling") && e[0].1.contains("only ws and wss"));
    assert!(opened(&out).is_some(), "ws is still used");
    // Said once, not on every later connect.
    h.cmd(Command::Disconnect);
    assert!(errors(&h.cmd(Command::Connect)).is_empty());
}

#[test]
fn stale_socket_events_are_ignored() {
    let mut h = H::new();
    let (conn, _) = h.connect();
    let out = h.close(conn, Some(4200));
    let (conn2, _) = opened(&out).unwrap();
    assert!(h.text(conn, "garbage").is_empty());
    assert!(
        h.feed(Input::Closed {
            conn,
            code: Some(4001),
            reason: String::new()
        })
        .is_empty()
    );
    let out = h.complete(conn2, "5.5");
    assert_eq!(h.m.state(), State::Connected, "{out:?}");
}

fn signin_requests(out: &[Output]) -> Vec<String> {
    out.iter()
        .filter_map(|o| match o {
            Output::AuthenticateUser { socket_id } => Some(socket_id.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn signin_on_every_connection_then_user_channel() {
    let mut h = H::with(|c| c.signin = true);
    let (conn, out) = h.connect();
    assert_eq!(signin_requests(&out), vec![SOCKET.to_string()]);
    let out = h.feed(Input::UserAuthenticated {
        socket_id: SOCKET.into(),
        result: Ok(UserGrant {
            auth: "key:usersig".into(),
            user_data: r#"{"id":"u1"}"#.into(),
        }),
    });
    assert_eq!(
        sent(&out),
        vec![
            json!({"event":"pusher:signin","data":{"auth":"key:usersig","user_data":"{\"id\":\"u1\"}"}})
        ]
    );
    let out = h.text(
        conn,
        &frame(
            "pusher:signin_success",
            None,
            json!({"user_data":"{\"id\":\"u1\",\"name\":\"A\"}"}),
        ),
    );
    assert_eq!(
        sent(&out),
        vec![json!({"event":"pusher:subscribe","data":{"auth":"","channel":"#server-to-user-u1"}})]
    );
    assert_eq!(
        records(&out),
        vec![Record::SignedIn {
            user_id: "u1".into(),
            user_data: json!({"id":"u1","name":"A"})
        }]
    );
    // Events for the user arrive on the reserved channel.
    let out = h.text(
        conn,
        &frame("note", Some("#server-to-user-u1"), json!({"x":1})),
    );
    assert!(
        matches!(&records(&out)[0], Record::Event { channel: Some(c), .. } if c == "#server-to-user-u1")
    );
    // Watchlist, in the documented form and in sockudo's bare form.
    let out = h.text(
        conn,
        &frame(
            "pusher_internal:watchlist_events",
            None,
            json!({"events":[{"name":"online","user_ids":["a","b"]}]}),
        ),
    );
    assert_eq!(
        records(&out),
        vec![Record::Watchlist {
            event: "online".into(),
            user_ids: vec!["a".into(), "b".into()]
        }]
    );
    let out = h.text(conn, r#"{"event":"offline","data":{"user_ids":["a"]}}"#);
    assert_eq!(
        records(&out),
        vec![Record::Watchlist {
            event: "offline".into(),
            user_ids: vec!["a".into()]
        }]
    );
    // A reconnect signs in again for the new socket; the old grant is dropped.
    let (conn2, _) = opened(&h.close(conn, Some(4200))).unwrap();
    let out = h.complete(conn2, "8.8");
    assert_eq!(signin_requests(&out), vec!["8.8".to_string()]);
    let stale = h.feed(Input::UserAuthenticated {
        socket_id: SOCKET.into(),
        result: Ok(UserGrant {
            auth: "key:old".into(),
            user_data: r#"{"id":"u1"}"#.into(),
        }),
    });
    assert!(stale.is_empty());
}

#[test]
fn signin_failures_are_reported() {
    let mut h = H::new();
    let (conn, _) = h.connect();
    let out = h.cmd(Command::Signin);
    assert_eq!(signin_requests(&out), vec![SOCKET.to_string()]);
    let out = h.feed(Input::UserAuthenticated {
        socket_id: SOCKET.into(),
        result: Err(AuthFailure::new(AuthFailureKind::HttpStatus(403), "no").with_status(403)),
    });
    assert_eq!(
        records(&out),
        vec![Record::SigninError {
            status: Some(403),
            message: "no".into()
        }]
    );
    let out = h.text(
        conn,
        &frame(
            "pusher:signin_success",
            None,
            json!({"user_data":"{\"name\":\"no id\"}"}),
        ),
    );
    assert!(matches!(
        &records(&out)[0],
        Record::SigninError { status: None, .. }
    ));
}

#[test]
fn signed_in_presence_needs_no_channel_data() {
    let mut h = H::new();
    let (conn, _) = h.connect();
    h.text(
        conn,
        &frame(
            "pusher:signin_success",
            None,
            json!({"user_data":"{\"id\":\"u9\"}"}),
        ),
    );
    let req = auth_requests(&h.subscribe("presence-x")).remove(0);
    let out = h.feed(Input::Authorized {
        request: req,
        result: Ok(AuthGrant {
            auth: "k:s".into(),
            ..Default::default()
        }),
    });
    assert_eq!(
        sent(&out),
        vec![json!({"event":"pusher:subscribe","data":{"auth":"k:s","channel":"presence-x"}})]
    );
    let out = h.succeed(
        conn,
        "presence-x",
        json!({"presence":{"ids":["u9"],"hash":{"u9":null},"count":1}}),
    );
    assert!(matches!(&records(&out)[1], Record::Members { me: Some(m), .. } if m.id == "u9"));
}

const MASTER: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn encrypted_frame(channel: &str, key: &str, plaintext: &str) -> String {
    let data = crate::crypto::encrypt_event(key, plaintext, [7; 24]).unwrap();
    frame("secret-news", Some(channel), data)
}

/// Subscribe to an encrypted channel with the given key; returns the socket.
fn encrypted_setup(h: &mut H, channel: &str, key: &str) -> ConnId {
    let (conn, _) = h.connect();
    let req = auth_requests(&h.subscribe(channel)).remove(0);
    let out = h.feed(Input::Authorized {
        request: req,
        result: Ok(AuthGrant {
            auth: "k:s".into(),
            channel_data: None,
            shared_secret: Some(key.into()),
        }),
    });
    assert_eq!(
        sent(&out)[0]["data"],
        json!({"auth":"k:s","channel":channel}),
        "shared_secret is not sent"
    );
    h.succeed(conn, channel, json!({}));
    conn
}

#[test]
fn encrypted_events_are_decrypted_and_marked() {
    let ch = "private-encrypted-foo";
    let key = crate::crypto::shared_secret_for(ch, MASTER).unwrap();
    let mut h = H::new();
    let conn = encrypted_setup(&mut h, ch, &key);
    let out = h.text(conn, &encrypted_frame(ch, &key, r#"{"price":3}"#));
    assert_eq!(
        records(&out),
        vec![Record::Event {
            channel: Some(ch.into()),
            event: "secret-news".into(),
            data: json!({"price":3}).into(),
            user_id: None,
            decrypted: true
        }]
    );
    // A payload that is not even the encrypted shape is reported, not shown as plaintext.
    let out = h.text(conn, &frame("secret-news", Some(ch), json!({"plain":true})));
    assert!(errors(&out)[0].1.contains("cannot decrypt"), "{out:?}");
}

#[test]
fn a_wrong_key_reauthorizes_once_then_decrypts_or_gives_up() {
    let ch = "private-encrypted-foo";
    let good = crate::crypto::shared_secret_for(ch, MASTER).unwrap();
    let stale = crate::crypto::shared_secret_for("private-encrypted-other", MASTER).unwrap();
    let mut h = H::new();
    let conn = encrypted_setup(&mut h, ch, &stale);
    let out = h.text(conn, &encrypted_frame(ch, &good, r#""one""#));
    let req = auth_requests(&out);
    assert_eq!(req.len(), 1, "one re-authorization");
    assert!(records(&out).is_empty());
    // A second failing event while waiting does not ask again.
    let out = h.text(conn, &encrypted_frame(ch, &good, r#""two""#));
    assert!(auth_requests(&out).is_empty());
    let out = h.feed(Input::Authorized {
        request: req[0].clone(),
        result: Ok(AuthGrant {
            auth: "k:s".into(),
            channel_data: None,
            shared_secret: Some(good.clone()),
        }),
    });
    assert!(
        sent(&out).is_empty(),
        "re-authorization does not resubscribe"
    );
    let data: Vec<Value> = records(&out)
        .into_iter()
        .map(|r| match r {
            Record::Event {
                data,
                decrypted: true,
                ..
            } => data.to_value(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(data, vec![json!("one"), json!("two")]);
    // Now a payload no key can open: one more re-authorization, then it is reported.
    let out = h.text(conn, &encrypted_frame(ch, &stale, r#""three""#));
    let req = auth_requests(&out).remove(0);
    let out = h.feed(Input::Authorized {
        request: req,
        result: Ok(AuthGrant {
            auth: "k:s".into(),
            channel_data: None,
            shared_secret: Some(good),
        }),
    });
    assert!(errors(&out)[0].1.contains("undecryptable"), "{out:?}");
}

#[test]
fn encrypted_grant_without_shared_secret_fails_the_subscription() {
    let mut h = H::new();
    h.connect();
    let req = auth_requests(&h.subscribe("private-encrypted-x")).remove(0);
    let out = h.feed(Input::Authorized {
        request: req,
        result: Ok(AuthGrant {
            auth: "k:s".into(),
            ..Default::default()
        }),
    });
    assert!(
        matches!(&records(&out)[0], Record::SubscriptionError { message, .. } if message.contains("shared_secret"))
    );
}

// ----- hostile servers: numbers out of range, storms -----

fn established_raw(socket_id: &str, activity: &str) -> String {
    let data = format!(r#"{{"socket_id":"{socket_id}","activity_timeout":{activity}}}"#);
    json!({"event":"pusher:connection_established","data":data}).to_string()
}

/// Open a socket and complete its handshake with `hello`; returns the conn and outputs.
fn connect_with(h: &mut H, hello: &str) -> (ConnId, Vec<Output>) {
    let mut out = h.cmd(Command::Connect);
    let (conn, _) = opened(&out).expect("connect opens a socket");
    out.extend(h.feed(Input::Opened { conn }));
    out.extend(h.text(conn, hello));
    (conn, out)
}

#[test]
fn a_huge_server_activity_timeout_is_clamped_not_a_panic() {
    for huge in [
        "1e20",
        "1e308",
        "18446744073709551615",
        "99999999999999999999999",
    ] {
        let mut h = H::new();
        let (_, out) = connect_with(&mut h, &established_raw("1.1", huge));
        assert_eq!(h.m.state(), State::Connected, "{huge}");
        assert!(
            errors(&out).iter().any(|(_, m)| m.contains("out of range")),
            "{huge}: {out:?}"
        );
        // min(ours, clamped server value): our 120 s.
        assert!(sent(&h.run_for(Duration::from_millis(119_999))).is_empty());
        assert_eq!(
            sent(&h.advance(Duration::from_millis(1))).len(),
            1,
            "{huge}"
        );
    }
}

#[test]
fn a_tiny_server_activity_timeout_pings_at_most_once_a_second() {
    for tiny in ["5e-324", "0.000001", "0.5"] {
        let mut h = H::new();
        let (conn, out) = connect_with(&mut h, &established_raw("1.1", tiny));
        assert!(errors(&out).iter().any(|(_, m)| m.contains("out of range")));
        // A busy stream: a frame every 10 ms for 3 s sends no ping at all.
        for _ in 0..300 {
            h.now += Duration::from_millis(10);
            let out = h.text(conn, r#"{"event":"pusher:pong"}"#);
            assert!(sent(&out).is_empty(), "{tiny}: pinged while frames flow");
        }
        // Silence: one ping after the 1 s floor, not before.
        assert!(sent(&h.run_for(Duration::from_millis(999))).is_empty());
        assert_eq!(
            sent(&h.advance(Duration::from_millis(1))).len(),
            1,
            "{tiny}"
        );
    }
}

#[test]
fn unusable_server_activity_timeouts_fall_back_to_ours() {
    for bad in ["0", "-1", "-1e300", r#""soon""#, "{}", "[]", "true"] {
        let mut h = H::new();
        let (_, out) = connect_with(&mut h, &established_raw("1.1", bad));
        assert_eq!(h.m.state(), State::Connected, "{bad}");
        assert!(
            errors(&out).iter().any(|(_, m)| m.contains("ignored")),
            "{bad}: {out:?}"
        );
        assert!(sent(&h.run_for(Duration::from_millis(119_999))).is_empty());
        assert_eq!(sent(&h.advance(Duration::from_millis(1))).len(), 1, "{bad}");
    }
}

#[test]
fn numbers_of_any_shape_in_frames_never_panic() {
    let mut h = H::new();
    let (conn, _) = h.connect();
    h.subscribe("presence-room");
    let extremes = [
        "1e308",
        "-1e308",
        "18446744073709551616",
        "-9223372036854775809",
        "0.5",
        "-0",
        "5e-324",
        r#""x""#,
        "{}",
        "[1e400]",
        "null",
        "true",
    ];
    for n in extremes {
        for text in [
            format!(r#"{{"event":"pusher:error","data":{{"code":{n},"message":{n}}}}}"#),
            format!(
                r#"{{"event":"pusher:subscription_error","channel":"presence-room","data":{{"status":{n}}}}}"#
            ),
            format!(
                r#"{{"event":"pusher_internal:member_added","channel":"presence-room","data":{{"user_id":{n},"user_info":{n}}}}}"#
            ),
            format!(
                r#"{{"event":"pusher_internal:member_removed","channel":"presence-room","data":{{"user_id":{n}}}}}"#
            ),
            format!(
                r#"{{"event":"pusher_internal:subscription_succeeded","channel":"presence-room","data":{{"presence":{{"count":{n},"ids":[{n}],"hash":{n}}}}}}}"#
            ),
            format!(r#"{{"event":"pusher:signin_success","data":{{"user_data":{n}}}}}"#),
            format!(
                r#"{{"event":"pusher_internal:watchlist_events","data":{{"events":[{{"name":{n},"user_ids":{n}}}]}}}}"#
            ),
            format!(r#"{{"event":{n},"channel":{n},"data":{n},"user_id":{n}}}"#),
            format!(r#"{{"event":"news","channel":"presence-room","data":{n}}}"#),
        ] {
            h.text(conn, &text);
        }
        let out = h.close(conn, Some(4000 + (n.len() as u16 % 3) * 100));
        // Whatever the code did, the machine still answers.
        assert!(h.m.state() != State::Initialized, "{n}: {out:?}");
        h.run_for(Duration::from_secs(30));
        if h.m.socket_id().is_none() {
            h.cmd(Command::Connect);
        }
    }
}

fn waits(out: &[Output]) -> Vec<(u64, String)> {
    records(out)
        .into_iter()
        .filter_map(|r| match r {
            Record::ConnectingIn { delay_ms, reason } => {
                Some((delay_ms, reason.unwrap_or_default()))
            }
            _ => None,
        })
        .collect()
}

/// A connected machine with the storm guard at its default (5 s).
fn guarded() -> (H, ConnId) {
    let mut h = H::with(|c| c.young_connection = DEFAULT_YOUNG_CONNECTION);
    let (conn, _) = h.connect();
    (h, conn)
}

#[test]
fn a_single_young_4200_reconnects_at_once_and_says_the_next_backs_off() {
    let (mut h, conn) = guarded();
    h.now += Duration::from_millis(300);
    let out = h.close(conn, Some(4200));
    let (next, _) = opened(&out).expect("a rolling restart's 4200 reconnects at once");
    assert_ne!(next, conn);
    let w = waits(&out);
    assert_eq!(w.len(), 1, "{out:?}");
    let (delay, reason) = &w[0];
    assert_eq!(*delay, 0);
    assert!(
        reason.contains("4200")
            && reason.contains("300 ms after connecting")
            && reason.contains("reconnecting at once")
            && reason.contains("backs off"),
        "{reason}"
    );
    // The announcement comes before the attempt, after the state change, as a wait would.
    let at = |p: &dyn Fn(&Output) -> bool| out.iter().position(p).unwrap();
    let state = at(&|o| matches!(o, Output::Record(Record::State { .. })));
    let wait = at(&|o| matches!(o, Output::Record(Record::ConnectingIn { .. })));
    let open = at(&|o| matches!(o, Output::Open { .. }));
    assert!(state < wait && wait < open, "{out:?}");
}

#[test]
fn two_young_4200s_in_a_row_wait_0_then_about_1_s() {
    let (mut h, conn) = guarded();
    h.now += Duration::from_millis(200);
    let out = h.close(conn, Some(4200));
    assert_eq!(waits(&out)[0].0, 0);
    let (conn, _) = opened(&out).unwrap();
    h.complete(conn, "1.2");
    h.now += Duration::from_millis(200);
    let out = h.close(conn, Some(4200));
    assert!(
        opened(&out).is_none(),
        "the second young loss must not reopen at once"
    );
    let w = waits(&out);
    assert_eq!(w.len(), 1, "{out:?}");
    assert!((1000..=1250).contains(&w[0].0), "{w:?}");
    assert!(
        w[0].1
            .contains("200 ms after connecting, so the retry backs off"),
        "{w:?}"
    );
    // The retry really waits that long.
    assert!(opened(&h.advance(Duration::from_millis(999))).is_none());
    assert!(opened(&h.run_for(Duration::from_millis(251))).is_some());
}

#[test]
fn young_losses_that_wait_anyway_still_back_off_and_count_in_the_row() {
    // A lost socket (1006) and 4100 were never retried at once; young, they back off.
    for code in [None, Some(4100)] {
        let (mut h, conn) = guarded();
        h.now += Duration::from_millis(200);
        let out = h.close(conn, code);
        assert!(opened(&out).is_none(), "{code:?}: {out:?}");
        let w = waits(&out);
        assert!(
            w.len() == 1 && (1000..=1250).contains(&w[0].0),
            "{code:?}: {w:?}"
        );
        // And a young 4200 right after it is the second in the row: it backs off too.
        let (conn, _) = opened(&h.run_for(Duration::from_secs(2))).unwrap();
        h.complete(conn, "1.2");
        h.now += Duration::from_millis(200);
        let out = h.close(conn, Some(4200));
        assert!(opened(&out).is_none(), "{code:?}: {out:?}");
        let w = waits(&out);
        assert!(w.len() == 1 && w[0].0 >= 1000, "{code:?}: {w:?}");
    }
}

#[test]
fn a_young_pong_timeout_is_retried_at_once_once_like_4200() {
    // pusher-js reconnects at once after a pong timeout; young, only the first time.
    let mut h = H::with(|c| {
        c.young_connection = DEFAULT_YOUNG_CONNECTION;
        c.activity_timeout = Duration::from_secs(1);
        c.pong_timeout = Duration::from_secs(1);
    });
    let (conn, _) = h.connect();
    let out = h.run_for(Duration::from_millis(2500));
    let w = waits(&out);
    assert!(w.len() == 1 && w[0].0 == 0, "{out:?}");
    assert!(w[0].1.contains("pong timeout"), "{w:?}");
    let (conn2, _) = opened(&out).expect("reopened at once");
    assert_ne!(conn, conn2);
    h.complete(conn2, "1.2");
    let out = h.run_for(Duration::from_millis(2500));
    let w = waits(&out);
    assert!(w.len() == 1 && w[0].0 >= 1000, "{out:?}");
}

#[test]
fn a_4200_storm_is_at_most_about_one_attempt_a_second() {
    let mut h = H::with(|c| c.young_connection = DEFAULT_YOUNG_CONNECTION);
    h.cmd(Command::Subscribe {
        channel: "private-orders".into(),
    });
    let mut out = h.cmd(Command::Connect);
    let start = h.now;
    let mut attempts = Vec::new();
    let mut authorizations = 0;
    let mut announced = Vec::new();
    // The server accepts every connection and closes it with 4200 right after the
    // handshake, for a simulated minute.
    while h.now - start < Duration::from_secs(60) {
        if let Some((conn, _)) = opened(&out) {
            attempts.push(h.now - start);
            let done = h.complete(conn, "1.1");
            authorizations += auth_requests(&done).len();
            h.now += Duration::from_millis(5);
            let closed = h.close(conn, Some(4200));
            announced.extend(waits(&closed).into_iter().map(|(d, _)| d));
            out = closed;
            if opened(&out).is_some() {
                continue;
            }
        }
        let next = h.m.next_deadline().expect("a retry is scheduled");
        h.now = next.max(h.now);
        out = h.feed(Input::Tick);
    }
    // One immediate retry, then back-off 1, 2, 4, 8, 15, 15 ... s: never a storm.
    assert!(
        attempts.len() <= 11,
        "{} attempts: {attempts:?}",
        attempts.len()
    );
    assert_eq!(
        announced.iter().filter(|d| **d == 0).count(),
        1,
        "{announced:?}"
    );
    assert_eq!(announced[0], 0, "{announced:?}");
    assert!(
        attempts[1] - attempts[0] < Duration::from_secs(1),
        "{attempts:?}"
    );
    for pair in attempts.windows(2).skip(1) {
        assert!(pair[1] - pair[0] >= Duration::from_secs(1), "{attempts:?}");
    }
    assert_eq!(authorizations, attempts.len());
}

#[test]
fn a_4200_after_a_long_life_reconnects_at_once_and_restarts_the_backoff() {
    let (mut h, conn) = guarded();
    // Two young losses in a row: the second backs off ...
    h.now += Duration::from_millis(10);
    let out = h.close(conn, Some(4200));
    let (conn, _) = opened(&out).unwrap();
    h.complete(conn, "1.2");
    h.now += Duration::from_millis(10);
    let out = h.close(conn, Some(4200));
    assert!(opened(&out).is_none(), "{out:?}");
    let out = h.run_for(Duration::from_secs(2));
    let (conn, _) = opened(&out).unwrap();
    h.complete(conn, "1.3");
    h.now += Duration::from_secs(60);
    // ... but a connection that lived a minute reconnects at once, unannounced.
    let out = h.close(conn, Some(4200));
    assert!(delays(&out).is_empty(), "{out:?}");
    let (conn, _) = opened(&out).expect("reopened at once");
    h.complete(conn, "1.4");
    // And the row starts again: the next young loss is retried at once, ...
    h.now += Duration::from_millis(10);
    let out = h.close(conn, Some(4200));
    assert_eq!(delays(&out), [0]);
    let (conn, _) = opened(&out).expect("reopened at once");
    h.complete(conn, "1.5");
    // ... the one after it backs off from 1 s again.
    h.now += Duration::from_millis(10);
    let out = h.close(conn, Some(4200));
    let d = delays(&out);
    assert!(d.len() == 1 && (1000..=1250).contains(&d[0]), "{d:?}");
}

#[test]
fn a_connect_command_starts_the_row_again() {
    let (mut h, conn) = guarded();
    h.now += Duration::from_millis(10);
    let out = h.close(conn, Some(4200));
    let (conn, _) = opened(&out).unwrap();
    h.complete(conn, "1.2");
    h.cmd(Command::Disconnect);
    let (conn, _) = h.connect();
    h.now += Duration::from_millis(10);
    let out = h.close(conn, Some(4200));
    assert_eq!(delays(&out), [0], "{out:?}");
}

#[test]
fn a_4200_during_the_handshake_backs_off() {
    let mut h = H::with(|c| c.young_connection = DEFAULT_YOUNG_CONNECTION);
    let out = h.cmd(Command::Connect);
    let (conn, _) = opened(&out).unwrap();
    h.feed(Input::Opened { conn });
    let out = h.text(
        conn,
        &frame(
            "pusher:error",
            None,
            json!({"code": 4200, "message": "go away"}),
        ),
    );
    assert!(opened(&out).is_none(), "{out:?}");
    assert_eq!(delays(&out).len(), 1, "{out:?}");
}

#[test]
fn a_ping_is_answered_with_a_mergeable_pong() {
    let mut h = H::new();
    let (conn, _) = h.connect();
    let out = h.text(conn, r#"{"event":"pusher:ping","data":{}}"#);
    assert!(
        matches!(out.as_slice(), [Output::Pong { conn: c }] if *c == conn),
        "{out:?}"
    );
}

#[test]
fn server_texts_in_records_are_cut_to_an_excerpt() {
    use crate::protocol::excerpt::EXCERPT_BYTES;
    let long = "é".repeat(1 << 20); // 2 MiB
    let short_enough = |s: &str| s.len() <= EXCERPT_BYTES + 32 && s.contains("bytes cut)");
    let mut h = H::new();
    let (conn, _) = h.connect();
    h.subscribe("private-a");
    // A pusher:error on an open connection with no channel waiting, a close with a long
    // reason, an event on a channel never subscribed with a long name, and a long event name.
    let mut out = h.text(
        conn,
        &frame("pusher:error", None, json!({"code": 4201, "message": long})),
    );
    out.extend(h.text(conn, &frame(&long, Some(&format!("x{long}")), json!("1"))));
    out.extend(h.text(conn, &frame(&long, None, json!("1"))));
    let sub = h.text(
        conn,
        &frame(
            "pusher:subscription_error",
            Some("private-a"),
            json!({"error": long}),
        ),
    );
    out.extend(sub);
    out.extend(h.feed(Input::Closed {
        conn,
        code: Some(4200),
        reason: long.clone(),
    }));
    let recs = records(&out);
    let mut seen = 0;
    for r in &recs {
        let texts: Vec<&str> = match r {
            Record::Error { message, .. } => vec![message],
            Record::SubscriptionError { message, .. } => vec![message],
            Record::Event { event, .. } => vec![event],
            Record::State { cause: Some(c), .. } => vec![c],
            Record::ConnectingIn {
                reason: Some(c), ..
            } => vec![c],
            _ => vec![],
        };
        for t in texts {
            assert!(t.len() <= EXCERPT_BYTES + 64, "{r:?}");
            if t.len() > EXCERPT_BYTES {
                assert!(short_enough(t), "{t}");
            }
            seen += 1;
        }
    }
    assert!(
        recs.iter().any(
            |r| matches!(r, Record::SubscriptionError { message, .. } if short_enough(message))
        ),
        "{recs:?}"
    );
    assert!(
        recs.iter()
            .any(|r| matches!(r, Record::Event { event, .. } if short_enough(event))),
        "{recs:?}"
    );
    assert!(seen >= 5, "{recs:?}");
}
