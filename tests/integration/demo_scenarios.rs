//! `chanwatch demo --headless` under every fault the demo can inject: the state path, the
//! timings against the configured timeouts, every channel resubscribed afterwards and the
//! presence members rebuilt. The same binary and records as against sockudo
//! (tests/servers.rs); only the server differs.

use crate::support::headless::Headless;
use serde_json::{Value, json};
use std::time::Duration;

/// Short timings so each scenario takes seconds: ping after 2 s of silence, give up 1 s later.
const PONG: Duration = Duration::from_secs(1);

/// Every channel the demo subscribes to at start.
const CHANNELS: &[&str] = chanwatch::demo::traffic::CHANNELS;

fn demo(name: &str) -> Headless {
    let args: Vec<String> = [
        "--activity-timeout",
        "2s",
        "--pong-timeout",
        &format!("{}s", PONG.as_secs()),
        "--unavailable-timeout",
        "3s",
        "--retry-cap",
        "1s",
        "--handshake-timeout",
        "2s",
        "demo",
        "--headless",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    Headless::spawn(name, &args)
}

/// Milliseconds since the epoch of a record's `ts`.
fn ts_ms(record: &Value) -> i64 {
    let ts = record["ts"].as_str().expect("every record has ts");
    let t = humantime::parse_rfc3339(ts).expect("ts is RFC 3339");
    t.duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// Wait for the connection and for every demo channel to be subscribed, with the presence
/// members (and `me`) rebuilt; returns the socket id.
async fn connected_and_subscribed(h: &mut Headless) -> String {
    let state = h.wait_state("connected").await;
    let socket_id = state["socket_id"].as_str().unwrap().to_string();
    let mark = h.seen().len();
    // They arrive in whatever order the authorizations finish: look at everything since.
    let done = |seen: &[Value]| {
        let since = &seen[mark..];
        CHANNELS.iter().all(|c| {
            since
                .iter()
                .any(|r| r["type"] == "subscribed" && r["channel"] == *c)
        }) && since.iter().any(|r| r["type"] == "members")
    };
    while !done(h.seen()) {
        let r = h
            .wait_for("every channel subscribed and the members", |r| {
                ["subscribed", "members", "subscription_error"]
                    .contains(&r["type"].as_str().unwrap_or(""))
            })
            .await;
        assert_ne!(r["type"], "subscription_error", "{r}");
    }
    let members = h.seen()[mark..]
        .iter()
        .find(|r| r["type"] == "members" && r["channel"] == "presence-lobby")
        .cloned()
        .unwrap();
    assert_eq!(members["me"]["id"], "you", "{members}");
    assert!(members["count"].as_u64().unwrap() >= 2, "{members}");
    socket_id
}

async fn fault(h: &mut Headless, f: Value) -> Value {
    let mut command = json!({"cmd": "fault"});
    command
        .as_object_mut()
        .unwrap()
        .extend(f.as_object().unwrap().clone());
    h.send(command).await;
    h.wait_for("the fault record", |r| r["type"] == "fault")
        .await
}

/// How many times `channel` was subscribed in everything seen so far.
fn times_subscribed(h: &Headless, channel: &str) -> usize {
    h.seen()
        .iter()
        .filter(|r| r["type"] == "subscribed" && r["channel"] == channel)
        .count()
}

#[tokio::test]
async fn cut_is_found_by_ping_and_pong_then_restore_recovers() {
    let mut h = demo("cut");
    let first = connected_and_subscribed(&mut h).await;
    let cut = fault(&mut h, json!({"kind": "cut"})).await;
    assert_eq!(cut["fault"], "cut");
    h.wait_for("ping_sent", |r| r["type"] == "ping_sent").await;
    let dropped = h
        .wait_for("pong timeout", |r| {
            r["type"] == "state"
                && r["current"] == "connecting"
                && r["cause"]
                    .as_str()
                    .is_some_and(|c| c.contains("pong timeout"))
        })
        .await;
    // Silence is never noticed before the pong timeout has run, and it is the pong timeout
    // that notices it. (How soon after is the timers' business, tested under virtual time in
    // the machine's tests: no wall-clock upper bound here.)
    let took = ts_ms(&dropped) - ts_ms(&cut);
    assert!(
        took >= PONG.as_millis() as i64,
        "pong timeout after {took} ms"
    );
    h.wait_state("unavailable").await;
    fault(&mut h, json!({"kind": "restore"})).await;
    let again = connected_and_subscribed(&mut h).await;
    assert_ne!(first, again, "a new connection");
    for channel in CHANNELS {
        assert_eq!(
            times_subscribed(&h, channel),
            2,
            "{channel} subscribed exactly once more"
        );
    }
    assert!(h.quit().await.success());
}

#[tokio::test]
async fn drop_resets_the_socket_and_the_client_reconnects() {
    let mut h = demo("drop");
    let first = connected_and_subscribed(&mut h).await;
    fault(&mut h, json!({"kind": "drop"})).await;
    h.wait_state("connecting").await;
    let again = connected_and_subscribed(&mut h).await;
    assert_ne!(first, again);
    assert!(h.quit().await.success());
}

#[tokio::test]
async fn down_refuses_until_restored() {
    let mut h = demo("down");
    connected_and_subscribed(&mut h).await;
    fault(&mut h, json!({"kind": "down"})).await;
    fault(&mut h, json!({"kind": "drop"})).await;
    h.wait_state("connecting").await;
    // Each refused attempt announces the wait before the next one.
    h.wait_for("connecting_in", |r| r["type"] == "connecting_in")
        .await;
    h.wait_state("unavailable").await;
    let waits: Vec<u64> = h
        .seen()
        .iter()
        .filter(|r| r["type"] == "connecting_in")
        .map(|r| r["delay_ms"].as_u64().unwrap())
        .collect();
    // The retry cap is 1 s, which is also the floor: every wait is exactly a second.
    assert!(
        !waits.is_empty() && waits.iter().all(|d| *d == 1000),
        "{waits:?}"
    );
    fault(&mut h, json!({"kind": "restore"})).await;
    connected_and_subscribed(&mut h).await;
    assert!(h.quit().await.success());
}

/// A 4200 right after connecting is a young loss: the first in a row is retried at once,
/// announced with a 0 ms wait that says the next one backs off (a 4200 after a long life
/// reconnects at once, unannounced: tests/scripted_server.rs).
#[tokio::test]
async fn close_4200_of_a_young_connection_retries_at_once_and_says_why() {
    let mut h = demo("close-4200");
    connected_and_subscribed(&mut h).await;
    fault(&mut h, json!({"kind": "close", "code": 4200})).await;
    let error = h.wait_for("error 4200", |r| r["type"] == "error").await;
    assert_eq!(error["code"], 4200);
    h.wait_state("connecting").await;
    let wait = h
        .wait_for("connecting_in", |r| r["type"] == "connecting_in")
        .await;
    let reason = wait["reason"].as_str().unwrap_or_default();
    assert_eq!(wait["delay_ms"], 0, "{wait}");
    assert!(
        reason.contains("4200")
            && reason.contains("reconnecting at once")
            && reason.contains("backs off"),
        "{wait}"
    );
    connected_and_subscribed(&mut h).await;
    assert!(h.quit().await.success());
}

#[tokio::test]
async fn close_4100_backs_off_at_least_a_second() {
    let mut h = demo("close-4100");
    connected_and_subscribed(&mut h).await;
    fault(&mut h, json!({"kind": "close", "code": 4100})).await;
    let wait = h
        .wait_for("connecting_in", |r| r["type"] == "connecting_in")
        .await;
    assert!(wait["delay_ms"].as_u64().unwrap() >= 1000, "{wait}");
    connected_and_subscribed(&mut h).await;
    assert!(h.quit().await.success());
}

#[tokio::test]
async fn close_4001_stays_disconnected_until_asked() {
    let mut h = demo("close-4001");
    connected_and_subscribed(&mut h).await;
    fault(&mut h, json!({"kind": "close", "code": 4001})).await;
    let down = h.wait_state("disconnected").await;
    assert!(down["cause"].as_str().unwrap().contains("4001"), "{down}");
    let later = h.drain_for(Duration::from_secs(3)).await;
    assert!(
        !later.iter().any(|r| r["type"] == "state"),
        "no reconnect on its own: {later:?}"
    );
    h.send(json!({"cmd": "connect"})).await;
    connected_and_subscribed(&mut h).await;
    assert!(h.quit().await.success());
}

#[tokio::test]
async fn delay_and_no_pong_keep_a_busy_connection_up() {
    let mut h = demo("delay");
    connected_and_subscribed(&mut h).await;
    fault(&mut h, json!({"kind": "delay", "ms": 300})).await;
    fault(&mut h, json!({"kind": "no_pong"})).await;
    // Traffic keeps flowing, so silence never lasts long enough for a ping to matter.
    let mark = h.seen().len();
    let later = h.drain_for(Duration::from_secs(3)).await;
    assert!(
        later.iter().any(|r| r["type"] == "event"),
        "events still arrive"
    );
    assert!(
        !h.seen()[mark..].iter().any(|r| r["type"] == "state"),
        "the connection stays up"
    );
    fault(&mut h, json!({"kind": "restore"})).await;
    assert!(h.quit().await.success());
}

/// Headless arguments for a plain (non-demo) client of a demo server on `port`.
fn plain_args(port: u16, key: &str, extra: &[&str]) -> Vec<String> {
    let port = port.to_string();
    let mut args: Vec<&str> = vec![
        "--headless",
        "--no-tls",
        "--host",
        "127.0.0.1",
        "--ws-port",
        &port,
        "--key",
        key,
    ];
    args.extend_from_slice(extra);
    args.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn fault_proxy_in_front_of_any_server() {
    let server = chanwatch::demo::DemoServer::start(chanwatch::demo::DemoConfig::default())
        .await
        .unwrap();
    let args = plain_args(
        server.addr().port(),
        server.key(),
        &["--fault-proxy", "-s", "news"],
    );
    let mut h = Headless::spawn("fault-proxy", &args);
    let first = h.wait_state("connected").await;
    h.wait_channel("subscribed", "news").await;
    fault(&mut h, json!({"kind": "drop"})).await;
    let again = h.wait_state("connected").await;
    assert_ne!(first["socket_id"], again["socket_id"]);
    h.wait_channel("subscribed", "news").await;
    // Server-side faults need the demo server itself, which this session does not own.
    h.send(json!({"cmd": "fault", "kind": "close", "code": 4200}))
        .await;
    let e = h
        .wait_for("command_error", |r| r["type"] == "command_error")
        .await;
    assert_eq!(e["cmd"], "fault");
    assert!(
        e["message"].as_str().unwrap().contains("demo server"),
        "{e}"
    );
    assert!(h.quit().await.success());
}

#[tokio::test]
async fn faults_need_something_to_act_on() {
    // Against a plain server without --fault-proxy there is nothing to cut: a clear error.
    let server = chanwatch::demo::DemoServer::start(chanwatch::demo::DemoConfig::default())
        .await
        .unwrap();
    let args = plain_args(server.addr().port(), server.key(), &[]);
    let mut h = Headless::spawn("no-proxy", &args);
    h.wait_state("connected").await;
    h.send(json!({"cmd": "fault", "kind": "cut"})).await;
    let e = h
        .wait_for("command_error", |r| r["type"] == "command_error")
        .await;
    assert!(
        e["message"].as_str().unwrap().contains("fault proxy"),
        "{e}"
    );
    assert!(h.quit().await.success());
}
