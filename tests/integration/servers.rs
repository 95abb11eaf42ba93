//! The same scenarios against a real sockudo server and against chanwatch's own demo server
//! (`chanwatch::demo`), both on loopback: the HTTP API client, and the headless binary's
//! records for connect, public/private/presence channels, client events, bad auth,
//! unsubscribe, pings and a server restart. Each scenario is one function taking the server;
//! `on_both_servers!` runs it as `<scenario>::sockudo` and `<scenario>::demo`. Where the two
//! servers differ on purpose, the scenario says which expects what. Every test starts its own
//! server; every wait is bounded.
//!
//! Needs sockudo installed for the `::sockudo` tests: `scripts/install-sockudo.sh`.

use crate::support::headless::{Headless, WAIT};
use crate::support::server::{ServerKind, TestServer};
use chanwatch_core::http_api::HttpApi;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// For every scenario named, a module of that name with two tests, `sockudo` and `demo`,
/// each starting its own server and handing it to the scenario function of the same name.
/// `scenario(start)` starts the server with `start(kind)` instead of `TestServer::start`.
macro_rules! on_both_servers {
    ($($scenario:ident $(($start:path))?),* $(,)?) => {$(
        mod $scenario {
            #[allow(unused_imports)]
            use super::*;

            #[cfg_attr(not(feature = "real-servers"), ignore = "needs sockudo: run with --features real-servers")]
            #[tokio::test]
            async fn sockudo() {
                let mut server = on_both_servers!(@start ServerKind::Sockudo $(, $start)?);
                super::$scenario(&mut server).await;
            }

            #[tokio::test]
            async fn demo() {
                let mut server = on_both_servers!(@start ServerKind::Demo $(, $start)?);
                super::$scenario(&mut server).await;
            }
        }
    )*};
    (@start $kind:expr) => { TestServer::start($kind).await };
    (@start $kind:expr, $start:path) => { $start($kind).await };
}

on_both_servers! {
    http_api_trigger_reaches_a_raw_websocket_subscriber,
    http_api_with_a_wrong_secret_is_refused_with_status_and_reason,
    connects_reports_states_and_quits_cleanly,
    public_channel_event_from_http_api_arrives_decoded,
    private_channel_subscribes_with_local_signing,
    presence_members_join_and_leave,
    client_events_travel_between_clients,
    wrong_secret_fails_the_subscription_but_keeps_the_connection,
    unsubscribe_command_and_channel_listing,
    pings_with_a_short_server_activity_timeout_keep_the_connection(with_one_second_activity_timeout),
    headless_http_api_commands_publish_and_list,
    server_restart_reconnects_and_resubscribes_with_fresh_auth,
}

/// Bound an HTTP API call; its own timeout is 30 s, this is only a backstop.
async fn bounded<T>(what: &str, call: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(WAIT * 2, call)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish"))
}

/// A client of the test app that signs private and presence subscriptions itself.
fn signing_client(name: &str, server: &TestServer, extra: &[&str]) -> Headless {
    let mut args = vec!["--secret", server.secret()];
    args.extend_from_slice(extra);
    Headless::spawn(name, &server.client_args(&args))
}

/// The occupied channel names the HTTP API reports.
async fn occupied(api: &HttpApi, prefix: Option<&str>) -> Vec<String> {
    let answer = bounded("GET channels", api.channels(prefix))
        .await
        .expect("GET /channels");
    let mut names: Vec<String> = answer["channels"]
        .as_object()
        .unwrap_or_else(|| panic!("no channels object in {answer}"))
        .keys()
        .cloned()
        .collect();
    names.sort();
    names
}

fn is_state_away_from_connected(r: &Value) -> bool {
    r["type"] == "state" && r["current"] != "connected"
}

/// The next text frame of a raw WebSocket, parsed (bounded; panics on close or bad JSON).
async fn next_json_frame<S>(ws: &mut S) -> Value
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let msg = bounded("ws frame", ws.next())
            .await
            .expect("socket open")
            .expect("frame");
        if let Message::Text(text) = msg {
            return serde_json::from_str(text.as_str()).expect("JSON frame");
        }
    }
}

// ---- The HTTP API client alone, checked with a raw WebSocket subscriber ----

