//! The demo server's sockets: one loopback listener per node for both the WebSocket endpoint
//! (`/app/<key>`) and the plain HTTP routes, one task per connection. All protocol decisions
//! are made by the [`Hub`]; this file only moves bytes, keeps time, and kills and revives a
//! node's listener.

use super::DemoConfig;
use super::http::{self, MAX_BODY, MAX_HEAD, Request, Response};
use super::hub::{ConnId, Delivery, Hub, NodeId, Out, error_frame};
use futures_util::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until, timeout};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, frame::coding::CloseCode};

/// A client that has not sent its whole request head by then is dropped.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a closing socket waits for the peer's close frame.
const CLOSE_LINGER: Duration = Duration::from_secs(2);

/// The hub plus the way to reach every live socket, under one lock so that frames leave
/// in the order the hub decided them. One for a demo server, one for all nodes of a demo
/// cluster (their bus is this lock).
pub(crate) struct Inner {
    pub hub: Hub,
    senders: HashMap<ConnId, mpsc::UnboundedSender<Out>>,
}

impl Inner {
    pub fn dispatch(&self, deliveries: Vec<Delivery>) -> usize {
        let mut sent = 0;
        for d in deliveries {
            if let Some(tx) = self.senders.get(&d.to) {
                // A send fails only when the socket task just ended; nothing to do then.
                if tx.send(d.out).is_ok() {
                    sent += 1;
                }
            }
        }
        sent
    }
}

/// One node's listener and lifecycle: stopped for good (sockets closed with 1001), or
/// killed until restored (sockets dropped without a close frame, connections refused).
pub(crate) struct NodeRt {
    pub addr: SocketAddr,
    stopped: AtomicBool,
    stop_tx: watch::Sender<bool>,
    /// Counts the node's deaths: its sockets and HTTP exchanges end when it changes.
    life: watch::Sender<u64>,
    /// The listener, taken (and so closed at once) when the node dies.
    listener: Arc<Mutex<Option<TcpListener>>>,
    accept: Mutex<Option<JoinHandle<()>>>,
}

pub(crate) struct Shared {
    pub config: DemoConfig,
    inner: Mutex<Inner>,
    pub nodes: Vec<NodeRt>,
    /// Every node stopped: the traffic and the webhooks end too.
    stopped: AtomicBool,
    stop_tx: watch::Sender<bool>,
    /// Where a restored node's accept loop is spawned.
    runtime: tokio::runtime::Handle,
}

fn relock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a lock leaves consistent-enough data for a fixture.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        relock(&self.inner)
    }

    /// Whether every node has stopped (a single server: whether it has).
    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// Stop every node.
    pub fn stop(&self) {
        for node in 0..self.nodes.len() {
            self.stop_node(node);
        }
    }

    /// Stop one node for good: no more connections, its sockets closed with 1001.
    pub fn stop_node(&self, node: NodeId) {
        let Some(rt) = self.nodes.get(node) else {
            return;
        };
        rt.stopped.store(true, Ordering::SeqCst);
        rt.stop_tx.send_replace(true);
        relock(&rt.listener).take();
        if let Some(task) = relock(&rt.accept).take() {
            task.abort();
        }
        if self.nodes.iter().all(|n| n.stopped.load(Ordering::SeqCst)) {
            self.stopped.store(true, Ordering::SeqCst);
            self.stop_tx.send_replace(true);
        }
    }

    pub fn is_node_stopped(&self, node: NodeId) -> bool {
        self.nodes
            .get(node)
            .is_none_or(|n| n.stopped.load(Ordering::SeqCst))
    }

    /// Fires once every node has stopped.
    pub fn stop_signal(&self) -> watch::Receiver<bool> {
        self.stop_tx.subscribe()
    }

    /// `kill_node`: the listener closes now (connections are refused), the node's sockets
    /// end without a close frame, and the hub forgets them without telling anyone.
    pub fn kill_node(&self, node: NodeId) {
        let Some(rt) = self.nodes.get(node) else {
            return;
        };
        relock(&rt.listener).take();
        if let Some(task) = relock(&rt.accept).take() {
            task.abort();
        }
        let mut inner = self.lock();
        for conn in inner.hub.kill(node) {
            inner.senders.remove(&conn);
        }
        rt.life.send_modify(|n| *n += 1);
    }

    /// Bind a killed node's port again and accept on it. A stopped node stays stopped.
    pub fn revive_listener(self: &Arc<Self>, node: NodeId) -> std::io::Result<()> {
        let Some(rt) = self.nodes.get(node) else {
            return Ok(());
        };
        if rt.stopped.load(Ordering::SeqCst) || relock(&rt.listener).is_some() {
            return Ok(());
        }
        let std_listener = std::net::TcpListener::bind(rt.addr)?;
        std_listener.set_nonblocking(true)?;
        let _guard = self.runtime.enter();
        let listener = TcpListener::from_std(std_listener)?;
        *relock(&rt.listener) = Some(listener);
        let task = self.runtime.spawn(accept_loop(self.clone(), node));
        if let Some(old) = relock(&rt.accept).replace(task) {
            old.abort();
        }
        Ok(())
    }

    fn life(&self, node: NodeId) -> watch::Receiver<u64> {
        self.nodes[node].life.subscribe()
    }

    fn node_stop_signal(&self, node: NodeId) -> watch::Receiver<bool> {
        self.nodes[node].stop_tx.subscribe()
    }
}

