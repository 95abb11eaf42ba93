//! The client task against hostile servers on 127.0.0.1: a 16 MiB frame, a frame header that
//! claims more than the client accepts, a flood of tiny frames, servers that never finish
//! the handshake, a second `connection_established`, invalid UTF-8 in a text frame, a
//! flood of pings, and a slow-loris reader. Each must give a clear record and a bounded
//! outcome: never a hang, a panic or unbounded memory. Every wait is bounded; assertions are on outcomes, not speed.
//!
//! The flood sends the full million frames of issue 6 (about 3 s in a debug build);
//! CHANWATCH_FLOOD_EVENTS=N sends N instead.

use crate::support::*;
use chanwatch_core::client::ws::codec;
use chanwatch_core::client::{self, ClientHandle};
use chanwatch_core::connection::Command;
use chanwatch_core::record::{Record, State};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

const MIB: usize = 1 << 20;

fn states(records: &[Record]) -> Vec<State> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::State { current, .. } => Some(*current),
            _ => None,
        })
        .collect()
}

fn errors(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::Error { message, .. } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

/// Everything said about the connection in words: error messages and state causes.
fn all_words(records: &[Record]) -> Vec<String> {
    let mut words = errors(records);
    words.extend(records.iter().map(state_cause).filter(|c| !c.is_empty()));
    words
}

/// One unmasked (server-to-client) text frame with any payload bytes, even invalid UTF-8.
fn raw_text_frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 10);
    codec::header(true, codec::OP_TEXT, payload.len(), None, &mut out);
    out.extend_from_slice(payload);
    out
}

/// A WebSocket that has sent `connection_established` and answered the subscribe to
/// `channel`; the test can then write raw bytes on its TCP stream via `get_mut`.
async fn subscribed_raw(conn: Conn, channel: &str) -> Option<WebSocketStream<TcpStream>> {
    let mut ws = tokio_tungstenite::accept_async(conn.tcp).await.ok()?;
    let established = json!({
        "event": "pusher:connection_established",
        "data": json!({ "socket_id": format!("{}.1", conn.index + 1), "activity_timeout": 120 }).to_string(),
    });
    ws.send(Message::text(established.to_string())).await.ok()?;
    while let Some(Ok(msg)) = ws.next().await {
        let Message::Text(text) = msg else { continue };
        let frame: serde_json::Value = serde_json::from_str(text.as_str()).ok()?;
        if frame["event"] == "pusher:subscribe" && frame["data"]["channel"] == channel {
            let ok = json!({
                "event": "pusher_internal:subscription_succeeded",
                "channel": channel,
                "data": "{}",
            });
            ws.send(Message::text(ok.to_string())).await.ok()?;
            return Some(ws);
        }
    }
    None
}

/// Keep the socket open (reading and dropping frames) until the client goes.
async fn linger(mut ws: WebSocketStream<TcpStream>) {
    let _ = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
}

fn subscribing(port: u16, channels: &[&str]) -> client::ClientConfig {
    let mut config = fast_config(port);
    config.subscribe = channels.iter().map(|c| c.to_string()).collect();
    // Hostile servers may stall reads for a while; the silence detector is not under test.
    config.machine.activity_timeout = Duration::from_secs(120);
    config
}

/// What the server saw of the client's pongs.
#[derive(Debug, Default)]
struct Pongs {
    first: Option<Vec<u8>>,
    count: usize,
    saw_last: bool,
}

#[tokio::test]
async fn pings_are_answered_with_their_payload_even_in_a_flood() {
    const FLOOD: usize = 20_000;
    let seen = Arc::new(std::sync::Mutex::new(Pongs::default()));
    let record = seen.clone();
    let server = Server::start(move |conn| {
        let record = record.clone();
        async move {
            let Some(mut ws) = subscribed_raw(conn, "p").await else {
                return;
            };
            let _ = ws.send(Message::Ping(b"probe-1".to_vec().into())).await;
            let _ = tokio::time::timeout(Duration::from_secs(10), async {
                while let Some(Ok(msg)) = ws.next().await {
                    if let Message::Pong(payload) = msg {
                        record.lock().unwrap().first = Some(payload.to_vec());
                        break;
                    }
                }
            })
            .await;
            // Then a flood of pings, written without reading a single pong in between.
            for i in 0..FLOOD {
                let _ = ws
                    .feed(Message::Ping(format!("f{i}").into_bytes().into()))
                    .await;
            }
            let after = r#"{"event":"after","channel":"p","data":"{}"}"#;
            let _ = ws.send(Message::text(after)).await;
            let last = format!("f{}", FLOOD - 1).into_bytes();
            let _ = tokio::time::timeout(Duration::from_secs(20), async {
                while let Some(Ok(msg)) = ws.next().await {
                    if let Message::Pong(payload) = msg {
                        let mut seen = record.lock().unwrap();
                        seen.count += 1;
                        if payload[..] == last[..] {
                            seen.saw_last = true;
                            break;
                        }
                    }
                }
            })
            .await;
            linger(ws).await;
        }
    })
    .await;
    let mut w = Watch::spawn(subscribing(server.port, &["p"]), Arc::new(GrantAll));
    w.wait_for(
        "the event after the flood",
        |r| matches!(r, Record::Event { event, .. } if event == "after"),
    )
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !seen.lock().unwrap().saw_last && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seen = seen.lock().unwrap();
    // A ping is answered with its own payload. The flood's pongs are merged (only the
    // latest ping waiting is answered, so they cannot queue up), but the last is answered.
    assert_eq!(seen.first.as_deref(), Some(&b"probe-1"[..]), "{seen:?}");
    assert!(seen.saw_last, "{seen:?}");
    assert!(
        seen.count < FLOOD / 10,
        "pongs are merged, not queued: {seen:?}"
    );
    assert_eq!(states(&w.seen), [State::Connecting, State::Connected]);
    assert_eq!(server.accepted(), 1);
}

