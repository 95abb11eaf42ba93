//! The client task against scripted WebSocket servers on 127.0.0.1: every close-code path,
//! silent servers, servers that go away and come back, malformed frames, slow handshakes.
//! Timings are short (activity 1 s, pong 1 s, unavailable 2 s, retry cap 2 s) and every
//! wait is bounded; assertions are on the order of records, not on wall-clock speed.

use crate::support::*;
use chanwatch_core::connection::Command;
use chanwatch_core::record::{Record, State};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

fn states(records: &[Record]) -> Vec<State> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::State { current, .. } => Some(*current),
            _ => None,
        })
        .collect()
}

/// First connection: established, then closed with `code` after a short while; later
/// connections behave normally.
async fn closing_server(code: u16) -> Server {
    Server::start(move |conn| async move {
        let first = conn.index == 0;
        let mut peer = Peer::established(conn, Some(120)).await;
        if first {
            peer.serve_for(Duration::from_millis(300), Serve::default())
                .await;
            peer.close(code, "scripted close").await;
        } else {
            peer.serve(Serve::default()).await;
        }
    })
    .await
}

#[tokio::test]
async fn close_4001_disconnects_without_retry() {
    let server = closing_server(4001).await;
    let mut w = Watch::spawn(fast_config(server.port), Arc::new(GrantAll));
    w.wait_state(State::Connected).await;
    let error = w
        .wait_for("error 4001", |r| {
            matches!(
                r,
                Record::Error {
                    code: Some(4001),
                    ..
                }
            )
        })
        .await;
    if let Record::Error { message, .. } = error {
        assert!(message.contains("scripted close"), "{message}");
    }
    let d = w.wait_state(State::Disconnected).await;
    assert!(state_cause(&d).contains("4001"), "{d:?}");
    // With a 2 s retry cap any retry would have happened by now.
    let later = w.collect_for(Duration::from_secs(3)).await;
    assert!(
        states(&later).is_empty(),
        "no reconnect after 4001: {later:?}"
    );
    assert_eq!(server.accepted(), 1, "no second connection after 4001");
    // Quitting when already disconnected still ends with a disconnected state record.
    let last = w.quit().await;
    assert!(
        last.last()
            .is_some_and(|r| is_state(r, State::Disconnected)),
        "{last:?}"
    );
}

#[tokio::test]
async fn close_4100_backs_off_at_least_a_second_then_reconnects() {
    let server = closing_server(4100).await;
    let mut w = Watch::spawn(fast_config(server.port), Arc::new(GrantAll));
    w.wait_state(State::Connected).await;
    w.wait_for("error 4100", |r| {
        matches!(
            r,
            Record::Error {
                code: Some(4100),
                ..
            }
        )
    })
    .await;
    let wait = w
        .wait_for("connecting_in", |r| {
            matches!(r, Record::ConnectingIn { .. })
        })
        .await;
    let Record::ConnectingIn { delay_ms, .. } = wait else {
        unreachable!()
    };
    assert!(
        delay_ms >= 1000,
        "4100 backs off at least 1 s, got {delay_ms}"
    );
    w.wait_state(State::Connected).await;
    assert_eq!(server.accepted(), 2);
    w.quit().await;
}

#[tokio::test]
async fn close_4200_reconnects_at_once() {
    let server = closing_server(4200).await;
    // The server closes after 300 ms; for this test that is a long life.
    let mut config = fast_config(server.port);
    config.machine.young_connection = Duration::from_millis(100);
    let mut w = Watch::spawn(config, Arc::new(GrantAll));
    w.wait_state(State::Connected).await;
    w.wait_for("error 4200", |r| {
        matches!(
            r,
            Record::Error {
                code: Some(4200),
                ..
            }
        )
    })
    .await;
    let connecting = w.wait_state(State::Connecting).await;
    assert!(state_cause(&connecting).contains("4200"), "{connecting:?}");
    w.wait_state(State::Connected).await;
    let waits: Vec<_> = w
        .seen
        .iter()
        .filter(|r| matches!(r, Record::ConnectingIn { .. }))
        .collect();
    assert!(waits.is_empty(), "4200 must not wait: {waits:?}");
    w.quit().await;
}

