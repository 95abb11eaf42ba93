//! Issue 5 against a real sockudo: every way to authorize (endpoint over ajax and jsonp, with
//! params and headers; a command; local signing), refusals and a hanging endpoint giving
//! clear subscription errors, encrypted channels decrypted, user sign-in, cache misses and
//! HTTP publishing with and without excluding the sender.
//!
//! Needs sockudo installed: `scripts/install-sockudo.sh`.

use crate::support::headless::{Headless, sockudo_args};
use crate::support::http_stub::{self, Reply, Seen};
use crate::support::sockudo::{self, KEY, SECRET, Sockudo};
use chanwatch_core::auth::channel_auth;
use serde_json::{Value, json};
use std::time::Duration;

const MASTER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn client(name: &str, server: &Sockudo, extra: &[&str]) -> Headless {
    Headless::spawn(name, &sockudo_args(server.port(), extra))
}

/// What an app's backend answers for `req`: a signature, and channel_data for presence.
fn grant(req: &Seen) -> Value {
    let socket = &req.field("socket_id").unwrap_or_default();
    let channel = &req.field("channel_name").unwrap_or_default();
    if channel.starts_with("presence-") {
        let data = json!({"user_id": "u7", "user_info": {"name": "Seven"}}).to_string();
        json!({"auth": channel_auth(KEY, SECRET, socket, channel, Some(&data)), "channel_data": data})
    } else {
        json!({"auth": channel_auth(KEY, SECRET, socket, channel, None)})
    }
}
#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs sockudo: run with --features real-servers"
)]
#[tokio::test]
async fn auth_endpoint_gets_params_and_headers_and_its_grants_work() {
    let server = Sockudo::start();
    let (url, mut requests) = http_stub::serve("/pusher/auth", |req| {
        let ok = req.method == "POST"
            && req.header("x-app-token") == ["t0k"]
            && req.field("team").as_deref() == Some("blue");
        if ok {
            Reply::Answer(200, grant(req).to_string())
        } else {
            Reply::Answer(400, "missing param or header".into())
        }
    })
    .await;
    let mut a = client(
        "ajax",
        &server,
        &[
            "--auth-endpoint",
            &url,
            "--auth-param",
            "team=blue",
            "--auth-header",
            "X-App-Token: t0k",
            "-s",
            "private-room",
            "-s",
            "presence-room",
        ],
    );
    // The two subscriptions complete in either order.
    a.seen_or_wait_channel("subscribed", "private-room").await;
    let members = a.seen_or_wait_channel("members", "presence-room").await;
    assert_eq!(members["me"]["id"], "u7", "{members}");
    // The inspector's record shows the request: the form's protocol fields as sent, the
    // configured param and header by name with their values masked.
    let exchange = a
        .seen()
        .iter()
        .find(|r| r["type"] == "auth" && r["channel"] == "private-room")
        .cloned()
        .expect("an auth record");
    assert_eq!(
        exchange["request"]["form"]["channel_name"], "private-room",
        "{exchange}"
    );
    assert_eq!(exchange["request"]["form"]["team"], "••••", "{exchange}");
    assert_eq!(
        exchange["request"]["headers"]["X-App-Token"], "••••",
        "{exchange}"
    );
    assert_eq!(exchange["ok"], true);
    let mut seen = Vec::new();
    while let Ok(r) = requests.try_recv() {
        seen.push(r);
    }
    assert_eq!(seen.len(), 2);
    assert!(
        seen.iter()
            .all(|r| r.header("content-type") == ["application/x-www-form-urlencoded"])
    );
    assert!(a.quit().await.success());
}
#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs sockudo: run with --features real-servers"
)]
#[tokio::test]
async fn jsonp_transport_wraps_the_grant_in_a_callback() {
    let server = Sockudo::start();
    let (url, _requests) = http_stub::serve("/pusher/auth", |req| {
        if req.method != "GET" {
            return Reply::Answer(405, String::new());
        }
        let callback = req.query_value("callback").unwrap_or_default();
        Reply::Answer(200, format!("{callback}({});", grant(req)))
    })
    .await;
    let mut a = client(
        "jsonp",
        &server,
        &[
            "--auth-endpoint",
            &url,
            "--auth-transport",
            "jsonp",
            "-s",
            "private-room",
        ],
    );
    a.wait_channel("subscribed", "private-room").await;
    assert!(a.quit().await.success());
}
#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs sockudo: run with --features real-servers"
)]
#[tokio::test]
async fn refusals_and_a_hanging_endpoint_are_clear_subscription_errors() {
    let server = Sockudo::start();
    let (url, _requests) = http_stub::serve("/pusher/auth", |req| {
        match req.field("channel_name").unwrap_or_default().as_str() {
            "private-forbidden" => Reply::Answer(403, "you shall not pass".into()),
            "private-broken" => Reply::Answer(500, "boom".into()),
            "private-garbage" => Reply::Answer(200, "<html>not json</html>".into()),
            "presence-no-data" => {
                let auth = channel_auth(
                    KEY,
                    SECRET,
                    &req.field("socket_id").unwrap_or_default(),
                    "presence-no-data",
                    None,
                );
                Reply::Answer(200, json!({"auth": auth}).to_string())
            }
            _ => Reply::Hang,
        }
    })
    .await;
    let mut a = client(
        "refused",
        &server,
        &[
            "--auth-endpoint",
            &url,
            "--auth-timeout",
            "1s",
            "-s",
            "private-forbidden",
            "-s",
            "private-broken",
            "-s",
            "private-garbage",
            "-s",
            "presence-no-data",
            "-s",
            "private-slow",
            "-s",
            "news",
        ],
    );
    let cases: [(&str, Option<u16>, &str); 5] = [
        ("private-forbidden", Some(403), "you shall not pass"),
        ("private-broken", Some(500), "boom"),
        ("private-garbage", Some(200), "JSON"),
        ("presence-no-data", Some(200), "channel_data"),
        ("private-slow", None, "did not answer within 1s"),
    ];
    // The answers come in whatever order the endpoint gives them.
    let error_for = |seen: &[Value], channel: &str| {
        seen.iter()
            .find(|r| r["type"] == "subscription_error" && r["channel"] == channel)
            .cloned()
    };
    while cases
        .iter()
        .any(|(c, _, _)| error_for(a.seen(), c).is_none())
    {
        a.wait_for("subscription errors", |r| r["type"] == "subscription_error")
            .await;
    }
    for (channel, status, text) in cases {
        let e = error_for(a.seen(), channel).unwrap();
        assert_eq!(e["status"].as_u64().map(|s| s as u16), status, "{e}");
        assert!(e["message"].as_str().unwrap().contains(text), "{e}");
    }
    assert!(
        a.seen()
            .iter()
            .any(|r| r["type"] == "subscribed" && r["channel"] == "news")
    );
    assert!(
        !a.seen().iter().any(|r| r["type"] == "state"
            && r["current"] != "connected"
            && r["previous"] == "connected"),
        "auth failures never touch the connection"
    );
    assert!(a.quit().await.success());
}
#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs sockudo: run with --features real-servers"
)]
#[tokio::test]
async fn an_external_command_can_authorize() {
    let server = Sockudo::start();
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("auth.py");
    std::fs::write(
        &script,
        format!(
            r#"import sys, json, hmac, hashlib
req = json.load(sys.stdin)
msg = req["socket_id"] + ":" + req["channel_name"]
sig = hmac.new(b"{SECRET}", msg.encode(), hashlib.sha256).hexdigest()
print(json.dumps({{"auth": "{KEY}:" + sig}}))
"#
        ),
    )
    .unwrap();
    let command = format!("python3 {}", script.display());
    let mut a = client(
        "command",
        &server,
        &["--auth-command", &command, "-s", "private-room"],
    );
    a.wait_channel("subscribed", "private-room").await;
    assert!(a.quit().await.success());
}
#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs sockudo: run with --features real-servers"
)]
#[tokio::test]
async fn encrypted_events_are_decrypted_with_the_derived_key() {
    let server = Sockudo::start();
    let channel = "private-encrypted-vault";
    let mut a = client(
        "encrypted",
        &server,
        &[
            "--secret",
            SECRET,
            "--encryption-master-key",
            MASTER_KEY,
            "-s",
            channel,
        ],
    );
    a.wait_channel("subscribed", channel).await;
    // A server library encrypts with the channel's shared secret; sockudo passes it through.
    let key = chanwatch_core::crypto::shared_secret_for(channel, MASTER_KEY).unwrap();
    let payload =
        chanwatch_core::crypto::encrypt_event(&key, r#"{"balance":42}"#, [9; 24]).unwrap();
    server
        .api()
        .trigger(
            &[channel.to_string()],
            "balance",
            &payload.to_string(),
            None,
        )
        .await
        .unwrap();
    let e = a.wait_channel("event", channel).await;
    assert_eq!(e["data"], json!({"balance": 42}), "{e}");
    assert_eq!(e["decrypted"], true);
    assert!(a.quit().await.success());
}
#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs sockudo: run with --features real-servers"
)]
#[tokio::test]
async fn sign_in_with_local_signing() {
    let server = Sockudo::start();
    let mut a = client(
        "signin",
        &server,
        &[
            "--secret",
            SECRET,
            "--user-data",
            r#"{"id":"u1","name":"One"}"#,
        ],
    );
    let signed = a.wait_for("signed_in", |r| r["type"] == "signed_in").await;
    assert_eq!(signed["user_id"], "u1");
    assert_eq!(signed["user_data"]["name"], "One");
    // And again after a reconnect, for the new socket.
    a.send(json!({"cmd": "disconnect"})).await;
    a.wait_state("disconnected").await;
    a.send(json!({"cmd": "connect"})).await;
    a.wait_state("connected").await;
    a.wait_for("signed_in again", |r| r["type"] == "signed_in")
        .await;
    assert!(a.quit().await.success());
}
#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs sockudo: run with --features real-servers"
)]
#[tokio::test]
async fn cache_channel_without_a_cached_event_says_cache_miss() {
    let server = Sockudo::start();
    let mut a = client("cache", &server, &["-s", "cache-empty"]);
    a.wait_channel("subscribed", "cache-empty").await;
    let e = a
        .wait_for("cache miss", |r| {
            r["type"] == "event" && r["event"] == "pusher:cache_miss"
        })
        .await;
    assert_eq!(e["channel"], "cache-empty");
    assert!(a.quit().await.success());
}
#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs sockudo: run with --features real-servers"
)]
#[tokio::test]
async fn publish_with_and_without_excluding_the_sender() {
    let server = Sockudo::start();
    let api = [
        "--app-id",
        sockudo::APP_ID,
        "--secret",
        SECRET,
        "-s",
        "news",
    ];
    let mut a = client("publisher", &server, &api);
    let mut b = client("reader", &server, &["-s", "news"]);
    a.wait_channel("subscribed", "news").await;
    b.wait_channel("subscribed", "news").await;

    a.send(json!({"cmd":"publish","channel":"news","event":"quiet","data":{"n":1},"exclude_self":true}))
        .await;
    let published = a.wait_for("published", |r| r["type"] == "published").await;
    assert!(published["excluded_socket_id"].is_string(), "{published}");
    b.wait_for("quiet on b", |r| {
        r["type"] == "event" && r["event"] == "quiet"
    })
    .await;
    let later = a.drain_for(Duration::from_secs(2)).await;
    assert!(
        !later.iter().any(|r| r["event"] == "quiet"),
        "the excluded sender must not get it: {later:?}"
    );

    a.send(json!({"cmd":"publish","channel":"news","event":"loud","data":"hi"}))
        .await;
    a.wait_for("loud on a", |r| {
        r["type"] == "event" && r["event"] == "loud"
    })
    .await;
    b.wait_for("loud on b", |r| {
        r["type"] == "event" && r["event"] == "loud"
    })
    .await;
    assert!(a.quit().await.success());
    assert!(b.quit().await.success());
}
