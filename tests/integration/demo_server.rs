//! The demo server driven by a raw WebSocket client, frame by frame.

use chanwatch::demo::{DemoConfig, DemoHandle, DemoServer, sign};
use chanwatch::faults::FaultKind;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Generous: the CI machine is slow. Only ever an upper bound on waiting, never on speed.
const WAIT: Duration = Duration::from_secs(10);

async fn server() -> DemoHandle {
    DemoServer::start(DemoConfig::default()).await.unwrap()
}

struct Client {
    ws: Ws,
    socket_id: String,
}

impl Client {
    async fn connect(url: &str) -> Client {
        let (mut ws, _) = timeout(WAIT, connect_async(url)).await.unwrap().unwrap();
        let hello = next_json(&mut ws).await;
        assert_eq!(hello["event"], "pusher:connection_established");
        let data: Value = serde_json::from_str(hello["data"].as_str().unwrap()).unwrap();
        Client {
            ws,
            socket_id: data["socket_id"].as_str().unwrap().to_string(),
        }
    }

    async fn send(&mut self, v: Value) {
        self.ws.send(Message::text(v.to_string())).await.unwrap();
    }

    /// The next frame named `event`, skipping others (bounded).
    async fn expect(&mut self, event: &str) -> Value {
        timeout(WAIT, async {
            loop {
                let v = next_json(&mut self.ws).await;
                if v["event"] == event {
                    return v;
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no {event} within {WAIT:?}"))
    }

    /// No text frame at all for `d`.
    async fn expect_silence(&mut self, d: Duration) {
        if let Ok(Some(Ok(Message::Text(t)))) = timeout(d, self.ws.next()).await {
            panic!("expected silence, got {t}");
        }
    }

    async fn subscribe(&mut self, channel: &str, auth: &str, channel_data: Option<&str>) {
        let mut data = json!({"channel": channel, "auth": auth});
        if let Some(cd) = channel_data {
            data["channel_data"] = Value::from(cd);
        }
        self.send(json!({"event": "pusher:subscribe", "data": data}))
            .await;
    }

    async fn subscribe_ok(
        &mut self,
        server: &DemoHandle,
        channel: &str,
        user: Option<&str>,
    ) -> Value {
        let grant = if channel.starts_with("private-") || channel.starts_with("presence-") {
            Some(
                server
                    .authorize(&self.socket_id, channel, user, Some(json!({"name": user})))
                    .unwrap(),
            )
        } else {
            None
        };
        let auth = grant.as_ref().map_or("", |g| g.auth.as_str());
        let cd = grant.as_ref().and_then(|g| g.channel_data.as_deref());
        self.subscribe(channel, auth, cd).await;
        let ok = self.expect("pusher_internal:subscription_succeeded").await;
        assert_eq!(ok["channel"], channel);
        ok
    }

    async fn ping_pong(&mut self) {
        self.send(json!({"event": "pusher:ping", "data": {}})).await;
        self.expect("pusher:pong").await;
    }
}

async fn next_json(ws: &mut Ws) -> Value {
    loop {
        let msg = timeout(WAIT, ws.next())
            .await
            .expect("no frame in time")
            .expect("socket ended")
            .expect("socket error");
        if let Message::Text(t) = msg {
            return serde_json::from_str(t.as_str()).unwrap();
        }
    }
}

/// The next close frame's code (bounded).
async fn close_code(ws: &mut Ws) -> Option<u16> {
    timeout(WAIT, async {
        while let Some(msg) = ws.next().await {
            match msg {
                Ok(Message::Close(frame)) => return frame.map(|f| u16::from(f.code)),
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
        None
    })
    .await
    .expect("no close in time")
}

fn inner_data(frame: &Value) -> Value {
    serde_json::from_str(frame["data"].as_str().expect("data is a string")).unwrap()
}

/// POST to the HTTP API, signed with `secret`; returns (status, body).
async fn api_post(server: &DemoHandle, secret: &str, what: &str, body: &Value) -> (u16, String) {
    let body = body.to_string();
    let path = format!("/apps/{}/{what}", server.app_id());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let query = chanwatch_core::http_api::sign_query(
        "POST",
        &path,
        server.key(),
        secret,
        now,
        Some(body.as_bytes()),
        &[],
    );
    let url = format!("{}{path}?{query}", server.http_url());
    let resp = timeout(
        WAIT,
        reqwest::Client::new()
            .post(url)
            .header("content-type", "application/json")
            .body(body)
            .send(),
    )
    .await
    .unwrap()
    .unwrap();
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap())
}

#[tokio::test]
async fn handshake_and_ping_pong() {
    let server = server().await;
    let (mut ws, _) = connect_async(server.ws_url()).await.unwrap();
    let hello = next_json(&mut ws).await;
    assert_eq!(hello["event"], "pusher:connection_established");
    let data = inner_data(&hello);
    let sid = data["socket_id"].as_str().unwrap();
    let (a, b) = sid.split_once('.').unwrap();
    assert!(
        !a.is_empty() && a.bytes().all(|c| c.is_ascii_digit()),
        "{sid}"
    );
    assert!(
        !b.is_empty() && b.bytes().all(|c| c.is_ascii_digit()),
        "{sid}"
    );
    assert_eq!(data["activity_timeout"], 120);
    let mut c = Client {
        ws,
        socket_id: sid.to_string(),
    };
    c.ping_pong().await;
    assert_eq!(server.connection_count(), 1);
}

#[tokio::test]
async fn public_channel_gets_api_events_and_bad_api_signatures_are_refused() {
    let server = server().await;
    let mut c = Client::connect(&server.ws_url()).await;
    c.subscribe_ok(&server, "ticker", None).await;
    let (status, body) = api_post(
        &server,
        server.secret(),
        "events",
        &json!({"name": "price", "channels": ["ticker"], "data": "{\"p\":1}"}),
    )
    .await;
    assert_eq!((status, body.as_str()), (200, "{}"));
    let ev = c.expect("price").await;
    assert_eq!(ev["channel"], "ticker");
    assert_eq!(ev["data"], "{\"p\":1}");

    let (status, body) = api_post(
        &server,
        "wrong-secret",
        "events",
        &json!({"name": "price", "channel": "ticker", "data": "x"}),
    )
    .await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("invalid signature"), "{body}");

    // socket_id exclusion and batch
    let (status, _) = api_post(
        &server,
        server.secret(),
        "batch_events",
        &json!({"batch": [
            {"name": "skipped", "channel": "ticker", "data": "1", "socket_id": c.socket_id},
            {"name": "kept", "channel": "ticker", "data": "2"}
        ]}),
    )
    .await;
    assert_eq!(status, 200);
    let ev = c.expect("kept").await;
    assert_eq!(ev["data"], "2");
}

#[tokio::test]
async fn private_signatures_are_checked_and_a_bad_one_keeps_the_socket() {
    let server = server().await;
    let mut c = Client::connect(&server.ws_url()).await;
    let bad = sign::channel_auth(
        server.key(),
        "not-the-secret",
        &c.socket_id,
        "private-a",
        None,
    );
    c.subscribe("private-a", &bad, None).await;
    let err = c.expect("pusher:error").await;
    assert_eq!(err["data"]["code"], 4009);
    assert!(
        err["data"]["message"]
            .as_str()
            .unwrap()
            .contains("Invalid signature")
    );
    c.ping_pong().await; // still open
    let good = sign::channel_auth(
        server.key(),
        server.secret(),
        &c.socket_id,
        "private-a",
        None,
    );
    c.subscribe("private-a", &good, None).await;
    let ok = c.expect("pusher_internal:subscription_succeeded").await;
    assert_eq!(ok["channel"], "private-a");
    assert_eq!(ok["data"], "{}");
}

#[tokio::test]
async fn presence_members_added_and_removed() {
    let server = server().await;
    let mut a = Client::connect(&server.ws_url()).await;
    let mut b = Client::connect(&server.ws_url()).await;
    let ok = a
        .subscribe_ok(&server, "presence-room", Some("alice"))
        .await;
    let p = &inner_data(&ok)["presence"];
    assert_eq!(p["count"], 1);
    assert_eq!(p["hash"]["alice"], json!({"name": "alice"}));

    let ok = b.subscribe_ok(&server, "presence-room", Some("bob")).await;
    let p = &inner_data(&ok)["presence"];
    assert_eq!(p["count"], 2);
    assert_eq!(p["ids"], json!(["alice", "bob"]));
    let added = a.expect("pusher_internal:member_added").await;
    assert_eq!(
        inner_data(&added),
        json!({"user_id": "bob", "user_info": {"name": "bob"}})
    );

    // a second socket for bob is not announced again, and its leaving removes nobody
    let mut b2 = Client::connect(&server.ws_url()).await;
    b2.subscribe_ok(&server, "presence-room", Some("bob")).await;
    b2.ws.close(None).await.unwrap();
    a.expect_silence(Duration::from_millis(300)).await;

    b.send(json!({"event": "pusher:unsubscribe", "data": {"channel": "presence-room"}}))
        .await;
    let removed = a.expect("pusher_internal:member_removed").await;
    assert_eq!(inner_data(&removed), json!({"user_id": "bob"}));
}

#[tokio::test]
async fn client_events_go_to_the_others_only() {
    let server = server().await;
    let mut a = Client::connect(&server.ws_url()).await;
    let mut b = Client::connect(&server.ws_url()).await;
    for c in [&mut a, &mut b] {
        c.subscribe_ok(&server, "private-chat", None).await;
    }
    a.send(json!({"event": "client-hi", "channel": "private-chat", "data": {"t": 1}}))
        .await;
    let ev = b.expect("client-hi").await;
    assert_eq!(inner_data(&ev), json!({"t": 1}));
    assert!(ev.get("user_id").is_none());
    a.expect_silence(Duration::from_millis(300)).await;

    // presence: user_id attached
    a.subscribe_ok(&server, "presence-p", Some("alice")).await;
    b.subscribe_ok(&server, "presence-p", Some("bob")).await;
    a.send(json!({"event": "client-wave", "channel": "presence-p", "data": "{}"}))
        .await;
    let ev = b.expect("client-wave").await;
    assert_eq!(ev["user_id"], "alice");

    // public channels refuse client events
    a.subscribe_ok(&server, "news", None).await;
    a.send(json!({"event": "client-x", "channel": "news", "data": {}}))
        .await;
    let err = a.expect("pusher:error").await;
    assert_eq!(err["data"]["code"], 4301);
}

#[tokio::test]
async fn encrypted_events_decrypt_with_the_derived_key() {
    let server = server().await;
    let mut c = Client::connect(&server.ws_url()).await;
    let grant = server
        .authorize(&c.socket_id, "private-encrypted-vault", None, None)
        .unwrap();
    c.subscribe("private-encrypted-vault", &grant.auth, None)
        .await;
    c.expect("pusher_internal:subscription_succeeded").await;
    server
        .publish("private-encrypted-vault", "balance", "{\"balance\":42}")
        .unwrap();
    let ev = c.expect("balance").await;
    let payload = inner_data(&ev);
    assert!(payload["nonce"].is_string() && payload["ciphertext"].is_string());
    let key = grant.shared_secret.unwrap();
    let plain = chanwatch_core::crypto::decrypt_event(&key, &ev["data"]).unwrap();
    assert_eq!(plain, serde_json::json!({"balance": 42}));
    // and the same key comes from SHA-256(name || master key)
    assert_eq!(
        key,
        sign::channel_shared_secret("private-encrypted-vault", &server.app().master_key)
    );
}

#[tokio::test]
async fn cache_miss_then_cache_hit() {
    let server = server().await;
    let mut a = Client::connect(&server.ws_url()).await;
    a.subscribe_ok(&server, "cache-status", None).await;
    let miss = a.expect("pusher:cache_miss").await;
    assert_eq!(miss["channel"], "cache-status");
    let (status, _) = api_post(
        &server,
        server.secret(),
        "events",
        &json!({"name": "status", "channel": "cache-status", "data": "{\"ok\":true}"}),
    )
    .await;
    assert_eq!(status, 200);
    a.expect("status").await;
    let mut b = Client::connect(&server.ws_url()).await;
    b.subscribe_ok(&server, "cache-status", None).await;
    let hit = b.expect("status").await;
    assert_eq!(hit["data"], "{\"ok\":true}");
}

#[tokio::test]
async fn close_all_uses_the_code() {
    let server = server().await;
    let mut a = Client::connect(&server.ws_url()).await;
    let mut b = Client::connect(&server.ws_url()).await;
    assert_eq!(server.close_all(4200, "reconnect please"), 2);
    assert_eq!(close_code(&mut a.ws).await, Some(4200));
    assert_eq!(close_code(&mut b.ws).await, Some(4200));

    let mut c = Client::connect(&server.ws_url()).await;
    server
        .apply_fault(&FaultKind::Close { code: 4100 })
        .unwrap();
    assert_eq!(close_code(&mut c.ws).await, Some(4100));
    assert!(server.apply_fault(&FaultKind::Cut).is_err());
}

#[tokio::test]
async fn answering_pings_can_be_switched_off() {
    let server = server().await;
    let mut c = Client::connect(&server.ws_url()).await;
    server.apply_fault(&FaultKind::NoPong).unwrap();
    assert!(!server.answers_pings());
    c.send(json!({"event": "pusher:ping", "data": {}})).await;
    c.expect_silence(Duration::from_millis(500)).await;
    server.apply_fault(&FaultKind::Restore).unwrap();
    c.ping_pong().await;
}

#[tokio::test]
async fn wrong_key_is_refused_with_4001() {
    let server = server().await;
    let url = server.ws_url().replace("/app/demo-key", "/app/nope");
    let (mut ws, _) = connect_async(url).await.unwrap();
    let err = next_json(&mut ws).await;
    assert_eq!(err["event"], "pusher:error");
    assert_eq!(err["data"]["code"], 4001);
    assert_eq!(close_code(&mut ws).await, Some(4001));
}

#[tokio::test]
async fn server_pings_idle_sockets_and_closes_4201_without_a_pong() {
    let server = DemoServer::start(DemoConfig {
        activity_timeout: Duration::from_secs(1),
        pong_timeout: Duration::from_secs(1),
        ..DemoConfig::default()
    })
    .await
    .unwrap();
    let mut c = Client::connect(&server.ws_url()).await;
    c.expect("pusher:ping").await;
    assert_eq!(close_code(&mut c.ws).await, Some(4201));

    // answering keeps the socket
    let mut d = Client::connect(&server.ws_url()).await;
    d.expect("pusher:ping").await;
    d.send(json!({"event": "pusher:pong", "data": {}})).await;
    d.expect("pusher:ping").await;
    d.ping_pong().await;
}

#[tokio::test]
async fn auth_endpoint_answers_like_an_app_backend() {
    let server = server().await;
    let c = Client::connect(&server.ws_url()).await;
    let post = |form: String| {
        let url = server.auth_endpoint();
        async move {
            let r = reqwest::Client::new()
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (status, body) = timeout(
        WAIT,
        post(format!(
            "socket_id={}&channel_name=presence-lobby&user_id=me",
            c.socket_id
        )),
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let cd = v["channel_data"].as_str().unwrap();
    assert_eq!(serde_json::from_str::<Value>(cd).unwrap()["user_id"], "me");
    assert!(sign::verify_channel_auth(
        server.key(),
        server.secret(),
        &c.socket_id,
        "presence-lobby",
        Some(cd),
        v["auth"].as_str().unwrap()
    ));
    let (status, body) = timeout(
        WAIT,
        post(format!(
            "socket_id={}&channel_name=private-encrypted-x",
            c.socket_id
        )),
    )
    .await
    .unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("shared_secret"));
    let (status, _) = timeout(WAIT, post("socket_id=1.1".into())).await.unwrap();
    assert_eq!(status, 400);
}

#[tokio::test]
async fn traffic_reaches_every_kind_of_channel() {
    let server = server().await;
    let _traffic = server.start_traffic();
    let mut c = Client::connect(&server.ws_url()).await;
    c.subscribe_ok(&server, "ticker", None).await;
    let ok = c
        .subscribe_ok(&server, "presence-lobby", Some("watcher"))
        .await;
    let count = inner_data(&ok)["presence"]["count"].as_u64().unwrap();
    assert!(count >= 3, "simulated members plus me: {count}");
    c.subscribe_ok(&server, "cache-status", None).await;
    c.expect("status").await; // cached at start: a hit, not a miss
    c.expect("price").await;
}

#[tokio::test]
async fn garbage_frames_get_errors_and_the_socket_stays() {
    let server = server().await;
    let mut c = Client::connect(&server.ws_url()).await;
    c.ws.send(Message::text("not json")).await.unwrap();
    c.expect("pusher:error").await;
    c.ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    c.expect("pusher:error").await;
    c.send(json!({"event": "pusher:subscribe", "data": {"channel": "#nope"}}))
        .await;
    c.expect("pusher:error").await;
    c.ping_pong().await;
}

#[tokio::test]
async fn stop_closes_sockets_with_1001_and_refuses_new_ones() {
    let server = server().await;
    let mut c = Client::connect(&server.ws_url()).await;
    let url = server.ws_url();
    server.stop();
    assert_eq!(close_code(&mut c.ws).await, Some(1001));
    let again = timeout(WAIT, connect_async(url)).await.unwrap();
    assert!(again.is_err(), "listener should be gone");
}

/// GET on the HTTP API, signed; returns (status, JSON body).
async fn api_get(server: &DemoHandle, what: &str, extra: &str) -> (u16, Value) {
    let path = format!("/apps/{}/{what}", server.app_id());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // extra parameters are signed too: sign them as part of the query
    let mut params: Vec<(String, String)> = vec![
        ("auth_key".into(), server.key().into()),
        ("auth_timestamp".into(), now.to_string()),
        ("auth_version".into(), "1.0".into()),
    ];
    for kv in extra.split('&').filter(|s| !s.is_empty()) {
        let (k, v) = kv.split_once('=').unwrap();
        params.push((k.into(), v.into()));
    }
    let sig = sign::hmac_hex(
        server.secret(),
        &chanwatch_core::http_api::string_to_sign("GET", &path, &params),
    );
    let query: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let url = format!(
        "{}{path}?{}&auth_signature={sig}",
        server.http_url(),
        query.join("&")
    );
    let resp = timeout(WAIT, reqwest::Client::new().get(url).send())
        .await
        .unwrap()
        .unwrap();
    let status = resp.status().as_u16();
    (
        status,
        serde_json::from_str(&resp.text().await.unwrap()).unwrap(),
    )
}

#[tokio::test]
async fn channel_queries() {
    let server = server().await;
    let mut a = Client::connect(&server.ws_url()).await;
    a.subscribe_ok(&server, "presence-q", Some("alice")).await;
    a.subscribe_ok(&server, "news", None).await;
    let (status, v) = api_get(&server, "channels", "").await;
    assert_eq!(status, 200);
    assert_eq!(v, json!({"channels": {"news": {}, "presence-q": {}}}));
    let (_, v) = api_get(
        &server,
        "channels",
        "filter_by_prefix=presence-&info=user_count",
    )
    .await;
    assert_eq!(v, json!({"channels": {"presence-q": {"user_count": 1}}}));
    let (status, _) = api_get(&server, "channels", "info=user_count").await;
    assert_eq!(status, 400);
    let (_, v) = api_get(&server, "channels/presence-q/users", "").await;
    assert_eq!(v, json!({"users": [{"id": "alice"}]}));
    let (_, v) = api_get(&server, "channels/news", "info=subscription_count").await;
    assert_eq!(v, json!({"occupied": true, "subscription_count": 1}));
    let (_, v) = api_get(&server, "channels/empty", "").await;
    assert_eq!(v, json!({"occupied": false}));
    let (status, _) = api_get(&server, "channels/news/users", "").await;
    assert_eq!(status, 400);
}
