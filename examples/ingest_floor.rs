//! Ingest benchmark floor: the least a client can do with the stream. A bare
//! tokio-tungstenite reader that subscribes, then only counts text frames until the `done`
//! event; no JSON parsing, no output per frame.
//!
//! Prints one line: `frames=<N> seconds=<S> per_second=<R> cpu_ticks=<user+system, in
//! clock ticks> vmhwm_kb=<peak RSS>`.
//!
//! ```text
//! cargo run --release --example ingest_floor -- --port 6001
//! ```

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

#[derive(Debug, Parser)]
#[command(about = "Count event frames from the ingest server until `done`")]
struct Args {
    #[arg(long)]
    port: u16,
    #[arg(long, default_value = "ch")]
    channel: String,
    /// Give up after this long.
    #[arg(long, default_value = "600", value_name = "SECONDS")]
    timeout: u64,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let start = Instant::now();
    let frames = tokio::time::timeout(Duration::from_secs(args.timeout), count(&args))
        .await
        .map_err(|_| anyhow::anyhow!("no `done` event within {} s", args.timeout))??;
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "frames={frames} seconds={seconds:.3} per_second={:.0} cpu_ticks={} vmhwm_kb={}",
        frames as f64 / seconds,
        cpu_ticks().unwrap_or(0),
        vmhwm_kb().unwrap_or(0)
    );
    Ok(())
}

async fn count(args: &Args) -> anyhow::Result<u64> {
    let url = format!("ws://127.0.0.1:{}/app/k?protocol=7", args.port);
    // The same frame limits the chanwatch client uses, so both read the same way.
    let config = WebSocketConfig::default()
        .max_message_size(Some(64 << 20))
        .max_frame_size(Some(64 << 20));
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), true).await?;
    let subscribe = serde_json::json!({
        "event": "pusher:subscribe",
        "data": { "channel": args.channel },
    });
    ws.send(Message::text(subscribe.to_string())).await?;
    let mut frames = 0u64;
    while let Some(msg) = ws.next().await {
        if let Message::Text(text) = msg? {
            // The event name comes first in the server's frames.
            let text = text.as_str();
            if text.starts_with(r#"{"event":"done""#) {
                return Ok(frames);
            }
            if text.starts_with(r#"{"event":"tick""#) {
                frames += 1;
            }
        }
    }
    anyhow::bail!("the server closed before `done` (after {frames} frames)")
}

/// Peak resident set size of this process, from /proc.
fn vmhwm_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// User plus system CPU time of this process, in clock ticks, from /proc.
fn cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}