#[tokio::test]
async fn a_16_mib_event_is_delivered_and_the_connection_stays() {
    let server = Server::start(|conn| async move {
        let Some(mut ws) = subscribed_raw(conn, "big").await else {
            return;
        };
        let data = json!({ "blob": "x".repeat(16 * MIB) }).to_string();
        let big = json!({ "event": "huge", "channel": "big", "data": data }).to_string();
        let after = r#"{"event":"after","channel":"big","data":"{\"ok\":true}"}"#;
        let _ = ws.send(Message::text(big)).await;
        let _ = ws.send(Message::text(after)).await;
        linger(ws).await;
    })
    .await;
    let mut w = Watch::spawn(subscribing(server.port, &["big"]), Arc::new(GrantAll));
    w.wait_for("subscribed", |r| matches!(r, Record::Subscribed { .. }))
        .await;
    let huge = w
        .wait_for(
            "the 16 MiB event",
            |r| matches!(r, Record::Event { event, .. } if event == "huge"),
        )
        .await;
    let Record::Event { data, .. } = huge else {
        unreachable!()
    };
    assert_eq!(
        data.to_value()["blob"].as_str().map(str::len),
        Some(16 * MIB)
    );
    w.wait_for(
        "the event after it",
        |r| matches!(r, Record::Event { event, .. } if event == "after"),
    )
    .await;
    assert_eq!(states(&w.seen), [State::Connecting, State::Connected]);
    assert_eq!(server.accepted(), 1);
    w.quit().await;
}

#[tokio::test]
async fn a_frame_larger_than_the_limit_is_refused_before_it_is_read() {
    // The header claims 1 GiB; only the header is sent. The client must refuse from the
    // header alone (no 1 GiB buffer), say why, and reconnect.
    let server = Server::start(|conn| async move {
        let index = conn.index;
        let Some(mut ws) = subscribed_raw(conn, "big").await else {
            return;
        };
        if index == 0 {
            let mut header = vec![0x81, 127];
            header.extend_from_slice(&(1u64 << 30).to_be_bytes());
            let _ = ws.get_mut().write_all(&header).await;
            let _ = ws.get_mut().write_all(b"xxxx").await;
        }
        linger(ws).await;
    })
    .await;
    let mut w = Watch::spawn(subscribing(server.port, &["big"]), Arc::new(GrantAll));
    w.wait_state(State::Connected).await;
    let lost = w.wait_state(State::Connecting).await;
    let cause = state_cause(&lost);
    assert!(cause.contains("too large"), "{lost:?}");
    w.wait_state(State::Connected).await;
    w.wait_for("resubscribed", |r| matches!(r, Record::Subscribed { .. }))
        .await;
    assert_eq!(server.accepted(), 2);
    assert!(
        vm_hwm_kb().is_none_or(|kb| kb < 1 << 20),
        "peak RSS must stay far below the claimed 1 GiB"
    );
    w.quit().await;
}

/// Peak RSS of this test process, in KiB (Linux only).
fn vm_hwm_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn flood_events() -> u64 {
    match std::env::var("CHANWATCH_FLOOD_EVENTS") {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("CHANWATCH_FLOOD_EVENTS must be a number, got {v:?}")),
        Err(_) => 1_000_000,
    }
}