/// A rolling restart: one 4200 some 300 ms after connection_established, with the storm
/// guard at its default (5 s). The first young loss in a row is retried at once, and the
/// `connecting_in` record says so and why.
#[tokio::test]
async fn a_single_young_4200_reconnects_at_once_and_says_why() {
    let marks = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen_by_server = marks.clone();
    let server = Server::start(move |conn| {
        let marks = seen_by_server.clone();
        async move {
            let first = conn.index == 0;
            marks
                .lock()
                .unwrap()
                .push(("accepted", std::time::Instant::now()));
            let mut peer = Peer::established(conn, Some(120)).await;
            if first {
                peer.serve_for(Duration::from_millis(300), Serve::default())
                    .await;
                marks
                    .lock()
                    .unwrap()
                    .push(("closed", std::time::Instant::now()));
                peer.close(4200, "rolling restart").await;
            } else {
                peer.serve(Serve::default()).await;
            }
        }
    })
    .await;
    let config = fast_config(server.port);
    assert_eq!(
        config.machine.young_connection,
        chanwatch_core::connection::DEFAULT_YOUNG_CONNECTION
    );
    let mut w = Watch::spawn(config, Arc::new(GrantAll));
    w.wait_state(State::Connected).await;
    let wait = w
        .wait_for("connecting_in", |r| {
            matches!(r, Record::ConnectingIn { .. })
        })
        .await;
    let Record::ConnectingIn { delay_ms, reason } = wait else {
        unreachable!()
    };
    let reason = reason.unwrap_or_default();
    assert_eq!(delay_ms, 0, "{reason}");
    assert!(
        reason.contains("closed 4200")
            && reason.contains("ms after connecting: reconnecting at once")
            && reason.contains("backs off"),
        "{reason}"
    );
    w.wait_state(State::Connected).await;
    assert_eq!(server.accepted(), 2);
    let marks = marks.lock().unwrap().clone();
    let at = |what: &str, nth: usize| {
        marks
            .iter()
            .filter(|(w, _)| *w == what)
            .nth(nth)
            .map(|(_, t)| *t)
            .unwrap()
    };
    let gap = at("accepted", 1).duration_since(at("closed", 0));
    // Reported, not asserted: how soon is this machine's load; that no wait was scheduled
    // is what delay_ms 0 says.
    eprintln!("a young 4200: the next connection was accepted {gap:?} after the close");
    let waits: Vec<_> = w
        .seen
        .iter()
        .filter(|r| matches!(r, Record::ConnectingIn { delay_ms, .. } if *delay_ms > 0))
        .collect();
    assert!(waits.is_empty(), "no wait before the retry: {waits:?}");
    w.quit().await;
}

#[tokio::test]
async fn abnormal_drop_reconnects_after_about_a_second() {
    let server = Server::start(|conn| async move {
        let first = conn.index == 0;
        let mut peer = Peer::established(conn, Some(120)).await;
        if first {
            peer.serve_for(Duration::from_millis(300), Serve::default())
                .await;
            drop(peer); // TCP gone, no close frame
        } else {
            peer.serve(Serve::default()).await;
        }
    })
    .await;
    let mut config = fast_config(server.port);
    config.subscribe = vec!["news".into()];
    let mut w = Watch::spawn(config, Arc::new(GrantAll));
    w.wait_state(State::Connected).await;
    w.wait_for("subscribed", |r| matches!(r, Record::Subscribed { .. }))
        .await;
    w.wait_for("error 1006", |r| {
        matches!(
            r,
            Record::Error {
                code: Some(1006),
                ..
            }
        )
    })
    .await;
    let wait = w
        .wait_for("connecting_in", |r| {
            matches!(r, Record::ConnectingIn { .. })
        })
        .await;
    // It lived 300 ms: a young loss, so the wait is the back-off's first step (1-1.25 s),
    // and the record says why.
    let Record::ConnectingIn { delay_ms, reason } = wait else {
        unreachable!()
    };
    assert!((1000..=1250).contains(&delay_ms), "{delay_ms}");
    let reason = reason.unwrap_or_default();
    assert!(
        reason.contains("closed 1006") && reason.contains("backs off"),
        "{reason}"
    );
    w.wait_state(State::Connected).await;
    w.wait_for(
        "resubscribed",
        |r| matches!(r, Record::Subscribed { channel } if channel == "news"),
    )
    .await;
    w.quit().await;
}