/// Resolves once the server is stopping (the `watch::Ref` is not `Send`, so drop it here).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Resolves when the node dies (its life count changes).
async fn died(life: &mut watch::Receiver<u64>) {
    let _ = life.changed().await;
}

/// Bind one listener per node (`config.bind`'s port for the first node, the next ports
/// for the others; port 0 picks free ones), all on one hub, and start accepting.
pub(crate) async fn start(config: DemoConfig, nodes: usize) -> std::io::Result<Arc<Shared>> {
    let nodes = nodes.max(1);
    let mut bound = Vec::with_capacity(nodes);
    for i in 0..nodes {
        let mut addr = config.bind;
        if addr.port() != 0 {
            let port = u16::try_from(usize::from(addr.port()) + i).map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "no port left")
            })?;
            addr.set_port(port);
        }
        let listener = TcpListener::bind(addr).await?;
        bound.push((listener.local_addr()?, listener));
    }
    let hub = Hub::cluster(config.app(), nodes);
    let (stop_tx, _) = watch::channel(false);
    let node_rts = bound
        .into_iter()
        .map(|(addr, listener)| NodeRt {
            addr,
            stopped: AtomicBool::new(false),
            stop_tx: watch::channel(false).0,
            life: watch::channel(0).0,
            listener: Arc::new(Mutex::new(Some(listener))),
            accept: Mutex::new(None),
        })
        .collect();
    let shared = Arc::new(Shared {
        config,
        inner: Mutex::new(Inner {
            hub,
            senders: HashMap::new(),
        }),
        nodes: node_rts,
        stopped: AtomicBool::new(false),
        stop_tx,
        runtime: tokio::runtime::Handle::current(),
    });
    for node in 0..nodes {
        let task = tokio::spawn(accept_loop(shared.clone(), node));
        *relock(&shared.nodes[node].accept) = Some(task);
    }
    Ok(shared)
}

/// The next connection on a listener that may be taken away (then `None`).
async fn accept_on(
    listener: &Mutex<Option<TcpListener>>,
) -> Option<std::io::Result<(TcpStream, SocketAddr)>> {
    std::future::poll_fn(|cx| match relock(listener).as_ref() {
        Some(l) => l.poll_accept(cx).map(Some),
        None => std::task::Poll::Ready(None),
    })
    .await
}