#[tokio::test]
async fn a_flood_of_tiny_frames_is_kept_up_with_and_the_connection_stays() {
    let n = flood_events();
    let server = Server::start(move |conn| async move {
        let Some(mut ws) = subscribed_raw(conn, "flood").await else {
            return;
        };
        let _ = ws.flush().await;
        let one = raw_text_frame(br#"{"event":"t","channel":"flood","data":"1"}"#);
        let batch = one.repeat(1000);
        let tcp = ws.get_mut();
        for _ in 0..n / 1000 {
            if tcp.write_all(&batch).await.is_err() {
                return;
            }
        }
        for _ in 0..n % 1000 {
            let _ = tcp.write_all(&one).await;
        }
        let done = raw_text_frame(br#"{"event":"done","channel":"flood","data":"{}"}"#);
        let _ = tcp.write_all(&done).await;
        linger(ws).await;
    })
    .await;
    // Records are counted as they come, not kept: a million of them is the point.
    let ClientHandle {
        commands,
        mut records,
        task,
    } = client::spawn(subscribing(server.port, &["flood"]), Arc::new(GrantAll));
    let mut ticks = 0u64;
    let mut other = Vec::new();
    let counted = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(stamped) = records.recv().await {
            match stamped.record {
                Record::Event { event, .. } if event == "t" => ticks += 1,
                Record::Event { event, .. } if event == "done" => return true,
                r => other.push(r),
            }
        }
        false
    })
    .await;
    assert_eq!(
        counted,
        Ok(true),
        "no `done` within 120 s: {ticks} of {n} events; other records {other:#?}"
    );
    assert_eq!(ticks, n, "every frame becomes a record");
    assert_eq!(
        states(&other),
        [State::Connecting, State::Connected],
        "{other:#?}"
    );
    assert!(errors(&other).is_empty(), "{other:#?}");
    assert_eq!(server.accepted(), 1);
    let _ = commands.send(Command::Quit).await;
    let ended =
        tokio::time::timeout(BOUND, async { while records.recv().await.is_some() {} }).await;
    assert!(ended.is_ok(), "records end after quit");
    tokio::time::timeout(BOUND, task)
        .await
        .expect("the client ends after quit")
        .expect("no panic");
}

#[tokio::test]
async fn servers_that_never_finish_the_handshake_are_retried_and_reported() {
    // Even connections: TCP accepted, HTTP upgrade never answered. Odd: upgraded, but no
    // connection_established ever. Both must time out, be said, and be retried.
    let server = Server::start(|conn| async move {
        if conn.index % 2 == 0 {
            let _held = conn.tcp;
            tokio::time::sleep(Duration::from_secs(120)).await;
        } else if let Ok(ws) = tokio_tungstenite::accept_async(conn.tcp).await {
            linger(ws).await;
        }
    })
    .await;
    let mut config = fast_config(server.port);
    config.machine.handshake_timeout = Duration::from_millis(500);
    config.machine.retry_cap = Duration::from_secs(1);
    let mut w = Watch::spawn(config, Arc::new(GrantAll));
    // Unavailable after the unavailable timeout (2 s), and the retries go on after it.
    w.wait_state(State::Unavailable).await;
    for attempt in 0..2 {
        w.wait_for(&format!("handshake timeout #{attempt} after unavailable"), |r| {
            matches!(r, Record::Error { message, .. } if message.contains("no connection_established"))
        })
        .await;
    }
    assert!(server.accepted() >= 3, "retried: {}", server.accepted());
    assert!(
        !states(&w.seen).contains(&State::Connected),
        "{:#?}",
        w.seen
    );
    // Quitting in the middle of a hanging attempt is prompt and final.
    let last = w.quit().await;
    assert!(
        last.last()
            .is_some_and(|r| is_state(r, State::Disconnected)),
        "{last:?}"
    );
}

#[tokio::test]
async fn a_second_connection_established_is_an_error_and_the_connection_stays() {
    let server = Server::start(|conn| async move {
        let mut peer = Peer::established(conn, Some(120)).await;
        peer.send_event(
            "pusher:connection_established",
            None,
            &json!({ "socket_id": "999.999", "activity_timeout": 120 }),
        )
        .await;
        peer.serve(Serve::default()).await;
    })
    .await;
    let mut w = Watch::spawn(subscribing(server.port, &[]), Arc::new(GrantAll));
    let connected = w.wait_state(State::Connected).await;
    let Record::State { socket_id, .. } = &connected else {
        unreachable!()
    };
    assert_eq!(socket_id.as_deref(), Some("1000.42"));
    w.wait_for("error about the second handshake", |r| {
        matches!(r, Record::Error { message, .. } if message.contains("second pusher:connection_established"))
    })
    .await;
    // Still usable, on the first socket id.
    w.send(Command::Subscribe {
        channel: "after".into(),
    })
    .await;
    w.wait_for(
        "subscribed after",
        |r| matches!(r, Record::Subscribed { channel } if channel == "after"),
    )
    .await;
    let (_, subscribe) = server
        .log
        .wait_for("the subscribe", |v| v["event"] == "pusher:subscribe")
        .await;
    assert_eq!(subscribe["data"]["channel"], "after");
    assert_eq!(states(&w.seen), [State::Connecting, State::Connected]);
    assert_eq!(server.accepted(), 1);
    w.quit().await;
}