async fn http_api_trigger_reaches_a_raw_websocket_subscriber(server: &TestServer) {
    let url = format!(
        "ws://127.0.0.1:{}/app/{}?protocol=7&client=test&version=0",
        server.port(),
        server.key()
    );
    let (mut ws, _) = bounded("ws connect", tokio_tungstenite::connect_async(url.as_str()))
        .await
        .expect("ws connect");
    let hello = next_json_frame(&mut ws).await;
    assert_eq!(hello["event"], "pusher:connection_established", "{hello}");
    let subscribe = json!({"event":"pusher:subscribe","data":{"auth":"","channel":"raw-chan"}});
    bounded("send", ws.send(Message::text(subscribe.to_string())))
        .await
        .expect("send subscribe");
    while next_json_frame(&mut ws).await["event"] != "pusher_internal:subscription_succeeded" {}

    let api = server.api();
    bounded(
        "trigger",
        api.trigger(&["raw-chan".into()], "greet", r#"{"n":1}"#, None),
    )
    .await
    .expect("trigger accepted");
    let event = loop {
        let frame = next_json_frame(&mut ws).await;
        if frame["event"] == "greet" {
            break frame;
        }
    };
    assert_eq!(event["channel"], "raw-chan");
    assert_eq!(
        event["data"], r#"{"n":1}"#,
        "data travels as the string given"
    );
    assert_eq!(occupied(&api, None).await, vec!["raw-chan".to_string()]);
}

async fn http_api_with_a_wrong_secret_is_refused_with_status_and_reason(server: &TestServer) {
    let api = HttpApi::new(server.http_base(), server.app_id(), server.key(), "not-it");
    let err = bounded("trigger", api.trigger(&["c".into()], "e", "{}", None))
        .await
        .expect_err("a wrong secret must be refused");
    assert_eq!(err.status(), Some(401), "{err}");
    let shown = err.to_string();
    assert!(
        shown.contains(&format!("POST /apps/{}/events", server.app_id())),
        "{shown}"
    );
    assert!(shown.to_lowercase().contains("signature"), "{shown}");
    assert!(!shown.contains("not-it"), "{shown}");
}

// ---- The headless client against the server ----

async fn connects_reports_states_and_quits_cleanly(server: &TestServer) {
    let mut client = Headless::spawn("a", &server.client_args(&[]));
    let connecting = client.wait_state("connecting").await;
    assert_eq!(connecting["previous"], "initialized", "{connecting}");
    let connected = client.wait_state("connected").await;
    assert_eq!(connected["previous"], "connecting", "{connected}");
    let socket_id = connected["socket_id"].as_str().unwrap_or_default();
    let well_formed = socket_id.split_once('.').is_some_and(|(a, b)| {
        [a, b]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()))
    });
    assert!(well_formed, "socket_id like 123.456: {connected}");
    for record in client.seen() {
        assert!(record["ts"].is_string(), "every record has ts: {record}");
    }
    let status = client.quit().await;
    assert!(status.success(), "exit status {status}");
}

async fn public_channel_event_from_http_api_arrives_decoded(server: &TestServer) {
    let mut client = Headless::spawn("a", &server.client_args(&["-s", "news"]));
    client.wait_channel("subscribed", "news").await;

    let api = server.api();
    bounded(
        "trigger json",
        api.trigger(
            &["news".into()],
            "headline",
            r#"{"title":"hi","n":3}"#,
            None,
        ),
    )
    .await
    .expect("trigger");
    let event = client
        .wait_for("headline event", |r| {
            r["type"] == "event" && r["event"] == "headline"
        })
        .await;
    assert_eq!(event["channel"], "news");
    assert_eq!(event["data"], json!({"title": "hi", "n": 3}), "{event}");
    assert!(event.get("user_id").is_none(), "{event}");

    // A payload that is not JSON stays the string it was.
    bounded(
        "trigger text",
        api.trigger(&["news".into()], "plain", "just words", None),
    )
    .await
    .expect("trigger");
    let event = client
        .wait_for("plain event", |r| {
            r["type"] == "event" && r["event"] == "plain"
        })
        .await;
    assert_eq!(event["data"], "just words", "{event}");
    client.quit().await;
}