#[tokio::test]
async fn silent_server_is_detected_by_ping_and_pong_timeout() {
    let server = Server::start(|conn| async move {
        let first = conn.index == 0;
        let mut peer = Peer::established(conn, Some(1)).await;
        let how = Serve {
            answer_pings: !first,
            ..Serve::default()
        };
        peer.serve(how).await;
    })
    .await;
    let mut w = Watch::spawn(fast_config(server.port), Arc::new(GrantAll));
    w.wait_state(State::Connected).await;
    let ping = w
        .wait_for("ping_sent", |r| matches!(r, Record::PingSent { .. }))
        .await;
    assert_eq!(ping, Record::PingSent { after_ms: 1000 });
    let connecting = w.wait_state(State::Connecting).await;
    assert!(
        state_cause(&connecting).contains("pong timeout"),
        "{connecting:?}"
    );
    w.wait_state(State::Connected).await;
    // The second server answers: a ping, then its pong, and no further reconnect.
    w.wait_for("pong", |r| matches!(r, Record::Pong { .. }))
        .await;
    server
        .log
        .wait_for("a pusher:ping from the client", |v| {
            v["event"] == "pusher:ping"
        })
        .await;
    // The client closed the silent socket cleanly.
    server
        .log
        .wait_for("the client's close", |v| v.get("close").is_some())
        .await;
    let later = w.collect_for(Duration::from_millis(2500)).await;
    assert!(
        !states(&later).contains(&State::Connecting),
        "an answering server keeps the connection: {later:?}"
    );
    w.quit().await;
}

