//! The demo server's sockets: one loopback listener for both the WebSocket endpoint
//! (`/app/<key>`) and the plain HTTP routes, one task per connection. All protocol decisions
//! are made by the [`Hub`]; this file only moves bytes and keeps time.

use super::DemoConfig;
use super::http::{self, MAX_BODY, MAX_HEAD, Request, Response};
use super::hub::{ConnId, Delivery, Hub, Out, error_frame};
use futures_util::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
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
/// in the order the hub decided them.
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

pub(crate) struct Shared {
    pub config: DemoConfig,
    inner: Mutex<Inner>,
    stopped: AtomicBool,
    stop_tx: watch::Sender<bool>,
}

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves consistent-enough data for a fixture.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.stop_tx.send_replace(true);
    }

    pub fn stop_signal(&self) -> watch::Receiver<bool> {
        self.stop_tx.subscribe()
    }
}

/// Resolves once the server is stopping (the `watch::Ref` is not `Send`, so drop it here).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

pub(crate) async fn bind(config: DemoConfig) -> std::io::Result<(Arc<Shared>, TcpListener)> {
    let listener = TcpListener::bind(config.bind).await?;
    let hub = Hub::new(config.app());
    let (stop_tx, _) = watch::channel(false);
    let shared = Arc::new(Shared {
        config,
        inner: Mutex::new(Inner {
            hub,
            senders: HashMap::new(),
        }),
        stopped: AtomicBool::new(false),
        stop_tx,
    });
    Ok((shared, listener))
}

pub(crate) async fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    let mut stop = shared.stop_signal();
    loop {
        tokio::select! {
            _ = stopped(&mut stop) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    if shared.is_stopped() {
                        break;
                    }
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(serve(shared.clone(), stream));
                }
                Err(e) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!("demo server accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

/// Read a request head (bounded in size and time), then hand over to WebSocket or HTTP.
async fn serve(shared: Arc<Shared>, mut stream: TcpStream) {
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
        serve_websocket(shared, stream, req).await;
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
        let (response, deliveries) = http::route(&mut inner.hub, &req);
        inner.dispatch(deliveries);
        response
    };
    let _ = timeout(HEAD_TIMEOUT, async {
        let _ = stream.write_all(&response.to_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

async fn serve_websocket(shared: Arc<Shared>, mut stream: TcpStream, req: Request) {
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
    } else if shared.is_stopped() {
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
    run_socket(shared, ws).await;
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

async fn run_socket(shared: Arc<Shared>, mut ws: WebSocketStream<TcpStream>) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let activity = shared.config.activity_timeout;
    let pong_timeout = shared.config.pong_timeout;
    let (conn, hello) = {
        let mut inner = shared.lock();
        let (conn, hello) = inner.hub.open(activity.as_secs().max(1));
        inner.senders.insert(conn, tx);
        (conn, hello)
    };
    let mut stop = shared.stop_signal();
    let mut deadline = Instant::now() + activity;
    let mut awaiting_pong = false;
    if ws.send(Message::text(hello)).await.is_ok() {
        loop {
            tokio::select! {
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
