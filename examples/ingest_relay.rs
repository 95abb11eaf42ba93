//! Ingest benchmark ceiling for printing clients: the least a client can do that still
//! prints one line per event into a pipe. It subscribes, then reads the socket in large
//! chunks, takes each text message out with chanwatch's WebSocket codec (framing and the
//! UTF-8 check the RFC requires, nothing more) and hands the message text, plus a newline,
//! to a second thread that writes it to stdout. No JSON is parsed and no line is formatted.
//!
//! The floor (`ingest_floor`) only counts frames, so it never pays for the pipe: the copy
//! into it, and the reader on the other side sharing the same cores. This relay pays for
//! the pipe and does no other work, so its rate is the ceiling for a client on chanwatch's
//! reader that prints lines; `bench/ingest.sh` shows it beside the floor. (Its reader is
//! faster than the floor's tokio-tungstenite, which is why it beats the floor at 100 B.)
//!
//! Output: the lines, as long as the connection lasts (like chanwatch, it stays connected
//! after the `done` event, so that the bench reads its memory and CPU before stopping it).
//!
//! ```text
//! cargo run --release --example ingest_relay -- --port 6001 | cargo run --release --example ingest_count
//! ```

use chanwatch_core::client::ws::{codec, handshake};
use clap::Parser;
use std::io::Write;
use std::sync::mpsc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

#[derive(Debug, Parser)]
#[command(about = "Print each event frame from the ingest server as a line, nothing more")]
struct Args {
    #[arg(long)]
    port: u16,
    #[arg(long, default_value = "ch")]
    channel: String,
}

/// Bytes asked of the socket per read: what chanwatch's reader asks for.
const READ_CHUNK: usize = 128 * 1024;
/// Chunks of lines that may wait for the writer thread.
const QUEUED: usize = 16;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let url = format!("ws://127.0.0.1:{}/app/k?protocol=7", args.port);
    let (mut stream, mut buf) =
        handshake::open(&url, None, &Default::default(), WebSocketConfig::default()).await?;
    let subscribe = serde_json::json!({
        "event": "pusher:subscribe",
        "data": { "channel": args.channel },
    });
    let mut frame = Vec::new();
    codec::encode(
        codec::OP_TEXT,
        subscribe.to_string().as_bytes(),
        [7, 1, 7, 1],
        &mut frame,
    );
    stream.write_all(&frame).await?;

    // The same 1 MiB pipe chanwatch asks for, so that both write the same way.
    // A failure (not a pipe, or over the limit) only leaves the size as it was.
    #[cfg(target_os = "linux")]
    let _ = rustix::pipe::fcntl_setpipe_size(rustix::stdio::stdout(), 1 << 20);
    let (full, to_write) = mpsc::sync_channel::<Vec<u8>>(QUEUED);
    let (empty, reuse) = mpsc::channel::<Vec<u8>>();
    let writer = std::thread::spawn(move || -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        for mut lines in to_write {
            out.write_all(&lines)?;
            lines.clear();
            let _ = empty.send(lines);
        }
        out.flush()
    });

    let mut decoder = codec::Decoder::new(64 << 20);
    loop {
        buf.reserve(READ_CHUNK);
        if stream.read_buf(&mut buf).await? == 0 {
            break;
        }
        let mut lines = reuse.try_recv().unwrap_or_default();
        while let Some(message) = decoder.next(&mut buf)? {
            if let codec::Message::Text(text) = message {
                lines.extend_from_slice(text.as_bytes());
                lines.push(b'\n');
            }
        }
        if !lines.is_empty() && full.send(lines).is_err() {
            break;
        }
    }
    drop(full);
    writer.join().expect("writer thread")?;
    Ok(())
}
