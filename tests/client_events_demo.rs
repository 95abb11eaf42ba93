//! Client events between two headless clients through the in-process demo server, which (as
//! the protocol says, and unlike sockudo 5.2.0) adds the sender's `user_id` to client events
//! on presence channels: the `event` record must pass it through.

mod support {
    pub mod headless;
    pub mod isolated;
    pub mod sockudo;
}

use chanwatch::demo::{DemoConfig, DemoServer};
use serde_json::json;
use support::headless::Headless;

#[tokio::test]
async fn presence_client_event_carries_the_senders_user_id() {
    let demo = DemoServer::start(DemoConfig::default()).await.unwrap();
    let port = demo.addr().port().to_string();
    let client = |name: &str| {
        let args: Vec<String> = [
            "--headless",
            "--no-tls",
            "--host",
            "127.0.0.1",
            "--ws-port",
            &port,
            "--key",
            demo.key(),
            "--secret",
            demo.secret(),
            "--user-id",
            name,
            "-s",
            "presence-room",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        Headless::spawn(name, &args)
    };
    let mut a = client("a");
    a.wait_channel("members", "presence-room").await;
    let mut b = client("b");
    b.wait_channel("members", "presence-room").await;
    // a has seen b join, so b is subscribed on the server's side too.
    a.wait_channel("member_added", "presence-room").await;

    a.send(json!({"cmd": "trigger", "channel": "presence-room", "event": "client-hello", "data": {"from": "a"}}))
        .await;
    let event = b
        .wait_for("client-hello", |r| {
            r["type"] == "event" && r["event"] == "client-hello"
        })
        .await;
    assert_eq!(event["channel"], "presence-room", "{event}");
    assert_eq!(event["data"], json!({"from": "a"}), "{event}");
    assert_eq!(event["user_id"], "a", "{event}");
    a.quit().await;
    b.quit().await;
}
