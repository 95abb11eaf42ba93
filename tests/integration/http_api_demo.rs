//! The HTTP API client against the in-process demo server: two independent implementations
//! of the §9 signature (http_api signs, the demo server verifies) must agree.

use chanwatch::demo::{DemoConfig, DemoServer};
use chanwatch_core::http_api::HttpApi;
use futures_util::{SinkExt, Stream, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;

const WAIT: Duration = Duration::from_secs(30);

/// The next text frame, parsed (bounded; panics on close).
async fn next_json<S>(ws: &mut S) -> Value
where
    S: Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let msg = timeout(WAIT, ws.next())
            .await
            .expect("bounded frame")
            .expect("socket open")
            .expect("frame");
        if let Message::Text(t) = msg {
            return serde_json::from_str(t.as_str()).expect("JSON frame");
        }
    }
}

#[tokio::test]
async fn demo_server_accepts_signed_calls_and_refuses_a_wrong_secret() {
    let demo = DemoServer::start(DemoConfig::default()).await.unwrap();
    let api = HttpApi::new(demo.http_url(), demo.app_id(), demo.key(), demo.secret());

    // A subscriber, so the channel is occupied and the trigger has somewhere to go.
    let (mut ws, _) = timeout(WAIT, tokio_tungstenite::connect_async(demo.ws_url()))
        .await
        .expect("bounded connect")
        .expect("connect");
    assert_eq!(
        next_json(&mut ws).await["event"],
        "pusher:connection_established"
    );
    let subscribe = json!({"event":"pusher:subscribe","data":{"auth":"","channel":"api-check"}});
    ws.send(Message::text(subscribe.to_string())).await.unwrap();
    while next_json(&mut ws).await["event"] != "pusher_internal:subscription_succeeded" {}

    let listed = timeout(WAIT, api.channels(None))
        .await
        .unwrap()
        .expect("GET channels");
    assert!(listed["channels"]["api-check"].is_object(), "{listed}");

    timeout(
        WAIT,
        api.trigger(&["api-check".into()], "ping-me", r#"{"a":1}"#, None),
    )
    .await
    .unwrap()
    .expect("trigger");
    let event = loop {
        let v = next_json(&mut ws).await;
        if v["event"] == "ping-me" {
            break v;
        }
    };
    assert_eq!(event["channel"], "api-check");
    assert_eq!(event["data"], r#"{"a":1}"#);

    let wrong = HttpApi::new(demo.http_url(), demo.app_id(), demo.key(), "not-the-secret");
    let err = timeout(WAIT, wrong.channels(None))
        .await
        .unwrap()
        .expect_err("a wrong secret is refused");
    assert_eq!(err.status(), Some(401), "{err}");
}
