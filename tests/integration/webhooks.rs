//! The webhook receiver (`--webhook-listen`): a forged signature and a wrong key are
//! refused with 401 and shown, forwarding passes body and headers through unchanged; and,
//! against a real sockudo configured to send every webhook here, each webhook our own
//! connection causes is checked `met` (occupied and vacated around our subscribe and
//! unsubscribe, member added and removed around a peer, client events).

use crate::support::headless::{Headless, sockudo_args};
use crate::support::http_stub::{self, Reply};
use crate::support::sockudo::{self, KEY, SECRET, Sockudo, free_port};
use serde_json::{Value, json};
use std::time::Duration;

fn sign(secret: &str, body: &[u8]) -> String {
    chanwatch::webhook::verify::sign(secret, body)
}

async fn post(url: &str, headers: &[(&str, &str)], body: &str) -> u16 {
    let client = reqwest::Client::new();
    let mut request = client.post(url).body(body.to_string());
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let send = tokio::time::timeout(Duration::from_secs(30), request.send());
    send.await
        .expect("the receiver answers")
        .expect("the request goes through")
        .status()
        .as_u16()
}

fn webhook_with(verdict: &'static str) -> impl Fn(&Value) -> bool {
    move |r| r["type"] == "webhook" && r["verdict"] == verdict
}

#[tokio::test]
async fn forged_and_wrong_key_webhooks_are_refused_and_shown_and_forwarding_is_byte_for_byte() {
    let (backend, mut seen) =
        http_stub::serve("/backend/hooks", |_| Reply::Answer(202, "taken".into())).await;
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    // No server at the socket's port: the receiver stands on its own.
    let args = sockudo_args(
        free_port(),
        &[
            "--secret",
            SECRET,
            "--webhook-listen",
            &listen,
            "--webhook-forward",
            &backend,
        ],
    );
    let mut a = Headless::spawn("a", &args);
    let listening = a
        .wait_for("webhook_listening", |r| r["type"] == "webhook_listening")
        .await;
    let url = format!("http://{listen}/webhooks");
    assert_eq!(listening["url"], url);
    assert_eq!(listening["forward"], backend);

    let body =
        r#"{"time_ms":1700000000000,"events":[{"name":"channel_occupied","channel":"news"}]}"#;
    let good = sign(SECRET, body.as_bytes());
    let forged = sign("not-the-secret", body.as_bytes());
    let cases = [
        (
            vec![
                ("X-Pusher-Key", KEY),
                ("X-Pusher-Signature", forged.as_str()),
            ],
            401,
            "bad_signature",
        ),
        (
            vec![
                ("X-Pusher-Key", "other-key"),
                ("X-Pusher-Signature", good.as_str()),
            ],
            401,
            "wrong_key",
        ),
        (
            vec![("X-Pusher-Signature", good.as_str())],
            401,
            "missing_key",
        ),
        (vec![("X-Pusher-Key", KEY)], 401, "missing_signature"),
    ];
    for (headers, status, verdict) in cases {
        assert_eq!(post(&url, &headers, body).await, status, "{verdict}");
        let record = a.wait_for(verdict, webhook_with(verdict)).await;
        assert_eq!(record["status"], status);
        assert_eq!(record["batch"], 0, "an unsigned body is not read");
    }
    // A good one, with a header of the sender's own and spacing no serialiser would make.
    let odd = r#"{ "time_ms" : 1700000000000 , "events" : [ {"name":"channel_vacated","channel":"news"} ] }"#;
    let sig = sign(SECRET, odd.as_bytes());
    let headers = [
        ("X-Pusher-Key", KEY),
        ("X-Pusher-Signature", sig.as_str()),
        ("Content-Type", "application/json"),
        ("X-Sender-Note", "kept"),
        ("Connection", "keep-alive"),
    ];
    assert_eq!(post(&url, &headers, odd).await, 200);
    let record = a.wait_for("ok webhook", webhook_with("ok")).await;
    assert_eq!(record["events"][0]["name"], "channel_vacated");
    assert_eq!(record["time_ms"], 1_700_000_000_000u64);
    assert!(record["delay_ms"].as_i64().unwrap() > 0);
    let seq = record["seq"].clone();
    let forward = a
        .wait_for("its forward", |r| {
            r["type"] == "webhook_forward" && r["seq"] == seq
        })
        .await;
    assert_eq!(forward["status"], 202);

    // Every request reached the backend, refused ones too (it is the judge); the good one
    // with its bytes and headers as sent, and no hop-by-hop header.
    let mut requests = Vec::new();
    while requests.len() < 5 {
        let next = tokio::time::timeout(Duration::from_secs(30), seen.recv()).await;
        requests.push(next.expect("forwarded in time").expect("stub runs"));
    }
    let passed = requests
        .iter()
        .find(|r| r.body == odd.as_bytes())
        .expect("the good request was forwarded with its body unchanged");
    assert_eq!(passed.method, "POST");
    assert_eq!(passed.header("x-pusher-signature"), [sig.as_str()]);
    assert_eq!(passed.header("x-pusher-key"), [KEY]);
    assert_eq!(passed.header("x-sender-note"), ["kept"]);
    assert_eq!(passed.header("content-type"), ["application/json"]);
    assert!(
        passed
            .header("connection")
            .iter()
            .all(|v| !v.contains("keep-alive"))
    );
    assert!(
        requests
            .iter()
            .any(|r| r.header("x-pusher-signature") == [forged.as_str()])
    );
    a.quit().await;
}

