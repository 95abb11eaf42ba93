//! One WebSocket, owned by its own task: it connects, forwards what arrives as machine
//! [`Input`]s tagged with its [`ConnId`], and writes what the client task hands it.

use super::InputSender;
use crate::connection::{ConnId, Input};
use futures_util::{SinkExt, StreamExt};
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::BufReader;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::error::UrlError;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

/// Large enough that a 1 MiB (or 16 MiB) frame is read and judged by the machine instead of
/// killing the socket; small enough that a hostile server cannot make us buffer gigabytes.
pub const MAX_MESSAGE_BYTES: usize = 64 << 20;

/// How long a clean close may take (our close frame out, the server's answer in) before the
/// socket is simply dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// What the client task asks a socket to do.
enum Outgoing {
    Text(String),
    Close { code: u16, reason: String },
}

/// The client task's handle on one socket task.
pub(super) struct Socket {
    pub conn: ConnId,
    tx: mpsc::UnboundedSender<Outgoing>,
    task: JoinHandle<()>,
}

impl Socket {
    /// Start connecting to `url`; progress arrives on `inputs` as `Opened`/`OpenFailed`/...
    pub fn open(conn: ConnId, url: String, via: Option<SocketAddr>, inputs: InputSender) -> Socket {
        // Unbounded on purpose: the client task must never wait on a socket that is itself
        // waiting for the client task to read its inputs. Outbound volume is bounded by
        // commands and the protocol (subscribes, pongs, client events), not by the server.
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(conn, url, via, inputs, rx));
        Socket { conn, tx, task }
    }

    pub fn send(&self, text: String) {
        // A send error means the task has ended; its `Closed` input is already on its way.
        let _ = self.tx.send(Outgoing::Text(text));
    }

    /// Close cleanly in the background; the returned handle ends within [`CLOSE_GRACE`]
    /// (plus scheduling), so a caller may await it to know the close frame went out.
    pub fn close(self, code: u16, reason: String) -> JoinHandle<()> {
        let _ = self.tx.send(Outgoing::Close { code, reason });
        self.task
    }

    /// Drop the socket at once, without a close frame.
    pub fn abort(self) {
        self.task.abort();
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<BufReader<TcpStream>>>;

/// The read buffer under the WebSocket. tungstenite asks the stream for exactly the rest of
/// the frame it is reading, so on a busy stream each frame cost a read call, and each read
/// a window update from our side and a small segment from the server's: a third of the
/// CPU at 5 KB events. Reads of up to this much make that one call per many frames.
const READ_BUFFER: usize = 128 * 1024;

/// Open the WebSocket, directly or through `via` (TCP there, TLS and HTTP for the URL's host).
async fn connect(url: String, via: Option<SocketAddr>) -> Result<Ws, WsError> {
    let tcp = match via {
        Some(addr) => TcpStream::connect(addr).await,
        None => {
            let (host, port) = host_and_port(&url)?;
            TcpStream::connect((host.as_str(), port)).await
        }
    }
    .map_err(WsError::Io)?;
    // Nagle off: pings, pongs and subscribes are tiny and should leave at once.
    let _ = tcp.set_nodelay(true);
    let stream = BufReader::with_capacity(READ_BUFFER, tcp);
    let (ws, _) = tokio_tungstenite::client_async_tls_with_config(
        url.as_str(),
        stream,
        Some(ws_config()),
        None,
    )
    .await?;
    Ok(ws)
}

/// Where a ws/wss URL points, as tokio-tungstenite's own connect finds it (with the
/// brackets of an IPv6 address removed, so that it resolves).
fn host_and_port(url: &str) -> Result<(String, u16), WsError> {
    let request = url.into_client_request()?;
    let uri = request.uri();
    let host = uri.host().ok_or(WsError::Url(UrlError::NoHostName))?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let port = uri
        .port_u16()
        .or(match uri.scheme_str() {
            Some("wss") => Some(443),
            Some("ws") => Some(80),
            _ => None,
        })
        .ok_or(WsError::Url(UrlError::UnsupportedUrlScheme))?;
    Ok((host.to_owned(), port))
}

fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_MESSAGE_BYTES))
}

