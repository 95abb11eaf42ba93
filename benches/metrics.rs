//! The `--metrics-listen` costs in process: updating the metrics from records (ns per
//! event over 64 channels) and encoding a scrape with 64 channels, 64 presence channels and
//! every histogram filled (µs per scrape, both formats). Measured, never asserted.
//! `cargo bench --bench metrics`; `cargo test --all-targets` runs a short smoke pass.

use chanwatch::metrics::{CHANNEL_CAP, Metrics};
use chanwatch::session_record::SessionRecord;
use chanwatch_core::record::{Record, State};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (events, scrapes) = if full {
        (10_000_000, 20_000)
    } else {
        (10_000, 20)
    };
    let mut m = Metrics::new();
    let t = Instant::now();
    m.observe(
        &SessionRecord::Client(Record::State {
            previous: State::Connecting,
            current: State::Connected,
            socket_id: Some("1.2".into()),
            cause: None,
        }),
        t,
    );
    // One record per channel, built once: the bench measures the metrics, not allocation.
    let records: Vec<SessionRecord> = (0..CHANNEL_CAP)
        .map(|i| {
            SessionRecord::Client(Record::Event {
                channel: Some(format!("private-channel-{i}")),
                event: "tick".into(),
                data: serde_json::json!({"n": i, "pad": "x".repeat(80)}).into(),
                user_id: None,
                decrypted: false,
            })
        })
        .collect();
    for i in 0..CHANNEL_CAP {
        m.observe(
            &SessionRecord::Client(Record::MemberAdded {
                channel: format!("presence-{i}"),
                id: "u".into(),
                info: serde_json::Value::Null,
            }),
            t,
        );
        for ms in [1, 7, 40, 300, 2000] {
            m.observe(&SessionRecord::Client(Record::Pong { rtt_ms: ms }), t);
            m.observe(
                &SessionRecord::Probe {
                    seq: i as u64,
                    latency_ms: Some(ms),
                    lost: false,
                    api_ms: Some(1),
                    error: None,
                },
                t,
            );
        }
    }

    let started = Instant::now();
    for i in 0..events {
        m.observe(black_box(&records[i % records.len()]), t);
    }
    let per_event = started.elapsed().as_nanos() as f64 / events as f64;

    let mut buf = String::new();
    let mut time_scrapes = |openmetrics: bool| -> (Duration, usize) {
        let started = Instant::now();
        for _ in 0..scrapes {
            buf.clear();
            m.refresh(Instant::now());
            if openmetrics {
                m.encode_openmetrics(&mut buf).unwrap();
            } else {
                m.encode_text(&mut buf).unwrap();
            }
            black_box(&buf);
        }
        (started.elapsed() / scrapes, buf.len())
    };
    let (text, text_bytes) = time_scrapes(false);
    let (om, om_bytes) = time_scrapes(true);
    println!("metrics: observe an event (64 channels): {per_event:.1} ns");
    println!(
        "metrics: scrape, Prometheus text: {:.1} µs ({text_bytes} bytes)",
        text.as_secs_f64() * 1e6
    );
    println!(
        "metrics: scrape, OpenMetrics: {:.1} µs ({om_bytes} bytes)",
        om.as_secs_f64() * 1e6
    );
}