#[tokio::test]
async fn a_receiver_without_the_secret_is_refused_with_a_reason() {
    let args = sockudo_args(free_port(), &["--webhook-listen", "127.0.0.1:0"]);
    let output = crate::support::isolated::chanwatch()
        .args(&args)
        .env_remove("PUSHER_APP_SECRET")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--webhook-listen needs the app secret"),
        "{stderr}"
    );
}

/// sockudo's config: the tests' app, whose every webhook goes to `url`.
fn sockudo_config(url: &str) -> String {
    format!(
        r#"
[queue]
driver = "memory"

[app_manager]
driver = "memory"

[app_manager.array]
[[app_manager.array.apps]]
id = "{app}"
key = "{KEY}"
secret = "{SECRET}"
enabled = true
enable_client_messages = true
enable_user_authentication = true

[[app_manager.array.apps.webhooks]]
url = "{url}"
event_types = ["channel_occupied", "channel_vacated", "member_added", "member_removed", "client_event"]
"#,
        app = sockudo::APP_ID
    )
}

fn check(expect: &'static str, channel: &'static str) -> impl Fn(&Value) -> bool {
    move |r| r["type"] == "webhook_check" && r["expect"] == expect && r["channel"] == channel
}

#[tokio::test]
#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs sockudo: run with --features real-servers"
)]
async fn sockudo_sends_each_webhook_our_connection_causes() {
    let listen = format!("127.0.0.1:{}", free_port());
    let url = format!("http://{listen}/webhooks");
    let server = Sockudo::start_with_config(&sockudo_config(&url), &[("QUEUE_DRIVER", "memory")]);
    let mut a = Headless::spawn(
        "a",
        &sockudo_args(
            server.port(),
            &[
                "--secret",
                SECRET,
                "--user-id",
                "me",
                "--webhook-listen",
                &listen,
            ],
        ),
    );
    a.wait_state("connected").await;
    let mut delays = Vec::new();
    let met = |r: Value, delays: &mut Vec<String>| {
        assert_eq!(r["outcome"], "met", "{r}");
        delays.push(format!(
            "{} {}: {} ms",
            r["expect"], r["channel"], r["delay_ms"]
        ));
    };

    a.send(json!({"cmd": "subscribe", "channel": "news"})).await;
    met(
        a.wait_for("occupied news", check("channel_occupied", "news"))
            .await,
        &mut delays,
    );
    a.send(json!({"cmd": "subscribe", "channel": "presence-room"}))
        .await;
    let r = a
        .wait_for("member_added me", check("member_added", "presence-room"))
        .await;
    assert_eq!(r["user_id"], "me");
    met(r, &mut delays);

    // A peer joins and leaves: its webhooks arrive signed, and contradict nothing.
    let mut b = Headless::spawn(
        "b",
        &sockudo_args(
            server.port(),
            &[
                "--secret",
                SECRET,
                "--user-id",
                "bob",
                "-s",
                "presence-room",
            ],
        ),
    );
    b.wait_channel("subscribed", "presence-room").await;
    a.wait_for("bob's member_added webhook", |r| {
        r["type"] == "webhook"
            && r["events"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["name"] == "member_added" && e["user_id"] == "bob")
    })
    .await;
    b.quit().await;
    let removed = a
        .wait_for("bob's member_removed webhook", |r| {
            r["type"] == "webhook"
                && r["events"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|e| e["name"] == "member_removed" && e["user_id"] == "bob")
        })
        .await;
    assert_eq!(removed["verdict"], "ok");

    a.send(json!({"cmd": "subscribe", "channel": "private-chat"}))
        .await;
    met(
        a.wait_for(
            "occupied private-chat",
            check("channel_occupied", "private-chat"),
        )
        .await,
        &mut delays,
    );
    a.send(json!({"cmd": "trigger", "channel": "private-chat", "event": "client-typing", "data": {"x": 1}})).await;
    met(
        a.wait_for("client_event", check("client_event", "private-chat"))
            .await,
        &mut delays,
    );

    a.send(json!({"cmd": "unsubscribe", "channel": "news"}))
        .await;
    met(
        a.wait_for("vacated news", check("channel_vacated", "news"))
            .await,
        &mut delays,
    );
    a.send(json!({"cmd": "unsubscribe", "channel": "presence-room"}))
        .await;
    met(
        a.wait_for(
            "member_removed me",
            check("member_removed", "presence-room"),
        )
        .await,
        &mut delays,
    );

    assert!(
        !a.seen()
            .iter()
            .any(|r| r["type"] == "webhook_check" && r["outcome"] != "met"),
        "nothing missed or contradicted: {:?}",
        a.seen()
            .iter()
            .filter(|r| r["type"] == "webhook_check")
            .collect::<Vec<_>>()
    );
    assert!(
        a.seen()
            .iter()
            .filter(|r| r["type"] == "webhook")
            .all(|r| r["verdict"] == "ok")
    );
    eprintln!(
        "sockudo webhook delays (our action to arrival):\n{}",
        delays.join("\n")
    );
    a.quit().await;
    drop(server);
}