#[tokio::test]
async fn invalid_utf8_in_a_text_frame_is_reported_and_the_client_reconnects() {
    let server = Server::start(|conn| async move {
        let index = conn.index;
        let Some(mut ws) = subscribed_raw(conn, "u").await else {
            return;
        };
        if index == 0 {
            let _ = ws.flush().await;
            // "{"event":"x"} with two bytes that are never valid UTF-8 inside the string.
            let _ = ws
                .get_mut()
                .write_all(&raw_text_frame(b"{\"event\":\"x\xff\xfe\"}"))
                .await;
        } else {
            let _ = ws
                .send(Message::text(
                    r#"{"event":"fine","channel":"u","data":"{}"}"#,
                ))
                .await;
        }
        linger(ws).await;
    })
    .await;
    let mut w = Watch::spawn(subscribing(server.port, &["u"]), Arc::new(GrantAll));
    w.wait_state(State::Connected).await;
    let lost = w.wait_state(State::Connecting).await;
    let words = all_words(&w.seen).join(" | ").to_lowercase();
    assert!(words.contains("utf-8"), "{lost:?} / {words}");
    w.wait_for(
        "the event on the next connection",
        |r| matches!(r, Record::Event { event, .. } if event == "fine"),
    )
    .await;
    assert_eq!(server.accepted(), 2);
    w.quit().await;
}

/// The first connection reads normally until the subscribe to `private-s`, then reads one
/// byte a second while it keeps sending `slow-tick` events, and answers the subscribe to
/// `late` (which it cannot read in time) once `late_asked` is set. Later connections behave.
async fn slow_loris_server(late_asked: Arc<AtomicBool>) -> Server {
    let asked = late_asked;
    Server::start(move |conn| {
        let asked = asked.clone();
        async move {
        if conn.index > 0 {
            let mut peer = Peer::established(conn, Some(120)).await;
            peer.serve(Serve::default()).await;
            return;
        }
        let Some(mut ws) = subscribed_raw(conn, "private-s").await else {
            return;
        };
        let _ = ws.flush().await;
        // Slow-loris from here: the socket is read one byte a second, while events (and the
        // answer to the later subscribe) keep going out as raw frames.
        let tcp = ws.get_mut();
        let started = tokio::time::Instant::now();
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        let mut read_at = tokio::time::Instant::now() + Duration::from_secs(1);
        let mut n = 0;
        let mut late_answered = false;
        while started.elapsed() < Duration::from_secs(90) {
            tokio::select! {
                _ = tick.tick() => {
                    n += 1;
                    let event = format!(
                        r#"{{"event":"slow-tick","channel":"private-s","data":"{{\"n\":{n}}}"}}"#
                    );
                    let mut out = raw_text_frame(event.as_bytes());
                    if !late_answered && asked.load(Ordering::SeqCst) {
                        late_answered = true;
                        out.extend(raw_text_frame(
                            br#"{"event":"pusher_internal:subscription_succeeded","channel":"late","data":"{}"}"#,
                        ));
                    }
                    if tcp.write_all(&out).await.is_err() {
                        return;
                    }
                }
                () = tokio::time::sleep_until(read_at) => {
                    read_at += Duration::from_secs(1);
                    let mut byte = [0u8; 1];
                    if !matches!(tcp.read(&mut byte).await, Ok(1)) {
                        return;
                    }
                }
            }
        }
    }})
    .await
}

/// Connect, subscribe to `private-s`, then fill the socket with client events: 200 × 64 KiB
/// = 12.5 MiB, far more than the loopback TCP buffers hold while the server reads slowly.
async fn stalled_client(server: &Server) -> Watch {
    let mut w = Watch::spawn(subscribing(server.port, &["private-s"]), Arc::new(GrantAll));
    w.wait_for(
        "subscribed private-s",
        |r| matches!(r, Record::Subscribed { channel } if channel == "private-s"),
    )
    .await;
    let blob = "z".repeat(64 * 1024);
    for _ in 0..200 {
        w.send(Command::Trigger {
            channel: "private-s".into(),
            event: "client-big".into(),
            data: json!({ "blob": blob }),
        })
        .await;
    }
    // A marker after them: a client event on a channel we are not on, refused at once. Its
    // error means every trigger before it has been handled.
    w.send(Command::Trigger {
        channel: "marker".into(),
        event: "client-marker".into(),
        data: json!({}),
    })
    .await;
    w.wait_for("the marker's refusal", |r| {
        matches!(r, Record::Error { message, .. } if message.contains("cannot trigger on marker"))
    })
    .await;
    // And the write really is blocked: past 4 MiB unwritten, client events were refused.
    assert!(
        errors(&w.seen)
            .iter()
            .any(|e| e.starts_with("not sent: the server has left")),
        "the socket never filled up: {:#?}",
        errors(&w.seen)
    );
    w
}

