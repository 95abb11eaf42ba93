//! Shared by the integration tests: a scripted Pusher-protocol WebSocket server on 127.0.0.1,
//! a watcher that collects a client's records with bounded waits, and test authorizers.
//!
//! A kit for every area's tests, not all of it in use at any one time, hence the `dead_code`
//! allowance.
#![allow(dead_code)]

pub mod cluster;
pub mod headless;
pub mod http_stub;
pub mod inproc;
pub mod isolated;
pub mod prometheus;
pub mod server;
pub mod sockudo;
pub mod tls_server;
#[allow(dead_code)] // not every method is used
pub mod tmux;

use chanwatch_core::client::{self, AuthProvider, ClientConfig, ClientHandle};
use chanwatch_core::connection::{
    AuthFailure, AuthFailureKind, AuthGrant, AuthRequest, Command, Endpoint, MachineConfig,
};
use chanwatch_core::record::{Record, State};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

/// The longest any single wait in a test may take. Generous: the CI machine is slow and
/// shared; only a hang or a real bug reaches it.
pub const BOUND: Duration = Duration::from_secs(30);

pub const KEY: &str = "test-key";

// ------------------------------------------------------------------------------------------
// Server

type Script = Arc<dyn Fn(Conn) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// Everything the server saw, in order, across connections.
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<(usize, Value)>>>);

impl Log {
    fn push(&self, conn: usize, v: Value) {
        self.0.lock().unwrap().push((conn, v));
    }

    /// For tests that run their own socket instead of a [`Peer`].
    pub fn push_for_test(&self, conn: usize, v: Value) {
        self.push(conn, v);
    }

    pub fn all(&self) -> Vec<(usize, Value)> {
        self.0.lock().unwrap().clone()
    }

    /// Frames with this `event`, as `(connection index, frame)`.
    pub fn events(&self, event: &str) -> Vec<(usize, Value)> {
        self.all()
            .into_iter()
            .filter(|(_, v)| v["event"] == event)
            .collect()
    }