#[tokio::test]
async fn the_demo_sends_signed_webhooks_a_forged_one_and_a_contradiction() {
    let (backend, mut seen) = http_stub::serve("/b", |_| Reply::Answer(200, "ok".into())).await;
    let mut demo = Headless::spawn(
        "demo",
        &[
            "--headless",
            "demo",
            "--no-probe",
            "--webhook-forward",
            &backend,
        ]
        .map(String::from),
    );
    demo.seen_or_wait_for("webhook_listening", |r| r["type"] == "webhook_listening")
        .await;
    let met = demo
        .seen_or_wait_for("an occupied check met", |r| {
            r["type"] == "webhook_check"
                && r["expect"] == "channel_occupied"
                && r["outcome"] == "met"
        })
        .await;
    assert!(met["delay_ms"].as_u64().is_some());
    let forged = demo
        .seen_or_wait_for("the forged request", webhook_with("bad_signature"))
        .await;
    assert_eq!(forged["status"], 401);
    let contradicted = demo
        .seen_or_wait_for("the contradiction", |r| {
            r["type"] == "webhook_check" && r["outcome"] == "contradicted"
        })
        .await;
    assert_eq!(contradicted["expect"], "channel_vacated");
    assert_eq!(
        contradicted["channel"],
        chanwatch::demo::webhooks::FALSE_VACATED_CHANNEL
    );
    assert!(
        contradicted["detail"]
            .as_str()
            .unwrap()
            .contains("still subscribed")
    );
    demo.seen_or_wait_for("a forward", |r| {
        r["type"] == "webhook_forward" && r["status"] == 200
    })
    .await;
    let first = tokio::time::timeout(Duration::from_secs(30), seen.recv()).await;
    let first = first.expect("forwarded in time").expect("stub runs");
    let signature = first.header("x-pusher-signature")[0].to_string();
    // The backend can check the demo's signatures with the demo secret, as it would a server's.
    let demo_secret = chanwatch::demo::DemoConfig::default().secret;
    let valid = sign(&demo_secret, &first.body) == signature;
    let forged = sign("not-the-demo-secret", &first.body) == signature;
    assert!(valid || forged, "the forward keeps the signature as sent");
    demo.quit().await;
}