/// Accept on `node`'s listener until the node stops or dies (the listener is taken away).
async fn accept_loop(shared: Arc<Shared>, node: NodeId) {
    let listener = shared.nodes[node].listener.clone();
    let mut stop = shared.node_stop_signal(node);
    loop {
        tokio::select! {
            _ = stopped(&mut stop) => break,
            accepted = accept_on(&listener) => match accepted {
                None => break,
                Some(Ok((stream, _))) => {
                    if shared.is_node_stopped(node) {
                        break;
                    }
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(serve(shared.clone(), node, stream));
                }
                Some(Err(e)) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!("demo server accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

/// Read a request head (bounded in size and time), then hand over to WebSocket or HTTP.
async fn serve(shared: Arc<Shared>, node: NodeId, mut stream: TcpStream) {
    // A node killed while this exchange is under way answers nothing more.
    let life = shared.life(node);
    let mut buf = Vec::with_capacity(1024);
    let head = timeout(HEAD_TIMEOUT, async {
        let mut chunk = [0u8; 2048];
        loop {
            if let Some(end) = http::head_end(&buf) {
                return Ok(end);
            }
            if buf.len() > MAX_HEAD {
                return Err("request head too large".to_string());
            }
            match stream.read(&mut chunk).await {
                Ok(0) => return Err("connection closed before the request head".into()),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) => return Err(e.to_string()),
            }
        }
    })
    .await;
    let end = match head {
        Ok(Ok(end)) => end,
        Ok(Err(_)) | Err(_) => return,
    };
    let mut req = match http::parse_head(&buf[..end]) {
        Ok(r) => r,
        Err(e) => {
            let _ = stream.write_all(&Response::error(400, &e).to_bytes()).await;
            return;
        }
    };
    if req.is_websocket() {
        serve_websocket(shared, node, stream, req).await;
        return;
    }
    let len = match req.content_length() {
        Ok(n) if n <= MAX_BODY => n,
        Ok(_) => {
            let _ = stream
                .write_all(&Response::error(413, "body too large").to_bytes())
                .await;
            return;
        }
        Err(e) => {
            let _ = stream.write_all(&Response::error(400, &e).to_bytes()).await;
            return;
        }
    };
    let mut body = buf[end..].to_vec();
    let read_rest = timeout(HEAD_TIMEOUT, async {
        let mut chunk = [0u8; 4096];
        while body.len() < len {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => body.extend_from_slice(&chunk[..n]),
            }
        }
        true
    })
    .await;
    if read_rest != Ok(true) {
        return;
    }
    body.truncate(len);
    req.body = body;
    let response = {
        let mut inner = shared.lock();
        if life.has_changed().unwrap_or(true) || !inner.hub.is_alive(node) {
            return;
        }
        let (response, deliveries) = http::route(&mut inner.hub, node, &req);
        inner.dispatch(deliveries);
        response
    };
    let _ = timeout(HEAD_TIMEOUT, async {
        let _ = stream.write_all(&response.to_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

async fn serve_websocket(shared: Arc<Shared>, node: NodeId, mut stream: TcpStream, req: Request) {
    let Some(key) = req.header("sec-websocket-key") else {
        let _ = stream
            .write_all(&Response::error(400, "missing Sec-WebSocket-Key").to_bytes())
            .await;
        return;
    };
    // Like pusher-js's `wsPath`, anything may come before `/app/<key>`.
    let Some(app_key) = req.path.rfind("/app/").map(|i| &req.path[i + 5..]) else {
        let _ = stream
            .write_all(&Response::error(404, "WebSocket endpoint is /app/<key>").to_bytes())
            .await;
        return;
    };
    let app_key = app_key.to_string();
    let accept = derive_accept_key(key.as_bytes());
    let reply = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    if stream.write_all(reply.as_bytes()).await.is_err() {
        return;
    }
    let mut ws = WebSocketStream::from_raw_socket(stream, Role::Server, None).await;
    let refusal = if app_key != shared.config.key {
        Some((4001, format!("App key {app_key} does not exist")))
    } else if req.query_param("protocol").is_some_and(|p| p != "7") {
        Some((
            4007,
            "Unsupported protocol version: this server speaks 7".to_string(),
        ))
    } else if shared.is_node_stopped(node) {
        Some((4200, "server is stopping".to_string()))
    } else {
        None
    };
    if let Some((code, message)) = refusal {
        let _ = ws
            .send(Message::text(error_frame(Some(code), &message)))
            .await;
        close(&mut ws, code, &message).await;
        return;
    }
    run_socket(shared, node, ws).await;
}

/// Send a close frame and wait (bounded) for the peer's answer.
async fn close(ws: &mut WebSocketStream<TcpStream>, code: u16, reason: &str) {
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: reason.to_string().into(),
    };
    let _ = ws.send(Message::Close(Some(frame))).await;
    let _ = timeout(CLOSE_LINGER, async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
}

async fn run_socket(shared: Arc<Shared>, node: NodeId, mut ws: WebSocketStream<TcpStream>) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let activity = shared.config.activity_timeout;
    let pong_timeout = shared.config.pong_timeout;
    let mut life = shared.life(node);
    let (conn, hello) = {
        let mut inner = shared.lock();
        // Dead since the upgrade began: drop the socket as a dead process would.
        if life.has_changed().unwrap_or(true) {
            return;
        }
        let Some((conn, hello)) = inner.hub.open(node, activity.as_secs().max(1)) else {
            return;
        };
        inner.senders.insert(conn, tx);
        (conn, hello)
    };
    let mut stop = shared.node_stop_signal(node);
    let mut deadline = Instant::now() + activity;
    let mut awaiting_pong = false;
    if ws.send(Message::text(hello)).await.is_ok() {
        loop {
            tokio::select! {
                biased;
                // Killed: no close frame, nothing queued is sent; the hub already forgot it.
                _ = died(&mut life) => return,
                _ = stopped(&mut stop) => {
                    close(&mut ws, 1001, "demo server stopped").await;
                    break;
                }
                msg = ws.next() => {
                    let Some(Ok(msg)) = msg else { break };
                    deadline = Instant::now() + activity;
                    awaiting_pong = false;
                    match msg {
                        Message::Text(text) => {
                            let mut inner = shared.lock();
                            let deliveries = inner.hub.handle_text(conn, text.as_str());
                            inner.dispatch(deliveries);
                        }
                        Message::Binary(b) => {
                            let text = error_frame(None, &format!(
                                "binary frames are not part of the protocol ({} bytes ignored)", b.len()));
                            if ws.send(Message::text(text)).await.is_err() {
                                break;
                            }
                        }
                        // tungstenite answers pings and close frames itself.
                        _ => {}
                    }
                }
                out = rx.recv() => match out {
                    Some(Out::Text(text)) => {
                        if ws.send(Message::text(text)).await.is_err() {
                            break;
                        }
                    }
                    Some(Out::Close { code, reason }) => {
                        close(&mut ws, code, &reason).await;
                        break;
                    }
                    None => break,
                },
                _ = sleep_until(deadline) => {
                    if awaiting_pong {
                        close(&mut ws, 4201, "Pong reply not received").await;
                        break;
                    }
                    let ping = super::hub::frame("pusher:ping", None, "{}", None);
                    if ws.send(Message::text(ping)).await.is_err() {
                        break;
                    }
                    awaiting_pong = true;
                    deadline = Instant::now() + pong_timeout;
                }
            }
        }
    }
    let mut inner = shared.lock();
    inner.senders.remove(&conn);
    let deliveries = inner.hub.close(conn);
    inner.dispatch(deliveries);
}
