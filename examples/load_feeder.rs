//! A rate-limited event source for the dashboard load benchmark (bench/dashboard-load.sh):
//! the demo server on 127.0.0.1, and once someone has subscribed to the channel, `--rate`
//! events a second on it for `--seconds`. Prints `port N` first, `done ...` at the end, and
//! keeps serving until killed so the watcher stays connected.
//!
//! `cargo run --release --example load_feeder -- --rate 20000 --seconds 30`

use chanwatch::demo::{DemoConfig, DemoServer};
use clap::Parser;
use std::io::Write;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    /// Events per second.
    #[arg(long, default_value_t = 20_000)]
    rate: u64,
    /// How long to send.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    #[arg(long, default_value = "load")]
    channel: String,
    /// Port on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Wait this long after the subscription before sending (an idle baseline for the
    /// measurements); prints `sending` when it starts.
    #[arg(long, default_value_t = 0)]
    idle_first: u64,
    /// Bytes of padding in each event's data (the rest is about 60 bytes of JSON).
    #[arg(long, default_value_t = 60)]
    pad: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.rate > 0, "--rate must be at least 1");
    let server = DemoServer::start(DemoConfig {
        bind: SocketAddr::from(([127, 0, 0, 1], args.port)),
        ..DemoConfig::default()
    })
    .await?;
    println!("port {}", server.addr().port());
    std::io::stdout().flush()?;

    while server.subscriber_count(&args.channel) == 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_secs(args.idle_first)).await;
    println!("sending");
    std::io::stdout().flush()?;
    let pad = "x".repeat(args.pad);
    let total = args.rate * args.seconds;
    let start = Instant::now();
    let mut sent = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(2));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    while sent < total {
        tick.tick().await;
        // Catch up to where the rate says we should be; a late tick sends a bigger batch.
        let due = ((start.elapsed().as_secs_f64() * args.rate as f64) as u64).min(total);
        while sent < due {
            let data = format!(
                r#"{{"seq":{sent},"symbol":"ABC","price":{}.25,"pad":"{pad}"}}"#,
                100 + sent % 50
            );
            server
                .publish(&args.channel, "tick", &data)
                .map_err(|e| anyhow::anyhow!("publish: {}", e.message))?;
            sent += 1;
        }
    }
    let took = start.elapsed();
    println!(
        "done {sent} events in {:.2} s ({:.0}/s)",
        took.as_secs_f64(),
        sent as f64 / took.as_secs_f64()
    );
    std::io::stdout().flush()?;
    std::future::pending::<()>().await;
    Ok(())
}