    /// Wait until some entry matches.
    pub async fn wait_for(&self, what: &str, pred: impl Fn(&Value) -> bool) -> (usize, Value) {
        let found = tokio::time::timeout(BOUND, async {
            loop {
                if let Some(hit) = self.all().into_iter().find(|(_, v)| pred(v)) {
                    return hit;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        found.unwrap_or_else(|_| panic!("server never saw {what}; it saw {:#?}", self.all()))
    }
}

/// One accepted TCP connection, handed to the script.
pub struct Conn {
    /// 0 for the first connection the server accepted, then 1, 2 ...
    pub index: usize,
    pub tcp: TcpStream,
    pub log: Log,
}

/// A WebSocket server on 127.0.0.1 that runs `script` for every connection.
pub struct Server {
    pub port: u16,
    script: Script,
    accepted: Arc<AtomicUsize>,
    pub log: Log,
    accept_loop: Option<JoinHandle<()>>,
}

impl Server {
    pub async fn start<F, Fut>(script: F) -> Server
    where
        F: Fn(Conn) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let script: Script = Arc::new(move |c| Box::pin(script(c)));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut server = Server {
            port,
            script,
            accepted: Arc::new(AtomicUsize::new(0)),
            log: Log::default(),
            accept_loop: None,
        };
        server.run(listener);
        server
    }

    /// A port with nothing listening (yet): connections to it are refused until `restart`.
    pub async fn down<F, Fut>(script: F) -> Server
    where
        F: Fn(Conn) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let mut s = Server::start(script).await;
        s.stop();
        s
    }

    fn run(&mut self, listener: TcpListener) {
        let script = self.script.clone();
        let accepted = self.accepted.clone();
        let log = self.log.clone();
        self.accept_loop = Some(tokio::spawn(async move {
            // Connection tasks live in the set, so stopping the server drops them all.
            let mut conns = JoinSet::new();
            loop {
                tokio::select! {
                    accept = listener.accept() => {
                        let Ok((tcp, _)) = accept else { return };
                        let index = accepted.fetch_add(1, Ordering::SeqCst);
                        conns.spawn(script(Conn { index, tcp, log: log.clone() }));
                    }
                    Some(_) = conns.join_next() => {}
                }
            }
        }));
    }

    /// How many TCP connections were accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Stop listening and drop every connection without a close frame (a crash).
    pub fn stop(&mut self) {
        if let Some(h) = self.accept_loop.take() {
            h.abort();
        }
    }

    /// Listen again on the same port.
    pub async fn restart(&mut self) {
        self.stop();
        let addr = format!("127.0.0.1:{}", self.port).parse().unwrap();
        // The aborted listener may take a moment to be dropped; retry briefly.
        let listener = tokio::time::timeout(BOUND, async {
            loop {
                let socket = TcpSocket::new_v4().unwrap();
                socket.set_reuseaddr(true).unwrap();
                if socket.bind(addr).is_ok()
                    && let Ok(l) = socket.listen(128)
                {
                    return l;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("could not listen on the port again");
        self.run(listener);
    }

    /// Wait until `n` connections have been accepted.
    pub async fn wait_accepted(&self, n: usize) {
        let ok = tokio::time::timeout(BOUND, async {
            while self.accepted() < n {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        assert!(
            ok.is_ok(),
            "only {} connections accepted, wanted {n}",
            self.accepted()
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The server side of one client WebSocket.
pub struct Peer {
    pub index: usize,
    ws: WebSocketStream<TcpStream>,
    log: Log,
    pub socket_id: String,
}

/// How [`Peer::serve`] behaves.
#[derive(Clone, Copy)]
pub struct Serve {
    /// Answer `pusher:ping` with `pusher:pong`.
    pub answer_pings: bool,
    /// Check that private/presence subscribes carry the [`GrantAll`] signature.
    pub check_auth: bool,
}

impl Default for Serve {
    fn default() -> Self {
        Serve {
            answer_pings: true,
            check_auth: true,
        }
    }
}

impl Peer {
    /// Complete the WebSocket upgrade (with room for large test frames).
    pub async fn accept(conn: Conn) -> Peer {
        let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
            .max_message_size(Some(64 << 20))
            .max_frame_size(Some(64 << 20));
        let ws = tokio_tungstenite::accept_async_with_config(conn.tcp, Some(config))
            .await
            .expect("WebSocket upgrade");
        Peer {
            socket_id: format!("{}.{}", 1000 + conn.index, 42),
            index: conn.index,
            ws,
            log: conn.log,
        }
    }

    /// Upgrade and send `pusher:connection_established`.
    pub async fn established(conn: Conn, activity_timeout: Option<u64>) -> Peer {
        let mut p = Peer::accept(conn).await;
        let mut data = json!({ "socket_id": p.socket_id });
        if let Some(t) = activity_timeout {
            data["activity_timeout"] = json!(t);
        }
        p.send_event("pusher:connection_established", None, &data)
            .await;
        p
    }

    /// Send an event the way servers do: `data` double-encoded as a string.
    pub async fn send_event(&mut self, event: &str, channel: Option<&str>, data: &Value) {
        let mut frame = json!({ "event": event, "data": data.to_string() });
        if let Some(c) = channel {
            frame["channel"] = json!(c);
        }
        self.send_text(frame.to_string()).await;
    }

    pub async fn send_text(&mut self, text: impl Into<String>) {
        let _ = self.ws.send(Message::text(text.into())).await;
    }

    pub async fn send(&mut self, msg: Message) {
        let _ = self.ws.send(msg).await;
    }

    pub async fn close(&mut self, code: u16, reason: &str) {
        let frame = CloseFrame {
            code: code.into(),
            reason: reason.into(),
        };
        let _ = self.ws.send(Message::Close(Some(frame))).await;
        // Let the client answer, but do not wait for ever.
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while let Some(Ok(_)) = self.ws.next().await {}
        })
        .await;
    }

    /// The next text frame from the client as JSON (logged); `None` once the client closed.
    pub async fn next_frame(&mut self) -> Option<Value> {
        loop {
            match self.ws.next().await? {
                Ok(Message::Text(t)) => {
                    let v: Value = serde_json::from_str(t.as_str())
                        .unwrap_or_else(|_| json!({ "unparsable": t.as_str() }));
                    self.log.push(self.index, v.clone());
                    return Some(v);
                }
                Ok(Message::Close(frame)) => {
                    let code = frame.map(|f| u16::from(f.code));
                    self.log.push(self.index, json!({ "close": code }));
                    // Keep reading so tungstenite answers the close.
                    while let Some(Ok(_)) = self.ws.next().await {}
                    return None;
                }
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
    }

    /// Behave like a well-mannered server until the client goes away.
    pub async fn serve(&mut self, how: Serve) {
        while let Some(frame) = self.next_frame().await {
            self.answer(&frame, how).await;
        }
    }

    /// Serve for `d`, then return (to do something scripted next).
    pub async fn serve_for(&mut self, d: Duration, how: Serve) {
        let _ = tokio::time::timeout(d, self.serve(how)).await;
    }

    async fn answer(&mut self, frame: &Value, how: Serve) {
        let data = &frame["data"];
        match frame["event"].as_str().unwrap_or_default() {
            "pusher:ping" if how.answer_pings => {
                self.send_text(r#"{"event":"pusher:pong","data":"{}"}"#)
                    .await;
            }
            "pusher:subscribe" => {
                let channel = data["channel"].as_str().unwrap_or_default().to_owned();
                let needs_auth =
                    channel.starts_with("private-") || channel.starts_with("presence-");
                let expected = GrantAll::signature(&self.socket_id, &channel);
                if how.check_auth && needs_auth && data["auth"] != expected.as_str() {
                    let error = json!({
                        "type": "AuthError",
                        "error": format!("bad auth {} (wanted {expected})", data["auth"]),
                        "status": 401
                    });
                    self.send_event("pusher:subscription_error", Some(&channel), &error)
                        .await;
                    return;
                }
                let body = if channel.starts_with("presence-") {
                    let me: Value = data["channel_data"]
                        .as_str()
                        .and_then(|s| serde_json::from_str(s).ok())
                        .unwrap_or(Value::Null);
                    let id = me["user_id"].clone();
                    json!({ "presence": {
                        "ids": [id.clone()],
                        "hash": { id.as_str().unwrap_or("?"): me["user_info"].clone() },
                        "count": 1
                    }})
                } else {
                    json!({})
                };
                self.send_event(
                    "pusher_internal:subscription_succeeded",
                    Some(&channel),
                    &body,
                )
                .await;
            }
            _ => {}
        }
    }
}

// ------------------------------------------------------------------------------------------
// Client side

/// Short timings so every path happens within seconds.
pub fn fast_config(port: u16) -> ClientConfig {
    let mut endpoint = Endpoint::new("127.0.0.1", KEY);
    endpoint.tls = false;
    endpoint.ws_port = port;
    // `ws` only: with TLS off the machine would otherwise alternate with wss:// attempts.
    endpoint.transports.enabled = Some(vec!["ws".into()]);
    let mut machine = MachineConfig::new(endpoint);
    machine.activity_timeout = Duration::from_secs(1);
    machine.pong_timeout = Duration::from_secs(1);
    machine.unavailable_timeout = Duration::from_secs(2);
    machine.retry_cap = Duration::from_secs(2);
    machine.handshake_timeout = Duration::from_secs(5);
    ClientConfig {
        machine,
        subscribe: Vec::new(),
        auto_connect: true,
        connect_via: None,
        dial: Default::default(),
        panic_once_connected: false,
    }
}

/// Grants every request with a signature the scripted server can check.
pub struct GrantAll;

impl GrantAll {
    pub fn signature(socket_id: &str, channel: &str) -> String {
        format!("{KEY}:sig-{socket_id}-{channel}")
    }
}

impl AuthProvider for GrantAll {
    fn authorize(
        &self,
        req: AuthRequest,
    ) -> Pin<Box<dyn Future<Output = Result<AuthGrant, AuthFailure>> + Send>> {
        Box::pin(async move {
            let channel_data = req
                .channel
                .starts_with("presence-")
                .then(|| json!({"user_id": "u1", "user_info": {"name": "Ann"}}).to_string());
            Ok(AuthGrant {
                auth: GrantAll::signature(&req.socket_id, &req.channel),
                channel_data,
                shared_secret: None,
            })
        })
    }
}

/// Refuses every request the way an auth endpoint answering 403 would.
pub struct Refuse;

impl AuthProvider for Refuse {
    fn authorize(
        &self,
        req: AuthRequest,
    ) -> Pin<Box<dyn Future<Output = Result<AuthGrant, AuthFailure>> + Send>> {
        Box::pin(async move {
            Err(AuthFailure::new(
                AuthFailureKind::HttpStatus(403),
                format!("forbidden: {}", req.channel),
            )
            .with_status(403))
        })
    }
}

/// A running client and everything it has reported so far.
pub struct Watch {
    pub commands: tokio::sync::mpsc::Sender<Command>,
    records: chanwatch_core::client::Records,
    task: JoinHandle<()>,
    /// Every record received, in order.
    pub seen: Vec<Record>,
    /// Records before this index have been consumed by a `wait_*` call.
    cursor: usize,
}

impl Watch {
    pub fn spawn(config: ClientConfig, auth: Arc<dyn AuthProvider>) -> Watch {
        let ClientHandle {
            commands,
            records,
            task,
        } = client::spawn(config, auth);
        Watch {
            commands,
            records,
            task,
            seen: Vec::new(),
            cursor: 0,
        }
    }

    pub async fn send(&self, command: Command) {
        self.commands
            .send(command)
            .await
            .expect("client is running");
    }

    /// Wait (bounded) for the next record matching `pred` after the previous match;
    /// returns it and moves past it. Panics with everything seen on timeout.
    pub async fn wait_for(&mut self, what: &str, pred: impl Fn(&Record) -> bool) -> Record {
        self.wait_for_within(what, BOUND, pred).await
    }

    pub async fn wait_for_within(
        &mut self,
        what: &str,
        within: Duration,
        pred: impl Fn(&Record) -> bool,
    ) -> Record {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(i) = self.seen[self.cursor..].iter().position(&pred) {
                let i = self.cursor + i;
                self.cursor = i + 1;
                return self.seen[i].clone();
            }
            match tokio::time::timeout_at(deadline, self.records.recv()).await {
                Ok(Some(r)) => self.seen.push(r.record),
                Ok(None) => panic!("client ended before {what}; saw {:#?}", self.seen),
                Err(_) => panic!("no {what} within {within:?}; saw {:#?}", self.seen),
            }
        }
    }

    pub async fn wait_state(&mut self, state: State) -> Record {
        self.wait_for(
            &format!("state {state}"),
            |r| matches!(r, Record::State { current, .. } if *current == state),
        )
        .await
    }

    /// Collect whatever arrives during `d`; returns the new records (all stay in `seen`).
    pub async fn collect_for(&mut self, d: Duration) -> Vec<Record> {
        let start = self.seen.len();
        let deadline = tokio::time::Instant::now() + d;
        while let Ok(Some(r)) = tokio::time::timeout_at(deadline, self.records.recv()).await {
            self.seen.push(r.record);
        }
        self.seen[start..].to_vec()
    }

    /// The records after the last `wait_*` match.
    pub fn since_cursor(&self) -> &[Record] {
        &self.seen[self.cursor..]
    }

    /// Quit and collect every remaining record until the client ends (bounded).
    pub async fn quit(mut self) -> Vec<Record> {
        let start = self.seen.len();
        let _ = self.commands.send(Command::Quit).await;
        let ended = tokio::time::timeout(BOUND, async {
            while let Some(r) = self.records.recv().await {
                self.seen.push(r.record);
            }
        })
        .await;
        assert!(
            ended.is_ok(),
            "records did not close after quit; saw {:#?}",
            self.seen
        );
        tokio::time::timeout(BOUND, self.task)
            .await
            .expect("client task ends after quit")
            .expect("client task did not panic");
        self.seen[start..].to_vec()
    }
}

pub fn is_state(r: &Record, state: State) -> bool {
    matches!(r, Record::State { current, .. } if *current == state)
}

pub fn state_cause(r: &Record) -> String {
    match r {
        Record::State { cause, .. } => cause.clone().unwrap_or_default(),
        _ => String::new(),
    }
}