async fn private_channel_subscribes_with_local_signing(server: &TestServer) {
    let mut client = signing_client("a", server, &["-s", "private-room"]);
    client.wait_channel("subscribed", "private-room").await;

    bounded(
        "trigger",
        server
            .api()
            .trigger(&["private-room".into()], "note", r#"{"k":"v"}"#, None),
    )
    .await
    .expect("trigger");
    let event = client
        .wait_for("note event", |r| {
            r["type"] == "event" && r["event"] == "note"
        })
        .await;
    assert_eq!(event["channel"], "private-room");
    assert_eq!(event["data"], json!({"k": "v"}));
    client.quit().await;
}

async fn presence_members_join_and_leave(server: &TestServer) {
    let api = server.api();
    let mut a = signing_client("a", server, &["--user-id", "a", "-s", "presence-lobby"]);
    let members = a.wait_channel("members", "presence-lobby").await;
    assert_eq!(members["count"], 1, "{members}");
    assert_eq!(members["me"]["id"], "a", "{members}");
    let ids: Vec<&str> = members["members"]
        .as_array()
        .unwrap_or_else(|| panic!("members array: {members}"))
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert_eq!(ids, vec!["a"], "{members}");

    let mut b = signing_client("b", server, &["--user-id", "b", "-s", "presence-lobby"]);
    let members = b.wait_channel("members", "presence-lobby").await;
    assert_eq!(members["count"], 2, "{members}");
    assert_eq!(members["me"]["id"], "b", "{members}");
    let mut ids: Vec<&str> = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    ids.sort();
    assert_eq!(ids, vec!["a", "b"], "{members}");

    let added = a.wait_channel("member_added", "presence-lobby").await;
    assert_eq!(added["id"], "b", "{added}");

    let mut users = bounded("users", api.channel_users("presence-lobby"))
        .await
        .expect("GET users");
    users.sort();
    assert_eq!(users, vec!["a".to_string(), "b".to_string()]);

    let status = b.quit().await;
    assert!(status.success(), "b exit status {status}");
    let removed = a.wait_channel("member_removed", "presence-lobby").await;
    assert_eq!(removed["id"], "b", "{removed}");
    a.quit().await;
}

async fn client_events_travel_between_clients(server: &TestServer) {
    let channels = ["-s", "private-chat", "-s", "presence-chat"];
    let mut a = signing_client("a", server, &[&["--user-id", "a"][..], &channels].concat());
    let mut b = signing_client("b", server, &[&["--user-id", "b"][..], &channels].concat());
    for client in [&mut a, &mut b] {
        // The two subscriptions may complete in either order.
        client
            .seen_or_wait_channel("subscribed", "private-chat")
            .await;
        client
            .seen_or_wait_channel("members", "presence-chat")
            .await;
    }

    a.send(json!({"cmd": "trigger", "channel": "private-chat", "event": "client-hi", "data": {"x": 1}}))
        .await;
    let event = b
        .wait_for("client-hi", |r| {
            r["type"] == "event" && r["event"] == "client-hi"
        })
        .await;
    assert_eq!(event["channel"], "private-chat", "{event}");
    assert_eq!(event["data"], json!({"x": 1}), "{event}");

    a.send(json!({"cmd": "trigger", "channel": "presence-chat", "event": "client-wave", "data": {"y": [1, 2]}}))
        .await;
    let event = b
        .wait_for("client-wave", |r| {
            r["type"] == "event" && r["event"] == "client-wave"
        })
        .await;
    assert_eq!(event["channel"], "presence-chat", "{event}");
    assert_eq!(event["data"], json!({"y": [1, 2]}), "{event}");
    // The protocol has the server add the sender's user_id to client events on presence
    // channels. The demo server does, and the record must pass it through; sockudo 5.2.0 does
    // not (handle_client_event_request sends `user_id: None`), and the client must not invent
    // one.
    match server.kind() {
        ServerKind::Demo => assert_eq!(
            event["user_id"], "a",
            "the demo server adds the sender's user_id: {event}"
        ),
        ServerKind::Sockudo => assert!(
            event.get("user_id").is_none(),
            "sockudo 5.2.0 sends no user_id, so the record has none: {event}"
        ),
    }

    // And back the other way.
    b.send(
        json!({"cmd": "trigger", "channel": "private-chat", "event": "client-back", "data": "ok"}),
    )
    .await;
    let event = a
        .wait_for("client-back", |r| {
            r["type"] == "event" && r["event"] == "client-back"
        })
        .await;
    assert_eq!(event["data"], "ok", "{event}");
    a.quit().await;
    b.quit().await;
}

async fn wrong_secret_fails_the_subscription_but_keeps_the_connection(server: &TestServer) {
    let args = server.client_args(&[
        "--secret",
        "wrong-secret",
        "-s",
        "private-locked",
        "-s",
        "open",
    ]);
    let mut client = Headless::spawn("a", &args);
    let failed = client
        .wait_channel("subscription_error", "private-locked")
        .await;
    // Both servers refuse a bad signature with pusher:error 4009; the record should say so.
    assert!(
        failed["message"]
            .as_str()
            .is_some_and(|m| m.contains("4009")),
        "{failed}"
    );
    assert!(
        !failed["message"].to_string().contains("wrong-secret"),
        "{failed}"
    );
    client.seen_or_wait_channel("subscribed", "open").await;

    // Still connected: an event on the public channel arrives after the failure.
    bounded(
        "trigger",
        server
            .api()
            .trigger(&["open".into()], "after", r#"{"still":"here"}"#, None),
    )
    .await
    .expect("trigger");
    client
        .wait_for("event after the failure", |r| {
            r["type"] == "event" && r["event"] == "after"
        })
        .await;
    let dropped: Vec<&Value> = client
        .seen()
        .iter()
        .filter(|r| r["type"] == "state")
        .skip_while(|r| r["current"] != "connected")
        .filter(|r| is_state_away_from_connected(r))
        .collect();
    assert!(dropped.is_empty(), "connection left connected: {dropped:?}");
    assert!(
        !client
            .seen()
            .iter()
            .any(|r| r["type"] == "subscribed" && r["channel"] == "private-locked"),
        "a refused channel must not be reported subscribed"
    );
    client.quit().await;
}

async fn unsubscribe_command_and_channel_listing(server: &TestServer) {
    let api = server.api();
    let mut client = signing_client(
        "a",
        server,
        &["--user-id", "u1", "-s", "alpha", "-s", "presence-beta"],
    );
    client.seen_or_wait_channel("subscribed", "alpha").await;
    client
        .seen_or_wait_channel("members", "presence-beta")
        .await;

    assert_eq!(
        occupied(&api, None).await,
        vec!["alpha".to_string(), "presence-beta".to_string()]
    );
    assert_eq!(
        occupied(&api, Some("presence-")).await,
        vec!["presence-beta".to_string()]
    );

    client
        .send(json!({"cmd": "unsubscribe", "channel": "alpha"}))
        .await;
    client.wait_channel("unsubscribed", "alpha").await;
    // The server handles the unsubscribe asynchronously; poll its view, bounded.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let now = occupied(&api, None).await;
        if now == vec!["presence-beta".to_string()] {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "alpha still occupied after unsubscribe: {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Subscribing again by command works on the same connection.
    client
        .send(json!({"cmd": "subscribe", "channel": "alpha"}))
        .await;
    client.wait_channel("subscribed", "alpha").await;
    client.quit().await;
}

/// A server that announces (and enforces) an activity timeout of one second.
async fn with_one_second_activity_timeout(kind: ServerKind) -> TestServer {
    TestServer::start_with_activity_timeout(kind, Some(1)).await
}

async fn pings_with_a_short_server_activity_timeout_keep_the_connection(server: &TestServer) {
    // The server announces activity_timeout 1 s in its handshake, so the client pings about
    // every second (and the server pings it back when it is the quiet one).
    let mut client = Headless::spawn("a", &server.client_args(&["-s", "idle"]));
    client.wait_channel("subscribed", "idle").await;
    for round in 0..3 {
        client
            .wait_for(&format!("ping_sent #{round}"), |r| r["type"] == "ping_sent")
            .await;
        let pong = client
            .wait_for(&format!("pong #{round}"), |r| r["type"] == "pong")
            .await;
        assert!(pong["rtt_ms"].is_u64(), "{pong}");
    }
    let dropped: Vec<&Value> = client
        .seen()
        .iter()
        .filter(|r| r["type"] == "state")
        .skip_while(|r| r["current"] != "connected")
        .filter(|r| is_state_away_from_connected(r))
        .collect();
    assert!(
        dropped.is_empty(),
        "connection dropped while pinging: {dropped:?}"
    );
    client.quit().await;
}

async fn headless_http_api_commands_publish_and_list(server: &TestServer) {
    let mut client = signing_client(
        "a",
        server,
        &[
            "--app-id",
            server.app_id(),
            "--user-id",
            "u1",
            "-s",
            "feed",
            "-s",
            "presence-desk",
        ],
    );
    client.seen_or_wait_channel("subscribed", "feed").await;
    client
        .seen_or_wait_channel("members", "presence-desk")
        .await;

    client
        .send(json!({"cmd": "publish", "channel": "feed", "event": "item", "data": {"id": 7}}))
        .await;
    let published = client.wait_channel("published", "feed").await;
    assert_eq!(published["event"], "item", "{published}");
    // The event and the API call's answer race; either may come first.
    let event = client
        .seen_or_wait_for("the published event", |r| {
            r["type"] == "event" && r["event"] == "item"
        })
        .await;
    assert_eq!(event["channel"], "feed", "{event}");
    assert_eq!(event["data"], json!({"id": 7}), "{event}");

    client
        .send(json!({"cmd": "list_channels", "prefix": "presence-"}))
        .await;
    let listed = client
        .wait_for("channels record", |r| r["type"] == "channels")
        .await;
    let names: Vec<&String> = listed["channels"]
        .as_object()
        .unwrap_or_else(|| panic!("channels object: {listed}"))
        .keys()
        .collect();
    assert_eq!(names, vec!["presence-desk"], "{listed}");

    client
        .send(json!({"cmd": "list_users", "channel": "presence-desk"}))
        .await;
    let users = client.wait_channel("users", "presence-desk").await;
    assert_eq!(users["users"], json!(["u1"]), "{users}");
    client.quit().await;
}

async fn server_restart_reconnects_and_resubscribes_with_fresh_auth(server: &mut TestServer) {
    let mut client = signing_client(
        "a",
        server,
        &[
            "--user-id",
            "a",
            "--retry-cap",
            "2s",
            "-s",
            "pub-chan",
            "-s",
            "private-chan",
            "-s",
            "presence-chan",
        ],
    );
    let first = client.wait_state("connected").await;
    for channel in ["pub-chan", "private-chan"] {
        client.seen_or_wait_channel("subscribed", channel).await;
    }
    client
        .seen_or_wait_channel("members", "presence-chan")
        .await;

    server.restart().await;

    let dropped = client
        .wait_for("leaving connected", is_state_away_from_connected)
        .await;
    assert_eq!(dropped["previous"], "connected", "{dropped}");
    let second = client.wait_state("connected").await;
    assert_ne!(
        second["socket_id"], first["socket_id"],
        "a new server gives a new socket id"
    );
    let new_socket = second["socket_id"].as_str().unwrap().to_string();
    // Only records after this reconnect count, in whatever order they come.
    let since = client.mark();
    for channel in ["pub-chan", "private-chan"] {
        client
            .seen_since_or_wait_channel(since, "subscribed", channel)
            .await;
    }
    let members = client
        .seen_since_or_wait_channel(since, "members", "presence-chan")
        .await;
    assert_eq!(members["count"], 1, "{members}");
    // Private and presence were authorized again, for the new socket.
    for channel in ["private-chan", "presence-chan"] {
        let auth = client
            .seen_or_wait_for(&format!("auth for {channel} on {new_socket}"), |r| {
                r["type"] == "auth" && r["channel"] == channel && r["socket_id"] == new_socket
            })
            .await;
        assert_eq!(auth["ok"], true, "{auth}");
    }

    // And the new server delivers to the resubscribed channels.
    bounded(
        "trigger",
        server.api().trigger(
            &["pub-chan".into(), "private-chan".into()],
            "back",
            r#"{"ok":true}"#,
            None,
        ),
    )
    .await
    .expect("trigger");
    for channel in ["pub-chan", "private-chan"] {
        client
            .seen_or_wait_for(&format!("back on {channel}"), |r| {
                r["type"] == "event" && r["event"] == "back" && r["channel"] == channel
            })
            .await;
    }
    client.quit().await;
}