#[tokio::test]
async fn a_slow_loris_reader_does_not_stall_commands_or_quit() {
    let server = slow_loris_server(Arc::new(AtomicBool::new(false))).await;
    let mut w = stalled_client(&server).await;
    w.send(Command::Subscribe {
        channel: "bad name!".into(),
    })
    .await;
    w.wait_for(
        "subscription_error for the bad name",
        |r| matches!(r, Record::SubscriptionError { channel, .. } if channel == "bad name!"),
    )
    .await;
    w.send(Command::Unsubscribe {
        channel: "private-s".into(),
    })
    .await;
    w.wait_for(
        "unsubscribed",
        |r| matches!(r, Record::Unsubscribed { channel } if channel == "private-s"),
    )
    .await;
    // Quit with megabytes still unsent: bounded (Watch::quit waits at most 30 s), clean end.
    let last = w.quit().await;
    assert!(
        last.last()
            .is_some_and(|r| is_state(r, State::Disconnected)),
        "{last:?}"
    );
}

/// A server that reads a byte a second must not stall what comes in: socket writes run in a
/// task of their own (src/client/socket.rs), so events and subscription answers are read
/// while a write waits, and the client's queue refuses what it cannot hold.
#[tokio::test]
async fn a_slow_loris_reader_does_not_stall_inbound_events() {
    let late_asked = Arc::new(AtomicBool::new(false));
    let server = slow_loris_server(late_asked.clone()).await;
    let mut w = stalled_client(&server).await;
    w.send(Command::Subscribe {
        channel: "late".into(),
    })
    .await;
    late_asked.store(true, Ordering::SeqCst);
    w.wait_for(
        "subscribed late",
        |r| matches!(r, Record::Subscribed { channel } if channel == "late"),
    )
    .await;
    w.wait_for(
        "an inbound event during the stall",
        |r| matches!(r, Record::Event { event, .. } if event == "slow-tick"),
    )
    .await;
    // 12.5 MiB of client events to a server that reads a byte a second: past 4 MiB they
    // are refused, each with an error, instead of queued without bound.
    assert!(
        errors(&w.seen)
            .iter()
            .any(|e| e.starts_with("not sent: the server has left")),
        "{:#?}",
        errors(&w.seen)
    );
    assert_eq!(
        states(&w.seen),
        [State::Connecting, State::Connected],
        "{:#?}",
        w.seen
    );
    w.quit().await;
}

// ----- numbers out of range, storms, protocol ping floods, huge rosters -----

/// Upgrade, send `connection_established` with this raw `activity_timeout` text, answer the
/// subscribe to `channel` (with presence data `presence` when given).
async fn established_raw(
    conn: Conn,
    activity: &str,
    channel: &str,
    presence: Option<String>,
) -> Option<WebSocketStream<TcpStream>> {
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(64 << 20))
        .max_frame_size(Some(64 << 20));
    let mut ws = tokio_tungstenite::accept_async_with_config(conn.tcp, Some(config))
        .await
        .ok()?;
    let data = format!(
        r#"{{"socket_id":"{}.1","activity_timeout":{activity}}}"#,
        conn.index + 1
    );
    let hello = json!({ "event": "pusher:connection_established", "data": data });
    ws.send(Message::text(hello.to_string())).await.ok()?;
    while let Some(Ok(msg)) = ws.next().await {
        let Message::Text(text) = msg else { continue };
        let frame: serde_json::Value = serde_json::from_str(text.as_str()).ok()?;
        if frame["event"] == "pusher:subscribe" && frame["data"]["channel"] == channel {
            let data = presence.unwrap_or_else(|| "{}".into());
            let ok = json!({
                "event": "pusher_internal:subscription_succeeded",
                "channel": channel,
                "data": data,
            });
            ws.send(Message::text(ok.to_string())).await.ok()?;
            return Some(ws);
        }
    }
    None
}