#[tokio::test]
async fn server_pings_are_answered_with_pongs() {
    let server = Server::start(|conn| async move {
        let mut peer = Peer::established(conn, Some(120)).await;
        peer.send_text(r#"{"event":"pusher:ping","data":{}}"#).await;
        peer.serve(Serve::default()).await;
    })
    .await;
    let mut w = Watch::spawn(fast_config(server.port), Arc::new(GrantAll));
    w.wait_state(State::Connected).await;
    server
        .log
        .wait_for("a pusher:pong", |v| v["event"] == "pusher:pong")
        .await;
    w.quit().await;
}

#[tokio::test]
async fn server_down_then_back_goes_unavailable_then_reconnects_and_resubscribes() {
    let mut server = Server::start(|conn| async move {
        let mut peer = Peer::established(conn, Some(120)).await;
        peer.serve(Serve::default()).await;
    })
    .await;
    let mut config = fast_config(server.port);
    config.subscribe = vec!["news".into(), "private-orders".into()];
    let mut w = Watch::spawn(config, Arc::new(GrantAll));
    w.wait_state(State::Connected).await;
    for channel in ["news", "private-orders"] {
        w.wait_for(
            channel,
            |r| matches!(r, Record::Subscribed { channel: c } if c == channel),
        )
        .await;
    }

    server.stop();
    w.wait_state(State::Connecting).await;
    w.wait_for("connecting_in", |r| {
        matches!(r, Record::ConnectingIn { .. })
    })
    .await;
    let refused = w
        .wait_for("a refused attempt", |r| {
            matches!(r, Record::Error { code: None, message } if message.contains("connection refused"))
        })
        .await;
    if let Record::Error { message, .. } = &refused {
        assert!(
            message.contains(&format!("127.0.0.1:{}", server.port)),
            "{message}"
        );
    }
    w.wait_state(State::Unavailable).await;
    // Still retrying while unavailable, each wait announced.
    w.wait_for("connecting_in while unavailable", |r| {
        matches!(r, Record::ConnectingIn { delay_ms, .. } if *delay_ms >= 1000 && *delay_ms <= 2000)
    })
    .await;

    server.restart().await;
    let back = w.wait_state(State::Connected).await;
    if let Record::State { socket_id, .. } = &back {
        assert!(socket_id.is_some(), "{back:?}");
    }
    for channel in ["news", "private-orders"] {
        w.wait_for(
            channel,
            |r| matches!(r, Record::Subscribed { channel: c } if c == channel),
        )
        .await;
    }
    w.quit().await;
}

#[tokio::test]
async fn malformed_frames_become_errors_and_the_connection_stays_up() {
    let big_event = json!({
        "event": "big",
        "channel": "news",
        "data": json!({ "blob": "x".repeat(1 << 20) }).to_string(),
    })
    .to_string();
    let server = Server::start(move |conn| {
        let big_event = big_event.clone();
        async move {
            let mut peer = Peer::established(conn, Some(120)).await;
            // Wait for the subscribe, answer it, then misbehave.
            while let Some(frame) = peer.next_frame().await {
                if frame["event"] == "pusher:subscribe" {
                    peer.send_event(
                        "pusher_internal:subscription_succeeded",
                        Some("news"),
                        &json!({}),
                    )
                    .await;
                    break;
                }
            }
            peer.send_text("this is not json").await;
            peer.send_text(r#"{"data":"{}","channel":"news"}"#).await;
            peer.send_text(r#"{"event":5,"data":"{}"}"#).await;
            peer.send_text(r#"{"event":"e","channel":7}"#).await;
            peer.send(Message::binary(vec![0u8, 1, 2, 3])).await;
            peer.send_text("y".repeat(1 << 20)).await;
            peer.send_event("stray", Some("not-subscribed"), &json!({"a": 1}))
                .await;
            peer.send_text(big_event).await;
            peer.send_event("fine", Some("news"), &json!({"ok": true}))
                .await;
            peer.serve(Serve::default()).await;
        }
    })
    .await;
    let mut config = fast_config(server.port);
    config.subscribe = vec!["news".into()];
    let mut w = Watch::spawn(config, Arc::new(GrantAll));
    w.wait_state(State::Connected).await;
    w.wait_for("subscribed", |r| matches!(r, Record::Subscribed { .. }))
        .await;
    let fine = w
        .wait_for(
            "the good event after the bad frames",
            |r| matches!(r, Record::Event { event, .. } if event == "fine"),
        )
        .await;
    assert_eq!(
        fine,
        Record::Event {
            channel: Some("news".into()),
            event: "fine".into(),
            data: json!({"ok": true}).into(),
            user_id: None,
            decrypted: false
        }
    );
    let errors: Vec<String> = w
        .seen
        .iter()
        .filter_map(|r| match r {
            Record::Error {
                code: None,
                message,
            } => Some(message.clone()),
            _ => None,
        })
        .collect();
    let expect = [
        "not valid JSON",     // non-JSON
        "no \"event\" field", // no event
        "\"event\" has the wrong type",
        "\"channel\" has the wrong type",
        "binary frame of 4 bytes",
        "(1048576 bytes)", // the 1 MiB of garbage, quoted only as an excerpt
        "not-subscribed",  // event for an unknown channel
    ];
    for needle in expect {
        assert!(
            errors.iter().any(|m| m.contains(needle)),
            "no error mentioning {needle:?} in {errors:#?}"
        );
    }
    assert!(
        errors.iter().all(|m| m.len() < 1000),
        "error messages stay short: {:?}",
        errors.iter().map(String::len).collect::<Vec<_>>()
    );
    let big = w
        .seen
        .iter()
        .find_map(|r| match r {
            Record::Event { event, data, .. } if event == "big" => Some(data.to_value()),
            _ => None,
        })
        .expect("the 1 MiB event is delivered");
    assert_eq!(big["blob"].as_str().map(str::len), Some(1 << 20));
    assert_eq!(
        states(&w.seen),
        [State::Connecting, State::Connected],
        "bad frames must not drop the connection"
    );
    assert_eq!(server.accepted(), 1);
    w.quit().await;
}

#[tokio::test]
async fn slow_handshake_still_connects() {
    let server = Server::start(|conn| async move {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let mut peer = Peer::established(conn, Some(120)).await;
        peer.serve(Serve::default()).await;
    })
    .await;
    let mut w = Watch::spawn(fast_config(server.port), Arc::new(GrantAll));
    w.wait_state(State::Connected).await;
    assert_eq!(server.accepted(), 1);
    let errors: Vec<_> = w
        .seen
        .iter()
        .filter(|r| matches!(r, Record::Error { .. }))
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    w.quit().await;
}

#[tokio::test]
async fn a_handshake_that_never_completes_times_out_and_retries() {
    let server = Server::start(|conn| async move {
        if conn.index == 0 {
            // Accept TCP, never answer the upgrade; hold the socket until the client leaves.
            let _held = conn.tcp;
            tokio::time::sleep(Duration::from_secs(60)).await;
        } else {
            let mut peer = Peer::established(conn, Some(120)).await;
            peer.serve(Serve::default()).await;
        }
    })
    .await;
    let mut config = fast_config(server.port);
    config.machine.handshake_timeout = Duration::from_secs(1);
    let mut w = Watch::spawn(config, Arc::new(GrantAll));
    w.wait_for("handshake timeout error", |r| {
        matches!(r, Record::Error { code: None, message } if message.contains("no connection_established"))
    })
    .await;
    w.wait_state(State::Connected).await;
    assert_eq!(server.accepted(), 2);
    w.quit().await;
}

#[tokio::test]
async fn http_error_on_upgrade_is_reported_readably() {
    let server = Server::start(|conn| async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut tcp = conn.tcp;
        let mut buf = [0u8; 2048];
        let _ = tcp.read(&mut buf).await;
        let _ = tcp
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nno app k\n")
            .await;
        let _ = tcp.shutdown().await;
    })
    .await;
    let mut w = Watch::spawn(fast_config(server.port), Arc::new(GrantAll));
    let error = w
        .wait_for("upgrade error", |r| matches!(r, Record::Error { .. }))
        .await;
    let Record::Error { code, message } = error else {
        unreachable!()
    };
    assert_eq!(code, None);
    assert!(
        message.contains("HTTP 404 on WebSocket upgrade"),
        "{message}"
    );
    w.wait_for("a retry", |r| matches!(r, Record::ConnectingIn { .. }))
        .await;
    w.quit().await;
}

#[tokio::test]
async fn subscribe_before_connect_is_queued() {
    let server = Server::start(|conn| async move {
        let mut peer = Peer::established(conn, Some(120)).await;
        peer.serve(Serve::default()).await;
    })
    .await;
    let mut config = fast_config(server.port);
    config.auto_connect = false;
    let mut w = Watch::spawn(config, Arc::new(GrantAll));
    w.send(Command::Subscribe {
        channel: "queued".into(),
    })
    .await;
    let early = w.collect_for(Duration::from_millis(500)).await;
    assert!(
        early
            .iter()
            .all(|r| !matches!(r, Record::Subscribed { .. })),
        "{early:?}"
    );
    assert_eq!(server.accepted(), 0, "no connection before connect");
    w.send(Command::Connect).await;
    w.wait_state(State::Connected).await;
    w.wait_for(
        "subscribed",
        |r| matches!(r, Record::Subscribed { channel } if channel == "queued"),
    )
    .await;
    w.quit().await;
}

#[tokio::test]
async fn private_and_presence_channels_are_authorized_and_client_events_sent() {
    let server = Server::start(|conn| async move {
        let mut peer = Peer::established(conn, Some(120)).await;
        peer.serve(Serve::default()).await;
    })
    .await;
    let mut config = fast_config(server.port);
    config.subscribe = vec!["private-a".into(), "presence-room".into()];
    let mut w = Watch::spawn(config, Arc::new(GrantAll));
    w.wait_for(
        "private-a",
        |r| matches!(r, Record::Subscribed { channel } if channel == "private-a"),
    )
    .await;
    let members = w
        .wait_for("members", |r| matches!(r, Record::Members { .. }))
        .await;
    let Record::Members {
        channel, me, count, ..
    } = members
    else {
        unreachable!()
    };
    assert_eq!(channel, "presence-room");
    assert_eq!(count, 1);
    assert_eq!(me.map(|m| m.id), Some("u1".to_owned()));
    w.send(Command::Trigger {
        channel: "private-a".into(),
        event: "client-hello".into(),
        data: json!({"n": 1}),
    })
    .await;
    let (_, frame) = server
        .log
        .wait_for("the client event", |v| v["event"] == "client-hello")
        .await;
    assert_eq!(frame["channel"], "private-a");
    assert_eq!(frame["data"], json!({"n": 1}));
    w.quit().await;
}

#[tokio::test]
async fn refused_authorization_is_a_subscription_error_with_status() {
    let server = Server::start(|conn| async move {
        let mut peer = Peer::established(conn, Some(120)).await;
        peer.serve(Serve::default()).await;
    })
    .await;
    let mut config = fast_config(server.port);
    config.subscribe = vec!["private-a".into(), "news".into()];
    let mut w = Watch::spawn(config, Arc::new(Refuse));
    let err = w
        .wait_for("subscription_error", |r| {
            matches!(r, Record::SubscriptionError { .. })
        })
        .await;
    assert_eq!(
        err,
        Record::SubscriptionError {
            channel: "private-a".into(),
            status: Some(403),
            message: "forbidden: private-a".into()
        }
    );
    w.wait_for(
        "the public channel still works",
        |r| matches!(r, Record::Subscribed { channel } if channel == "news"),
    )
    .await;
    assert!(
        server
            .log
            .events("pusher:subscribe")
            .iter()
            .all(|(_, f)| f["data"]["channel"] != "private-a"),
        "no subscribe is sent without a grant"
    );
    w.quit().await;
}

#[tokio::test]
async fn quit_closes_the_socket_cleanly_and_ends_with_disconnected() {
    let server = Server::start(|conn| async move {
        let mut peer = Peer::established(conn, Some(120)).await;
        peer.serve(Serve::default()).await;
    })
    .await;
    let mut w = Watch::spawn(fast_config(server.port), Arc::new(GrantAll));
    w.wait_state(State::Connected).await;
    let last = w.quit().await;
    assert!(
        last.last()
            .is_some_and(|r| is_state(r, State::Disconnected)),
        "the final record is the disconnected state: {last:?}"
    );
    let (_, close) = server
        .log
        .wait_for("a close frame", |v| v.get("close").is_some())
        .await;
    assert_eq!(close["close"], 1000);
}

#[tokio::test]
async fn dropping_the_commands_sender_ends_the_client() {
    let server = Server::start(|conn| async move {
        let mut peer = Peer::established(conn, Some(120)).await;
        peer.serve(Serve::default()).await;
    })
    .await;
    let handle = chanwatch_core::client::spawn(fast_config(server.port), Arc::new(GrantAll));
    let chanwatch_core::client::ClientHandle {
        commands,
        mut records,
        task,
    } = handle;
    let connected = tokio::time::timeout(BOUND, async {
        while let Some(r) = records.recv().await {
            if is_state(&r.record, State::Connected) {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(connected, Ok(true));
    drop(commands);
    let mut last = None;
    let drained = tokio::time::timeout(BOUND, async {
        while let Some(r) = records.recv().await {
            last = Some(r.record);
        }
    })
    .await;
    assert!(
        drained.is_ok(),
        "records close after the commands sender is dropped"
    );
    assert!(last.is_some_and(|r| is_state(&r, State::Disconnected)));
    tokio::time::timeout(BOUND, task).await.unwrap().unwrap();
}

#[tokio::test]
async fn quit_during_a_flood_still_closes_cleanly() {
    use futures_util::{SinkExt, StreamExt};
    let server = Server::start(|conn| async move {
        let log = conn.log.clone();
        let ws = tokio_tungstenite::accept_async(conn.tcp).await.unwrap();
        let (mut sink, mut stream) = ws.split();
        let hello = r#"{"event":"pusher:connection_established","data":"{\"socket_id\":\"1.1\",\"activity_timeout\":120}"}"#;
        sink.send(Message::text(hello)).await.unwrap();
        let event = json!({"event": "tick", "channel": "news", "data": "{\"n\":1}"}).to_string();
        let writer = tokio::spawn(async move {
            while sink.send(Message::text(event.clone())).await.is_ok() {}
        });
        while let Some(Ok(msg)) = stream.next().await {
            match msg {
                Message::Text(t) => {
                    let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap();
                    if v["event"] == "pusher:subscribe" {
                        log.push_for_test(0, v);
                    }
                }
                Message::Close(frame) => {
                    log.push_for_test(0, json!({ "close": frame.map(|f| u16::from(f.code)) }));
                    break;
                }
                _ => {}
            }
        }
        writer.abort();
    })
    .await;
    let mut config = fast_config(server.port);
    config.subscribe = vec!["news".into()];
    let mut w = Watch::spawn(config, Arc::new(GrantAll));
    w.wait_state(State::Connected).await;
    // The flood is under way. Stop reading for a moment so every queue between the socket
    // and us fills up (records, then socket events): the socket task is then blocked on a
    // full queue when quit asks it to close.
    w.wait_for("flooded", |r| matches!(r, Record::Event { .. }))
        .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let last = w.quit().await;
    assert!(
        last.last()
            .is_some_and(|r| is_state(r, State::Disconnected)),
        "{:?}",
        last.last()
    );
    let (_, close) = server
        .log
        .wait_for("a close frame despite the flood", |v| {
            v.get("close").is_some()
        })
        .await;
    assert_eq!(close["close"], 1000);
}
