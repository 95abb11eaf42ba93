//! One WebSocket, owned by its own task: it connects, forwards what arrives as machine
//! [`Input`]s tagged with its [`ConnId`], and writes what the client task hands it.

use super::InputSender;
use super::ws::codec::{self, Decoder, Message, ReadError};
use super::ws::handshake::{self, Dial, Stream};
use crate::connection::{ConnId, Input};
use bytes::{Bytes, BytesMut};
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::error::TlsError;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// Large enough that a 1 MiB (or 16 MiB) frame is read and judged by the machine instead of
/// killing the socket; small enough that a hostile server cannot make us buffer gigabytes.
pub const MAX_MESSAGE_BYTES: usize = 64 << 20;

/// The most our own frames may pile up unwritten. A server that reads slowly or not at all
/// fills this with client events; further client events are then refused (and reported)
/// instead of buffered without bound, and the connection stays: what the server sends
/// still arrives, and if it has stopped altogether the pong timeout tells. Protocol frames
/// (subscribes, sign-in, pings) are bounded by the channels and always go.
pub const MAX_QUEUED_BYTES: usize = 4 << 20;

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
    /// Bytes handed to the writer and not yet written.
    queued: Arc<AtomicUsize>,
    /// Bumped for each `pusher:ping` to answer; the writer sends one `pusher:pong` for
    /// however many bumps it finds, so a ping flood queues at most one answer.
    pong: watch::Sender<()>,
    task: JoinHandle<()>,
}

/// Our frames have piled up past [`MAX_QUEUED_BYTES`]: the server is not reading them.
#[derive(Debug)]
pub(super) struct Stuck {
    pub queued: usize,
    /// The refused frame's start, for the message.
    pub what: String,
}

impl Socket {
    /// Start connecting to `url`; progress arrives on `inputs` as `Opened`/`OpenFailed`/...
    pub fn open(
        conn: ConnId,
        url: String,
        via: Option<SocketAddr>,
        dial: Arc<Dial>,
        inputs: InputSender,
    ) -> Socket {
        // Unbounded on purpose: the client task must never wait on a socket that is itself
        // waiting for the client task to read its inputs. What goes through it is bounded
        // by the protocol (subscribes, sign-in) and, for client events, by `send`'s byte
        // count; pongs go through a watch of their own.
        let (tx, rx) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let (pong, pongs) = watch::channel(());
        let writer = WriterParts {
            rx,
            queued: queued.clone(),
            protocol_pongs: pongs,
        };
        let task = tokio::spawn(run(conn, url, via, dial, inputs, writer));
        Socket {
            conn,
            tx,
            queued,
            pong,
            task,
        }
    }

    /// Queue a text frame; a `droppable` one is refused when the server has left too much
    /// of ours unread.
    pub fn send(&self, text: String, droppable: bool) -> Result<(), Stuck> {
        let queued = self.queued.load(Ordering::Relaxed);
        if droppable && queued + text.len() > MAX_QUEUED_BYTES {
            let mut end = text.len().min(80);
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            return Err(Stuck {
                queued,
                what: text[..end].to_string(),
            });
        }
        self.queued.fetch_add(text.len(), Ordering::Relaxed);
        // A send error means the task has ended; its `Closed` input is already on its way.
        let _ = self.tx.send(Outgoing::Text(text));
        Ok(())
    }

    /// Answer a `pusher:ping` (merged with any answer not yet written).
    pub fn pong(&self) {
        self.pong.send_replace(());
    }

    /// Close cleanly in the background; the returned handle ends within twice
    /// [`CLOSE_GRACE`] (our close frame out, the server's in), so a caller may await it to
    /// know the close frame went out. A socket stuck on a peer that reads nothing (our
    /// close waits behind a blocked write) is aborted then.
    pub fn close(self, code: u16, reason: String) -> JoinHandle<()> {
        let _ = self.tx.send(Outgoing::Close { code, reason });
        let task = self.task;
        tokio::spawn(async move {
            let abort = task.abort_handle();
            if tokio::time::timeout(2 * CLOSE_GRACE, task).await.is_err() {
                abort.abort();
            }
        })
    }

    /// Drop the socket at once, without a close frame.
    pub fn abort(self) {
        self.task.abort();
    }
}