async fn run(
    conn: ConnId,
    url: String,
    via: Option<SocketAddr>,
    inputs: InputSender,
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
) {
    let connect = connect(url.clone(), via);
    tokio::pin!(connect);
    let ws = loop {
        tokio::select! {
            result = &mut connect => match result {
                Ok(ws) => break ws,
                Err(e) => {
                    let message = describe_open_error(&e, &url);
                    let _ = inputs.send(vec![Input::OpenFailed { conn, message }]).await;
                    return;
                }
            },
            out = rx.recv() => match out {
                // The machine gave up on this attempt (disconnect, handshake timeout).
                Some(Outgoing::Close { .. }) | None => return,
                Some(Outgoing::Text(_)) => {
                    tracing::debug!(conn, "dropping a frame sent before the socket opened");
                }
            },
        }
    };
    if inputs.send(vec![Input::Opened { conn }]).await.is_err() {
        return;
    }
    let (sink, mut stream) = ws.split();
    // Writes run in their own task: a server that reads slowly (or not at all) must never
    // stop us reading, or its events, pongs and close frames would wait behind our frames.
    let (done_tx, mut done) = oneshot::channel();
    let (stop, stop_rx) = oneshot::channel();
    let writer = AbortOnDrop(tokio::spawn(write_loop(
        conn,
        sink,
        rx,
        stop_rx,
        inputs.clone(),
        done_tx,
    )));
    // After we sent a close frame: keep reading until the server's close, at most this long.
    let mut closing_until: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            batch = next_batch(&mut stream) => {
                let mut ended = false;
                let inputs_now: Vec<Input> = batch
                    .into_iter()
                    .filter_map(|msg| {
                        let (input, end) = to_input(conn, msg)?;
                        ended |= end;
                        Some(input)
                    })
                    .collect();
                let sent = if inputs_now.is_empty() { Ok(()) } else { inputs.send(inputs_now).await };
                if ended {
                    // Let the writer finish the close handshake (its reply to the server's
                    // close frame) before the TCP connection goes.
                    let _ = stop.send(());
                    let _ = tokio::time::timeout(CLOSE_GRACE, writer.wait()).await;
                    return;
                }
                if sent.is_err() {
                    return;
                }
            }
            end = &mut done, if closing_until.is_none() => match end {
                // Our close frame is out: wait for the server's, so it is not lost to a reset.
                Ok(WriterEnd::ClosedByUs) => {
                    closing_until = Some(tokio::time::Instant::now() + CLOSE_GRACE);
                }
                // A failed write was reported as `Closed`; a dropped handle needs nothing.
                Ok(WriterEnd::Failed) | Ok(WriterEnd::Dropped) | Err(_) => return,
            },
            _ = tokio::time::sleep_until(closing_until.unwrap_or_else(tokio::time::Instant::now)),
                if closing_until.is_some() => return,
        }
    }
}

/// At most this many messages, or about this many bytes of text, go to the client task
/// in one batch: enough to make a busy stream cheap, little enough to stay responsive.
const READ_BATCH: usize = 64;
const READ_BATCH_BYTES: usize = 256 * 1024;

type WsItem = Option<Result<Message, WsError>>;

/// The messages that are ready now, waiting for at least one. A batch ends after an item
/// that ends the stream (an error, a close frame or the end itself). Cancel-safe: whatever
/// was read is returned in the same poll.
fn next_batch(
    stream: &mut futures_util::stream::SplitStream<Ws>,
) -> impl std::future::Future<Output = Vec<WsItem>> + '_ {
    std::future::poll_fn(move |cx| {
        let mut batch = Vec::new();
        let mut bytes = 0;
        loop {
            match stream.poll_next_unpin(cx) {
                std::task::Poll::Ready(item) => {
                    let ends = !matches!(item, Some(Ok(ref m)) if !m.is_close());
                    if let Some(Ok(m)) = &item {
                        bytes += m.len();
                    }
                    batch.push(item);
                    if ends || batch.len() >= READ_BATCH || bytes >= READ_BATCH_BYTES {
                        return std::task::Poll::Ready(batch);
                    }
                }
                std::task::Poll::Pending if batch.is_empty() => return std::task::Poll::Pending,
                std::task::Poll::Pending => return std::task::Poll::Ready(batch),
            }
        }
    })
}

/// What one read means to the machine, and whether it ends the socket; `None` for frames
/// the machine never sees.
fn to_input(conn: ConnId, msg: WsItem) -> Option<(Input, bool)> {
    Some(match msg {
        Some(Ok(Message::Text(text))) => (Input::Text { conn, text }, false),
        Some(Ok(Message::Binary(bytes))) => (
            Input::Binary {
                conn,
                len: bytes.len(),
            },
            false,
        ),
        // tungstenite answers pings itself; both still prove the link is alive.
        Some(Ok(Message::Ping(_) | Message::Pong(_))) => (Input::Activity { conn }, false),
        Some(Ok(Message::Frame(_))) => return None,
        Some(Ok(Message::Close(frame))) => {
            let (code, reason) = match frame {
                Some(f) => (Some(u16::from(f.code)), f.reason.as_str().to_owned()),
                None => (
                    None,
                    "the server closed the connection without a close code".to_owned(),
                ),
            };
            (Input::Closed { conn, code, reason }, true)
        }
        Some(Err(e)) => (
            Input::Closed {
                conn,
                code: None,
                reason: describe_read_error(&e),
            },
            true,
        ),
        None => (
            Input::Closed {
                conn,
                code: None,
                reason: "connection lost: closed without a close frame".to_owned(),
            },
            true,
        ),
    })
}

/// Why the writer stopped.
enum WriterEnd {
    /// It sent the close frame the machine asked for.
    ClosedByUs,
    /// A write failed; `Closed` has been reported.
    Failed,
    /// The socket's handle was dropped.
    Dropped,
}

/// Aborts the task when dropped, so a writer stuck on a dead peer never outlives its socket.
struct AbortOnDrop(JoinHandle<()>);