#[tokio::test]
async fn numbers_of_any_size_sign_or_type_in_every_field_never_panic() {
    let server = Server::start(|conn| async move {
        let Some(mut ws) = established_raw(conn, "1e20", "presence-room", None).await else {
            return;
        };
        let extremes = [
            "1e308", "-1e308", "18446744073709551616", "-9223372036854775809", "5e-324",
            "-0", r#""1e20""#, "{}", "[]", "null", "true",
        ];
        for n in extremes {
            for text in [
                format!(r#"{{"event":"pusher:error","data":{{"code":{n},"message":{n}}}}}"#),
                format!(r#"{{"event":"pusher:subscription_error","channel":"presence-room","data":{{"status":{n}}}}}"#),
                format!(r#"{{"event":"pusher_internal:member_added","channel":"presence-room","data":{{"user_id":{n},"user_info":{n}}}}}"#),
                format!(r#"{{"event":"pusher_internal:member_removed","channel":"presence-room","data":{{"user_id":{n}}}}}"#),
                format!(r#"{{"event":"pusher:signin_success","data":{{"user_data":{n}}}}}"#),
                format!(r#"{{"event":"pusher_internal:watchlist_events","data":{{"events":[{{"name":{n},"user_ids":{n}}}]}}}}"#),
                format!(r#"{{"event":{n},"channel":{n},"data":{n},"user_id":{n}}}"#),
                format!(r#"{{"event":"x","channel":"presence-room","data":{n},"user_id":{n}}}"#),
                format!(r#"{{"event":"pusher:ping","data":{n}}}"#),
                format!(r#"{{"event":"pusher:pong","data":{n}}}"#),
            ] {
                if ws.send(Message::text(text)).await.is_err() {
                    return;
                }
            }
        }
        let after = r#"{"event":"after","channel":"presence-room","data":"{}"}"#;
        let _ = ws.send(Message::text(after)).await;
        linger(ws).await;
    })
    .await;
    let mut w = Watch::spawn(
        subscribing(server.port, &["presence-room"]),
        Arc::new(GrantAll),
    );
    w.wait_for(
        "the event after the barrage",
        |r| matches!(r, Record::Event { event, .. } if event == "after"),
    )
    .await;
    let words = all_words(&w.seen).join("\n");
    assert!(
        words.contains("activity_timeout 1e+20 s is out of range"),
        "{words}"
    );
    assert_eq!(states(&w.seen), [State::Connecting, State::Connected]);
    assert_eq!(server.accepted(), 1);
    let records = w.quit().await;
    assert!(
        records.iter().any(|r| matches!(
            r,
            Record::State {
                current: State::Disconnected,
                ..
            }
        )),
        "the client task ends normally, no panic"
    );
}

#[tokio::test]
async fn a_4200_storm_sees_one_immediate_retry_then_about_one_attempt_a_second_at_most() {
    // Every connection: handshake, the private channel authorized and subscribed, then 4200.
    let server = Server::start(|conn| async move {
        let Some(mut ws) = subscribed_raw(conn, "private-orders").await else {
            return;
        };
        let _ = ws
            .close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
                code: 4200.into(),
                reason: "go away".into(),
            }))
            .await;
        linger(ws).await;
    })
    .await;
    let mut config = subscribing(server.port, &["private-orders"]);
    config.machine.retry_cap = Duration::from_secs(15);
    config.machine.unavailable_timeout = Duration::from_secs(60);
    let mut w = Watch::spawn(config, Arc::new(GrantAll));
    let watched = Duration::from_secs(8);
    w.collect_for(watched).await;
    let attempts = server.accepted();
    let waits: Vec<(u64, String)> = w
        .seen
        .iter()
        .filter_map(|r| match r {
            Record::ConnectingIn { delay_ms, reason } => {
                Some((*delay_ms, reason.clone().unwrap_or_default()))
            }
            _ => None,
        })
        .collect();
    eprintln!("4200 storm: {attempts} attempts in {watched:?}; waits {waits:?}");
    // One retry at once, then back-off 1, 2, 4 s ...: attempts at about 0, 0, 1, 3 and 7 s.
    assert!(
        (2..=7).contains(&attempts),
        "{attempts} attempts: {waits:?}"
    );
    assert!(waits.len() >= 2, "{waits:?}");
    let (first, rest) = waits.split_first().unwrap();
    assert_eq!(
        first.0, 0,
        "the first young loss is retried at once: {waits:?}"
    );
    assert!(first.1.contains("reconnecting at once"), "{waits:?}");
    for (_, reason) in &waits {
        assert!(
            reason.contains("4200") && reason.contains("backs off"),
            "{reason}"
        );
    }
    for (delay, _) in rest {
        assert!(
            *delay >= 1000,
            "only one immediate retry in a row: {waits:?}"
        );
    }
    w.quit().await;
}

#[tokio::test]
async fn a_pusher_ping_flood_at_a_server_that_reads_nothing_queues_at_most_one_pong() {
    const FLOOD: usize = 200_000;
    let pongs = Arc::new(std::sync::Mutex::new((0usize, false)));
    let record = pongs.clone();
    let server = Server::start(move |conn| {
        let record = record.clone();
        async move {
            let Some(mut ws) = subscribed_raw(conn, "p").await else {
                return;
            };
            let _ = ws.flush().await;
            // Written straight to the socket, reading nothing meanwhile.
            let ping = raw_text_frame(br#"{"event":"pusher:ping","data":{}}"#);
            let batch = ping.repeat(1000);
            let tcp = ws.get_mut();
            for _ in 0..FLOOD / 1000 {
                if tcp.write_all(&batch).await.is_err() {
                    return;
                }
            }
            let after = raw_text_frame(br#"{"event":"after","channel":"p","data":"{}"}"#);
            let _ = tcp.write_all(&after).await;
            // Now read: count the answers until a quiet second.
            while let Ok(Some(Ok(msg))) =
                tokio::time::timeout(Duration::from_secs(1), ws.next()).await
            {
                if let Message::Text(t) = msg
                    && t.as_str().contains("pusher:pong")
                {
                    record.lock().unwrap().0 += 1;
                }
            }
            // A ping now is still answered.
            let _ = ws
                .send(Message::text(r#"{"event":"pusher:ping","data":{}}"#))
                .await;
            while let Ok(Some(Ok(msg))) =
                tokio::time::timeout(Duration::from_secs(10), ws.next()).await
            {
                if let Message::Text(t) = msg
                    && t.as_str().contains("pusher:pong")
                {
                    record.lock().unwrap().1 = true;
                    break;
                }
            }
            linger(ws).await;
        }
    })
    .await;
    let mut w = Watch::spawn(subscribing(server.port, &["p"]), Arc::new(GrantAll));
    w.wait_for(
        "the event after the flood",
        |r| matches!(r, Record::Event { event, .. } if event == "after"),
    )
    .await;
    let deadline = tokio::time::Instant::now() + BOUND;
    while !pongs.lock().unwrap().1 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (count, answered_later) = *pongs.lock().unwrap();
    eprintln!(
        "pusher:ping flood: {FLOOD} pings, {count} pongs; peak RSS of the test process {:?} KiB",
        vm_hwm_kb()
    );
    assert!(count >= 1, "the flood is answered");
    assert!(
        count < FLOOD / 10,
        "answers are merged, not queued: {count}"
    );
    assert!(answered_later, "a later ping is answered");
    assert_eq!(states(&w.seen), [State::Connecting, State::Connected]);
    assert_eq!(server.accepted(), 1);
    w.quit().await;
}

#[tokio::test]
async fn a_million_member_presence_snapshot_is_counted_not_kept() {
    const MEMBERS: usize = 1_000_000;
    let server = Server::start(|conn| async move {
        let ids: Vec<String> = (0..MEMBERS).map(|i| format!("\"u{i}\"")).collect();
        let presence = format!(
            r#"{{"presence":{{"count":{MEMBERS},"ids":[{}],"hash":{{}}}}}}"#,
            ids.join(",")
        );
        drop(ids);
        let Some(mut ws) = established_raw(conn, "120", "presence-big", Some(presence)).await
        else {
            return;
        };
        let joined = json!({
            "event": "pusher_internal:member_added",
            "channel": "presence-big",
            "data": json!({"user_id": "late", "user_info": {"n": 1}}).to_string(),
        });
        let _ = ws.send(Message::text(joined.to_string())).await;
        linger(ws).await;
    })
    .await;
    let mut w = Watch::spawn(
        subscribing(server.port, &["presence-big"]),
        Arc::new(GrantAll),
    );
    let snapshot = w
        .wait_for("the members snapshot", |r| {
            matches!(r, Record::Members { .. })
        })
        .await;
    let Record::Members { count, members, .. } = snapshot else {
        unreachable!()
    };
    assert_eq!(count, MEMBERS);
    assert_eq!(members.len(), chanwatch_core::connection::MAX_MEMBERS);
    w.wait_for(
        "the late join",
        |r| matches!(r, Record::MemberAdded { id, .. } if id == "late"),
    )
    .await;
    eprintln!(
        "million-member snapshot: peak RSS of the test process {:?} KiB",
        vm_hwm_kb()
    );
    assert_eq!(states(&w.seen), [State::Connecting, State::Connected]);
    w.quit().await;
}

fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name).map_or(default, |v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{name} must be a number, got {v:?}"))
    })
}

/// Events whose frame is padded with whitespace after a one-byte `data`, then `pusher:error`
/// frames with huge messages: the dashboard's model keeps what it counts (the log's bytes are
/// its buffers' capacities, which hold no padding), and every message arrives cut to an
/// excerpt, in the record and in the timeline. The defaults keep the run short; the issue's
/// sizes are `CHANWATCH_PAD_MIB=32 CHANWATCH_ERROR_MIB=30` (the RSS is printed).
#[tokio::test]
async fn padded_frames_and_huge_errors_hold_only_what_is_counted() {
    use chanwatch::ui::model::{Limits, Model, timeline::TimelineKind};
    use chanwatch_core::protocol::excerpt::EXCERPT_BYTES;
    let padded = env_count("CHANWATCH_PAD_FRAMES", 250);
    let pad_mib = env_count("CHANWATCH_PAD_MIB", 1);
    let big_errors = env_count("CHANWATCH_BIG_ERRORS", 60);
    let error_mib = env_count("CHANWATCH_ERROR_MIB", 2);
    let server = Server::start(move |conn| async move {
        let Some(mut ws) = subscribed_raw(conn, "pad").await else {
            return;
        };
        let _ = ws.flush().await;
        let tcp = ws.get_mut();
        let mut frame = br#"{"event":"padded","channel":"pad","data":"1""#.to_vec();
        frame.resize(frame.len() + pad_mib * MIB, b' ');
        frame.push(b'}');
        let frame = raw_text_frame(&frame);
        for _ in 0..padded {
            if tcp.write_all(&frame).await.is_err() {
                return;
            }
        }
        drop(frame);
        let message = "é".repeat(error_mib * MIB / 2);
        let error = json!({"event": "pusher:error", "data": {"code": null, "message": message}});
        let error = raw_text_frame(error.to_string().as_bytes());
        drop(message);
        for _ in 0..big_errors {
            if tcp.write_all(&error).await.is_err() {
                return;
            }
        }
        let done = raw_text_frame(br#"{"event":"done","channel":"pad","data":"{}"}"#);
        let _ = tcp.write_all(&done).await;
        linger(ws).await;
    })
    .await;
    let before = crate::support::inproc::rss_kib();
    let ClientHandle {
        commands,
        mut records,
        task,
    } = client::spawn(subscribing(server.port, &["pad"]), Arc::new(GrantAll));
    let now = std::time::Instant::now();
    let mut model = Model::new(
        Limits {
            log_capacity: 10_000,
            log_bytes: 64 << 20,
            measures: true,
        },
        now,
    );
    let mut error_lens = Vec::new();
    let done = tokio::time::timeout(Duration::from_secs(300), async {
        while let Some(stamped) = records.recv().await {
            match &stamped.record {
                Record::Event { event, .. } if event == "done" => return true,
                Record::Error { message, .. } => error_lens.push(message.len()),
                _ => {}
            }
            model.apply(
                stamped.map(chanwatch::session_record::SessionRecord::Client),
                now,
            );
        }
        false
    })
    .await;
    assert_eq!(
        done,
        Ok(true),
        "no `done`; errors so far {}",
        error_lens.len()
    );
    let after = crate::support::inproc::rss_kib();
    eprintln!(
        "padded frames: {padded} x {pad_mib} MiB, errors: {big_errors} x {error_mib} MiB; \
         RSS before {before:?} KiB, after {after:?} KiB, peak {:?} KiB; log {} entries, {} bytes; \
         timeline {} entries, {} bytes",
        vm_hwm_kb(),
        model.log().len(),
        model.log().bytes(),
        model.timeline().len(),
        model.timeline().bytes(),
    );

    // The log: every padded event, each counted at what it holds, and that is little.
    let log = model.log();
    assert_eq!(log.len(), padded, "every padded event");
    let held: usize = (0..log.len())
        .map(|i| log.get(i).unwrap().data.held_bytes())
        .sum();
    assert!(held <= log.bytes(), "{held} held, {} counted", log.bytes());
    assert!(log.bytes() < padded * 8 * 1024, "{}", log.bytes());

    // The errors: each record's message is an excerpt, and so is each timeline entry.
    assert_eq!(error_lens.len(), big_errors);
    assert!(
        error_lens.iter().all(|&n| n <= EXCERPT_BYTES + 64),
        "{error_lens:?}"
    );
    let timeline_errors: Vec<usize> = model
        .timeline()
        .iter()
        .filter_map(|e| match &e.kind {
            TimelineKind::Error { message, .. } => Some(message.len()),
            _ => None,
        })
        .collect();
    assert_eq!(timeline_errors.len(), big_errors);
    assert!(timeline_errors.iter().all(|&n| n <= EXCERPT_BYTES + 64));
    assert!(
        model.timeline().bytes() < 256 * 1024,
        "{}",
        model.timeline().bytes()
    );

    let _ = commands.send(Command::Quit).await;
    let _ = tokio::time::timeout(BOUND, async { while records.recv().await.is_some() {} }).await;
    tokio::time::timeout(BOUND, task)
        .await
        .expect("the client ends after quit")
        .expect("no panic");
}