async fn run(
    conn: ConnId,
    url: String,
    via: Option<SocketAddr>,
    dial: Arc<Dial>,
    inputs: InputSender,
    mut writer_parts: WriterParts,
) {
    // tungstenite only does the handshake; the frame size limit is the decoder's.
    let connect = handshake::open(&url, via, &dial, WebSocketConfig::default());
    tokio::pin!(connect);
    let (stream, leftover) = loop {
        tokio::select! {
            result = &mut connect => match result {
                Ok(opened) => break opened,
                Err(e) => {
                    let message = describe_open_error(&e, &url);
                    let _ = inputs.send(vec![Input::OpenFailed { conn, message }]).await;
                    return;
                }
            },
            out = writer_parts.rx.recv() => match out {
                // The machine gave up on this attempt (disconnect, handshake timeout).
                Some(Outgoing::Close { .. }) | None => return,
                Some(Outgoing::Text(text)) => {
                    writer_parts.queued.fetch_sub(text.len(), Ordering::Relaxed);
                    tracing::debug!(conn, "dropping a frame sent before the socket opened");
                }
            },
        }
    };
    if inputs.send(vec![Input::Opened { conn }]).await.is_err() {
        return;
    }
    let (read_half, write_half) = tokio::io::split(stream);
    let mut reader = Reader {
        io: read_half,
        buf: leftover,
        decoder: Decoder::new(MAX_MESSAGE_BYTES),
    };
    // Writes run in their own task: a server that reads slowly (or not at all) must never
    // stop us reading, or its events, pongs and close frames would wait behind our frames.
    // Only the latest ping is answered, so a ping flood cannot queue pongs without bound.
    let (pong, pongs) = watch::channel(None);
    let (done_tx, mut done) = oneshot::channel();
    let (stop, stop_rx) = oneshot::channel();
    let writer = AbortOnDrop(tokio::spawn(write_loop(
        conn,
        write_half,
        writer_parts,
        pongs,
        stop_rx,
        inputs.clone(),
        done_tx,
    )));
    // After we sent a close frame: keep reading until the server's close, at most this long.
    let mut closing_until: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            batch = reader.next_batch() => {
                let mut ended = None;
                let mut inputs_now = Vec::with_capacity(batch.len());
                inputs_now.extend(batch.into_iter().filter_map(|read| {
                    if let Read::Message(Message::Ping(payload)) = &read {
                        // A copy (at most 125 bytes): a slice would keep the whole read
                        // buffer it came in alive until the next ping.
                        pong.send_replace(Some(Bytes::copy_from_slice(payload)));
                    }
                    let (input, end) = to_input(conn, read);
                    if end.is_some() {
                        ended = end;
                    }
                    input
                }));
                let sent = if inputs_now.is_empty() { Ok(()) } else { inputs.send(inputs_now).await };
                if let Some(reply) = ended {
                    // Let the writer finish the close handshake (its reply to the server's
                    // close frame) before the TCP connection goes.
                    let _ = stop.send(reply);
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

/// Reads ask for this much room at least, so a busy stream costs one read call per many
/// frames (and one window update from our side per many segments from the server's).
const READ_CHUNK: usize = 128 * 1024;

/// What one look at the socket found.
enum Read {
    Message(Message),
    /// The server's bytes break the protocol.
    Invalid(ReadError),
    Failed(std::io::Error),
    Eof,
}

/// The reading half of an open socket, with the bytes read but not yet decoded.
struct Reader {
    io: ReadHalf<Stream>,
    buf: BytesMut,
    decoder: Decoder,
}

impl Reader {
    /// The messages that are ready, reading when there are none. A batch ends after a read
    /// that ends the socket (a close frame, an error, the end of the stream). Cancel-safe:
    /// bytes read stay in the buffer, and decoding happens in the poll that returns.
    async fn next_batch(&mut self) -> Vec<Read> {
        loop {
            let batch = self.decode_ready();
            if !batch.is_empty() {
                return batch;
            }
            if self.buf.capacity() - self.buf.len() < READ_CHUNK / 2 {
                self.buf.reserve(READ_CHUNK);
            }
            match self.io.read_buf(&mut self.buf).await {
                Ok(0) => return vec![Read::Eof],
                Ok(_) => {}
                Err(e) => return vec![Read::Failed(e)],
            }
        }
    }

    fn decode_ready(&mut self) -> Vec<Read> {
        let mut batch = Vec::with_capacity(READ_BATCH);
        let mut bytes = 0;
        while batch.len() < READ_BATCH && bytes < READ_BATCH_BYTES {
            match self.decoder.next(&mut self.buf) {
                Ok(Some(message)) => {
                    let close = matches!(message, Message::Close(_));
                    if let Message::Text(text) = &message {
                        bytes += text.len();
                    }
                    batch.push(Read::Message(message));
                    if close {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    batch.push(Read::Invalid(e));
                    break;
                }
            }
        }
        batch
    }
}

/// What one read means to the machine (`None` for nothing), and, when it ends the socket,
/// the close frame to answer with (`Some(None)`: none, the connection is gone or broken).
fn to_input(conn: ConnId, read: Read) -> (Option<Input>, Option<Option<Vec<u8>>>) {
    let closed = |code, reason| Some(Input::Closed { conn, code, reason });
    match read {
        Read::Message(Message::Text(text)) => (Some(Input::Text { conn, text }), None),
        Read::Message(Message::Binary(len)) => (Some(Input::Binary { conn, len }), None),
        // The writer answers pings; both still prove the link is alive.
        Read::Message(Message::Ping(_) | Message::Pong) => (Some(Input::Activity { conn }), None),
        Read::Message(Message::Close(Some((code, reason)))) => (
            closed(Some(code), reason.clone()),
            // The usual answer: the same code back.
            Some(Some(codec::close_payload(code, &reason))),
        ),
        Read::Message(Message::Close(None)) => (
            closed(
                None,
                "the server closed the connection without a close code".to_owned(),
            ),
            Some(Some(Vec::new())),
        ),
        Read::Invalid(e) => {
            // Say why before dropping the connection (RFC 6455, 7.4.1).
            let code = match e {
                ReadError::TooLarge { .. } => 1009,
                ReadError::NotUtf8 => 1007,
                ReadError::Protocol(_) => 1002,
            };
            (
                closed(None, e.to_string()),
                Some(Some(codec::close_payload(code, ""))),
            )
        }
        Read::Failed(e) => (closed(None, format!("connection lost: {e}")), Some(None)),
        Read::Eof => (
            closed(
                None,
                "connection lost: closed without a close frame".to_owned(),
            ),
            Some(None),
        ),
    }
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

/// One frame, masked, written and flushed (TLS holds data back until a flush).
async fn send_frame(
    io: &mut WriteHalf<Stream>,
    out: &mut Vec<u8>,
    opcode: u8,
    payload: &[u8],
) -> std::io::Result<()> {
    out.clear();
    codec::encode(opcode, payload, rand::random(), out);
    io.write_all(out).await?;
    io.flush().await
}

/// What the writer task reads from: our frames, their byte count, protocol pongs.
struct WriterParts {
    rx: mpsc::UnboundedReceiver<Outgoing>,
    queued: Arc<AtomicUsize>,
    protocol_pongs: watch::Receiver<()>,
}

async fn write_loop(
    conn: ConnId,
    mut io: WriteHalf<Stream>,
    parts: WriterParts,
    mut pongs: watch::Receiver<Option<Bytes>>,
    mut stop: oneshot::Receiver<Option<Vec<u8>>>,
    inputs: InputSender,
    done: oneshot::Sender<WriterEnd>,
) {
    let WriterParts {
        mut rx,
        queued,
        mut protocol_pongs,
    } = parts;
    // The channel's first value counts as seen, so a ping answered before this task
    // started (the reader runs first) is still pending here and gets its pong.
    let mut protocol_pongs_open = true;
    let mut out = Vec::new();
    let mut pings_open = true;
    let failed = |e: std::io::Error| {
        let reason = format!("connection lost while sending: {e}");
        vec![Input::Closed {
            conn,
            code: None,
            reason,
        }]
    };
    let end = loop {
        tokio::select! {
            out_msg = rx.recv() => match out_msg {
                Some(Outgoing::Text(text)) => {
                    let sent = send_frame(&mut io, &mut out, codec::OP_TEXT, text.as_bytes()).await;
                    queued.fetch_sub(text.len(), Ordering::Relaxed);
                    if let Err(e) = sent {
                        let _ = inputs.send(failed(e)).await;
                        break WriterEnd::Failed;
                    }
                }
                Some(Outgoing::Close { code, reason }) => {
                    let payload = codec::close_payload(code, &reason);
                    let _ = tokio::time::timeout(
                        CLOSE_GRACE,
                        send_frame(&mut io, &mut out, codec::OP_CLOSE, &payload),
                    )
                    .await;
                    break WriterEnd::ClosedByUs;
                }
                None => break WriterEnd::Dropped,
            },
            changed = pongs.changed(), if pings_open => {
                pings_open = changed.is_ok();
                let payload = pongs.borrow_and_update().clone();
                if let (true, Some(payload)) = (pings_open, payload)
                    && let Err(e) = send_frame(&mut io, &mut out, codec::OP_PONG, &payload).await
                {
                    let _ = inputs.send(failed(e)).await;
                    break WriterEnd::Failed;
                }
            }
            changed = protocol_pongs.changed(), if protocol_pongs_open => {
                protocol_pongs_open = changed.is_ok();
                let pong = crate::protocol::frame::PONG.as_bytes();
                if protocol_pongs_open
                    && let Err(e) = send_frame(&mut io, &mut out, codec::OP_TEXT, pong).await
                {
                    let _ = inputs.send(failed(e)).await;
                    break WriterEnd::Failed;
                }
            }
            // The reader saw the socket end: answer a close frame, then stop.
            reply = &mut stop => {
                if let Ok(Some(payload)) = reply {
                    let _ = tokio::time::timeout(CLOSE_GRACE, async {
                        send_frame(&mut io, &mut out, codec::OP_CLOSE, &payload).await?;
                        io.shutdown().await
                    })
                    .await;
                }
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
        WsError::Tls(TlsError::Rustls(e)) => crate::tls::describe_failure(&at, e),
        WsError::Tls(e) => format!("TLS error: {e} ({at})"),
        WsError::Url(e) => format!("bad URL {url}: {e}"),
        WsError::Protocol(e) => format!("WebSocket handshake failed: {e} ({at})"),
        other => format!("{other} ({at})"),
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