impl AbortOnDrop {
    async fn wait(&self) {
        while !self.0.is_finished() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn write_loop(
    conn: ConnId,
    mut sink: futures_util::stream::SplitSink<Ws, Message>,
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
    mut stop: oneshot::Receiver<()>,
    inputs: InputSender,
    done: oneshot::Sender<WriterEnd>,
) {
    let end = loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(Outgoing::Text(text)) => {
                    if let Err(e) = sink.send(Message::text(text)).await {
                        let reason = format!("connection lost while sending: {}", short_ws_error(&e));
                        let _ = inputs.send(vec![Input::Closed { conn, code: None, reason }]).await;
                        break WriterEnd::Failed;
                    }
                }
                Some(Outgoing::Close { code, reason }) => {
                    let frame = CloseFrame { code: code.into(), reason: reason.into() };
                    let _ = tokio::time::timeout(CLOSE_GRACE, sink.send(Message::Close(Some(frame)))).await;
                    break WriterEnd::ClosedByUs;
                }
                None => break WriterEnd::Dropped,
            },
            // The reader saw the server close: finish the handshake and stop.
            _ = &mut stop => {
                let _ = tokio::time::timeout(CLOSE_GRACE, sink.close()).await;
                return;
            }
        }
    };
    let _ = done.send(end);
}

/// `host:port` of a ws/wss URL, for messages.
fn target(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => match (u.host_str(), u.port_or_known_default()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            _ => url.to_owned(),
        },
        Err(_) => url.to_owned(),
    }
}

/// A readable reason for a failed connection attempt, naming where we tried to go.
pub fn describe_open_error(err: &WsError, url: &str) -> String {
    let at = target(url);
    match err {
        WsError::Io(e) => match e.kind() {
            ErrorKind::ConnectionRefused => format!("connection refused ({at})"),
            ErrorKind::TimedOut => format!("connection timed out ({at})"),
            ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::UnexpectedEof => {
                format!("connection closed during the WebSocket handshake ({at})")
            }
            _ => format!("{e} ({at})"),
        },
        WsError::Http(response) => {
            let status = response.status().as_u16();
            let body = response
                .body()
                .as_deref()
                .map(String::from_utf8_lossy)
                .map(|b| b.trim().chars().take(200).collect::<String>())
                .unwrap_or_default();
            if body.is_empty() {
                format!("HTTP {status} on WebSocket upgrade ({at})")
            } else {
                format!("HTTP {status} on WebSocket upgrade ({at}): {body}")
            }
        }
        WsError::Tls(e) => format!("TLS error: {e} ({at})"),
        WsError::Url(e) => format!("bad URL {url}: {e}"),
        WsError::Protocol(e) => format!("WebSocket handshake failed: {e} ({at})"),
        other => format!("{other} ({at})"),
    }
}

fn short_ws_error(e: &WsError) -> String {
    match e {
        WsError::Io(io) => io.to_string(),
        other => other.to_string(),
    }
}

fn describe_read_error(e: &WsError) -> String {
    match e {
        WsError::Capacity(c) => format!("frame too large, connection dropped: {c}"),
        other => format!("connection lost: {}", short_ws_error(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_tungstenite::tungstenite::http::Response;

    #[test]
    fn refused_names_the_target() {
        let e = WsError::Io(std::io::Error::from(ErrorKind::ConnectionRefused));
        assert_eq!(
            describe_open_error(&e, "ws://127.0.0.1:6001/app/k?protocol=7"),
            "connection refused (127.0.0.1:6001)"
        );
        assert_eq!(
            describe_open_error(&e, "wss://ws-eu.pusher.com/app/k"),
            "connection refused (ws-eu.pusher.com:443)"
        );
    }

    #[test]
    fn host_and_port_from_the_url() {
        let at = |url: &str| host_and_port(url).map_err(|e| describe_open_error(&e, url));
        assert_eq!(
            at("ws://127.0.0.1:6001/app/k"),
            Ok(("127.0.0.1".into(), 6001))
        );
        assert_eq!(
            at("wss://ws-eu.pusher.com/app/k"),
            Ok(("ws-eu.pusher.com".into(), 443))
        );
        assert_eq!(at("ws://[::1]/app/k"), Ok(("::1".into(), 80)));
        assert!(at("http://h/app/k").unwrap_err().starts_with("bad URL"));
        assert!(at("not a url").is_err());
    }

    #[test]
    fn http_status_on_upgrade() {
        let r = Response::builder().status(404).body(None).unwrap();
        assert_eq!(
            describe_open_error(&WsError::Http(Box::new(r)), "ws://h:80/app/k"),
            "HTTP 404 on WebSocket upgrade (h:80)"
        );
        let r = Response::builder()
            .status(403)
            .body(Some(b"app disabled\n".to_vec()))
            .unwrap();
        assert_eq!(
            describe_open_error(&WsError::Http(Box::new(r)), "ws://h:80/app/k"),
            "HTTP 403 on WebSocket upgrade (h:80): app disabled"
        );
    }
}
