//! Ingest benchmark server: just enough Pusher protocol 7 to stream N events at a client as
//! fast as its socket drains.
//!
//! Per connection: `pusher:connection_established`, wait for the `pusher:subscribe` to the
//! channel (answering `pusher:ping` meanwhile), `pusher_internal:subscription_succeeded`, then
//! N identical event frames and one `done` event. The event frames are encoded once, as raw
//! WebSocket frames, into a batch buffer that is written with `write_all` in a loop, so the
//! server costs a memcpy-free syscall per ~256 KiB and never limits the client's rate.
//!
//! Prints `listening <port>` on stdout once bound (use `--port 0` for a free port), then
//! serves connections until killed. Loopback only.
//!
//! ```text
//! cargo run --release --example ingest_server -- --port 0 --events 100000 --payload 100
//! ```

use chanwatch_core::client::ws::codec;
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;

#[derive(Debug, Clone, Parser)]
#[command(about = "Stream N pre-encoded Pusher events to each client (loopback only)")]
struct Args {
    /// Port on 127.0.0.1; 0 picks a free one (printed as `listening <port>`).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Events per connection, before the `done` event.
    #[arg(long, default_value_t = 100_000)]
    events: u64,
    /// Bytes of padding in each event's data.
    #[arg(long, default_value_t = 100)]
    payload: usize,
    /// The channel the client must subscribe to.
    #[arg(long, default_value = "ch")]
    channel: String,
    /// How long to wait for the client's subscribe before giving up on a connection.
    #[arg(long, default_value = "30", value_name = "SECONDS")]
    subscribe_timeout: u64,
}

/// Bytes per `write_all` call while streaming.
const BATCH_BYTES: usize = 256 * 1024;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, args.port))).await?;
    let port = listener.local_addr()?.port();
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening {port}")?;
    stdout.flush()?;
    let stream = Stream::new(&args);
    loop {
        let (tcp, peer) = listener.accept().await?;
        let stream = stream.clone();
        let args = args.clone();
        tokio::spawn(async move {
            if let Err(e) = serve(tcp, &args, &stream).await {
                eprintln!("ingest_server: {peer}: {e:#}");
            }
        });
    }
}

/// The pre-encoded traffic: a batch of whole event frames, the remainder, and `done`.
#[derive(Clone)]
struct Stream {
    batch: std::sync::Arc<Vec<u8>>,
    frames_per_batch: u64,
    one_frame: std::sync::Arc<Vec<u8>>,
    done: std::sync::Arc<Vec<u8>>,
    events: u64,
}

impl Stream {
    fn new(args: &Args) -> Stream {
        let pad = "x".repeat(args.payload);
        // Double-encoded data, as Pusher servers send it: a JSON string holding JSON.
        let data = serde_json::json!({ "pad": pad }).to_string();
        let text = event_frame("tick", &args.channel, &data);
        let one_frame = ws_text_frame(text.as_bytes());
        let frames_per_batch = (BATCH_BYTES / one_frame.len()).max(1);
        let batch = one_frame.repeat(frames_per_batch);
        let done_data = serde_json::json!({ "count": args.events }).to_string();
        let done = event_frame("done", &args.channel, &done_data);
        Stream {
            batch: batch.into(),
            frames_per_batch: frames_per_batch as u64,
            one_frame: one_frame.into(),
            done: ws_text_frame(done.as_bytes()).into(),
            events: args.events,
        }
    }
}

/// `{"event":..,"channel":..,"data":..}` with the event name first (serde_json's own maps
/// sort keys), so readers can spot `done` from a frame's first bytes.
fn event_frame(event: &str, channel: &str, data: &str) -> String {
    let quote = |s: &str| serde_json::Value::from(s).to_string();
    format!(
        r#"{{"event":{},"channel":{},"data":{}}}"#,
        quote(event),
        quote(channel),
        quote(data)
    )
}

/// One unmasked (server-to-client) FIN text frame.
fn ws_text_frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 10);
    codec::header(true, codec::OP_TEXT, payload.len(), None, &mut out);
    out.extend_from_slice(payload);
    out
}

async fn serve(tcp: TcpStream, args: &Args, stream: &Stream) -> anyhow::Result<()> {
    tcp.set_nodelay(true)?;
    let mut ws = tokio_tungstenite::accept_async(tcp).await?;
    let established = serde_json::json!({
        "event": "pusher:connection_established",
        "data": serde_json::json!({ "socket_id": "1.1", "activity_timeout": 120 }).to_string(),
    });
    ws.send(Message::text(established.to_string())).await?;
    let subscribed = tokio::time::timeout(
        Duration::from_secs(args.subscribe_timeout),
        wait_for_subscribe(&mut ws, &args.channel),
    )
    .await
    .map_err(|_| anyhow::anyhow!("no subscribe to {} in time", args.channel))??;
    if !subscribed {
        return Ok(());
    }
    let ok = serde_json::json!({
        "event": "pusher_internal:subscription_succeeded",
        "channel": args.channel,
        "data": "{}",
    });
    ws.send(Message::text(ok.to_string())).await?;
    ws.flush().await?;
    // From here on, raw frames straight onto the TCP stream: tungstenite's write buffer is
    // empty after the flush, so nothing is reordered.
    let tcp = ws.get_mut();
    let mut left = stream.events;
    while left >= stream.frames_per_batch {
        tcp.write_all(&stream.batch).await?;
        left -= stream.frames_per_batch;
    }
    for _ in 0..left {
        tcp.write_all(&stream.one_frame).await?;
    }
    tcp.write_all(&stream.done).await?;
    tcp.flush().await?;
    // Keep the connection until the client goes, so it sees no close before `done`.
    let _ = tokio::time::timeout(Duration::from_secs(600), async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
    Ok(())
}

/// Read until the client subscribes to `channel` (true) or goes away (false).
async fn wait_for_subscribe<S>(
    ws: &mut tokio_tungstenite::WebSocketStream<S>,
    channel: &str,
) -> anyhow::Result<bool>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    while let Some(msg) = ws.next().await {
        let Message::Text(text) = msg? else { continue };
        let Ok(frame) = serde_json::from_str::<serde_json::Value>(text.as_str()) else {
            continue;
        };
        match frame["event"].as_str() {
            Some("pusher:subscribe") if frame["data"]["channel"] == channel => return Ok(true),
            Some("pusher:ping") => {
                ws.send(Message::text(r#"{"event":"pusher:pong","data":"{}"}"#))
                    .await?;
            }
            _ => {}
        }
    }
    Ok(false)
}
