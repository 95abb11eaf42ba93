//! Frame decoding alone, measured with std::time only: `cargo bench --bench decode`.
//! Event frames shaped as `bench/ingest.sh` sends them (double-encoded data with a padding
//! string of 100 B and 5 KB, plus one with escapes and numbers), through each of the three
//! decoders in turn: the hand scanner, serde's borrowed reader and the general decoder.

use chanwatch_core::protocol::Frame;
use chanwatch_core::protocol::frame_scan;
use std::hint::black_box;
use std::time::Instant;

/// `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it,
/// and then a small smoke run is enough to prove it still works.
fn rounds(bytes_per_frame: usize) -> usize {
    if std::env::args().any(|a| a == "--bench") {
        (200_000_000 / bytes_per_frame).clamp(1_000, 2_000_000)
    } else {
        20
    }
}

fn frame(data: &serde_json::Value) -> String {
    serde_json::json!({"event": "tick", "channel": "ch", "data": data.to_string()}).to_string()
}

fn main() {
    let cases = [
        (
            "100 B pad",
            frame(&serde_json::json!({"pad": "x".repeat(100)})),
        ),
        (
            "5 KB pad",
            frame(&serde_json::json!({"pad": "x".repeat(5000)})),
        ),
        (
            "escapes and numbers",
            frame(&serde_json::json!({
                "id": 123456, "price": 101.25, "tags": ["a", "b\"q\"", "c\\d"],
                "text": "caf\u{e9} \u{1f600} ".repeat(40), "nested": {"ok": true, "n": null}
            })),
        ),
    ];
    type Decoder = fn(&str) -> Option<Frame>;
    let decoders: [(&str, Decoder); 3] = [
        ("scanner", frame_scan::decode),
        ("serde borrowed", Frame::decode_wire),
        ("general", |t| Frame::decode_value(t).ok()),
    ];
    println!("| frame | decoder | frames/s | MB/s |");
    println!("|---|---|---:|---:|");
    for (name, text) in &cases {
        let n = rounds(text.len());
        for (decoder_name, decode) in decoders {
            let expected = decode(text).expect("the bench frames decode");
            assert_eq!(expected.event, "tick");
            let start = Instant::now();
            for _ in 0..n {
                black_box(decode(black_box(text)));
            }
            let secs = start.elapsed().as_secs_f64();
            println!(
                "| {name} ({} B) | {decoder_name} | {:.0} | {:.0} |",
                text.len(),
                n as f64 / secs,
                (n * text.len()) as f64 / secs / 1e6
            );
        }
    }
}
